// Loads and stores: 80-bit round trips of many bit patterns, m32/m64 conversions against
// an exact reference, integers, packed BCD.
import { describe, expect, it } from 'vitest';
import {
  M, type X80, Rng, SCRATCH, cwFor, exec, fld80, fldcw, fstp80, hex80, makeRig, ratOf,
  roundRational, st,
} from './harness.js';

const SW_IE = 0x01, SW_DE = 0x02, SW_UE = 0x10, SW_OE = 0x08, SW_PE = 0x20, SW_C1 = 0x200;
const OUT = SCRATCH + 0x40;

function f32bits(x: number): number {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setFloat32(0, x, true);
  return dv.getUint32(0, true);
}

describe('80-bit loads and stores', () => {
  it('round-trip every class bit-exactly: NaN payloads, denormals, pseudo-denormals, unnormals', () => {
    const rng = new Rng(12345);
    const patterns: X80[] = [
      { se: 0x7fff, hi: 0xc0000000, lo: 1 }, // QNaN with payload
      { se: 0xffff, hi: 0x80000000, lo: 0xdeadbeef }, // SNaN (no IE on an 80-bit load)
      { se: 0x7fff, hi: 0x00000000, lo: 5 }, // pseudo-NaN
      { se: 0x7fff, hi: 0, lo: 0 }, // pseudo-infinity
      { se: 0x0000, hi: 0x80000000, lo: 0 }, // pseudo-denormal
      { se: 0x1234, hi: 0x12345678, lo: 0 }, // unnormal
      { se: 0x8000, hi: 0, lo: 0 },
    ];
    for (let n = 0; n < 2000; n++) patterns.push({ se: rng.next() & 0xffff, hi: rng.next(), lo: rng.next() });
    const r = makeRig();
    for (const p of patterns) {
      fld80(r, p);
      expect(r.fpu.statusWord & 0x7f).toBe(0);
      expect(hex80(fstp80(r))).toBe(hex80(p));
    }
  });
});

