// The x87 floating-point unit of a P6 (Pentium Pro / II): register stack, control, status and
// tag words, every D8..DF instruction, exception signalling (#MF or FERR#) and the
// FSTENV/FSAVE images. Arithmetic is exact on 80-bit values (./fpu-float80.ts); the
// transcendental instructions are computed in double-double (./fpu-transcendental.ts).
// See FPU-NOTES.md.
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

import type { FpuInstructionPointers, FpuUnit } from './interfaces.js';
import {
  CLS_DENORMAL, CLS_INF, CLS_NORMAL, CLS_QNAN, CLS_SNAN, CLS_UNSUPPORTED, CLS_ZERO,
  EXC_DE, EXC_IE, EXC_OE, EXC_PE, EXC_SF, EXC_UE, EXC_ZE, INDEFINITE_HI, INDEFINITE_SE,
  RC_NEAREST, RC_UP, classify, isNaNClass,
} from './fpu-float80.js';
import * as tr from './fpu-transcendental.js';
import { loadEnvironment, storeEnvironment, environmentSize } from './fpu-env.js';
import { FpuState, SW_B, SW_C2, TAG_EMPTY, TAG_VALID } from './fpu-state.js';

export { FpuState, type FpuHooks } from './fpu-state.js';

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
export class Fpu extends FpuState implements FpuUnit {
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

  /**
   * The x87 part of an FXSAVE image at `linear` (legacy 32-bit format): FCW, FSW, abridged
   * FTW, FOP, FIP, FCS, FDP, FDS (bytes 0..23) and ST(0)..ST(7) at 32 + 16*i. MXCSR
   * (bytes 24..31) and the XMM registers are the CPU's; reserved bytes are not written.
   * Unlike FNSAVE, the unit is not reinitialized.
   */
  fxsave(linear: number): void {
    const m = this.mem;
    m.write16(linear, this.controlWord);
    m.write16(linear + 2, this.statusWord);
    m.write8(linear + 4, this.abridgedTagWord);
    m.write16(linear + 6, this.fop & 0x7ff);
    m.write32(linear + 8, this.fip | 0);
    m.write16(linear + 12, this.fcs);
    m.write32(linear + 16, this.fdp | 0);
    m.write16(linear + 20, this.fds);
    for (let i = 0; i < 8; i++) {
      const p = (this.top + i) & 7;
      this.writeM80(linear + 32 + 16 * i, this.regSignExp[p]!, this.regMant[2 * p + 1]!, this.regMant[2 * p]!);
    }
  }

  /** Load the x87 part of an FXRSTOR image (reads everything before changing anything). */
  fxrstor(linear: number): void {
    const m = this.mem;
    const buf = this.restoreBuffer;
    for (let i = 0; i < 8; i++) {
      const a = linear + 32 + 16 * i;
      buf[3 * i] = m.read32(a) >>> 0;
      buf[3 * i + 1] = m.read32(a + 4) >>> 0;
      buf[3 * i + 2] = m.read16(a + 8) & 0xffff;
    }
    const cw = m.read16(linear), sw = m.read16(linear + 2), tag = m.read8(linear + 4);
    const fop = m.read16(linear + 6), fip = m.read32(linear + 8), fcs = m.read16(linear + 12);
    const fdp = m.read32(linear + 16), fds = m.read16(linear + 20);
    this.controlWord = (cw & 0x1f3f) | 0x0040;
    this.syncControl();
    this.setStatusWord(sw);
    this.setAbridgedTagWord(tag);
    this.fop = fop & 0x7ff;
    this.fip = fip >>> 0;
    this.fcs = fcs & 0xffff;
    this.fdp = fdp >>> 0;
    this.fds = fds & 0xffff;
    for (let i = 0; i < 8; i++) this.writeST(i, buf[3 * i + 2]!, buf[3 * i + 1]!, buf[3 * i]!);
  }

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
    // Even with IE/DE unmasked the condition codes report the comparison ("unordered" for
    // an invalid one), as a host x87 does; only the pop is suppressed.
    const abort = this.signal(this.engine.flags & ~EXC_PE);
    this.setCC(r >= 2, r === 3, false, r === 1 || r === 3);
    if (abort) return;
    for (let k = 0; k < pops; k++) this.pop();
  }

  private compareUnderflow(pops: number, eflags: boolean): void {
    this.setC1(false);
    if (this.signal(EXC_IE | EXC_SF)) {
      if (!eflags) this.setCC(true, true, false, true);
      return;
    }
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

