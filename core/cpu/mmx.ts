// MMX (Pentium II): the 0F opcodes of the MMX instruction set, executed on the x87 registers.
//
// Aliasing (SDM vol. 1 ch. 9, vol. 3 ch. 12): MMi is the 64-bit significand of the physical
// register Ri (fpu.regMant[2i] low, [2i+1] high 32 bits) regardless of TOS. Every MMX
// instruction but EMMS sets TOS to 0 and all tags to valid; writing MMi sets bits 79:64 of Ri
// (fpu.regSignExp[i]) to FFFFh; EMMS empties every tag. The x87 control word, the other
// status bits and the instruction/operand pointers are untouched. No extra state: FSAVE/FRSTOR
// and snapshots carry the MMX registers as x87 registers.
//
// Exceptions, in order: #UD (no MMX on this model, a 66 prefix — those are SSE2 forms —, a
// reserved /reg of 0F 71-73 or their memory form, LOCK via exec.ts checkLock, CR0.EM=1), #NM
// (CR0.TS=1), a pending unmasked x87 exception (#MF with CR0.NE=1, else FERR#/IRQ13 as for a
// waiting x87 instruction), then the memory operand's #GP/#SS/#PF. A faulting instruction
// changes nothing: operands are read and stores written before any register, TOS or tag.
//
// Values are handled as two signed 32-bit halves in module scratch (no allocation).

import type { Cpu } from './cpu.js';
import { decodeModrm } from './exec.js';
import { CR0_EM, CR0_TS, EXC_NM, EXC_UD } from './system/constants.js';

// Source operand and result, as int32 halves.
let sLo = 0;
let sHi = 0;
let rLo = 0;
let rHi = 0;

/** 1 for the second opcode byte of every Pentium II MMX instruction (0F xx). */
export const MMX_OPCODES = new Uint8Array(256);
for (const op of [
  0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6e, 0x6f,
  0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x7e, 0x7f,
  0xd1, 0xd2, 0xd3, 0xd5, 0xd8, 0xd9, 0xdb, 0xdc, 0xdd, 0xdf,
  0xe1, 0xe2, 0xe5, 0xe8, 0xe9, 0xeb, 0xec, 0xed, 0xef,
  0xf1, 0xf2, 0xf3, 0xf5, 0xf8, 0xf9, 0xfa, 0xfc, 0xfd, 0xfe,
]) MMX_OPCODES[op] = 1;

/** #UD/#NM/pending-x87 checks shared by every MMX instruction. */
function enter(c: Cpu): void {
  if ((c.cr0 & CR0_EM) !== 0) c.fault(EXC_UD);
  if ((c.cr0 & CR0_TS) !== 0) c.fault(EXC_NM);
  c.fpu!.mmxCheck();
}

/** Read the 64-bit source (register MMx or m64) into sLo/sHi. */
function readSource64(c: Cpu, mant: Uint32Array): void {
  if (c.modrmIsReg) {
    const p = c.modrmReg * 2;
    sLo = mant[p]! | 0;
    sHi = mant[p + 1]! | 0;
    return;
  }
  c.eaCheck(8);
  const lin = c.eaLinear;
  sLo = c.readLinear32(lin);
  sHi = c.readLinear32((lin + 4) | 0);
}

/** MMd := rHi:rLo (bits 79:64 all ones), then the MMX TOS/tag effect. */
function writeResult(c: Cpu, d: number): void {
  const fpu = c.fpu!;
  fpu.regMant[2 * d] = rLo;
  fpu.regMant[2 * d + 1] = rHi;
  fpu.regSignExp[d] = 0xffff;
  fpu.mmxEnter();
}

/**
 * Execute the MMX instruction 0F `op` (MMX_OPCODES[op] === 1). The caller has consumed the
 * prefixes and the two opcode bytes.
 */
