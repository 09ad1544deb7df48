// State and shared machinery of the x87 unit: registers, control/status/tag words,
// pointers, the snapshot declaration, exception signalling and FERR#, stack helpers and
// memory operand conversion. The instructions live in ./fpu.ts (class Fpu extends FpuState).

import type { FpuMemory } from './interfaces.js';
import type { Stateful, VMStateDecl } from '../state/vmstate.js';
import {
  CLS_NORMAL, CLS_ZERO, EXC_DE, EXC_IE, EXC_SF, EXC_ZE, Float80, INDEFINITE_HI, INDEFINITE_SE, classify,
} from './fpu-float80.js';

export interface FpuHooks {
  /** CR0.NE=1 and a waiting instruction found a pending unmasked exception: throw #MF. */
  raiseMathFault(): void;
  /** FERR# output level (CR0.NE=0 error reporting through IRQ13). */
  ferr(asserted: boolean): void;
  cr0NE(): boolean;
  /** EFLAGS for FCMOVcc (CF bit 0, PF bit 2, ZF bit 6). */
  getEflags(): number;
  /** FCOMI/FCOMIP/FUCOMI/FUCOMIP: ZF, PF, CF := bits 6, 2, 0 of `zpc`; OF, SF, AF := 0. */
  setFcomiFlags(zpc: number): void;
  /** FNSTSW AX. */
  writeAX(value: number): void;
  /** A reserved encoding in D8..DF: throw #UD. */
  undefinedOpcode(): void;
}

// Status word bits.
export const SW_C0 = 0x0100;
export const SW_C1 = 0x0200;
export const SW_C2 = 0x0400;
export const SW_C3 = 0x4000;
export const SW_ES = 0x0080;
export const SW_B = 0x8000;
export const SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3;

export const TAG_VALID = 0;
export const TAG_ZERO = 1;
export const TAG_SPECIAL = 2;
export const TAG_EMPTY = 3;

export const PRE_COMPUTATION = EXC_IE | EXC_DE | EXC_ZE;

const FPU_VMSTATE: VMStateDecl = {
  name: 'fpu',
  version: 1,
  fields: [
    { name: 'regMant', type: 'u32[]', length: 16 },
    { name: 'regSignExp', type: 'u16[]', length: 8 },
    { name: 'controlWord', type: 'u16' },
    { name: 'statusFlags', type: 'u16' },
    { name: 'top', type: 'u8' },
    { name: 'tagWord', type: 'u16' },
    { name: 'fip', type: 'u32' },
    { name: 'fcs', type: 'u16' },
    { name: 'fdp', type: 'u32' },
    { name: 'fds', type: 'u16' },
    { name: 'fop', type: 'u16' },
    { name: 'ferrAsserted', type: 'bool' },
  ],
};
export abstract class FpuState implements Stateful {
  readonly vmstate = FPU_VMSTATE;

  /** Physical registers R0..R7: [2p] low and [2p+1] high 32 bits of the significand. */
  regMant = new Uint32Array(16);
  /** Physical registers: sign << 15 | biased exponent. */
  regSignExp = new Uint16Array(8);
  controlWord = 0x037f;
  /** Status word without TOP (bits 11..13 kept zero here). */
  statusFlags = 0;
  top = 0;
  /** Two bits per physical register; only "empty" (3) versus "not empty" is authoritative. */
  tagWord = 0xffff;
  fip = 0;
  fcs = 0;
  fdp = 0;
  fds = 0;
  fop = 0;
  /** FERR# is currently driven high. */
  ferrAsserted = false;

  readonly engine = new Float80();
  protected readonly mem: FpuMemory;
  protected readonly hooks: FpuHooks;

  // Operand scratch (no allocation per instruction).
  protected aSE = 0;
  protected aHi = 0;
  protected aLo = 0;
  protected bSE = 0;
  protected bHi = 0;
  protected bLo = 0;
  /** DE raised by converting a memory operand (m32/m64 denormal). */
  protected memDenormal = false;

  constructor(memory: FpuMemory, hooks: FpuHooks) {
    this.mem = memory;
    this.hooks = hooks;
    this.reset();
  }

  // ------------------------------------------------------------------ public state access

  get statusWord(): number {
    return (this.statusFlags & ~0x3800) | (this.top << 11);
  }

