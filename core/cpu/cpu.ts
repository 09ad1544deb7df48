// The i686 (Pentium II class) CPU: architectural state, EFLAGS with lazy arithmetic flags,
// linear/physical memory access with paging and a TLB, the stack helpers and the run loop.
// Instruction decode/execute lives in exec.ts / exec0f.ts / alu.ts / string.ts.
//
// ---- State (public fields; the system engineer's core/cpu/system/*.ts reads and writes them)
//   regs: Int32Array(8)        EAX ECX EDX EBX ESP EBP ESI EDI (REG_* indices)
//   reg16: Uint16Array          views over the same buffer: reg16[r*2] = low 16 bits of regs[r]
//   reg8: Uint8Array            AL CL DL BL = reg8[0,4,8,12], AH CH DH BH = reg8[1,5,9,13]
//   eip                         offset in CS (unsigned 32-bit value stored as number)
//   segSel: Uint16Array(6)      ES CS SS DS FS GS (SEG_* from system/constants.ts)
//   segBase: Int32Array(6)      linear base
//   segLimit: Int32Array(6)     byte limit with granularity applied (0xFFFFFFFF reads as -1)
//   segFlags: Int32Array(6)     descriptor bits 40-47 in 0-7, bits 52-55 in 12-15
//   cpl, cr0, cr2, cr3, cr4, dr: Int32Array(8), gdtrBase/Limit, idtrBase/Limit,
//   ldtrSel/Base/Limit, trSel/Base/Limit/Flags
//   getEflags()/setEflags(v)    full EFLAGS incl. lazy arithmetic flags; setEflags stores v as
//                               given (callers apply privilege masks) and calls updateModes()
//   halted, nmiBlocked (set on NMI entry; system iret() must clear it), intShadow
//   MSRs: sysenterCs/Esp/Eip, apicBase, mtrrVar(32: 0x200-0x20F lo/hi), mtrrFixed(22: 0x250,
//   0x258, 0x259, 0x268-0x26F lo/hi), mtrrDefType, tscOffset; instructionCount (float64).
//
// ---- Helpers for core/cpu/system
//   readLinear8/16/32(lin), writeLinear8/16/32(lin, v)   U/S check with the current CPL
//   readSystem8/16/32, writeSystem8/16/32                 supervisor accesses (GDT/LDT/IDT/TSS)
//   push16/push32/pop16/pop32                             SS-relative, SS.B picks ESP vs SP
//   loadSegmentReal(seg, sel)  setSegment(seg, sel, base, limit, flags)
//   fault(vector, errorCode = -1): never returns (throws CpuFault)
//   flushTlb(includeGlobal), invalidatePage(lin)          call after CR0/CR3/CR4 writes, INVLPG
//   updateModes()                                          after CR0/EFLAGS/CS/SS changes
//   readModrm16/32(), writeModrm16/32(v), modrmIsReg, modrmReg, eaLinear
//                     the operand of the current 0F 00 / 0F 01 instruction (decoded already)
//
// ---- Contract with core/cpu/system (functions there; this decoder calls them via sysops.ts)
//   deliverInterrupt(cpu, vector, kind, errorCode)  kind INT_EXCEPTION/INT_SOFTWARE/INT_HARDWARE/
//       INT_ICEBP; errorCode -1 = none; cpu.eip is the return EIP (faults: instruction start,
//       traps/INT n: next instruction). Double/triple fault escalation is done here (cpu.ts).
//   loadSegment(cpu, seg, selector)        MOV/POP Sreg, LDS..LGS: all modes, all checks
//   farJump(cpu, sel, offset, opsize32)  farCall(cpu, sel, offset, opsize32)  (eip = next insn)
//   farReturn(cpu, opsize32, imm)  iret(cpu, opsize32)
//   executeSystem0F(cpu, op2)              0F 00 and 0F 01 groups (ModRM already decoded, see
//                                          readModrm16 etc.; cpu.modrmRegField = ModRM.reg)
//   movFromCr(cpu, n): number  movToCr(cpu, n, v)  movFromDr(cpu, n): number  movToDr(cpu, n, v)
//   lar(cpu, sel), lsl(cpu, sel): value as unsigned (>>> 0), or -1 if invalid/not visible (ZF=0)
//   clts(cpu)  rdmsr(cpu)  wrmsr(cpu)  cpuid(cpu)  rdtsc(cpu)  sysenter(cpu)  sysexit(cpu)
//   checkIoPermission(cpu, port, size)     called when PE && (CPL > IOPL || VM); throws #GP
// Until those land, sysops.ts holds real-mode fallbacks.

import type { IoBus } from '../bus/io.js';
import type { PhysicalMemory } from '../bus/memory.js';
import type { Stateful, VMStateDecl } from '../state/vmstate.js';
import type { CpuPlatformHooks, FpuMemory, FpuUnit, InterruptSource } from './interfaces.js';
import { step } from './exec-hot.js';
import { BlockCache, WATCH_CODE } from './jit/block-cache.js';
import { deliverInterrupt } from './sysops.js';
import {
  CR0_AM, CR0_PE, CR0_PG, CR0_WP, CR4_PAE, CR4_PGE, CR4_PSE, EXC_AC, EXC_DB, EXC_DF, EXC_GP, EXC_PF, EXC_SS,
  FLAG_AC, FLAG_IF, FLAG_RF, FLAG_TF, FLAG_VM, SEG_CS, SEG_SS, SF_DB,
} from './system/constants.js';

export const REG_EAX = 0, REG_ECX = 1, REG_EDX = 2, REG_EBX = 3, REG_ESP = 4, REG_EBP = 5, REG_ESI = 6, REG_EDI = 7;

/** Interrupt kinds for deliverInterrupt. */
export const INT_EXCEPTION = 0;
/** INT n, INT3, INTO: gate DPL checked, IOPL-sensitive in v86. */
export const INT_SOFTWARE = 1;
export const INT_HARDWARE = 2;
/** INT1/ICEBP (F1): like an exception but with the next EIP as return address. */
export const INT_ICEBP = 3;

/** CPUID(1).EAX and EDX after reset: family 6, model 5 (Pentium II Deschutes), stepping 2. */
export const CPU_SIGNATURE = 0x0652;

/** Arithmetic flag bits (CF PF AF ZF SF OF) that may be held lazily. */
export const ARITH_FLAGS = 0x8d5;

// Lazy flag kinds (lzOp)
export const LZ_NONE = 0, LZ_ADD = 1, LZ_SUB = 2, LZ_LOGIC = 3, LZ_INC = 4, LZ_DEC = 5;

/** A fault raised while executing an instruction; the run loop delivers it. */
export class CpuFault extends Error {
  constructor(readonly vector: number, readonly errorCode: number) {
    super(`cpu fault ${vector}${errorCode >= 0 ? ` (${errorCode.toString(16)})` : ''}`);
  }
}

export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let p = 1;
  for (let b = i; b; b >>= 1) p ^= b & 1;
  PARITY[i] = p ? 4 : 0;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// TLB entry flag bits (low bits of a tlb entry; the physical page address is above them)
const TLB_SUP_READ = 1, TLB_USER_READ = 2, TLB_SUP_WRITE = 4, TLB_USER_WRITE = 8, TLB_GLOBAL = 16;
const TLB_LIST_MAX = 8192;
/**
 * How often (in instructions) a running CPU with IF=1 asks the interrupt controller. Well above
 * the longest compiled block (jit/codegen.ts MAX_INSNS), which runs only if it fits before the
 * next poll.
 */
const POLL_INTERVAL = 512;


