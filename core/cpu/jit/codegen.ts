// Block compiler: decodes a run of 32-bit flat-mode instructions starting at one physical
// address (never crossing its 4 KiB page, at most MAX_INSNS) and emits a JS function for it.
//
// A block is specialised on the machine mode it was compiled in (see BlockCache: flat 32-bit
// code/stack/data segments, CPL, paging on/off, A20); the cache runs it only in that mode.
// Generated code:
//  - keeps guest registers in cpu.regs and reads memory through the typed-array TLB: an
//    aligned access to a plain RAM page (and, for writes, a page nobody watches) goes straight
//    into cpu.mem/mem16/mem32; everything else calls the interpreter's accessors (helpers.ts),
//    which do the limit check, page walk, #PF/#GP/#AC, MMIO and watched-page (code
//    invalidation, VGA) work;
//  - tracks the arithmetic flags symbolically (FlagState): a flag writer leaves its operands
//    and result in locals, and the lazy-flag fields of the Cpu are written only where someone
//    can look at them (block exits, before any out-of-line call); Jcc/SETcc/CMOVcc after
//    CMP/SUB/TEST/logic in the same block compare the operands directly;
//  - before every out-of-line call stores instructionCount/startEip/startEsp as the
//    interpreter has them during that instruction, so a fault (thrown by the helper) leaves
//    exactly the interpreter's state; each instruction does its memory writes before any
//    register write, so the run loop's restart from startEip/startEsp is exact;
//  - after an instruction whose write went out of line, leaves the block if eventPending is
//    set (MMIO write, or a write that invalidated compiled code — possibly this block).

import type { Cpu } from '../cpu.js';
import { LZ_ADD, LZ_LOGIC, LZ_SUB, PARITY } from '../cpu.js';
import * as H from './helpers.js';

export const MAX_INSNS = 64;

export interface CompiledBlock {
  readonly fn: (cpu: Cpu) => void;
  /** Instructions in the block (the most it runs). */
  readonly n: number;
  /** EIP after the block's last instruction (its fall-through point). */
  readonly end: number;
}

/** What the block may assume (part of the cache key). */
export interface BlockMode {
  paging: boolean;
  cpl: number;
  a20: boolean;
}

class Unsupported extends Error {}
const UNSUPPORTED = new Unsupported('unsupported');

const R8 = [0, 4, 8, 12, 1, 5, 9, 13];
const SEG_ES = 0, SEG_SS = 2, SEG_DS = 3, SEG_FS = 4, SEG_GS = 5;

// Symbolic arithmetic-flag state (compile time).
//   K_CPU:  the Cpu's flags/lazy fields are current.
//   K_LAZY: an ADD/SUB/logic result in locals a, b, r (top 31 or 7); pure = plain ADD/SUB/CMP/NEG
//           or logic (compare shortcuts allowed), false for ADC/SBB.
//   K_RES:  all six flags from a result r and explicit cf/af/of expressions (shifts, INC/DEC).
//   K_ROT:  ROL/ROR result r over `base` (CF, OF from r; the rest from base).
const K_CPU = 0, K_LAZY = 1, K_RES = 2, K_ROT = 3;
interface FS {
  k: number;
  op?: number;
  a?: string;
  b?: string;
  r?: string;
  top?: number;
  pure?: boolean;
  cf?: string;
  af?: string;
  of?: string;
  left?: boolean;
  base?: FS;
}
const CPU_FLAGS: FS = { k: K_CPU };

function msb(r: string, top: number): string {
  return top === 31 ? `(${r} >>> 31)` : `((${r} >>> ${top}) & 1)`;
}

/** CF as a 0/1 integer expression. */
function cfOf(fs: FS): string {
  switch (fs.k) {
    case K_LAZY: {
      const { a, b, r, top } = fs;
      if (fs.op === LZ_LOGIC) return '0';
      if (fs.op === LZ_ADD) return `((((${a} & ${b}) | ((${a} | ${b}) & ~${r})) >>> ${top}) & 1)`;
      return `((((~${a} & ${b}) | ((~${a} | ${b}) & ${r})) >>> ${top}) & 1)`;
    }
    case K_RES: return fs.cf!;
    case K_ROT: return fs.left ? `(${fs.r} & 1)` : `(${fs.r} >>> 31)`;
    default: return 'cpu.getCF()';
  }
}

/** OF as a 0/1 integer expression. */
function ofOf(fs: FS): string {
  switch (fs.k) {
    case K_LAZY: {
      const { a, b, r, top } = fs;
      if (fs.op === LZ_LOGIC) return '0';
      if (fs.op === LZ_ADD) return `((((${a} ^ ${r}) & (${b} ^ ${r})) >>> ${top}) & 1)`;
      return `((((${a} ^ ${b}) & (${a} ^ ${r})) >>> ${top}) & 1)`;
    }
    case K_RES: return fs.of!;
    case K_ROT: return fs.left ? `(((${fs.r} >>> 31) ^ ${fs.r}) & 1)` : `(((${fs.r} >>> 31) ^ (${fs.r} >>> 30)) & 1)`;
    default: return '(cpu.getOF() >> 11)';
  }
}

