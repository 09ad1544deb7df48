// Exact 80-bit extended-precision arithmetic for the x87 unit.
//
// Values travel as three numbers: `se` (sign << 15 | biased exponent), `hi` and `lo` (the
// 64-bit significand, both unsigned 32-bit, bit 31 of `hi` is the explicit integer bit J).
// Results are written into the fields rSE/rHi/rLo of the engine, exceptions are ORed into
// `flags`, so no operation allocates. Finite arithmetic unpacks to a normalized significand
// with an unbounded exponent, computes an exact 96-bit result plus a sticky bit and rounds
// once (roundPack) to the precision control (24/53/64 bits) and the rounding control.

export const EXC_IE = 0x01;
export const EXC_DE = 0x02;
export const EXC_ZE = 0x04;
export const EXC_OE = 0x08;
export const EXC_UE = 0x10;
export const EXC_PE = 0x20;
/** Stack fault (SW bit 6); always raised together with IE. */
export const EXC_SF = 0x40;

// Operand classes.
export const CLS_ZERO = 0;
export const CLS_NORMAL = 1;
/** Denormal or pseudo-denormal (exponent 0, significand not zero). */
export const CLS_DENORMAL = 2;
export const CLS_INF = 3;
export const CLS_QNAN = 4;
export const CLS_SNAN = 5;
/** Unnormal, pseudo-NaN, pseudo-infinity: the 387 and later refuse them (IE). */
export const CLS_UNSUPPORTED = 6;

export const RC_NEAREST = 0;
export const RC_DOWN = 1;
export const RC_UP = 2;
export const RC_ZERO = 3;

export const BIAS = 16383;
const TWO32 = 4294967296;

/** The real indefinite (default QNaN): negative, exponent 0x7fff, significand 0xC000...0. */
export const INDEFINITE_SE = 0xffff;
export const INDEFINITE_HI = 0xc0000000;

export function classify(se: number, hi: number, lo: number): number {
  const e = se & 0x7fff;
  if (e === 0x7fff) {
    if ((hi & 0x80000000) === 0) return CLS_UNSUPPORTED;
    if ((hi & 0x7fffffff) === 0 && lo === 0) return CLS_INF;
    return (hi & 0x40000000) !== 0 ? CLS_QNAN : CLS_SNAN;
  }
  if (e === 0) return hi === 0 && lo === 0 ? CLS_ZERO : CLS_DENORMAL;
  return (hi & 0x80000000) !== 0 ? CLS_NORMAL : CLS_UNSUPPORTED;
}

export function isNaNClass(c: number): boolean {
  return c === CLS_QNAN || c === CLS_SNAN;
}

/**
 * The arithmetic engine. The x87 unit owns one; set `rc`, `pc` and `cw` before an operation,
 * clear `flags`, call the operation, read rSE/rHi/rLo, flags, roundedUp.
 */
export class Float80 {
  /** Rounding control 0..3 (RC_*). */
  rc = RC_NEAREST;
  /** Precision in significand bits: 24, 53 or 64. */
  pc = 64;
  /** Exception masks (low 6 bits of the control word): decide the register-destination bias. */
  masks = 0x3f;

  rSE = 0;
  rHi = 0;
  rLo = 0;
  flags = 0;
  /** The last rounding increased the magnitude (x87 C1 after an inexact result). */
  roundedUp = false;
  /** The last rounded result was tiny (below the destination's smallest normal). */
  tiny = false;

  // Unpacked operand scratch (see unpack()).
  private uS = 0;
  private uE = 0;
  private u0 = 0;
  private u1 = 0;
  // Shift scratch.
  private x0 = 0;
  private x1 = 0;
  private x2 = 0;
  private xs = 0;
  /** Quotient bits of the last remainder (FPREM/FPREM1): Q2 Q1 Q0 in bits 2..0. */
  quotientLow = 0;
  /** FPREM/FPREM1 did not finish (C2). */
  incomplete = false;

  // ---- results ----------------------------------------------------------------------------

  setResult(se: number, hi: number, lo: number): void {
    this.rSE = se & 0xffff;
    this.rHi = hi >>> 0;
    this.rLo = lo >>> 0;
  }

  setIndefinite(): void {
    this.setResult(INDEFINITE_SE, INDEFINITE_HI, 0);
  }

  setZero(sign: number): void {
    this.setResult(sign << 15, 0, 0);
  }

  setInf(sign: number): void {
    this.setResult((sign << 15) | 0x7fff, 0x80000000, 0);
  }

  /** Invalid operation with the default QNaN as masked response. */
  invalid(): void {
    this.flags |= EXC_IE;
    this.setIndefinite();
  }

  /**
   * NaN operand(s) of a two-operand instruction (x87 rules): an SNaN raises IE; two NaNs give
   * the one with the larger significand (the positive one on a tie), quieted; SNaN and QNaN
   * give the QNaN.
   */
  propagateNaN2(ase: number, ahi: number, alo: number, ca: number, bse: number, bhi: number, blo: number, cb: number): void {
    if (ca === CLS_SNAN || cb === CLS_SNAN) this.flags |= EXC_IE;
    const aNaN = ca === CLS_QNAN || ca === CLS_SNAN;
    const bNaN = cb === CLS_QNAN || cb === CLS_SNAN;
    let pickA: boolean;
    if (aNaN && bNaN) {
      if (ca === CLS_QNAN && cb === CLS_SNAN) pickA = true;
      else if (ca === CLS_SNAN && cb === CLS_QNAN) pickA = false;
      else {
        const ah = ahi & 0x7fffffff;
        const bh = bhi & 0x7fffffff;
        if (ah !== bh) pickA = ah > bh;
        else if (alo !== blo) pickA = alo > blo;
        else pickA = (ase & 0x8000) === 0 || (bse & 0x8000) !== 0;
      }
    } else {
      pickA = aNaN;
    }
    if (pickA) this.setResult(ase, ahi | 0x40000000, alo);
    else this.setResult(bse, bhi | 0x40000000, blo);
  }