export class Cpu implements Stateful, FpuMemory {
  readonly regs = new Int32Array(8);
  readonly reg16 = new Uint16Array(this.regs.buffer);
  readonly reg8 = new Uint8Array(this.regs.buffer);
  eip = 0;
  readonly segSel = new Uint16Array(6);
  readonly segBase = new Int32Array(6);
  readonly segLimit = new Int32Array(6);
  readonly segFlags = new Int32Array(6);
  /**
   * Per segment, the highest offset the fast limit check accepts: limit >>> 0 for a present,
   * expand-up segment, -1 (always the slow check) for expand-down data or a null selector.
   * Kept by setSegment and postLoad.
   */
  readonly segFastLimit = new Float64Array(6);
  cpl = 0;
  cr0 = 0x60000010;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  readonly dr = new Int32Array(8);
  gdtrBase = 0;
  gdtrLimit = 0xffff;
  idtrBase = 0;
  idtrLimit = 0xffff;
  ldtrSel = 0;
  ldtrBase = 0;
  ldtrLimit = 0;
  trSel = 0;
  trBase = 0;
  trLimit = 0;
  trFlags = 0;

  /** EFLAGS; bits in ARITH_FLAGS are stale while lzOp != LZ_NONE. */
  flags = 2;
  lzOp = LZ_NONE;
  lzA = 0;
  lzB = 0;
  lzRes = 0;
  /** Operand size in bits minus 1 (7, 15, 31) of the lazy operation. */
  lzTop = 31;

  halted = false;
  /** Interrupts (and single-step traps) inhibited for one instruction (STI, MOV SS, POP SS). */
  intShadow = false;
  /** Set by INT n/INT3/INTO/INT1: no single-step trap after an instruction that entered a handler. */
  trapSuppressed = false;
  nmiPending = false;
  nmiBlocked = false;
  /**
   * Instructions until INTR is polled again while IF=1. Reset to 0 (poll at the next boundary)
   * at run() entry, when IF is 0 (so an IF 0->1 edge polls at once), after port I/O and MMIO
   * writes; otherwise the PIC/APIC is asked every POLL_INTERVAL instructions.
   */
  pollCountdown = 0;
  /**
   * Set by anything that the run loop's fast block must look at before the next instruction:
   * EFLAGS reloads (IF/TF), STI, MOV/POP SS, HLT, NMI, port I/O and MMIO writes. The block
   * runs without the per-instruction checks while this stays false.
   */
  eventPending = false;
  /** Set by setEflags: tells the checked step that the instruction reloaded EFLAGS (keeps RF). */
  eflagsLoaded = false;

  // MSRs
  sysenterCs = 0;
  sysenterEsp = 0;
  sysenterEip = 0;
  apicBase = 0xfee00900 | 0;
  readonly mtrrVar = new Int32Array(32);
  readonly mtrrFixed = new Int32Array(22);
  mtrrDefType = 0;
  tscOffset = 0;
  instructionCount = 0;

  // Cached mode state (updateModes)
  /** CR0.AM && EFLAGS.AC && CPL 3: misaligned data accesses raise #AC(0). */
  alignCheck = false;
  /** CR0.PE && !VM */
  protectedMode = false;
  v86 = false;
  pagingOn = false;
  code32 = false;
  stack32 = false;

  /** Back to the between-instructions prefix state (see step() in exec-hot.ts). */
  resetPrefixes(): void {
    this.opsize32 = this.addrsize32 = this.code32;
    this.segOverride = -1;
    this.repPrefix = 0;
    this.lockPrefix = false;
  }

  // Current instruction decode state (exec.ts)
  /** EIP of the instruction being executed (restored on a fault). */
  startEip = 0;
  startEsp = 0;
  opsize32 = false;
  addrsize32 = false;
  /** Segment override index or -1. */
  segOverride = -1;
  /** 0 none, 1 = F3 (REP/REPE), 2 = F2 (REPNE) */
  repPrefix = 0;
  lockPrefix = false;
  modrmIsReg = false;
  /** ModRM.rm register index when modrmIsReg. */
  modrmReg = 0;
  /** ModRM.reg field of the current instruction. */
  modrmRegField = 0;
  /** Linear address of the memory operand when !modrmIsReg. */
  eaLinear = 0;
  /** Offset (effective address) of the memory operand, and its segment. */
  eaOffset = 0;
  eaSeg = 3;

  // Code fetch cache: EIP values in [fetchEipLo, fetchEipHi) lie on one RAM page of the current
  // code segment and are found at mem[fetchAdj + eip]. fetchEipHi = 0 invalidates it.
  fetchEipLo = 0;
  fetchEipHi = 0;
  fetchAdj = 0;

  // TLB: per linear page, the physical page address and permission bits.
  /** Per linear page: physical page address | TLB_* permission bits; 0 = no entry. */
  readonly tlb = new Int32Array(1 << 20);
  private readonly tlbList = new Int32Array(TLB_LIST_MAX);
  private tlbCount = 0;
  private tlbOverflow = false;
  /** TLB_SUP_READ or TLB_USER_READ depending on CPL. */
  tlbReadNeed = TLB_SUP_READ;
  tlbWriteNeed = TLB_SUP_WRITE;

  /** Compiled blocks (jit/): used by the run loop when jitEnabled and the mode is flat 32-bit. */
  readonly jit: BlockCache;
  /** Run compiled blocks (MachineConfig.jit; PERSEUS_JIT=0 turns it off in main/). */
  jitEnabled = true;
  /**
   * Protected mode, 32-bit code and stack, and CS/DS/ES/SS all base 0, limit 4 GiB, present
   * and expand-up: the only mode blocks are compiled for. Kept by updateJitFlat().
   */
  jitFlat = false;
  /**
   * Set when a block did not fit before the poll point and the interpreter runs its
   * instructions: no lookups (which would count and compile the block's tails) until the
   * interpreter leaves it by a jump or reaches its end (jitResyncEnd) or an exception/interrupt.
   */
  private jitResync = false;
  private jitResyncEnd = 0;

  fpu: FpuUnit | null = null;
  /** The CPU model has MMX (set by the board from the model; CPUID reports it, 0F MMX opcodes run). */
  hasMmx = false;
  intr: InterruptSource | null = null;
  hooks: CpuPlatformHooks = {};

  readonly mem: Uint8Array;
  /** 16/32-bit views of mem for aligned accesses (little-endian hosts only, checked below). */
  readonly mem16: Uint16Array;
  readonly mem32: Int32Array;
  readonly readMap: Int32Array;
  readonly writeMap: Int32Array;
  readonly watchPage: Uint8Array;
  /**
   * memory.a20Mask as of the last A20 change (through memory.onA20Change, chained) or run
   * boundary, for the linear-access fast paths; the slow paths read memory.a20Mask.
   */
  a20Mask = -1;

  constructor(readonly memory: PhysicalMemory, readonly io: IoBus) {
    this.mem = memory.mem;
    this.mem16 = new Uint16Array(this.mem.buffer, this.mem.byteOffset, this.mem.length >> 1);
    this.mem32 = new Int32Array(this.mem.buffer, this.mem.byteOffset, this.mem.length >> 2);
    this.readMap = memory.readMap;
    this.writeMap = memory.writeMap;
    this.watchPage = memory.watchPage;
    this.jit = new BlockCache(this);
    const previousWatch = memory.onWatchedWrite;
    const watch = memory.watchPage;
    memory.onWatchedWrite = (page: number): void => {
      const w = watch[page];
      if ((w & WATCH_CODE) !== 0) {
        this.jit.invalidatePage(page);
        // The running block (maybe the one just invalidated) stops after this instruction.
        this.eventPending = true;
        if ((w & ~WATCH_CODE) === 0) return;
      }
      previousWatch(page);
    };
    const previous = memory.onA20Change;
    memory.onA20Change = (enabled: boolean): void => {
      previous(enabled);
      this.a20Mask = memory.a20Mask;
    };
    this.reset();
  }

  // ------------------------------------------------------------------ reset and modes