/** ZF, SF, PF as boolean expressions. */
function zfB(fs: FS): string {
  if (fs.k === K_ROT) return zfB(fs.base!);
  if (fs.k === K_LAZY || fs.k === K_RES) return `(${fs.r} === 0)`;
  return '(cpu.getZF() !== 0)';
}
function sfB(fs: FS): string {
  if (fs.k === K_ROT) return sfB(fs.base!);
  if (fs.k === K_LAZY || fs.k === K_RES) return fs.top === 31 ? `(${fs.r} < 0)` : `(${msb(fs.r!, fs.top!)} !== 0)`;
  return '(cpu.getSF() !== 0)';
}
function pfB(fs: FS): string {
  if (fs.k === K_ROT) return pfB(fs.base!);
  if (fs.k === K_LAZY || fs.k === K_RES) return `(PARITY[${fs.r} & 0xff] !== 0)`;
  return '(cpu.getPF() !== 0)';
}

/** Condition cc (0-15) as a boolean expression. */
function condOf(cc: number, fs: FS): string {
  if (fs.k === K_CPU) return `cpu.cond(${cc})`;
  let e: string | null = null;
  const c = cc >> 1;
  if (fs.k === K_LAZY && fs.pure && fs.op === LZ_SUB) {
    const { a, b, top } = fs;
    const sa = top === 31 ? a : `((${a} << 24) >> 24)`, sb = top === 31 ? b : `((${b} << 24) >> 24)`;
    const ua = top === 31 ? `(${a} >>> 0)` : a, ub = top === 31 ? `(${b} >>> 0)` : b;
    if (c === 1) e = `(${ua} < ${ub})`;
    else if (c === 2) e = `(${a} === ${b})`;
    else if (c === 3) e = `(${ua} <= ${ub})`;
    else if (c === 6) e = `(${sa} < ${sb})`;
    else if (c === 7) e = `(${sa} <= ${sb})`;
  } else if (fs.k === K_LAZY && fs.op === LZ_LOGIC) {
    const r = fs.r!, s = sfB(fs);
    if (c === 0 || c === 1) e = 'false';
    else if (c === 3) e = `(${r} === 0)`;
    else if (c === 6) e = s;
    else if (c === 7) e = `(${r} === 0 || ${s})`;
  }
  if (e === null) {
    switch (c) {
      case 0: e = `(${ofOf(fs)} !== 0)`; break;
      case 1: e = `(${cfOf(fs)} !== 0)`; break;
      case 2: e = zfB(fs); break;
      case 3: e = `((${cfOf(fs)} !== 0) || ${zfB(fs)})`; break;
      case 4: e = sfB(fs); break;
      case 5: e = pfB(fs); break;
      case 6: e = `(${sfB(fs)} !== (${ofOf(fs)} !== 0))`; break;
      default: e = `(${zfB(fs)} || ${sfB(fs)} !== (${ofOf(fs)} !== 0))`; break;
    }
  }
  return (cc & 1) !== 0 ? `!${e}` : e;
}

/** Code that makes the Cpu's flag fields reflect `fs`. */
function flushOf(fs: FS): string {
  switch (fs.k) {
    case K_LAZY:
      return `cpu.lzOp = ${fs.op}; cpu.lzA = ${fs.a}; cpu.lzB = ${fs.b}; cpu.lzRes = ${fs.r}; cpu.lzTop = ${fs.top};`;
    case K_RES: {
      const r = fs.r!;
      return `cpu.flags = (cpu.flags & ~0x8d5) | ${fs.cf} | PARITY[${r} & 0xff] | ${fs.af} | (${r} === 0 ? 0x40 : 0) | (${msb(r, fs.top!)} << 7) | (${fs.of} << 11); cpu.lzOp = 0;`;
    }
    case K_ROT:
      return `${flushOf(fs.base!)} if (cpu.lzOp !== 0) cpu.materializeFlags(); cpu.flags = (cpu.flags & ~0x801) | ${cfOf(fs)} | (${ofOf(fs)} << 11);`;
    default:
      return '';
  }
}

interface Operand {
  isReg: boolean;
  reg: number;
  /** Linear-address expression (flat segments: the offset). */
  addr: string;
  seg: number;
}

export class BlockCompiler {
  private mem!: Uint8Array;
  private pos = 0;
  private pageEnd = 0;
  private eip = 0;
  /** Index of the current instruction within the block. */
  private i = 0;
  private out: string[] = [];
  private decls: string[] = [];
  private fs: FS = CPU_FLAGS;
  private segOverride = -1;
  private insnWrote = false;
  private N = 1;
  private W = 4;
  private paging = true;
  private a20 = true;
  /** The instruction that ended the block (for stats): opcode bytes of the first unsupported one. */
  stopOpcode = -1;

