// Runners for the hardware-captured CPU vectors in ../shared/cputests (ss286: real-mode
// single-step tests from an 80286; hwalu: ALU results from a real x86-64 CPU). Used by the
// vitest suites in test/cpu and by the `cputest` CLI (test/tools/cputest.ts).
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { IoBus } from '../../core/bus/io.js';
import { PhysicalMemory } from '../../core/bus/memory.js';
import { Cpu } from '../../core/cpu/cpu.js';
import { CR0_PE, FLAT_CODE32_DPL0, FLAT_DATA32_DPL0, SEG_CS, SEG_DS, SEG_ES, SEG_SS } from '../../core/cpu/system/constants.js';

export interface FileResult {
  file: string;
  passed: number;
  failed: number;
  skipped: number;
  /** Tests excluded by SS286_EXCLUSIONS (counted separately from skipped revocations). */
  excluded?: number;
  /** The first few failures, human readable. */
  failures: string[];
}

export function readJsonLines(path: string): unknown[] {
  const text = gunzipSync(readFileSync(path)).toString('utf8');
  const out: unknown[] = [];
  for (const line of text.split('\n')) if (line.trim()) out.push(JSON.parse(line));
  return out;
}

// ------------------------------------------------------------------ ss286

interface Ss286Regs {
  ax?: number; bx?: number; cx?: number; dx?: number; cs?: number; ss?: number; ds?: number; es?: number;
  sp?: number; bp?: number; si?: number; di?: number; ip?: number; flags?: number;
}

interface Ss286Test {
  idx: number;
  name: string;
  bytes: number[];
  initial: { regs: Required<Ss286Regs>; ram: [number, number][] };
  final: { regs: Ss286Regs; ram: [number, number][] };
  hash: string;
}

export interface Ss286Metadata {
  opcodes: Record<string, { status?: string; 'flags-mask'?: number; reg?: Record<string, { status?: string; 'flags-mask'?: number }> }>;
}

/** One-byte opcodes that accept LOCK on 386+ when their destination is memory. */
const LOCKABLE = new Set([0x00, 0x01, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19, 0x20, 0x21, 0x28, 0x29, 0x30, 0x31, 0x80, 0x81, 0x82, 0x83, 0x86, 0x87, 0xf6, 0xf7, 0xfe, 0xff]);
const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0xf0, 0xf2, 0xf3]);

/** True when the test's instruction carries LOCK but is not a lockable memory-destination form. */
function invalidLock(t: Ss286Test): boolean {
  let i = 0;
  let lock = false;
  while (PREFIXES.has(t.bytes[i])) {
    if (t.bytes[i] === 0xf0) lock = true;
    i++;
  }
  if (!lock) return false;
  const op = t.bytes[i];
  const modrm = t.bytes[i + 1];
  const reg = (modrm >> 3) & 7;
  if (!LOCKABLE.has(op) || modrm >= 0xc0) return true;
  if (op >= 0x80 && op <= 0x83) return reg === 7;
  if (op === 0xf6 || op === 0xf7) return reg !== 2 && reg !== 3;
  if (op === 0xfe || op === 0xff) return reg > 1;
  return false;
}

/** Opcode and ModRM after the prefixes. */
function opcodeOf(t: Ss286Test): { op: number; modrm: number; ssPrefix: boolean } {
  let i = 0;
  let ssPrefix = false;
  while (PREFIXES.has(t.bytes[i])) {
    if (t.bytes[i] === 0x36) ssPrefix = true;
    i++;
  }
  return { op: t.bytes[i], modrm: t.bytes[i + 1] ?? 0, ssPrefix };
}

/** The 286 took #GP (vector 13): the test supplies IVT entry 13 and ends in its handler. */
function took286Gp(t: Ss286Test): boolean {
  return t.initial.ram.some(([a]) => a === 0x34) && t.final.regs.cs !== undefined;
}

const STACK_OPS = new Set([0x07, 0x17, 0x1f, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x61, 0x8f, 0x9d, 0xc2, 0xc3, 0xc9, 0xca, 0xcb, 0xcf]);

