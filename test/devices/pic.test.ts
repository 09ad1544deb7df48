import { describe, expect, it } from 'vitest';
import { DualPic } from '../../core/devices/pic.js';
import { expectRoundTrip } from './platform-helpers.js';

/** BIOS-style initialisation: master at 0x08, slave at 0x70, all unmasked. */
function initPic(pic = new DualPic(), icw4 = 0x01): DualPic {
  pic.master.write8(0, 0x11);
  pic.master.write8(1, 0x08);
  pic.master.write8(1, 0x04);
  pic.master.write8(1, icw4);
  pic.slave.write8(0, 0x11);
  pic.slave.write8(1, 0x70);
  pic.slave.write8(1, 0x02);
  pic.slave.write8(1, icw4);
  pic.master.write8(1, 0x00);
  pic.slave.write8(1, 0x00);
  return pic;
}

describe('8259A pair', () => {
  it('drops an edge-triggered request whose line falls before INTA (then INTA is spurious IRQ 7)', () => {
    const pic = initPic();
    pic.setIrq(1, true); // e.g. the 8042 has a byte
    expect(pic.hasInterrupt()).toBe(true);
    pic.setIrq(1, false); // a polling driver read it before the CPU took the interrupt
    expect(pic.hasInterrupt()).toBe(false);
    expect(pic.acknowledge()).toBe(0x0f);
    pic.master.write8(0, 0x0b);
    expect(pic.master.read8(0)).toBe(0); // nothing in service
    // A request that was already acknowledged is not affected by its line dropping.
    pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x0b);
    pic.setIrq(3, false);
    expect(pic.master.read8(0)).toBe(0x08);
  });

  it('delivers edge-triggered IRQs by priority with vectors from ICW2 and needs EOI', () => {
    const pic = initPic();
    pic.setIrq(3, true);
    pic.setIrq(1, true);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x09); // IRQ1 beats IRQ3
    // IRQ3 is lower priority than IRQ1 in service: blocked until EOI.
    expect(pic.hasInterrupt()).toBe(false);
    pic.master.write8(0, 0x0b); // OCW3: read ISR
    expect(pic.master.read8(0)).toBe(0x02);
    pic.master.write8(0, 0x20); // non-specific EOI
    expect(pic.acknowledge()).toBe(0x0b);
    pic.master.write8(0, 0x20);
    // Edge: the line staying high does not retrigger.
    expect(pic.hasInterrupt()).toBe(false);
    pic.setIrq(3, false);
    pic.setIrq(3, true);
    expect(pic.hasInterrupt()).toBe(true);
  });

  it('cascades the slave through IRQ 2 and reports spurious IRQ 7 and 15', () => {
    const pic = initPic();
    pic.setIrq(12, true);
    expect(pic.acknowledge()).toBe(0x74);
    pic.slave.write8(0, 0x20);
    pic.master.write8(0, 0x20);
    // Nothing pending: spurious IRQ 7 vector, ISR untouched.
    expect(pic.acknowledge()).toBe(0x0f);
    pic.master.write8(0, 0x0b);
    expect(pic.master.read8(0)).toBe(0);
    // Slave request withdrawn between INT and INTA: spurious IRQ 15 on the slave.
    pic.setIrq(10, true);
    pic.slave.elcr = 0x04; // level mode for IRQ 10
    pic.setIrq(10, false);
    pic.master.irr |= 0x04; // the master latched the cascade edge
    expect(pic.acknowledge()).toBe(0x77);
  });

  it('masks through OCW1, honours level mode (ELCR) and special mask mode', () => {
    const pic = initPic();
    pic.master.write8(1, 0x20); // mask IRQ5
    pic.setIrq(5, true);
    expect(pic.hasInterrupt()).toBe(false);
    expect(pic.master.read8(1)).toBe(0x20);
    pic.master.write8(1, 0x00);
    expect(pic.acknowledge()).toBe(0x0d);
    pic.master.write8(0, 0x65); // specific EOI IRQ5
    pic.writeElcr(1, 0x08); // IRQ 11 level
    expect(pic.readElcr(1)).toBe(0x08);
    pic.setIrq(11, true);
    expect(pic.acknowledge()).toBe(0x73);
    pic.slave.write8(0, 0x20);
    pic.master.write8(0, 0x20);
    expect(pic.acknowledge()).toBe(0x73); // still asserted: requested again
    // Special mask mode: masking the in-service IRQ lets lower priorities through.
    const p2 = initPic();
    p2.setIrq(1, true);
    expect(p2.acknowledge()).toBe(0x09);
    p2.setIrq(6, true);
    expect(p2.hasInterrupt()).toBe(false);
    p2.master.write8(0, 0x68); // OCW3: set special mask
    p2.master.write8(1, 0x02);
    expect(p2.hasInterrupt()).toBe(true);
    expect(p2.acknowledge()).toBe(0x0e);
  });

  it('supports automatic EOI, rotation, set priority and poll', () => {
    const pic = initPic(new DualPic(), 0x03); // AEOI
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x0c);
    pic.master.write8(0, 0x0b);
    expect(pic.master.read8(0)).toBe(0); // not in service with AEOI
    const p2 = initPic();
    p2.master.write8(0, 0xc4); // set priority: IRQ4 lowest, IRQ5 highest
    p2.setIrq(3, true);
    p2.setIrq(6, true);
    expect(p2.acknowledge()).toBe(0x0e);
    p2.master.write8(0, 0xa0); // rotate on non-specific EOI: IRQ6 becomes lowest
    expect(p2.acknowledge()).toBe(0x0b);
    p2.master.write8(0, 0x20);
    // Poll command: read gives 0x80 | irq and acknowledges.
    p2.setIrq(2 + 5, true);
    p2.master.write8(0, 0x0c);
    expect(p2.master.read8(0)).toBe(0x87);
    p2.master.write8(0, 0x0c);
    expect(p2.master.read8(0)).toBe(0);
  });

  it('round-trips its state byte-identically', () => {
    const a = initPic();
    a.setIrq(3, true);
    a.setIrq(9, true);
    a.acknowledge();
    a.writeElcr(1, 0x0c);
    const b = new DualPic();
    expectRoundTrip([a.master, a.slave], [b.master, b.slave]);
    expect(b.acknowledge()).toBe(a.acknowledge());
  });
});