  /**
   * Compile the block at backing index `idx` (EIP `eip`). Returns null when fewer than
   * `minInsns` instructions could be compiled.
   */
  compile(mem: Uint8Array, idx: number, eip: number, mode: BlockMode, minInsns: number): CompiledBlock | null {
    this.mem = mem;
    this.pos = idx;
    this.pageEnd = (idx | 0xfff) + 1;
    this.eip = eip;
    this.i = 0;
    this.out = [];
    this.decls = [];
    this.fs = CPU_FLAGS;
    this.stopOpcode = -1;
    this.paging = mode.paging;
    this.a20 = mode.a20;
    this.N = mode.cpl === 3 ? 2 : 1;
    this.W = mode.cpl === 3 ? 8 : 4;
    let terminated = false;
    while (this.i < MAX_INSNS) {
      const saveOut = this.out.length, saveDecls = this.decls.length, saveFs = this.fs, savePos = this.pos;
      this.insnWrote = false;
      this.segOverride = -1;
      try {
        terminated = this.insn();
      } catch (e) {
        if (!(e instanceof Unsupported)) throw e;
        this.out.length = saveOut;
        this.decls.length = saveDecls;
        this.fs = saveFs;
        this.pos = savePos;
        this.stopOpcode = mem[savePos] === 0x0f && savePos + 1 < this.pageEnd ? 0x0f00 | mem[savePos + 1] : mem[savePos];
        break;
      }
      this.i++;
      if (terminated) break;
    }
    if (this.i < minInsns) return null;
    if (!terminated) this.out.push(`${flushOf(this.fs)} cpu.eip = ${this.eip}; cpu.instructionCount = ic + ${this.i};`);
    const src =
      'return function block(cpu) {\n' +
      'const regs = cpu.regs, r8 = cpu.reg8, tlb = cpu.tlb, rm = cpu.readMap, wm = cpu.writeMap, wp = cpu.watchPage;\n' +
      'const m8 = cpu.mem, m16 = cpu.mem16, m32 = cpu.mem32, ic = cpu.instructionCount;\n' +
      'const sb = cpu.segBase, sl = cpu.segFastLimit;\n' +
      'let lin = 0, t = 0, e = 0, o = 0;\n' +
      (this.decls.length ? `let ${this.decls.join(', ')};\n` : '') +
      this.out.join('\n') +
      '\n};';
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const fn = new Function('H', 'PARITY', src)(H, PARITY) as (cpu: Cpu) => void;
    return { fn, n: this.i, end: this.eip };
  }

  // ---------------------------------------------------------------- decode helpers

  private byte(): number {
    if (this.pos >= this.pageEnd) throw UNSUPPORTED;
    return this.mem[this.pos++];
  }
  private s8(): number {
    return (this.byte() << 24) >> 24;
  }
  private d32(): number {
    const a = this.byte(), b = this.byte(), c = this.byte(), d = this.byte();
    return a | (b << 8) | (c << 16) | (d << 24);
  }

  private local(name: string): string {
    const n = `${name}_${this.i}`;
    this.decls.push(`${n} = 0`);
    return n;
  }

  private modrm(m: number): Operand {
    const mod = m >> 6, rm = m & 7;
    if (mod === 3) return { isReg: true, reg: rm, addr: '', seg: 0 };
    let seg = SEG_DS;
    let base = '', disp = 0;
    if (rm === 4) {
      const sib = this.byte();
      const ss = sib >> 6, idx = (sib >> 3) & 7, b = sib & 7;
      if (b === 5 && mod === 0) {
        disp = this.d32();
      } else {
        base = `regs[${b}]`;
        if (b === 4 || b === 5) seg = SEG_SS;
      }
      if (idx !== 4) {
        const ix = ss === 0 ? `regs[${idx}]` : `(regs[${idx}] << ${ss})`;
        base = base ? `${base} + ${ix}` : ix;
      }
    } else if (rm === 5 && mod === 0) {
      disp = this.d32();
    } else {
      base = `regs[${rm}]`;
      if (rm === 5) seg = SEG_SS;
    }
    if (mod === 1) disp = this.s8();
    else if (mod === 2) disp = this.d32();
    if (this.segOverride >= 0) seg = this.segOverride;
    let addr: string;
    if (!base) addr = `${disp | 0}`;
    else if (disp === 0) addr = `(${base}) | 0`;
    else addr = `(${base} + ${disp | 0}) | 0`;
    return { isReg: false, reg: 0, addr, seg };
  }

  // ---------------------------------------------------------------- emit helpers

  private emit(s: string): void {
    this.out.push(s);
  }

  /** Before an out-of-line call: flags, count and restart point as the interpreter has them. */
  private pre(espExpr = 'regs[4]'): string {
    return `${flushOf(this.fs)} cpu.instructionCount = ic + ${this.i}; cpu.startEip = ${this.startEip}; cpu.startEsp = ${espExpr};`;
  }

  private startEip = 0;

  private page(x: string): string {
    return this.a20 ? `${x} >>> 12` : `(${x} >>> 12) & 0xffeff`;
  }

  /**
   * `lin = address of op`. FS/GS (not part of the flat mode) add their base at run time and
   * keep the offset in `o` for the limit check.
   */
  private setAddr(op: Operand): void {
    if (op.seg >= SEG_FS) this.emit(`o = ${op.addr}; lin = (sb[${op.seg}] + o) | 0;`);
    else this.emit(`lin = ${op.addr};`);
  }

  /** Fast-path condition prefix: alignment, and for FS/GS the segment limit. */
  private cond0(size: number, seg: number): string {
    let c = size === 1 ? '' : `(lin & ${size - 1}) === 0 && `;
    if (seg >= SEG_FS) c += `(o >>> 0) + ${size - 1} <= sl[${seg}] && `;
    return c;
  }

