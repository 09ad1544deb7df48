// Stack faults, masked and unmasked responses, pending exceptions reported at the next
// waiting instruction (#MF with CR0.NE=1, FERR# with NE=0), memory faults leaving state alone.
import { describe, expect, it } from 'vitest';
import {
  M, MathFault, PageFault, SCRATCH, UndefinedOpcode, cwFor, exec, fld80, fldcw, hex80, makeRig, st,
} from './harness.js';

const ONE = { se: 0x3fff, hi: 0x80000000, lo: 0 };
const TWO = { se: 0x4000, hi: 0x80000000, lo: 0 };
const SW_IE = 0x01, SW_ZE = 0x04, SW_DE = 0x02, SW_SF = 0x40, SW_ES = 0x80, SW_C1 = 0x200, SW_B = 0x8000;
const top = (sw: number) => (sw >>> 11) & 7;

describe('stack faults', () => {
  it('overflow: masked pushes the indefinite with C1=1; unmasked changes nothing', () => {
    const r = makeRig();
    for (let k = 0; k < 8; k++) fld80(r, ONE);
    fld80(r, TWO);
    const sw = r.fpu.statusWord;
    expect(sw & (SW_IE | SW_SF | SW_C1)).toBe(SW_IE | SW_SF | SW_C1);
    expect(hex80(st(r, 0))).toBe('ffff:c000000000000000');
    expect(top(sw)).toBe(7);

    const u = makeRig();
    fldcw(u, cwFor(3, 0, 0x3e));
    for (let k = 0; k < 8; k++) fld80(u, ONE);
    const before = u.fpu.statusWord;
    fld80(u, TWO);
    expect(top(u.fpu.statusWord)).toBe(top(before));
    expect(hex80(st(u, 0))).toBe(hex80(ONE));
    expect(u.fpu.statusWord & (SW_IE | SW_SF | SW_C1 | SW_ES | SW_B)).toBe(SW_IE | SW_SF | SW_C1 | SW_ES | SW_B);
  });

  it('underflow: masked arithmetic on an empty register gives the indefinite with C1=0', () => {
    const r = makeRig();
    fld80(r, ONE);
    exec(r, 0xde, 0xc1); // FADDP ST(1), ST: ST(1) is empty
    expect(r.fpu.statusWord & (SW_IE | SW_SF | SW_C1)).toBe(SW_IE | SW_SF);
    expect(hex80(st(r, 0))).toBe('ffff:c000000000000000');
    // FCOM against empty: unordered.
    const c = makeRig();
    exec(c, 0xd8, 0xd1);
    expect(c.fpu.statusWord & 0x4500).toBe(0x4500);
  });

  it('masked underflow on stores writes the indefinite of each format', () => {
    const r = makeRig();
    exec(r, 0xd9, M(3), 0x200); // FSTP m32
    expect(r.mem.read32(0x200)).toBe(0xffc00000);
    exec(r, 0xdd, M(3), 0x200); // FSTP m64
    expect([r.mem.read32(0x200), r.mem.read32(0x204)]).toEqual([0, 0xfff80000]);
    exec(r, 0xdf, M(3), 0x200); // FISTP m16
    expect(r.mem.read16(0x200)).toBe(0x8000);
    exec(r, 0xdb, M(3), 0x200); // FISTP m32
    expect(r.mem.read32(0x200)).toBe(0x80000000);
    exec(r, 0xdf, M(7), 0x200); // FISTP m64
    expect([r.mem.read32(0x200), r.mem.read32(0x204)]).toEqual([0, 0x80000000]);
    exec(r, 0xdb, M(7), 0x200); // FSTP m80
    expect(hex80({ lo: r.mem.read32(0x200), hi: r.mem.read32(0x204), se: r.mem.read16(0x208) })).toBe('ffff:c000000000000000');
    expect(r.fpu.statusWord & (SW_IE | SW_SF)).toBe(SW_IE | SW_SF);
  });

  it('a pseudo-denormal operand is used with exponent 1 and raises DE', () => {
    const r = makeRig();
    fld80(r, { se: 0, hi: 0, lo: 0 });
    fld80(r, { se: 0, hi: 0x80000000, lo: 0 });
    exec(r, 0xd8, 0xc1);
    expect(hex80(st(r, 0))).toBe('0001:8000000000000000');
    expect(r.fpu.statusWord & 0x3f).toBe(SW_DE);
  });

  it('FXCH with an empty register fills it with the indefinite (masked)', () => {
    const r = makeRig();
    fld80(r, TWO);
    exec(r, 0xd9, 0xc9);
    expect(hex80(st(r, 1))).toBe(hex80(TWO));
    expect(hex80(st(r, 0))).toBe('ffff:c000000000000000');
  });
});

