// Integer arithmetic with x86 flag semantics. ADD/SUB/logic/INC/DEC leave their flags lazy
// (see Cpu.getCF & co); shifts, rotates, MUL, DIV and BCD compute them eagerly. Where the
// architecture leaves a flag undefined we produce what P6-class/AMD hardware produces (the
// hwalu vectors): AF=1 after shifts, DIV leaves SF=ZF=PF=0 AF=1, MUL keeps SF ZF AF PF.

import type { Cpu } from './cpu.js';
import { LZ_ADD, LZ_DEC, LZ_INC, LZ_LOGIC, LZ_NONE, LZ_SUB, PARITY, REG_EAX, REG_EDX } from './cpu.js';
import { EXC_DE } from './system/constants.js';

/** Mask for an operand whose top bit index is `top` (7, 15, 31). */
export function maskOf(top: number): number {
  return top === 31 ? -1 : (2 << top) - 1;
}

function lazy(c: Cpu, op: number, a: number, b: number, r: number, top: number): void {
  c.lzOp = op;
  c.lzA = a;
  c.lzB = b;
  c.lzRes = r;
  c.lzTop = top;
}

/** The eight group-1 operations: 0 ADD 1 OR 2 ADC 3 SBB 4 AND 5 SUB 6 XOR 7 CMP. */
export function arith(c: Cpu, op: number, a: number, b: number, top: number): number {
  const m = maskOf(top);
  let r: number;
  switch (op) {
    case 0: r = (a + b) & m; lazy(c, LZ_ADD, a, b, r, top); return r;
    case 1: r = (a | b) & m; lazy(c, LZ_LOGIC, a, b, r, top); return r;
    case 2: r = (a + b + c.getCF()) & m; lazy(c, LZ_ADD, a, b, r, top); return r;
    case 3: r = (a - b - c.getCF()) & m; lazy(c, LZ_SUB, a, b, r, top); return r;
    case 4: r = (a & b) & m; lazy(c, LZ_LOGIC, a, b, r, top); return r;
    case 6: r = (a ^ b) & m; lazy(c, LZ_LOGIC, a, b, r, top); return r;
    default: r = (a - b) & m; lazy(c, LZ_SUB, a, b, r, top); return r;
  }
}

export function inc(c: Cpu, a: number, top: number): number {
  const cf = c.getCF();
  c.flags = (c.flags & ~1) | cf;
  const r = (a + 1) & maskOf(top);
  lazy(c, LZ_INC, a, 1, r, top);
  return r;
}

export function dec(c: Cpu, a: number, top: number): number {
  const cf = c.getCF();
  c.flags = (c.flags & ~1) | cf;
  const r = (a - 1) & maskOf(top);
  lazy(c, LZ_DEC, a, 1, r, top);
  return r;
}

export function neg(c: Cpu, a: number, top: number): number {
  const r = (0 - a) & maskOf(top);
  lazy(c, LZ_SUB, 0, a, r, top);
  return r;
}

/** SF, ZF, PF of a result. */
function szp(r: number, top: number): number {
  return PARITY[r & 0xff] | (r === 0 ? 0x40 : 0) | (((r >>> top) & 1) << 7);
}