  reset(): void {
    this.a20Mask = this.memory.a20Mask;
    this.regs.fill(0);
    this.regs[REG_EDX] = CPU_SIGNATURE;
    this.eip = 0xfff0;
    for (let s = 0; s < 6; s++) this.setSegment(s, 0, 0, 0xffff, 0x93);
    this.setSegment(SEG_CS, 0xf000, 0xffff0000 | 0, 0xffff, 0x9b);
    this.cpl = 0;
    this.cr0 = 0x60000010;
    this.cr2 = this.cr3 = this.cr4 = 0;
    this.dr.fill(0);
    this.dr[6] = 0xffff0ff0 | 0;
    this.dr[7] = 0x400;
    this.gdtrBase = this.idtrBase = 0;
    this.gdtrLimit = this.idtrLimit = 0xffff;
    this.ldtrSel = this.ldtrBase = 0;
    this.ldtrLimit = 0xffff;
    this.trSel = this.trBase = 0;
    this.trLimit = 0xffff;
    this.trFlags = 0x8b;
    this.flags = 2;
    this.lzOp = LZ_NONE;
    this.halted = false;
    this.intShadow = false;
    this.nmiPending = false;
    this.nmiBlocked = false;
    this.sysenterCs = this.sysenterEsp = this.sysenterEip = 0;
    this.apicBase = 0xfee00900 | 0;
    this.mtrrVar.fill(0);
    this.mtrrFixed.fill(0);
    this.mtrrDefType = 0;
    this.fpu?.reset();
    this.flushTlb(true);
    this.updateModes();
    this.jit.clear();
  }

  /** Recompute cached mode state after CR0, CR4, EFLAGS.VM, CS or SS changed. */
  updateModes(): void {
    const pe = (this.cr0 & CR0_PE) !== 0;
    this.v86 = pe && (this.flags & FLAG_VM) !== 0;
    this.protectedMode = pe && !this.v86;
    this.code32 = this.protectedMode && (this.segFlags[SEG_CS] & SF_DB) !== 0;
    this.stack32 = this.protectedMode && (this.segFlags[SEG_SS] & SF_DB) !== 0;
    const paging = pe && (this.cr0 & CR0_PG) !== 0;
    if (paging !== this.pagingOn) {
      this.pagingOn = paging;
      this.flushTlb(true);
    }
    this.opsize32 = this.addrsize32 = this.code32;
    if (this.v86) this.cpl = 3;
    else if (!pe) this.cpl = 0;
    const user = this.cpl === 3;
    this.alignCheck = user && (this.cr0 & CR0_AM) !== 0 && (this.flags & FLAG_AC) !== 0;
    this.tlbReadNeed = user ? TLB_USER_READ : TLB_SUP_READ;
    this.tlbWriteNeed = user ? TLB_USER_WRITE : TLB_SUP_WRITE;
    this.fetchEipHi = 0;
    this.updateJitFlat();
  }

  /** Recompute jitFlat (after segment or mode changes). */
  updateJitFlat(): void {
    let flat = this.code32 && this.stack32;
    for (let s = 0; s < 4 && flat; s++) {
      if (this.segBase[s] !== 0 || this.segLimit[s] !== -1 || this.segFastLimit[s] !== 0xffffffff) flat = false;
    }
    this.jitFlat = flat;
  }

  setSegment(seg: number, selector: number, base: number, limit: number, flags: number): void {
    this.segSel[seg] = selector;
    this.segBase[seg] = base;
    this.segLimit[seg] = limit;
    this.segFlags[seg] = flags;
    this.updateFastLimit(seg);
    if (seg === SEG_CS) {
      this.fetchEipHi = 0;
      this.code32 = this.opsize32 = this.addrsize32 = this.protectedMode && (flags & SF_DB) !== 0;
    } else if (seg === SEG_SS) {
      this.stack32 = this.protectedMode && (flags & SF_DB) !== 0;
    }
    this.updateJitFlat();
  }

  private updateFastLimit(seg: number): void {
    const kind = this.segFlags[seg] & 0x9c; // P S code expand-down
    this.segFastLimit[seg] = kind < 0x80 || kind === 0x94 ? -1 : this.segLimit[seg] >>> 0;
  }

  /** Real-mode / v86 segment load: only selector and base change (keeps unreal-mode limits). */
  loadSegmentReal(seg: number, selector: number): void {
    selector &= 0xffff;
    this.segSel[seg] = selector;
    this.segBase[seg] = selector << 4;
    if (seg === SEG_CS) this.fetchEipHi = 0;
    this.updateJitFlat();
  }

  // ------------------------------------------------------------------ EFLAGS

  getEflags(): number {
    if (this.lzOp !== LZ_NONE) this.materializeFlags();
    return this.flags;
  }

  setEflags(value: number): void {
    this.flags = (value & 0x3f7fd5) | 2;
    this.lzOp = LZ_NONE;
    this.eventPending = true;
    this.eflagsLoaded = true;
    this.updateModes();
  }

  /** Write the lazy arithmetic flags into `flags`. */
  materializeFlags(): void {
    // The getters below in one switch: CF AF OF per kind, SF ZF PF from the result.
    const a = this.lzA, b = this.lzB, r = this.lzRes, top = this.lzTop;
    let f = PARITY[r & 0xff] | (r === 0 ? 0x40 : 0) | (((r >>> top) & 1) << 7);
    switch (this.lzOp) {
      case LZ_ADD:
        f |= ((((a & b) | ((a | b) & ~r)) >>> top) & 1) | ((a ^ b ^ r) & 0x10) | ((((a ^ r) & (b ^ r)) >>> top & 1) << 11);
        break;
      case LZ_SUB:
        f |= ((((~a & b) | ((~a | b) & r)) >>> top) & 1) | ((a ^ b ^ r) & 0x10) | ((((a ^ b) & (a ^ r)) >>> top & 1) << 11);
        break;
      case LZ_LOGIC:
        break;
      case LZ_INC:
        f |= (this.flags & 1) | ((a ^ b ^ r) & 0x10) | ((((a ^ r) & (b ^ r)) >>> top & 1) << 11);
        break;
      case LZ_DEC:
        f |= (this.flags & 1) | ((a ^ b ^ r) & 0x10) | ((((a ^ b) & (a ^ r)) >>> top & 1) << 11);
        break;
      default:
        return;
    }
    this.flags = (this.flags & ~ARITH_FLAGS) | f;
    this.lzOp = LZ_NONE;
  }

  /** Set the arithmetic flags eagerly (shifts, MUL, DIV, BCD, POPF...). */
  setArithFlags(f: number): void {
    this.flags = (this.flags & ~ARITH_FLAGS) | (f & ARITH_FLAGS);
    this.lzOp = LZ_NONE;
  }

  getCF(): number {
    const a = this.lzA, b = this.lzB, r = this.lzRes;
    switch (this.lzOp) {
      case LZ_ADD: return (((a & b) | ((a | b) & ~r)) >>> this.lzTop) & 1;
      case LZ_SUB: return (((~a & b) | ((~a | b) & r)) >>> this.lzTop) & 1;
      case LZ_LOGIC: return 0;
      default: return this.flags & 1;
    }
  }

  getPF(): number {
    return this.lzOp === LZ_NONE ? this.flags & 4 : PARITY[this.lzRes & 0xff];
  }

  getAF(): number {
    switch (this.lzOp) {
      case LZ_NONE: return this.flags & 0x10;
      case LZ_LOGIC: return 0;
      default: return (this.lzA ^ this.lzB ^ this.lzRes) & 0x10;
    }
  }

  getZF(): number {
    return this.lzOp === LZ_NONE ? this.flags & 0x40 : this.lzRes === 0 ? 0x40 : 0;
  }

  getSF(): number {
    return this.lzOp === LZ_NONE ? this.flags & 0x80 : ((this.lzRes >>> this.lzTop) & 1) << 7;
  }