  /** One NaN operand: SNaN raises IE and is quieted. */
  propagateNaN1(se: number, hi: number, lo: number, c: number): void {
    if (c === CLS_SNAN) this.flags |= EXC_IE;
    this.setResult(se, hi | 0x40000000, lo);
  }

  // ---- unpacking and shifting -------------------------------------------------------------

  /** Unpack a finite non-zero value into uS/uE/u0/u1 with J set and an unbounded exponent. */
  private unpack(se: number, hi: number, lo: number): void {
    this.uS = se >>> 15;
    let e = se & 0x7fff;
    if (e === 0) e = 1;
    if ((hi & 0x80000000) === 0) {
      if (hi === 0) {
        const z = Math.clz32(lo);
        hi = (lo << z) >>> 0;
        lo = 0;
        e -= 32 + z;
      } else {
        const z = Math.clz32(hi);
        hi = ((hi << z) | (lo >>> (32 - z))) >>> 0;
        lo = (lo << z) >>> 0;
        e -= z;
      }
    }
    this.uE = e;
    this.u0 = hi >>> 0;
    this.u1 = lo >>> 0;
  }

  /** (w0,w1,w2) >> n into x0..x2 with everything shifted out ORed into xs. */
  private shiftRight96(w0: number, w1: number, w2: number, n: number): void {
    let s = 0;
    while (n >= 32) {
      s |= w2;
      w2 = w1;
      w1 = w0;
      w0 = 0;
      n -= 32;
      if (w0 === 0 && w1 === 0 && w2 === 0) break;
    }
    if (n >= 32) n = 0; // everything already gone
    if (n > 0) {
      s |= (w2 << (32 - n)) >>> 0;
      w2 = ((w2 >>> n) | (w1 << (32 - n))) >>> 0;
      w1 = ((w1 >>> n) | (w0 << (32 - n))) >>> 0;
      w0 = w0 >>> n;
    }
    this.x0 = w0 >>> 0;
    this.x1 = w1 >>> 0;
    this.x2 = w2 >>> 0;
    this.xs = s !== 0 ? 1 : 0;
  }

  // ---- rounding ---------------------------------------------------------------------------

  private increments(sign: number, lsb: number, rnd: number, rest: boolean): boolean {
    switch (this.rc) {
      case RC_NEAREST: return rnd !== 0 && (rest || lsb !== 0);
      case RC_DOWN: return sign !== 0 && (rnd !== 0 || rest);
      case RC_UP: return sign === 0 && (rnd !== 0 || rest);
      default: return false;
    }
  }

  /**
   * Round a normalized value 1.w0w1w2... * 2^(exp - BIAS) (w0 bit 31 set; all zero means zero)
   * to `prec` bits with the exponent range [eMin, eMax] (extended-biased). `regDest` applies
   * the x87 response to unmasked overflow/underflow on a register destination (the exponent is
   * wrapped by 0x6000). Output in oS/oE/o0/o1: o0 bit 31 clear means denormal or zero, and
   * oE = eMax + 1 means infinity.
   */
  oS = 0;
  oE = 0;
  o0 = 0;
  o1 = 0;

  roundPack(sign: number, exp: number, w0: number, w1: number, w2: number, st: number, prec: number, eMin: number, eMax: number, regDest: boolean): void {
    this.oS = sign;
    this.roundedUp = false;
    this.tiny = false;
    if ((w0 | w1 | w2 | st) === 0) {
      this.oE = eMin;
      this.o0 = 0;
      this.o1 = 0;
      return;
    }
    let denormal = false;
    if (exp < eMin) {
      // Tininess after rounding with an unbounded exponent (the SDM's definition): only a
      // value just below the smallest normal can round up out of the tiny range.
      let tiny = true;
      if (exp === eMin - 1) tiny = !this.carriesOut(sign, w0, w1, w2, st, prec);
      this.tiny = tiny;
      if (tiny && regDest && (this.masks & EXC_UE) === 0) {
        if (exp + 0x6000 < eMin) {
          // Too small even for the wrapped exponent (FSCALE): the hardware delivers a zero.
          this.flags |= EXC_UE | EXC_PE;
          this.oE = eMin; this.o0 = 0; this.o1 = 0;
          return;
        }
        this.flags |= EXC_UE;
        exp += 0x6000;
      } else {
        this.shiftRight96(w0, w1, w2, eMin - exp);
        w0 = this.x0; w1 = this.x1; w2 = this.x2; st |= this.xs;
        exp = eMin;
        denormal = true;
      }
    }
    let lsb: number, rnd: number, rest: boolean;
    if (prec === 64) {
      lsb = w1 & 1; rnd = w2 >>> 31; rest = (w2 & 0x7fffffff) !== 0 || st !== 0;
    } else if (prec === 53) {
      lsb = (w1 >>> 11) & 1; rnd = (w1 >>> 10) & 1; rest = (w1 & 0x3ff) !== 0 || w2 !== 0 || st !== 0;
      w1 = (w1 & 0xfffff800) >>> 0;
    } else {
      lsb = (w0 >>> 8) & 1; rnd = (w0 >>> 7) & 1; rest = (w0 & 0x7f) !== 0 || w1 !== 0 || w2 !== 0 || st !== 0;
      w0 = (w0 & 0xffffff00) >>> 0;
      w1 = 0;
    }
    const inexact = rnd !== 0 || rest;
    if (this.increments(sign, lsb, rnd, rest)) {
      this.roundedUp = true;
      if (prec === 64) {
        w1 += 1;
        if (w1 >= TWO32) { w1 -= TWO32; w0 += 1; }
      } else if (prec === 53) {
        w1 += 0x800;
        if (w1 >= TWO32) { w1 -= TWO32; w0 += 1; }
      } else {
        w0 += 0x100;
      }
      if (w0 >= TWO32) {
        w0 = 0x80000000;
        w1 = 0;
        exp++;
      }
    }
    if (inexact) {
      this.flags |= EXC_PE;
      if (denormal && this.tiny) this.flags |= EXC_UE;
    }
    if (exp > eMax) {
      if (regDest && (this.masks & EXC_OE) === 0) {
        if (exp - 0x6000 <= eMax) {
          this.flags |= EXC_OE;
          exp -= 0x6000;
        } else {
          // Too large even for the wrapped exponent (FSCALE): infinity whatever the rounding.
          this.flags |= EXC_OE | EXC_PE;
          exp = eMax + 1; w0 = 0x80000000; w1 = 0;
          this.roundedUp = true;
        }
      } else {
        this.flags |= EXC_OE | EXC_PE;
        const toInf = this.rc === RC_NEAREST || (this.rc === RC_DOWN && sign !== 0) || (this.rc === RC_UP && sign === 0);
        if (toInf) {
          exp = eMax + 1; w0 = 0x80000000; w1 = 0;
          this.roundedUp = true;
        } else {
          exp = eMax;
          if (prec === 64) { w0 = 0xffffffff; w1 = 0xffffffff; }
          else if (prec === 53) { w0 = 0xffffffff; w1 = 0xfffff800; }
          else { w0 = 0xffffff00; w1 = 0; }
          this.roundedUp = false;
        }
      }
    }
    this.oE = exp;
    this.o0 = w0 >>> 0;
    this.o1 = w1 >>> 0;
  }