/** SS-relative operand: stack instruction, BP-based ModRM or an SS: prefix. */
function ssRelative(t: Ss286Test): boolean {
  const { op, modrm, ssPrefix } = opcodeOf(t);
  if (STACK_OPS.has(op) || ssPrefix) return true;
  const mod = modrm >> 6, rm = modrm & 7;
  return mod !== 3 && (rm === 2 || rm === 3 || (rm === 6 && mod !== 0));
}

/** A word string instruction whose SI or DI reaches offset 0xFFFF during its iterations. */
function wordStringAtFFFF(t: Ss286Test): boolean {
  const { op } = opcodeOf(t);
  if (![0x6d, 0x6f, 0xa5, 0xa7, 0xab, 0xad, 0xaf].includes(op)) return false;
  const r = t.initial.regs;
  const rep = t.bytes.includes(0xf2) || t.bytes.includes(0xf3);
  const count = rep ? r.cx : 1;
  const delta = r.flags & 0x400 ? -2 : 2;
  for (let k = 0; k < count; k++) {
    if (((r.si + k * delta) & 0xffff) === 0xffff || ((r.di + k * delta) & 0xffff) === 0xffff) return true;
  }
  return false;
}

/**
 * THE list of P6-vs-286 differences: every ss286 test excluded from the pass rate matches one
 * entry here (by opcode file and, where given, a predicate on the test), with the documented
 * reason. Opcode keys are file stems ("F6.6" = F6 /6); a key without ".n" covers all forms.
 */
export const SS286_EXCLUSIONS: { opcode: string; reason: string; applies?: (t: Ss286Test) => boolean }[] = [
  { opcode: '0F', reason: '286 protected-mode system instructions and LOADALL (0F 05); on P6 0F is the two-byte escape and these are covered by the system tests' },
  { opcode: '0F00', reason: '286 system group 6 (SLDT/STR/LLDT/LTR/VERR/VERW) is #UD in real mode on 386+' },
  { opcode: '0F01', reason: '286 system group 7 (SGDT/SIDT store 0xFF in the top base byte on the 286, 0 on 386+; undefined reg fields decode differently)' },
  { opcode: 'D8', reason: 'x87 escape: the captured 286 had no coprocessor; a P6 has an integrated FPU' },
  { opcode: 'D9', reason: 'x87 escape (see D8)' },
  { opcode: 'DA', reason: 'x87 escape (see D8)' },
  { opcode: 'DB', reason: 'x87 escape (see D8)' },
  { opcode: 'DC', reason: 'x87 escape (see D8)' },
  { opcode: 'DD', reason: 'x87 escape (see D8)' },
  { opcode: 'DE', reason: 'x87 escape (see D8)' },
  { opcode: 'DF', reason: 'x87 escape (see D8)' },
  { opcode: '64', reason: 'undefined on the 286; FS: segment prefix on 386+' },
  { opcode: '65', reason: 'undefined on the 286; GS: segment prefix on 386+' },
  { opcode: '66', reason: 'undefined on the 286; operand-size prefix on 386+' },
  { opcode: '67', reason: 'undefined on the 286; address-size prefix on 386+' },
  { opcode: '*', reason: 'LOCK on a non-lockable instruction or register destination: ignored by the 286, #UD on 386+ (SDM Vol. 2 LOCK)', applies: invalidLock },
  { opcode: '*', reason: 'instruction longer than 10 bytes (redundant prefixes): #GP on the 286, legal up to 15 bytes on 386+', applies: (t) => t.bytes.length - 1 > 10 },
  { opcode: '*', reason: 'SS segment-limit violation (e.g. word at SS:FFFF): the 286 raises #GP (13), 386+ raise #SS (12) (SDM Vol. 2, real-address-mode exceptions)', applies: (t) => took286Gp(t) && ssRelative(t) },
  { opcode: '*', reason: 'word string operation at offset 0xFFFF: the 286 wraps inside the segment, 386+ raise a segment-limit fault', applies: wordStringAtFFFF },
  { opcode: '8C', reason: 'MOV r/m, FS/GS (reg 4, 5): #UD on the 286, valid on 386+', applies: (t) => [4, 5].includes((opcodeOf(t).modrm >> 3) & 7) },
  { opcode: '8E', reason: 'MOV FS/GS, r/m (reg 4, 5): #UD on the 286, valid on 386+', applies: (t) => [4, 5].includes((opcodeOf(t).modrm >> 3) & 7) },
  { opcode: '8F', reason: 'POP m whose write faults: the 286 leaves SP incremented in the exception frame, 386+ restore SP (fault restartability)', applies: took286Gp },
  { opcode: 'D4', reason: 'AAM 0 #DE: the 286 pushes FLAGS as modified by its microcode, 386+ push the FLAGS from before the instruction', applies: (t) => opcodeOf(t).modrm === 0 },
  { opcode: 'F6.6', reason: 'DIV #DE: the 286 pushes FLAGS as modified by its divide microcode, a P6 pushes FLAGS as before the faulting instruction', applies: (t) => t.final.ram.length > 0 },
  { opcode: 'F6.7', reason: 'IDIV #DE: FLAGS image pushed (see F6.6); also the 286 raises #DE for a quotient of -128 that 386+ accept', applies: (t) => t.final.ram.length > 0 || t.final.regs.cs !== undefined },
  { opcode: 'F7.6', reason: 'DIV #DE: FLAGS image pushed (see F6.6)', applies: (t) => t.final.ram.length > 0 },
  { opcode: 'F7.7', reason: 'IDIV #DE: FLAGS image pushed and -32768 quotient (see F6.7)', applies: (t) => t.final.ram.length > 0 || t.final.regs.cs !== undefined },
];