  /** `dst = [lin]` (size 1, 2 or 4); rmw: probe write permission first on the slow path. */
  private read(size: number, seg: number, dst: string, rmw = false, esp = 'regs[4]'): void {
    const align = this.cond0(size, seg);
    const addrArg = seg >= SEG_FS ? 'o' : 'lin';
    const sfx = seg >= SEG_FS ? 'S' : '';
    const load = size === 4 ? 'm32[(e << 10) | ((lin & 0xfff) >> 2)]' : size === 2 ? 'm16[(e << 11) | ((lin & 0xfff) >> 1)]' : 'm8[(e << 12) | (lin & 0xfff)]';
    const slow = rmw ? (size === 4 ? `H.rmw${sfx}32` : `H.rmw${sfx}8`) : `H.rd${sfx}${size * 8}`;
    if (rmw && size === 2) throw UNSUPPORTED;
    if (this.paging) {
      this.emit(`t = tlb[lin >>> 12]; if (${align}(t & ${this.N}) !== 0 && (e = rm[${this.page('t')}]) >= 0) ${dst} = ${load}; else { ${this.pre(esp)} ${dst} = ${slow}(cpu, ${seg}, ${addrArg}); }`);
    } else {
      this.emit(`if (${align}(e = rm[${this.page('lin')}]) >= 0) ${dst} = ${load}; else { ${this.pre(esp)} ${dst} = ${slow}(cpu, ${seg}, ${addrArg}); }`);
    }
  }

  /** `[lin] = val` (val: a local or constant). */
  private write(size: number, seg: number, val: string): void {
    const align = this.cond0(size, seg);
    const addrArg = seg >= SEG_FS ? 'o' : 'lin';
    const sfx = seg >= SEG_FS ? 'S' : '';
    const store = size === 4 ? 'm32[(e << 10) | ((lin & 0xfff) >> 2)]' : size === 2 ? 'm16[(e << 11) | ((lin & 0xfff) >> 1)]' : 'm8[(e << 12) | (lin & 0xfff)]';
    if (this.paging) {
      this.emit(`t = tlb[lin >>> 12]; if (${align}(t & ${this.W}) !== 0 && (e = wm[${this.page('t')}]) >= 0 && wp[e] === 0) ${store} = ${val}; else { ${this.pre()} H.wr${sfx}${size * 8}(cpu, ${seg}, ${addrArg}, ${val}); }`);
    } else {
      this.emit(`if (${align}(e = wm[${this.page('lin')}]) >= 0 && wp[e] === 0) ${store} = ${val}; else { ${this.pre()} H.wr${sfx}${size * 8}(cpu, ${seg}, ${addrArg}, ${val}); }`);
    }
    this.insnWrote = true;
  }

  private reg(size: number, r: number): string {
    return size === 4 ? `regs[${r}]` : `r8[${R8[r]}]`;
  }

  /** Read an r/m operand into a new local. rmw: it will be written back. */
  private readRm(op: Operand, size: number, name: string, rmw = false): string {
    const v = this.local(name);
    if (op.isReg) {
      this.emit(`${v} = ${this.reg(size, op.reg)};`);
    } else {
      this.setAddr(op);
      this.read(size, op.seg, v, rmw);
    }
    return v;
  }

  /** Write an r/m operand whose address is already in `lin` (after readRm) or a register. */
  private writeRm(op: Operand, size: number, val: string, linReady: boolean): void {
    if (op.isReg) {
      this.emit(`${this.reg(size, op.reg)} = ${val};`);
    } else {
      if (!linReady) this.setAddr(op);
      this.write(size, op.seg, val);
    }
  }

  /** Group-1 operation `aop` on locals/constants a, b; returns the result local, sets fs. */
  private alu(aop: number, a: string, b: string, size: number): string {
    const top = size === 4 ? 31 : 7;
    const r = this.local('r');
    const wrap = (x: string): string => (size === 4 ? `(${x}) | 0` : `(${x}) & 0xff`);
    let cf = '';
    if (aop === 2 || aop === 3) {
      cf = this.local('c');
      this.emit(`${cf} = ${cfOf(this.fs)};`);
    }
    switch (aop) {
      case 0: this.emit(`${r} = ${wrap(`${a} + ${b}`)};`); this.fs = { k: K_LAZY, op: LZ_ADD, a, b, r, top, pure: true }; break;
      case 1: this.emit(`${r} = ${a} | ${b};`); this.fs = { k: K_LAZY, op: LZ_LOGIC, a, b, r, top, pure: true }; break;
      case 2: this.emit(`${r} = ${wrap(`${a} + ${b} + ${cf}`)};`); this.fs = { k: K_LAZY, op: LZ_ADD, a, b, r, top, pure: false }; break;
      case 3: this.emit(`${r} = ${wrap(`${a} - ${b} - ${cf}`)};`); this.fs = { k: K_LAZY, op: LZ_SUB, a, b, r, top, pure: false }; break;
      case 4: this.emit(`${r} = ${a} & ${b};`); this.fs = { k: K_LAZY, op: LZ_LOGIC, a, b, r, top, pure: true }; break;
      case 6: this.emit(`${r} = ${a} ^ ${b};`); this.fs = { k: K_LAZY, op: LZ_LOGIC, a, b, r, top, pure: true }; break;
      default: this.emit(`${r} = ${wrap(`${a} - ${b}`)};`); this.fs = { k: K_LAZY, op: LZ_SUB, a, b, r, top, pure: true }; break;
    }
    return r;
  }