  /** Would rounding the normalized value to `prec` bits carry out of the significand? */
  private carriesOut(sign: number, w0: number, w1: number, w2: number, st: number, prec: number): boolean {
    if (prec === 64) {
      if (w0 !== 0xffffffff || w1 !== 0xffffffff) return false;
      return this.increments(sign, 1, w2 >>> 31, (w2 & 0x7fffffff) !== 0 || st !== 0);
    }
    if (prec === 53) {
      if (w0 !== 0xffffffff || (w1 >>> 11) !== 0x1fffff) return false;
      return this.increments(sign, 1, (w1 >>> 10) & 1, (w1 & 0x3ff) !== 0 || w2 !== 0 || st !== 0);
    }
    if ((w0 >>> 8) !== 0xffffff) return false;
    return this.increments(sign, 1, (w0 >>> 7) & 1, (w0 & 0x7f) !== 0 || w1 !== 0 || w2 !== 0 || st !== 0);
  }

  /** Round to the extended format under the current precision control into the result. */
  /** Added to the exponent of every rounded result (the double-double bridge scales by it). */
  resultScale = 0;

  private roundExtended(sign: number, exp: number, w0: number, w1: number, w2: number, st: number, prec: number): void {
    this.roundPack(sign, exp + this.resultScale, w0, w1, w2, st, prec, 1, 0x7ffe, true);
    this.packExtended();
  }

  private packExtended(): void {
    let e = this.oE;
    if ((this.o0 & 0x80000000) === 0) e = 0;
    else if (e > 0x7ffe) e = 0x7fff;
    this.setResult((this.oS << 15) | e, this.o0, this.o1);
  }

  /** Round the current result (any finite extended value) to the precision control. */
  roundResultToPrecision(): void {
    const c = classify(this.rSE, this.rHi, this.rLo);
    if (c !== CLS_NORMAL && c !== CLS_DENORMAL) return;
    this.unpack(this.rSE, this.rHi, this.rLo);
    this.roundExtended(this.uS, this.uE, this.u0, this.u1, 0, 0, this.pc);
  }

  /** Normalize and round sign * (w0:w1:w2 + sticky) * 2^(exp - BIAS - 95) (not necessarily normalized). */
  normalizeRound(sign: number, exp: number, w0: number, w1: number, w2: number, st: number, prec: number): void {
    if (w0 === 0 && w1 === 0 && w2 === 0) {
      if (st === 0) { this.setZero(sign); return; }
    }
    while (w0 === 0) {
      w0 = w1; w1 = w2; w2 = 0; exp -= 32;
      if (w0 === 0 && w1 === 0) break;
    }
    if (w0 !== 0) {
      const z = Math.clz32(w0);
      if (z > 0) {
        w0 = ((w0 << z) | (w1 >>> (32 - z))) >>> 0;
        w1 = ((w1 << z) | (w2 >>> (32 - z))) >>> 0;
        w2 = (w2 << z) >>> 0;
        exp -= z;
      }
    }
    this.roundExtended(sign, exp, w0, w1, w2, st, prec);
  }

  // ---- arithmetic -------------------------------------------------------------------------

