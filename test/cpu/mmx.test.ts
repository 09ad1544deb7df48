// MMX (Pentium II): every instruction with register and memory operands against a BigInt
// reference model written from the SDM's per-element definitions, the x87 aliasing (FSAVE/
// FRSTOR/FLD/FSTP, TOS and tag word), EMMS, the #UD/#NM/#MF rules and CPUID per model.
// Programs are hand-assembled bytes run on the real interpreter (test/cpu-system/harness.ts).
import { beforeEach, describe, expect, it } from 'vitest';

import { PcMachine } from '../../core/board/pc.js';
import { Fpu } from '../../core/cpu/fpu.js';
import { CPU_MODELS, type CpuModelName, modelHasMmx } from '../../core/cpu/system/cpuid.js';
import { SEG_CS, SEG_FS } from '../../core/cpu/system/constants.js';
import { cpuid } from '../../core/cpu/system/index.js';
import { CODE0, CODE16_0, type Machine, code, gate, newMachine, protectedMode, seg, setGdt, setIdt } from '../cpu-system/harness.js';

const START = 0x31000;
const DATA = 0x20000; // operands: A at +0, B at +8, result at +0x10, FSAVE images at +0x100
const A = DATA, B = DATA + 8, OUT = DATA + 0x10, IMG = DATA + 0x100, IMG2 = DATA + 0x200;
const HANDLERS = 0x30000; // vector v: mov eax, v; hlt at HANDLERS + 8*v

let m: Machine;
let fpu: Fpu;
let ferr: boolean;

beforeEach(() => {
  m = newMachine();
  protectedMode(m, START);
  const cpu = m.cpu;
  ferr = false;
  fpu = new Fpu(cpu, {
    raiseMathFault: () => cpu.fault(16),
    ferr: (a) => { ferr = a; },
    cr0NE: () => (cpu.cr0 & 0x20) !== 0,
    getEflags: () => cpu.getEflags(),
    setFcomiFlags: (zpc) => cpu.setArithFlags(zpc & 0x45),
    writeAX: (v) => { cpu.reg16[0] = v; },
    undefinedOpcode: () => cpu.fault(6),
  });
  cpu.fpu = fpu;
  cpu.hasMmx = true;
  cpu.cr0 |= 0x22; // MP, NE
  for (let v = 0; v < 20; v++) {
    setIdt(m, v, gate(CODE0, HANDLERS + 8 * v, 14, 0));
    code(m, HANDLERS + 8 * v, [0xb8, v, 0, 0, 0, 0xf4]);
  }
});

const NO_FAULT = -1;

/** Run `bytes` + HLT at START; returns the exception vector taken or NO_FAULT. */
function run(bytes: number[]): number {
  const cpu = m.cpu;
  code(m, START, [...bytes, 0xf4]);
  cpu.eip = START;
  cpu.regs[4] = 0x8f00;
  cpu.regs[0] = 0x7777;
  cpu.halted = false;
  cpu.run(10_000);
  if (cpu.eip === START + bytes.length + 1) return NO_FAULT;
  expect(cpu.eip).toBeGreaterThan(HANDLERS);
  return cpu.regs[0]!;
}

const d32 = (a: number): number[] => [a & 0xff, (a >>> 8) & 0xff, (a >>> 16) & 0xff, a >>> 24];
const MASK64 = (1n << 64n) - 1n;

function put64(addr: number, v: bigint): void {
  m.mem.write32(addr, Number(v & 0xffffffffn) | 0);
  m.mem.write32(addr + 4, Number((v >> 32n) & 0xffffffffn) | 0);
}
function get64(addr: number): bigint {
  return (BigInt(m.mem.read32(addr + 4) >>> 0) << 32n) | BigInt(m.mem.read32(addr) >>> 0);
}
/** MMi straight from the x87 register file (physical Ri's significand). */
function mm(i: number): bigint {
  return (BigInt(fpu.regMant[2 * i + 1]!) << 32n) | BigInt(fpu.regMant[2 * i]!);
}