/**
 * Real mode on the 286 forces FLAGS bits 12-15 to 0; on a P6 IOPL/NT stay writable in real
 * mode. The harness therefore loads the initial FLAGS with those bits clear (a 286 could not
 * have held them) and does not compare them in the final FLAGS register.
 */
const SS286_FLAGS_COMPARE = 0x0fff;

/** The exclusion that covers this test, or null. */
export function ss286Exclusion(stem: string, t: Ss286Test | null): string | null {
  for (const e of SS286_EXCLUSIONS) {
    if (e.opcode !== '*' && e.opcode !== stem && e.opcode !== stem.split('.')[0]) continue;
    if (e.applies && (t === null || !e.applies(t))) continue;
    return e.reason;
  }
  return null;
}

/** Whole-file exclusion (no predicate). */
export function ss286Excluded(stem: string): string | null {
  const e = SS286_EXCLUSIONS.find((x) => !x.applies && (x.opcode === stem || x.opcode === stem.split('.')[0]));
  return e ? e.reason : null;
}

function flagsMaskFor(meta: Ss286Metadata, stem: string): number {
  const [op, reg] = stem.split('.');
  const entry = meta.opcodes[op];
  if (!entry) return 0xffff;
  if (reg !== undefined && entry.reg?.[reg]) return entry.reg[reg]['flags-mask'] ?? 0xffff;
  return entry['flags-mask'] ?? 0xffff;
}

const SS286_RAM = 0x200000;

/** A machine reused across tests: 2 MiB RAM covers the 286's 1 MiB + 64 KiB real-mode reach. */
export class Ss286Machine {
  readonly memory = new PhysicalMemory(SS286_RAM);
  readonly io = new IoBus();
  readonly cpu = new Cpu(this.memory, this.io);