describe('m32 and m64', () => {
  it('FLD m64 / FST m64 round trip and agree with the host conversion', () => {
    const rng = new Rng(777);
    const dv = new DataView(new ArrayBuffer(8));
    for (let n = 0; n < 1500; n++) {
      const hi = rng.next(), lo = rng.next();
      dv.setUint32(0, lo, true); dv.setUint32(4, hi, true);
      const x = dv.getFloat64(0, true);
      const r = makeRig();
      r.mem.write32(SCRATCH, lo); r.mem.write32(SCRATCH + 4, hi);
      exec(r, 0xdd, M(0)); // FLD m64
      const e = (hi >>> 20) & 0x7ff;
      const isSNaN = e === 0x7ff && ((hi & 0xfffff) !== 0 || lo !== 0) && (hi & 0x80000) === 0;
      const isDenormal = e === 0 && ((hi & 0xfffff) !== 0 || lo !== 0);
      expect((r.fpu.statusWord & SW_IE) !== 0).toBe(isSNaN);
      expect((r.fpu.statusWord & SW_DE) !== 0).toBe(isDenormal);
      if (!Number.isNaN(x)) {
        // The loaded value is exactly x.
        const v = st(r, 0);
        const rat = ratOf(v);
        const back = Number(rat.num) / Number(rat.den);
        if (Number.isFinite(back) && back !== 0 && Math.abs(x) > 1e-300 && Math.abs(x) < 1e300) {
          expect(rat.neg ? -back : back).toBe(x);
        }
      }
      exec(r, 0xdd, M(3), OUT); // FSTP m64
      const wantHi = isSNaN ? (hi | 0x80000) >>> 0 : hi;
      expect([r.mem.read32(OUT + 4), r.mem.read32(OUT)]).toEqual([wantHi, lo]);
    }
  });

  it('FST m32 rounds like the exact reference in every rounding mode, with flags', () => {
    const rng = new Rng(4242);
    for (let n = 0; n < 800; n++) {
      const v = n % 4 === 0 ? rng.normal(-160, -120) : n % 4 === 1 ? rng.normal(120, 130) : rng.normal(-30, 30);
      for (let rc = 0; rc < 4; rc++) {
        const r = makeRig();
        fldcw(r, cwFor(3, rc));
        fld80(r, v);
        exec(r, 0xd9, M(3), OUT); // FSTP m32
        const want = roundRational(ratOf(v), 24, rc, -126, 127);
        // Encode the reference as m32.
        const w = want.value;
        const e = w.se & 0x7fff;
        let bits: number;
        if (e === 0x7fff) bits = 0x7f800000;
        else if ((w.hi & 0x80000000) === 0) bits = w.hi >>> 8 >>> 0; // denormal in m32 terms (J at 2^-126)
        else bits = ((e - 16383 + 127) << 23) | ((w.hi >>> 8) & 0x7fffff);
        if (e !== 0x7fff && (w.hi & 0x80000000) === 0) {
          // Reference denormal: significand m with J at 2^-126 -> m32 fraction = top 23 bits below J.
          bits = (w.hi >>> 8) & 0x7fffff;
          if (w.hi === 0 && w.lo === 0) bits = 0;
        }
        bits = (((w.se & 0x8000) << 16) | bits) >>> 0;
        const ctx = `${hex80(v)} rc=${rc}`;
        expect(r.mem.read32(OUT).toString(16), ctx).toBe(bits.toString(16));
        const sw = r.fpu.statusWord;
        expect((sw & SW_PE) !== 0, ctx).toBe(want.inexact);
        expect((sw & SW_UE) !== 0, ctx).toBe(want.underflow);
        expect((sw & SW_OE) !== 0, ctx).toBe(want.overflow);
        expect((sw & SW_C1) !== 0, ctx).toBe(want.inexact && want.roundedUp);
      }
    }
    // Cross-check nearest-even with the host for ordinary values.
    const r = makeRig();
    for (const x of [1 / 3, Math.PI, 1e-40, 3.4028235677973366e38, -2.5e-45]) {
      r.mem.write32(SCRATCH, 0); // FLD m64 of x
      const dv = new DataView(new ArrayBuffer(8)); dv.setFloat64(0, x, true);
      r.mem.write32(SCRATCH, dv.getUint32(0, true)); r.mem.write32(SCRATCH + 4, dv.getUint32(4, true));
      exec(r, 0xdd, M(0));
      exec(r, 0xd9, M(3), OUT);
      expect(r.mem.read32(OUT)).toBe(f32bits(x));
    }
  });

  it('FST m64 rounds like the exact reference in every rounding mode, with flags', () => {
    const rng = new Rng(6060);
    for (let n = 0; n < 800; n++) {
      const v = n % 4 === 0 ? rng.normal(-1080, -1015) : n % 4 === 1 ? rng.normal(1015, 1030) : rng.normal(-30, 30);
      for (let rc = 0; rc < 4; rc++) {
        const r = makeRig();
        fldcw(r, cwFor(3, rc));
        fld80(r, v);
        exec(r, 0xdd, M(3), OUT); // FSTP m64
        const want = roundRational(ratOf(v), 53, rc, -1022, 1023);
        const w = want.value;
        const e = w.se & 0x7fff;
        const sig = (BigInt(w.hi >>> 0) << 32n) | BigInt(w.lo >>> 0);
        let bits: bigint;
        if (e === 0x7fff) bits = 0x7ffn << 52n;
        else if ((w.hi & 0x80000000) === 0) bits = (sig >> 11n) & ((1n << 52n) - 1n); // denormal (J at 2^-1022)
        else bits = (BigInt(e - 16383 + 1023) << 52n) | ((sig >> 11n) & ((1n << 52n) - 1n));
        if (w.se & 0x8000) bits |= 1n << 63n;
        const got = (BigInt(r.mem.read32(OUT + 4)) << 32n) | BigInt(r.mem.read32(OUT));
        const ctx = `${hex80(v)} rc=${rc}`;
        expect(got.toString(16), ctx).toBe(bits.toString(16));
        const sw = r.fpu.statusWord;
        expect((sw & SW_PE) !== 0, ctx).toBe(want.inexact);
        expect((sw & SW_UE) !== 0, ctx).toBe(want.underflow);
        expect((sw & SW_OE) !== 0, ctx).toBe(want.overflow);
        expect((sw & SW_C1) !== 0, ctx).toBe(want.inexact && want.roundedUp);
      }
    }
  });

  it('unmasked overflow and underflow on a memory store leave memory and the stack alone', () => {
    const r = makeRig();
    fldcw(r, cwFor(3, 0, 0x3f & ~0x08)); // OE unmasked
    fld80(r, { se: 0x4000 + 200, hi: 0x80000000, lo: 0 });
    r.mem.write32(OUT, 0x11111111);
    exec(r, 0xd9, M(3), OUT);
    expect(r.mem.read32(OUT)).toBe(0x11111111);
    expect(r.fpu.statusWord & 0x3f).toBe(SW_OE);
    expect(r.fpu.statusWord & 0x80).toBe(0x80); // ES
    expect((r.fpu.statusWord >>> 11) & 7).toBe(7); // not popped
    const u = makeRig();
    fldcw(u, cwFor(3, 0, 0x3f & ~0x10)); // UE unmasked: tiny even if exact
    fld80(u, { se: 16383 - 130, hi: 0x80000000, lo: 0 }); // 2^-130: exact denormal in m32
    u.mem.write32(OUT, 0x22222222);
    exec(u, 0xd9, M(3), OUT);
    expect(u.mem.read32(OUT)).toBe(0x22222222);
    expect(u.fpu.statusWord & 0x3f).toBe(SW_UE);
  });

  it('NaNs: SNaN store raises IE and stores the quiet NaN; the masked default NaN', () => {
    const r = makeRig();
    fld80(r, { se: 0x7fff, hi: 0xa0000000, lo: 0 }); // SNaN
    exec(r, 0xd9, M(3), OUT);
    expect(r.mem.read32(OUT)).toBe(0x7fe00000);
    expect(r.fpu.statusWord & SW_IE).toBe(SW_IE);
    // inf - inf gives the real indefinite.
    const q = makeRig();
    fld80(q, { se: 0x7fff, hi: 0x80000000, lo: 0 });
    fld80(q, { se: 0x7fff, hi: 0x80000000, lo: 0 });
    exec(q, 0xd8, 0xe1); // FSUB ST, ST(1)
    expect(hex80(st(q, 0))).toBe('ffff:c000000000000000');
    // Two QNaNs: the larger significand wins.
    const p = makeRig();
    fld80(p, { se: 0x7fff, hi: 0xc0000000, lo: 9 });
    fld80(p, { se: 0xffff, hi: 0xc0000000, lo: 3 });
    exec(p, 0xd8, 0xc1);
    expect(hex80(st(p, 0))).toBe('7fff:c000000000000009');
    expect(p.fpu.statusWord & SW_IE).toBe(0);
    // SNaN + number: IE and the quieted SNaN.
    const s = makeRig();
    fld80(s, { se: 0x3fff, hi: 0x80000000, lo: 0 });
    fld80(s, { se: 0x7fff, hi: 0x80000000, lo: 7 });
    exec(s, 0xd8, 0xc1);
    expect(hex80(st(s, 0))).toBe('7fff:c000000000000007');
    expect(s.fpu.statusWord & SW_IE).toBe(SW_IE);
    // Unsupported (unnormal) operand: IE, indefinite.
    const u = makeRig();
    fld80(u, { se: 0x3fff, hi: 0x80000000, lo: 0 });
    fld80(u, { se: 0x3fff, hi: 0x40000000, lo: 0 });
    exec(u, 0xd8, 0xc9);
    expect(hex80(st(u, 0))).toBe('ffff:c000000000000000');
  });
});

