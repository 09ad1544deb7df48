// The x87 instructions beyond the basic arithmetic: FSQRT and FRNDINT (exact, from the
// engine), FSCALE (exact up to the final rounding), and the transcendental ones, evaluated
// in double-double arithmetic (./fpu-dd.ts, about 106 bits) and rounded once to the
// precision and rounding control. Special operands (zeros, infinities, NaNs, out-of-range
// arguments, tiny arguments) follow the SDM tables and a host x87's behaviour. See
// FPU-NOTES.md.

import {
  BIAS, CLS_DENORMAL, CLS_INF, CLS_NORMAL, CLS_UNSUPPORTED, CLS_ZERO, EXC_DE, EXC_PE, EXC_ZE,
  Float80, RC_NEAREST, classify, isNaNClass,
} from './fpu-float80.js';
import * as dd from './fpu-dd.js';

export const OP_FSQRT = 0;
export const OP_FRNDINT = 1;
export const OP_FSIN = 2;
export const OP_FCOS = 3;
export const OP_FPTAN = 4;
export const OP_F2XM1 = 5;
export const OP_FYL2X = 6;
export const OP_FYL2XP1 = 7;
export const OP_FPATAN = 8;

// 96-bit significands of constants (irrational: a sticky bit below) with their exponents.
const PI_W = [0xc90fdaa2, 0x2168c234, 0xc4c6628b] as const;
const PI3_4_W = [0x96cbe3f9, 0x990e91a7, 0x9394c9e8] as const;
/** The x87's own 66-bit pi (C90FDAA2 2168C234 C), used for argument reduction like the hardware. */
const PI66_W = [0xc90fdaa2, 0x2168c234, 0xc0000000] as const;
/** log2(e) and ln(2) truncated to 64 bits (multiplied with a sticky bit: they are irrational). */
const L2E_HI = 0xb8aa3b29, L2E_LO = 0x5c17f0bb;
const LN2_HI = 0xb17217f7, LN2_LO = 0xd1cf79ab;

/** Multiply by a truncated irrational factor: the exact product is a little larger. */
function mulInexact(f: Float80, ase: number, ahi: number, alo: number, bse: number, bhi: number, blo: number): void {
  f.stickyOperand = true;
  f.mul(ase, ahi, alo, bse, bhi, blo);
  f.stickyOperand = false;
}

// Double-double constants (about 96 correct bits).
dd.fromWords(PI66_W[0], PI66_W[1], PI66_W[2], 0);
const PIO2_H = dd.hi, PIO2_L = dd.lo; // the unit's 66-bit pi, halved
dd.fromWords(0xb17217f7, 0xd1cf79ab, 0xc9e3b398, -1);
const LN2_DH = dd.hi, LN2_DL = dd.lo;
dd.fromWords(0xb8aa3b29, 0x5c17f0bb, 0xbe87fed0, 0);
const L2E_DH = dd.hi, L2E_DL = dd.lo;

/** Exponent (unbiased) below which sin(x) = tan(x) = x and cos(x) = 1 at 64 bits. */
const TINY_EXP = -33;

function unbiasedExp(se: number): number {
  return (se & 0x7fff) - BIAS;
}

/** Round a 96-bit irrational constant (times a sign) into the engine result. */
function constantResult(f: Float80, sign: number, exp: number, w: readonly number[]): void {
  f.normalizeRound(sign, exp, w[0]!, w[1]!, w[2]!, 1, f.pc);
}

/** A float64 result, inexact unless it is an exact zero from a special case. */
function numberResult(f: Float80, v: number): void {
  f.fromNumberRounded(v);
  f.flags |= EXC_PE;
}

/**
 * One-operand functions on ST(0). Returns true when FSIN/FCOS/FPTAN find |x| >= 2^63
 * (C2 = 1, nothing else changes).
 */