  run(test: Ss286Test, flagsMask: number): string | null {
    const { cpu, memory } = this;
    const mem = memory.mem;
    cpu.reset();
    const r = test.initial.regs;
    const regs16 = cpu.reg16;
    cpu.regs.fill(0);
    regs16[0] = r.ax; regs16[2] = r.cx; regs16[4] = r.dx; regs16[6] = r.bx;
    regs16[8] = r.sp; regs16[10] = r.bp; regs16[12] = r.si; regs16[14] = r.di;
    for (const [seg, sel] of [[SEG_ES, r.es], [SEG_CS, r.cs], [SEG_SS, r.ss], [SEG_DS, r.ds]] as const) {
      cpu.setSegment(seg, sel, sel << 4, 0xffff, seg === SEG_CS ? 0x9b : 0x93);
    }
    cpu.eip = r.ip;
    cpu.setEflags(r.flags & 0x0fff);
    for (const [a, v] of test.initial.ram) mem[a] = v;
    let error: string | null = null;
    try {
      cpu.run(2000);
      if (!cpu.halted) error = 'did not reach HLT';
    } catch (e) {
      error = `threw ${(e as Error).message}`;
    }
    if (error === null) error = this.compare(test, flagsMask);
    // Clean the RAM touched by this test.
    for (const [a] of test.initial.ram) mem[a] = 0;
    for (const [a] of test.final.ram) mem[a] = 0;
    return error;
  }

  private compare(test: Ss286Test, flagsMask: number): string | null {
    const { cpu, memory } = this;
    const exp = { ...test.initial.regs, ...test.final.regs };
    const got: Required<Ss286Regs> = {
      ax: cpu.reg16[0], cx: cpu.reg16[2], dx: cpu.reg16[4], bx: cpu.reg16[6], sp: cpu.reg16[8], bp: cpu.reg16[10],
      si: cpu.reg16[12], di: cpu.reg16[14], es: cpu.segSel[SEG_ES], cs: cpu.segSel[SEG_CS], ss: cpu.segSel[SEG_SS],
      ds: cpu.segSel[SEG_DS], ip: cpu.eip, flags: cpu.getEflags() & 0xffff,
    };
    const diffs: string[] = [];
    for (const k of Object.keys(got) as (keyof Ss286Regs)[]) {
      let e = exp[k], g = got[k];
      if (k === 'flags') {
        e &= flagsMask & SS286_FLAGS_COMPARE;
        g &= flagsMask & SS286_FLAGS_COMPARE;
      }
      if (e !== g) diffs.push(`${k}=${g.toString(16)} want ${e.toString(16)}`);
    }
    for (const [a, v] of test.final.ram) {
      const g = memory.mem[a];
      if (g !== v) diffs.push(`[${a.toString(16)}]=${g.toString(16)} want ${v.toString(16)}`);
    }
    return diffs.length ? diffs.join(' ') : null;
  }
}

export function runSs286File(path: string, meta: Ss286Metadata, revoked: Set<string>, limit = Infinity, machine = new Ss286Machine()): FileResult {
  const file = path.split('/').pop()!;
  const stem = file.replace('.jsonl.gz', '');
  const mask = flagsMaskFor(meta, stem);
  const tests = readJsonLines(path) as Ss286Test[];
  const res: FileResult = { file: stem, passed: 0, failed: 0, skipped: 0, failures: [] };
  const step = limit < tests.length ? tests.length / limit : 1;
  for (let i = 0; i < tests.length; i += step) {
    const t = tests[Math.floor(i)];
    if (revoked.has(t.hash)) {
      res.skipped++;
      continue;
    }
    if (ss286Exclusion(stem, t) !== null) {
      res.excluded = (res.excluded ?? 0) + 1;
      continue;
    }
    const err = machine.run(t, mask);
    if (err === null) res.passed++;
    else {
      res.failed++;
      if (res.failures.length < 5) res.failures.push(`#${t.idx} ${t.name} [${t.bytes.map((b) => b.toString(16)).join(' ')}]: ${err}`);
    }
  }
  return res;
}

export function readRevocations(path: string): Set<string> {
  const set = new Set<string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const s = line.trim();
    if (s && !s.startsWith('#')) set.add(s);
  }
  return set;
}

// ------------------------------------------------------------------ hwalu

interface HwaluVector {
  op: string;
  size: number;
  in: { a?: number; b?: number; c?: number; d?: number; flags: number };
  out: { a?: number; b?: number; d?: number; flags: number };
  undef: number;
  undefOut?: string[];
}

