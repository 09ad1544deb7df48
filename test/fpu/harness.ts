// Test harness for the x87 unit: an in-memory FpuMemory, recording hooks, instruction
// helpers, and an independent exact reference (BigInt rationals) for 80-bit results.

import { Fpu, type FpuHooks } from '../../core/cpu/fpu.js';
import type { FpuInstructionPointers, FpuMemory } from '../../core/cpu/interfaces.js';

export class MathFault extends Error {
  constructor() { super('#MF'); }
}
export class UndefinedOpcode extends Error {
  constructor() { super('#UD'); }
}
export class PageFault extends Error {
  constructor(readonly linear: number) { super(`#PF at ${linear.toString(16)}`); }
}

export class TestMemory implements FpuMemory {
  readonly bytes = new Uint8Array(0x10000);
  /** Accesses at or above this address fault (to test that faults leave the FPU alone). */
  faultFrom = 0x10000;
  private check(a: number, n: number): void {
    if (a + n > this.faultFrom) throw new PageFault(a);
  }
  read8(a: number): number { this.check(a, 1); return this.bytes[a]!; }
  read16(a: number): number { this.check(a, 2); return this.bytes[a]! | (this.bytes[a + 1]! << 8); }
  read32(a: number): number { this.check(a, 4); return (this.read16(a) | (this.read16(a + 2) << 16)) >>> 0; }
  write8(a: number, v: number): void { this.check(a, 1); this.bytes[a] = v; }
  write16(a: number, v: number): void { this.check(a, 2); this.bytes[a] = v; this.bytes[a + 1] = v >>> 8; }
  write32(a: number, v: number): void { this.check(a, 4); this.write16(a, v & 0xffff); this.write16(a + 2, v >>> 16); }
}

export interface Rig {
  fpu: Fpu;
  mem: TestMemory;
  ne: { value: boolean };
  eflags: { value: number };
  ferrLog: boolean[];
  ax: { value: number };
  fcomi: { value: number };
}

export function makeRig(): Rig {
  const mem = new TestMemory();
  const ne = { value: true };
  const eflags = { value: 0x2 };
  const ferrLog: boolean[] = [];
  const ax = { value: -1 };
  const fcomi = { value: -1 };
  const hooks: FpuHooks = {
    raiseMathFault: () => { throw new MathFault(); },
    ferr: (a) => { ferrLog.push(a); },
    cr0NE: () => ne.value,
    getEflags: () => eflags.value,
    setFcomiFlags: (zpc) => { fcomi.value = zpc; eflags.value = (eflags.value & ~0x8d5) | (zpc & 0x45); },
    writeAX: (v) => { ax.value = v; },
    undefinedOpcode: () => { throw new UndefinedOpcode(); },
  };
  const fpu = new Fpu(mem, hooks);
  fpu.init();
  return { fpu, mem, ne, eflags, ferrLog, ax, fcomi };
}

export const PTRS: FpuInstructionPointers = { ip: 0x1234, cs: 0x08, dp: 0x5678, ds: 0x10, fop: 0 };

/** Scratch memory address used by the helpers. */
export const SCRATCH = 0x100;

export function exec(r: Rig, opcode: number, modrm: number, linear = SCRATCH, opsize32 = true, realMode = false, ptrs = PTRS): void {
  r.fpu.execute(opcode, modrm, linear, opsize32, realMode, ptrs);
}

// ModRM bytes for memory forms with reg = n (mod 00, rm 000: the harness passes the linear address).
export const M = (reg: number): number => reg << 3;

export interface X80 { se: number; hi: number; lo: number }

export function put80(r: Rig, addr: number, v: X80): void {
  r.mem.write32(addr, v.lo);
  r.mem.write32(addr + 4, v.hi);
  r.mem.write16(addr + 8, v.se);
}

export function get80(r: Rig, addr: number): X80 {
  return { lo: r.mem.read32(addr), hi: r.mem.read32(addr + 4), se: r.mem.read16(addr + 8) };
}