  /** a + b (negateB: a - b). */
  add(ase: number, ahi: number, alo: number, bse: number, bhi: number, blo: number, negateB: boolean): void {
    if (negateB) bse ^= 0x8000;
    const ca = classify(ase, ahi, alo);
    const cb = classify(bse, bhi, blo);
    if (ca === CLS_UNSUPPORTED || cb === CLS_UNSUPPORTED) { this.invalid(); return; }
    if (isNaNClass(ca) || isNaNClass(cb)) {
      // The NaN keeps its own sign: undo the negation for the pick.
      this.propagateNaN2(ase, ahi, alo, ca, negateB ? bse ^ 0x8000 : bse, bhi, blo, cb);
      return;
    }
    const sa = ase >>> 15;
    const sb = bse >>> 15;
    if (ca === CLS_INF || cb === CLS_INF) {
      if (ca === CLS_INF && cb === CLS_INF && sa !== sb) { this.invalid(); return; }
      if (ca === CLS_DENORMAL || cb === CLS_DENORMAL) this.flags |= EXC_DE;
      this.setInf(ca === CLS_INF ? sa : sb);
      return;
    }
    if (ca === CLS_DENORMAL || cb === CLS_DENORMAL) this.flags |= EXC_DE;
    if (ca === CLS_ZERO && cb === CLS_ZERO) {
      this.setZero(sa === sb ? sa : this.rc === RC_DOWN ? 1 : 0);
      return;
    }
    if (cb === CLS_ZERO) { this.unpack(ase, ahi, alo); this.roundExtended(sa, this.uE, this.u0, this.u1, 0, 0, this.pc); return; }
    if (ca === CLS_ZERO) { this.unpack(bse, bhi, blo); this.roundExtended(sb, this.uE, this.u0, this.u1, 0, 0, this.pc); return; }
    this.unpack(ase, ahi, alo);
    let e1 = this.uE, a0 = this.u0, a1 = this.u1, s1 = sa;
    this.unpack(bse, bhi, blo);
    let e2 = this.uE, b0 = this.u0, b1 = this.u1, s2 = sb;
    if (e1 < e2 || (e1 === e2 && (a0 < b0 || (a0 === b0 && a1 < b1)))) {
      let t = e1; e1 = e2; e2 = t;
      t = a0; a0 = b0; b0 = t;
      t = a1; a1 = b1; b1 = t;
      t = s1; s1 = s2; s2 = t;
    }
    this.shiftRight96(b0, b1, 0, e1 - e2);
    const x0 = this.x0, x1 = this.x1, x2 = this.x2, st = this.xs;
    if (s1 === s2) {
      let r2 = x2;
      let r1 = a1 + x1;
      let c = r1 >= TWO32 ? 1 : 0;
      if (c) r1 -= TWO32;
      let r0 = a0 + x0 + c;
      let sticky = st;
      if (r0 >= TWO32) {
        r0 -= TWO32;
        sticky |= r2 & 1;
        r2 = ((r2 >>> 1) | (r1 << 31)) >>> 0;
        r1 = ((r1 >>> 1) | (r0 << 31)) >>> 0;
        r0 = ((r0 >>> 1) | 0x80000000) >>> 0;
        e1++;
      }
      this.roundExtended(s1, e1, r0, r1, r2, sticky, this.pc);
      return;
    }
    // |a| >= |x|: a - x - (sticky ? one unit of the third word : 0), sticky kept.
    let r2 = 0 - x2 - st;
    let borrow = 0;
    if (r2 < 0) { r2 += TWO32; borrow = 1; }
    let r1 = a1 - x1 - borrow;
    borrow = 0;
    if (r1 < 0) { r1 += TWO32; borrow = 1; }
    const r0 = a0 - x0 - borrow;
    if (r0 === 0 && r1 === 0 && r2 === 0 && st === 0) {
      this.setZero(this.rc === RC_DOWN ? 1 : 0);
      return;
    }
    this.normalizeRound(s1, e1, r0, r1, r2, st, this.pc);
  }

  mul(ase: number, ahi: number, alo: number, bse: number, bhi: number, blo: number): void {
    const ca = classify(ase, ahi, alo);
    const cb = classify(bse, bhi, blo);
    if (ca === CLS_UNSUPPORTED || cb === CLS_UNSUPPORTED) { this.invalid(); return; }
    if (isNaNClass(ca) || isNaNClass(cb)) { this.propagateNaN2(ase, ahi, alo, ca, bse, bhi, blo, cb); return; }
    const sign = (ase ^ bse) >>> 15;
    if (ca === CLS_INF || cb === CLS_INF) {
      if (ca === CLS_ZERO || cb === CLS_ZERO) { this.invalid(); return; }
      if (ca === CLS_DENORMAL || cb === CLS_DENORMAL) this.flags |= EXC_DE;
      this.setInf(sign);
      return;
    }
    if (ca === CLS_DENORMAL || cb === CLS_DENORMAL) this.flags |= EXC_DE;
    if (ca === CLS_ZERO || cb === CLS_ZERO) { this.setZero(sign); return; }
    this.unpack(ase, ahi, alo);
    const ea = this.uE, a0 = this.u0, a1 = this.u1;
    this.unpack(bse, bhi, blo);
    this.mulSignificands(sign, ea + this.uE - BIAS, a0, a1, this.u0, this.u1);
  }

  /** Exact 64x64 -> 128-bit product of normalized significands, then rounding. */
  private mulSignificands(sign: number, exp: number, a0: number, a1: number, b0: number, b1: number): void {
    // 16-bit limbs, little-endian; column sums stay below 2^53.
    const a_0 = a1 & 0xffff, a_1 = a1 >>> 16, a_2 = a0 & 0xffff, a_3 = a0 >>> 16;
    const b_0 = b1 & 0xffff, b_1 = b1 >>> 16, b_2 = b0 & 0xffff, b_3 = b0 >>> 16;
    let t = a_0 * b_0;
    let c = Math.floor(t / 65536);
    const p0 = t - c * 65536;
    t = c + a_0 * b_1 + a_1 * b_0;
    c = Math.floor(t / 65536);
    const p1 = t - c * 65536;
    t = c + a_0 * b_2 + a_1 * b_1 + a_2 * b_0;
    c = Math.floor(t / 65536);
    const p2 = t - c * 65536;
    t = c + a_0 * b_3 + a_1 * b_2 + a_2 * b_1 + a_3 * b_0;
    c = Math.floor(t / 65536);
    const p3 = t - c * 65536;
    t = c + a_1 * b_3 + a_2 * b_2 + a_3 * b_1;
    c = Math.floor(t / 65536);
    const p4 = t - c * 65536;
    t = c + a_2 * b_3 + a_3 * b_2;
    c = Math.floor(t / 65536);
    const p5 = t - c * 65536;
    t = c + a_3 * b_3;
    c = Math.floor(t / 65536);
    const p6 = t - c * 65536;
    const p7 = c;
    let w0 = (p7 * 65536 + p6) >>> 0;
    let w1 = (p5 * 65536 + p4) >>> 0;
    let w2 = (p3 * 65536 + p2) >>> 0;
    const w3 = (p1 * 65536 + p0) >>> 0;
    const extra = this.stickyOperand ? 1 : 0;
    let st = w3 !== 0 ? 1 : extra;
    if ((w0 & 0x80000000) !== 0) {
      exp += 1;
    } else {
      w0 = ((w0 << 1) | (w1 >>> 31)) >>> 0;
      w1 = ((w1 << 1) | (w2 >>> 31)) >>> 0;
      w2 = ((w2 << 1) | (w3 >>> 31)) >>> 0;
      st = (w3 & 0x7fffffff) !== 0 ? 1 : extra;
    }
    this.roundExtended(sign, exp, w0, w1, w2, st, this.pc);
  }