  /** A constant operand as source text (8-bit: 0..255, 32-bit: int32). */
  private imm(v: number, size: number): string {
    const c = size === 4 ? v | 0 : v & 0xff;
    return c < 0 ? `(${c})` : `${c}`;
  }

  /** Exit code: flags flushed, EIP and count set. */
  private exit(eipExpr: string, count: number): string {
    return `cpu.eip = ${eipExpr}; cpu.instructionCount = ic + ${count}; return;`;
  }

  // ---------------------------------------------------------------- instructions

  /** Compile one instruction; returns true if it ends the block. */
  private insn(): boolean {
    this.startEip = this.eip;
    this.insnStartPos = this.pos;
    let op = this.byte();
    for (;;) {
      if (op === 0x26) this.segOverride = SEG_ES;
      else if (op === 0x36) this.segOverride = SEG_SS;
      else if (op === 0x3e) this.segOverride = SEG_DS;
      else if (op === 0x64) this.segOverride = SEG_FS;
      else if (op === 0x65) this.segOverride = SEG_GS;
      else break;
      op = this.byte();
    }
    const ended = this.body(op);
    this.eip = this.next();
    if (!ended && this.insnWrote) {
      this.emit(`if (cpu.eventPending) { ${flushOf(this.fs)} ${this.exit(`${this.eip}`, this.i + 1)} }`);
    }
    return ended;
  }

  private insnStartPos = 0;

  /** EIP after the current instruction (valid once all its bytes are decoded). */
  private next(): number {
    return (this.startEip + (this.pos - this.insnStartPos)) >>> 0;
  }