export function unary(f: Float80, op: number, se: number, hi: number, lo: number): boolean {
  if (op === OP_FSQRT) { f.sqrt(se, hi, lo); return false; }
  if (op === OP_FRNDINT) { f.roundToIntegral(se, hi, lo); return false; }
  const c = classify(se, hi, lo);
  if (c === CLS_UNSUPPORTED) { f.invalid(); return false; }
  if (isNaNClass(c)) { f.propagateNaN1(se, hi, lo, c); return false; }
  const sign = se >>> 15;
  if (op === OP_F2XM1) {
    if (c === CLS_ZERO) { f.setResult(se, 0, 0); return false; }
    if (c === CLS_INF) { if (sign) f.setResult(0xbfff, 0x80000000, 0); else f.setInf(0); return false; }
    if (c === CLS_DENORMAL) f.flags |= EXC_DE;
    if ((se & 0x7fff) === 0 || unbiasedExp(se) < -60) { mulInexact(f, se, hi, lo, 0x3ffe, LN2_HI, LN2_LO); return false; }
    if (unbiasedExp(se) === 0 && hi === 0x80000000 && lo === 0) {
      // x = +1 behaves as 1 - tiny, x = -1 as exactly -1/2, both inexact (host x87).
      if (sign) { f.setResult(0xbffe, 0x80000000, 0); f.roundedUp = false; f.flags |= EXC_PE; }
      else f.roundNudged(0x3fff, 0x80000000, 0, true);
      return false;
    }
    if (unbiasedExp(se) >= 0) {
      // Outside the domain |x| <= 1 the hardware returns the operand (with PE).
      f.setResult(se, hi, lo);
      f.flags |= EXC_PE;
      return false;
    }
    {
      toDD(se, hi, lo);
      const sc = 2 ** ddScale;
      dd.mul(dd.hi * sc, dd.lo * sc, LN2_DH, LN2_DL);
      dd.expm1(dd.hi, dd.lo);
      if (fromDD(f, dd.hi, dd.lo, 0)) return false;
    }
    numberResult(f, Math.expm1(f.toNumber(se, hi, lo) * Math.LN2));
    return false;
  }
  // FSIN, FCOS, FPTAN
  if (c === CLS_INF) { f.invalid(); return false; }
  if (c !== CLS_ZERO && unbiasedExp(se) >= 63) return true;
  if (c === CLS_ZERO) {
    if (op === OP_FCOS) f.setResult(0x3fff, 0x80000000, 0);
    else f.setResult(se, 0, 0);
    return false;
  }
  if (c === CLS_DENORMAL) f.flags |= EXC_DE;
  if ((se & 0x7fff) === 0 || unbiasedExp(se) < TINY_EXP) {
    // sin x is just below x, tan x just above, cos x just below 1 (in magnitude).
    if (op === OP_FCOS) f.roundNudged(0x3fff, 0x80000000, 0, true);
    else f.roundNudged(se, hi, lo, op === OP_FSIN);
    return false;
  }
  if (trigDD(f, op, se, hi, lo)) return false;
  // Not reached for valid operands (trigDD only fails on a zero or non-finite value).
  const xd = f.toNumber(se, hi, lo);
  numberResult(f, op === OP_FSIN ? Math.sin(xd) : op === OP_FCOS ? Math.cos(xd) : Math.tan(xd));
  return false;
}

/**
 * Two-operand functions: y = ST(1), x = ST(0); the result replaces ST(1).
 * FYL2X: y * log2(x); FYL2XP1: y * log2(x + 1); FPATAN: atan(y / x) in the quadrant of (x, y).
 */