const ALU_OPCODE: Record<string, number> = { add: 0x00, or: 0x08, adc: 0x10, sbb: 0x18, and: 0x20, sub: 0x28, xor: 0x30, cmp: 0x38 };
const SHIFT_REG: Record<string, number> = { rol: 0, ror: 1, rcl: 2, rcr: 3, shl: 4, shr: 5, sar: 7 };
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

/** Machine-code bytes for a hwalu vector (32-bit code segment; 66 selects 16-bit operands). */
export function hwaluEncoding(v: HwaluVector): number[] {
  const { op, size } = v;
  const p16 = size === 16 ? [0x66] : [];
  const w = size === 8 ? 0 : 1;
  if (op in ALU_OPCODE) return [...p16, ALU_OPCODE[op] + w, 0xd8];
  const shiftName = op.endsWith('1') ? op.slice(0, -1) : op;
  if (shiftName in SHIFT_REG) return [...p16, (op.endsWith('1') ? 0xd0 : 0xd2) + w, 0xc0 | (SHIFT_REG[shiftName] << 3)];
  switch (op) {
    case 'test': return [...p16, 0x84 + w, 0xd8];
    case 'inc': return [...p16, 0xfe + w, 0xc0];
    case 'dec': return [...p16, 0xfe + w, 0xc8];
    case 'not': return [...p16, 0xf6 + w, 0xd0];
    case 'neg': return [...p16, 0xf6 + w, 0xd8];
    case 'shld': return [...p16, 0x0f, 0xa5, 0xd8];
    case 'shrd': return [...p16, 0x0f, 0xad, 0xd8];
    case 'mul': return [...p16, 0xf6 + w, 0xe3];
    case 'imul': return [...p16, 0xf6 + w, 0xeb];
    case 'div': return [...p16, 0xf6 + w, 0xf3];
    case 'idiv': return [...p16, 0xf6 + w, 0xfb];
    case 'imul2': return [...p16, 0x0f, 0xaf, 0xc3];
    case 'imul3': {
      const c = v.in.c ?? 0;
      const imm = size === 16 ? [c & 0xff, c >>> 8] : [c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff, c >>> 24];
      return [...p16, 0x69, 0xc3, ...imm];
    }
    case 'bsf': return [...p16, 0x0f, 0xbc, 0xc3];
    case 'bsr': return [...p16, 0x0f, 0xbd, 0xc3];
    case 'bt': return [...p16, 0x0f, 0xa3, 0xd8];
    case 'bts': return [...p16, 0x0f, 0xab, 0xd8];
    case 'btr': return [...p16, 0x0f, 0xb3, 0xd8];
    case 'btc': return [...p16, 0x0f, 0xbb, 0xd8];
    case 'bswap': return [0x0f, 0xc8];
    case 'xadd': return [...p16, 0x0f, 0xc0 + w, 0xd8];
    case 'cmpxchg': return [...p16, 0x0f, 0xb0 + w, 0xcb];
    case 'cbw': case 'cwde': return [...p16, 0x98];
    case 'cwd': case 'cdq': return [...p16, 0x99];
    case 'movsxb': return [...p16, 0x0f, 0xbe, 0xc3];
    case 'movzxb': return [...p16, 0x0f, 0xb6, 0xc3];
    case 'movsxw': return [0x0f, 0xbf, 0xc3];
    case 'movzxw': return [0x0f, 0xb7, 0xc3];
    case 'lahf': return [0x9f];
    case 'sahf': return [0x9e];
    case 'cmc': return [0xf5];
    case 'clc': return [0xf8];
    case 'stc': return [0xf9];
  }
  if (op.startsWith('set')) return [0x0f, 0x90 + CC.indexOf(op.slice(3)), 0xc0];
  if (op.startsWith('cmov')) return [...p16, 0x0f, 0x40 + CC.indexOf(op.slice(4)), 0xc3];
  throw new Error(`hwalu: unknown op ${op}`);
}

const CODE_ADDR = 0x1000;

