// The x87 floating-point unit of a P6 (Pentium Pro / II): register stack, control, status and
// tag words, every D8..DF instruction, exception signalling (#MF or FERR#) and the
// FSTENV/FSAVE images. Arithmetic is exact on 80-bit values (./fpu-float80.ts); the
// transcendental instructions go through float64 (./fpu-transcendental.ts). See FPU-NOTES.md.
//
// Wiring (done by the CPU):
//   const fpu = new Fpu(cpu /* FpuMemory */, {
//     raiseMathFault: () => cpu.fault(EXC_MF),   // must throw; called before a waiting
//                                                // instruction runs while CR0.NE=1
//     ferr: (a) => platform.ferr?.(a),           // FERR# level (CR0.NE=0 path, IRQ13)
//     cr0NE: () => (cpu.cr0 & CR0_NE) !== 0,
//     getEflags: () => cpu.eflags,                // FCMOVcc reads CF, ZF, PF
//     setFcomiFlags: (zpc) => ...,                // FCOMI/FUCOMI: set ZF/PF/CF from the bits
//                                                // 0x40/0x04/0x01 of zpc, clear OF, SF, AF
//     writeAX: (v) => ...,                        // FNSTSW AX writes the status word to AX
//     undefinedOpcode: () => cpu.fault(EXC_UD),  // must throw; reserved D8..DF encodings
//   });

import type { FpuInstructionPointers, FpuMemory, FpuUnit } from './interfaces.js';
import type { Stateful, VMStateDecl } from '../state/vmstate.js';
import {
  CLS_DENORMAL, CLS_INF, CLS_NORMAL, CLS_QNAN, CLS_SNAN, CLS_UNSUPPORTED, CLS_ZERO,
  EXC_DE, EXC_IE, EXC_OE, EXC_PE, EXC_SF, EXC_UE, EXC_ZE, Float80, INDEFINITE_HI, INDEFINITE_SE,
  RC_NEAREST, RC_UP, classify, isNaNClass,
} from './fpu-float80.js';
import * as tr from './fpu-transcendental.js';
import { loadEnvironment, storeEnvironment, environmentSize } from './fpu-env.js';

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
const SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3;

const TAG_VALID = 0;
const TAG_ZERO = 1;
const TAG_SPECIAL = 2;
const TAG_EMPTY = 3;

const PRE_COMPUTATION = EXC_IE | EXC_DE | EXC_ZE;

/** Rounded x87 constants: biased exponent, significand words and the next 32 bits. */
const CONSTANTS: readonly (readonly number[])[] = [
  [0x3fff, 0x80000000, 0x00000000, 0], // FLD1
  [0x4000, 0xd49a784b, 0xcd1b8afe, 0x492bf6ff], // FLDL2T
  [0x3fff, 0xb8aa3b29, 0x5c17f0bb, 0xbe87fed0], // FLDL2E
  [0x4000, 0xc90fdaa2, 0x2168c234, 0xc4c6628b], // FLDPI
  [0x3ffd, 0x9a209a84, 0xfbcff798, 0x8f8959ac], // FLDLG2
  [0x3ffe, 0xb17217f7, 0xd1cf79ab, 0xc9e3b398], // FLDLN2
  [0x0000, 0x00000000, 0x00000000, 0], // FLDZ
];

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

export class Fpu implements FpuUnit, Stateful {
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
  private readonly mem: FpuMemory;
  private readonly hooks: FpuHooks;

  // Operand scratch (no allocation per instruction).
  private aSE = 0;
  private aHi = 0;
  private aLo = 0;
  private bSE = 0;
  private bHi = 0;
  private bLo = 0;
  /** DE raised by converting a memory operand (m32/m64 denormal). */
  private memDenormal = false;

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

  // ------------------------------------------------------------------ helpers

  private syncControl(): void {
    const cw = this.controlWord;
    const f = this.engine;
    f.masks = cw & 0x3f;
    f.rc = (cw >>> 10) & 3;
    const pc = (cw >>> 8) & 3;
    f.pc = pc === 0 ? 24 : pc === 2 ? 53 : 64;
  }