// Encodings (32-bit code, flat DS).
const movqLoad = (r: number, addr: number): number[] => [0x0f, 0x6f, (r << 3) | 5, ...d32(addr)];
const movqStore = (addr: number, r: number): number[] => [0x0f, 0x7f, (r << 3) | 5, ...d32(addr)];
const regForm = (op: number, dst: number, src: number): number[] => [0x0f, op, 0xc0 | (dst << 3) | src];
const memForm = (op: number, dst: number, addr: number): number[] => [0x0f, op, (dst << 3) | 5, ...d32(addr)];
const FNSAVE = (addr: number): number[] => [0xdd, 0x35, ...d32(addr)];
const FRSTOR = (addr: number): number[] => [0xdd, 0x25, ...d32(addr)];
const FNSTENV = (addr: number): number[] => [0xd9, 0x35, ...d32(addr)];
const FNINIT = [0xdb, 0xe3];
const FNSTSW_AX = [0xdf, 0xe0];
const EMMS = [0x0f, 0x77];

// ------------------------------------------------------------------ reference model

function lanes(v: bigint, bits: number, signed: boolean): bigint[] {
  const out: bigint[] = [];
  for (let i = 0; i < 64 / bits; i++) {
    const x = (v >> BigInt(i * bits)) & ((1n << BigInt(bits)) - 1n);
    out.push(signed ? BigInt.asIntN(bits, x) : x);
  }
  return out;
}
function join(ls: bigint[], bits: number): bigint {
  let v = 0n;
  ls.forEach((x, i) => { v |= BigInt.asUintN(bits, x) << BigInt(i * bits); });
  return v;
}
const clamp = (x: bigint, lo: bigint, hi: bigint): bigint => (x < lo ? lo : x > hi ? hi : x);
const sMin = (bits: number): bigint => -(1n << BigInt(bits - 1));
const sMax = (bits: number): bigint => (1n << BigInt(bits - 1)) - 1n;
const uMax = (bits: number): bigint => (1n << BigInt(bits)) - 1n;

type Ref = (d: bigint, s: bigint) => bigint;
function laneOp(bits: number, signed: boolean, f: (x: bigint, y: bigint) => bigint): Ref {
  return (d, s) => {
    const a = lanes(d, bits, signed), b = lanes(s, bits, signed);
    return join(a.map((x, i) => f(x, b[i]!)), bits);
  };
}
function pack(bitsIn: number, bitsOut: number, signedOut: boolean): Ref {
  return (d, s) => {
    const sat = (x: bigint): bigint => (signedOut ? clamp(x, sMin(bitsOut), sMax(bitsOut)) : clamp(x, 0n, uMax(bitsOut)));
    return join([...lanes(d, bitsIn, true), ...lanes(s, bitsIn, true)].map(sat), bitsOut);
  };
}
function unpack(bits: number, high: boolean): Ref {
  return (d, s) => {
    const n = 32 / bits;
    const a = lanes(d, bits, false).slice(high ? n : 0, high ? 2 * n : n);
    const b = lanes(s, bits, false).slice(high ? n : 0, high ? 2 * n : n);
    const out: bigint[] = [];
    for (let i = 0; i < n; i++) out.push(a[i]!, b[i]!);
    return join(out, bits);
  };
}
/** Shift with a 64-bit count: logical (0), arithmetic (1), left (2). */
function shiftRef(bits: number, kind: number): Ref {
  return (d, count) => {
    const ls = lanes(d, bits, kind === 1);
    return join(ls.map((x) => {
      if (kind === 2) return count >= BigInt(bits) ? 0n : (x << count) & uMax(bits);
      if (kind === 0) return count >= BigInt(bits) ? 0n : x >> count;
      return x >> (count >= BigInt(bits) ? BigInt(bits) : count); // BigInt >> keeps the sign
    }), bits);
  };
}