  /**
   * Set while multiplying by a truncated irrational constant (or an approximation known to
   * be inexact): the true product is a little larger in magnitude than the computed one.
   */
  stickyOperand = false;

  /**
   * Round |x| - tiny (towardZero) or |x| + tiny to the precision control: the result of a
   * function that is just below or above its argument (sin x, tan x for tiny x; atan y/x).
   */
  roundNudged(se: number, hi: number, lo: number, towardZero: boolean): void {
    this.unpack(se, hi, lo);
    let w0 = this.u0, w1 = this.u1, w2 = 0;
    if (towardZero) {
      w2 = 0xffffffff;
      if (w1 === 0) { w1 = 0xffffffff; w0 -= 1; } else w1 -= 1;
    }
    this.normalizeRound(this.uS, this.uE, w0 >>> 0, w1 >>> 0, w2, 1, this.pc);
  }

  /** a / b. */
  div(ase: number, ahi: number, alo: number, bse: number, bhi: number, blo: number): void {
    const ca = classify(ase, ahi, alo);
    const cb = classify(bse, bhi, blo);
    if (ca === CLS_UNSUPPORTED || cb === CLS_UNSUPPORTED) { this.invalid(); return; }
    if (isNaNClass(ca) || isNaNClass(cb)) { this.propagateNaN2(ase, ahi, alo, ca, bse, bhi, blo, cb); return; }
    const sign = (ase ^ bse) >>> 15;
    if (ca === CLS_INF) {
      if (cb === CLS_INF) { this.invalid(); return; }
      if (cb === CLS_DENORMAL) this.flags |= EXC_DE;
      this.setInf(sign);
      return;
    }
    if (cb === CLS_INF) {
      if (ca === CLS_DENORMAL) this.flags |= EXC_DE;
      this.setZero(sign);
      return;
    }
    if (cb === CLS_ZERO) {
      if (ca === CLS_ZERO) { this.invalid(); return; }
      this.flags |= EXC_ZE;
      this.setInf(sign);
      return;
    }
    if (ca === CLS_DENORMAL || cb === CLS_DENORMAL) this.flags |= EXC_DE;
    if (ca === CLS_ZERO) { this.setZero(sign); return; }
    this.unpack(ase, ahi, alo);
    let exp = this.uE;
    const a0 = this.u0, a1 = this.u1;
    this.unpack(bse, bhi, blo);
    exp = exp - this.uE + BIAS;
    const bh = this.u0, bl = this.u1;
    let rh = a0, rl = a1;
    if (rh < bh || (rh === bh && rl < bl)) {
      rh = rh * 2 + (rl >>> 31);
      rl = (rl << 1) >>> 0;
      exp--;
    }
    // Restoring division: 66 quotient bits (J, 63 fraction bits, 2 rounding bits).
    let q0 = 0, q1 = 0, q2 = 0;
    for (let i = 0; i < 66; i++) {
      let bit = 0;
      if (rh > bh || (rh === bh && rl >= bl)) {
        rl -= bl;
        rh -= bh;
        if (rl < 0) { rl += TWO32; rh -= 1; }
        bit = 1;
      }
      if (i < 32) q0 = q0 * 2 + bit;
      else if (i < 64) q1 = q1 * 2 + bit;
      else q2 = q2 * 2 + bit;
      rh = rh * 2 + (rl >>> 31);
      rl = (rl << 1) >>> 0;
    }
    const st = rh !== 0 || rl !== 0 ? 1 : 0;
    this.roundExtended(sign, exp, q0, q1, (q2 << 30) >>> 0, st, this.pc);
  }

  sqrt(se: number, hi: number, lo: number): void {
    const c = classify(se, hi, lo);
    if (c === CLS_UNSUPPORTED) { this.invalid(); return; }
    if (isNaNClass(c)) { this.propagateNaN1(se, hi, lo, c); return; }
    const sign = se >>> 15;
    if (c === CLS_ZERO) { this.setResult(se, 0, 0); return; }
    if (sign !== 0) { this.invalid(); return; }
    if (c === CLS_INF) { this.setInf(0); return; }
    if (c === CLS_DENORMAL) this.flags |= EXC_DE;
    this.unpack(se, hi, lo);
    const e = this.uE - BIAS;
    const odd = (e & 1) !== 0;
    const exp = Math.floor(e / 2) + BIAS;
    // Digit-by-digit square root of m * 2^67 (even e, with a leading 0 bit) or m * 2^68.
    const m0 = this.u0, m1 = this.u1;
    let rh = 0, rl = 0; // remainder
    let qh = 0, ql = 0; // root so far (qh holds the bits above 32)
    let bitIndex = odd ? 0 : -1; // index into the bit stream of m (0 = bit 63)
    for (let i = 0; i < 66; i++) {
      const b1 = streamBit(m0, m1, bitIndex);
      const b2 = streamBit(m0, m1, bitIndex + 1);
      bitIndex += 2;
      // r = r*4 + next two bits
      rh = rh * 4 + (rl >>> 30);
      rl = (((rl << 2) >>> 0) | (b1 << 1) | b2) >>> 0;
      // t = q*4 + 1
      const th = qh * 4 + (ql >>> 30);
      const tl = (((ql << 2) >>> 0) | 1) >>> 0;
      qh = qh * 2 + (ql >>> 31);
      ql = (ql << 1) >>> 0;
      if (rh > th || (rh === th && rl >= tl)) {
        rl -= tl;
        rh -= th;
        if (rl < 0) { rl += TWO32; rh -= 1; }
        ql = (ql | 1) >>> 0;
      }
    }
    this.sqrtPack(qh, ql, rh !== 0 || rl !== 0 ? 1 : 0, exp);
  }