export function binary(f: Float80, op: number, yse: number, yhi: number, ylo: number, xse: number, xhi: number, xlo: number): void {
  const cy = classify(yse, yhi, ylo);
  const cx = classify(xse, xhi, xlo);
  if (cx === CLS_UNSUPPORTED || cy === CLS_UNSUPPORTED) { f.invalid(); return; }
  if (isNaNClass(cx) || isNaNClass(cy)) { f.propagateNaN2(xse, xhi, xlo, cx, yse, yhi, ylo, cy); return; }
  const sx = xse >>> 15;
  // Domain errors come before the denormal-operand exception.
  if (op === OP_FYL2X && sx && cx !== CLS_ZERO) { f.invalid(); return; }
  if (cx === CLS_DENORMAL || cy === CLS_DENORMAL) f.flags |= EXC_DE;
  if (op === OP_FPATAN) { fpatan(f, yse, yhi, ylo, cy, xse, xhi, xlo, cx); return; }
  // L = log2(x) or log2(1 + x) into (lSE, lHi, lLo), then y * L with the engine's rules.
  const yFiniteNonZero = cy !== CLS_ZERO && cy !== CLS_INF;
  let lSE: number, lHi: number, lLo: number;
  let approx = false;
  if (op === OP_FYL2X) {
    if (cx === CLS_ZERO) {
      if (yFiniteNonZero) f.flags = (f.flags & ~EXC_DE) | EXC_ZE; // ZE outranks DE
      lSE = 0xffff; lHi = 0x80000000; lLo = 0; // -inf
    } else if (cx === CLS_INF) {
      lSE = 0x7fff; lHi = 0x80000000; lLo = 0;
    } else if ((xse & 0x7fff) === BIAS && xhi === 0x80000000 && xlo === 0) {
      lSE = 0; lHi = 0; lLo = 0; // log2(1) = +0
    } else if (xhi === 0x80000000 && xlo === 0) {
      f.fromInt32(effectiveExp(xse, xhi, xlo)); // a power of two: the logarithm is an exact integer
      lSE = f.rSE; lHi = f.rHi; lLo = f.rLo;
    } else {
      if (yFiniteNonZero) {
        log2DD(xse, xhi, xlo);
        if (mulByDD(f, yse, yhi, ylo, dd.hi, dd.lo)) return;
      }
      const e = unbiasedExp(xse);
      let l: number;
      if (e === 0 || e === -1) {
        // Near 1: x - 1 is exact, log1p keeps the relative accuracy.
        const saveFlags = f.flags;
        f.add(xse, xhi, xlo, 0x3fff, 0x80000000, 0, true);
        f.flags = saveFlags;
        l = Math.log1p(f.toNumber(f.rSE, f.rHi, f.rLo)) / Math.LN2;
      } else {
        const xd = f.toNumber(xse, xhi, xlo);
        l = Number.isFinite(xd) && xd !== 0 ? Math.log2(xd) : log2Wide(f, xse, xhi, xlo);
      }
      f.fromNumberExact(l);
      lSE = f.rSE; lHi = f.rHi; lLo = f.rLo;
      approx = true;
    }
  } else {
    if (cx === CLS_ZERO) {
      lSE = xse; lHi = 0; lLo = 0;
    } else if (cx === CLS_INF) {
      if (sx) { f.invalid(); return; }
      lSE = 0x7fff; lHi = 0x80000000; lLo = 0;
    } else if (unbiasedExp(xse) < -60) {
      // log2(1 + x) = x * log2(e) to 64 bits.
      const saveRc = f.rc, savePc = f.pc;
      f.rc = RC_NEAREST; f.pc = 64;
      const saveFlags = f.flags;
      mulInexact(f, xse, xhi, xlo, 0x3fff, L2E_HI, L2E_LO);
      f.rc = saveRc; f.pc = savePc; f.flags = saveFlags;
      lSE = f.rSE; lHi = f.rHi; lLo = f.rLo;
      approx = true;
    } else {
      if (yFiniteNonZero && unbiasedExp(xse) < -1) {
        log2p1DD(xse, xhi, xlo);
        if (mulByDD(f, yse, yhi, ylo, dd.hi, dd.lo)) return;
      }
      const xd = f.toNumber(xse, xhi, xlo);
      if (xd < -1) { f.invalid(); return; }
      if (xd === -1) {
        if (yFiniteNonZero) f.flags = (f.flags & ~EXC_DE) | EXC_ZE;
        lSE = 0xffff; lHi = 0x80000000; lLo = 0;
      } else {
        f.fromNumberExact(Math.log1p(xd) / Math.LN2);
        lSE = f.rSE; lHi = f.rHi; lLo = f.rLo;
        approx = true;
      }
    }
  }
  // An approximated logarithm is irrational: the product is inexact (PE, UE as due).
  f.stickyOperand = approx;
  f.mul(yse, yhi, ylo, lSE, lHi, lLo);
  f.stickyOperand = false;
  // The hardware reports PE for every finite non-zero result, exact ones included.
  const cr = classify(f.rSE, f.rHi, f.rLo);
  if (cr === CLS_NORMAL || cr === CLS_DENORMAL) f.flags |= EXC_PE;
}


