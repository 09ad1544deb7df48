// The x87 instructions beyond the basic arithmetic: FSQRT and FRNDINT (exact, from the
// engine), FSCALE (exact up to the final rounding), and the transcendental ones, which are
// evaluated in float64 and then rounded to the precision control. Special operands (zeros,
// infinities, NaNs, out-of-range arguments) follow the SDM tables exactly; finite results of
// FSIN/FCOS/FPTAN/FPATAN/F2XM1/FYL2X/FYL2XP1 are accurate to about 1 ulp of a double (53
// bits), not to the 64 bits of the real unit. See FPU-NOTES.md.

import {
  BIAS, CLS_DENORMAL, CLS_INF, CLS_UNSUPPORTED, CLS_ZERO, EXC_DE, EXC_PE, EXC_ZE,
  Float80, RC_NEAREST, classify, isNaNClass,
} from './fpu-float80.js';

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
  const x = reduceQuarterPi(f, se, hi, lo);
  const q = reducedQuadrant;
  const s = Math.sin(x), co = Math.cos(x);
  let v: number;
  switch (op) {
    case OP_FSIN: v = (q & 1) === 0 ? s : co; if (q & 2) v = -v; break;
    case OP_FCOS: v = (q & 1) === 0 ? co : -s; if (q & 2) v = -v; break;
    default: v = (q & 1) === 0 ? s / co : -co / s; break;
  }
  numberResult(f, v);
  return false;
}

let reducedQuadrant = 0;

/**
 * x = k * pi/2 + r with |r| <= pi/4 (about): returns r as a double and sets the quadrant
 * k mod 4. The reduction is done in extended precision against the x87's 66-bit pi (three
 * 32-bit pieces, exact products for |k| < 2^32), so results near multiples of pi match the
 * hardware (tan of FLDPI's value is 2^-64, as on a real unit).
 */
function reduceQuarterPi(f: Float80, se: number, hi: number, lo: number): number {
  const xd = f.toNumber(se, hi, lo);
  const kd = Math.round(xd / (Math.PI / 2));
  if (kd === 0) { reducedQuadrant = 0; return xd; }
  if (Math.abs(kd) >= 4294967296) {
    // Beyond exact reduction: fall back to the double argument.
    reducedQuadrant = 0;
    return xd;
  }
  reducedQuadrant = ((kd % 4) + 4) % 4;
  const saveFlags = f.flags, saveRc = f.rc, savePc = f.pc;
  f.rc = RC_NEAREST;
  f.pc = 64;
  // pi/2 = (P1 + P2 + P3) * 2^-?; each piece has 32 significant bits.
  let rSE = se, rHi = hi, rLo = lo;
  for (let piece = 0; piece < 3; piece++) {
    // k * piece: k has <= 32 bits and the piece 32 bits, so the product is exact.
    f.fromUnsigned64(0, 0, PI66_W[piece]!);
    if (f.rSE === 0) continue;
    const pSE = (f.rSE & 0x7fff) - 31 - 32 * piece; // word * 2^-(31 + 32 * piece) of pi/2
    f.setResult(pSE, f.rHi, f.rLo);
    const tSE = f.rSE, tHi = f.rHi, tLo = f.rLo;
    f.fromUnsigned64(kd < 0 ? 1 : 0, 0, Math.abs(kd) >>> 0);
    f.mul(f.rSE, f.rHi, f.rLo, tSE, tHi, tLo);
    f.add(rSE, rHi, rLo, f.rSE, f.rHi, f.rLo, true);
    rSE = f.rSE; rHi = f.rHi; rLo = f.rLo;
  }
  const r = f.toNumber(rSE, rHi, rLo);
  f.flags = saveFlags; f.rc = saveRc; f.pc = savePc;
  return r;
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
      if (yFiniteNonZero) f.flags |= EXC_ZE;
      lSE = 0xffff; lHi = 0x80000000; lLo = 0; // -inf
    } else if (cx === CLS_INF) {
      lSE = 0x7fff; lHi = 0x80000000; lLo = 0;
    } else if ((xse & 0x7fff) === BIAS && xhi === 0x80000000 && xlo === 0) {
      lSE = 0; lHi = 0; lLo = 0; // log2(1) = +0
    } else if (xhi === 0x80000000 && xlo === 0) {
      f.fromInt32(unbiasedExp(xse)); // a power of two: the logarithm is an exact integer
      lSE = f.rSE; lHi = f.rHi; lLo = f.rLo;
    } else {
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
      const xd = f.toNumber(xse, xhi, xlo);
      if (xd < -1) { f.invalid(); return; }
      if (xd === -1) {
        if (yFiniteNonZero) f.flags |= EXC_ZE;
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
  if (ex - ey > 200) {
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