export function executeMmx(c: Cpu, op: number): void {
  // No MMX, or a 66 prefix (the SSE2 XMM forms; #UD on a P6).
  if (!c.hasMmx || c.fpu === null || c.opsize32 !== c.code32) c.fault(EXC_UD);
  const fpu = c.fpu!;
  if (op === 0x77) { // EMMS
    enter(c);
    fpu.emms();
    return;
  }
  decodeModrm(c, c.fetch8());
  const mant = fpu.regMant;
  const d = c.modrmRegField;
  switch (op) {
    case 0x6e: { // MOVD mm, r/m32
      enter(c);
      const v = c.readModrm32();
      rLo = v; rHi = 0;
      writeResult(c, d);
      return;
    }
    case 0x7e: { // MOVD r/m32, mm
      enter(c);
      c.writeModrm32(mant[2 * d]! | 0);
      fpu.mmxEnter();
      return;
    }
    case 0x6f: // MOVQ mm, mm/m64
      enter(c);
      readSource64(c, mant);
      rLo = sLo; rHi = sHi;
      writeResult(c, d);
      return;
    case 0x7f: { // MOVQ mm/m64, mm
      enter(c);
      const lo = mant[2 * d]! | 0, hi = mant[2 * d + 1]! | 0;
      if (c.modrmIsReg) {
        rLo = lo; rHi = hi;
        writeResult(c, c.modrmReg);
        return;
      }
      c.eaCheck(8);
      const lin = c.eaLinear;
      if ((lin & 0xfff) > 0xff8) c.probeWrite(lin, 8);
      c.writeLinear32(lin, lo);
      c.writeLinear32((lin + 4) | 0, hi);
      fpu.mmxEnter();
      return;
    }
    case 0x71: case 0x72: case 0x73: { // shift groups: imm8 count, MMX register only
      const g = c.modrmRegField;
      const kind = g === 2 ? 0 : g === 4 && op !== 0x73 ? 1 : g === 6 ? 2 : -1;
      if (kind < 0 || !c.modrmIsReg) c.fault(EXC_UD);
      enter(c);
      const count = c.fetch8();
      const r = c.modrmReg;
      // 0 logical right, 1 arithmetic right, 2 left; element width 16/32/64.
      shift(mant[2 * r]! | 0, mant[2 * r + 1]! | 0, op === 0x71 ? 16 : op === 0x72 ? 32 : 64, kind, 0, count);
      writeResult(c, r);
      return;
    }
  }
  enter(c);
  // The low unpacks read only 32 bits of a memory operand (PUNPCKLxx mm, mm/m32).
  if (op >= 0x60 && op <= 0x62 && !c.modrmIsReg) {
    sLo = c.readModrm32();
    sHi = 0;
  } else {
    readSource64(c, mant);
  }
  const dLo = mant[2 * d]! | 0;
  const dHi = mant[2 * d + 1]! | 0;
  switch (op) {
    // Unpacks: interleave the low (60-62) or high (68-6A) halves, destination first.
    case 0x60: case 0x68: {
      const a = op === 0x60 ? dLo : dHi, b = op === 0x60 ? sLo : sHi;
      rLo = (a & 0xff) | ((b & 0xff) << 8) | ((a & 0xff00) << 8) | ((b & 0xff00) << 16);
      rHi = ((a >>> 16) & 0xff) | (((b >>> 16) & 0xff) << 8) | ((a >>> 8) & 0xff0000) | (b & 0xff000000);
      break;
    }
    case 0x61: case 0x69: {
      const a = op === 0x61 ? dLo : dHi, b = op === 0x61 ? sLo : sHi;
      rLo = (a & 0xffff) | (b << 16);
      rHi = (a >>> 16) | (b & 0xffff0000);
      break;
    }
    case 0x62: rLo = dLo; rHi = sLo; break;
    case 0x6a: rLo = dHi; rHi = sHi; break;
    // Packs: destination elements form the low half, source elements the high half.
    case 0x63: rLo = packWB(dLo, dHi, true); rHi = packWB(sLo, sHi, true); break;
    case 0x67: rLo = packWB(dLo, dHi, false); rHi = packWB(sLo, sHi, false); break;
    case 0x6b:
      rLo = (satS16(dLo) & 0xffff) | (satS16(dHi) << 16);
      rHi = (satS16(sLo) & 0xffff) | (satS16(sHi) << 16);
      break;
    // Logic.
    case 0xdb: rLo = dLo & sLo; rHi = dHi & sHi; break;
    case 0xdf: rLo = ~dLo & sLo; rHi = ~dHi & sHi; break;
    case 0xeb: rLo = dLo | sLo; rHi = dHi | sHi; break;
    case 0xef: rLo = dLo ^ sLo; rHi = dHi ^ sHi; break;
    // Shifts by the 64-bit source count.
    case 0xd1: shift(dLo, dHi, 16, 0, sHi, sLo); break;
    case 0xd2: shift(dLo, dHi, 32, 0, sHi, sLo); break;
    case 0xd3: shift(dLo, dHi, 64, 0, sHi, sLo); break;
    case 0xe1: shift(dLo, dHi, 16, 1, sHi, sLo); break;
    case 0xe2: shift(dLo, dHi, 32, 1, sHi, sLo); break;
    case 0xf1: shift(dLo, dHi, 16, 2, sHi, sLo); break;
    case 0xf2: shift(dLo, dHi, 32, 2, sHi, sLo); break;
    case 0xf3: shift(dLo, dHi, 64, 2, sHi, sLo); break;
    // Multiplies (signed words).
    case 0xd5: rLo = mulWords(dLo, sLo, false); rHi = mulWords(dHi, sHi, false); break;
    case 0xe5: rLo = mulWords(dLo, sLo, true); rHi = mulWords(dHi, sHi, true); break;
    case 0xf5: rLo = maddWords(dLo, sLo); rHi = maddWords(dHi, sHi); break;
    // Element-wise arithmetic and compares.
    default: {
      const kind = ELEM_KIND[op]!, size = ELEM_SIZE[op]!;
      rLo = elementwise(kind, size, dLo, sLo);
      rHi = elementwise(kind, size, dHi, sHi);
    }
  }
  writeResult(c, d);
}