/** log2 of a finite positive value whose double conversion over/underflows. */
function log2Wide(f: Float80, se: number, hi: number, lo: number): number {
  // value = m * 2^e with the normalized significand m in [1, 2)
  const m = f.toNumber(BIAS, normHi(hi, lo), normLo(hi, lo));
  return effectiveExp(se, hi, lo) + Math.log2(m);
}

function fpatan(f: Float80, yse: number, yhi: number, ylo: number, cy: number, xse: number, xhi: number, xlo: number, cx: number): void {
  const sx = xse >>> 15, sy = yse >>> 15;
  // Exact special cases: multiples of pi/4 and signed zeros.
  if (cy === CLS_ZERO) {
    if (sx === 0) f.setResult(yse, 0, 0); // +x (or +0): +-0
    else constantResult(f, sy, BIAS + 1, PI_W); // -x (or -0): +-pi
    return;
  }
  if (cx === CLS_ZERO) { constantResult(f, sy, BIAS, PI_W); return; } // +-pi/2
  if (cy === CLS_INF) {
    if (cx === CLS_INF) {
      if (sx === 0) constantResult(f, sy, BIAS - 1, PI_W); // +-pi/4
      else constantResult(f, sy, BIAS + 1, PI3_4_W); // +-3pi/4
    } else {
      constantResult(f, sy, BIAS, PI_W); // +-pi/2
    }
    return;
  }
  if (cx === CLS_INF) {
    if (sx === 0) f.setZero(sy);
    else constantResult(f, sy, BIAS + 1, PI_W);
    return;
  }
  const ey = effectiveExp(yse, yhi, ylo), ex = effectiveExp(xse, xhi, xlo);
  if (ey - ex > 200) { constantResult(f, sy, BIAS, PI_W); return; } // |y| >> |x|: +-pi/2
  if (ex - ey > 200 || (sx === 0 && ex - ey > 40)) {
    if (sx === 0) {
      // atan(y/x) is y/x minus far less than an ulp: an exact quotient rounds as just below.
      const saveFlags = f.flags;
      f.flags = 0;
      f.div(yse, yhi, ylo, xse, xhi, xlo);
      if ((f.flags & EXC_PE) === 0) { f.flags = 0; f.roundNudged(f.rSE, f.rHi, f.rLo, true); }
      f.flags |= saveFlags;
    } else {
      constantResult(f, sy, BIAS + 1, PI_W);
    }
    return;
  }
  if (atanDD(f, yse, yhi, ylo, xse, xhi, xlo)) return;
  // Scale both by the same power of two (keeps the ratio) into double range.
  const shift = Math.max(ey, ex);
  const yd = f.toNumber(((sy << 15) | (BIAS + ey - shift)) & 0xffff, normHi(yhi, ylo), normLo(yhi, ylo));
  const xd = f.toNumber(((sx << 15) | (BIAS + ex - shift)) & 0xffff, normHi(xhi, xlo), normLo(xhi, xlo));
  numberResult(f, Math.atan2(yd, xd));
}

/** Unbiased exponent of a finite non-zero value as if normalized. */
function effectiveExp(se: number, hi: number, lo: number): number {
  let e = (se & 0x7fff) || 1;
  if ((hi & 0x80000000) === 0) e -= hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
  return e - BIAS;
}

function normHi(hi: number, lo: number): number {
  if ((hi & 0x80000000) !== 0) return hi;
  if (hi === 0) return (lo << Math.clz32(lo)) >>> 0;
  const z = Math.clz32(hi);
  return ((hi << z) | (lo >>> (32 - z))) >>> 0;
}

function normLo(hi: number, lo: number): number {
  if ((hi & 0x80000000) !== 0) return lo;
  if (hi === 0) return 0;
  return (lo << Math.clz32(hi)) >>> 0;
}