  getOF(): number {
    const a = this.lzA, b = this.lzB, r = this.lzRes;
    switch (this.lzOp) {
      case LZ_NONE: return this.flags & 0x800;
      case LZ_ADD: case LZ_INC: return (((a ^ r) & (b ^ r)) >>> this.lzTop & 1) << 11;
      case LZ_SUB: case LZ_DEC: return (((a ^ b) & (a ^ r)) >>> this.lzTop & 1) << 11;
      default: return 0;
    }
  }

  /** Evaluate condition code cc (0-15) as used by Jcc/SETcc/CMOVcc. */
  cond(cc: number): boolean {
    let r: boolean;
    switch (cc >> 1) {
      case 0: r = this.getOF() !== 0; break;
      case 1: r = this.getCF() !== 0; break;
      case 2: r = this.getZF() !== 0; break;
      case 3: r = (this.getCF() | this.getZF()) !== 0; break;
      case 4: r = this.getSF() !== 0; break;
      case 5: r = this.getPF() !== 0; break;
      case 6: r = (this.getSF() !== 0) !== (this.getOF() !== 0); break;
      default: r = this.getZF() !== 0 || (this.getSF() !== 0) !== (this.getOF() !== 0); break;
    }
    return (cc & 1) !== 0 ? !r : r;
  }

  // ------------------------------------------------------------------ faults

  fault(vector: number, errorCode = -1): never {
    throw new CpuFault(vector, errorCode);
  }

  // ------------------------------------------------------------------ segment limits

  /**
   * #GP(0) (#SS(0) for SS) unless [off, off+size) lies inside segment `seg`; in protected
   * mode also for a segment register loaded with a null selector (cached with P = 0).
   */
  checkLimit(seg: number, off: number, size: number): void {
    if ((off >>> 0) + size - 1 > this.segFastLimit[seg]) this.limitSlow(seg, off, size);
  }

  private limitSlow(seg: number, off: number, size: number): void {
    const flags = this.segFlags[seg];
    const fault = seg === SEG_SS ? EXC_SS : EXC_GP;
    if ((flags & 0x80) === 0 && this.protectedMode) this.fault(fault, 0); // null selector
    const start = off >>> 0;
    const end = start + size - 1;
    if ((flags & 0x1c) === 0x14) {
      // Expand-down data segment: valid offsets are limit+1 .. 0xFFFF or 0xFFFFFFFF.
      const upper = flags & SF_DB ? 0xffffffff : 0xffff;
      if (start > (this.segLimit[seg] >>> 0) && end <= upper) return;
    } else if (end <= (this.segLimit[seg] >>> 0)) {
      return;
    }
    this.fault(fault, 0);
  }

  // ------------------------------------------------------------------ paging

  flushTlb(includeGlobal = false): void {
    this.fetchEipHi = 0;
    if (this.tlbOverflow) {
      if (includeGlobal) {
        this.tlb.fill(0);
        this.tlbOverflow = false;
        this.tlbCount = 0;
        return;
      }
      const f = this.tlb;
      for (let i = 0; i < f.length; i++) if ((f[i] & TLB_GLOBAL) === 0) f[i] = 0;
      this.tlbOverflow = false;
      this.tlbCount = 0;
      for (let i = 0; i < f.length && this.tlbCount < TLB_LIST_MAX; i++) if (f[i]) this.tlbList[this.tlbCount++] = i;
      if (this.tlbCount >= TLB_LIST_MAX) this.tlbOverflow = true;
      return;
    }
    const list = this.tlbList, f = this.tlb;
    let kept = 0;
    for (let i = 0; i < this.tlbCount; i++) {
      const p = list[i];
      if (!includeGlobal && (f[p] & TLB_GLOBAL) !== 0) list[kept++] = p;
      else f[p] = 0;
    }
    this.tlbCount = kept;
  }

  invalidatePage(linear: number): void {
    this.tlb[linear >>> 12] = 0;
    this.fetchEipHi = 0;
  }

  /**
   * Walk the page tables for `lin`. Returns the physical address. `user`: the access is
   * checked as CPL 3; `write`: a write (sets dirty). Faults with #PF.
   */
  private walk(lin: number, write: boolean, user: boolean): number {
    const mem = this.memory;
    const cr4 = this.cr4;
    let entryAddr: number, pde: number, pte: number, phys: number;
    let rw: number, us: number, global = 0;
    const errBase = (write ? 2 : 0) | (user ? 4 : 0);
    if (cr4 & CR4_PAE) {
      const pdpteAddr = ((this.cr3 & ~0x1f) + ((lin >>> 30) << 3)) >>> 0;
      const pdpte = mem.read32(pdpteAddr);
      if ((pdpte & 1) === 0) return this.pageFault(lin, errBase);
      entryAddr = ((pdpte & ~0xfff) + (((lin >>> 21) & 0x1ff) << 3)) >>> 0;
      pde = mem.read32(entryAddr);
      if ((pde & 1) === 0) return this.pageFault(lin, errBase);
      rw = pde & 2;
      us = pde & 4;
      if (pde & 0x80) {
        if (!this.checkAccess(rw, us, write, user)) return this.pageFault(lin, errBase | 1);
        const nd = pde | 0x20 | (write ? 0x40 : 0);
        if (nd !== pde) mem.write32(entryAddr, nd);
        phys = (pde & 0xffe00000) | (lin & 0x1ff000);
        global = pde & 0x100;
        pte = nd;
      } else {
        if ((pde & 0x20) === 0) mem.write32(entryAddr, pde | 0x20);
        const pteAddr = ((pde & ~0xfff) + (((lin >>> 12) & 0x1ff) << 3)) >>> 0;
        pte = mem.read32(pteAddr);
        if ((pte & 1) === 0) return this.pageFault(lin, errBase);
        rw &= pte;
        us &= pte;
        if (!this.checkAccess(rw, us, write, user)) return this.pageFault(lin, errBase | 1);
        const nd = pte | 0x20 | (write ? 0x40 : 0);
        if (nd !== pte) mem.write32(pteAddr, nd);
        pte = nd;
        phys = pte & ~0xfff;
        global = pte & 0x100;
      }
    } else {
      entryAddr = ((this.cr3 & ~0xfff) + ((lin >>> 22) << 2)) >>> 0;
      pde = mem.read32(entryAddr);
      if ((pde & 1) === 0) return this.pageFault(lin, errBase);
      rw = pde & 2;
      us = pde & 4;
      if ((pde & 0x80) && (cr4 & CR4_PSE)) {
        if (!this.checkAccess(rw, us, write, user)) return this.pageFault(lin, errBase | 1);
        const nd = pde | 0x20 | (write ? 0x40 : 0);
        if (nd !== pde) mem.write32(entryAddr, nd);
        phys = (pde & 0xffc00000) | (lin & 0x3ff000);
        global = pde & 0x100;
        pte = nd;
      } else {
        if ((pde & 0x20) === 0) mem.write32(entryAddr, pde | 0x20);
        const pteAddr = ((pde & ~0xfff) + (((lin >>> 12) & 0x3ff) << 2)) >>> 0;
        pte = mem.read32(pteAddr);
        if ((pte & 1) === 0) return this.pageFault(lin, errBase);
        rw &= pte;
        us &= pte;
        if (!this.checkAccess(rw, us, write, user)) return this.pageFault(lin, errBase | 1);
        const nd = pte | 0x20 | (write ? 0x40 : 0);
        if (nd !== pte) mem.write32(pteAddr, nd);
        pte = nd;
        phys = pte & ~0xfff;
        global = pte & 0x100;
      }
    }
    // Fill the TLB entry with what this translation allows.
    const page = lin >>> 12;
    let f = TLB_SUP_READ;
    if (us) f |= TLB_USER_READ;
    const dirty = (pte & 0x40) !== 0;
    if (dirty) {
      if (rw || (this.cr0 & CR0_WP) === 0) f |= TLB_SUP_WRITE;
      if (rw && us) f |= TLB_USER_WRITE;
    }
    if (global && (cr4 & CR4_PGE)) f |= TLB_GLOBAL;
    if (this.tlb[page] === 0) {
      if (this.tlbCount < TLB_LIST_MAX) this.tlbList[this.tlbCount++] = page;
      else this.tlbOverflow = true;
    }
    this.tlb[page] = phys | f;
    return phys | (lin & 0xfff);
  }

