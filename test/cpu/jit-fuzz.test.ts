// Differential fuzz test of the block compiler (core/cpu/jit): random loops of the compiled
// instructions (register, memory and stack operands, page-split operands, flag consumers,
// ADC/SBB/RCL/RCR chains, instructions the JIT does not compile, self-modifying stores into the
// running page, #PF and #GP inside hot blocks) run on two CPUs, JIT on and off, in the same
// random run() slices; after every slice registers, EFLAGS, EIP, CR2, instructionCount and all
// of memory must be equal.
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../core/bus/io.js';
import { PhysicalMemory } from '../../core/bus/memory.js';
import { Cpu } from '../../core/cpu/cpu.js';
import { movToCr } from '../../core/cpu/sysops.js';
import { FLAT_DATA32_DPL0, SEG_GS } from '../../core/cpu/system/constants.js';
import { enterFlatProtectedMode, writeFlatGdt } from './flat-pm.js';

const GDT = 0x1000, IDT = 0x2000, HANDLERS = 0x3000, CODE = 0x10000, COUNTER = 0x20000;
const DATA = 0x100f80, STACK_TOP = 0x180000, BAD = 0x200000, PD = 0x40000, PT = 0x41000;
const RAM = 8 << 20;

/** Small deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const le = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

function machine(program: Uint8Array, badFrom: number, jit: boolean, seedRegs: number[]): Cpu {
  const mem = new PhysicalMemory(RAM);
  const cpu = new Cpu(mem, new IoBus());
  cpu.jitEnabled = jit;
  const w32 = (a: number, v: number): void => mem.write32(a, v);
  writeFlatGdt(mem, GDT);
  for (let v = 0; v < 32; v++) {
    const h = HANDLERS + v * 16;
    w32(IDT + v * 8, (8 << 16) | (h & 0xffff));
    w32(IDT + v * 8 + 4, (h & 0xffff0000) | 0x8e00);
    mem.write8(h, 0xf4);
  }
  enterFlatProtectedMode(cpu, GDT, IDT, 0xff);
  // GS: base DATA - 0x1000, limit 0x1060 (offsets past it #GP)
  cpu.setSegment(SEG_GS, 0x10, DATA - 0x1000, 0x1060, FLAT_DATA32_DPL0);
  cpu.updateModes();
  // Identity map the first 4 MiB; the BAD pages below index badFrom are not present.
  w32(PD, PT | 7);
  for (let i = 0; i < 1024; i++) {
    const a = i << 12;
    const bad = a >= BAD && a < BAD + 64 * 4096 && ((a - BAD) >>> 12) <= badFrom;
    w32(PT + i * 4, bad ? 0 : a | 3);
  }
  for (let i = 0; i < 256; i++) mem.write8(DATA - 64 + i, (i * 37 + seedRegs[0]) & 0xff);
  mem.writeBytes(CODE, program);
  movToCr(cpu, 3, PD);
  movToCr(cpu, 0, cpu.cr0 | 0x80000000);
  for (let r = 0; r < 8; r++) cpu.regs[r] = seedRegs[r];
  cpu.regs[3] = DATA;
  cpu.regs[4] = STACK_TOP;
  cpu.eip = CODE;
  return cpu;
}

const DST = [0, 1, 2, 5, 6, 7];
const R8OK = [0, 1, 2, 4, 5, 6];

/** A random loop body; returns the program bytes and the fault point (counter value) used. */
function program(rand: () => number, iterations: number): { code: Uint8Array; badFrom: number } {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rand() * a.length)];
  const n = (k: number): number => Math.floor(rand() * k);
  const body: number[] = [];
  const dst = (): number => pick(DST);
  /** ModRM (+SIB/disp) for reg field g: a register, [ebx+d8], [esp+d8], [ebx+d32]. */
  const rm = (g: number, size: number, allowReg = true): number[] => {
    const k = n(allowReg ? 5 : 3);
    if (k === 0) return [0x40 | (g << 3) | 3, n(128)];
    if (k === 1) return [0x44 | (g << 3), 0x24, n(64) & ~(n(2) ? 3 : 0)];
    if (k === 2) return [0x80 | (g << 3) | 3, ...le(n(120))];
    return [0xc0 | (g << 3) | (size === 1 ? pick(R8OK) : dst())];
  };
  const imm32 = (): number[] => le(n(3) === 0 ? n(256) : Math.floor(rand() * 2 ** 32));
  const gens: (() => number[])[] = [
    () => [pick([0x01, 0x09, 0x11, 0x19, 0x21, 0x29, 0x31, 0x39]), ...rm(dst(), 4)],
    () => [pick([0x03, 0x0b, 0x13, 0x1b, 0x23, 0x2b, 0x33, 0x3b]), ...rm(dst(), 4)],
    () => [pick([0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38]), ...rm(pick(R8OK), 1)],
    () => [pick([0x02, 0x0a, 0x12, 0x1a, 0x22, 0x2a, 0x32, 0x3a]), 0xc0 | (pick(R8OK) << 3) | pick(R8OK)],
    () => [0x81, ...rm(n(8), 4), ...imm32()],
    () => [0x83, ...rm(n(8), 4), n(256)],
    () => [0x80, ...rm(n(8), 1), n(256)],
    () => [pick([0x05, 0x0d, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0xa9]), ...imm32()],
    () => [pick([0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0xa8]), n(256)],
    () => [0x85, ...rm(dst(), 4)],
    () => [0x84, ...rm(pick(R8OK), 1)],
    () => [0xf7, ...rm(0, 4), ...imm32()],
    () => [pick([0x40, 0x48]) + dst()],
    () => [0xff, ...rm(n(2), 4, false)],
    () => [0xfe, ...rm(n(2), 1)],
    () => [0xf7, ...rm(2 + n(2), 4)],
    () => [0x89, ...rm(dst(), 4)],
    () => [0x8b, ...rm(dst(), 4)],
    () => [0x88, ...rm(pick(R8OK), 1)],
    () => [0x8a, ...rm(pick(R8OK), 1)],
    () => [0xc7, ...rm(0, 4, false), ...imm32()],
    () => [0xc6, ...rm(0, 1, false), n(256)],
    () => [0xb8 + dst(), ...imm32()],
    () => [0xb0 + pick(R8OK), n(256)],
    () => [0x8d, 0x84 | (dst() << 3), (n(4) << 6) | (pick(DST) << 3) | 3, ...le(n(1 << 20))],
    () => [0x50 + n(8), 0x58 + dst()],
    () => [0x68, ...imm32(), 0x58 + dst()],
    () => [0x6a, n(256), 0x58 + dst()],
    () => [0xff, ...rm(6, 4, false), 0x58 + dst()],
    () => [0x0f, pick([0xb6, 0xbe]), ...rm(dst(), 1)],
    () => [0x0f, pick([0xb7, 0xbf]), ...rm(dst(), 2)],
    () => [pick([0xc1, 0xd1]), ...rm(pick([0, 1, 2, 3, 4, 5, 7]), 4)],
    () => [0xd3, ...rm(pick([0, 1, 2, 3, 4, 5, 7]), 4)],
    () => [0x0f, 0xaf, ...rm(dst(), 4)],
    () => [0x6b, ...rm(dst(), 4), n(256)],
    () => [0x69, ...rm(dst(), 4), ...imm32()],
    () => [0xf7, ...rm(4 + n(2), 4)],
    () => [pick([0x98, 0x99])],
    () => [0x87, 0xc0 | (dst() << 3) | dst()],
    () => [0x90 + pick([1, 2, 5, 6, 7])],
    () => [0x0f, 0xc8 + dst()],
    () => [0x0f, 0x90 + n(16), ...rm(0, 1)],
    () => [0x0f, 0x40 + n(16), ...rm(dst(), 4)],
    // GS-relative (GS base = DATA - 0x1000 below), moffs, DIV, SHLD/SHRD, CLD/STD
    () => [0x65, 0x8b, 0x05 | (dst() << 3), ...le(0x1000 + n(100))],
    () => [0x65, pick([0x01, 0x03, 0x29, 0x2b, 0x39]), 0x05 | (dst() << 3), ...le(0x1000 + n(100))],
    () => [0x65, 0xff, 0x05 | (n(2) << 3), ...le(0x1000 + n(100))],
    () => [pick([0xa1, 0xa3, 0xa0, 0xa2]), ...le(DATA + n(100))],
    () => [0xb9, ...le(1 + n(1000)), 0x31, 0xd2, 0xf7, 0xf1], // mov ecx, k; xor edx, edx; div ecx
    () => [0xf7, 0xf8 + pick([1, 5, 6, 7])], // idiv r (may #DE)
    () => [0x0f, pick([0xa4, 0xac]), ...rm(dst(), 4), n(40)],
    () => [0x0f, pick([0xa5, 0xad]), ...rm(dst(), 4)],
    () => [pick([0xfc, 0xfd])],
    // flag consumers the JIT does not compile (end a block)
    () => [0x9c, 0x58 + dst()], // pushfd; pop r
    () => [0x9f], // lahf
    () => [0xf5], // cmc
    // call next; pop r
    () => [0xe8, 0, 0, 0, 0, 0x58 + dst()],
  ];
  const fixed = (insn: number[]): number[] => {
    // shifts: C1 needs its imm byte, D1 none
    if (insn[0] === 0xc1 || insn[0] === 0xd1) {
      return insn[0] === 0xc1 ? [...insn, n(40)] : insn;
    }
    return insn;
  };
  const count = 8 + n(30);
  const smcTargets: number[] = [];
  for (let i = 0; i < count; i++) {
    const r = rand();
    if (r < 0.08) {
      // Jcc over the next instruction
      const next = fixed(pick(gens)());
      body.push(0x70 + n(16), next.length, ...next);
    } else if (r < 0.11) {
      // mov eax, imm32 whose immediate a later store rewrites
      smcTargets.push(body.length + 1);
      body.push(0xb8, ...imm32());
    } else {
      body.push(...fixed(pick(gens)()));
    }
  }
  // Self-modifying store: mov [CODE + target], ecx (into the running page).
  if (smcTargets.length > 0 && rand() < 0.7) body.push(0x89, 0x0d, ...le(CODE + 0x20 + pick(smcTargets)));
  // Faults driven by the loop counter: #PF when counter <= badFrom, or #GP at one iteration.
  const badFrom = 1 + n(iterations);
  const faultKind = n(3);
  if (faultKind === 0) {
    body.push(0xa1, ...le(COUNTER), 0xc1, 0xe0, 12, 0x8b, 0x80, ...le(BAD)); // mov eax,[ctr]; shl eax,12; mov eax,[eax+BAD]
  } else if (faultKind === 1) {
    body.push(0xa1, ...le(COUNTER), 0x3d, ...le(badFrom), 0x75, 6, 0x8b, 0x05, ...le(0xfffffffe)); // #GP at counter == badFrom
  }
  // Prologue: counter; then the body at CODE + 0x20; then dec [counter]; jnz body; hlt.
  const prologue = [0xc7, 0x05, ...le(COUNTER), ...le(iterations)];
  while (prologue.length < 0x20) prologue.push(0x90);
  const loop = [...body, 0xff, 0x0d, ...le(COUNTER)];
  const back = -(loop.length + 6);
  const code = [...prologue, ...loop, 0x0f, 0x85, ...le(back), 0xf4];
  return { code: new Uint8Array(code), badFrom: faultKind === 0 ? badFrom : -1 };
}