/** FSCALE: ST(0) * 2^trunc(ST(1)). */
export function scale(f: Float80, ase: number, ahi: number, alo: number, bse: number, bhi: number, blo: number): void {
  const ca = classify(ase, ahi, alo);
  const cb = classify(bse, bhi, blo);
  if (ca === CLS_UNSUPPORTED || cb === CLS_UNSUPPORTED) { f.invalid(); return; }
  if (isNaNClass(ca) || isNaNClass(cb)) { f.propagateNaN2(ase, ahi, alo, ca, bse, bhi, blo, cb); return; }
  const sa = ase >>> 15;
  if (cb === CLS_INF) {
    if (bse & 0x8000) {
      if (ca === CLS_INF) { f.invalid(); return; }
      if (ca === CLS_DENORMAL) f.flags |= EXC_DE;
      f.setZero(sa);
    } else {
      if (ca === CLS_ZERO) { f.invalid(); return; }
      if (ca === CLS_DENORMAL) f.flags |= EXC_DE;
      f.setInf(sa);
    }
    return;
  }
  if (ca === CLS_DENORMAL || cb === CLS_DENORMAL) f.flags |= EXC_DE;
  if (ca === CLS_ZERO || ca === CLS_INF) { f.setResult(ase, ahi, alo); return; }
  // n = trunc(ST(1)), clamped well beyond any representable result.
  let n = 0;
  const eb = unbiasedExp(bse);
  if (cb !== CLS_ZERO && cb !== CLS_DENORMAL && eb >= 0) {
    n = eb > 20 ? 1 << 20 : bhi >>> (31 - eb);
    if (bse & 0x8000) n = -n;
  }
  f.scaleFinite(ase, ahi, alo, n);
}

// ---- double-double bridge ------------------------------------------------------------------

/** A finite non-zero value as a double-double times 2^-ddScale (significand in [1, 2)): dd.hi/lo. */
let ddScale = 0;
function toDD(se: number, hi: number, lo: number): void {
  const h = normHi(hi, lo), l = normLo(hi, lo);
  ddScale = effectiveExp(se, hi, lo);
  const sign = (se & 0x8000) !== 0 ? -1 : 1;
  dd.set(sign * (h * 2097152 + (l >>> 11)) * 2 ** -52, sign * (l & 0x7ff) * 2 ** -63);
}

/**
 * Round (h + l) * 2^scale into the engine result under PC/RC with PE. False when the parts
 * would leave the extended exponent range (the caller then uses its fallback).
 */
function fromDD(f: Float80, h: number, l: number, scale: number): boolean {
  if (!Number.isFinite(h) || h === 0) return false;
  // h + l is exact in the engine's 96-bit sum; the scale is applied inside the one rounding.
  f.fromNumberExact(h);
  const aSE = f.rSE, aHi = f.rHi, aLo = f.rLo;
  f.fromNumberExact(l);
  f.resultScale = scale;
  f.add(aSE, aHi, aLo, f.rSE, f.rHi, f.rLo, false);
  f.resultScale = 0;
  f.flags |= EXC_PE;
  return true;
}

/** sin/cos/tan through double-double; false when |x| is too large for the exact reduction. */
function trigDD(f: Float80, op: number, se: number, hi: number, lo: number): boolean {
  toDD(se, hi, lo);
  const sc = 2 ** ddScale;
  let rh = dd.hi * sc, rl = dd.lo * sc;
  // x - k * pi/2 with exact products (k a double, pi/2 of 53 + 13 bits); a second pass
  // takes up the error of k for huge arguments.
  let q = 0;
  for (let pass = 0; pass < 3 && Math.abs(rh) > 0.786; pass++) {
    const k = Math.round(rh / (Math.PI / 2));
    q = (q + (k % 4) + 4) % 4;
    dd.exactProduct(k, PIO2_H);
    const p1 = dd.hi, e1 = dd.lo;
    dd.exactProduct(k, PIO2_L);
    const p2 = dd.hi, e2 = dd.lo;
    dd.add(rh - p1, 0, rl, 0);
    dd.add(dd.hi, dd.lo, -e1, 0);
    dd.add(dd.hi, dd.lo, -p2, 0);
    dd.add(dd.hi, dd.lo, -e2, 0);
    rh = dd.hi; rl = dd.lo;
  }
  dd.sinCos(rh, rl);
  let h: number, l: number;
  if (op === OP_FSIN) {
    h = (q & 1) === 0 ? dd.sinH : dd.cosH; l = (q & 1) === 0 ? dd.sinL : dd.cosL;
    if (q & 2) { h = -h; l = -l; }
  } else if (op === OP_FCOS) {
    h = (q & 1) === 0 ? dd.cosH : -dd.sinH; l = (q & 1) === 0 ? dd.cosL : -dd.sinL;
    if (q & 2) { h = -h; l = -l; }
  } else {
    if ((q & 1) === 0) dd.div(dd.sinH, dd.sinL, dd.cosH, dd.cosL);
    else dd.div(-dd.cosH, -dd.cosL, dd.sinH, dd.sinL);
    h = dd.hi; l = dd.lo;
  }
  return fromDD(f, h, l, 0);
}