  private checkAccess(rw: number, us: number, write: boolean, user: boolean): boolean {
    if (user) return us !== 0 && (!write || rw !== 0);
    return !write || rw !== 0 || (this.cr0 & CR0_WP) === 0;
  }

  private pageFault(lin: number, code: number): never {
    this.cr2 = lin | 0;
    throw new CpuFault(EXC_PF, code);
  }

  /** Linear → physical for a read with the given TLB permission bit. */
  translateRead(lin: number, need: number): number {
    if (!this.pagingOn) return lin & this.memory.a20Mask;
    const page = lin >>> 12;
    const t = this.tlb[page];
    if (t & need) return ((t & ~0xfff) | (lin & 0xfff)) & this.memory.a20Mask;
    return this.walk(lin, false, need === TLB_USER_READ) & this.memory.a20Mask;
  }

  translateWrite(lin: number, need: number): number {
    if (!this.pagingOn) return lin & this.memory.a20Mask;
    const page = lin >>> 12;
    const t = this.tlb[page];
    if (t & need) return ((t & ~0xfff) | (lin & 0xfff)) & this.memory.a20Mask;
    return this.walk(lin, true, need === TLB_USER_WRITE) & this.memory.a20Mask;
  }

  // ------------------------------------------------------------------ physical access

  private physRead8(p: number): number {
    const e = this.readMap[p >>> 12];
    if (e >= 0) return this.mem[(e << 12) | (p & 0xfff)];
    return this.memory.read8(p);
  }

  private physRead16(p: number): number {
    const e = this.readMap[p >>> 12];
    if (e >= 0) {
      const i = (e << 12) | (p & 0xfff);
      if ((i & 1) === 0 && LITTLE_ENDIAN) return this.mem16[i >> 1];
      return this.mem[i] | (this.mem[i + 1] << 8);
    }
    return this.memory.read16(p);
  }

  private physRead32(p: number): number {
    const e = this.readMap[p >>> 12];
    if (e >= 0) {
      const i = (e << 12) | (p & 0xfff);
      if ((i & 3) === 0 && LITTLE_ENDIAN) return this.mem32[i >> 2];
      const m = this.mem;
      return m[i] | (m[i + 1] << 8) | (m[i + 2] << 16) | (m[i + 3] << 24);
    }
    return this.memory.read32(p);
  }

  private physWrite8(p: number, v: number): void {
    const e = this.writeMap[p >>> 12];
    if (e >= 0 && this.watchPage[e] === 0) {
      this.mem[(e << 12) | (p & 0xfff)] = v;
      return;
    }
    this.memory.write8(p, v);
    if (e < 0) { this.fetchEipHi = 0; this.pollCountdown = -1; this.eventPending = true; }
  }

  private physWrite16(p: number, v: number): void {
    const e = this.writeMap[p >>> 12];
    if (e >= 0 && this.watchPage[e] === 0) {
      const i = (e << 12) | (p & 0xfff);
      if ((i & 1) === 0 && LITTLE_ENDIAN) {
        this.mem16[i >> 1] = v;
        return;
      }
      this.mem[i] = v;
      this.mem[i + 1] = v >> 8;
      return;
    }
    this.memory.write16(p, v);
    if (e < 0) { this.fetchEipHi = 0; this.pollCountdown = -1; this.eventPending = true; }
  }

  private physWrite32(p: number, v: number): void {
    const e = this.writeMap[p >>> 12];
    if (e >= 0 && this.watchPage[e] === 0) {
      const i = (e << 12) | (p & 0xfff);
      if ((i & 3) === 0 && LITTLE_ENDIAN) {
        this.mem32[i >> 2] = v;
        return;
      }
      const m = this.mem;
      m[i] = v;
      m[i + 1] = v >> 8;
      m[i + 2] = v >> 16;
      m[i + 3] = v >> 24;
      return;
    }
    this.memory.write32(p, v);
    if (e < 0) { this.fetchEipHi = 0; this.pollCountdown = -1; this.eventPending = true; }
  }

  // ------------------------------------------------------------------ linear access

  private rd8(lin: number, need: number): number {
    return this.physRead8(this.translateRead(lin, need));
  }

  /** #AC(0) for a misaligned user-mode access while alignment checking is on. */
  private checkAlign(lin: number, size: number, need: number): void {
    if (this.alignCheck && (lin & (size - 1)) !== 0 && (need === TLB_USER_READ || need === TLB_USER_WRITE)) this.fault(EXC_AC, 0);
  }

  private rd16(lin: number, need: number): number {
    this.checkAlign(lin, 2, need);
    if ((lin & 0xfff) === 0xfff) return this.rd8(lin, need) | (this.rd8(lin + 1, need) << 8);
    return this.physRead16(this.translateRead(lin, need));
  }

  private rd32(lin: number, need: number): number {
    this.checkAlign(lin, 4, need);
    if ((lin & 0xfff) > 0xffc) {
      // CR2 of a fault on the second page is that page's first byte.
      const lo = this.translateRead(lin, need);
      const hi = this.translateRead(((lin | 0xfff) + 1) | 0, need);
      const n = 0x1000 - (lin & 0xfff);
      let v = 0;
      for (let i = 0; i < n; i++) v |= this.physRead8((lo + i) | 0) << (i * 8);
      for (let i = n; i < 4; i++) v |= this.physRead8((hi + i - n) | 0) << (i * 8);
      return v;
    }
    return this.physRead32(this.translateRead(lin, need));
  }

  private wr8(lin: number, v: number, need: number): void {
    this.physWrite8(this.translateWrite(lin, need), v);
  }

  private wr16(lin: number, v: number, need: number): void {
    this.checkAlign(lin, 2, need);
    if ((lin & 0xfff) === 0xfff) {
      const lo = this.translateWrite(lin, need);
      const hi = this.translateWrite((lin + 1) | 0, need);
      this.physWrite8(lo, v);
      this.physWrite8(hi, v >> 8);
      return;
    }
    this.physWrite16(this.translateWrite(lin, need), v);
  }

  private wr32(lin: number, v: number, need: number): void {
    this.checkAlign(lin, 4, need);
    if ((lin & 0xfff) > 0xffc) {
      const lo = this.translateWrite(lin, need);
      const hi = this.translateWrite(((lin | 0xfff) + 1) | 0, need);
      const n = 0x1000 - (lin & 0xfff);
      for (let i = 0; i < n; i++) this.physWrite8((lo + i) | 0, v >> (i * 8));
      for (let i = n; i < 4; i++) this.physWrite8((hi + i - n) | 0, v >> (i * 8));
      return;
    }
    this.physWrite32(this.translateWrite(lin, need), v);
  }

  // The public linear accessors carry their whole fast path (TLB hit or paging off, RAM page,
  // aligned) in one small function so that V8 inlines it into the instruction handlers; every
  // other case takes the general rd*/wr* path.

  /** Physical address of `lin` from the TLB (or paging off), or -1 when a walk is needed. */
  private fastPhys(lin: number, need: number): number {
    if (!this.pagingOn) return lin & this.a20Mask;
    const page = lin >>> 12;
    const t = this.tlb[page];
    if ((t & need) === 0) return -1;
    return ((t & ~0xfff) | (lin & 0xfff)) & this.a20Mask;
  }