  private body(op: number): boolean {
    const regs = (r: number): string => `regs[${r}]`;
    if (op < 0x40 && (op & 7) < 6) {
      const aop = op >> 3;
      const form = op & 7;
      if (form === 4 || form === 5) {
        const size = form === 4 ? 1 : 4;
        const imm = size === 4 ? this.d32() : this.byte();
        const a = this.local('a');
        this.emit(`${a} = ${this.reg(size, 0)};`);
        const r = this.alu(aop, a, this.imm(imm, size), size);
        if (aop !== 7) this.emit(`${this.reg(size, 0)} = ${r};`);
        return false;
      }
      const size = (form & 1) === 0 ? 1 : 4;
      const m = this.byte();
      const o = this.modrm(m);
      const g = (m >> 3) & 7;
      if (form < 2) {
        // r/m, reg
        const a = this.readRm(o, size, 'a', aop !== 7);
        const b = this.local('b');
        this.emit(`${b} = ${this.reg(size, g)};`);
        const r = this.alu(aop, a, b, size);
        if (aop !== 7) this.writeRm(o, size, r, true);
      } else {
        const b = this.readRm(o, size, 'b');
        const a = this.local('a');
        this.emit(`${a} = ${this.reg(size, g)};`);
        const r = this.alu(aop, a, b, size);
        if (aop !== 7) this.emit(`${this.reg(size, g)} = ${r};`);
      }
      return false;
    }
    if (op >= 0x40 && op <= 0x4f) {
      const rn = op & 7, dec = op >= 0x48;
      const a = this.local('a'), r = this.local('r'), c = this.local('c');
      this.emit(`${c} = ${cfOf(this.fs)}; ${a} = ${regs(rn)}; ${r} = (${a} ${dec ? '-' : '+'} 1) | 0; ${regs(rn)} = ${r};`);
      this.incDecFlags(a, r, c, dec, 31);
      return false;
    }
    if (op >= 0x50 && op <= 0x57) {
      const v = this.local('v');
      this.emit(`${v} = ${regs(op & 7)}; lin = (regs[4] - 4) | 0;`);
      this.write(4, SEG_SS, v);
      this.emit('regs[4] = lin;');
      return false;
    }
    if (op >= 0x58 && op <= 0x5f) {
      const v = this.local('v');
      this.emit('lin = regs[4];');
      this.read(4, SEG_SS, v);
      this.emit(`regs[4] = (lin + 4) | 0; ${regs(op & 7)} = ${v};`);
      return false;
    }
    if (op === 0x68 || op === 0x6a) {
      const imm = op === 0x68 ? this.d32() : this.s8();
      this.emit('lin = (regs[4] - 4) | 0;');
      this.write(4, SEG_SS, this.imm(imm, 4));
      this.emit('regs[4] = lin;');
      return false;
    }
    if (op === 0x69 || op === 0x6b) {
      const m = this.byte();
      const o = this.modrm(m);
      const src = this.readRm(o, 4, 's');
      const imm = op === 0x69 ? this.d32() : this.s8();
      this.emit(`${flushOf(this.fs)} regs[${(m >> 3) & 7}] = H.imulTrunc(cpu, ${src}, ${this.imm(imm, 4)}, 31);`);
      this.fs = CPU_FLAGS;
      return false;
    }
    if (op >= 0x70 && op <= 0x7f) {
      const rel = this.s8();
      return this.jcc(op & 15, rel);
    }
    if (op === 0x80 || op === 0x81 || op === 0x83) {
      const size = op === 0x80 ? 1 : 4;
      const m = this.byte();
      const o = this.modrm(m);
      const aop = (m >> 3) & 7;
      const a = this.readRm(o, size, 'a', aop !== 7);
      const imm = op === 0x81 ? this.d32() : op === 0x83 ? this.s8() : this.byte();
      const r = this.alu(aop, a, this.imm(imm, size), size);
      if (aop !== 7) this.writeRm(o, size, r, true);
      return false;
    }
    if (op === 0x84 || op === 0x85) {
      const size = op === 0x84 ? 1 : 4;
      const m = this.byte();
      const o = this.modrm(m);
      const a = this.readRm(o, size, 'a');
      const b = this.local('b');
      this.emit(`${b} = ${this.reg(size, (m >> 3) & 7)};`);
      this.alu(4, a, b, size);
      return false;
    }
    if (op === 0x87) {
      const m = this.byte();
      if (m < 0xc0) throw UNSUPPORTED;
      const x = this.local('v');
      this.emit(`${x} = regs[${m & 7}]; regs[${m & 7}] = regs[${(m >> 3) & 7}]; regs[${(m >> 3) & 7}] = ${x};`);
      return false;
    }
    if (op >= 0x88 && op <= 0x8b) {
      const size = (op & 1) === 0 ? 1 : 4;
      const m = this.byte();
      const o = this.modrm(m);
      const g = (m >> 3) & 7;
      if (op < 0x8a) {
        const v = this.local('v');
        this.emit(`${v} = ${this.reg(size, g)};`);
        this.writeRm(o, size, v, false);
      } else {
        const v = this.readRm(o, size, 'v');
        this.emit(`${this.reg(size, g)} = ${v};`);
      }
      return false;
    }
    if (op === 0x8d) {
      const m = this.byte();
      const o = this.modrm(m);
      if (o.isReg) throw UNSUPPORTED;
      this.emit(`regs[${(m >> 3) & 7}] = ${o.addr};`);
      return false;
    }
    if (op >= 0x90 && op <= 0x97) {
      const rn = op & 7;
      if (rn !== 0) {
        const x = this.local('v');
        this.emit(`${x} = regs[0]; regs[0] = regs[${rn}]; regs[${rn}] = ${x};`);
      }
      return false;
    }
    if (op === 0x98) { this.emit('regs[0] = (regs[0] << 16) >> 16;'); return false; }
    if (op === 0x99) { this.emit('regs[2] = regs[0] >> 31;'); return false; }
    if (op >= 0xa0 && op <= 0xa3) {
      const size = (op & 1) === 0 ? 1 : 4;
      const o: Operand = { isReg: false, reg: 0, addr: `${this.d32()}`, seg: this.segOverride >= 0 ? this.segOverride : SEG_DS };
      if (op < 0xa2) {
        const v = this.readRm(o, size, 'v');
        this.emit(`${this.reg(size, 0)} = ${v};`);
      } else {
        const v = this.local('v');
        this.emit(`${v} = ${this.reg(size, 0)};`);
        this.writeRm(o, size, v, false);
      }
      return false;
    }
    if (op === 0xfc) { this.emit('cpu.flags &= ~0x400;'); return false; }
    if (op === 0xfd) { this.emit('cpu.flags |= 0x400;'); return false; }
    if (op === 0xa8 || op === 0xa9) {
      const size = op === 0xa8 ? 1 : 4;
      const imm = size === 4 ? this.d32() : this.byte();
      const a = this.local('a');
      this.emit(`${a} = ${this.reg(size, 0)};`);
      this.alu(4, a, this.imm(imm, size), size);
      return false;
    }
    if (op >= 0xb0 && op <= 0xb7) {
      this.emit(`r8[${R8[op & 7]}] = ${this.byte()};`);
      return false;
    }
    if (op >= 0xb8 && op <= 0xbf) {
      this.emit(`regs[${op & 7}] = ${this.imm(this.d32(), 4)};`);
      return false;
    }
    if (op === 0xc1 || op === 0xd1 || op === 0xd3) return this.shiftInsn(op);
    if (op === 0xc2 || op === 0xc3) {
      const imm = op === 0xc2 ? this.byte() | (this.byte() << 8) : 0;
      const v = this.local('v');
      this.emit('lin = regs[4];');
      this.read(4, SEG_SS, v);
      this.emit(`regs[4] = (lin + ${4 + imm}) | 0; ${flushOf(this.fs)} ${this.exit(`${v} >>> 0`, this.i + 1)}`);
      return true;
    }
    if (op === 0xc6 || op === 0xc7) {
      const size = op === 0xc6 ? 1 : 4;
      const m = this.byte();
      if (((m >> 3) & 7) !== 0) throw UNSUPPORTED;
      const o = this.modrm(m);
      const imm = size === 4 ? this.d32() : this.byte();
      this.writeRm(o, size, this.imm(imm, size), false);
      return false;
    }
    if (op === 0xc9) {
      const v = this.local('v');
      this.emit('lin = regs[5];');
      this.read(4, SEG_SS, v);
      this.emit(`regs[4] = (lin + 4) | 0; regs[5] = ${v};`);
      return false;
    }
    if (op === 0xe8) {
      const rel = this.d32();
      const next = this.next();
      this.emit('lin = (regs[4] - 4) | 0;');
      this.write(4, SEG_SS, `${next | 0}`);
      this.emit(`regs[4] = lin; ${flushOf(this.fs)} ${this.exit(`${(next + rel) >>> 0}`, this.i + 1)}`);
      return true;
    }
    if (op === 0xe9 || op === 0xeb) {
      const rel = op === 0xe9 ? this.d32() : this.s8();
      this.emit(`${flushOf(this.fs)} ${this.exit(`${(this.next() + rel) >>> 0}`, this.i + 1)}`);
      return true;
    }
    if (op === 0xf6 || op === 0xf7) return this.grp3(op);
    if (op === 0xfe || op === 0xff) return this.grp45(op);
    if (op === 0x0f) return this.op0f(this.byte());
    throw UNSUPPORTED;
  }