describe('integers', () => {
  it('FILD/FISTP m16/m32/m64 round trips and rounding of FIST in each mode', () => {
    const rng = new Rng(99);
    for (let n = 0; n < 500; n++) {
      const r = makeRig();
      const hi = rng.next() >>> rng.int(32), lo = rng.next();
      r.mem.write32(SCRATCH, lo); r.mem.write32(SCRATCH + 4, hi | (n & 1 ? 0x80000000 : 0));
      exec(r, 0xdf, M(5)); // FILD m64
      exec(r, 0xdf, M(7), OUT); // FISTP m64
      expect([r.mem.read32(OUT), r.mem.read32(OUT + 4)]).toEqual([lo, (hi | (n & 1 ? 0x80000000 : 0)) >>> 0]);
      r.mem.write16(SCRATCH, lo & 0xffff);
      exec(r, 0xdf, M(0)); // FILD m16
      exec(r, 0xdf, M(3), OUT); // FISTP m16
      expect(r.mem.read16(OUT)).toBe(lo & 0xffff);
    }
    const cases: [number, number[]][] = [
      // value, results for RC nearest, down, up, zero
      [2.5, [2, 2, 3, 2]], [3.5, [4, 3, 4, 3]], [-2.5, [-2, -3, -2, -2]], [-0.4, [0, -1, 0, 0]], [0.75, [1, 0, 1, 0]],
    ];
    for (const [x, want] of cases) for (let rc = 0; rc < 4; rc++) {
      const r = makeRig();
      fldcw(r, cwFor(3, rc));
      const dv = new DataView(new ArrayBuffer(8)); dv.setFloat64(0, x, true);
      r.mem.write32(SCRATCH, dv.getUint32(0, true)); r.mem.write32(SCRATCH + 4, dv.getUint32(4, true));
      exec(r, 0xdd, M(0));
      exec(r, 0xdb, M(3), OUT); // FISTP m32
      expect(r.mem.read32(OUT) | 0, `${x} rc=${rc}`).toBe(want[rc]);
      expect(r.fpu.statusWord & SW_PE).toBe(SW_PE);
    }
  });

  it('out-of-range FIST stores the integer indefinite (masked) or nothing (unmasked)', () => {
    const r = makeRig();
    fld80(r, { se: 0x400e, hi: 0x80000000, lo: 0 }); // 32768
    exec(r, 0xdf, M(3), OUT);
    expect(r.mem.read16(OUT)).toBe(0x8000);
    expect(r.fpu.statusWord & 0x3f).toBe(SW_IE);
    fld80(r, { se: 0xc00e, hi: 0x80000000, lo: 0 }); // -32768 fits
    exec(r, 0xdf, M(3), OUT);
    expect(r.mem.read16(OUT)).toBe(0x8000);
    const u = makeRig();
    fldcw(u, cwFor(3, 0, 0x3e));
    fld80(u, { se: 0x403f, hi: 0x80000000, lo: 0 }); // 2^64
    u.mem.write32(OUT, 0x33333333);
    exec(u, 0xdb, M(3), OUT);
    expect(u.mem.read32(OUT)).toBe(0x33333333);
    expect((u.fpu.statusWord >>> 11) & 7).toBe(7);
  });
});

