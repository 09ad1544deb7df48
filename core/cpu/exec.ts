// Fetch, decode and execute of one instruction: prefixes, ModRM/SIB, and the one-byte opcode
// map. The two-byte map is in exec0f.ts, string instructions in string.ts, arithmetic in alu.ts.
// Order rule for restartable faults: read all operands and write memory before writing
// registers; read-modify-write memory operands are probed for writability first.

import type { Cpu } from './cpu.js';
import { INT_ICEBP, INT_SOFTWARE, REG_EAX, REG_EBP, REG_EBX, REG_ECX, REG_EDX, REG_ESI, REG_ESP } from './cpu.js';
import { aaa, aad, aam, aas, arith, daa, das, dec, div1, imulTrunc, inc, mul1, neg, shift } from './alu.js';
import { execute0F } from './exec0f.js';
import { stringOp } from './string.js';
import * as sys from './sysops.js';
import {
  CR0_EM, CR0_MP, CR0_TS, EXC_BR, EXC_GP, EXC_NM, EXC_UD,
  FLAG_AC, FLAG_DF, FLAG_ID, FLAG_IF, FLAG_NT, FLAG_RF, FLAG_TF, FLAG_VM,
  SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS,
} from './system/constants.js';
import type { FpuInstructionPointers } from './interfaces.js';

/** reg8 index of 8-bit register r (AL CL DL BL AH CH DH BH). */
export const R8 = new Uint8Array([0, 4, 8, 12, 1, 5, 9, 13]);

/** One-byte opcodes that accept LOCK (with a memory destination; group checks in checkLock). */
const LOCK_OK = new Uint8Array(256);
for (const op of [0x00, 0x01, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19, 0x20, 0x21, 0x28, 0x29, 0x30, 0x31,
  0x80, 0x81, 0x82, 0x83, 0x86, 0x87, 0xf6, 0xf7, 0xfe, 0xff]) LOCK_OK[op] = 1;

const fpuPtrs: FpuInstructionPointers = { ip: 0, cs: 0, dp: 0, ds: 0, fop: 0 };

// ------------------------------------------------------------------ ModRM

/** Decode ModRM (already fetched) and any SIB/displacement; sets the operand fields on c. */
export function decodeModrm(c: Cpu, modrm: number): void {
  c.modrmRegField = (modrm >> 3) & 7;
  if (modrm >= 0xc0) {
    c.modrmIsReg = true;
    c.modrmReg = modrm & 7;
    return;
  }
  c.modrmIsReg = false;
  if (c.addrsize32) decodeEa32(c, modrm);
  else decodeEa16(c, modrm);
}

/** The memory operand (mod != 3) of a 16-bit address: eaSeg, eaOffset, eaLinear. */
function decodeEa16(c: Cpu, modrm: number): void {
  const mod = modrm >> 6;
  const r16 = c.reg16;
  let off: number;
  let seg = SEG_DS;
  switch (modrm & 7) {
    case 0: off = r16[REG_EBX * 2] + r16[REG_ESI * 2]; break;
    case 1: off = r16[REG_EBX * 2] + r16[7 * 2]; break;
    case 2: off = r16[REG_EBP * 2] + r16[REG_ESI * 2]; seg = SEG_SS; break;
    case 3: off = r16[REG_EBP * 2] + r16[7 * 2]; seg = SEG_SS; break;
    case 4: off = r16[REG_ESI * 2]; break;
    case 5: off = r16[7 * 2]; break;
    case 6:
      if (mod === 0) {
        off = c.fetch16();
      } else {
        off = r16[REG_EBP * 2];
        seg = SEG_SS;
      }
      break;
    default: off = r16[REG_EBX * 2]; break;
  }
  if (mod === 1) off += c.fetchS8();
  else if (mod === 2) off += c.fetch16();
  off &= 0xffff;
  if (c.segOverride >= 0) seg = c.segOverride;
  c.eaSeg = seg;
  c.eaOffset = off;
  c.eaLinear = (c.segBase[seg] + off) | 0;
}

/**
 * The offset of a 32-bit memory operand (mod != 3, SIB and displacement read through fetch8/
 * fetch32); sets c.eaSeg. exec-hot.ts reads straight from the fetch window when it can.
 */
export function ea32Fetch(c: Cpu, modrm: number): number {
  const mod = modrm >> 6;
  const rm = modrm & 7;
  const regs = c.regs;
  let off: number;
  let seg = SEG_DS;
  if (rm === 4) {
    const sib = c.fetch8();
    const base = sib & 7;
    const index = (sib >> 3) & 7;
    off = index === 4 ? 0 : regs[index] << (sib >> 6);
    if (base === 5 && mod === 0) {
      off = (off + c.fetch32()) | 0;
    } else {
      off = (off + regs[base]) | 0;
      if (base === 4 || base === 5) seg = SEG_SS;
    }
  } else if (rm === 5 && mod === 0) {
    off = c.fetch32();
  } else {
    off = regs[rm];
    if (rm === 5) seg = SEG_SS;
  }
  if (mod === 1) off = (off + c.fetchS8()) | 0;
  else if (mod === 2) off = (off + c.fetch32()) | 0;
  c.eaSeg = c.segOverride >= 0 ? c.segOverride : seg;
  return off;
}