  private incDecFlags(a: string, r: string, c: string, dec: boolean, top: number): void {
    const of = dec ? `((((${a} ^ 1) & (${a} ^ ${r})) >>> ${top}) & 1)` : `((((${a} ^ ${r}) & (1 ^ ${r})) >>> ${top}) & 1)`;
    this.fs = { k: K_RES, r, top, cf: c, af: `((${a} ^ 1 ^ ${r}) & 0x10)`, of };
  }

  private jcc(cc: number, rel: number): boolean {
    const next = this.next();
    const target = (next + rel) >>> 0;
    const cond = condOf(cc, this.fs);
    this.emit(`${flushOf(this.fs)} cpu.instructionCount = ic + ${this.i + 1}; cpu.eip = ${cond} ? ${target} : ${next}; return;`);
    return true;
  }

  private shiftInsn(op: number): boolean {
    const m = this.byte();
    const o = this.modrm(m);
    const sop = (m >> 3) & 7;
    const v = this.readRm(o, 4, 'a', true);
    if (op === 0xd3 || sop === 2 || sop === 3) {
      // Count from CL, or RCL/RCR: alu.ts with the flags made current.
      const cnt = op === 0xd3 ? 'r8[4] & 31' : op === 0xd1 ? '1' : `${this.byte() & 31}`;
      const r = this.local('r');
      this.emit(`${flushOf(this.fs)} ${r} = H.shift(cpu, ${sop}, ${v}, ${cnt}, 31);`);
      this.fs = CPU_FLAGS;
      this.writeRm(o, 4, r, true);
      return false;
    }
    const n = op === 0xd1 ? 1 : this.byte() & 31;
    if (n === 0) {
      this.writeRm(o, 4, v, true);
      return false;
    }
    const r = this.local('r');
    switch (sop) {
      case 0: this.emit(`${r} = (${v} << ${n}) | (${v} >>> ${32 - n});`); break;
      case 1: this.emit(`${r} = (${v} >>> ${n}) | (${v} << ${32 - n});`); break;
      case 4: case 6: this.emit(`${r} = ${v} << ${n};`); break;
      case 5: this.emit(`${r} = (${v} >>> ${n}) | 0;`); break;
      default: this.emit(`${r} = ${v} >> ${n};`); break;
    }
    if (sop < 2) {
      const base = this.fs.k === K_ROT ? this.fs.base! : this.fs;
      this.fs = { k: K_ROT, r, left: sop === 0, base };
    } else {
      let cf: string, of: string;
      if (sop === 5) { cf = `((${v} >>> ${n - 1}) & 1)`; of = n === 1 ? `(${v} >>> 31)` : '0'; }
      else if (sop === 7) { cf = `((${v} >> ${n - 1}) & 1)`; of = '0'; }
      else { cf = `((${v} >>> ${32 - n}) & 1)`; of = `((${r} >>> 31) ^ ${cf})`; }
      this.fs = { k: K_RES, r, top: 31, cf, af: '0x10', of };
    }
    this.writeRm(o, 4, r, true);
    return false;
  }

  private grp3(op: number): boolean {
    const size = op === 0xf6 ? 1 : 4;
    const m = this.byte();
    const o = this.modrm(m);
    const g = (m >> 3) & 7;
    if (g === 0 || g === 1) {
      const a = this.readRm(o, size, 'a');
      const imm = size === 4 ? this.d32() : this.byte();
      this.alu(4, a, this.imm(imm, size), size);
      return false;
    }
    if (size === 1) throw UNSUPPORTED;
    if (g === 2) {
      const a = this.readRm(o, 4, 'a', true);
      const r = this.local('r');
      this.emit(`${r} = ~${a};`);
      this.writeRm(o, 4, r, true);
      return false;
    }
    if (g === 3) {
      const a = this.readRm(o, 4, 'a', true);
      const r = this.local('r');
      this.emit(`${r} = (0 - ${a}) | 0;`);
      this.fs = { k: K_LAZY, op: LZ_SUB, a: '0', b: a, r, top: 31, pure: true };
      this.writeRm(o, 4, r, true);
      return false;
    }
    if (g === 4 || g === 5) {
      const a = this.readRm(o, 4, 'a');
      this.emit(`${flushOf(this.fs)} H.mul1(cpu, ${g === 5}, ${a}, 31);`);
      this.fs = CPU_FLAGS;
      return false;
    }
    if (g === 6 || g === 7) {
      // #DE possible: the restart point first.
      const a = this.readRm(o, 4, 'a');
      this.emit(`${this.pre()} H.div1(cpu, ${g === 7}, ${a}, 31);`);
      this.fs = CPU_FLAGS;
      return false;
    }
    throw UNSUPPORTED;
  }

