// FSTENV/FLDENV (and the first part of FSAVE/FRSTOR) memory images: 14 bytes with a 16-bit
// operand size, 28 bytes with 32-bit, each in a protected-mode and a real/v86-mode layout
// (Intel SDM vol. 1, figures 8-9 to 8-12). Real-mode images hold 20/32-bit linear pointers
// (segment * 16 + offset) split across two fields, with the opcode next to the high bits.

import type { FpuMemory } from './interfaces.js';

/** What the image code needs from the FPU (its public state fields). */
export interface FpuEnvState {
  controlWord: number;
  statusFlags: number;
  top: number;
  tagWord: number;
  fip: number;
  fcs: number;
  fdp: number;
  fds: number;
  fop: number;
  readonly statusWord: number;
  readonly fullTagWord: number;
}

export function environmentSize(opsize32: boolean): number {
  return opsize32 ? 28 : 14;
}

/** Store the environment image; returns its size. Reserved halves are written as ones. */
export function storeEnvironment(s: FpuEnvState, mem: FpuMemory, linear: number, opsize32: boolean, realMode: boolean): number {
  const cw = s.controlWord, sw = s.statusWord, tw = s.fullTagWord;
  if (opsize32) {
    mem.write32(linear, 0xffff0000 | cw);
    mem.write32(linear + 4, 0xffff0000 | sw);
    mem.write32(linear + 8, 0xffff0000 | tw);
    if (realMode) {
      const ip = (((s.fcs & 0xffff) << 4) + s.fip) >>> 0;
      const dp = (((s.fds & 0xffff) << 4) + s.fdp) >>> 0;
      mem.write32(linear + 12, 0xffff0000 | (ip & 0xffff));
      mem.write32(linear + 16, (((ip >>> 16) & 0xffff) << 12) | (s.fop & 0x7ff));
      mem.write32(linear + 20, 0xffff0000 | (dp & 0xffff));
      mem.write32(linear + 24, ((dp >>> 16) & 0xffff) << 12);
    } else {
      mem.write32(linear + 12, s.fip | 0);
      mem.write32(linear + 16, ((s.fop & 0x7ff) << 16) | (s.fcs & 0xffff));
      mem.write32(linear + 20, s.fdp | 0);
      mem.write32(linear + 24, 0xffff0000 | (s.fds & 0xffff));
    }
    return 28;
  }
  mem.write16(linear, cw);
  mem.write16(linear + 2, sw);
  mem.write16(linear + 4, tw);
  if (realMode) {
    const ip = (((s.fcs & 0xffff) << 4) + s.fip) >>> 0;
    const dp = (((s.fds & 0xffff) << 4) + s.fdp) >>> 0;
    mem.write16(linear + 6, ip & 0xffff);
    mem.write16(linear + 8, (((ip >>> 16) & 0xf) << 12) | (s.fop & 0x7ff));
    mem.write16(linear + 10, dp & 0xffff);
    mem.write16(linear + 12, ((dp >>> 16) & 0xf) << 12);
  } else {
    mem.write16(linear + 6, s.fip & 0xffff);
    mem.write16(linear + 8, s.fcs & 0xffff);
    mem.write16(linear + 10, s.fdp & 0xffff);
    mem.write16(linear + 12, s.fds & 0xffff);
  }
  return 14;
}

/**
 * Load an environment image. Everything is read before anything changes, so a fault leaves
 * the FPU as it was. The tag word only decides empty versus not empty (the P6 recomputes the
 * rest from the registers). Real-mode pointers load as offset = linear, selector 0.
 */
export function loadEnvironment(s: FpuEnvState, mem: FpuMemory, linear: number, opsize32: boolean, realMode: boolean): void {
  let cw: number, sw: number, tw: number, ip: number, cs: number, dp: number, ds: number, op: number;
  if (opsize32) {
    cw = mem.read32(linear) & 0xffff;
    sw = mem.read32(linear + 4) & 0xffff;
    tw = mem.read32(linear + 8) & 0xffff;
    const w3 = mem.read32(linear + 12) >>> 0;
    const w4 = mem.read32(linear + 16) >>> 0;
    const w5 = mem.read32(linear + 20) >>> 0;
    const w6 = mem.read32(linear + 24) >>> 0;
    if (realMode) {
      ip = ((w3 & 0xffff) | (((w4 >>> 12) & 0xffff) << 16)) >>> 0;
      op = w4 & 0x7ff;
      dp = ((w5 & 0xffff) | (((w6 >>> 12) & 0xffff) << 16)) >>> 0;
      cs = 0;
      ds = 0;
    } else {
      ip = w3;
      cs = w4 & 0xffff;
      op = (w4 >>> 16) & 0x7ff;
      dp = w5;
      ds = w6 & 0xffff;
    }
  } else {
    cw = mem.read16(linear) & 0xffff;
    sw = mem.read16(linear + 2) & 0xffff;
    tw = mem.read16(linear + 4) & 0xffff;
    const w3 = mem.read16(linear + 6) & 0xffff;
    const w4 = mem.read16(linear + 8) & 0xffff;
    const w5 = mem.read16(linear + 10) & 0xffff;
    const w6 = mem.read16(linear + 12) & 0xffff;
    if (realMode) {
      ip = (w3 | ((w4 >>> 12) << 16)) >>> 0;
      op = w4 & 0x7ff;
      dp = (w5 | ((w6 >>> 12) << 16)) >>> 0;
      cs = 0;
      ds = 0;
    } else {
      ip = w3;
      cs = w4;
      dp = w5;
      ds = w6;
      op = s.fop;
    }
  }
  s.controlWord = (cw & 0x1f3f) | 0x0040;
  s.statusFlags = sw & ~0x3800;
  s.top = (sw >>> 11) & 7;
  let tags = 0;
  for (let p = 0; p < 8; p++) if (((tw >>> (2 * p)) & 3) === 3) tags |= 3 << (2 * p);
  s.tagWord = tags;
  s.fip = ip;
  s.fcs = cs;
  s.fdp = dp;
  s.fds = ds;
  s.fop = op;
}