// Element-wise operations: kind and element size (bits) per opcode.
const K_ADD = 0, K_SUB = 1, K_ADDS = 2, K_SUBS = 3, K_ADDUS = 4, K_SUBUS = 5, K_CMPEQ = 6, K_CMPGT = 7;
const ELEM_KIND = new Uint8Array(256);
const ELEM_SIZE = new Uint8Array(256);
for (const [op, kind, size] of [
  [0xfc, K_ADD, 8], [0xfd, K_ADD, 16], [0xfe, K_ADD, 32],
  [0xf8, K_SUB, 8], [0xf9, K_SUB, 16], [0xfa, K_SUB, 32],
  [0xec, K_ADDS, 8], [0xed, K_ADDS, 16], [0xe8, K_SUBS, 8], [0xe9, K_SUBS, 16],
  [0xdc, K_ADDUS, 8], [0xdd, K_ADDUS, 16], [0xd8, K_SUBUS, 8], [0xd9, K_SUBUS, 16],
  [0x74, K_CMPEQ, 8], [0x75, K_CMPEQ, 16], [0x76, K_CMPEQ, 32],
  [0x64, K_CMPGT, 8], [0x65, K_CMPGT, 16], [0x66, K_CMPGT, 32],
] as const) {
  ELEM_KIND[op] = kind;
  ELEM_SIZE[op] = size;
}

/** One 32-bit half of an element-wise operation on `size`-bit elements. */
function elementwise(kind: number, size: number, a: number, b: number): number {
  if (size === 32) {
    switch (kind) {
      case K_ADD: return (a + b) | 0;
      case K_SUB: return (a - b) | 0;
      case K_CMPEQ: return a === b ? -1 : 0;
      default: return a > b ? -1 : 0; // K_CMPGT (signed)
    }
  }
  const mask = size === 8 ? 0xff : 0xffff;
  const up = 32 - size;
  const max = mask >>> 1, min = -max - 1;
  let r = 0;
  for (let s = 0; s < 32; s += size) {
    // Signed (x, y) and unsigned (ux, uy) views of the element at bit s.
    const x = (a << (up - s)) >> up, y = (b << (up - s)) >> up;
    const ux = x & mask, uy = y & mask;
    let v: number;
    switch (kind) {
      case K_ADD: v = ux + uy; break;
      case K_SUB: v = ux - uy; break;
      case K_ADDS: v = x + y; v = v > max ? max : v < min ? min : v; break;
      case K_SUBS: v = x - y; v = v > max ? max : v < min ? min : v; break;
      case K_ADDUS: v = ux + uy; if (v > mask) v = mask; break;
      case K_SUBUS: v = ux - uy; if (v < 0) v = 0; break;
      case K_CMPEQ: v = x === y ? mask : 0; break;
      default: v = x > y ? mask : 0; break;
    }
    r |= (v & mask) << s;
  }
  return r | 0;
}