const REF: Record<number, [string, Ref]> = {
  0xfc: ['PADDB', laneOp(8, false, (x, y) => x + y)],
  0xfd: ['PADDW', laneOp(16, false, (x, y) => x + y)],
  0xfe: ['PADDD', laneOp(32, false, (x, y) => x + y)],
  0xf8: ['PSUBB', laneOp(8, false, (x, y) => x - y)],
  0xf9: ['PSUBW', laneOp(16, false, (x, y) => x - y)],
  0xfa: ['PSUBD', laneOp(32, false, (x, y) => x - y)],
  0xec: ['PADDSB', laneOp(8, true, (x, y) => clamp(x + y, sMin(8), sMax(8)))],
  0xed: ['PADDSW', laneOp(16, true, (x, y) => clamp(x + y, sMin(16), sMax(16)))],
  0xe8: ['PSUBSB', laneOp(8, true, (x, y) => clamp(x - y, sMin(8), sMax(8)))],
  0xe9: ['PSUBSW', laneOp(16, true, (x, y) => clamp(x - y, sMin(16), sMax(16)))],
  0xdc: ['PADDUSB', laneOp(8, false, (x, y) => clamp(x + y, 0n, uMax(8)))],
  0xdd: ['PADDUSW', laneOp(16, false, (x, y) => clamp(x + y, 0n, uMax(16)))],
  0xd8: ['PSUBUSB', laneOp(8, false, (x, y) => clamp(x - y, 0n, uMax(8)))],
  0xd9: ['PSUBUSW', laneOp(16, false, (x, y) => clamp(x - y, 0n, uMax(16)))],
  0x74: ['PCMPEQB', laneOp(8, true, (x, y) => (x === y ? -1n : 0n))],
  0x75: ['PCMPEQW', laneOp(16, true, (x, y) => (x === y ? -1n : 0n))],
  0x76: ['PCMPEQD', laneOp(32, true, (x, y) => (x === y ? -1n : 0n))],
  0x64: ['PCMPGTB', laneOp(8, true, (x, y) => (x > y ? -1n : 0n))],
  0x65: ['PCMPGTW', laneOp(16, true, (x, y) => (x > y ? -1n : 0n))],
  0x66: ['PCMPGTD', laneOp(32, true, (x, y) => (x > y ? -1n : 0n))],
  0xd5: ['PMULLW', laneOp(16, true, (x, y) => x * y)],
  0xe5: ['PMULHW', laneOp(16, true, (x, y) => (x * y) >> 16n)],
  0xf5: ['PMADDWD', (d, s) => {
    const a = lanes(d, 16, true), b = lanes(s, 16, true);
    return join([a[0]! * b[0]! + a[1]! * b[1]!, a[2]! * b[2]! + a[3]! * b[3]!], 32);
  }],
  0xdb: ['PAND', (d, s) => d & s],
  0xdf: ['PANDN', (d, s) => ~d & s & MASK64],
  0xeb: ['POR', (d, s) => d | s],
  0xef: ['PXOR', (d, s) => d ^ s],
  0x63: ['PACKSSWB', pack(16, 8, true)],
  0x6b: ['PACKSSDW', pack(32, 16, true)],
  0x67: ['PACKUSWB', pack(16, 8, false)],
  0x60: ['PUNPCKLBW', unpack(8, false)],
  0x61: ['PUNPCKLWD', unpack(16, false)],
  0x62: ['PUNPCKLDQ', unpack(32, false)],
  0x68: ['PUNPCKHBW', unpack(8, true)],
  0x69: ['PUNPCKHWD', unpack(16, true)],
  0x6a: ['PUNPCKHDQ', unpack(32, true)],
  0xd1: ['PSRLW', shiftRef(16, 0)],
  0xd2: ['PSRLD', shiftRef(32, 0)],
  0xd3: ['PSRLQ', shiftRef(64, 0)],
  0xe1: ['PSRAW', shiftRef(16, 1)],
  0xe2: ['PSRAD', shiftRef(32, 1)],
  0xf1: ['PSLLW', shiftRef(16, 2)],
  0xf2: ['PSLLD', shiftRef(32, 2)],
  0xf3: ['PSLLQ', shiftRef(64, 2)],
};
const SHIFT_OPS = new Set([0xd1, 0xd2, 0xd3, 0xe1, 0xe2, 0xf1, 0xf2, 0xf3]);

