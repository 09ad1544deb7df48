// Calling INT 10h from a test: a machine after POST, a 4-byte caller at 0:7C00.
import type { PcMachine } from '../../core/board/pc.js';
import type { BuiltinFirmware } from '../../core/firmware/services.js';
import { builtinPc, runUntilScreen } from './helpers.js';

export interface Regs { ax?: number; bx?: number; cx?: number; dx?: number; bp?: number; di?: number; es?: number }
export interface Out { ax: number; bx: number; cx: number; dx: number; bp: number; es: number; cf: boolean }

/** A machine that has finished POST (nothing to boot) and sits halted. */
export function postedPc(): { m: PcMachine; fw: BuiltinFirmware } {
  const r = builtinPc({ bootOrder: '' });
  if (runUntilScreen(r.m, 'No bootable device', 3_000_000) < 0) throw new Error('POST did not finish');
  return r;
}

/** Run `int 10h` in real mode with the given registers; returns them after the IRET. */
export function int10(m: PcMachine, r: Regs): Out {
  const cpu = m.cpu;
  // cli; int 10h; jmp $
  m.memory.writeBytes(0x7c00, new Uint8Array([0xfa, 0xcd, 0x10, 0xeb, 0xfe]));
  cpu.halted = false;
  cpu.loadSegmentReal(0, r.es ?? 0); // ES
  cpu.loadSegmentReal(2, 0); // SS
  cpu.reg16[4 * 2] = 0x7000; // SP
  const set = (i: number, v: number | undefined) => { cpu.reg16[i * 2] = v ?? 0; };
  set(0, r.ax); set(1, r.cx); set(2, r.dx); set(3, r.bx); set(5, r.bp); set(7, r.di);
  cpu.loadSegmentReal(1, 0);
  cpu.eip = 0x7c00;
  for (let i = 0; i < 1000 && cpu.eip !== 0x7c03; i++) m.run(100);
  if (cpu.eip !== 0x7c03) throw new Error('INT 10h did not return');
  cpu.materializeFlags();
  const g = (i: number) => cpu.reg16[i * 2];
  return { ax: g(0), bx: g(3), cx: g(1), dx: g(2), bp: g(5), es: cpu.segSel[0], cf: (cpu.flags & 1) !== 0 };
}

/** Rendered pixel (x, y) as 0xRRGGBB. */
export function pixel(m: PcMachine, x: number, y: number): number {
  const s = m.screen();
  const o = (y * s.width + x) * 4;
  return (s.rgba[o] << 16) | (s.rgba[o + 1] << 8) | s.rgba[o + 2];
}

/** Byte `a` of plane `p` (the device interleaves planes: byte 4*a+p). */
export function planeByte(m: PcMachine, p: number, a: number): number {
  return m.vga.vram[a * 4 + p];
}
