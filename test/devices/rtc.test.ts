import { describe, expect, it } from 'vitest';
import { Rtc } from '../../core/devices/rtc.js';
import { expectRoundTrip, LineRecorder, testClock } from './platform-helpers.js';

const START = Date.UTC(2023, 11, 31, 23, 59, 58); // Sunday 2023-12-31 23:59:58

function setup(start = START) {
  const t = testClock();
  const irq = new LineRecorder();
  const rtc = new Rtc(t.clock, irq, start);
  const read = (i: number) => { rtc.write8(0, i); return rtc.read8(1); };
  const write = (i: number, v: number) => { rtc.write8(0, i); rtc.write8(1, v); };
  return { ...t, irq, rtc, read, write };
}

describe('MC146818 RTC', () => {
  it('keeps BCD time and rolls over the year', () => {
    const { read, advance } = setup();
    expect([read(0), read(2), read(4), read(7), read(8), read(9), read(0x32), read(6)]).toEqual([0x58, 0x59, 0x23, 0x31, 0x12, 0x23, 0x20, 0x01]);
    advance(2.5e9);
    expect([read(0), read(2), read(4), read(7), read(8), read(9), read(6)]).toEqual([0x00, 0x00, 0x00, 0x01, 0x01, 0x24, 0x02]);
  });

  it('binary and 12-hour modes', () => {
    const { read, write, rtc } = setup(Date.UTC(2024, 1, 29, 13, 5, 7));
    write(0x0b, 0x04 | 0x00); // binary, 12 h
    rtc.setTime(Date.UTC(2024, 1, 29, 13, 5, 7));
    expect(read(4)).toBe(0x81); // 1 PM
    expect(read(0)).toBe(7);
    write(0x0b, 0x02); // BCD 24 h
    rtc.setTime(Date.UTC(2024, 1, 29, 13, 5, 7));
    expect(read(4)).toBe(0x13);
    expect(rtc.getTime()).toBe(Date.UTC(2024, 1, 29, 13, 5, 7));
  });

  it('periodic interrupt at 1024 Hz on IRQ 8, flags cleared by reading C', () => {
    const { read, write, irq, advance } = setup();
    write(0x0b, 0x42); // PIE, 24 h
    advance(1e6);
    expect(irq.level).toBe(true);
    expect(read(0x0c) & 0xc0).toBe(0xc0);
    expect(irq.level).toBe(false);
    let n = 0;
    for (let i = 0; i < 1024; i++) {
      advance(976_563);
      if (read(0x0c) & 0x40) n++;
    }
    expect(n).toBeGreaterThanOrEqual(1023);
  });

  it('update-ended and alarm interrupts; UIP before the update; SET stops updates', () => {
    const { read, write, irq, advance } = setup(Date.UTC(2024, 0, 1, 0, 0, 0));
    write(1, 0x03); write(3, 0xc0); write(5, 0xc0); // alarm at second 3 of any minute/hour
    write(0x0b, 0x32); // AIE | UIE
    advance(1e9);
    expect(irq.level).toBe(true);
    expect(read(0x0c)).toBe(0x90);
    advance(2e9);
    expect(read(0x0c) & 0x20).toBe(0x20);
    advance(0.9998e9);
    expect(read(0x0a) & 0x80).toBe(0x80);
    write(0x0b, 0x82); // SET
    const s = read(0);
    advance(5e9);
    expect(read(0)).toBe(s);
  });

  it('NVRAM: memory size bytes and round trip', () => {
    const a = setup();
    a.rtc.setMemorySize(32 * 1024 * 1024);
    expect(a.read(0x15) | (a.read(0x16) << 8)).toBe(640);
    expect(a.read(0x17) | (a.read(0x18) << 8)).toBe(31 * 1024);
    expect(a.read(0x30) | (a.read(0x31) << 8)).toBe(31 * 1024);
    expect(a.read(0x34) | (a.read(0x35) << 8)).toBe(256);
    a.rtc.setMemorySize(128 * 1024 * 1024);
    expect(a.read(0x17) | (a.read(0x18) << 8)).toBe(0xffff); // capped at 64 MiB - 1 KiB
    a.write(0x0b, 0x42);
    a.advance(3e6);
    const b = setup(0);
    b.clock.advance(a.clock.now());
    expectRoundTrip([a.rtc], [b.rtc]);
    expect(b.read(0)).toBe(a.read(0));
  });
});
