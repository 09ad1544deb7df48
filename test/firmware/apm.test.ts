// APM (INT 15h AH=53h): guest programs that connect, ask, and switch the machine off through
// the real-mode interface and through the 32-bit protected-mode entry.
import { describe, expect, it } from 'vitest';
import type { PcMachine } from '../../core/board/pc.js';
import { builtinPc } from './helpers.js';
import { APM_PM16, APM_PM32, APM_REAL_MODE, bootFloppy } from './programs.js';

const DONE = 0x600d600d;

/** Run until the machine powers off (true) or `max` instructions pass (false). */
function runUntilPowerOff(m: PcMachine, max: number): boolean {
  while (m.instructionCount < max) if (m.run(200_000) === 'poweroff') return true;
  return false;
}

describe('APM', () => {
  it('a real-mode program connects, reads the status, idles and powers the VM off with 5307h', () => {
    const log: string[] = [];
    const { m, fw } = builtinPc({ floppy: [bootFloppy(APM_REAL_MODE), null], log: (s) => log.push(s) });
    expect(runUntilPowerOff(m, 20_000_000)).toBe(true);
    const r8 = (a: number) => m.memory.read8(a), r16 = (a: number) => m.memory.read16(a);
    expect(m.memory.read32(0x63c) >>> 0).toBe(DONE); // "off" did not return
    expect(m.poweredOff).toBe(true);
    // 5300h: APM 1.2, "PM", 16- and 32-bit protected-mode interfaces.
    expect(r8(0x600)).toBe(0);
    expect(r16(0x602)).toBe(0x0102);
    expect(r16(0x604)).toBe(0x504d);
    expect(r16(0x606) & 0x03).toBe(0x03);
    expect(r8(0x608)).toBe(0); // connected
    expect([r8(0x609), r8(0x60a)]).toEqual([1, 0x02]); // real-mode interface already connected
    expect([r8(0x60c), r16(0x60e)]).toEqual([0, 0x0102]); // driver version 1.2 accepted
    expect([r8(0x610), r8(0x611)]).toEqual([0, 0]); // enable, engage
    // 530Ah: AC on line (BH=1), battery unknown (BL=FFh), no system battery (CH=80h).
    expect(r8(0x612)).toBe(0);
    expect(r16(0x614)).toBe(0x01ff);
    expect(r16(0x616) >> 8).toBe(0x80);
    expect([r8(0x618), r8(0x619)]).toEqual([0, 0]); // idle, busy
    expect([r8(0x61a), r8(0x61b)]).toEqual([1, 0x60]); // suspend: cannot enter
    expect(fw.apm.connection()).toBe('real');
    expect(log).toContain('firmware: APM power off');
    expect(log).toContain('machine powered off');
  });

  it('5303h connects the 32-bit interface; 530Ah and "off" work through its entry in protected mode', () => {
    const { m, fw } = builtinPc({ floppy: [bootFloppy(APM_PM32), null] });
    expect(runUntilPowerOff(m, 20_000_000)).toBe(true);
    expect(m.memory.read32(0x63c) >>> 0).toBe(DONE);
    const r16 = (a: number) => m.memory.read16(a);
    expect(r16(0x600)).toBe(0xf000); // 32-bit code segment F000h
    expect(m.memory.read32(0x604)).toBe(0xd1b0); // entry offset
    expect(r16(0x608)).toBe(0xf000); // 16-bit code segment
    expect(r16(0x60a)).toBe(r16(0x40e)); // data segment: the EBDA
    expect(m.memory.read8(0x624)).toBe(0);
    expect(r16(0x620)).toBe(0x01ff);
    expect(fw.apm.connection()).toBe('pm32');
  });

  it('5302h connects the 16-bit interface; 530Ah and "off" work through its entry in 16-bit protected mode', () => {
    const { m, fw } = builtinPc({ floppy: [bootFloppy(APM_PM16), null] });
    expect(runUntilPowerOff(m, 20_000_000)).toBe(true);
    expect(m.memory.read32(0x63c) >>> 0).toBe(DONE);
    const r16 = (a: number) => m.memory.read16(a);
    expect([r16(0x600), r16(0x602), r16(0x604)]).toEqual([0xf000, 0xd1a0, r16(0x40e)]);
    expect(r16(0x606)).toBe(0xffff); // code segment length
    expect(r16(0x608)).toBe(1024); // data segment length (the EBDA)
    expect(m.memory.read8(0x624)).toBe(0);
    expect(r16(0x620)).toBe(0x01ff);
    expect(fw.apm.connection()).toBe('pm16');
  });

  it('errors: unknown device, not connected, unsupported function', () => {
    // Call the service directly through INT 15h from a tiny program: AX/BX given, CF and AH stored.
    const calls: [number, number, number][] = [[0x5300, 0x0001, 0], [0x5304, 0, 0], [0x5305, 0, 0], [0x53ff, 0, 0], [0x5307, 0x0001, 0x0009]];
    const code: number[] = [0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xd0, 0xbc, 0x00, 0x7c, 0xfb];
    calls.forEach(([ax, bx, cx], i) => {
      code.push(0xb8, ax & 0xff, ax >> 8, 0xbb, bx & 0xff, bx >> 8, 0xb9, cx & 0xff, cx >> 8, 0xcd, 0x15);
      const a = 0x600 + i * 2;
      code.push(0x0f, 0x92, 0x06, a & 0xff, a >> 8); // setc [a]
      code.push(0x88, 0x26, (a + 1) & 0xff, (a + 1) >> 8); // mov [a+1], ah
    });
    code.push(0x66, 0xc7, 0x06, 0x3c, 0x06, 0x0d, 0x60, 0x0d, 0x60, 0xf4, 0xeb, 0xfd);
    const { m } = builtinPc({ floppy: [bootFloppy(Buffer.from(code).toString('hex')), null] });
    while (m.instructionCount < 20_000_000 && m.memory.read32(0x63c) !== DONE) m.run(200_000);
    expect(m.memory.read32(0x63c) >>> 0).toBe(DONE);
    const got = calls.map((_, i) => [m.memory.read8(0x600 + i * 2), m.memory.read8(0x601 + i * 2)]);
    expect(got).toEqual([[1, 0x09], [1, 0x03], [1, 0x03], [1, 0x0c], [1, 0x0a]]);
    expect(m.poweredOff).toBe(false);
  });
});