function state(cpu: Cpu): string {
  return JSON.stringify({
    regs: [...cpu.regs], eip: cpu.eip, flags: cpu.getEflags(), cr2: cpu.cr2, count: cpu.instructionCount, halted: cpu.halted,
  });
}

function sameMemory(a: Cpu, b: Cpu): boolean {
  return Buffer.from(a.mem.buffer, a.mem.byteOffset, a.mem.length).equals(Buffer.from(b.mem.buffer, b.mem.byteOffset, b.mem.length));
}

describe('JIT differential fuzz', () => {
  it('compiled blocks give the interpreter\'s state after every run() slice', () => {
    let compiled = 0, invalidations = 0, faults = 0;
    for (let seed = 1; seed <= 250; seed++) {
      const rand = rng(seed);
      const iterations = 30 + Math.floor(rand() * 30);
      const { code, badFrom } = program(rand, iterations);
      const regs = Array.from({ length: 8 }, () => Math.floor(rand() * 2 ** 32) | 0);
      const a = machine(code, badFrom, false, regs);
      const b = machine(code, badFrom, true, regs);
      for (let slice = 0; slice < 2000 && !(a.halted && b.halted); slice++) {
        const k = 1 + Math.floor(rand() * 300);
        a.run(k);
        b.run(k);
        const sa = state(a), sb = state(b);
        if (sa !== sb || !sameMemory(a, b)) {
          expect({ seed, slice, jit: sb, code: Buffer.from(code).toString('hex') }).toEqual({ seed, slice, jit: sa, code: Buffer.from(code).toString('hex') });
          expect(sameMemory(a, b)).toBe(true);
        }
      }
      expect(a.halted).toBe(true);
      if (a.eip !== CODE + code.length) faults++;
      expect(b.jit.stats.errors).toBe(0);
      compiled += b.jit.stats.compiled;
      invalidations += b.jit.stats.invalidations;
    }
    // The fuzz must really exercise compiled code, invalidation and faults.
    expect(compiled).toBeGreaterThan(200);
    expect(invalidations).toBeGreaterThan(20);
    expect(faults).toBeGreaterThan(50);
  });
});