  /** The full tag word as FSTENV stores it (computed from the register contents). */
  get fullTagWord(): number {
    let tw = 0;
    for (let p = 0; p < 8; p++) tw |= this.tagOf(p) << (2 * p);
    return tw;
  }

  /** FXSAVE's abridged tag byte: bit p set when physical register p is not empty. */
  get abridgedTagWord(): number {
    let t = 0;
    for (let p = 0; p < 8; p++) if (!this.isEmpty(p)) t |= 1 << p;
    return t;
  }

  setAbridgedTagWord(t: number): void {
    let tw = 0;
    for (let p = 0; p < 8; p++) if ((t & (1 << p)) === 0) tw |= TAG_EMPTY << (2 * p);
    this.tagWord = tw;
  }

  /** Load the control word (FLDCW semantics, also for FXRSTOR). */
  setControlWord(v: number): void {
    this.controlWord = (v & 0x1f3f) | 0x0040;
    this.syncControl();
    this.updateErrorSummary();
  }

  /** Load the status word including TOP (FLDENV semantics, also for FXRSTOR). */
  setStatusWord(v: number): void {
    this.statusFlags = v & ~0x3800 & 0xffff;
    this.top = (v >>> 11) & 7;
    this.updateErrorSummary();
  }

  /** Register ST(i) as 10 bytes' worth: sign/exponent and significand words. */
  readST(i: number): { signExp: number; hi: number; lo: number } {
    const p = (this.top + i) & 7;
    return { signExp: this.regSignExp[p]!, hi: this.regMant[2 * p + 1]!, lo: this.regMant[2 * p]! };
  }

  /** Write ST(i) without touching its tag (FXRSTOR/FRSTOR style). */
  writeST(i: number, signExp: number, hi: number, lo: number): void {
    this.writePhys((this.top + i) & 7, signExp, hi, lo);
  }

  /** Power-on RESET (P6 values: FCW 0040h, FSW 0, FTW 5555h = all zero, registers +0). */
  reset(): void {
    this.regMant.fill(0);
    this.regSignExp.fill(0);
    this.controlWord = 0x0040;
    this.statusFlags = 0;
    this.top = 0;
    this.tagWord = 0x5555;
    this.fip = 0; this.fcs = 0; this.fdp = 0; this.fds = 0; this.fop = 0;
    this.syncControl();
    this.setFerr(false);
  }

  /** FNINIT. */
  init(): void {
    this.controlWord = 0x037f;
    this.statusFlags = 0;
    this.top = 0;
    this.tagWord = 0xffff;
    this.fip = 0; this.fcs = 0; this.fdp = 0; this.fds = 0; this.fop = 0;
    this.syncControl();
    this.setFerr(false);
  }

  postLoad(): void {
    this.top &= 7;
    this.syncControl();
  }

  /** WAIT/FWAIT. */
  checkPending(): void {
    this.pendingException();
  }

  // ------------------------------------------------------------------ MMX aliasing

  // MM0..MM7 are the significands of the physical registers R0..R7 (regMant[2i], [2i+1]),
  // whatever TOS is (SDM vol. 1 ch. 9, vol. 3 ch. 12). The CPU's MMX code (./mmx.ts) reads and
  // writes regMant/regSignExp directly and uses the three calls below around each instruction.

  /**
   * Before an MMX instruction (EMMS included): a pending unmasked x87 exception is reported as
   * before a waiting x87 instruction (#MF through raiseMathFault with CR0.NE=1, else FERR#).
   */
  mmxCheck(): void {
    this.pendingException();
  }

  /**
   * After an MMX instruction other than EMMS: TOS := 0 and every tag "valid" (00). Writing MMi
   * also sets bits 79:64 of Ri to all 1s; the caller does that with the significand. FSTENV/
   * FSAVE/FXSAVE still report each tag from the register contents (SDM vol. 3 table 12-3),
   * so a register written by MMX (exponent 7FFFh) is saved as "special" (10).
   */
  mmxEnter(): void {
    this.top = 0;
    this.tagWord = 0;
  }

  /** EMMS: TOS := 0, every tag empty (11). */
  emms(): void {
    this.top = 0;
    this.tagWord = 0xffff;
  }

  // ------------------------------------------------------------------ helpers

  protected syncControl(): void {
    const cw = this.controlWord;
    const f = this.engine;
    f.masks = cw & 0x3f;
    f.rc = (cw >>> 10) & 3;
    const pc = (cw >>> 8) & 3;
    f.pc = pc === 0 ? 24 : pc === 2 ? 53 : 64;
  }