  private sqrtPack(qh: number, ql: number, st: number, exp: number): void {
    // qh holds root bits 65..32 (34 bits), ql bits 31..0.
    const w0 = Math.floor(qh / 4) >>> 0; // bits 65..34
    const w1 = (((qh & 3) << 30) | (ql >>> 2)) >>> 0; // bits 33..2
    const w2 = ((ql & 3) << 30) >>> 0; // bits 1..0
    this.roundExtended(0, exp, w0, w1, w2, st, this.pc);
  }

  /**
   * Comparison of two non-NaN, supported values: -1 (a < b), 0, 1. Zeros of either sign are
   * equal; denormals compare by value.
   */
  compareOrdered(ase: number, ahi: number, alo: number, bse: number, bhi: number, blo: number): number {
    const az = (ase & 0x7fff) === 0 && ahi === 0 && alo === 0;
    const bz = (bse & 0x7fff) === 0 && bhi === 0 && blo === 0;
    if (az && bz) return 0;
    const sa = ase >>> 15, sb = bse >>> 15;
    if (az) return sb ? 1 : -1;
    if (bz) return sa ? -1 : 1;
    if (sa !== sb) return sa ? -1 : 1;
    this.unpack(ase, ahi, alo);
    const ea = this.uE, a0 = this.u0, a1 = this.u1;
    this.unpack(bse, bhi, blo);
    let r = 0;
    if (ea !== this.uE) r = ea < this.uE ? -1 : 1;
    else if (a0 !== this.u0) r = a0 < this.u0 ? -1 : 1;
    else if (a1 !== this.u1) r = a1 < this.u1 ? -1 : 1;
    return sa ? -r : r;
  }

  // ---- integers ---------------------------------------------------------------------------

  /** Integer magnitude of the last toInteger(): iHi:iLo, iOverflow when it needs more than 64 bits. */
  iHi = 0;
  iLo = 0;
  iOverflow = false;

  /**
   * Round a finite value to an integer under the rounding control (sets PE and roundedUp).
   * The magnitude goes to iHi:iLo; iOverflow when >= 2^64.
   */
  toInteger(se: number, hi: number, lo: number): void {
    this.iOverflow = false;
    this.roundedUp = false;
    const c = classify(se, hi, lo);
    if (c === CLS_ZERO) { this.iHi = 0; this.iLo = 0; return; }
    this.unpack(se, hi, lo);
    const e = this.uE - BIAS;
    if (e >= 64) { this.iOverflow = true; this.iHi = 0; this.iLo = 0; return; }
    if (e === 63) { this.iHi = this.u0; this.iLo = this.u1; return; }
    const sign = this.uS;
    this.shiftRight96(this.u0, this.u1, 0, 63 - e);
    let w0 = this.x0, w1 = this.x1;
    const rnd = this.x2 >>> 31;
    const rest = (this.x2 & 0x7fffffff) !== 0 || this.xs !== 0;
    if (rnd !== 0 || rest) this.flags |= EXC_PE;
    if (this.increments(sign, w1 & 1, rnd, rest)) {
      this.roundedUp = true;
      w1 += 1;
      if (w1 >= TWO32) { w1 -= TWO32; w0 += 1; }
    }
    this.iHi = w0 >>> 0;
    this.iLo = w1 >>> 0;
  }

  /** FRNDINT core: the value rounded to an integer, as an extended result. */
  roundToIntegral(se: number, hi: number, lo: number): void {
    const c = classify(se, hi, lo);
    if (c === CLS_UNSUPPORTED) { this.invalid(); return; }
    if (isNaNClass(c)) { this.propagateNaN1(se, hi, lo, c); return; }
    this.roundedUp = false;
    if (c === CLS_ZERO || c === CLS_INF) { this.setResult(se, hi, lo); return; }
    if (c === CLS_DENORMAL) this.flags |= EXC_DE;
    const e = (se & 0x7fff) - BIAS;
    if (e >= 63) { this.setResult(se, hi, lo); return; }
    this.toInteger(se, hi, lo);
    this.fromUnsigned64(se >>> 15, this.iHi, this.iLo);
  }

  /** Exact conversion of sign * (hi:lo) to extended. */
  fromUnsigned64(sign: number, hi: number, lo: number): void {
    if (hi === 0 && lo === 0) { this.setZero(sign); return; }
    let e = BIAS + 63;
    if (hi === 0) { hi = lo; lo = 0; e -= 32; }
    const z = Math.clz32(hi);
    if (z > 0) {
      hi = ((hi << z) | (lo >>> (32 - z))) >>> 0;
      lo = (lo << z) >>> 0;
      e -= z;
    }
    this.setResult((sign << 15) | e, hi, lo);
  }

  /** Exact conversion of a two's-complement 64-bit integer (hi:lo) to extended. */
  fromInt64(hi: number, lo: number): void {
    if ((hi & 0x80000000) !== 0) {
      // negate
      lo = (~lo >>> 0) + 1;
      hi = ~hi >>> 0;
      if (lo >= TWO32) { lo -= TWO32; hi = (hi + 1) >>> 0; }
      this.fromUnsigned64(1, hi, lo);
    } else {
      this.fromUnsigned64(0, hi >>> 0, lo >>> 0);
    }
  }

  fromInt32(v: number): void {
    v |= 0;
    if (v < 0) this.fromUnsigned64(1, 0, -v >>> 0);
    else this.fromUnsigned64(0, 0, v);
  }

  // ---- memory formats ---------------------------------------------------------------------

  /** Exact m32 -> extended. Flags DE for a denormal; an SNaN stays signalling (the caller decides). */
  fromFloat32(bits: number): void {
    const sign = bits >>> 31;
    const e = (bits >>> 23) & 0xff;
    const f = bits & 0x7fffff;
    if (e === 0xff) {
      this.setResult((sign << 15) | 0x7fff, (0x80000000 | (f << 8)) >>> 0, 0);
      return;
    }
    if (e === 0) {
      if (f === 0) { this.setZero(sign); return; }
      const z = Math.clz32(f); // f < 2^23: z >= 9
      // value = f * 2^-149; normalized significand f << z, exponent -149 + 31 - z
      this.setResult((sign << 15) | (BIAS - 149 + 31 - z), (f << z) >>> 0, 0);
      return;
    }
    this.setResult((sign << 15) | (e - 127 + BIAS), (0x80000000 | (f << 8)) >>> 0, 0);
  }