// Deterministic operands biased towards the saturation and sign edges.
let seed = 12345;
function rnd(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) | 0;
  return (seed >>> 8) & 0xffffff;
}
const EDGE_BYTES = [0x00, 0x01, 0x7f, 0x80, 0x81, 0xfe, 0xff];
function operand(): bigint {
  const style = rnd() % 4;
  let v = 0n;
  for (let i = 0; i < 8; i++) {
    const b = style === 0 ? rnd() & 0xff : EDGE_BYTES[rnd() % EDGE_BYTES.length]!;
    v |= BigInt(b) << BigInt(8 * i);
  }
  return v;
}
function shiftCount(): bigint {
  const pick = rnd() % 8;
  if (pick === 0) return BigInt(rnd() % 200);
  if (pick === 1) return (BigInt(rnd() | 1) << 32n) | BigInt(rnd() % 8); // huge: hi dword set
  if (pick === 2) return 0xffffffffn; // 2^32 - 1 in the low dword
  return BigInt(rnd() % 66);
}

describe('MMX arithmetic, logic, pack/unpack and shifts against the reference model', () => {
  for (const [opText, [name, ref]] of Object.entries(REF)) {
    const op = Number(opText);
    it(`${name} (0F ${op.toString(16).toUpperCase()}) register and memory forms`, () => {
      const cases: Array<[bigint, bigint]> = [
        [0n, 0n], [MASK64, MASK64], [0x8000800080008000n, 0x8000800080008000n],
        [0x7fff7fff7fff7fffn, 0x0001000100010001n], [0x8080808080808080n, 0x7f7f7f7f7f7f7f7fn],
        [0x0123456789abcdefn, 0xfedcba9876543210n],
      ];
      for (let i = 0; i < 60; i++) cases.push([operand(), SHIFT_OPS.has(op) ? shiftCount() : operand()]);
      for (const [d, s] of cases) {
        const want = ref(d, s) & MASK64;
        // Register form: mm2 op= mm5.
        put64(A, d); put64(B, s); put64(OUT, 0x5a5a5a5a5a5a5a5an);
        expect(run([...movqLoad(2, A), ...movqLoad(5, B), ...regForm(op, 2, 5), ...movqStore(OUT, 2)])).toBe(NO_FAULT);
        expect(get64(OUT), `${name} reg ${d.toString(16)} ${s.toString(16)}`).toBe(want);
        expect(mm(5)).toBe(s);
        // Memory form: mm7 op= m64 (the low unpacks read m32: the rest of B is poisoned).
        const lowUnpack = op >= 0x60 && op <= 0x62;
        put64(B, lowUnpack ? (s & 0xffffffffn) | 0xdeadbeef00000000n : s);
        expect(run([...movqLoad(7, A), ...memForm(op, 7, B), ...movqStore(OUT, 7)])).toBe(NO_FAULT);
        expect(get64(OUT), `${name} mem ${d.toString(16)} ${s.toString(16)}`).toBe(want);
      }
    });
  }

  it('PMADDWD: 8000h*8000h + 8000h*8000h wraps to 80000000h', () => {
    put64(A, 0x8000800080008000n); put64(B, 0x8000800080000001n);
    expect(run([...movqLoad(0, A), ...memForm(0xf5, 0, B), ...movqStore(OUT, 0)])).toBe(NO_FAULT);
    // High dword: 2 * 2^30 = 2^31 -> 80000000h; low: 2^30 + (-32768 * 1) = 3FFF8000h.
    expect(get64(OUT)).toBe(0x800000003fff8000n);
  });

  it('pack saturation: hand-worked PACKSSWB, PACKUSWB, PACKSSDW', () => {
    put64(A, 0x8000_7fff_ff80_0080n); // words 0080 ff80 7fff 8000
    put64(B, 0x0100_fffe_007f_ff7fn); // words ff7f 007f fffe 0100
    expect(run([...movqLoad(0, A), ...memForm(0x63, 0, B), ...movqStore(OUT, 0)])).toBe(NO_FAULT);
    // signed: 7f 80 7f 80 | 80 7f fe 7f
    expect(get64(OUT)).toBe(0x7ffe7f80_807f807fn);
    expect(run([...movqLoad(0, A), ...memForm(0x67, 0, B), ...movqStore(OUT, 0)])).toBe(NO_FAULT);
    // unsigned: 80 00 ff 00 | 00 7f 00 ff
    expect(get64(OUT)).toBe(0xff007f00_00ff0080n);
    put64(A, 0x8000_0000_0000_8000n); // dwords 00008000 80000000
    put64(B, 0xffff_7fff_ffff_8000n); // dwords ffff8000 ffff7fff
    expect(run([...movqLoad(0, A), ...memForm(0x6b, 0, B), ...movqStore(OUT, 0)])).toBe(NO_FAULT);
    expect(get64(OUT)).toBe(0x8000_8000_8000_7fffn);
  });

  it('shift groups 0F 71/72/73 with imm8: counts up to and beyond the element width', () => {
    const groups: Array<[number, number, number, number]> = [ // opcode, /reg, width, kind
      [0x71, 2, 16, 0], [0x71, 4, 16, 1], [0x71, 6, 16, 2],
      [0x72, 2, 32, 0], [0x72, 4, 32, 1], [0x72, 6, 32, 2],
      [0x73, 2, 64, 0], [0x73, 6, 64, 2],
    ];
    const v = 0x8421_7f00_ff01_0080n;
    for (const [op, g, width, kind] of groups) {
      for (const n of [0, 1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255]) {
        put64(A, v);
        expect(run([...movqLoad(3, A), 0x0f, op, 0xc0 | (g << 3) | 3, n, ...movqStore(OUT, 3)])).toBe(NO_FAULT);
        expect(get64(OUT), `0F ${op.toString(16)} /${g} ${n}`).toBe(shiftRef(width, kind)(v, BigInt(n)));
      }
    }
    // Worked by hand: PSRAW by 16 fills each word with its sign; PSRLQ by 64 clears.
    put64(A, 0x8000_7fff_ffff_0001n);
    expect(run([...movqLoad(1, A), 0x0f, 0x71, 0xe1, 16, ...movqStore(OUT, 1)])).toBe(NO_FAULT);
    expect(get64(OUT)).toBe(0xffff_0000_ffff_0000n);
    expect(run([...movqLoad(1, A), 0x0f, 0x73, 0xd1, 64, ...movqStore(OUT, 1)])).toBe(NO_FAULT);
    expect(get64(OUT)).toBe(0n);
  });
});