/** The memory operand (mod != 3) of a 32-bit address, with SIB. */
function decodeEa32(c: Cpu, modrm: number): void {
  const off = ea32Fetch(c, modrm);
  c.eaOffset = off;
  c.eaLinear = (c.segBase[c.eaSeg] + off) | 0;
}

/** Linear address of a memory operand at offset `off` in the default data segment (or override). */
export function dataLinear(c: Cpu, off: number, size: number): number {
  const seg = c.segOverride >= 0 ? c.segOverride : SEG_DS;
  c.checkLimit(seg, off, size);
  return (c.segBase[seg] + off) | 0;
}

export function getRm8(c: Cpu): number {
  if (c.modrmIsReg) return c.reg8[R8[c.modrmReg]];
  c.checkLimit(c.eaSeg, c.eaOffset, 1);
  return c.readLinear8(c.eaLinear);
}

export function setRm8(c: Cpu, v: number): void {
  if (c.modrmIsReg) c.reg8[R8[c.modrmReg]] = v;
  else {
    c.checkLimit(c.eaSeg, c.eaOffset, 1);
    c.writeLinear8(c.eaLinear, v);
  }
}

/** Read a ModRM operand of 16 or 32 bits (per opsize). */
export function getRmV(c: Cpu): number {
  if (c.modrmIsReg) return c.opsize32 ? c.regs[c.modrmReg] : c.reg16[c.modrmReg * 2];
  if (c.opsize32) {
    c.checkLimit(c.eaSeg, c.eaOffset, 4);
    return c.readLinear32(c.eaLinear);
  }
  c.checkLimit(c.eaSeg, c.eaOffset, 2);
  return c.readLinear16(c.eaLinear);
}

export function setRmV(c: Cpu, v: number): void {
  if (c.modrmIsReg) {
    if (c.opsize32) c.regs[c.modrmReg] = v;
    else c.reg16[c.modrmReg * 2] = v;
  } else if (c.opsize32) {
    c.checkLimit(c.eaSeg, c.eaOffset, 4);
    c.writeLinear32(c.eaLinear, v);
  } else {
    c.checkLimit(c.eaSeg, c.eaOffset, 2);
    c.writeLinear16(c.eaLinear, v);
  }
}

export function getRegV(c: Cpu, r: number): number {
  return c.opsize32 ? c.regs[r] : c.reg16[r * 2];
}

export function setRegV(c: Cpu, r: number, v: number): void {
  if (c.opsize32) c.regs[r] = v;
  else c.reg16[r * 2] = v;
}

/** For read-modify-write memory operands: fault now (before any state changes) if unwritable. */
export function probeRmw(c: Cpu, size: number): void {
  if (!c.modrmIsReg && c.pagingOn) c.probeWrite(c.eaLinear, size);
}

function pushV(c: Cpu, v: number): void {
  if (c.opsize32) c.push32(v);
  else c.push16(v);
}

function popV(c: Cpu): number {
  return c.opsize32 ? c.pop32() : c.pop16();
}

function fetchImmV(c: Cpu): number {
  return c.opsize32 ? c.fetch32() : c.fetch16();
}

/** Near jump to `target` honouring the operand size. */
export function jumpNear(c: Cpu, target: number): void {
  c.eip = c.opsize32 ? target >>> 0 : target & 0xffff;
}

function iopl(c: Cpu): number {
  return (c.flags >> 12) & 3;
}

/** IN/OUT/INS/OUTS permission: #GP unless allowed by IOPL or the TSS bitmap. */
export function checkIo(c: Cpu, port: number, size: number): void {
  if ((c.protectedMode && c.cpl > iopl(c)) || c.v86) sys.checkIoPermission(c, port, size);
}

export function portIn(c: Cpu, port: number, size: number): number {
  c.pollCountdown = 0; // device state may have changed: look at INTR at the next boundary
  c.eventPending = true;
  if (size === 1) return c.io.in8(port);
  if (size === 2) return c.io.in16(port);
  return c.io.in32(port);
}

export function portOut(c: Cpu, port: number, size: number, v: number): void {
  if (size === 1) c.io.out8(port, v);
  else if (size === 2) c.io.out16(port, v);
  else c.io.out32(port, v);
  // Port writes may remap memory (PAM, A20, VGA windows): drop the fetch cache; they may also
  // raise or unmask an interrupt: poll INTR at the next boundary.
  c.fetchEipHi = 0;
  c.pollCountdown = 0;
  c.eventPending = true;
}

function loadSeg(c: Cpu, seg: number, sel: number): void {
  if (c.protectedMode) sys.loadSegment(c, seg, sel);
  else c.loadSegmentReal(seg, sel);
  if (seg === SEG_SS) {
    c.intShadow = true;
    c.eventPending = true;
  }
}

// ------------------------------------------------------------------ the instruction

/** 1 for the legacy prefix bytes (segment, 66, 67, F0, F2, F3). */
export const IS_PREFIX = new Uint8Array(256);
for (const p of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]) IS_PREFIX[p] = 1;

