// Basic arithmetic against an exact BigInt reference: random operands, every rounding mode
// and precision control, including denormal, overflow and underflow ranges.
import { describe, expect, it } from 'vitest';
import {
  type Rational, type X80, Rng, cwFor, exec, fld80, fldcw, hex80, makeRig, ratAdd, ratDiv, ratMul,
  ratNeg, ratOf, ratSqrt, roundRational, st,
} from './harness.js';

const PCS = [[0, 24], [2, 53], [3, 64]] as const;
const SW_PE = 0x20, SW_UE = 0x10, SW_OE = 0x08, SW_C1 = 0x200;

type Op = 'add' | 'sub' | 'subr' | 'mul' | 'div' | 'divr';
// D8 C1 (reg field): FADD 0, FMUL 1, FSUB 4, FSUBR 5, FDIV 6, FDIVR 7 with ST(0) op ST(1).
const REG: Record<Op, number> = { add: 0, mul: 1, sub: 4, subr: 5, div: 6, divr: 7 };

function reference(op: Op, a: X80, b: X80): Rational {
  const ra = ratOf(a), rb = ratOf(b);
  switch (op) {
    case 'add': return ratAdd(ra, rb);
    case 'sub': return ratAdd(ra, ratNeg(rb));
    case 'subr': return ratAdd(rb, ratNeg(ra));
    case 'mul': return ratMul(ra, rb);
    case 'div': return ratDiv(ra, rb);
    default: return ratDiv(rb, ra);
  }
}

function runBinary(op: Op, a: X80, b: X80, pc: number, prec: number, rc: number): void {
  const r = makeRig();
  fldcw(r, cwFor(pc, rc));
  fld80(r, b); // ST(1)
  fld80(r, a); // ST(0)
  exec(r, 0xd8, 0xc0 | (REG[op] << 3) | 1);
  const got = st(r, 0);
  const exact = reference(op, a, b);
  const want = roundRational(exact, prec, rc);
  // x + (-x) is +0 except when rounding down.
  if (exact.num === 0n) want.value.se = rc === 1 ? 0x8000 : 0;
  const ctx = `${op} ${hex80(a)} ${hex80(b)} pc=${prec} rc=${rc}`;
  expect(hex80(got), ctx).toBe(hex80(want.value));
  const sw = r.fpu.statusWord;
  expect((sw & SW_PE) !== 0, `PE ${ctx}`).toBe(want.inexact);
  expect((sw & SW_UE) !== 0, `UE ${ctx}`).toBe(want.underflow);
  expect((sw & SW_OE) !== 0, `OE ${ctx}`).toBe(want.overflow);
  expect((sw & SW_C1) !== 0, `C1 ${ctx}`).toBe(want.inexact && want.roundedUp);
}