describe('MOVD and MOVQ forms', () => {
  it('MOVD mm, r32 / m32 zero-extends; MOVD r32 / m32, mm takes the low dword', () => {
    m.cpu.regs[3] = 0x89abcdef | 0; // EBX
    // movd mm4, ebx; movd ecx, mm4 (0F 7E E1: reg=mm4, rm=ecx)
    expect(run([0x0f, 0x6e, 0xe3, 0x0f, 0x7e, 0xe1])).toBe(NO_FAULT);
    expect(mm(4)).toBe(0x89abcdefn);
    expect(fpu.regSignExp[4]).toBe(0xffff);
    expect(m.cpu.regs[1]! >>> 0).toBe(0x89abcdef);
    m.mem.write32(A, 0x13579bdf);
    put64(OUT, 0xaaaaaaaaaaaaaaaan);
    put64(B, 0xffffffff00000042n);
    expect(run([...movqLoad(6, B), 0x0f, 0x6e, 0x35, ...d32(A), 0x0f, 0x7e, 0x35, ...d32(OUT)])).toBe(NO_FAULT);
    expect(mm(6)).toBe(0x13579bdfn);
    expect(get64(OUT)).toBe(0xaaaaaaaa13579bdfn); // only 4 bytes stored
  });

  it('in 16-bit code MOVD moves 32 bits without a prefix; with 66h it is #UD', () => {
    const cpu = m.cpu;
    code(m, 0x40100, [0x0f, 0x6e, 0xc3, 0xf4, 0x66, 0x0f, 0x6e, 0xc3, 0xf4]); // movd mm0, ebx; hlt; 66 movd
    cpu.setSegment(SEG_CS, CODE16_0, 0x40000, 0xffff, 0x9b);
    cpu.updateModes();
    cpu.eip = 0x100;
    cpu.regs[3] = 0x89abcdef | 0;
    cpu.run(100);
    expect(cpu.code32).toBe(false);
    expect(cpu.eip).toBe(0x104);
    expect(mm(0)).toBe(0x89abcdefn);
    cpu.halted = false;
    cpu.run(100);
    expect(cpu.regs[0]).toBe(6);
  });

  it('MOVQ mm, mm and MOVQ mm/m64, mm (0F 7F register form writes the r/m register)', () => {
    put64(A, 0x0011223344556677n);
    expect(run([...movqLoad(0, A), 0x0f, 0x6f, 0xc8 /* movq mm1, mm0 */, 0x0f, 0x7f, 0xc2 /* movq mm2, mm0 */])).toBe(NO_FAULT);
    expect(mm(1)).toBe(0x0011223344556677n);
    expect(mm(2)).toBe(0x0011223344556677n);
    expect(fpu.regSignExp[2]).toBe(0xffff);
  });

  it('a MOVQ store across a page boundary writes all 8 bytes', () => {
    put64(A, 0x0102030405060708n);
    const at = 0x20ffc;
    expect(run([...movqLoad(0, A), ...movqStore(at, 0)])).toBe(NO_FAULT);
    expect(get64(at)).toBe(0x0102030405060708n);
  });
});