  readLinear8(lin: number): number {
    const p = this.fastPhys(lin, this.tlbReadNeed);
    if (p !== -1) {
      const e = this.readMap[p >>> 12];
      if (e >= 0) return this.mem[(e << 12) | (p & 0xfff)];
    }
    return this.rd8(lin, this.tlbReadNeed);
  }

  readLinear16(lin: number): number {
    if ((lin & 1) === 0 && LITTLE_ENDIAN) {
      const p = this.fastPhys(lin, this.tlbReadNeed);
      if (p !== -1) {
        const e = this.readMap[p >>> 12];
        if (e >= 0) return this.mem16[((e << 12) | (p & 0xfff)) >> 1];
      }
    }
    return this.rd16(lin, this.tlbReadNeed);
  }

  readLinear32(lin: number): number {
    if ((lin & 3) === 0 && LITTLE_ENDIAN) {
      const p = this.fastPhys(lin, this.tlbReadNeed);
      if (p !== -1) {
        const e = this.readMap[p >>> 12];
        if (e >= 0) return this.mem32[((e << 12) | (p & 0xfff)) >> 2];
      }
    }
    return this.rd32(lin, this.tlbReadNeed);
  }

  writeLinear8(lin: number, v: number): void {
    const p = this.fastPhys(lin, this.tlbWriteNeed);
    if (p !== -1) {
      const e = this.writeMap[p >>> 12];
      if (e >= 0 && this.watchPage[e] === 0) {
        this.mem[(e << 12) | (p & 0xfff)] = v;
        return;
      }
    }
    this.wr8(lin, v, this.tlbWriteNeed);
  }

  writeLinear16(lin: number, v: number): void {
    if ((lin & 1) === 0 && LITTLE_ENDIAN) {
      const p = this.fastPhys(lin, this.tlbWriteNeed);
      if (p !== -1) {
        const e = this.writeMap[p >>> 12];
        if (e >= 0 && this.watchPage[e] === 0) {
          this.mem16[((e << 12) | (p & 0xfff)) >> 1] = v;
          return;
        }
      }
    }
    this.wr16(lin, v, this.tlbWriteNeed);
  }

  writeLinear32(lin: number, v: number): void {
    if ((lin & 3) === 0 && LITTLE_ENDIAN) {
      const p = this.fastPhys(lin, this.tlbWriteNeed);
      if (p !== -1) {
        const e = this.writeMap[p >>> 12];
        if (e >= 0 && this.watchPage[e] === 0) {
          this.mem32[((e << 12) | (p & 0xfff)) >> 2] = v;
          return;
        }
      }
    }
    this.wr32(lin, v, this.tlbWriteNeed);
  }

  /**
   * For a read-modify-write of `size` (2 or 4) bytes at `lin`: the index in `mem` when the
   * operand is aligned in one plain RAM page that reads and writes the same backing, after
   * the write-permission check (which may fault); -1 when the caller must take the general
   * probe/read/write path.
   */
  rmwIndex(lin: number, size: number): number {
    if ((lin & (size - 1)) !== 0 || !LITTLE_ENDIAN) return -1;
    let p = this.fastPhys(lin, this.tlbWriteNeed);
    if (p === -1) p = this.translateWrite(lin, this.tlbWriteNeed);
    const e = this.writeMap[p >>> 12];
    if (e < 0 || this.watchPage[e] !== 0 || this.readMap[p >>> 12] !== e) return -1;
    return (e << 12) | (p & 0xfff);
  }
  /** Check that a linear range can be written (all-or-nothing multi-part writes). */
  probeWrite(lin: number, len: number): void {
    this.translateWrite(lin, this.tlbWriteNeed);
    for (let p = ((lin | 0xfff) + 1) | 0; (p - lin) >>> 0 < len >>> 0; p = (p + 0x1000) | 0) this.translateWrite(p, this.tlbWriteNeed);
  }
  probeRead(lin: number, len: number): void {
    this.translateRead(lin, this.tlbReadNeed);
    for (let p = ((lin | 0xfff) + 1) | 0; (p - lin) >>> 0 < len >>> 0; p = (p + 0x1000) | 0) this.translateRead(p, this.tlbReadNeed);
  }

  readSystem8(lin: number): number { return this.rd8(lin, TLB_SUP_READ); }
  readSystem16(lin: number): number { return this.rd16(lin, TLB_SUP_READ); }
  readSystem32(lin: number): number { return this.rd32(lin, TLB_SUP_READ); }
  writeSystem8(lin: number, v: number): void { this.wr8(lin, v, TLB_SUP_WRITE); }
  writeSystem16(lin: number, v: number): void { this.wr16(lin, v, TLB_SUP_WRITE); }
  writeSystem32(lin: number, v: number): void { this.wr32(lin, v, TLB_SUP_WRITE); }

  // FpuMemory (linear addresses, current CPL)
  read8(lin: number): number { return this.rd8(lin, this.tlbReadNeed); }
  read16(lin: number): number { return this.rd16(lin, this.tlbReadNeed); }
  read32(lin: number): number { return this.rd32(lin, this.tlbReadNeed); }
  write8(lin: number, v: number): void { this.wr8(lin, v, this.tlbWriteNeed); }
  write16(lin: number, v: number): void { this.wr16(lin, v, this.tlbWriteNeed); }
  write32(lin: number, v: number): void { this.wr32(lin, v, this.tlbWriteNeed); }

  // ------------------------------------------------------------------ code fetch

  /** Refill the fetch cache for `eip` at linear `lin`; returns its offset in mem or -1 (not RAM). */
  private fetchSlow(eip: number, lin: number): number {
    const phys = this.translateRead(lin, this.tlbReadNeed);
    const e = this.readMap[phys >>> 12];
    if (e < 0) {
      this.fetchEipHi = 0;
      return -1;
    }
    // The page under the A20 mask is still a whole page: the mask only touches bit 20. The
    // window stops one short of the offset limit so that eip + 1 never needs wrapping in it.
    const pageEip = eip - (lin & 0xfff);
    this.fetchEipLo = pageEip < 0 ? 0 : pageEip;
    const end = pageEip + 0x1000;
    // The window also stops at the CS limit, so the fast path never fetches past it.
    let max = this.code32 ? 0xffffffff : 0xffff;
    const limit = this.segLimit[SEG_CS] >>> 0;
    if (limit < max) max = limit;
    this.fetchEipHi = end > max ? max : end;
    this.fetchAdj = (e << 12) - pageEip;
    return (e << 12) | (lin & 0xfff);
  }

  fetch8(): number {
    const eip = this.eip;
    if (eip >= this.fetchEipLo && eip < this.fetchEipHi) {
      this.eip = eip + 1;
      return this.mem[this.fetchAdj + eip];
    }
    if (eip > (this.segLimit[SEG_CS] >>> 0)) this.fault(EXC_GP, 0);
    const lin = (this.segBase[SEG_CS] + eip) | 0;
    this.eip = this.code32 ? (eip + 1) >>> 0 : (eip + 1) & 0xffff;
    const i = this.fetchSlow(eip, lin);
    if (i >= 0) return this.mem[i];
    return this.memory.read8(this.translateRead(lin, this.tlbReadNeed));
  }

  fetch16(): number {
    const eip = this.eip;
    if (eip >= this.fetchEipLo && eip + 2 <= this.fetchEipHi) {
      this.eip = eip + 2;
      const i = this.fetchAdj + eip;
      return this.mem[i] | (this.mem[i + 1] << 8);
    }
    const lo = this.fetch8();
    return lo | (this.fetch8() << 8);
  }