/** Group 2: 0 ROL 1 ROR 2 RCL 3 RCR 4 SHL 5 SHR 6 SAL 7 SAR. `count` is already & 0x1f. */
export function shift(c: Cpu, op: number, v: number, count: number, top: number): number {
  if (count === 0) return v;
  const w = top + 1;
  const m = maskOf(top);
  // Rotates keep SF ZF AF PF (so the lazy flags are made real first); shifts set them all.
  if (op < 4) {
    if (c.lzOp !== LZ_NONE) c.materializeFlags();
  } else {
    c.lzOp = LZ_NONE;
  }
  const oldFlags = c.flags;
  const f0 = oldFlags & ~0x8d5;
  let r: number, cf: number, of: number;
  switch (op) {
    case 0: { // ROL
      const n = count % w;
      r = n === 0 ? v : ((v << n) | ((v & m) >>> (w - n))) & m;
      cf = r & 1;
      of = ((r >>> top) & 1) ^ cf;
      c.flags = (oldFlags & ~0x801) | cf | (of << 11);
      return r;
    }
    case 1: { // ROR
      const n = count % w;
      r = n === 0 ? v : (((v & m) >>> n) | (v << (w - n))) & m;
      cf = (r >>> top) & 1;
      of = cf ^ ((r >>> (top - 1)) & 1);
      c.flags = (oldFlags & ~0x801) | cf | (of << 11);
      return r;
    }
    case 2: { // RCL
      const n = count % (w + 1);
      const cin = oldFlags & 1;
      if (n === 0) {
        r = v;
        cf = cin;
      } else {
        const hi = n === 1 ? 0 : (v & m) >>> (w + 1 - n);
        r = ((v << n) | (cin << (n - 1)) | hi) & m;
        cf = ((v & m) >>> (w - n)) & 1;
      }
      of = ((r >>> top) & 1) ^ cf;
      c.flags = (oldFlags & ~0x801) | cf | (of << 11);
      return r;
    }
    case 3: { // RCR
      const n = count % (w + 1);
      const cin = oldFlags & 1;
      if (n === 0) {
        r = v;
        cf = cin;
      } else {
        const lo = n === 1 ? 0 : v << (w + 1 - n);
        r = (((v & m) >>> n) | (cin << (w - n)) | lo) & m;
        cf = ((v & m) >>> (n - 1)) & 1;
      }
      of = ((r >>> top) & 1) ^ ((r >>> (top - 1)) & 1);
      c.flags = (oldFlags & ~0x801) | cf | (of << 11);
      return r;
    }
    case 4: case 6: { // SHL
      r = count < w ? (v << count) & m : 0;
      cf = count <= w ? ((v & m) >>> (w - count)) & 1 : 0;
      of = ((r >>> top) & 1) ^ cf;
      break;
    }
    case 5: { // SHR
      r = count < w ? (v & m) >>> count : 0;
      cf = count <= w ? ((v & m) >>> (count - 1)) & 1 : 0;
      of = count === 1 ? (v >>> top) & 1 : 0;
      if (top === 31) r |= 0;
      break;
    }
    default: { // SAR
      const sv = (v << (31 - top)) >> (31 - top);
      r = (sv >> (count > 31 ? 31 : count)) & m;
      cf = (sv >> (count - 1)) & 1;
      of = 0;
      break;
    }
  }
  c.flags = f0 | cf | szp(r, top) | 0x10 | (of << 11);
  return r;
}

/** SHLD (left=true) / SHRD: dst a, source bits b, count already & 0x1f. */
export function shiftDouble(c: Cpu, left: boolean, a: number, b: number, count: number, top: number): number {
  if (count === 0) return a;
  const w = top + 1;
  const m = maskOf(top);
  const f0 = c.getEflags() & ~0x8d5;
  let r: number, cf: number, of: number;
  a &= m;
  b &= m;
  if (w === 16 && count > 16) {
    // Undefined result; hardware shifts the 48-bit pattern b:a:b (we mirror that).
    const n = count - 16;
    if (left) {
      r = ((b << n) | (a >>> (16 - n))) & m;
      cf = (b >>> (16 - n)) & 1;
    } else {
      r = ((b >>> n) | (a << (16 - n))) & m;
      cf = (b >>> (n - 1)) & 1;
    }
    of = ((r >>> top) & 1) ^ cf;
  } else if (left) {
    r = count === w ? b : ((a << count) | (b >>> (w - count))) & m;
    cf = (a >>> (w - count)) & 1;
    const bit = count === w ? 0 : (a >>> (w - count - 1)) & 1;
    of = cf ^ bit;
  } else {
    r = count === w ? b : ((a >>> count) | (b << (w - count))) & m;
    cf = (a >>> (count - 1)) & 1;
    of = ((r >>> top) & 1) ^ ((r >>> (top - 1)) & 1);
  }
  c.flags = f0 | cf | szp(r, top) | 0x10 | (of << 11);
  return r;
}

// ---- multiplication

let mulHi = 0;

/** Unsigned 32x32 → 64; returns low half, high half in mulHi. */
function mulU32(a: number, b: number): number {
  a >>>= 0;
  b >>>= 0;
  const aL = a & 0xffff, aH = a >>> 16, bL = b & 0xffff, bH = b >>> 16;
  const p0 = aL * bL, p1 = aH * bL, p2 = aL * bH, p3 = aH * bH;
  const mid = (p0 >>> 16) + (p1 & 0xffff) + (p2 & 0xffff);
  mulHi = (p3 + Math.floor(p1 / 65536) + Math.floor(p2 / 65536) + (mid >>> 16)) | 0;
  return Math.imul(a, b);
}