describe('aliasing with the x87 registers', () => {
  it('MOVQ then FNSAVE: the image holds MMi in physical register i, exponent FFFFh, TOS 0, tags from contents', () => {
    put64(A, 0xfedcba9876543210n);
    // fninit; fld1 (TOS 7); movq mm3, [A]; fnsave [IMG]
    expect(run([...FNINIT, 0xd9, 0xe8, ...movqLoad(3, A), ...FNSAVE(IMG)])).toBe(NO_FAULT);
    const sw = m.mem.read16(IMG + 4), tw = m.mem.read16(IMG + 8);
    expect((sw >> 11) & 7).toBe(0); // TOS = 0, so ST(i) = Ri in the image
    // R3 special (exponent all ones), R7 = 1.0 valid, the rest +0 zero: every tag non-empty.
    expect(tw).toBe(0x5555 & ~(3 << 6) & ~(3 << 14) | (2 << 6) | (0 << 14));
    expect(get64(IMG + 28 + 3 * 10)).toBe(0xfedcba9876543210n);
    expect(m.mem.read16(IMG + 28 + 3 * 10 + 8)).toBe(0xffff);
    expect(get64(IMG + 28 + 7 * 10)).toBe(0x8000000000000000n); // FLD1's significand in R7
    expect(m.mem.read16(IMG + 28 + 7 * 10 + 8)).toBe(0x3fff);
  });

  it('FRSTOR then MOVQ: MMi reads physical Ri (ST((i - TOS) & 7)) and leaves bits 79:64 alone', () => {
    // Image: TOS 5, all tags valid, ST(k) = significand 0x1111_0000_0000_000k * (k+1), exp 0x1230+k.
    for (let i = 0; i < 108; i++) m.mem.write8(IMG + i, 0);
    m.mem.write16(IMG, 0x037f);
    m.mem.write16(IMG + 4, 5 << 11);
    m.mem.write16(IMG + 8, 0x0000);
    for (let k = 0; k < 8; k++) {
      put64(IMG + 28 + 10 * k, 0x8000000000000000n | (BigInt(k + 1) * 0x0111000000000003n));
      m.mem.write16(IMG + 28 + 10 * k + 8, 0x1230 + k);
    }
    // frstor [IMG]; movq [OUT], mm2; fnstsw ax
    const v = run([...FRSTOR(IMG), ...movqStore(OUT, 2), ...FNSTSW_AX]);
    expect(v).toBe(NO_FAULT);
    // R2 = ST((2 - 5) & 7) = ST(5)
    expect(get64(OUT)).toBe(0x8000000000000000n | (6n * 0x0111000000000003n));
    expect((m.cpu.regs[0]! >> 11) & 7).toBe(0); // the MMX instruction set TOS to 0
    expect(run([...FNSAVE(IMG2)])).toBe(NO_FAULT);
    expect(m.mem.read16(IMG2 + 28 + 2 * 10 + 8)).toBe(0x1235); // exponent of R2 untouched by a read
    expect(get64(IMG2 + 28 + 2 * 10)).toBe(0x8000000000000000n | (6n * 0x0111000000000003n));
  });

  it('MMX then x87: FSTP m80 stores the MMX value with exponent FFFFh; FLD without EMMS overflows the stack', () => {
    put64(A, 0xc123456789abcdefn);
    // movq mm0, [A]; fstp tbyte [OUT] (DB /7)
    expect(run([...FNINIT, ...movqLoad(0, A), 0xdb, 0x3d, ...d32(OUT)])).toBe(NO_FAULT);
    expect(get64(OUT)).toBe(0xc123456789abcdefn);
    expect(m.mem.read16(OUT + 8)).toBe(0xffff);
    // movq mm0, [A]; fld1: all tags valid -> stack overflow (IE|SF, C1=1), masked: indefinite
    expect(run([...FNINIT, ...movqLoad(0, A), 0xd9, 0xe8, ...FNSTSW_AX])).toBe(NO_FAULT);
    const sw = m.cpu.regs[0]! & 0xffff;
    expect(sw & 0x41).toBe(0x41);
    expect(sw & 0x0200).toBe(0x0200);
    // ...and after EMMS the push works: 1.0 in ST(0) = R7.
    expect(run([...FNINIT, ...movqLoad(0, A), ...EMMS, 0xd9, 0xe8, ...FNSTSW_AX])).toBe(NO_FAULT);
    expect(m.cpu.regs[0]! & 0x3841).toBe(7 << 11);
    expect(mm(7)).toBe(0x8000000000000000n);
    expect(fpu.regSignExp[7]).toBe(0x3fff);
  });

  it('EMMS: every tag empty, TOS 0, registers kept; FCW/FIP untouched by MMX instructions', () => {
    put64(A, 0x1234n);
    expect(run([...FNINIT, 0xd9, 0xe8, 0xd9, 0xe8, ...movqLoad(1, A), ...EMMS, ...FNSTENV(IMG)])).toBe(NO_FAULT);
    expect(m.mem.read16(IMG + 8)).toBe(0xffff);
    expect((m.mem.read16(IMG + 4) >> 11) & 7).toBe(0);
    expect(mm(1)).toBe(0x1234n);
    expect(m.mem.read16(IMG)).toBe(0x037f);
    // FIP: the last x87 instruction (the second FLD1 at START+4), not an MMX one.
    expect(m.mem.read32(IMG + 12)).toBe(START + 4);
  });

});

