// The two-byte (0F xx) opcode map of the P6 integer unit (the MMX opcodes are in ./mmx.ts).

import type { Cpu } from './cpu.js';
import { REG_EAX, REG_EBX, REG_ECX, REG_EDX } from './cpu.js';
import { arith, bitScan, imulTrunc, maskOf, shiftDouble } from './alu.js';
import { decodeModrm, getRegV, getRm8, getRmV, jumpNear, loadFarPointer, loadSeg, popSeg, probeRmw, R8, setRegV, setRm8, setRmV } from './exec.js';
import { executeMmx, MMX_OPCODES } from './mmx.js';
import * as sys from './sysops.js';
import { EXC_GP, EXC_UD, SEG_FS, SEG_GS, SEG_SS } from './system/constants.js';

function requireCpl0(c: Cpu): void {
  if (c.cpl !== 0) c.fault(EXC_GP, 0);
}

export function execute0F(c: Cpu, op: number): void {
  const regs = c.regs;
  if (op >= 0x80 && op <= 0x8f) {
    const rel = c.opsize32 ? c.fetch32() : (c.fetch16() << 16) >> 16;
    if (c.cond(op & 15)) jumpNear(c, c.eip + rel);
    return;
  }
  if (op >= 0x40 && op <= 0x4f) {
    decodeModrm(c, c.fetch8());
    const v = getRmV(c);
    if (c.cond(op & 15)) setRegV(c, c.modrmRegField, v);
    else if (c.opsize32) regs[c.modrmRegField] = regs[c.modrmRegField]; // 32-bit CMOV always writes
    return;
  }
  if (op >= 0x90 && op <= 0x9f) {
    decodeModrm(c, c.fetch8());
    setRm8(c, c.cond(op & 15) ? 1 : 0);
    return;
  }
  if (op >= 0xc8 && op <= 0xcf) {
    const r = op & 7;
    const v = regs[r];
    regs[r] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
    return;
  }
  switch (op) {
    case 0x00: case 0x01:
      decodeModrm(c, c.fetch8());
      sys.executeSystem0F(c, op);
      return;
    case 0x02: case 0x03: {
      if (!c.protectedMode) c.fault(EXC_UD);
      decodeModrm(c, c.fetch8());
      const sel = c.readModrm16();
      const v = op === 0x02 ? sys.lar(c, sel) : sys.lsl(c, sel);
      const f = c.getEflags();
      if (v === -1) {
        c.setArithFlags(f & ~0x40);
      } else {
        setRegV(c, c.modrmRegField, v);
        c.setArithFlags(f | 0x40);
      }
      return;
    }
    case 0x06: requireCpl0(c); sys.clts(c); return;
    case 0x08: case 0x09: requireCpl0(c); return; // INVD, WBINVD: no caches to flush
    case 0x0b: c.fault(EXC_UD); return; // UD2
    case 0x18: case 0x19: case 0x1a: case 0x1b: case 0x1c: case 0x1d: case 0x1e: case 0x1f:
      decodeModrm(c, c.fetch8()); // hint NOPs (NOPL)
      return;
    case 0x20: case 0x21: case 0x22: case 0x23: {
      const modrm = c.fetch8();
      const r = modrm & 7, n = (modrm >> 3) & 7;
      if (c.cpl !== 0) c.fault(EXC_GP, 0);
      if (op === 0x20) regs[r] = sys.movFromCr(c, n);
      else if (op === 0x21) regs[r] = sys.movFromDr(c, n);
      else if (op === 0x22) sys.movToCr(c, n, regs[r]);
      else sys.movToDr(c, n, regs[r]);
      return;
    }
    case 0x30: requireCpl0(c); sys.wrmsr(c); return;
    case 0x31: sys.rdtsc(c); return;
    case 0x32: requireCpl0(c); sys.rdmsr(c); return;
    case 0x33: regs[REG_EAX] = 0; regs[REG_EDX] = 0; return; // RDPMC: counters read as zero
    case 0x34: sys.sysenter(c); return;
    case 0x35: sys.sysexit(c); return;
    case 0xa0: pushSeg(c, SEG_FS); return;
    case 0xa8: pushSeg(c, SEG_GS); return;
    case 0xa1: popSeg(c, SEG_FS); return;
    case 0xa9: popSeg(c, SEG_GS); return;
    case 0xa2: sys.cpuid(c); return;
    case 0xa3: case 0xab: case 0xb3: case 0xbb: bitOp(c, op, false); return;
    case 0xba: bitOp(c, op, true); return;
    case 0xa4: case 0xa5: case 0xac: case 0xad: {
      decodeModrm(c, c.fetch8());
      const top = c.opsize32 ? 31 : 15;
      probeRmw(c, (top + 1) >> 3);
      const a = getRmV(c);
      const n = (op & 1) === 0 ? c.fetch8() & 31 : c.reg8[4] & 31;
      setRmV(c, shiftDouble(c, op < 0xa8, a, getRegV(c, c.modrmRegField), n, top));
      return;
    }
    case 0xaf: {
      decodeModrm(c, c.fetch8());
      const top = c.opsize32 ? 31 : 15;
      const r = c.modrmRegField;
      setRegV(c, r, imulTrunc(c, getRegV(c, r), getRmV(c), top));
      return;
    }
    case 0xb0: {
      decodeModrm(c, c.fetch8());
      probeRmw(c, 1);
      const d = getRm8(c);
      const al = c.reg8[0];
      arith(c, 7, al, d, 7);
      if (al === d) setRm8(c, c.reg8[R8[c.modrmRegField]]);
      else {
        setRm8(c, d); // the destination is always written (locked read-modify-write)
        c.reg8[0] = d;
      }
      return;
    }
    case 0xb1: {
      decodeModrm(c, c.fetch8());
      const top = c.opsize32 ? 31 : 15;
      probeRmw(c, (top + 1) >> 3);
      const d = getRmV(c);
      const a = getRegV(c, REG_EAX);
      arith(c, 7, a, d, top);
      if (a === d) setRmV(c, getRegV(c, c.modrmRegField));
      else {
        if (!c.modrmIsReg) setRmV(c, d);
        setRegV(c, REG_EAX, d);
      }
      return;
    }
    case 0xb2: loadFarPointer(c, SEG_SS); return;
    case 0xb4: loadFarPointer(c, SEG_FS); return;
    case 0xb5: loadFarPointer(c, SEG_GS); return;
    case 0xb6: decodeModrm(c, c.fetch8()); setRegV(c, c.modrmRegField, getRm8(c)); return;
    case 0xb7: {
      decodeModrm(c, c.fetch8());
      const v = c.readModrm16();
      setRegV(c, c.modrmRegField, v);
      return;
    }
    case 0xbe: decodeModrm(c, c.fetch8()); setRegV(c, c.modrmRegField, (getRm8(c) << 24) >> 24); return;
    case 0xbf: {
      decodeModrm(c, c.fetch8());
      const v = c.readModrm16();
      setRegV(c, c.modrmRegField, (v << 16) >> 16);
      return;
    }
    case 0xbc: case 0xbd: {
      decodeModrm(c, c.fetch8());
      const top = c.opsize32 ? 31 : 15;
      const idx = bitScan(c, op === 0xbc, getRmV(c), top);
      if (idx >= 0) setRegV(c, c.modrmRegField, idx);
      return;
    }
    case 0xc0: {
      decodeModrm(c, c.fetch8());
      probeRmw(c, 1);
      const ri = R8[c.modrmRegField];
      const d = getRm8(c);
      const r = arith(c, 0, d, c.reg8[ri], 7);
      setRm8(c, r);
      c.reg8[ri] = d;
      return;
    }
    case 0xc1: {
      decodeModrm(c, c.fetch8());
      const top = c.opsize32 ? 31 : 15;
      probeRmw(c, (top + 1) >> 3);
      const reg = c.modrmRegField;
      const d = getRmV(c);
      const r = arith(c, 0, d, getRegV(c, reg), top);
      setRegV(c, reg, d);
      setRmV(c, r);
      return;
    }
    case 0xc7: {
      decodeModrm(c, c.fetch8());
      if (c.modrmRegField !== 1 || c.modrmIsReg) c.fault(EXC_UD);
      c.eaCheck(8);
      if (c.pagingOn) c.probeWrite(c.eaLinear, 8);
      const lo = c.readLinear32(c.eaLinear);
      const hi = c.readLinear32((c.eaLinear + 4) | 0);
      const f = c.getEflags();
      if (lo === regs[REG_EAX] && hi === regs[REG_EDX]) {
        c.writeLinear32(c.eaLinear, regs[REG_EBX]);
        c.writeLinear32((c.eaLinear + 4) | 0, regs[REG_ECX]);
        c.setArithFlags(f | 0x40);
      } else {
        c.writeLinear32(c.eaLinear, lo);
        c.writeLinear32((c.eaLinear + 4) | 0, hi);
        regs[REG_EAX] = lo;
        regs[REG_EDX] = hi;
        c.setArithFlags(f & ~0x40);
      }
      return;
    }
    default:
      if (MMX_OPCODES[op] !== 0) executeMmx(c, op); // #UD itself when the model has no MMX
      else c.fault(EXC_UD);
  }
}