function mulS32(a: number, b: number): number {
  const lo = mulU32(a, b);
  let hi = mulHi;
  if (a < 0) hi = (hi - b) | 0;
  if (b < 0) hi = (hi - a) | 0;
  mulHi = hi;
  return lo;
}

/** MUL/IMUL with one operand (F6/F7 /4 /5). */
export function mul1(c: Cpu, signed: boolean, src: number, top: number): void {
  const regs = c.regs;
  let overflow: boolean;
  if (top === 7) {
    const al = c.reg8[0];
    let r: number;
    if (signed) {
      r = ((al << 24) >> 24) * ((src << 24) >> 24);
      overflow = r !== ((r << 24) >> 24);
    } else {
      r = al * (src & 0xff);
      overflow = r > 0xff;
    }
    c.reg16[0] = r;
  } else if (top === 15) {
    const ax = c.reg16[0];
    let r: number;
    if (signed) {
      r = ((ax << 16) >> 16) * ((src << 16) >> 16);
      overflow = r !== ((r << 16) >> 16);
    } else {
      r = ax * (src & 0xffff);
      overflow = r > 0xffff;
    }
    c.reg16[0] = r;
    c.reg16[REG_EDX * 2] = r >> 16;
  } else {
    const lo = signed ? mulS32(regs[REG_EAX], src) : mulU32(regs[REG_EAX], src);
    const hi = mulHi;
    overflow = signed ? hi !== lo >> 31 : hi !== 0;
    regs[REG_EAX] = lo;
    regs[REG_EDX] = hi;
  }
  const f = c.getEflags() & ~0x801;
  c.flags = f | (overflow ? 0x801 : 0);
}

/** IMUL with a truncated result (0F AF, 69, 6B). */
export function imulTrunc(c: Cpu, a: number, b: number, top: number): number {
  let r: number, overflow: boolean;
  if (top === 15) {
    const p = ((a << 16) >> 16) * ((b << 16) >> 16);
    r = p & 0xffff;
    overflow = p !== ((p << 16) >> 16);
  } else {
    r = mulS32(a, b);
    overflow = mulHi !== r >> 31;
  }
  const f = c.getEflags() & ~0x801;
  c.flags = f | (overflow ? 0x801 : 0);
  return r;
}

// ---- division

function divFlags(c: Cpu): void {
  const f = c.getEflags();
  c.flags = (f & ~0x8d5) | (f & 0x801) | 0x10;
}

/** DIV/IDIV (F6/F7 /6 /7); #DE on zero divisor or quotient overflow. */
export function div1(c: Cpu, signed: boolean, src: number, top: number): void {
  const regs = c.regs;
  if (top === 7) {
    const ax = c.reg16[0];
    if (signed) {
      const d = (src << 24) >> 24;
      if (d === 0) c.fault(EXC_DE);
      const n = (ax << 16) >> 16;
      const q = Math.trunc(n / d);
      if (q > 127 || q < -128) c.fault(EXC_DE);
      c.reg8[0] = q;
      c.reg8[1] = n % d;
    } else {
      const d = src & 0xff;
      if (d === 0) c.fault(EXC_DE);
      const q = Math.floor(ax / d);
      if (q > 0xff) c.fault(EXC_DE);
      c.reg8[0] = q;
      c.reg8[1] = ax % d;
    }
  } else if (top === 15) {
    const n32 = (c.reg16[REG_EDX * 2] << 16) | c.reg16[0];
    if (signed) {
      const d = (src << 16) >> 16;
      if (d === 0) c.fault(EXC_DE);
      const q = Math.trunc(n32 / d);
      if (q > 32767 || q < -32768) c.fault(EXC_DE);
      c.reg16[0] = q;
      c.reg16[REG_EDX * 2] = n32 % d;
    } else {
      const d = src & 0xffff;
      if (d === 0) c.fault(EXC_DE);
      const n = n32 >>> 0;
      const q = Math.floor(n / d);
      if (q > 0xffff) c.fault(EXC_DE);
      c.reg16[0] = q;
      c.reg16[REG_EDX * 2] = n % d;
    }
  } else {
    const lo = regs[REG_EAX] >>> 0;
    const hi = regs[REG_EDX];
    if (signed) {
      const d = src | 0;
      if (d === 0) c.fault(EXC_DE);
      const n = (BigInt(hi) << 32n) | BigInt(lo);
      const q = n / BigInt(d);
      if (q > 0x7fffffffn || q < -0x80000000n) c.fault(EXC_DE);
      regs[REG_EAX] = Number(q);
      regs[REG_EDX] = Number(n % BigInt(d));
    } else {
      const d = src >>> 0;
      if (d === 0) c.fault(EXC_DE);
      const h = hi >>> 0;
      if (h >= d) c.fault(EXC_DE);
      if (h < 0x200000) {
        const n = h * 4294967296 + lo;
        const q = Math.floor(n / d);
        regs[REG_EAX] = q;
        regs[REG_EDX] = n - q * d;
      } else {
        const n = (BigInt(h) << 32n) | BigInt(lo);
        const bd = BigInt(d);
        regs[REG_EAX] = Number(n / bd);
        regs[REG_EDX] = Number(n % bd);
      }
    }
  }
  divFlags(c);
}

