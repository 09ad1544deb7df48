// Out-of-line paths called by compiled blocks (core/cpu/jit/codegen.ts): the general memory
// accessors (segment limit check, TLB miss/walk, MMIO, watched pages, unaligned or page-split
// operands, #AC) and the ALU operations that stay in alu.ts. Each does exactly what the
// interpreter does for the same operand, in the same order.

import type { Cpu } from '../cpu.js';
import { div1, imulTrunc, mul1, shift, shiftDouble } from '../alu.js';

export function rd8(c: Cpu, seg: number, lin: number): number {
  c.checkLimit(seg, lin, 1);
  return c.readLinear8(lin);
}

export function rd16(c: Cpu, seg: number, lin: number): number {
  c.checkLimit(seg, lin, 2);
  return c.readLinear16(lin);
}

export function rd32(c: Cpu, seg: number, lin: number): number {
  c.checkLimit(seg, lin, 4);
  return c.readLinear32(lin);
}

export function wr8(c: Cpu, seg: number, lin: number, v: number): void {
  c.checkLimit(seg, lin, 1);
  c.writeLinear8(lin, v);
}

export function wr16(c: Cpu, seg: number, lin: number, v: number): void {
  c.checkLimit(seg, lin, 2);
  c.writeLinear16(lin, v);
}

export function wr32(c: Cpu, seg: number, lin: number, v: number): void {
  c.checkLimit(seg, lin, 4);
  c.writeLinear32(lin, v);
}

/** Read of a read-modify-write operand: the write permission is probed first (probeRmw). */
export function rmw8(c: Cpu, seg: number, lin: number): number {
  if (c.pagingOn) c.probeWrite(lin, 1);
  c.checkLimit(seg, lin, 1);
  return c.readLinear8(lin);
}

export function rmw32(c: Cpu, seg: number, lin: number): number {
  if (c.pagingOn) c.probeWrite(lin, 4);
  c.checkLimit(seg, lin, 4);
  return c.readLinear32(lin);
}

// FS/GS operands: offset `off` in segment `seg` (base added here).
export function rdS8(c: Cpu, seg: number, off: number): number {
  c.checkLimit(seg, off, 1);
  return c.readLinear8((c.segBase[seg] + off) | 0);
}

export function rdS16(c: Cpu, seg: number, off: number): number {
  c.checkLimit(seg, off, 2);
  return c.readLinear16((c.segBase[seg] + off) | 0);
}

export function rdS32(c: Cpu, seg: number, off: number): number {
  c.checkLimit(seg, off, 4);
  return c.readLinear32((c.segBase[seg] + off) | 0);
}

export function wrS8(c: Cpu, seg: number, off: number, v: number): void {
  c.checkLimit(seg, off, 1);
  c.writeLinear8((c.segBase[seg] + off) | 0, v);
}

export function wrS16(c: Cpu, seg: number, off: number, v: number): void {
  c.checkLimit(seg, off, 2);
  c.writeLinear16((c.segBase[seg] + off) | 0, v);
}

export function wrS32(c: Cpu, seg: number, off: number, v: number): void {
  c.checkLimit(seg, off, 4);
  c.writeLinear32((c.segBase[seg] + off) | 0, v);
}

export function rmwS8(c: Cpu, seg: number, off: number): number {
  const lin = (c.segBase[seg] + off) | 0;
  if (c.pagingOn) c.probeWrite(lin, 1);
  c.checkLimit(seg, off, 1);
  return c.readLinear8(lin);
}

export function rmwS32(c: Cpu, seg: number, off: number): number {
  const lin = (c.segBase[seg] + off) | 0;
  if (c.pagingOn) c.probeWrite(lin, 4);
  c.checkLimit(seg, off, 4);
  return c.readLinear32(lin);
}

export { div1, imulTrunc, mul1, shift, shiftDouble };
