import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../core/bus/memory.js';
import { LocalApic } from '../../core/devices/apic.js';
import { IoApic } from '../../core/devices/ioapic.js';
import { DualPic } from '../../core/devices/pic.js';
import { expectRoundTrip, testClock } from './platform-helpers.js';

function setup() {
  const t = testClock();
  const pic = new DualPic();
  const memory = new PhysicalMemory(1 << 20);
  const lapic = new LocalApic(t.clock, pic);
  lapic.memory = memory;
  lapic.mapAt(0xfee00000);
  const ioapic = new IoApic();
  memory.mapMmio('ioapic', 0xfec00000, 4096, ioapic);
  ioapic.deliver = (v, l) => lapic.acceptFromIoApic(v, l);
  lapic.onEoi = (v) => ioapic.eoi(v);
  const w = (off: number, v: number) => memory.write32(0xfee00000 + off, v);
  const r = (off: number) => memory.read32(0xfee00000 + off) >>> 0;
  const redir = (pin: number, low: number) => {
    memory.write32(0xfec00000, 0x10 + pin * 2);
    memory.write32(0xfec00010, low);
  };
  return { ...t, pic, memory, lapic, ioapic, w, r, redir };
}

describe('local APIC and I/O APIC', () => {
  it('passes 8259 interrupts through LINT0 ExtINT after reset', () => {
    const { pic, lapic } = setup();
    pic.master.write8(0, 0x11); pic.master.write8(1, 0x20); pic.master.write8(1, 4); pic.master.write8(1, 1);
    pic.master.write8(1, 0);
    pic.setIrq(1, true);
    expect(lapic.hasInterrupt()).toBe(true);
    expect(lapic.acknowledge()).toBe(0x21);
  });

  it('registers: ID, version, TPR/PPR, spurious, self IPI and EOI', () => {
    const { w, r, lapic } = setup();
    expect(r(0x30) & 0xff).toBe(0x14);
    w(0xf0, 0x1ff); // software enable, spurious 0xff
    w(0x300, 0x00040050); // self IPI vector 0x50
    expect(r(0x200 + 0x20) & (1 << 16)).toBe(1 << 16); // IRR bit 0x50
    w(0x80, 0x60); // TPR above the vector class
    expect(lapic.hasInterrupt()).toBe(false);
    w(0x80, 0x00);
    expect(lapic.acknowledge()).toBe(0x50);
    expect(r(0xa0)).toBe(0x50);
    expect(r(0x100 + 0x20) & (1 << 16)).toBe(1 << 16); // ISR
    w(0xb0, 0);
    expect(r(0x100 + 0x20)).toBe(0);
    expect(r(0xa0)).toBe(0);
  });

  it('timer: one-shot and periodic with the divide configuration', () => {
    const { w, r, lapic, advance } = setup();
    w(0xf0, 0x1ff);
    w(0x3e0, 0x03); // divide by 16
    w(0x320, 0x40); // one-shot vector 0x40
    w(0x380, 1000); // 16 µs
    advance(8000);
    expect(r(0x390)).toBe(500);
    advance(8001);
    expect(r(0x390)).toBe(0);
    expect(lapic.acknowledge()).toBe(0x40);
    w(0xb0, 0);
    w(0x320, 0x20041); // periodic, vector 0x41
    w(0x380, 100); // every 1600 ns
    let n = 0;
    for (let i = 0; i < 10; i++) {
      advance(1600);
      if (lapic.hasInterrupt()) { lapic.acknowledge(); w(0xb0, 0); n++; }
    }
    expect(n).toBe(10);
  });

  it('I/O APIC: edge and level pins, remote IRR and EOI re-delivery, IRQ0 on pin 2', () => {
    const { w, lapic, ioapic, redir, memory } = setup();
    w(0xf0, 0x1ff);
    w(0x350, 0x10700); // mask LINT0: only the I/O APIC path
    memory.write32(0xfec00000, 1);
    expect(memory.read32(0xfec00010) & 0xff00ff).toBe(0x170011);
    redir(2, 0x30);
    ioapic.setIrq(0, true);
    expect(lapic.acknowledge()).toBe(0x30);
    w(0xb0, 0);
    redir(11, 0x8000 | 0x3b); // level
    ioapic.setIrq(11, true);
    expect(lapic.acknowledge()).toBe(0x3b);
    memory.write32(0xfec00000, 0x10 + 22);
    expect(memory.read32(0xfec00010) & 0x4000).toBe(0x4000); // remote IRR
    expect(lapic.hasInterrupt()).toBe(false);
    w(0xb0, 0); // EOI while still asserted: delivered again
    expect(lapic.acknowledge()).toBe(0x3b);
    ioapic.setIrq(11, false);
    w(0xb0, 0);
    expect(lapic.hasInterrupt()).toBe(false);
    const other = setup();
    expectRoundTrip([ioapic, lapic], [other.ioapic, other.lapic]);
  });
});