  fetch32(): number {
    const eip = this.eip;
    if (eip >= this.fetchEipLo && eip + 4 <= this.fetchEipHi) {
      this.eip = eip + 4;
      const m = this.mem, i = this.fetchAdj + eip;
      return m[i] | (m[i + 1] << 8) | (m[i + 2] << 16) | (m[i + 3] << 24);
    }
    const lo = this.fetch16();
    return lo | (this.fetch16() << 16);
  }

  /** fetch8 sign-extended (rel8, disp8, imm8 of 83/6B/6A). */
  fetchS8(): number {
    return (this.fetch8() << 24) >> 24;
  }

  // ------------------------------------------------------------------ stack

  push16(v: number): void {
    if (this.stack32) {
      const sp = (this.regs[REG_ESP] - 2) | 0;
      this.checkLimit(SEG_SS, sp, 2);
      this.writeLinear16((this.segBase[SEG_SS] + sp) | 0, v);
      this.regs[REG_ESP] = sp;
    } else {
      const sp = (this.regs[REG_ESP] - 2) & 0xffff;
      this.checkLimit(SEG_SS, sp, 2);
      this.writeLinear16((this.segBase[SEG_SS] + sp) | 0, v);
      this.reg16[REG_ESP * 2] = sp;
    }
  }

  push32(v: number): void {
    if (this.stack32) {
      const sp = (this.regs[REG_ESP] - 4) | 0;
      this.checkLimit(SEG_SS, sp, 4);
      this.writeLinear32((this.segBase[SEG_SS] + sp) | 0, v);
      this.regs[REG_ESP] = sp;
    } else {
      const sp = (this.regs[REG_ESP] - 4) & 0xffff;
      this.checkLimit(SEG_SS, sp, 4);
      this.writeLinear32((this.segBase[SEG_SS] + sp) | 0, v);
      this.reg16[REG_ESP * 2] = sp;
    }
  }

  pop16(): number {
    if (this.stack32) {
      const sp = this.regs[REG_ESP];
      this.checkLimit(SEG_SS, sp, 2);
      const v = this.readLinear16((this.segBase[SEG_SS] + sp) | 0);
      this.regs[REG_ESP] = sp + 2;
      return v;
    }
    const sp = this.reg16[REG_ESP * 2];
    this.checkLimit(SEG_SS, sp, 2);
    const v = this.readLinear16((this.segBase[SEG_SS] + sp) | 0);
    this.reg16[REG_ESP * 2] = sp + 2;
    return v;
  }

  pop32(): number {
    if (this.stack32) {
      const sp = this.regs[REG_ESP];
      this.checkLimit(SEG_SS, sp, 4);
      const v = this.readLinear32((this.segBase[SEG_SS] + sp) | 0);
      this.regs[REG_ESP] = sp + 4;
      return v;
    }
    const sp = this.reg16[REG_ESP * 2];
    this.checkLimit(SEG_SS, sp, 4);
    const v = this.readLinear32((this.segBase[SEG_SS] + sp) | 0);
    this.reg16[REG_ESP * 2] = sp + 4;
    return v;
  }

  /** Read the stack at ESP+offset without popping (for instructions that must not fault half-way). */
  stackRead16(offset: number): number {
    const sp = this.stack32 ? (this.regs[REG_ESP] + offset) | 0 : (this.regs[REG_ESP] + offset) & 0xffff;
    this.checkLimit(SEG_SS, sp, 2);
    return this.readLinear16((this.segBase[SEG_SS] + sp) | 0);
  }

  stackRead32(offset: number): number {
    const sp = this.stack32 ? (this.regs[REG_ESP] + offset) | 0 : (this.regs[REG_ESP] + offset) & 0xffff;
    this.checkLimit(SEG_SS, sp, 4);
    return this.readLinear32((this.segBase[SEG_SS] + sp) | 0);
  }

  /** Add to (E)SP honouring the stack size. */
  adjustSp(delta: number): void {
    if (this.stack32) this.regs[REG_ESP] = (this.regs[REG_ESP] + delta) | 0;
    else this.reg16[REG_ESP * 2] = this.reg16[REG_ESP * 2] + delta;
  }

  // ------------------------------------------------------------------ ModRM operand helpers

  /** Limit check of the current memory operand (no-op for register operands). */
  eaCheck(size: number): void {
    if (!this.modrmIsReg) this.checkLimit(this.eaSeg, this.eaOffset, size);
  }

  readModrm16(): number {
    this.eaCheck(2);
    return this.modrmIsReg ? this.reg16[this.modrmReg * 2] : this.readLinear16(this.eaLinear);
  }

  readModrm32(): number {
    this.eaCheck(4);
    return this.modrmIsReg ? this.regs[this.modrmReg] : this.readLinear32(this.eaLinear);
  }

  writeModrm16(v: number): void {
    this.eaCheck(2);
    if (this.modrmIsReg) this.reg16[this.modrmReg * 2] = v;
    else this.writeLinear16(this.eaLinear, v);
  }

  writeModrm32(v: number): void {
    this.eaCheck(4);
    if (this.modrmIsReg) this.regs[this.modrmReg] = v;
    else this.writeLinear32(this.eaLinear, v);
  }

  // ------------------------------------------------------------------ interrupts and run loop

  nmi(): void {
    this.nmiPending = true;
    this.eventPending = true;
  }

  /**
   * Deliver an exception with double/triple-fault escalation. `eip` must already be the
   * return address. Returns false after a triple fault (shutdown).
   */
  raiseException(vector: number, errorCode: number, kind = INT_EXCEPTION): boolean {
    this.jitResync = false;
    let v = vector, code = errorCode, k = kind;
    for (let attempt = 0; attempt < 3; attempt++) {
      const savedEip = this.eip;
      try {
        deliverInterrupt(this, v, k, code);
        this.halted = false;
        return true;
      } catch (e) {
        if (!(e instanceof CpuFault)) throw e;
        this.eip = savedEip;
        if (v === EXC_DF) break;
        const contributory = (x: number): boolean => x === 0 || (x >= 10 && x <= 13);
        const second = e.vector;
        if ((contributory(v) && contributory(second)) || (v === EXC_PF && (contributory(second) || second === EXC_PF))) {
          v = EXC_DF;
          code = 0;
        } else {
          v = second;
          code = e.errorCode;
        }
        k = INT_EXCEPTION;
      }
    }
    this.halted = true;
    this.hooks.shutdown?.();
    return false;
  }

  /**
   * Run up to `maxInstructions`; returns how many executed (stops early on HLT). A faulting
   * instruction counts as executed (its exception delivery is the work done).
   */
  run(maxInstructions: number): number {
    const first = this.instructionCount;
    const stop = first + maxInstructions;
    this.pollCountdown = 0;
    this.a20Mask = this.memory.a20Mask;
    while (this.instructionCount < stop) {
      if (this.halted) {
        if (!this.pollInterrupts()) break;
        continue;
      }
      try {
        this.runInner(stop);
      } catch (e) {
        if (!(e instanceof CpuFault)) throw e;
        this.instructionCount++;
        this.eip = this.startEip;
        this.regs[REG_ESP] = this.startEsp;
        this.intShadow = false;
        this.resetPrefixes();
        this.flags |= FLAG_RF; // every fault pushes RF = 1 (SDM 17.3.1.1)
        this.raiseException(e.vector, e.errorCode);
      }
    }
    return this.instructionCount - first;
  }