describe('exceptions', () => {
  const PXOR_MM0 = regForm(0xef, 0, 0);

  it('#UD with CR0.EM=1 (before #NM), #NM with CR0.TS=1', () => {
    m.cpu.cr0 |= 0x4;
    expect(run(PXOR_MM0)).toBe(6);
    m.cpu.cr0 |= 0x8;
    expect(run(PXOR_MM0)).toBe(6);
    expect(run(EMMS)).toBe(6);
    m.cpu.cr0 &= ~0x4;
    expect(run(PXOR_MM0)).toBe(7);
    expect(run(EMMS)).toBe(7);
    m.cpu.cr0 &= ~0x8;
    expect(run(PXOR_MM0)).toBe(NO_FAULT);
  });

  it('#UD: MMX off, 66 prefix (SSE2 forms), LOCK, reserved /reg and memory forms of 0F 71-73, SSE opcodes', () => {
    expect(run([0x66, ...PXOR_MM0])).toBe(6);
    expect(run([0x66, 0x0f, 0x6f, 0xc1])).toBe(6);
    expect(run([0xf0, ...memForm(0xef, 0, A)])).toBe(6);
    expect(run([0x0f, 0x73, 0xd8, 1])).toBe(6); // /3 PSRLDQ (SSE2)
    expect(run([0x0f, 0x73, 0xe0, 1])).toBe(6); // /4: no PSRAQ
    expect(run([0x0f, 0x71, 0xc0, 1])).toBe(6); // /0
    expect(run([0x0f, 0x71, 0x15, ...d32(A), 1])).toBe(6); // memory form
    for (const op of [0x70, 0xd4, 0xd7, 0xe0, 0xe4, 0xe7, 0xf4, 0xf6, 0xf7, 0xda, 0xde, 0x6c, 0x6d]) {
      expect(run([0x0f, op, 0xc1, 0])).toBe(6);
    }
    m.cpu.hasMmx = false;
    expect(run(PXOR_MM0)).toBe(6);
    expect(run(EMMS)).toBe(6);
    expect(run(movqLoad(0, A))).toBe(6);
  });

  it('a pending unmasked x87 exception: #MF with CR0.NE=1 (nothing changes), FERR# with NE=0', () => {
    const CW = DATA + 0x80;
    m.mem.write16(CW, 0x037b); // ZE unmasked
    put64(A, 0x55n);
    // fninit; fldcw [CW]; fldz; fld1; fdiv st0, st1 (1/0: ZE pending); then MMX
    const divide = [...FNINIT, 0xd9, 0x2d, ...d32(CW), 0xd9, 0xee, 0xd9, 0xe8, 0xd8, 0xf1];
    expect(run([...divide, ...movqLoad(0, A)])).toBe(16);
    expect(fpu.statusWord & 0x3880).toBe((6 << 11) | 0x80); // TOS still 6, ES set
    expect(mm(0)).not.toBe(0x55n);
    expect(run([...divide, ...EMMS])).toBe(16);
    expect(fpu.tagWord).not.toBe(0xffff);
    // NE=0: FERR# goes up (IRQ13 path) and the MMX instruction runs.
    m.cpu.cr0 &= ~0x20;
    expect(run([...divide, ...movqLoad(0, A)])).toBe(NO_FAULT);
    expect(ferr).toBe(true);
    expect(mm(0)).toBe(0x55n);
    expect(fpu.statusWord & 0x3880).toBe(0x80);
  });

  it('a faulting memory operand leaves TOS, tags and the register unchanged', () => {
    setGdt(m, 0x80, seg(0, 0xff, 0x93, 0x4)); // 256-byte data segment
    m.cpu.setSegment(SEG_FS, 0x80, 0, 0xff, 0x4093);
    put64(A, 0x99n);
    // fninit; fld1; movq mm7, fs:[0xfc] -> #GP(0) (8 bytes cross the limit)
    expect(run([...FNINIT, 0xd9, 0xe8, 0x64, ...movqLoad(7, 0xfc)])).toBe(13);
    expect(fpu.statusWord & 0x3800).toBe(7 << 11);
    expect(fpu.tagWord).toBe(0x3fff);
    expect(mm(7)).toBe(0x8000000000000000n);
    expect(run([...FNINIT, 0xd9, 0xe8, 0x64, ...movqStore(0xfc, 7)])).toBe(13);
    expect(fpu.statusWord & 0x3800).toBe(7 << 11);
  });
});