  /** Exact m64 (hi:lo words) -> extended. */
  fromFloat64(hi: number, lo: number): void {
    const sign = hi >>> 31;
    const e = (hi >>> 20) & 0x7ff;
    const fh = hi & 0xfffff;
    lo >>>= 0;
    if (e === 0x7ff) {
      this.setResult((sign << 15) | 0x7fff, (0x80000000 | (fh << 11) | (lo >>> 21)) >>> 0, (lo << 11) >>> 0);
      return;
    }
    if (e === 0) {
      if (fh === 0 && lo === 0) { this.setZero(sign); return; }
      // value = f * 2^-1074 with f = fh:lo (52 bits)
      this.fromUnsigned64(sign, fh, lo);
      this.rSE = (sign << 15) | ((this.rSE & 0x7fff) - (BIAS + 1074) + BIAS);
      return;
    }
    this.setResult((sign << 15) | (e - 1023 + BIAS), (0x80000000 | (fh << 11) | (lo >>> 21)) >>> 0, (lo << 11) >>> 0);
  }

  /** Result of toFloat32/toFloat64: the bits (f64: fHi:fLo). */
  fHi = 0;
  fLo = 0;

  /**
   * Extended -> m32/m64 (`double` picks m64) with the rounding control, IEEE exponent range
   * and masked responses. Sets IE/DE/OE/UE/PE; `tiny` tells a caller with UE unmasked that
   * no store must happen.
   */
  toFloat(se: number, hi: number, lo: number, double: boolean): void {
    const c = classify(se, hi, lo);
    const sign = se >>> 15;
    this.roundedUp = false;
    this.tiny = false;
    if (c === CLS_UNSUPPORTED) { this.flags |= EXC_IE; this.packFloatNaN(1, 0xc0000000, 0, double); return; }
    if (isNaNClass(c)) {
      if (c === CLS_SNAN) this.flags |= EXC_IE;
      this.packFloatNaN(sign, (hi | 0x40000000) >>> 0, lo, double);
      return;
    }
    if (c === CLS_INF) { this.packFloatSpecial(sign, true, double); return; }
    if (c === CLS_ZERO) { this.packFloatSpecial(sign, false, double); return; }
    if (c === CLS_DENORMAL) this.flags |= EXC_DE;
    this.unpack(se, hi, lo);
    if (double) this.roundPack(sign, this.uE, this.u0, this.u1, 0, 0, 53, BIAS - 1022, BIAS + 1023, false);
    else this.roundPack(sign, this.uE, this.u0, this.u1, 0, 0, 24, BIAS - 126, BIAS + 127, false);
    const normal = (this.o0 & 0x80000000) !== 0;
    if (double) {
      const e = normal ? this.oE - BIAS + 1023 : 0;
      // fraction: bits 62..11 of the significand
      const fh = (this.o0 >>> 11) & 0xfffff;
      const fl = (((this.o0 & 0x7ff) << 21) | (this.o1 >>> 11)) >>> 0;
      this.fHi = ((sign << 31) | (e << 20) | fh) >>> 0;
      this.fLo = fl;
      if (e >= 0x7ff) { this.fHi = ((sign << 31) | 0x7ff00000) >>> 0; this.fLo = 0; }
    } else {
      const e = normal ? this.oE - BIAS + 127 : 0;
      const f = (this.o0 >>> 8) & 0x7fffff;
      this.fLo = e >= 0xff ? ((sign << 31) | 0x7f800000) >>> 0 : ((sign << 31) | (e << 23) | f) >>> 0;
      this.fHi = 0;
    }
  }

  private packFloatNaN(sign: number, hi: number, lo: number, double: boolean): void {
    if (double) {
      this.fHi = ((sign << 31) | 0x7ff00000 | ((hi >>> 11) & 0xfffff)) >>> 0;
      this.fLo = (((hi & 0x7ff) << 21) | (lo >>> 11)) >>> 0;
    } else {
      this.fLo = ((sign << 31) | 0x7f800000 | ((hi >>> 8) & 0x7fffff)) >>> 0;
      this.fHi = 0;
    }
  }

  private packFloatSpecial(sign: number, inf: boolean, double: boolean): void {
    if (double) { this.fHi = ((sign << 31) | (inf ? 0x7ff00000 : 0)) >>> 0; this.fLo = 0; }
    else { this.fLo = ((sign << 31) | (inf ? 0x7f800000 : 0)) >>> 0; this.fHi = 0; }
  }

  // ---- scaling, extraction, remainder -----------------------------------------------------

  /** a * 2^n for a finite non-zero `a` and an integer n (clamped by the caller), rounded. */
  scaleFinite(se: number, hi: number, lo: number, n: number): void {
    this.unpack(se, hi, lo);
    this.roundExtended(this.uS, this.uE + n, this.u0, this.u1, 0, 0, this.pc);
  }

  /** Unbiased exponent and normalized significand of a finite non-zero value (FXTRACT). */
  extractExponent(se: number, hi: number, lo: number): number {
    this.unpack(se, hi, lo);
    this.setResult((this.uS << 15) | BIAS, this.u0, this.u1);
    return this.uE - BIAS;
  }