  private grp45(op: number): boolean {
    const m = this.byte();
    const o = this.modrm(m);
    const g = (m >> 3) & 7;
    if (op === 0xfe) {
      if (g > 1) throw UNSUPPORTED;
      const a = this.readRm(o, 1, 'a', true);
      const r = this.local('r'), c = this.local('c');
      this.emit(`${c} = ${cfOf(this.fs)}; ${r} = (${a} ${g === 1 ? '-' : '+'} 1) & 0xff;`);
      this.incDecFlags(a, r, c, g === 1, 7);
      this.writeRm(o, 1, r, true);
      return false;
    }
    if (g === 0 || g === 1) {
      const a = this.readRm(o, 4, 'a', true);
      const r = this.local('r'), c = this.local('c');
      this.emit(`${c} = ${cfOf(this.fs)}; ${r} = (${a} ${g === 1 ? '-' : '+'} 1) | 0;`);
      this.incDecFlags(a, r, c, g === 1, 31);
      this.writeRm(o, 4, r, true);
      return false;
    }
    if (g === 2 || g === 4) {
      const v = this.readRm(o, 4, 't');
      if (g === 2) {
        this.emit('lin = (regs[4] - 4) | 0;');
        this.write(4, SEG_SS, `${this.next() | 0}`);
        this.emit('regs[4] = lin;');
      }
      this.emit(`${flushOf(this.fs)} ${this.exit(`${v} >>> 0`, this.i + 1)}`);
      return true;
    }
    if (g === 6) {
      const v = this.readRm(o, 4, 'v');
      this.emit('lin = (regs[4] - 4) | 0;');
      this.write(4, SEG_SS, v);
      this.emit('regs[4] = lin;');
      return false;
    }
    throw UNSUPPORTED;
  }

  private op0f(op: number): boolean {
    if (op >= 0x80 && op <= 0x8f) return this.jcc(op & 15, this.d32());
    if (op >= 0x40 && op <= 0x4f) {
      const m = this.byte();
      const o = this.modrm(m);
      const v = this.readRm(o, 4, 'v');
      const g = (m >> 3) & 7;
      this.emit(`if (${condOf(op & 15, this.fs)}) regs[${g}] = ${v};`);
      return false;
    }
    if (op >= 0x90 && op <= 0x9f) {
      const m = this.byte();
      const o = this.modrm(m);
      const v = this.local('v');
      this.emit(`${v} = ${condOf(op & 15, this.fs)} ? 1 : 0;`);
      this.writeRm(o, 1, v, false);
      return false;
    }
    if (op >= 0xc8 && op <= 0xcf) {
      const r = op & 7;
      const v = this.local('v');
      this.emit(`${v} = regs[${r}]; regs[${r}] = ((${v} & 0xff) << 24) | ((${v} & 0xff00) << 8) | ((${v} >>> 8) & 0xff00) | (${v} >>> 24);`);
      return false;
    }
    if (op === 0xa4 || op === 0xa5 || op === 0xac || op === 0xad) {
      const m = this.byte();
      const o = this.modrm(m);
      const a = this.readRm(o, 4, 'a', true);
      const cnt = (op & 1) === 0 ? `${this.byte() & 31}` : 'r8[4] & 31';
      const r = this.local('r');
      this.emit(`${flushOf(this.fs)} ${r} = H.shiftDouble(cpu, ${op < 0xa8}, ${a}, regs[${(m >> 3) & 7}], ${cnt}, 31);`);
      this.fs = CPU_FLAGS;
      this.writeRm(o, 4, r, true);
      return false;
    }
    if (op === 0xaf) {
      const m = this.byte();
      const o = this.modrm(m);
      const src = this.readRm(o, 4, 's');
      const g = (m >> 3) & 7;
      this.emit(`${flushOf(this.fs)} regs[${g}] = H.imulTrunc(cpu, regs[${g}], ${src}, 31);`);
      this.fs = CPU_FLAGS;
      return false;
    }
    if (op === 0xb6 || op === 0xbe || op === 0xb7 || op === 0xbf) {
      const m = this.byte();
      const o = this.modrm(m);
      const size = op === 0xb6 || op === 0xbe ? 1 : 2;
      const v = this.local('v');
      if (o.isReg) {
        this.emit(`${v} = ${size === 1 ? `r8[${R8[o.reg]}]` : `regs[${o.reg}] & 0xffff`};`);
      } else {
        this.setAddr(o);
        this.read(size, o.seg, v);
      }
      const g = (m >> 3) & 7;
      const x = op === 0xb6 || op === 0xb7 ? v : size === 1 ? `(${v} << 24) >> 24` : `(${v} << 16) >> 16`;
      this.emit(`regs[${g}] = ${x};`);
      return false;
    }
    throw UNSUPPORTED;
  }
}
