import { describe, expect, it } from 'vitest';
import { Pit, PIT_HZ } from '../../core/devices/pit.js';
import { expectRoundTrip, LineRecorder, testClock } from './platform-helpers.js';

const tick = (n: number) => Math.ceil((n * 1e9) / PIT_HZ);

function setup() {
  const t = testClock();
  const irq = new LineRecorder();
  const pit = new Pit(t.clock, irq);
  return { ...t, irq, pit };
}

function readCount(pit: Pit, ch: number): number {
  pit.write8(3, ch << 6); // latch
  return pit.read8(ch) | (pit.read8(ch) << 8);
}

describe('8254 PIT', () => {
  it('mode 2 rate generator: counts down and pulses IRQ 0 every period', () => {
    const { pit, irq, advance } = setup();
    pit.write8(3, 0x34); // ch0, lobyte/hibyte, mode 2
    pit.write8(0, 1000 & 0xff);
    pit.write8(0, 1000 >> 8);
    expect(readCount(pit, 0)).toBe(1000);
    advance(tick(250));
    expect(readCount(pit, 0)).toBe(750);
    const before = irq.rises;
    advance(tick(10_000));
    expect(irq.rises - before).toBe(10);
  });

  it('mode 3 square wave with a 0 reload (65536) gives 18.2 Hz', () => {
    const { pit, irq, advance } = setup();
    pit.write8(3, 0x36);
    pit.write8(0, 0);
    pit.write8(0, 0);
    const r0 = irq.rises; // OUT goes high at once in mode 3
    expect(irq.level).toBe(true);
    advance(1e9);
    expect(irq.rises - r0).toBe(18);
  });

  it('mode 0 interrupt on terminal count, read-back status and BCD', () => {
    const { pit, irq, advance } = setup();
    pit.write8(3, 0x30); // mode 0 binary
    expect(irq.level).toBe(false);
    pit.write8(0, 100);
    pit.write8(0, 0);
    advance(tick(99));
    expect(irq.level).toBe(false);
    advance(tick(2));
    expect(irq.level).toBe(true);
    // Read-back: status of ch0 (OUT high, mode 0, rw 3).
    pit.write8(3, 0xe2);
    expect(pit.read8(0)).toBe(0x80 | 0x30 | 0x00);
    // BCD: count 0x1234 reads back as BCD after 34 ticks → 1200.
    pit.write8(3, 0x71); // ch1 mode 0 BCD
    pit.write8(1, 0x34);
    pit.write8(1, 0x12);
    advance(tick(34) + 1);
    pit.write8(3, 0x40);
    expect(pit.read8(1) | (pit.read8(1) << 8)).toBe(0x1200);
  });

  it('channel 2 is gated by port 0x61 and its OUT shows in bit 5; refresh toggles bit 4', () => {
    const { pit, advance } = setup();
    pit.write8(3, 0xb0); // ch2 mode 0
    pit.write8(2, 50);
    pit.write8(2, 0);
    advance(tick(100));
    expect(pit.port61.read8!(0) & 0x20).toBe(0); // gate low: frozen
    pit.port61.write8!(0, 0x01);
    advance(tick(49));
    expect(pit.port61.read8!(0) & 0x20).toBe(0);
    advance(tick(2));
    expect(pit.port61.read8!(0) & 0x21).toBe(0x21);
    const a = pit.port61.read8!(0) & 0x10;
    advance(15085);
    expect(pit.port61.read8!(0) & 0x10).not.toBe(a);
  });

  it('lobyte-only access and latch holding a value until read', () => {
    const { pit, advance } = setup();
    pit.write8(3, 0x54); // ch1 lobyte, mode 2
    pit.write8(1, 200);
    advance(tick(50));
    pit.write8(3, 0x40);
    advance(tick(20));
    expect(pit.read8(1)).toBe(150);
    expect(pit.read8(1)).toBe(130); // live value after the latch was read
  });

  it('round-trips byte-identically and keeps timing after load', () => {
    const a = setup();
    a.pit.write8(3, 0x34);
    a.pit.write8(0, 0x00);
    a.pit.write8(0, 0x10);
    a.advance(tick(1000));
    const b = setup();
    b.clock.advance(a.clock.now());
    expectRoundTrip([a.pit], [b.pit]);
    expect(readCount(b.pit, 0)).toBe(readCount(a.pit, 0));
    const r = b.irq.rises;
    b.advance(tick(4096 * 3));
    expect(b.irq.rises - r).toBe(3);
  });
});