/** Consume prefixes starting with `op`; returns the opcode byte after them. */
export function prefixes(c: Cpu, op: number, seen = 0): number {
  for (let n = seen; IS_PREFIX[op] !== 0; n++) {
    if (n >= 14) c.fault(EXC_GP, 0); // instruction longer than 15 bytes
    switch (op) {
      case 0x26: c.segOverride = SEG_ES; break;
      case 0x2e: c.segOverride = SEG_CS; break;
      case 0x36: c.segOverride = SEG_SS; break;
      case 0x3e: c.segOverride = SEG_DS; break;
      case 0x64: c.segOverride = SEG_FS; break;
      case 0x65: c.segOverride = SEG_GS; break;
      case 0x66: c.opsize32 = !c.code32; break;
      case 0x67: c.addrsize32 = !c.code32; break;
      case 0xf0: c.lockPrefix = true; break;
      case 0xf2: c.repPrefix = 2; break;
      default: c.repPrefix = 1; break;
    }
    op = c.fetch8();
  }
  return op;
}

export function checkLock(c: Cpu, op: number): void {
  const eip = c.eip;
  if (op === 0x0f) {
    const op2 = c.fetch8();
    const modrm = c.fetch8();
    c.eip = eip;
    const reg = (modrm >> 3) & 7;
    const ok = op2 === 0xab || op2 === 0xb3 || op2 === 0xbb || op2 === 0xb0 || op2 === 0xb1 || op2 === 0xc0 ||
      op2 === 0xc1 || (op2 === 0xba && reg >= 5) || (op2 === 0xc7 && reg === 1);
    if (!ok || modrm >= 0xc0) c.fault(EXC_UD);
    return;
  }
  if (!LOCK_OK[op]) c.fault(EXC_UD);
  const modrm = c.fetch8();
  c.eip = eip;
  const reg = (modrm >> 3) & 7;
  if (modrm >= 0xc0) c.fault(EXC_UD);
  if ((op >= 0x80 && op <= 0x83 && reg === 7) || ((op === 0xf6 || op === 0xf7) && reg !== 2 && reg !== 3) ||
    (op >= 0xfe && reg > 1)) c.fault(EXC_UD);
}