describe('CPU models', () => {
  it('CPUID.1:EDX.MMX (bit 23) only on the Pentium II, and only with MMX enabled', () => {
    const cpu = m.cpu;
    const facts = cpu as unknown as { model: CpuModelName };
    for (const model of Object.keys(CPU_MODELS) as CpuModelName[]) {
      facts.model = model;
      cpu.hasMmx = modelHasMmx(model);
      cpu.regs[0] = 1;
      cpuid(cpu);
      expect((cpu.regs[2]! >>> 23) & 1, model).toBe(model === 'pentium2' ? 1 : 0);
    }
    facts.model = 'pentium2';
    cpu.hasMmx = false;
    cpu.regs[0] = 1;
    cpuid(cpu);
    expect((cpu.regs[2]! >>> 23) & 1).toBe(0);
  });

  it('the board enables MMX for pentium2 and not for pentium-pro', () => {
    const make = (cpuModel: CpuModelName): PcMachine => new PcMachine({
      memoryMiB: 4, cpuModel, biosRom: new Uint8Array(0x10000), vgaRom: null, bootOrder: 'a',
      floppy: [null, null], ide: [null, null, null, null], nic: { model: 'none', backend: null }, serial: [],
      clock: { wallTimeMs: () => 0, monotonicMs: () => 0 }, deterministic: true, log: () => {},
    });
    const p2 = make('pentium2').cpu, pro = make('pentium-pro').cpu;
    expect(p2.hasMmx).toBe(true);
    expect(pro.hasMmx).toBe(false);
    p2.regs[0] = 1; cpuid(p2);
    pro.regs[0] = 1; cpuid(pro);
    expect(p2.regs[2]! & (1 << 23)).toBe(1 << 23);
    expect(pro.regs[2]! & (1 << 23)).toBe(0);
  });
});