  /** ES and B follow "some exception flag is set and unmasked". FERR# drops when ES clears. */
  private updateErrorSummary(): void {
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
  private raiseErrorSummary(): void {
    this.statusFlags |= SW_ES | SW_B;
    if (!this.hooks.cr0NE()) this.setFerr(true);
  }

  private setFerr(level: boolean): void {
    if (this.ferrAsserted === level) return;
    this.ferrAsserted = level;
    this.hooks.ferr(level);
  }

  /**
   * Before a waiting instruction: report a pending exception. True = do not execute. With
   * NE=0 FERR# is (still) asserted and the instruction runs; the IRQ13 the board raises is
   * normally taken at the instruction boundary right after the faulting instruction.
   */
  private pendingException(): boolean {
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
  private signal(fl: number): boolean {
    if (fl === 0) return false;
    const unmasked = fl & ~this.controlWord & 0x3f;
    const abort = (unmasked & PRE_COMPUTATION) !== 0;
    if (abort) fl &= PRE_COMPUTATION | EXC_SF;
    this.statusFlags |= fl & 0x7f;
    if ((fl & ~this.controlWord & 0x3f) !== 0) this.raiseErrorSummary();
    return abort;
  }

  private setC1(on: boolean): void {
    if (on) this.statusFlags |= SW_C1;
    else this.statusFlags &= ~SW_C1;
  }

  private setCC(c3: boolean, c2: boolean, c1: boolean, c0: boolean): void {
    this.statusFlags = (this.statusFlags & ~SW_CC) | (c3 ? SW_C3 : 0) | (c2 ? SW_C2 : 0) | (c1 ? SW_C1 : 0) | (c0 ? SW_C0 : 0);
  }

  private isEmpty(p: number): boolean {
    return ((this.tagWord >>> (2 * p)) & 3) === TAG_EMPTY;
  }

  private tagOf(p: number): number {
    if (this.isEmpty(p)) return TAG_EMPTY;
    const c = classify(this.regSignExp[p]!, this.regMant[2 * p + 1]!, this.regMant[2 * p]!);
    if (c === CLS_ZERO) return TAG_ZERO;
    if (c === CLS_NORMAL) return TAG_VALID;
    return TAG_SPECIAL;
  }

  private setTag(p: number, tag: number): void {
    this.tagWord = (this.tagWord & ~(3 << (2 * p))) | (tag << (2 * p));
  }

  private writePhys(p: number, se: number, hi: number, lo: number): void {
    this.regSignExp[p] = se;
    this.regMant[2 * p + 1] = hi;
    this.regMant[2 * p] = lo;
  }

  /** ST(i) := engine result, marking it valid. */
  private writeResult(i: number): void {
    const p = (this.top + i) & 7;
    const f = this.engine;
    this.writePhys(p, f.rSE, f.rHi, f.rLo);
    this.setTag(p, TAG_VALID);
  }

  private writeIndefinite(i: number): void {
    const p = (this.top + i) & 7;
    this.writePhys(p, INDEFINITE_SE, INDEFINITE_HI, 0);
    this.setTag(p, TAG_VALID);
  }

  private loadA(i: number): void {
    const p = (this.top + i) & 7;
    this.aSE = this.regSignExp[p]!;
    this.aHi = this.regMant[2 * p + 1]!;
    this.aLo = this.regMant[2 * p]!;
  }

  private loadB(i: number): void {
    const p = (this.top + i) & 7;
    this.bSE = this.regSignExp[p]!;
    this.bHi = this.regMant[2 * p + 1]!;
    this.bLo = this.regMant[2 * p]!;
  }

  private stEmpty(i: number): boolean {
    return this.isEmpty((this.top + i) & 7);
  }

  private pop(): void {
    this.setTag(this.top, TAG_EMPTY);
    this.top = (this.top + 1) & 7;
  }

  /**
   * Stack underflow (reading an empty register): IE+SF, C1=0. Masked: ST(dest) (if >= 0)
   * gets the indefinite and `pops` registers are popped. Unmasked: nothing changes.
   */
  private underflow(dest: number, pops: number): void {
    this.setC1(false);
    if (this.signal(EXC_IE | EXC_SF)) return;
    if (dest >= 0) this.writeIndefinite(dest);
    for (let k = 0; k < pops; k++) this.pop();
  }

  /** Push the engine result (flags: exceptions of producing it). */
  private pushResult(flags: number): void {
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

  private prepare(): void {
    this.engine.flags = 0;
    this.memDenormal = false;
  }

  /** Flags of the operation, adding DE from a denormal memory operand unless IE came first. */
  private opFlags(): number {
    let fl = this.engine.flags;
    if (this.memDenormal && (fl & EXC_IE) === 0) fl |= EXC_DE;
    return fl;
  }

  // ------------------------------------------------------------------ memory operands

  private readM32Real(linear: number): void {
    const bits = this.mem.read32(linear) >>> 0;
    this.memDenormal = (bits & 0x7f800000) === 0 && (bits & 0x7fffff) !== 0;
    this.engine.fromFloat32(bits);
  }

  private readM64Real(linear: number): void {
    const lo = this.mem.read32(linear) >>> 0;
    const hi = this.mem.read32(linear + 4) >>> 0;
    this.memDenormal = (hi & 0x7ff00000) === 0 && ((hi & 0xfffff) !== 0 || lo !== 0);
    this.engine.fromFloat64(hi, lo);
  }

  private readM80(linear: number): void {
    const lo = this.mem.read32(linear) >>> 0;
    const hi = this.mem.read32(linear + 4) >>> 0;
    const se = this.mem.read16(linear + 8) & 0xffff;
    this.engine.setResult(se, hi, lo);
  }

  private readM16Int(linear: number): void {
    this.engine.fromInt32((this.mem.read16(linear) << 16) >> 16);
  }

  private readM32Int(linear: number): void {
    this.engine.fromInt32(this.mem.read32(linear));
  }

  private readM64Int(linear: number): void {
    const lo = this.mem.read32(linear) >>> 0;
    const hi = this.mem.read32(linear + 4) >>> 0;
    this.engine.fromInt64(hi, lo);
  }

  private readBCD(linear: number): void {
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

  private writeM80(linear: number, se: number, hi: number, lo: number): void {
    this.mem.write32(linear, lo | 0);
    this.mem.write32(linear + 4, hi | 0);
    this.mem.write16(linear + 8, se & 0xffff);
  }

  /** Copy the engine result into the operand B slot. */
  private resultToB(): void {
    const f = this.engine;
    this.bSE = f.rSE; this.bHi = f.rHi; this.bLo = f.rLo;
  }

  // ------------------------------------------------------------------ execute

  execute(opcode: number, modrm: number, linear: number, opsize32: boolean, realMode: boolean, ptrs: FpuInstructionPointers): void {
    const reg = (modrm >>> 3) & 7;
    const isReg = modrm >= 0xc0;
    if (isControl(opcode, modrm, reg, isReg)) {
      this.executeControl(opcode, modrm, reg, isReg, linear, opsize32, realMode);
      return;
    }
    if (this.pendingException()) return;
    if (isReg) this.executeRegister(opcode, modrm, reg, modrm & 7);
    else this.executeMemory(opcode, reg, linear);
    // Completed (memory faults propagate before this): record the pointers.
    this.fip = ptrs.ip >>> 0;
    this.fcs = ptrs.cs & 0xffff;
    this.fop = ((opcode & 7) << 8) | modrm;
    if (!isReg) {
      this.fdp = ptrs.dp >>> 0;
      this.fds = ptrs.ds & 0xffff;
    }
  }

  private executeControl(opcode: number, modrm: number, reg: number, isReg: boolean, linear: number, opsize32: boolean, realMode: boolean): void {
    if (isReg) {
      if (opcode === 0xdb) {
        if (modrm === 0xe2) { // FNCLEX
          this.statusFlags &= ~(0xff | SW_B);
          this.setFerr(false);
        } else if (modrm === 0xe3) { // FNINIT
          this.init();
        }
        // E0 FNENI, E1 FNDISI, E4 FNSETPM: no-ops on the 387 and later.
        return;
      }
      // DF E0: FNSTSW AX
      this.hooks.writeAX(this.statusWord);
      return;
    }
    switch (opcode) {
      case 0xd9:
        switch (reg) {
          case 4: { // FLDENV
            if (this.pendingException()) return;
            loadEnvironment(this, this.mem, linear, opsize32, realMode);
            this.syncControl();
            this.updateErrorSummary();
            return;
          }
          case 5: // FLDCW
            if (this.pendingException()) return;
            this.setControlWord(this.mem.read16(linear));
            return;
          case 6: // FNSTENV: store, then mask all exceptions
            storeEnvironment(this, this.mem, linear, opsize32, realMode);
            this.controlWord |= 0x3f;
            this.syncControl();
            return;
          default: // 7: FNSTCW
            this.mem.write16(linear, this.controlWord);
            return;
        }
      case 0xdd:
        switch (reg) {
          case 4: { // FRSTOR: read everything before changing anything
            if (this.pendingException()) return;
            const size = environmentSize(opsize32);
            const buf = this.restoreBuffer;
            for (let k = 0; k < 8; k++) {
              const a = linear + size + 10 * k;
              buf[3 * k] = this.mem.read32(a) >>> 0;
              buf[3 * k + 1] = this.mem.read32(a + 4) >>> 0;
              buf[3 * k + 2] = this.mem.read16(a + 8) & 0xffff;
            }
            loadEnvironment(this, this.mem, linear, opsize32, realMode);
            for (let k = 0; k < 8; k++) this.writeST(k, buf[3 * k + 2]!, buf[3 * k + 1]!, buf[3 * k]!);
            this.syncControl();
            this.updateErrorSummary();
            return;
          }
          case 6: { // FNSAVE
            const size = storeEnvironment(this, this.mem, linear, opsize32, realMode);
            for (let k = 0; k < 8; k++) {
              const p = (this.top + k) & 7;
              this.writeM80(linear + size + 10 * k, this.regSignExp[p]!, this.regMant[2 * p + 1]!, this.regMant[2 * p]!);
            }
            this.init();
            return;
          }
          default: // 7: FNSTSW m16
            this.mem.write16(linear, this.statusWord);
            return;
        }
      default:
        return;
    }
  }

  private readonly restoreBuffer = new Float64Array(24);

  private executeMemory(opcode: number, reg: number, linear: number): void {
    switch (opcode) {
      case 0xd8: this.prepare(); this.readM32Real(linear); this.memArith(reg); return;
      case 0xdc: this.prepare(); this.readM64Real(linear); this.memArith(reg); return;
      case 0xda: this.prepare(); this.readM32Int(linear); this.memArith(reg); return;
      case 0xde: this.prepare(); this.readM16Int(linear); this.memArith(reg); return;
      case 0xd9:
        switch (reg) {
          case 0: this.prepare(); this.readM32Real(linear); this.loadPushed(true); return;
          case 2: this.storeReal(linear, false, false); return;
          case 3: this.storeReal(linear, false, true); return;
          default: this.hooks.undefinedOpcode(); return; // /1 (4..7 are control)
        }
      case 0xdd:
        switch (reg) {
          case 0: this.prepare(); this.readM64Real(linear); this.loadPushed(true); return;
          case 2: this.storeReal(linear, true, false); return;
          case 3: this.storeReal(linear, true, true); return;
          default: this.hooks.undefinedOpcode(); return; // /1 FISTTP (SSE3), /5
        }
      case 0xdb:
        switch (reg) {
          case 0: this.prepare(); this.readM32Int(linear); this.pushResult(0); return;
          case 2: this.storeInt(linear, 32, false); return;
          case 3: this.storeInt(linear, 32, true); return;
          case 5: this.prepare(); this.readM80(linear); this.pushResult(0); return;
          case 7: this.storeM80(linear); return;
          default: this.hooks.undefinedOpcode(); return;
        }
      default: // 0xdf
        switch (reg) {
          case 0: this.prepare(); this.readM16Int(linear); this.pushResult(0); return;
          case 2: this.storeInt(linear, 16, false); return;
          case 3: this.storeInt(linear, 16, true); return;
          case 4: this.prepare(); this.readBCD(linear); this.pushResult(0); return;
          case 5: this.prepare(); this.readM64Int(linear); this.pushResult(0); return;
          case 6: this.storeBCD(linear); return;
          case 7: this.storeInt(linear, 64, true); return;
          default: this.hooks.undefinedOpcode(); return;
        }
    }
  }

  /** FLD m32/m64: an SNaN raises IE and loads quieted; a denormal raises DE. */
  private loadPushed(fromMemoryFloat: boolean): void {
    const f = this.engine;
    let fl = 0;
    if (fromMemoryFloat) {
      if (classify(f.rSE, f.rHi, f.rLo) === CLS_SNAN) {
        fl |= EXC_IE;
        f.rHi = (f.rHi | 0x40000000) >>> 0;
      } else if (this.memDenormal) {
        fl |= EXC_DE;
      }
    }
    this.pushResult(fl);
  }

  /** D8/DC/DA/DE memory forms: the engine result is the memory operand. */
  private memArith(reg: number): void {
    this.resultToB();
    if (this.stEmpty(0)) {
      if (reg === 2 || reg === 3) this.compareUnderflow(reg === 3 ? 1 : 0, false);
      else this.underflow(0, 0);
      return;
    }
    this.loadA(0);
    if (reg === 2 || reg === 3) {
      this.fcomValues(false, reg === 3 ? 1 : 0);
      return;
    }
    this.arith(reg, 0, false);
  }

  /**
   * Arithmetic on A (= ST(0)) and B (the other operand) by the reg field, result to ST(dest).
   * reg: 0 add, 1 mul, 4 A-B, 5 B-A, 6 A/B, 7 B/A.
   */
  private arith(reg: number, dest: number, popAfter: boolean): void {
    const f = this.engine;
    switch (reg) {
      case 0: f.add(this.aSE, this.aHi, this.aLo, this.bSE, this.bHi, this.bLo, false); break;
      case 1: f.mul(this.aSE, this.aHi, this.aLo, this.bSE, this.bHi, this.bLo); break;
      case 4: f.add(this.aSE, this.aHi, this.aLo, this.bSE, this.bHi, this.bLo, true); break;
      case 5: f.add(this.bSE, this.bHi, this.bLo, this.aSE, this.aHi, this.aLo, true); break;
      case 6: f.div(this.aSE, this.aHi, this.aLo, this.bSE, this.bHi, this.bLo); break;
      default: f.div(this.bSE, this.bHi, this.bLo, this.aSE, this.aHi, this.aLo); break;
    }
    this.commitResult(dest, popAfter ? 1 : 0);
  }

  /** Write the engine result to ST(dest) unless an unmasked pre-computation exception. */
  private commitResult(dest: number, pops: number): void {
    const f = this.engine;
    const fl = this.opFlags();
    if (this.signal(fl)) return;
    this.setC1((fl & EXC_PE) !== 0 && f.roundedUp);
    this.writeResult(dest);
    for (let k = 0; k < pops; k++) this.pop();
  }

  // ------------------------------------------------------------------ comparisons

  /**
   * Compare A with B. Returns 0 (A > B), 1 (A < B), 2 (equal), 3 (unordered) and records
   * IE/DE in the engine flags. `quiet`: FUCOM (only SNaN and unsupported raise IE).
   */
  private compareAB(quiet: boolean): number {
    const f = this.engine;
    const ca = classify(this.aSE, this.aHi, this.aLo);
    const cb = classify(this.bSE, this.bHi, this.bLo);
    if (ca === CLS_UNSUPPORTED || cb === CLS_UNSUPPORTED) { f.flags |= EXC_IE; return 3; }
    if (isNaNClass(ca) || isNaNClass(cb)) {
      if (!quiet || ca === CLS_SNAN || cb === CLS_SNAN) f.flags |= EXC_IE;
      return 3;
    }
    if (ca === CLS_DENORMAL || cb === CLS_DENORMAL || this.memDenormal) f.flags |= EXC_DE;
    const r = f.compareOrdered(this.aSE, this.aHi, this.aLo, this.bSE, this.bHi, this.bLo);
    return r > 0 ? 0 : r < 0 ? 1 : 2;
  }

  /** FCOM/FUCOM family on A and B: condition codes, then `pops`. */
  private fcomValues(quiet: boolean, pops: number): void {
    const r = this.compareAB(quiet);
    if (this.signal(this.engine.flags & ~EXC_PE)) return;
    this.setCC(r >= 2, r === 3, false, r === 1 || r === 3);
    for (let k = 0; k < pops; k++) this.pop();
  }

  private compareUnderflow(pops: number, eflags: boolean): void {
    this.setC1(false);
    if (this.signal(EXC_IE | EXC_SF)) return;
    if (eflags) this.hooks.setFcomiFlags(0x45);
    else this.setCC(true, true, false, true);
    for (let k = 0; k < pops; k++) this.pop();
  }

  private fcomi(i: number, quiet: boolean, pop: boolean): void {
    if (this.stEmpty(0) || this.stEmpty(i)) { this.compareUnderflow(pop ? 1 : 0, true); return; }
    this.prepare();
    this.loadA(0);
    this.loadB(i);
    const r = this.compareAB(quiet);
    if (this.signal(this.engine.flags)) return;
    this.setC1(false);
    this.hooks.setFcomiFlags(r === 0 ? 0 : r === 1 ? 0x01 : r === 2 ? 0x40 : 0x45);
    if (pop) this.pop();
  }

  private fcomReg(i: number, quiet: boolean, pops: number): void {
    if (this.stEmpty(0) || this.stEmpty(i)) { this.compareUnderflow(pops, false); return; }
    this.prepare();
    this.loadA(0);
    this.loadB(i);
    this.fcomValues(quiet, pops);
  }

  // ------------------------------------------------------------------ stores

  private storeUnderflow(pop: boolean): boolean {
    this.setC1(false);
    if (this.signal(EXC_IE | EXC_SF)) return false;
    if (pop) this.pop();
    return true;
  }

  /** FST/FSTP m32/m64. */
  private storeReal(linear: number, double: boolean, pop: boolean): void {
    const f = this.engine;
    if (this.stEmpty(0)) {
      // Masked underflow stores the indefinite; check unmasked before touching memory.
      if ((this.controlWord & EXC_IE) !== 0) {
        if (double) { this.mem.write32(linear, 0); this.mem.write32(linear + 4, 0xfff80000 | 0); }
        else this.mem.write32(linear, 0xffc00000 | 0);
      }
      this.storeUnderflow(pop);
      return;
    }
    this.prepare();
    this.loadA(0);
    f.toFloat(this.aSE, this.aHi, this.aLo, double);
    let fl = f.flags;
    const unmasked = ~this.controlWord & 0x3f;
    if ((fl & EXC_IE) !== 0 && (unmasked & EXC_IE) !== 0) { this.signal(EXC_IE); return; }
    if ((fl & EXC_OE) !== 0 && (unmasked & EXC_OE) !== 0) { this.signal(EXC_OE); return; }
    if (f.tiny && (unmasked & EXC_UE) !== 0) { this.signal(EXC_UE); return; }
    if (double) { this.mem.write32(linear, f.fLo | 0); this.mem.write32(linear + 4, f.fHi | 0); }
    else this.mem.write32(linear, f.fLo | 0);
    fl &= ~EXC_DE;
    this.signal(fl);
    this.setC1((fl & EXC_PE) !== 0 && f.roundedUp);
    if (pop) this.pop();
  }

  /** FSTP m80: exact. */
  private storeM80(linear: number): void {
    if (this.stEmpty(0)) {
      if ((this.controlWord & EXC_IE) !== 0) this.writeM80(linear, INDEFINITE_SE, INDEFINITE_HI, 0);
      this.storeUnderflow(true);
      return;
    }
    this.loadA(0);
    this.writeM80(linear, this.aSE, this.aHi, this.aLo);
    this.setC1(false);
    this.pop();
  }

  /** FIST/FISTP m16/m32/m64. */
  private storeInt(linear: number, bits: number, pop: boolean): void {
    const f = this.engine;
    let hi = 0, lo = 0;
    let fl = 0;
    if (this.stEmpty(0)) {
      fl = EXC_IE | EXC_SF;
    } else {
      this.prepare();
      this.loadA(0);
      const c = classify(this.aSE, this.aHi, this.aLo);
      if (c === CLS_UNSUPPORTED || c === CLS_INF || isNaNClass(c)) {
        fl = EXC_IE;
      } else {
        f.toInteger(this.aSE, this.aHi, this.aLo);
        const neg = (this.aSE & 0x8000) !== 0;
        hi = f.iHi; lo = f.iLo;
        // Largest magnitude: 2^(bits-1) - 1, or 2^(bits-1) when negative.
        let ok = !f.iOverflow;
        if (ok) {
          if (bits === 64) ok = hi < 0x80000000 || (neg && hi === 0x80000000 && lo === 0);
          else if (bits === 32) ok = hi === 0 && (lo < 0x80000000 || (neg && lo === 0x80000000));
          else ok = hi === 0 && (lo < 0x8000 || (neg && lo === 0x8000));
        }
        if (!ok) {
          fl = EXC_IE;
        } else {
          fl = f.flags;
          if (neg && (hi !== 0 || lo !== 0)) {
            lo = (~lo >>> 0) + 1;
            hi = ~hi >>> 0;
            if (lo >= 4294967296) { lo -= 4294967296; hi = (hi + 1) >>> 0; }
          }
        }
      }
    }
    if ((fl & EXC_IE) !== 0) { hi = bits === 64 ? 0x80000000 : 0; lo = bits === 32 ? 0x80000000 : bits === 16 ? 0x8000 : 0; }
    if ((fl & EXC_IE) !== 0 && (this.controlWord & EXC_IE) === 0) {
      this.setC1(false);
      this.signal(fl);
      return;
    }
    if (bits === 16) this.mem.write16(linear, lo & 0xffff);
    else if (bits === 32) this.mem.write32(linear, lo | 0);
    else { this.mem.write32(linear, lo | 0); this.mem.write32(linear + 4, hi | 0); }
    this.signal(fl);
    this.setC1((fl & EXC_PE) !== 0 && f.roundedUp);
    if (pop) this.pop();
  }

  /** FBSTP m80bcd. */
  private storeBCD(linear: number): void {
    const f = this.engine;
    let fl = 0;
    let hi = 0, lo = 0;
    let neg = false;
    if (this.stEmpty(0)) {
      fl = EXC_IE | EXC_SF;
    } else {
      this.prepare();
      this.loadA(0);
      neg = (this.aSE & 0x8000) !== 0;
      const c = classify(this.aSE, this.aHi, this.aLo);
      if (c === CLS_UNSUPPORTED || c === CLS_INF || isNaNClass(c)) {
        fl = EXC_IE;
      } else {
        f.toInteger(this.aSE, this.aHi, this.aLo);
        hi = f.iHi; lo = f.iLo;
        // 10^18 - 1 = 0x0DE0B6B3_A763FFFF
        if (f.iOverflow || hi > 0x0de0b6b3 || (hi === 0x0de0b6b3 && lo > 0xa763ffff)) fl = EXC_IE;
        else fl = f.flags;
      }
    }
    if ((fl & EXC_IE) !== 0) {
      if ((this.controlWord & EXC_IE) === 0) { this.setC1(false); this.signal(fl); return; }
      // BCD indefinite: FFFF C000 0000 0000 0000
      for (let k = 0; k < 7; k++) this.mem.write8(linear + k, 0);
      this.mem.write8(linear + 7, 0xc0);
      this.mem.write8(linear + 8, 0xff);
      this.mem.write8(linear + 9, 0xff);
    } else {
      const bytes = this.bcdBytes;
      for (let k = 0; k < 9; k++) {
        let byte = 0;
        for (let d = 0; d < 2; d++) {
          const qh = Math.floor(hi / 10);
          const t = (hi - qh * 10) * 4294967296 + lo;
          const ql = Math.floor(t / 10);
          const digit = t - ql * 10;
          hi = qh; lo = ql;
          byte |= digit << (4 * d);
        }
        bytes[k] = byte;
      }
      bytes[9] = neg ? 0x80 : 0;
      for (let k = 0; k < 10; k++) this.mem.write8(linear + k, bytes[k]!);
    }
    this.signal(fl);
    this.setC1((fl & EXC_PE) !== 0 && f.roundedUp);
    this.pop();
  }

  private readonly bcdBytes = new Uint8Array(10);

  // ------------------------------------------------------------------ register forms

  private executeRegister(opcode: number, modrm: number, reg: number, i: number): void {
    switch (opcode) {
      case 0xd8:
        if (reg === 2 || reg === 3) { this.fcomReg(i, false, reg === 3 ? 1 : 0); return; }
        this.regArith(reg, i, 0, false);
        return;
      case 0xdc:
        if (reg === 2 || reg === 3) { this.fcomReg(i, false, reg === 3 ? 1 : 0); return; } // FCOM2/FCOMP3
        this.regArith(reg, i, i, false);
        return;
      case 0xde:
        if (reg === 2) { this.fcomReg(i, false, 1); return; } // FCOMP5
        if (reg === 3) {
          if (i === 1) this.fcomReg(1, false, 2); // FCOMPP
          else this.hooks.undefinedOpcode();
          return;
        }
        this.regArith(reg, i, i, true);
        return;
      case 0xd9: this.executeD9(modrm, reg, i); return;
      case 0xda:
        if (reg <= 3) { this.fcmov(i, reg, false); return; }
        if (modrm === 0xe9) { this.fcomReg(1, true, 2); return; } // FUCOMPP
        this.hooks.undefinedOpcode();
        return;
      case 0xdb:
        if (reg <= 3) { this.fcmov(i, reg, true); return; }
        if (reg === 5) { this.fcomi(i, true, false); return; } // FUCOMI
        if (reg === 6) { this.fcomi(i, false, false); return; } // FCOMI
        this.hooks.undefinedOpcode(); // E5..E7 and F8..FF (E0..E4 are control)
        return;
      case 0xdd:
        switch (reg) {
          case 0: this.setTag((this.top + i) & 7, TAG_EMPTY); return; // FFREE
          case 1: this.fxch(i); return; // FXCH4
          case 2: this.fstReg(i, false); return;
          case 3: this.fstReg(i, true); return;
          case 4: this.fcomReg(i, true, 0); return; // FUCOM
          case 5: this.fcomReg(i, true, 1); return; // FUCOMP
          default: this.hooks.undefinedOpcode(); return;
        }
      default: // 0xdf
        switch (reg) {
          case 0: this.setTag((this.top + i) & 7, TAG_EMPTY); this.pop(); return; // FFREEP
          case 1: this.fxch(i); return; // FXCH7
          case 2: case 3: this.fstReg(i, true); return; // FSTP8, FSTP9
          case 5: this.fcomi(i, true, true); return; // FUCOMIP
          case 6: this.fcomi(i, false, true); return; // FCOMIP
          default: this.hooks.undefinedOpcode(); return; // F8..FF (E0 is control)
        }
    }
  }

  /** D8/DC/DE register arithmetic: operands ST(0) and ST(i), result to ST(dest). */
  private regArith(reg: number, i: number, dest: number, pop: boolean): void {
    if (this.stEmpty(0) || this.stEmpty(i)) { this.underflow(dest, pop ? 1 : 0); return; }
    this.prepare();
    this.loadA(0);
    this.loadB(i);
    this.arith(reg, dest, pop);
  }

  private fxch(i: number): void {
    if (this.stEmpty(0) || this.stEmpty(i)) {
      this.setC1(false);
      if (this.signal(EXC_IE | EXC_SF)) return;
      if (this.stEmpty(0)) this.writeIndefinite(0);
      if (this.stEmpty(i)) this.writeIndefinite(i);
    }
    const p0 = this.top, pi = (this.top + i) & 7;
    const se = this.regSignExp[p0]!, hi = this.regMant[2 * p0 + 1]!, lo = this.regMant[2 * p0]!;
    this.writePhys(p0, this.regSignExp[pi]!, this.regMant[2 * pi + 1]!, this.regMant[2 * pi]!);
    this.writePhys(pi, se, hi, lo);
    this.setC1(false);
  }

  /** FST/FSTP ST(i): an exact copy. */
  private fstReg(i: number, pop: boolean): void {
    if (this.stEmpty(0)) { this.underflow(i, pop ? 1 : 0); return; }
    this.loadA(0);
    const p = (this.top + i) & 7;
    this.writePhys(p, this.aSE, this.aHi, this.aLo);
    this.setTag(p, TAG_VALID);
    this.setC1(false);
    if (pop) this.pop();
  }

  /** FCMOVcc: cond 0 B (CF), 1 E (ZF), 2 BE (CF|ZF), 3 U (PF); `negate` for the DB forms. */
  private fcmov(i: number, cond: number, negate: boolean): void {
    if (this.stEmpty(0) || this.stEmpty(i)) { this.underflow(0, 0); return; }
    const fl = this.hooks.getEflags();
    let t: boolean;
    switch (cond) {
      case 0: t = (fl & 0x01) !== 0; break;
      case 1: t = (fl & 0x40) !== 0; break;
      case 2: t = (fl & 0x41) !== 0; break;
      default: t = (fl & 0x04) !== 0; break;
    }
    if (negate) t = !t;
    this.setC1(false);
    if (!t) return;
    this.loadA(i);
    this.writePhys(this.top, this.aSE, this.aHi, this.aLo);
  }

  private executeD9(modrm: number, reg: number, i: number): void {
    switch (reg) {
      case 0: { // FLD ST(i)
        if (this.stEmpty(i)) {
          this.engine.setIndefinite();
          this.pushUnderflowed();
          return;
        }
        this.loadA(i);
        this.engine.setResult(this.aSE, this.aHi, this.aLo);
        this.pushResult(0);
        return;
      }
      case 1: this.fxch(i); return;
      case 2:
        if (modrm !== 0xd0) this.hooks.undefinedOpcode(); // D0 FNOP
        return;
      case 3: this.fstReg(i, true); return; // FSTP1
      default: break;
    }
    switch (modrm) {
      case 0xe0: this.unarySign(0x8000, false); return; // FCHS
      case 0xe1: this.unarySign(0x8000, true); return; // FABS
      case 0xe4: this.ftst(); return;
      case 0xe5: this.fxam(); return;
      case 0xe8: case 0xe9: case 0xea: case 0xeb: case 0xec: case 0xed: case 0xee:
        this.loadConstant(modrm - 0xe8);
        return;
      case 0xf6: this.top = (this.top - 1) & 7; this.setC1(false); return; // FDECSTP
      case 0xf7: this.top = (this.top + 1) & 7; this.setC1(false); return; // FINCSTP
      case 0xf0: this.unaryOp(tr.OP_F2XM1); return;
      case 0xf1: this.binaryPopOp(tr.OP_FYL2X); return;
      case 0xf2: this.fptan(); return;
      case 0xf3: this.binaryPopOp(tr.OP_FPATAN); return;
      case 0xf4: this.fxtract(); return;
      case 0xf5: this.fprem(true); return;
      case 0xf8: this.fprem(false); return;
      case 0xf9: this.binaryPopOp(tr.OP_FYL2XP1); return;
      case 0xfa: this.unaryOp(tr.OP_FSQRT); return;
      case 0xfb: this.fsincos(); return;
      case 0xfc: this.unaryOp(tr.OP_FRNDINT); return;
      case 0xfd: this.fscale(); return;
      case 0xfe: this.unaryOp(tr.OP_FSIN); return;
      case 0xff: this.unaryOp(tr.OP_FCOS); return;
      default: this.hooks.undefinedOpcode(); return;
    }
  }

  /** FLD of an empty register: the push itself may overflow; otherwise underflow. */
  private pushUnderflowed(): void {
    const p = (this.top - 1) & 7;
    if (!this.isEmpty(p)) { this.pushResult(0); return; }
    this.setC1(false);
    if (this.signal(EXC_IE | EXC_SF)) return;
    this.top = p;
    this.writeIndefinite(0);
  }

  private unarySign(bit: number, clear: boolean): void {
    if (this.stEmpty(0)) { this.underflow(0, 0); return; }
    const p = this.top;
    const se = this.regSignExp[p]!;
    this.regSignExp[p] = clear ? se & ~bit : se ^ bit;
    this.setC1(false);
  }

  private ftst(): void {
    if (this.stEmpty(0)) { this.compareUnderflow(0, false); return; }
    this.prepare();
    this.loadA(0);
    this.bSE = 0; this.bHi = 0; this.bLo = 0;
    this.fcomValues(false, 0);
  }

  private fxam(): void {
    const p = this.top;
    const se = this.regSignExp[p]!;
    const sign = (se & 0x8000) !== 0;
    if (this.isEmpty(p)) { this.setCC(true, false, sign, true); return; }
    const c = classify(se, this.regMant[2 * p + 1]!, this.regMant[2 * p]!);
    switch (c) {
      case CLS_UNSUPPORTED: this.setCC(false, false, sign, false); return;
      case CLS_QNAN: case CLS_SNAN: this.setCC(false, false, sign, true); return;
      case CLS_NORMAL: this.setCC(false, true, sign, false); return;
      case CLS_INF: this.setCC(false, true, sign, true); return;
      case CLS_ZERO: this.setCC(true, false, sign, false); return;
      default: this.setCC(true, true, sign, false); return; // denormal
    }
  }

  private loadConstant(k: number): void {
    const c = CONSTANTS[k]!;
    let hi = c[1]!, lo = c[2]!;
    const next = c[3]!;
    const rc = this.engine.rc;
    // Positive constants: round up for "up", or "nearest" with the next bit set.
    if ((rc === RC_UP && next !== 0) || (rc === RC_NEAREST && (next & 0x80000000) !== 0)) {
      lo += 1;
      if (lo >= 4294967296) { lo = 0; hi += 1; }
    }
    this.engine.setResult(c[0]!, hi, lo);
    this.pushResult(0);
  }

  /** One-operand instructions that replace ST(0). */
  private unaryOp(op: number): void {
    if (this.stEmpty(0)) { this.underflow(0, 0); return; }
    this.prepare();
    this.loadA(0);
    const f = this.engine;
    const c2 = tr.unary(f, op, this.aSE, this.aHi, this.aLo);
    if (c2) { // FSIN/FCOS operand out of range: C2=1, ST(0) unchanged
      this.statusFlags |= SW_C2;
      return;
    }
    if (op === tr.OP_FSIN || op === tr.OP_FCOS) this.statusFlags &= ~SW_C2;
    this.commitResult(0, 0);
  }

  /** FYL2X, FYL2XP1, FPATAN: ST(1) := f(ST(1), ST(0)), pop. */
  private binaryPopOp(op: number): void {
    if (this.stEmpty(0) || this.stEmpty(1)) { this.underflow(1, 1); return; }
    this.prepare();
    this.loadA(0);
    this.loadB(1);
    tr.binary(this.engine, op, this.bSE, this.bHi, this.bLo, this.aSE, this.aHi, this.aLo);
    this.commitResult(1, 1);
  }

  private fptan(): void {
    if (this.stEmpty(0)) { this.underflow(0, 0); return; }
    if (!this.isEmpty((this.top - 1) & 7)) {
      // Stack overflow: masked response sets ST(0) and the new ST(0) to the indefinite.
      this.setC1(true);
      if (this.signal(EXC_IE | EXC_SF)) return;
      this.writeIndefinite(0);
      this.top = (this.top - 1) & 7;
      this.writeIndefinite(0);
      return;
    }
    this.prepare();
    this.loadA(0);
    const f = this.engine;
    if (tr.unary(f, tr.OP_FPTAN, this.aSE, this.aHi, this.aLo)) { this.statusFlags |= SW_C2; return; }
    this.statusFlags &= ~SW_C2;
    const fl = this.opFlags();
    if (this.signal(fl)) return;
    this.setC1((fl & EXC_PE) !== 0 && f.roundedUp);
    const nan = classify(f.rSE, f.rHi, f.rLo) >= CLS_QNAN;
    this.writeResult(0);
    if (nan) f.setResult(f.rSE, f.rHi, f.rLo); // a NaN operand pushes the NaN again
    else f.setResult(0x3fff, 0x80000000, 0);
    this.top = (this.top - 1) & 7;
    this.writeResult(0);
  }

  private fsincos(): void {
    if (this.stEmpty(0)) { this.underflow(0, 0); return; }
    if (!this.isEmpty((this.top - 1) & 7)) {
      this.setC1(true);
      if (this.signal(EXC_IE | EXC_SF)) return;
      this.writeIndefinite(0);
      this.top = (this.top - 1) & 7;
      this.writeIndefinite(0);
      return;
    }
    this.prepare();
    this.loadA(0);
    const f = this.engine;
    if (tr.unary(f, tr.OP_FSIN, this.aSE, this.aHi, this.aLo)) { this.statusFlags |= SW_C2; return; }
    const sSE = f.rSE, sHi = f.rHi, sLo = f.rLo;
    const sinUp = f.roundedUp;
    tr.unary(f, tr.OP_FCOS, this.aSE, this.aHi, this.aLo);
    this.statusFlags &= ~SW_C2;
    const fl = this.opFlags();
    if (this.signal(fl)) return;
    this.setC1((fl & EXC_PE) !== 0 && (f.roundedUp || sinUp));
    const p = this.top;
    this.writePhys(p, sSE, sHi, sLo);
    this.setTag(p, TAG_VALID);
    this.top = (this.top - 1) & 7;
    this.writeResult(0);
  }

  private fxtract(): void {
    if (this.stEmpty(0)) { this.underflow(0, 0); return; }
    if (!this.isEmpty((this.top - 1) & 7)) {
      this.setC1(true);
      if (this.signal(EXC_IE | EXC_SF)) return;
      this.writeIndefinite(0);
      this.top = (this.top - 1) & 7;
      this.writeIndefinite(0);
      return;
    }
    this.prepare();
    this.loadA(0);
    const f = this.engine;
    const c = classify(this.aSE, this.aHi, this.aLo);
    let eSE: number, eHi: number, eLo: number;
    if (c === CLS_UNSUPPORTED) {
      f.invalid();
      eSE = f.rSE; eHi = f.rHi; eLo = f.rLo;
    } else if (isNaNClass(c)) {
      f.propagateNaN1(this.aSE, this.aHi, this.aLo, c);
      eSE = f.rSE; eHi = f.rHi; eLo = f.rLo;
    } else if (c === CLS_ZERO) {
      f.flags |= EXC_ZE;
      eSE = 0xffff; eHi = 0x80000000; eLo = 0; // -inf
      f.setResult(this.aSE, 0, 0);
    } else if (c === CLS_INF) {
      eSE = 0x7fff; eHi = 0x80000000; eLo = 0; // +inf
      f.setResult(this.aSE, this.aHi, this.aLo);
    } else {
      if (c === CLS_DENORMAL) f.flags |= EXC_DE;
      const e = f.extractExponent(this.aSE, this.aHi, this.aLo);
      const mSE = f.rSE, mHi = f.rHi, mLo = f.rLo;
      f.fromInt32(e);
      eSE = f.rSE; eHi = f.rHi; eLo = f.rLo;
      f.setResult(mSE, mHi, mLo);
    }
    const fl = f.flags;
    if (this.signal(fl)) return;
    this.setC1(false);
    this.writePhys(this.top, eSE, eHi, eLo);
    this.top = (this.top - 1) & 7;
    this.writeResult(0);
  }

  private fprem(nearest: boolean): void {
    if (this.stEmpty(0) || this.stEmpty(1)) { this.underflow(0, 0); return; }
    this.prepare();
    this.loadA(0);
    this.loadB(1);
    const f = this.engine;
    const ca = classify(this.aSE, this.aHi, this.aLo);
    const cb = classify(this.bSE, this.bHi, this.bLo);
    let special = true;
    if (ca === CLS_UNSUPPORTED || cb === CLS_UNSUPPORTED) f.invalid();
    else if (isNaNClass(ca) || isNaNClass(cb)) f.propagateNaN2(this.aSE, this.aHi, this.aLo, ca, this.bSE, this.bHi, this.bLo, cb);
    else if (ca === CLS_INF || cb === CLS_ZERO) f.invalid();
    else {
      if (ca === CLS_DENORMAL || cb === CLS_DENORMAL) f.flags |= EXC_DE;
      if (cb === CLS_INF || ca === CLS_ZERO) {
        // The dividend comes back unchanged, a pseudo-denormal in its normal encoding.
        const pseudo = (this.aSE & 0x7fff) === 0 && (this.aHi & 0x80000000) !== 0;
        f.setResult(pseudo ? this.aSE | 1 : this.aSE, this.aHi, this.aLo);
      }
      else { f.remainder(this.aSE, this.aHi, this.aLo, this.bSE, this.bHi, this.bLo, nearest); special = false; }
    }
    const fl = f.flags;
    if (this.signal(fl)) return;
    if (special) {
      this.setCC(false, false, false, false);
    } else {
      const q = f.quotientLow;
      // Complete: C0 = Q2, C3 = Q1, C1 = Q0. Incomplete: only C2 (as the hardware does).
      if (f.incomplete) this.setCC(false, true, false, false);
      else this.setCC((q & 2) !== 0, false, (q & 1) !== 0, (q & 4) !== 0);
    }
    this.writeResult(0);
  }

  private fscale(): void {
    if (this.stEmpty(0) || this.stEmpty(1)) { this.underflow(0, 0); return; }
    this.prepare();
    this.loadA(0);
    this.loadB(1);
    tr.scale(this.engine, this.aSE, this.aHi, this.aLo, this.bSE, this.bHi, this.bLo);
    this.commitResult(0, 0);
  }
}

/** Instructions that do not record the instruction/operand pointers (and some do not wait). */
function isControl(opcode: number, modrm: number, reg: number, isReg: boolean): boolean {
  if (isReg) {
    if (opcode === 0xdb) return modrm >= 0xe0 && modrm <= 0xe4;
    return opcode === 0xdf && modrm === 0xe0;
  }
  if (opcode === 0xd9) return reg >= 4;
  if (opcode === 0xdd) return reg === 4 || reg >= 6;
  return false;
}