describe('unmasked exceptions and their reporting', () => {
  it('unmasked ZE leaves the destination; the next waiting instruction raises #MF (NE=1)', () => {
    const r = makeRig();
    fldcw(r, cwFor(3, 0, 0x3f & ~SW_ZE));
    fld80(r, { se: 0, hi: 0, lo: 0 });
    fld80(r, ONE);
    exec(r, 0xd8, 0xf1); // FDIV ST, ST(1): 1 / 0
    expect(hex80(st(r, 0))).toBe(hex80(ONE));
    expect(r.fpu.statusWord & (SW_ZE | SW_ES | SW_B)).toBe(SW_ZE | SW_ES | SW_B);
    const ptrsBefore = r.fpu.fip;
    expect(() => exec(r, 0xd9, 0xe8, undefined, true, false, { ip: 0x9999, cs: 8, dp: 0, ds: 0, fop: 0 })).toThrow(MathFault);
    expect(r.fpu.fip).toBe(ptrsBefore); // still points at the faulting FDIV
    expect(top(r.fpu.statusWord)).toBe(6); // FLD1 did not run
    expect(() => r.fpu.checkPending()).toThrow(MathFault); // FWAIT too
    // No-wait instructions run: FNSTSW AX, then FNCLEX clears the condition.
    exec(r, 0xdf, 0xe0);
    expect(r.ax.value & SW_ES).toBe(SW_ES);
    exec(r, 0xdb, 0xe2);
    expect(r.fpu.statusWord & 0x80ff).toBe(0);
    exec(r, 0xd9, 0xe8); // FLD1 now runs
    expect(top(r.fpu.statusWord)).toBe(5);
  });

  it('NE=0: FERR# is asserted as the faulting instruction completes and dropped by FNCLEX', () => {
    const r = makeRig();
    r.ne.value = false;
    fldcw(r, cwFor(3, 0, 0x3e)); // IE unmasked
    expect(r.ferrLog).toEqual([]);
    exec(r, 0xd9, 0xe1); // FABS on an empty stack: IE/SF
    expect(r.ferrLog).toEqual([true]);
    exec(r, 0xd9, 0xd0); // FNOP, a waiting instruction, runs; FERR# stays up
    expect(r.ferrLog).toEqual([true]);
    exec(r, 0xd9, 0xd0);
    expect(r.ferrLog).toEqual([true]);
    exec(r, 0xdb, 0xe2); // FNCLEX
    expect(r.ferrLog).toEqual([true, false]);
    // NE=1: no FERR#, #MF at the next waiting instruction instead.
    const n = makeRig();
    fldcw(n, cwFor(3, 0, 0x3e));
    exec(n, 0xd9, 0xe1);
    expect(n.ferrLog).toEqual([]);
    expect(() => exec(n, 0xd9, 0xd0)).toThrow(MathFault);
  });

  it('FLDCW unmasking a raised flag makes it pending', () => {
    const r = makeRig();
    fld80(r, { se: 0, hi: 0, lo: 0 });
    fld80(r, ONE);
    exec(r, 0xd8, 0xf1); // masked ZE
    expect(r.fpu.statusWord & SW_ES).toBe(0);
    fldcw(r, cwFor(3, 0, 0x3b));
    expect(r.fpu.statusWord & (SW_ES | SW_B)).toBe(SW_ES | SW_B);
    expect(() => r.fpu.checkPending()).toThrow(MathFault);
    // FNINIT clears everything.
    exec(r, 0xdb, 0xe3);
    expect(r.fpu.statusWord).toBe(0);
    expect(r.fpu.controlWord).toBe(0x037f);
    expect(r.fpu.fullTagWord).toBe(0xffff);
  });

  it('unmasked DE suppresses the operation; masked DE continues', () => {
    const den = { se: 0, hi: 0x00000001, lo: 0 };
    const r = makeRig();
    fldcw(r, cwFor(3, 0, 0x3d));
    fld80(r, den);
    fld80(r, ONE);
    exec(r, 0xd8, 0xc1);
    expect(hex80(st(r, 0))).toBe(hex80(ONE));
    expect(r.fpu.statusWord & 0x3f).toBe(SW_DE);
    const m = makeRig();
    fld80(m, den);
    fld80(m, ONE);
    exec(m, 0xd8, 0xc9); // FMUL
    expect(hex80(st(m, 0))).toBe('0000:0000000100000000');
    expect(m.fpu.statusWord & 0x3f).toBe(SW_DE); // exact: no UE when masked
  });

  it('unmasked overflow on a register wraps the exponent by 0x6000', () => {
    const r = makeRig();
    fldcw(r, cwFor(3, 0, 0x37));
    fld80(r, { se: 0x7ffe, hi: 0x80000000, lo: 0 });
    fld80(r, { se: 0x7ffe, hi: 0x80000000, lo: 0 });
    exec(r, 0xd8, 0xc9);
    // 2^16383 * 2^16383 = 2^32766 -> biased 49149 - 0x6000 = 0x5ffd
    expect(hex80(st(r, 0))).toBe('5ffd:8000000000000000');
    expect(r.fpu.statusWord & 0x3f).toBe(0x08);
    const u = makeRig();
    fldcw(u, cwFor(3, 0, 0x2f));
    fld80(u, { se: 0x0001, hi: 0x80000000, lo: 0 });
    fld80(u, { se: 0x3ffe, hi: 0x80000000, lo: 0 });
    exec(u, 0xd8, 0xc9); // 2^-16382 * 0.5: tiny, exact -> UE when unmasked
    expect(hex80(st(u, 0))).toBe('6000:8000000000000000');
    expect(u.fpu.statusWord & 0x3f).toBe(0x10);
  });

  it('an unmasked invalid compare still reports unordered and does not pop', () => {
    const r = makeRig();
    fldcw(r, cwFor(3, 0, 0x3e));
    fld80(r, ONE);
    fld80(r, { se: 0x7fff, hi: 0xc0000000, lo: 0 }); // QNaN: FCOM (not FUCOM) is invalid
    exec(r, 0xd8, 0xd9); // FCOMP ST(1)
    expect(r.fpu.statusWord & 0x4700).toBe(0x4500);
    expect(r.fpu.statusWord & (SW_IE | SW_ES)).toBe(SW_IE | SW_ES);
    expect(top(r.fpu.statusWord)).toBe(6);
  });

  it('FSCALE beyond even the wrapped range gives infinity or zero (unmasked OE/UE)', () => {
    const r = makeRig();
    fldcw(r, cwFor(3, 2, 0x37)); // OE unmasked, rounding up
    fld80(r, { se: 0x4013, hi: 0x80000000, lo: 0 }); // ST(1) = 2^20
    fld80(r, { se: 0xc063, hi: 0xa553e8b9, lo: 0 }); // ST(0) = -1.29 * 2^100
    exec(r, 0xd9, 0xfd);
    expect(hex80(st(r, 0))).toBe('ffff:8000000000000000');
    expect(r.fpu.statusWord & 0x23f).toBe(0x228); // OE, PE, C1
    const u = makeRig();
    fldcw(u, cwFor(3, 0, 0x2f)); // UE unmasked
    fld80(u, { se: 0xc013, hi: 0x80000000, lo: 0 }); // -2^20
    fld80(u, { se: 0xc063, hi: 0xa553e8b9, lo: 0 });
    exec(u, 0xd9, 0xfd);
    expect(hex80(st(u, 0))).toBe('8000:0000000000000000');
    expect(u.fpu.statusWord & 0x23f).toBe(0x30); // UE, PE
  });

  it('a page fault in a memory operand leaves the FPU unchanged', () => {
    const r = makeRig();
    fld80(r, ONE);
    const before = r.fpu.statusWord;
    r.mem.faultFrom = 0x8000;
    expect(() => exec(r, 0xdd, M(0), 0x7ffc)).toThrow(PageFault); // FLD m64 straddling
    expect(() => exec(r, 0xdb, M(7), 0x7ffa)).toThrow(PageFault); // FSTP m80
    expect(() => exec(r, 0xdd, M(4), 0x7fa0)).toThrow(PageFault); // FRSTOR
    expect(r.fpu.statusWord).toBe(before);
    expect(hex80(st(r, 0))).toBe(hex80(ONE));
    expect(r.fpu.fip).toBe(0x1234);
  });

  it('reserved encodings raise #UD', () => {
    const r = makeRig();
    expect(() => exec(r, 0xd9, M(1))).toThrow(UndefinedOpcode);
    expect(() => exec(r, 0xd9, 0xe2)).toThrow(UndefinedOpcode);
    expect(() => exec(r, 0xdd, M(1))).toThrow(UndefinedOpcode); // FISTTP is SSE3
    expect(() => exec(r, 0xde, 0xd8)).toThrow(UndefinedOpcode);
    expect(() => exec(r, 0xdb, 0xf8)).toThrow(UndefinedOpcode);
    void SCRATCH;
  });
});