/** FLD m80. */
export function fld80(r: Rig, v: X80): void {
  put80(r, SCRATCH, v);
  exec(r, 0xdb, M(5));
}

/** FSTP m80, returning the value. */
export function fstp80(r: Rig): X80 {
  exec(r, 0xdb, M(7), SCRATCH + 0x40);
  return get80(r, SCRATCH + 0x40);
}

/** ST(i) without popping. */
export function st(r: Rig, i: number): X80 {
  const v = r.fpu.readST(i);
  return { se: v.signExp, hi: v.hi, lo: v.lo };
}

export function fldcw(r: Rig, cw: number): void {
  r.mem.write16(SCRATCH + 0x80, cw);
  exec(r, 0xd9, M(5), SCRATCH + 0x80);
}

/** Control word with all exceptions masked, precision pc (0 single, 2 double, 3 extended), rounding rc. */
export function cwFor(pc: number, rc: number, masks = 0x3f): number {
  return (rc << 10) | (pc << 8) | 0x40 | masks;
}

export function hex80(v: X80): string {
  return `${v.se.toString(16).padStart(4, '0')}:${(v.hi >>> 0).toString(16).padStart(8, '0')}${(v.lo >>> 0).toString(16).padStart(8, '0')}`;
}

// ---------------------------------------------------------------- exact reference (BigInt)

export interface Rational { neg: boolean; num: bigint; den: bigint } // value = (neg ? -1 : 1) * num / den, den > 0

export function toBig(v: X80): bigint {
  return (BigInt(v.hi >>> 0) << 32n) | BigInt(v.lo >>> 0);
}

export function fromBig(se: number, sig: bigint): X80 {
  return { se, hi: Number((sig >> 32n) & 0xffffffffn), lo: Number(sig & 0xffffffffn) };
}

/** Value of a finite 80-bit pattern as a rational. */
export function ratOf(v: X80): Rational {
  const e = v.se & 0x7fff;
  const sig = toBig(v);
  const p = (e === 0 ? 1 : e) - 16383 - 63;
  const neg = (v.se & 0x8000) !== 0;
  return p >= 0 ? { neg, num: sig << BigInt(p), den: 1n } : { neg, num: sig, den: 1n << BigInt(-p) };
}