// ---- bit operations

/** BSF/BSR: returns the index or -1 for a zero source (destination unchanged, ZF=1). */
export function bitScan(c: Cpu, forward: boolean, v: number, top: number): number {
  v &= maskOf(top);
  const f = c.getEflags() & ~0x8d5;
  if (v === 0) {
    c.flags = f | 0x40 | 4;
    return -1;
  }
  const idx = forward ? 31 - Math.clz32(v & -v) : 31 - Math.clz32(v);
  c.flags = f | PARITY[idx];
  return idx;
}

// ---- BCD

export function daa(c: Cpu): void {
  const al = c.reg8[0];
  const cf = c.getCF(), af = c.getAF();
  let r = al, ncf = 0, naf = 0;
  if ((al & 0xf) > 9 || af) {
    r = (r + 6) & 0xff;
    naf = 0x10;
    ncf = cf | (al + 6 > 0xff ? 1 : 0);
  }
  if (al > 0x99 || cf) {
    r = (r + 0x60) & 0xff;
    ncf = 1;
  }
  c.reg8[0] = r;
  const of = ((al ^ r) & r & 0x80) ? 0x800 : 0;
  c.setArithFlags(ncf | naf | szp(r, 7) | of);
}

export function das(c: Cpu): void {
  const al = c.reg8[0];
  const cf = c.getCF(), af = c.getAF();
  let r = al, ncf = 0, naf = 0;
  if ((al & 0xf) > 9 || af) {
    r = (r - 6) & 0xff;
    naf = 0x10;
    ncf = cf | (al < 6 ? 1 : 0);
  }
  if (al > 0x99 || cf) {
    r = (r - 0x60) & 0xff;
    ncf = 1;
  }
  c.reg8[0] = r;
  const of = ((al ^ r) & al & 0x80) ? 0x800 : 0;
  c.setArithFlags(ncf | naf | szp(r, 7) | of);
}

export function aaa(c: Cpu): void {
  const al = c.reg8[0];
  const f = c.getEflags();
  if ((al & 0xf) > 9 || (f & 0x10)) {
    c.reg16[0] = c.reg16[0] + 0x106;
    c.reg8[0] &= 0xf;
    c.setArithFlags((f & 0x8c4) | 0x11);
  } else {
    c.reg8[0] &= 0xf;
    c.setArithFlags(f & 0x8c4);
  }
}

export function aas(c: Cpu): void {
  const al = c.reg8[0];
  const f = c.getEflags();
  if ((al & 0xf) > 9 || (f & 0x10)) {
    c.reg16[0] = c.reg16[0] - 6;
    c.reg8[1] = c.reg8[1] - 1;
    c.reg8[0] &= 0xf;
    c.setArithFlags((f & 0x8c4) | 0x11);
  } else {
    c.reg8[0] &= 0xf;
    c.setArithFlags(f & 0x8c4);
  }
}

export function aam(c: Cpu, base: number): void {
  if (base === 0) c.fault(EXC_DE);
  const al = c.reg8[0];
  c.reg8[1] = Math.floor(al / base);
  const r = al % base;
  c.reg8[0] = r;
  c.setArithFlags(szp(r, 7));
}

export function aad(c: Cpu, base: number): void {
  const al = c.reg8[0];
  const b = (c.reg8[1] * base) & 0xff;
  const r = arith(c, 0, al, b, 7);
  c.reg8[0] = r;
  c.reg8[1] = 0;
}