  /**
   * Execute until `stop` (an instructionCount value), HLT or a fault. Instructions run in
   * blocks without per-instruction checks; a block ends at the next INTR poll point or as
   * soon as an instruction sets eventPending. The shadow/NMI/single-step cases run one
   * instruction at a time with every check.
   */
  private runInner(stop: number): void {
    const regs = this.regs;
    while (this.instructionCount < stop && !this.halted) {
      this.a20Mask = this.memory.a20Mask; // in case someone replaced memory.onA20Change
      if (this.intShadow || this.nmiPending || (this.flags & (FLAG_TF | FLAG_RF)) !== 0 || (this.dr[7] & 0xff) !== 0) {
        this.stepChecked();
        continue;
      }
      let n = stop - this.instructionCount;
      if ((this.flags & FLAG_IF) !== 0) {
        if (this.pollCountdown <= 0) {
          this.pollCountdown = POLL_INTERVAL;
          if (this.intr !== null && this.intr.hasInterrupt()) {
            this.pollInterrupts();
            continue;
          }
        }
        if (n > this.pollCountdown) n = this.pollCountdown;
      } else {
        this.pollCountdown = 0;
      }
      const blockStart = this.instructionCount;
      const blockEnd = blockStart + n;
      this.eventPending = false;
      const jit = this.jitEnabled ? this.jit : null;
      do {
        if (jit !== null && this.jitFlat) {
          // A compiled block runs only if all of it fits before the next poll point / stop,
          // so that compiled or not, the same instructions run between the same poll points.
          const eip = this.eip;
          if (this.jitResync && eip === this.jitResyncEnd) this.jitResync = false;
          if (!this.jitResync && eip >= this.fetchEipLo && eip < this.fetchEipHi) {
            const b = jit.lookup(this.fetchAdj + eip, eip, this.cpl | (this.pagingOn ? 4 : 0) | (this.a20Mask === -1 ? 8 : 0));
            if (b !== null && b.n > blockEnd - this.instructionCount) {
              this.jitResync = true;
              this.jitResyncEnd = b.end;
            } else if (b !== null) {
              if (jit.collectStats) {
                const before = this.instructionCount;
                b.fn(this);
                jit.stats.runs++;
                jit.stats.instructions += this.instructionCount - before;
              } else {
                b.fn(this);
              }
              continue;
            }
          }
        }
        this.startEip = this.eip;
        this.startEsp = regs[REG_ESP];
        step(this);
        // Kept exact per instruction: RDTSC and the board's virtual clock read it mid-run.
        this.instructionCount++;
        if (this.jitResync && (this.eip - this.startEip) >>> 0 > 15) this.jitResync = false;
      } while (!this.eventPending && this.instructionCount < blockEnd);
      if ((this.flags & FLAG_IF) !== 0) this.pollCountdown -= this.instructionCount - blockStart;
    }
  }

  /** One instruction with the interrupt shadow, NMI, INTR and single-step handling. */
  private stepChecked(): void {
    if (this.intShadow) {
      this.intShadow = false;
    } else if (this.nmiPending) {
      this.pollInterrupts();
    } else if ((this.flags & FLAG_IF) === 0) {
      this.pollCountdown = 0;
    } else if (--this.pollCountdown <= 0) {
      this.pollCountdown = POLL_INTERVAL;
      if (this.intr !== null && this.intr.hasInterrupt()) this.pollInterrupts();
    }
    const rf = this.flags & FLAG_RF;
    if (rf === 0 && (this.dr[7] & 0xff) !== 0) {
      const hits = this.codeBreakpoints();
      if (hits !== 0) {
        // A fault before the instruction; the handler sets RF in the image to go past it.
        this.dr[6] = (this.dr[6] & ~0xf) | hits;
        this.instructionCount++;
        this.raiseException(EXC_DB, -1);
        return;
      }
    }
    this.startEip = this.eip;
    this.startEsp = this.regs[REG_ESP];
    const trap = this.flags & FLAG_TF;
    this.trapSuppressed = false;
    this.eflagsLoaded = false;
    step(this);
    this.instructionCount++;
    // RF lasts one instruction, unless that instruction loaded EFLAGS (IRET, task switch).
    if (rf !== 0 && !this.eflagsLoaded) this.flags &= ~FLAG_RF;
    if (trap !== 0 && !this.intShadow && !this.trapSuppressed) {
      this.dr[6] |= 0x4000;
      this.raiseException(EXC_DB, -1);
    }
  }

  /** B0-B3 of the enabled execution breakpoints (R/W = 00) at the current CS:EIP. */
  private codeBreakpoints(): number {
    const dr7 = this.dr[7];
    const lin = (this.segBase[SEG_CS] + this.eip) | 0;
    let hits = 0;
    for (let i = 0; i < 4; i++) {
      if (((dr7 >> (i * 2)) & 3) !== 0 && ((dr7 >>> (16 + i * 4)) & 3) === 0 && this.dr[i] === lin) hits |= 1 << i;
    }
    return hits;
  }

  /** Take a pending NMI or maskable interrupt. Returns true if one was delivered. */
  private pollInterrupts(): boolean {
    if (this.nmiPending && !this.nmiBlocked) {
      this.nmiPending = false;
      this.nmiBlocked = true;
      this.halted = false;
      this.raiseException(2, -1, INT_HARDWARE);
      return true;
    }
    if ((this.flags & FLAG_IF) !== 0 && this.intr !== null && this.intr.hasInterrupt()) {
      const vector = this.intr.acknowledge();
      this.halted = false;
      this.raiseException(vector, -1, INT_HARDWARE);
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------------ declared state

  get eflags(): number {
    return this.getEflags() >>> 0;
  }

  set eflags(v: number) {
    this.flags = v | 2;
    this.lzOp = LZ_NONE;
  }

  readonly vmstate: VMStateDecl = {
    name: 'cpu',
    version: 1,
    fields: [
      { name: 'regs', type: 'i32[]', length: 8 },
      { name: 'eip', type: 'u32' },
      { name: 'eflags', type: 'u32' },
      { name: 'segSel', type: 'u16[]', length: 6 },
      { name: 'segBase', type: 'i32[]', length: 6 },
      { name: 'segLimit', type: 'i32[]', length: 6 },
      { name: 'segFlags', type: 'i32[]', length: 6 },
      { name: 'cpl', type: 'u8' },
      { name: 'cr0', type: 'i32' },
      { name: 'cr2', type: 'i32' },
      { name: 'cr3', type: 'i32' },
      { name: 'cr4', type: 'i32' },
      { name: 'dr', type: 'i32[]', length: 8 },
      { name: 'gdtrBase', type: 'i32' },
      { name: 'gdtrLimit', type: 'i32' },
      { name: 'idtrBase', type: 'i32' },
      { name: 'idtrLimit', type: 'i32' },
      { name: 'ldtrSel', type: 'u16' },
      { name: 'ldtrBase', type: 'i32' },
      { name: 'ldtrLimit', type: 'i32' },
      { name: 'trSel', type: 'u16' },
      { name: 'trBase', type: 'i32' },
      { name: 'trLimit', type: 'i32' },
      { name: 'trFlags', type: 'i32' },
      { name: 'halted', type: 'bool' },
      { name: 'intShadow', type: 'bool' },
      { name: 'nmiPending', type: 'bool' },
      { name: 'nmiBlocked', type: 'bool' },
      { name: 'sysenterCs', type: 'i32' },
      { name: 'sysenterEsp', type: 'i32' },
      { name: 'sysenterEip', type: 'i32' },
      { name: 'apicBase', type: 'i32' },
      { name: 'mtrrVar', type: 'i32[]', length: 32 },
      { name: 'mtrrFixed', type: 'i32[]', length: 22 },
      { name: 'mtrrDefType', type: 'i32' },
      { name: 'tscOffset', type: 'f64' },
      { name: 'instructionCount', type: 'f64' },
    ],
  };

  postLoad(): void {
    this.jit.clear();
    for (let seg = 0; seg < 6; seg++) this.updateFastLimit(seg);
    this.a20Mask = this.memory.a20Mask;
    this.flushTlb(true);
    this.pagingOn = (this.cr0 & CR0_PG) !== 0 && (this.cr0 & CR0_PE) !== 0;
    const cpl = this.cpl;
    this.updateModes();
    if (this.protectedMode) this.cpl = cpl;
    this.updateModes();
  }
}