/** Signed dword to signed word with saturation. */
function satS16(v: number): number {
  return v > 0x7fff ? 0x7fff : v < -0x8000 ? -0x8000 : v;
}

/** Four signed words (lo, hi halves) to four bytes, signed or unsigned saturation. */
function packWB(lo: number, hi: number, signed: boolean): number {
  let r = 0;
  for (let i = 0; i < 4; i++) {
    const half = i < 2 ? lo : hi;
    const w = ((i & 1) === 0 ? half << 16 : half) >> 16;
    let v: number;
    if (signed) v = w > 127 ? 127 : w < -128 ? -128 : w;
    else v = w > 255 ? 255 : w < 0 ? 0 : w;
    r |= (v & 0xff) << (8 * i);
  }
  return r | 0;
}

/** PMULLW (high=false) / PMULHW (high=true) on the two word pairs of a 32-bit half. */
function mulWords(a: number, b: number, high: boolean): number {
  const p0 = Math.imul((a << 16) >> 16, (b << 16) >> 16);
  const p1 = Math.imul(a >> 16, b >> 16);
  return high ? ((p0 >>> 16) & 0xffff) | (p1 & 0xffff0000) : (p0 & 0xffff) | (p1 << 16);
}

/** PMADDWD on a 32-bit half: a0*b0 + a1*b1 as a dword (0x8000*0x8000 twice wraps to 80000000h). */
function maddWords(a: number, b: number): number {
  return (Math.imul((a << 16) >> 16, (b << 16) >> 16) + Math.imul(a >> 16, b >> 16)) | 0;
}

/**
 * Shift the 64-bit value hi:lo as `width`-bit elements (16, 32, 64); kind 0 logical right,
 * 1 arithmetic right, 2 left; the count is the unsigned 64-bit cntHi:cntLo. Counts of the
 * element width or more give 0 (logical) or the sign in every bit (arithmetic). Sets rLo/rHi.
 */
function shift(lo: number, hi: number, width: number, kind: number, cntHi: number, cntLo: number): void {
  let n = cntHi !== 0 || cntLo >>> 0 > 64 ? 64 : cntLo >>> 0;
  if (n >= width) {
    if (kind !== 1) { rLo = 0; rHi = 0; return; }
    n = width - 1; // arithmetic: every bit becomes the sign
  }
  if (width === 64) {
    if (n === 0) { rLo = lo; rHi = hi; }
    else if (kind === 2) {
      if (n < 32) { rHi = (hi << n) | (lo >>> (32 - n)); rLo = lo << n; }
      else { rHi = lo << (n - 32); rLo = 0; }
    } else if (n < 32) { rLo = (lo >>> n) | (hi << (32 - n)); rHi = hi >>> n; }
    else { rLo = hi >>> (n - 32); rHi = 0; }
    rLo |= 0; rHi |= 0;
    return;
  }
  if (width === 32) {
    rLo = kind === 0 ? lo >>> n : kind === 1 ? lo >> n : lo << n;
    rHi = kind === 0 ? hi >>> n : kind === 1 ? hi >> n : hi << n;
    rLo |= 0; rHi |= 0;
    return;
  }
  rLo = shiftWords(lo, kind, n);
  rHi = shiftWords(hi, kind, n);
}

/** Both 16-bit words of a half shifted by n (0..15). */
function shiftWords(v: number, kind: number, n: number): number {
  let w0: number, w1: number;
  if (kind === 0) { w0 = (v & 0xffff) >>> n; w1 = (v >>> 16) >>> n; }
  else if (kind === 1) { w0 = ((v << 16) >> 16) >> n; w1 = (v >> 16) >> n; }
  else { w0 = (v & 0xffff) << n; w1 = (v >>> 16) << n; }
  return ((w0 & 0xffff) | (w1 << 16)) | 0;
}