  /** ES and B follow "some exception flag is set and unmasked". FERR# drops when ES clears. */
  protected updateErrorSummary(): void {
    if ((this.statusFlags & ~this.controlWord & 0x3f) !== 0) {
      this.raiseErrorSummary();
    } else {
      this.statusFlags &= ~(SW_ES | SW_B);
      this.setFerr(false);
    }
  }

  /**
   * ES and B go up. With CR0.NE=0 the P6 drives FERR# as the instruction completes (SDM vol. 3,
   * "Assertion of the FERR# pin"); with NE=1 the error waits for the next waiting instruction.
   */
  protected raiseErrorSummary(): void {
    this.statusFlags |= SW_ES | SW_B;
    if (!this.hooks.cr0NE()) this.setFerr(true);
  }

  protected setFerr(level: boolean): void {
    if (this.ferrAsserted === level) return;
    this.ferrAsserted = level;
    this.hooks.ferr(level);
  }

  /**
   * Before a waiting instruction: report a pending exception. True = do not execute. With
   * NE=0 FERR# is (still) asserted and the instruction runs; the IRQ13 the board raises is
   * normally taken at the instruction boundary right after the faulting instruction.
   */
  protected pendingException(): boolean {
    if ((this.statusFlags & SW_ES) === 0) return false;
    if (this.hooks.cr0NE()) {
      this.hooks.raiseMathFault();
      return true;
    }
    this.setFerr(true);
    return false;
  }

  /**
   * Record exception flags. Returns true when an unmasked pre-computation exception (IE, DE,
   * ZE) must suppress the result; then only those flags are recorded.
   */
  protected signal(fl: number): boolean {
    if (fl === 0) return false;
    const unmasked = fl & ~this.controlWord & 0x3f;
    const abort = (unmasked & PRE_COMPUTATION) !== 0;
    if (abort) fl &= PRE_COMPUTATION | EXC_SF;
    this.statusFlags |= fl & 0x7f;
    if ((fl & ~this.controlWord & 0x3f) !== 0) this.raiseErrorSummary();
    return abort;
  }

  protected setC1(on: boolean): void {
    if (on) this.statusFlags |= SW_C1;
    else this.statusFlags &= ~SW_C1;
  }

  protected setCC(c3: boolean, c2: boolean, c1: boolean, c0: boolean): void {
    this.statusFlags = (this.statusFlags & ~SW_CC) | (c3 ? SW_C3 : 0) | (c2 ? SW_C2 : 0) | (c1 ? SW_C1 : 0) | (c0 ? SW_C0 : 0);
  }

  protected isEmpty(p: number): boolean {
    return ((this.tagWord >>> (2 * p)) & 3) === TAG_EMPTY;
  }

  protected tagOf(p: number): number {
    if (this.isEmpty(p)) return TAG_EMPTY;
    const c = classify(this.regSignExp[p]!, this.regMant[2 * p + 1]!, this.regMant[2 * p]!);
    if (c === CLS_ZERO) return TAG_ZERO;
    if (c === CLS_NORMAL) return TAG_VALID;
    return TAG_SPECIAL;
  }

  protected setTag(p: number, tag: number): void {
    this.tagWord = (this.tagWord & ~(3 << (2 * p))) | (tag << (2 * p));
  }

  protected writePhys(p: number, se: number, hi: number, lo: number): void {
    this.regSignExp[p] = se;
    this.regMant[2 * p + 1] = hi;
    this.regMant[2 * p] = lo;
  }

  /** ST(i) := engine result, marking it valid. */
  protected writeResult(i: number): void {
    const p = (this.top + i) & 7;
    const f = this.engine;
    this.writePhys(p, f.rSE, f.rHi, f.rLo);
    this.setTag(p, TAG_VALID);
  }

  protected writeIndefinite(i: number): void {
    const p = (this.top + i) & 7;
    this.writePhys(p, INDEFINITE_SE, INDEFINITE_HI, 0);
    this.setTag(p, TAG_VALID);
  }

  protected loadA(i: number): void {
    const p = (this.top + i) & 7;
    this.aSE = this.regSignExp[p]!;
    this.aHi = this.regMant[2 * p + 1]!;
    this.aLo = this.regMant[2 * p]!;
  }