  /**
   * Partial remainder of two finite values, b non-zero (FPREM: truncating quotient,
   * FPREM1: round-to-nearest quotient). Sets quotientLow and incomplete.
   */
  remainder(ase: number, ahi: number, alo: number, bse: number, bhi: number, blo: number, nearest: boolean): void {
    this.quotientLow = 0;
    this.incomplete = false;
    const sa = ase >>> 15;
    if ((ase & 0x7fff) === 0 && ahi === 0 && alo === 0) { this.setResult(ase, 0, 0); return; }
    this.unpack(ase, ahi, alo);
    const ea = this.uE, a0 = this.u0, a1 = this.u1;
    this.unpack(bse, bhi, blo);
    const eb = this.uE, b0 = this.u0, b1 = this.u1;
    const d = ea - eb;
    if (d < 0) {
      if (nearest && d === -1 && (a0 > b0 || (a0 === b0 && a1 > b1))) {
        // |a| in (|b|/2, |b|): quotient 1, remainder a - b (sign flips).
        // |r| = |b| - |a| = (2B - A) at the scale of a.
        let l = b1 * 2 - a1;
        let h = b0 * 2 - a0;
        while (l < 0) { l += TWO32; h -= 1; }
        while (l >= TWO32) { l -= TWO32; h += 1; }
        this.quotientLow = 1;
        this.normalizeRemainder(sa ^ 1, ea, h, l);
        return;
      }
      this.roundExtended(sa, ea, a0, a1, 0, 0, 64);
      return;
    }
    let steps = d;
    let expBase = eb;
    if (d >= 64) {
      // Incomplete: reduce the exponent by 32..63 bits per step, quotient chopped.
      const n = 32 + (d & 31);
      steps = n;
      expBase = eb + d - n;
      this.incomplete = true;
    }
    let rh = a0, rl = a1;
    let q = 0;
    for (let i = 0; i <= steps; i++) {
      let bit = 0;
      if (rh > b0 || (rh === b0 && rl >= b1)) {
        rl -= b1;
        rh -= b0;
        if (rl < 0) { rl += TWO32; rh -= 1; }
        bit = 1;
      }
      q = ((q << 1) | bit) & 7;
      if (i < steps) {
        rh = rh * 2 + (rl >>> 31);
        rl = (rl << 1) >>> 0;
      }
    }
    let sign = sa;
    if (nearest && !this.incomplete) {
      // Compare 2R with B: round the quotient to nearest, ties to even.
      const r2h = rh * 2 + (rl >>> 31), r2l = (rl << 1) >>> 0;
      const cmp = r2h !== b0 ? (r2h > b0 ? 1 : -1) : r2l !== b1 ? (r2l > b1 ? 1 : -1) : 0;
      if (cmp > 0 || (cmp === 0 && (q & 1) !== 0)) {
        let l = b1 - rl, h = b0 - rh;
        if (l < 0) { l += TWO32; h -= 1; }
        rh = h; rl = l;
        q = (q + 1) & 7;
        sign ^= 1;
      }
    }
    this.quotientLow = q;
    this.normalizeRemainder(sign, expBase, rh, rl);
  }

  /** Remainder value sign * (h:l) * 2^(exp - BIAS - 63), exact; zero keeps the dividend's sign. */
  private normalizeRemainder(sign: number, exp: number, h: number, l: number): void {
    if (h === 0 && l === 0) { this.setZero(sign); return; }
    this.normalizeRound(sign, exp + 32, 0, h >>> 0, l >>> 0, 0, 64);
  }

  // ---- float64 bridge for the transcendental instructions --------------------------------

  /** Nearest double to a finite extended value (overflow to ±Infinity, underflow to ±0). */
  toNumber(se: number, hi: number, lo: number): number {
    const c = classify(se, hi, lo);
    const neg = (se & 0x8000) !== 0;
    if (c === CLS_ZERO) return neg ? -0 : 0;
    if (c === CLS_INF) return neg ? -Infinity : Infinity;
    if (c === CLS_QNAN || c === CLS_SNAN || c === CLS_UNSUPPORTED) return NaN;
    this.unpack(se, hi, lo);
    const e = this.uE - BIAS - 63;
    // Round the 64-bit significand to 53 bits (nearest-even), then scale exactly.
    const saveRc = this.rc;
    const saveFlags = this.flags;
    this.rc = RC_NEAREST;
    this.roundPack(0, BIAS, this.u0, this.u1, 0, 0, 53, 1, 0x7ffe, false);
    this.rc = saveRc;
    this.flags = saveFlags;
    const m = this.o0 * TWO32 + this.o1; // < 2^64, multiple of 2^11: exact
    let v = m * Math.pow(2, (this.oE - BIAS) + e);
    if (!Number.isFinite(v) || v === 0) v = scaleSafe(m, (this.oE - BIAS) + e);
    return neg ? -v : v;
  }

  /** Exact double -> extended in the result, then rounded to the precision control. */
  fromNumberRounded(v: number): void {
    this.fromNumberExact(v);
    this.roundResultToPrecision();
  }

  fromNumberExact(v: number): void {
    if (v === 0) { this.setZero(Object.is(v, -0) ? 1 : 0); return; }
    if (Number.isNaN(v)) { this.setIndefinite(); return; }
    const sign = v < 0 ? 1 : 0;
    let a = Math.abs(v);
    if (a === Infinity) { this.setInf(sign); return; }
    // Scale into [2^63, 2^64) by powers of two (exact), then split.
    let e = 0;
    while (a >= 18446744073709551616) { a /= 4294967296; e += 32; }
    while (a < 9223372036854775808) {
      if (a < 2147483648) { a *= 4294967296; e -= 32; }
      else { a *= 2; e -= 1; }
    }
    while (a >= 18446744073709551616) { a /= 2; e += 1; }
    const hi = Math.floor(a / TWO32);
    const lo = a - hi * TWO32;
    this.setResult((sign << 15) | (BIAS + 63 + e), hi >>> 0, lo >>> 0);
  }
}

function streamBit(m0: number, m1: number, index: number): number {
  // Bit `index` of the stream [m bit 63 .. m bit 0, then zeros]; negative indices are 0.
  if (index < 0 || index >= 64) return 0;
  if (index < 32) return (m0 >>> (31 - index)) & 1;
  return (m1 >>> (63 - index)) & 1;
}

function scaleSafe(m: number, e: number): number {
  // m * 2^e without intermediate overflow/underflow of the power.
  let v = m;
  while (e > 0) { const s = Math.min(e, 1000); v *= Math.pow(2, s); e -= s; }
  while (e < 0) { const s = Math.max(e, -1000); v *= Math.pow(2, s); e -= s; }
  return v;
}