function bitLen(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

export interface RefResult { value: X80; inexact: boolean; roundedUp: boolean; underflow: boolean; overflow: boolean; tiny: boolean }

/**
 * Round an exact rational to the 80-bit format with `prec` significand bits (24/53/64) and
 * rounding mode rc (0 nearest-even, 1 down, 2 up, 3 toward zero), masked responses.
 * Format parameters allow m32/m64 too: eMin is the unbiased exponent of the smallest normal.
 */
export function roundRational(x: Rational, prec: number, rc: number, eMin = -16382, eMax = 16383): RefResult {
  const neg = x.neg;
  if (x.num === 0n) return { value: { se: neg ? 0x8000 : 0, hi: 0, lo: 0 }, inexact: false, roundedUp: false, underflow: false, overflow: false, tiny: false };
  // e = floor(log2(num/den))
  let e = bitLen(x.num) - bitLen(x.den);
  if (cmpPow2(x, e) < 0) e -= 1;
  const roundAt = (q: number): { m: bigint; inexact: boolean; up: boolean } => {
    // m = round(|x| / 2^q)
    let n = x.num, d = x.den;
    if (q >= 0) d <<= BigInt(q); else n <<= BigInt(-q);
    const fl = n / d;
    const rem = n - fl * d;
    if (rem === 0n) return { m: fl, inexact: false, up: false };
    let inc: boolean;
    switch (rc) {
      case 0: { const twice = rem * 2n; inc = twice > d || (twice === d && (fl & 1n) === 1n); break; }
      case 1: inc = neg; break;
      case 2: inc = !neg; break;
      default: inc = false;
    }
    return { m: inc ? fl + 1n : fl, inexact: true, up: inc };
  };
  // Tininess after rounding with unbounded exponent.
  const unb = roundAt(e - (prec - 1));
  const unbExp = bitLen(unb.m) - 1 + e - (prec - 1);
  const tiny = unbExp < eMin;
  const q = Math.max(e, eMin) - (prec - 1);
  const r = roundAt(q);
  const m = r.m;
  const resExp = m === 0n ? -Infinity : bitLen(m) - 1 + q;
  const signBit = neg ? 0x8000 : 0;
  if (resExp > eMax) {
    const toInf = rc === 0 || (rc === 1 && neg) || (rc === 2 && !neg);
    const value = toInf
      ? { se: signBit | 0x7fff, hi: 0x80000000, lo: 0 }
      : fromBig(signBit | (eMax + 16383), ((1n << BigInt(prec)) - 1n) << BigInt(64 - prec));
    return { value, inexact: true, roundedUp: toInf, underflow: false, overflow: true, tiny: false };
  }
  let value: X80;
  if (m === 0n) value = { se: signBit, hi: 0, lo: 0 };
  else if (resExp >= eMin) value = fromBig(signBit | (resExp + 16383), m << BigInt(63 - (resExp - q)));
  else value = fromBig(signBit, m << BigInt(63 - (eMin - q))); // denormal: J at 2^eMin
  return { value, inexact: r.inexact, roundedUp: r.up, underflow: tiny && r.inexact, overflow: false, tiny };
}

function cmpPow2(x: Rational, e: number): number {
  // compare num/den with 2^e
  const l = e >= 0 ? x.num : x.num << BigInt(-e);
  const rr = e >= 0 ? x.den << BigInt(e) : x.den;
  return l < rr ? -1 : l > rr ? 1 : 0;
}

export function ratAdd(a: Rational, b: Rational): Rational {
  const an = a.neg ? -a.num : a.num, bn = b.neg ? -b.num : b.num;
  const n = an * b.den + bn * a.den;
  return { neg: n < 0n, num: n < 0n ? -n : n, den: a.den * b.den };
}

export function ratNeg(a: Rational): Rational { return { ...a, neg: !a.neg }; }
export function ratMul(a: Rational, b: Rational): Rational { return { neg: a.neg !== b.neg, num: a.num * b.num, den: a.den * b.den }; }
export function ratDiv(a: Rational, b: Rational): Rational { return { neg: a.neg !== b.neg, num: a.num * b.den, den: a.den * b.num }; }

export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLen(n) / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** sqrt(a) as a rational that rounds exactly like the true root (a >= 0). */
export function ratSqrt(a: Rational): Rational {
  const s = 200n; // fraction bits, far beyond 64 + 2
  // sqrt(num/den) = sqrt(num*den)/den
  const n = a.num * a.den << (2n * s);
  const r = isqrt(n);
  if (r * r === n) return { neg: false, num: r, den: a.den << s };
  return { neg: false, num: 2n * r + 1n, den: a.den << (s + 1n) };
}

// ---------------------------------------------------------------- random operands

/** Deterministic PRNG (xorshift32). */
export class Rng {
  constructor(private s: number) {}
  next(): number {
    let x = this.s;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number { return this.next() % n; }
  /** A random finite normal 80-bit value with the unbiased exponent in [lo, hi]. */
  normal(lo: number, hi: number, sign = this.int(2)): X80 {
    const e = lo + this.int(hi - lo + 1) + 16383;
    let h = (this.next() | 0x80000000) >>> 0, l = this.next();
    // Sometimes short significands (exact cases, ties).
    const k = this.int(8);
    if (k === 0) l = 0;
    else if (k === 1) { h = (h & 0xffffff00) >>> 0; l = 0; }
    else if (k === 2) { l = (l & 0xfffff800) >>> 0; }
    return { se: (sign << 15) | e, hi: h, lo: l };
  }
  denormal(sign = this.int(2)): X80 {
    return { se: sign << 15, hi: this.next() >>> (1 + this.int(31)), lo: this.next() };
  }
}