  protected loadB(i: number): void {
    const p = (this.top + i) & 7;
    this.bSE = this.regSignExp[p]!;
    this.bHi = this.regMant[2 * p + 1]!;
    this.bLo = this.regMant[2 * p]!;
  }

  protected stEmpty(i: number): boolean {
    return this.isEmpty((this.top + i) & 7);
  }

  protected pop(): void {
    this.setTag(this.top, TAG_EMPTY);
    this.top = (this.top + 1) & 7;
  }

  /**
   * Stack underflow (reading an empty register): IE+SF, C1=0. Masked: ST(dest) (if >= 0)
   * gets the indefinite and `pops` registers are popped. Unmasked: nothing changes.
   */
  protected underflow(dest: number, pops: number): void {
    this.setC1(false);
    if (this.signal(EXC_IE | EXC_SF)) return;
    if (dest >= 0) this.writeIndefinite(dest);
    for (let k = 0; k < pops; k++) this.pop();
  }

  /** Push the engine result (flags: exceptions of producing it). */
  protected pushResult(flags: number): void {
    const p = (this.top - 1) & 7;
    if (!this.isEmpty(p)) {
      this.setC1(true);
      if (this.signal(EXC_IE | EXC_SF)) return;
      this.top = p;
      this.writeIndefinite(0);
      return;
    }
    if (this.signal(flags)) return;
    this.setC1(false);
    this.top = p;
    this.writeResult(0);
  }

  protected prepare(): void {
    this.engine.flags = 0;
    this.memDenormal = false;
  }

  /** Flags of the operation, adding DE from a denormal memory operand unless IE came first. */
  protected opFlags(): number {
    let fl = this.engine.flags;
    if (this.memDenormal && (fl & EXC_IE) === 0) fl |= EXC_DE;
    return fl;
  }

  // ------------------------------------------------------------------ memory operands

  protected readM32Real(linear: number): void {
    const bits = this.mem.read32(linear) >>> 0;
    this.memDenormal = (bits & 0x7f800000) === 0 && (bits & 0x7fffff) !== 0;
    this.engine.fromFloat32(bits);
  }

  protected readM64Real(linear: number): void {
    const lo = this.mem.read32(linear) >>> 0;
    const hi = this.mem.read32(linear + 4) >>> 0;
    this.memDenormal = (hi & 0x7ff00000) === 0 && ((hi & 0xfffff) !== 0 || lo !== 0);
    this.engine.fromFloat64(hi, lo);
  }

  protected readM80(linear: number): void {
    const lo = this.mem.read32(linear) >>> 0;
    const hi = this.mem.read32(linear + 4) >>> 0;
    const se = this.mem.read16(linear + 8) & 0xffff;
    this.engine.setResult(se, hi, lo);
  }

  protected readM16Int(linear: number): void {
    this.engine.fromInt32((this.mem.read16(linear) << 16) >> 16);
  }

  protected readM32Int(linear: number): void {
    this.engine.fromInt32(this.mem.read32(linear));
  }

  protected readM64Int(linear: number): void {
    const lo = this.mem.read32(linear) >>> 0;
    const hi = this.mem.read32(linear + 4) >>> 0;
    this.engine.fromInt64(hi, lo);
  }

  protected readBCD(linear: number): void {
    let hi = 0, lo = 0;
    for (let k = 8; k >= 0; k--) {
      const b = this.mem.read8(linear + k) & 0xff;
      for (let d = 0; d < 2; d++) {
        const digit = d === 0 ? b >>> 4 : b & 15;
        const t = lo * 10 + digit;
        const carry = Math.floor(t / 4294967296);
        lo = t - carry * 4294967296;
        hi = hi * 10 + carry;
      }
    }
    const sign = (this.mem.read8(linear + 9) & 0x80) !== 0 ? 1 : 0;
    this.engine.fromUnsigned64(sign, hi >>> 0, lo >>> 0);
  }

  protected writeM80(linear: number, se: number, hi: number, lo: number): void {
    this.mem.write32(linear, lo | 0);
    this.mem.write32(linear + 4, hi | 0);
    this.mem.write16(linear + 8, se & 0xffff);
  }

  /** Copy the engine result into the operand B slot. */
  protected resultToB(): void {
    const f = this.engine;
    this.bSE = f.rSE; this.bHi = f.rHi; this.bLo = f.rLo;
  }
}