function pushSeg(c: Cpu, seg: number): void {
  if (c.opsize32) c.push32(c.segSel[seg]);
  else c.push16(c.segSel[seg]);
}

/** BT/BTS/BTR/BTC with a register (A3 AB B3 BB) or immediate (BA /4-7) bit offset. */
function bitOp(c: Cpu, op: number, imm: boolean): void {
  decodeModrm(c, c.fetch8());
  const top = c.opsize32 ? 31 : 15;
  let kind: number, offset: number;
  if (imm) {
    kind = c.modrmRegField;
    if (kind < 4) c.fault(EXC_UD);
    kind -= 4;
    offset = c.fetch8() & top;
  } else {
    kind = (op >> 3) & 3; // A3:0 BT, AB:1 BTS, B3:2 BTR, BB:3 BTC
    offset = getRegV(c, c.modrmRegField);
    if (!c.opsize32) offset = (offset << 16) >> 16;
  }
  let bit: number;
  let v: number;
  if (c.modrmIsReg) {
    bit = offset & top;
    v = getRmV(c);
  } else {
    // A register bit offset can address memory outside the operand (signed).
    const bytes = (top + 1) >> 3;
    if (!imm) {
      const disp = (offset >> (top === 31 ? 5 : 4)) * bytes;
      c.eaLinear = (c.eaLinear + disp) | 0;
      c.eaOffset = (c.eaOffset + disp) | 0;
    }
    bit = offset & top;
    if (kind !== 0) probeRmw(c, bytes);
    v = getRmV(c);
  }
  const cf = (v >>> bit) & 1;
  const f = c.getEflags();
  if (kind !== 0) {
    let r: number;
    if (kind === 1) r = v | (1 << bit);
    else if (kind === 2) r = v & ~(1 << bit);
    else r = v ^ (1 << bit);
    setRmV(c, r & maskOf(top));
  }
  c.setArithFlags((f & ~1) | cf);
}