describe('x87 arithmetic is exact under every rounding and precision control', () => {
  const rng = new Rng(0x9e3779b9);
  for (const op of ['add', 'sub', 'subr', 'mul', 'div', 'divr'] as const) {
    it(`${op}: random operands`, () => {
      for (let n = 0; n < 200; n++) {
        const near = op === 'add' || op === 'sub' || op === 'subr';
        const a = rng.normal(-70, 70);
        let b: X80;
        if (near && n % 3 === 0) {
          // Close magnitudes: cancellation.
          b = { ...a, lo: (a.lo ^ rng.next() & 0xff) >>> 0, se: a.se ^ (rng.int(2) << 15) };
        } else {
          b = rng.normal(-70, 70);
        }
        for (const [pc, prec] of PCS) for (let rc = 0; rc < 4; rc++) runBinary(op, a, b, pc, prec, rc);
      }
    });
  }

  it('denormal results and operands, gradual underflow, tininess after rounding', () => {
    for (let n = 0; n < 120; n++) {
      const a = n % 2 ? rng.denormal() : rng.normal(-16382, -16300);
      const b = n % 3 ? rng.normal(-40, 5) : rng.denormal();
      for (const [pc, prec] of PCS) for (let rc = 0; rc < 4; rc++) {
        runBinary('mul', a, rng.normal(-40, 0), pc, prec, rc);
        runBinary('add', a, b, pc, prec, rc);
        runBinary('div', a, rng.normal(0, 40), pc, prec, rc);
      }
    }
  });

  it('overflow ranges', () => {
    for (let n = 0; n < 80; n++) {
      const a = rng.normal(16300, 16383);
      const b = rng.normal(0, 100);
      for (const [pc, prec] of PCS) for (let rc = 0; rc < 4; rc++) {
        runBinary('mul', a, b, pc, prec, rc);
        runBinary('div', a, { ...b, se: (b.se & 0x8000) | (16383 - 60) }, pc, prec, rc);
        runBinary('add', a, { ...a, lo: rng.next() }, pc, prec, rc);
      }
    }
  });

  it('the boundary between the largest denormal and the smallest normal', () => {
    // 0.111...1 * 2^-16382 (+ a little) under all modes: rounds to the smallest normal or not.
    const a: X80 = { se: 0x3fff, hi: 0xffffffff, lo: 0xffffffff }; // 2 - 2^-63
    for (const [pc, prec] of PCS) for (let rc = 0; rc < 4; rc++) {
      runBinary('mul', a, { se: 0x0000, hi: 0x40000000, lo: 0 }, pc, prec, rc); // * 2^-16383
      runBinary('mul', a, { se: 0x0000, hi: 0x7fffffff, lo: 0xfffffff0 }, pc, prec, rc);
      runBinary('mul', { se: 0x3ffe, hi: 0xffffffff, lo: 0xffffffff }, { se: 0x0001, hi: 0x80000000, lo: 0 }, pc, prec, rc);
    }
  });

  it('FSQRT', () => {
    for (let n = 0; n < 250; n++) {
      const a = n % 10 === 0 ? rng.denormal(0) : rng.normal(-16382, 16383, 0);
      for (const [pc, prec] of PCS) for (let rc = 0; rc < 4; rc++) {
        const r = makeRig();
        fldcw(r, cwFor(pc, rc));
        fld80(r, a);
        exec(r, 0xd9, 0xfa);
        const want = roundRational(ratSqrt(ratOf(a)), prec, rc);
        const ctx = `sqrt ${hex80(a)} pc=${prec} rc=${rc}`;
        expect(hex80(st(r, 0)), ctx).toBe(hex80(want.value));
        expect((r.fpu.statusWord & SW_PE) !== 0, ctx).toBe(want.inexact);
        expect((r.fpu.statusWord & SW_C1) !== 0, ctx).toBe(want.inexact && want.roundedUp);
      }
    }
    // Perfect squares are exact: sqrt(144) = 12.
    const r = makeRig();
    fld80(r, { se: 0x4006, hi: 0x90000000, lo: 0 });
    exec(r, 0xd9, 0xfa);
    expect(hex80(st(r, 0))).toBe('4002:c000000000000000');
    expect(r.fpu.statusWord & SW_PE).toBe(0);
  });

  it('x + 0 and 0 + 0 signs, and results rounded to the precision control even when trivial', () => {
    const r = makeRig();
    fldcw(r, cwFor(0, 0));
    fld80(r, { se: 0, hi: 0, lo: 0 });
    fld80(r, { se: 0x3fff, hi: 0xffffffff, lo: 0xffffffff });
    exec(r, 0xd8, 0xc1); // FADD: (2 - 2^-63) + 0 at 24 bits = 2
    expect(hex80(st(r, 0))).toBe('4000:8000000000000000');
    const z = makeRig();
    fldcw(z, cwFor(3, 1));
    fld80(z, { se: 0x8000, hi: 0, lo: 0 });
    fld80(z, { se: 0x0000, hi: 0, lo: 0 });
    exec(z, 0xd8, 0xc1); // +0 + -0 rounding down = -0
    expect(hex80(st(z, 0))).toBe('8000:0000000000000000');
  });
});