dd.fromWords(PI_W[0], PI_W[1], PI_W[2], 1);
const PI_DH = dd.hi, PI_DL = dd.lo;

/** FPATAN of finite non-zero operands whose exponents differ by at most 200. */
function atanDD(f: Float80, yse: number, yhi: number, ylo: number, xse: number, xhi: number, xlo: number): boolean {
  toDD(yse, yhi, ylo);
  const yh = dd.hi, yl = dd.lo, ey = ddScale;
  toDD(xse, xhi, xlo);
  const xh = dd.hi, xl = dd.lo, ex = ddScale;
  const sc = 2 ** (ey - ex);
  // |z| <= 1: atan(z); otherwise pi/2 - atan(1/z) with the sign of z.
  const ay = Math.abs(yh) * sc, ax = Math.abs(xh);
  let h: number, l: number;
  if (ay <= ax) {
    dd.div(yh * sc, yl * sc, xh, xl);
    dd.atan(dd.hi, dd.lo);
    h = dd.hi; l = dd.lo;
  } else {
    dd.div(xh, xl, yh * sc, yl * sc);
    dd.atan(dd.hi, dd.lo);
    const s = yh * xh > 0 ? 1 : -1;
    dd.add(s * PI_DH / 2, s * PI_DL / 2, -dd.hi, -dd.lo);
    h = dd.hi; l = dd.lo;
  }
  if (xh < 0) {
    // Left half-plane: add pi with the sign of y.
    const s = yh > 0 ? 1 : -1;
    dd.add(h, l, s * PI_DH, s * PI_DL);
    h = dd.hi; l = dd.lo;
  }
  return fromDD(f, h, l, 0);
}

/** log2 of a finite positive non-zero value as a double-double (dd.hi/lo). */
function log2DD(se: number, hi: number, lo: number): void {
  toDD(se, hi, lo);
  let mh = dd.hi, ml = dd.lo, e = ddScale;
  if (mh > Math.SQRT2) { mh /= 2; ml /= 2; e += 1; }
  dd.add(mh, ml, 1, 0);
  const ph = dd.hi, pl = dd.lo;
  dd.add(mh, ml, -1, 0);
  dd.div(dd.hi, dd.lo, ph, pl);
  dd.twoAtanh(dd.hi, dd.lo);
  dd.mul(dd.hi, dd.lo, L2E_DH, L2E_DL);
  dd.add(dd.hi, dd.lo, e, 0);
}

/** log2(1 + x) for |x| < 0.3 as a double-double: 2 atanh(x / (2 + x)) * log2(e). */
function log2p1DD(se: number, hi: number, lo: number): void {
  toDD(se, hi, lo);
  const sc = 2 ** ddScale;
  const xh = dd.hi * sc, xl = dd.lo * sc;
  dd.add(xh, xl, 2, 0);
  dd.div(xh, xl, dd.hi, dd.lo);
  dd.twoAtanh(dd.hi, dd.lo);
  dd.mul(dd.hi, dd.lo, L2E_DH, L2E_DL);
}

/** y * (lh + ll) with y finite non-zero, rounded; false when out of the bridge's range. */
function mulByDD(f: Float80, yse: number, yhi: number, ylo: number, lh: number, ll: number): boolean {
  toDD(yse, yhi, ylo);
  const ey = ddScale;
  dd.mul(dd.hi, dd.lo, lh, ll);
  return fromDD(f, dd.hi, dd.lo, ey);
}