describe('packed BCD', () => {
  it('FBLD / FBSTP round trip 18 digits and signs; rounding; indefinite on overflow', () => {
    const rng = new Rng(5);
    for (let n = 0; n < 300; n++) {
      const r = makeRig();
      let digits = '';
      for (let k = 0; k < 18; k++) digits += String(rng.int(10));
      const neg = n % 2 === 1;
      for (let k = 0; k < 9; k++) {
        const lowDigit = Number(digits[17 - 2 * k]), highDigit = Number(digits[16 - 2 * k]);
        r.mem.write8(SCRATCH + k, (highDigit << 4) | lowDigit);
      }
      r.mem.write8(SCRATCH + 9, neg ? 0x80 : 0);
      exec(r, 0xdf, M(4)); // FBLD
      const v = st(r, 0);
      const rat = ratOf(v);
      expect(rat.num / rat.den).toBe(BigInt(digits));
      expect(rat.neg).toBe(neg);
      exec(r, 0xdf, M(6), OUT); // FBSTP
      for (let k = 0; k < 10; k++) expect(r.mem.read8(OUT + k)).toBe(r.mem.read8(SCRATCH + k));
    }
    const r = makeRig();
    fld80(r, { se: 0x4001, hi: 0xd0000000, lo: 0 }); // 6.5
    fldcw(r, cwFor(3, 0));
    exec(r, 0xdf, M(6), OUT);
    expect(r.mem.read8(OUT)).toBe(0x06); // 6.5 -> 6 (ties to even)
    expect(r.fpu.statusWord & SW_PE).toBe(SW_PE);
    fld80(r, { se: 0x403f, hi: 0x80000000, lo: 0 }); // 2^64 > 10^18
    exec(r, 0xdf, M(6), OUT);
    expect([...Array(10).keys()].map((k) => r.mem.read8(OUT + k))).toEqual([0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff]);
    expect(r.fpu.statusWord & SW_IE).toBe(SW_IE);
  });
});