export function execute(c: Cpu, op: number): void {
  const regs = c.regs;
  switch (op) {
    // ---- ALU r/m forms 00-3F
    case 0x00: case 0x08: case 0x10: case 0x18: case 0x20: case 0x28: case 0x30: case 0x38: {
      decodeModrm(c, c.fetch8());
      const aop = op >> 3;
      if (aop !== 7) probeRmw(c, 1);
      const r = arith(c, aop, getRm8(c), c.reg8[R8[c.modrmRegField]], 7);
      if (aop !== 7) setRm8(c, r);
      return;
    }
    case 0x01: case 0x09: case 0x11: case 0x19: case 0x21: case 0x29: case 0x31: case 0x39: {
      decodeModrm(c, c.fetch8());
      const aop = op >> 3;
      const top = c.opsize32 ? 31 : 15;
      if (aop !== 7) probeRmw(c, (top + 1) >> 3);
      const r = arith(c, aop, getRmV(c), getRegV(c, c.modrmRegField), top);
      if (aop !== 7) setRmV(c, r);
      return;
    }
    case 0x02: case 0x0a: case 0x12: case 0x1a: case 0x22: case 0x2a: case 0x32: case 0x3a: {
      decodeModrm(c, c.fetch8());
      const aop = op >> 3;
      const ri = R8[c.modrmRegField];
      const r = arith(c, aop, c.reg8[ri], getRm8(c), 7);
      if (aop !== 7) c.reg8[ri] = r;
      return;
    }
    case 0x03: case 0x0b: case 0x13: case 0x1b: case 0x23: case 0x2b: case 0x33: case 0x3b: {
      decodeModrm(c, c.fetch8());
      const aop = op >> 3;
      const top = c.opsize32 ? 31 : 15;
      const reg = c.modrmRegField;
      const r = arith(c, aop, getRegV(c, reg), getRmV(c), top);
      if (aop !== 7) setRegV(c, reg, r);
      return;
    }
    case 0x04: case 0x0c: case 0x14: case 0x1c: case 0x24: case 0x2c: case 0x34: case 0x3c: {
      const aop = op >> 3;
      const r = arith(c, aop, c.reg8[0], c.fetch8(), 7);
      if (aop !== 7) c.reg8[0] = r;
      return;
    }
    case 0x05: case 0x0d: case 0x15: case 0x1d: case 0x25: case 0x2d: case 0x35: case 0x3d: {
      const aop = op >> 3;
      const top = c.opsize32 ? 31 : 15;
      const r = arith(c, aop, getRegV(c, REG_EAX), fetchImmV(c), top);
      if (aop !== 7) setRegV(c, REG_EAX, r);
      return;
    }
    case 0x06: pushV(c, c.segSel[SEG_ES]); return;
    case 0x0e: pushV(c, c.segSel[SEG_CS]); return;
    case 0x16: pushV(c, c.segSel[SEG_SS]); return;
    case 0x1e: pushV(c, c.segSel[SEG_DS]); return;
    case 0x07: popSeg(c, SEG_ES); return;
    case 0x17: popSeg(c, SEG_SS); return;
    case 0x1f: popSeg(c, SEG_DS); return;
    case 0x0f: execute0F(c, c.fetch8()); return;
    case 0x27: daa(c); return;
    case 0x2f: das(c); return;
    case 0x37: aaa(c); return;
    case 0x3f: aas(c); return;

    case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
      if (c.opsize32) regs[op & 7] = inc(c, regs[op & 7], 31);
      else c.reg16[(op & 7) * 2] = inc(c, c.reg16[(op & 7) * 2], 15);
      return;
    case 0x48: case 0x49: case 0x4a: case 0x4b: case 0x4c: case 0x4d: case 0x4e: case 0x4f:
      if (c.opsize32) regs[op & 7] = dec(c, regs[op & 7], 31);
      else c.reg16[(op & 7) * 2] = dec(c, c.reg16[(op & 7) * 2], 15);
      return;
    case 0x50: case 0x51: case 0x52: case 0x53: case 0x54: case 0x55: case 0x56: case 0x57:
      pushV(c, getRegV(c, op & 7));
      return;
    case 0x58: case 0x59: case 0x5a: case 0x5b: case 0x5c: case 0x5d: case 0x5e: case 0x5f: {
      const v = popV(c);
      setRegV(c, op & 7, v);
      return;
    }
    case 0x60: pusha(c); return;
    case 0x61: popa(c); return;
    case 0x62: bound(c); return;
    case 0x63: arpl(c); return;
    case 0x68: pushV(c, fetchImmV(c)); return;
    case 0x6a: pushV(c, (c.fetch8() << 24) >> 24); return;
    case 0x69: case 0x6b: {
      decodeModrm(c, c.fetch8());
      const top = c.opsize32 ? 31 : 15;
      const src = getRmV(c);
      const imm = op === 0x6b ? (c.fetch8() << 24) >> 24 : fetchImmV(c);
      setRegV(c, c.modrmRegField, imulTrunc(c, src, imm, top));
      return;
    }
    case 0x6c: case 0x6d: case 0x6e: case 0x6f: case 0xa4: case 0xa5: case 0xa6: case 0xa7:
    case 0xaa: case 0xab: case 0xac: case 0xad: case 0xae: case 0xaf:
      stringOp(c, op);
      return;
    case 0x70: case 0x71: case 0x72: case 0x73: case 0x74: case 0x75: case 0x76: case 0x77:
    case 0x78: case 0x79: case 0x7a: case 0x7b: case 0x7c: case 0x7d: case 0x7e: case 0x7f: {
      const rel = (c.fetch8() << 24) >> 24;
      if (c.cond(op & 15)) jumpNear(c, c.eip + rel);
      return;
    }
    case 0x80: case 0x82: {
      decodeModrm(c, c.fetch8());
      const aop = c.modrmRegField;
      if (aop !== 7) probeRmw(c, 1);
      const a = getRm8(c);
      const r = arith(c, aop, a, c.fetch8(), 7);
      if (aop !== 7) setRm8(c, r);
      return;
    }
    case 0x81: case 0x83: {
      decodeModrm(c, c.fetch8());
      const aop = c.modrmRegField;
      const top = c.opsize32 ? 31 : 15;
      if (aop !== 7) probeRmw(c, (top + 1) >> 3);
      const a = getRmV(c);
      const imm = op === 0x83 ? (c.fetch8() << 24) >> 24 : fetchImmV(c);
      const r = arith(c, aop, a, top === 15 ? imm & 0xffff : imm, top);
      if (aop !== 7) setRmV(c, r);
      return;
    }
    case 0x84: {
      decodeModrm(c, c.fetch8());
      arith(c, 4, getRm8(c), c.reg8[R8[c.modrmRegField]], 7);
      return;
    }
    case 0x85: {
      decodeModrm(c, c.fetch8());
      arith(c, 4, getRmV(c), getRegV(c, c.modrmRegField), c.opsize32 ? 31 : 15);
      return;
    }
    case 0x86: {
      decodeModrm(c, c.fetch8());
      probeRmw(c, 1);
      const ri = R8[c.modrmRegField];
      const a = getRm8(c);
      setRm8(c, c.reg8[ri]);
      c.reg8[ri] = a;
      return;
    }
    case 0x87: {
      decodeModrm(c, c.fetch8());
      probeRmw(c, c.opsize32 ? 4 : 2);
      const a = getRmV(c);
      setRmV(c, getRegV(c, c.modrmRegField));
      setRegV(c, c.modrmRegField, a);
      return;
    }
    case 0x88: decodeModrm(c, c.fetch8()); setRm8(c, c.reg8[R8[c.modrmRegField]]); return;
    case 0x89: decodeModrm(c, c.fetch8()); setRmV(c, getRegV(c, c.modrmRegField)); return;
    case 0x8a: decodeModrm(c, c.fetch8()); c.reg8[R8[c.modrmRegField]] = getRm8(c); return;
    case 0x8b: decodeModrm(c, c.fetch8()); setRegV(c, c.modrmRegField, getRmV(c)); return;
    case 0x8c: {
      decodeModrm(c, c.fetch8());
      if (c.modrmRegField > 5) c.fault(EXC_UD);
      const v = c.segSel[c.modrmRegField];
      if (c.modrmIsReg) setRegV(c, c.modrmReg, v);
      else c.writeModrm16(v);
      return;
    }
    case 0x8d: {
      decodeModrm(c, c.fetch8());
      if (c.modrmIsReg) c.fault(EXC_UD);
      setRegV(c, c.modrmRegField, c.eaOffset);
      return;
    }
    case 0x8e: {
      decodeModrm(c, c.fetch8());
      const seg = c.modrmRegField;
      if (seg === SEG_CS || seg > 5) c.fault(EXC_UD);
      const v = c.readModrm16();
      loadSeg(c, seg, v);
      return;
    }
    case 0x8f: {
      // POP r/m: the address is computed with ESP already incremented.
      const v = c.opsize32 ? c.stackRead32(0) : c.stackRead16(0);
      c.adjustSp(c.opsize32 ? 4 : 2);
      decodeModrm(c, c.fetch8());
      if (c.modrmRegField !== 0) c.fault(EXC_UD);
      setRmV(c, v);
      return;
    }
    case 0x90:
      return;
    case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97: {
      const r = op & 7;
      const a = getRegV(c, REG_EAX);
      setRegV(c, REG_EAX, getRegV(c, r));
      setRegV(c, r, a);
      return;
    }
    case 0x98:
      if (c.opsize32) regs[REG_EAX] = (regs[REG_EAX] << 16) >> 16;
      else c.reg16[0] = (c.reg8[0] << 24) >> 24;
      return;
    case 0x99:
      if (c.opsize32) regs[REG_EDX] = regs[REG_EAX] >> 31;
      else c.reg16[REG_EDX * 2] = (c.reg16[0] << 16) >> 31;
      return;
    case 0x9a: {
      const off = fetchImmV(c);
      const sel = c.fetch16();
      sys.farCall(c, sel, off, c.opsize32);
      return;
    }
    case 0x9b:
      if ((c.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) c.fault(EXC_NM);
      c.fpu?.checkPending();
      return;
    case 0x9c: pushf(c); return;
    case 0x9d: popf(c); return;
    case 0x9e: {
      const f = c.getEflags();
      c.setArithFlags((f & 0x800) | (c.reg8[1] & 0xd5));
      return;
    }
    case 0x9f: c.reg8[1] = (c.getEflags() & 0xd5) | 2; return;
    case 0xa0: case 0xa1: case 0xa2: case 0xa3: {
      const off = c.addrsize32 ? c.fetch32() : c.fetch16();
      const lin = dataLinear(c, off, op === 0xa0 || op === 0xa2 ? 1 : c.opsize32 ? 4 : 2);
      if (op === 0xa0) c.reg8[0] = c.readLinear8(lin);
      else if (op === 0xa2) c.writeLinear8(lin, c.reg8[0]);
      else if (op === 0xa1) setRegV(c, REG_EAX, c.opsize32 ? c.readLinear32(lin) : c.readLinear16(lin));
      else if (c.opsize32) c.writeLinear32(lin, regs[REG_EAX]);
      else c.writeLinear16(lin, c.reg16[0]);
      return;
    }
    case 0xa8: arith(c, 4, c.reg8[0], c.fetch8(), 7); return;
    case 0xa9: arith(c, 4, getRegV(c, REG_EAX), fetchImmV(c), c.opsize32 ? 31 : 15); return;
    case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7:
      c.reg8[R8[op & 7]] = c.fetch8();
      return;
    case 0xb8: case 0xb9: case 0xba: case 0xbb: case 0xbc: case 0xbd: case 0xbe: case 0xbf:
      setRegV(c, op & 7, fetchImmV(c));
      return;
    case 0xc0: case 0xd0: case 0xd2: {
      decodeModrm(c, c.fetch8());
      probeRmw(c, 1);
      const a = getRm8(c);
      const n = op === 0xd0 ? 1 : op === 0xd2 ? c.reg8[4] & 31 : c.fetch8() & 31;
      setRm8(c, shift(c, c.modrmRegField, a, n, 7));
      return;
    }
    case 0xc1: case 0xd1: case 0xd3: {
      decodeModrm(c, c.fetch8());
      probeRmw(c, c.opsize32 ? 4 : 2);
      const a = getRmV(c);
      const n = op === 0xd1 ? 1 : op === 0xd3 ? c.reg8[4] & 31 : c.fetch8() & 31;
      setRmV(c, shift(c, c.modrmRegField, a, n, c.opsize32 ? 31 : 15));
      return;
    }
    case 0xc2: case 0xc3: {
      const imm = op === 0xc2 ? c.fetch16() : 0;
      const ip = popV(c);
      c.adjustSp(imm);
      jumpNear(c, ip);
      return;
    }
    case 0xc4: case 0xc5: loadFarPointer(c, op === 0xc4 ? SEG_ES : SEG_DS); return;
    case 0xc6: decodeModrm(c, c.fetch8()); if (c.modrmRegField !== 0) c.fault(EXC_UD); setRm8(c, c.fetch8()); return;
    case 0xc7: decodeModrm(c, c.fetch8()); if (c.modrmRegField !== 0) c.fault(EXC_UD); setRmV(c, fetchImmV(c)); return;
    case 0xc8: enter(c); return;
    case 0xc9: {
      if (c.stack32) regs[REG_ESP] = regs[REG_EBP];
      else c.reg16[REG_ESP * 2] = c.reg16[REG_EBP * 2];
      const v = popV(c);
      setRegV(c, REG_EBP, v);
      return;
    }
    case 0xca: case 0xcb: {
      const imm = op === 0xca ? c.fetch16() : 0;
      sys.farReturn(c, c.opsize32, imm);
      return;
    }
    case 0xcc: sys.deliverInterrupt(c, 3, sys.KIND_SOFTWARE_EXCEPTION, -1); c.trapSuppressed = true; return;
    case 0xcd: {
      const v = c.fetch8();
      sys.deliverInterrupt(c, v, INT_SOFTWARE, -1);
      c.trapSuppressed = true;
      return;
    }
    case 0xce:
      if (c.getOF()) {
        sys.deliverInterrupt(c, 4, sys.KIND_SOFTWARE_EXCEPTION, -1);
        c.trapSuppressed = true;
      }
      return;
    case 0xcf: sys.iret(c, c.opsize32); return;
    case 0xd4: aam(c, c.fetch8()); return;
    case 0xd5: aad(c, c.fetch8()); return;
    case 0xd6: c.reg8[0] = c.getCF() ? 0xff : 0; return; // SALC
    case 0xd7: {
      const off = c.addrsize32 ? (regs[REG_EBX] + c.reg8[0]) | 0 : (c.reg16[REG_EBX * 2] + c.reg8[0]) & 0xffff;
      c.reg8[0] = c.readLinear8(dataLinear(c, off, 1));
      return;
    }
    case 0xd8: case 0xd9: case 0xda: case 0xdb: case 0xdc: case 0xdd: case 0xde: case 0xdf:
      fpuEscape(c, op);
      return;
    case 0xe0: case 0xe1: case 0xe2: {
      const rel = (c.fetch8() << 24) >> 24;
      let count: number;
      if (c.addrsize32) count = regs[REG_ECX] = regs[REG_ECX] - 1;
      else count = c.reg16[REG_ECX * 2] = c.reg16[REG_ECX * 2] - 1;
      let take = count !== 0;
      if (op === 0xe0) take = take && c.getZF() === 0;
      else if (op === 0xe1) take = take && c.getZF() !== 0;
      if (take) jumpNear(c, c.eip + rel);
      return;
    }
    case 0xe3: {
      const rel = (c.fetch8() << 24) >> 24;
      const count = c.addrsize32 ? regs[REG_ECX] : c.reg16[REG_ECX * 2];
      if (count === 0) jumpNear(c, c.eip + rel);
      return;
    }
    case 0xe4: case 0xe5: case 0xec: case 0xed: {
      const port = op < 0xe8 ? c.fetch8() : c.reg16[REG_EDX * 2];
      const size = (op & 1) === 0 ? 1 : c.opsize32 ? 4 : 2;
      checkIo(c, port, size);
      const v = portIn(c, port, size);
      if (size === 1) c.reg8[0] = v;
      else setRegV(c, REG_EAX, v);
      return;
    }
    case 0xe6: case 0xe7: case 0xee: case 0xef: {
      const port = op < 0xe8 ? c.fetch8() : c.reg16[REG_EDX * 2];
      const size = (op & 1) === 0 ? 1 : c.opsize32 ? 4 : 2;
      checkIo(c, port, size);
      portOut(c, port, size, size === 1 ? c.reg8[0] : getRegV(c, REG_EAX));
      return;
    }
    case 0xe8: {
      const rel = fetchImmV(c);
      pushV(c, c.eip);
      jumpNear(c, c.eip + rel);
      return;
    }
    case 0xe9: {
      const rel = fetchImmV(c);
      jumpNear(c, c.eip + rel);
      return;
    }
    case 0xea: {
      const off = fetchImmV(c);
      const sel = c.fetch16();
      sys.farJump(c, sel, off, c.opsize32);
      return;
    }
    case 0xeb: {
      const rel = (c.fetch8() << 24) >> 24;
      jumpNear(c, c.eip + rel);
      return;
    }
    case 0xf1: sys.deliverInterrupt(c, 1, INT_ICEBP, -1); c.trapSuppressed = true; return;
    case 0xf4:
      if (c.cpl !== 0) c.fault(EXC_GP, 0);
      c.halted = true;
      c.eventPending = true;
      return;
    case 0xf5: c.setArithFlags(c.getEflags() ^ 1); return;
    case 0xf6: group3(c, 7); return;
    case 0xf7: group3(c, c.opsize32 ? 31 : 15); return;
    case 0xf8: c.setArithFlags(c.getEflags() & ~1); return;
    case 0xf9: c.setArithFlags(c.getEflags() | 1); return;
    case 0xfa:
      if ((c.protectedMode && c.cpl > iopl(c)) || (c.v86 && iopl(c) < 3)) {
        sys.virtualCli(c); // CR4.VME/PVI: clears VIF, else #GP(0)
        return;
      }
      c.flags &= ~FLAG_IF;
      return;
    case 0xfb:
      if ((c.protectedMode && c.cpl > iopl(c)) || (c.v86 && iopl(c) < 3)) {
        sys.virtualSti(c);
        return;
      }
      if ((c.flags & FLAG_IF) === 0) c.intShadow = true;
      c.flags |= FLAG_IF;
      c.eventPending = true;
      return;
    case 0xfc: c.flags &= ~FLAG_DF; return;
    case 0xfd: c.flags |= FLAG_DF; return;
    case 0xfe: {
      decodeModrm(c, c.fetch8());
      const reg = c.modrmRegField;
      if (reg > 1) c.fault(EXC_UD);
      probeRmw(c, 1);
      const a = getRm8(c);
      setRm8(c, reg === 0 ? inc(c, a, 7) : dec(c, a, 7));
      return;
    }
    case 0xff: group5(c); return;
    default:
      // 0x26 0x2e 0x36 0x3e 0x64-0x67 0xf0 0xf2 0xf3 are consumed as prefixes above.
      c.fault(EXC_UD);
  }
}

function popSeg(c: Cpu, seg: number): void {
  const v = c.opsize32 ? c.stackRead32(0) & 0xffff : c.stackRead16(0);
  loadSeg(c, seg, v);
  c.adjustSp(c.opsize32 ? 4 : 2);
}

export { popSeg, loadSeg };

function pusha(c: Cpu): void {
  const regs = c.regs;
  if (c.pagingOn) {
    const n = c.opsize32 ? 32 : 16;
    const sp = c.stack32 ? (regs[REG_ESP] - n) | 0 : (regs[REG_ESP] - n) & 0xffff;
    c.probeWrite((c.segBase[SEG_SS] + sp) | 0, n);
  }
  const sp = regs[REG_ESP];
  if (c.opsize32) {
    for (let r = 0; r < 8; r++) c.push32(r === REG_ESP ? sp : regs[r]);
  } else {
    for (let r = 0; r < 8; r++) c.push16(r === REG_ESP ? sp : c.reg16[r * 2]);
  }
}

function popa(c: Cpu): void {
  const size = c.opsize32 ? 4 : 2;
  const vals = popaBuf;
  for (let i = 0; i < 8; i++) vals[i] = size === 4 ? c.stackRead32(i * 4) : c.stackRead16(i * 2);
  for (let i = 0; i < 8; i++) {
    const r = 7 - i;
    if (r === REG_ESP) continue;
    setRegV(c, r, vals[i]);
  }
  c.adjustSp(size * 8);
}
const popaBuf = new Int32Array(8);

function bound(c: Cpu): void {
  decodeModrm(c, c.fetch8());
  if (c.modrmIsReg) c.fault(EXC_UD);
  c.eaCheck(c.opsize32 ? 8 : 4);
  if (c.opsize32) {
    const idx = c.regs[c.modrmRegField];
    const lo = c.readLinear32(c.eaLinear);
    const hi = c.readLinear32((c.eaLinear + 4) | 0);
    if (idx < lo || idx > hi) c.fault(EXC_BR);
  } else {
    const idx = (c.reg16[c.modrmRegField * 2] << 16) >> 16;
    const lo = (c.readLinear16(c.eaLinear) << 16) >> 16;
    const hi = (c.readLinear16((c.eaLinear + 2) | 0) << 16) >> 16;
    if (idx < lo || idx > hi) c.fault(EXC_BR);
  }
}

function arpl(c: Cpu): void {
  if (!c.protectedMode) c.fault(EXC_UD);
  decodeModrm(c, c.fetch8());
  probeRmw(c, 2);
  const dst = c.readModrm16();
  const v = sys.arpl(c, dst, c.reg16[c.modrmRegField * 2]);
  if (v !== dst) c.writeModrm16(v);
}

function pushf(c: Cpu): void {
  if (c.v86 && iopl(c) < 3) {
    sys.virtualPushf(c, c.opsize32);
    return;
  }
  const f = c.getEflags();
  if (c.opsize32) c.push32(f & ~(FLAG_VM | FLAG_RF));
  else c.push16(f);
}

function popf(c: Cpu): void {
  if (c.v86 && iopl(c) < 3) {
    sys.virtualPopf(c, c.opsize32);
    return;
  }
  const old = c.getEflags();
  let v = c.opsize32 ? c.stackRead32(0) : c.stackRead16(0) | (old & 0xffff0000);
  c.adjustSp(c.opsize32 ? 4 : 2);
  // Changeable: arithmetic, TF, DF, OF, NT, AC, ID; IF and IOPL depending on privilege.
  let mask = 0x0dd5 | FLAG_TF | FLAG_NT | FLAG_AC | FLAG_ID;
  if (!c.protectedMode && !c.v86) mask |= FLAG_IF | 0x3000;
  else {
    if (c.cpl === 0 && !c.v86) mask |= 0x3000;
    if (c.cpl <= iopl(c)) mask |= FLAG_IF;
  }
  if (!c.opsize32) mask &= 0xffff;
  v = (old & ~mask) | (v & mask);
  c.setEflags(v & ~FLAG_RF);
}

function loadFarPointer(c: Cpu, seg: number): void {
  decodeModrm(c, c.fetch8());
  if (c.modrmIsReg) c.fault(EXC_UD);
  c.eaCheck(c.opsize32 ? 6 : 4);
  const off = c.opsize32 ? c.readLinear32(c.eaLinear) : c.readLinear16(c.eaLinear);
  const sel = c.readLinear16((c.eaLinear + (c.opsize32 ? 4 : 2)) | 0);
  loadSeg(c, seg, sel);
  setRegV(c, c.modrmRegField, off);
}

export { loadFarPointer };

function enter(c: Cpu): void {
  const size = c.fetch16();
  const level = c.fetch8() & 31;
  const regs = c.regs;
  const opsz = c.opsize32 ? 4 : 2;
  if (c.pagingOn) {
    const n = opsz * (level + 1) + size;
    const sp = c.stack32 ? (regs[REG_ESP] - n) | 0 : (regs[REG_ESP] - n) & 0xffff;
    c.probeWrite((c.segBase[SEG_SS] + sp) | 0, n);
  }
  pushV(c, getRegV(c, REG_EBP));
  const frame = c.stack32 ? regs[REG_ESP] : c.reg16[REG_ESP * 2];
  if (level > 0) {
    let bp = c.stack32 ? regs[REG_EBP] : c.reg16[REG_EBP * 2];
    for (let i = 1; i < level; i++) {
      bp = c.stack32 ? (bp - opsz) | 0 : (bp - opsz) & 0xffff;
      const lin = (c.segBase[SEG_SS] + bp) | 0;
      pushV(c, opsz === 4 ? c.readLinear32(lin) : c.readLinear16(lin));
    }
    pushV(c, frame);
  }
  setRegV(c, REG_EBP, frame);
  c.adjustSp(-size);
}

function group3(c: Cpu, top: number): void {
  decodeModrm(c, c.fetch8());
  const reg = c.modrmRegField;
  const byte = top === 7;
  switch (reg) {
    case 0: case 1: {
      const a = byte ? getRm8(c) : getRmV(c);
      const imm = byte ? c.fetch8() : fetchImmV(c);
      arith(c, 4, a, imm, top);
      return;
    }
    case 2: {
      probeRmw(c, (top + 1) >> 3);
      if (byte) setRm8(c, ~getRm8(c));
      else setRmV(c, ~getRmV(c));
      return;
    }
    case 3: {
      probeRmw(c, (top + 1) >> 3);
      if (byte) setRm8(c, neg(c, getRm8(c), 7));
      else setRmV(c, neg(c, getRmV(c), top));
      return;
    }
    case 4: case 5:
      mul1(c, reg === 5, byte ? getRm8(c) : getRmV(c), top);
      return;
    default:
      div1(c, reg === 7, byte ? getRm8(c) : getRmV(c), top);
  }
}

export function group5(c: Cpu): void {
  decodeModrm(c, c.fetch8());
  const reg = c.modrmRegField;
  const top = c.opsize32 ? 31 : 15;
  switch (reg) {
    case 0: case 1: {
      probeRmw(c, (top + 1) >> 3);
      const a = getRmV(c);
      setRmV(c, reg === 0 ? inc(c, a, top) : dec(c, a, top));
      return;
    }
    case 2: {
      const target = getRmV(c);
      pushV(c, c.eip);
      jumpNear(c, target);
      return;
    }
    case 4: jumpNear(c, getRmV(c)); return;
    case 3: case 5: {
      if (c.modrmIsReg) c.fault(EXC_UD);
      c.eaCheck(c.opsize32 ? 6 : 4);
      const off = c.opsize32 ? c.readLinear32(c.eaLinear) : c.readLinear16(c.eaLinear);
      const sel = c.readLinear16((c.eaLinear + (c.opsize32 ? 4 : 2)) | 0);
      if (reg === 3) sys.farCall(c, sel, off, c.opsize32);
      else sys.farJump(c, sel, off, c.opsize32);
      return;
    }
    case 6: pushV(c, getRmV(c)); return;
    default: c.fault(EXC_UD);
  }
}

function fpuEscape(c: Cpu, op: number): void {
  const modrm = c.fetch8();
  decodeModrm(c, modrm);
  if (c.cr0 & (CR0_EM | CR0_TS)) c.fault(EXC_NM);
  const fpu = c.fpu;
  if (fpu === null) return;
  fpuPtrs.ip = c.startEip;
  fpuPtrs.cs = c.segSel[SEG_CS];
  fpuPtrs.dp = c.modrmIsReg ? 0 : c.eaOffset;
  fpuPtrs.ds = c.modrmIsReg ? 0 : c.segSel[c.eaSeg];
  fpuPtrs.fop = ((op & 7) << 8) | modrm;
  fpu.execute(op, modrm, c.eaLinear, c.opsize32, !c.protectedMode, fpuPtrs);
}

export { REG_ESI, pushV, popV, fetchImmV };