export class HwaluMachine {
  readonly memory = new PhysicalMemory(0x10000);
  readonly io = new IoBus();
  readonly cpu = new Cpu(this.memory, this.io);

  constructor() {
    const cpu = this.cpu;
    cpu.cr0 |= CR0_PE;
    cpu.updateModes();
    cpu.setSegment(SEG_CS, 8, 0, -1, FLAT_CODE32_DPL0);
    for (const s of [SEG_ES, SEG_SS, SEG_DS]) cpu.setSegment(s, 16, 0, -1, FLAT_DATA32_DPL0);
    cpu.updateModes();
  }

  /** Returns null when every defined result matches, else a description. `exact` reports undefined-bit matches. */
  run(v: HwaluVector, code: number[]): { error: string | null; exact: boolean } {
    const { cpu, memory } = this;
    memory.mem.set(code, CODE_ADDR);
    const regs = cpu.regs;
    regs.fill(0x5a5a5a5a);
    const is8Wide = v.size === 8 && ['mul', 'imul', 'div', 'idiv'].includes(v.op);
    if (v.op === 'lahf' || v.op === 'sahf') cpu.reg8[1] = v.in.a ?? 0;
    else if (v.in.a !== undefined) regs[0] = v.in.a;
    if (v.in.b !== undefined) regs[3] = v.in.b;
    if (v.in.c !== undefined) regs[1] = v.in.c;
    if (v.in.d !== undefined) regs[2] = v.in.d;
    cpu.setEflags(v.in.flags | 2);
    cpu.eip = CODE_ADDR;
    cpu.halted = false;
    cpu.run(1);
    if (cpu.eip !== CODE_ADDR + code.length) return { error: `eip ${cpu.eip.toString(16)} (fault?)`, exact: false };
    const width = v.size === 0 ? 32 : v.size;
    const diffs: string[] = [];
    let exact = true;
    for (const key of Object.keys(v.out) as (keyof HwaluVector['out'])[]) {
      if (key === 'flags') continue;
      let got: number, bits = width;
      if (key === 'a' && (v.op === 'lahf' || v.op === 'sahf')) { got = cpu.reg8[1]; bits = 8; }
      else if (key === 'a' && is8Wide) { got = cpu.reg16[0]; bits = 16; }
      else got = regs[key === 'a' ? 0 : key === 'b' ? 3 : 2];
      const m = bits === 32 ? 0xffffffff : (1 << bits) - 1;
      const want = v.out[key]! >>> 0;
      if (((got & m) >>> 0) !== want) {
        if (v.undefOut?.includes(key)) exact = false;
        else diffs.push(`${key}=${((got & m) >>> 0).toString(16)} want ${want.toString(16)}`);
      }
    }
    const f = cpu.getEflags() & 0x8d5;
    const fd = (f ^ v.out.flags) & 0x8d5;
    if (fd & ~v.undef) diffs.push(`flags=${f.toString(16)} want ${v.out.flags.toString(16)} (undef ${v.undef.toString(16)})`);
    else if (fd) exact = false;
    return { error: diffs.length ? diffs.join(' ') : null, exact };
  }
}

export interface HwaluResult extends FileResult {
  /** Vectors where undefined flags/results also match the captured CPU. */
  exact: number;
}

export function runHwaluFile(path: string, limit = Infinity, machine = new HwaluMachine()): HwaluResult {
  const stem = path.split('/').pop()!.replace('.jsonl.gz', '');
  const vectors = readJsonLines(path) as HwaluVector[];
  const res: HwaluResult = { file: stem, passed: 0, failed: 0, skipped: 0, failures: [], exact: 0 };
  const step = limit < vectors.length ? vectors.length / limit : 1;
  for (let i = 0; i < vectors.length; i += step) {
    const v = vectors[Math.floor(i)];
    const { error, exact } = machine.run(v, hwaluEncoding(v));
    if (error === null) {
      res.passed++;
      if (exact) res.exact++;
    } else {
      res.failed++;
      if (res.failures.length < 5) res.failures.push(`${JSON.stringify(v.in)}: ${error}`);
    }
  }
  return res;
}
