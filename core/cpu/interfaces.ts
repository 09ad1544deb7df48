// Contracts between the CPU (core/cpu/cpu.ts and friends), its x87 unit (core/cpu/fpu.ts) and
// the platform (core/board, core/devices). Keep these small and stable: three teams build
// against them in parallel.

/** The CPU's INTR pin and its interrupt-acknowledge cycle (PIC, or local APIC + PIC in ExtINT). */
export interface InterruptSource {
  /** True while a maskable interrupt is pending and would be delivered if IF=1. */
  hasInterrupt(): boolean;
  /** The INTA cycle: returns the vector (0-255) and marks it in service. */
  acknowledge(): number;
}

/** What the platform hears from the CPU. All optional; the board wires the ones it uses. */
export interface CpuPlatformHooks {
  /** Triple fault / shutdown: the board turns it into a reset. */
  shutdown?(): void;
  /** FERR# changed (legacy DOS FPU error path: the board raises IRQ13 when it goes high). */
  ferr?(asserted: boolean): void;
  /** WRMSR to IA32_APIC_BASE, so the local APIC can move or be disabled. */
  apicBaseChanged?(value: number): void;
  /**
   * Time-stamp counter ticks since power-on. The board derives them from virtual time, so the
   * TSC keeps running while the guest halts and time skips ahead (a TSC that stood still
   * during idle froze Linux's tsc clocksource). Without the hook the TSC counts instructions.
   */
  tscTicks?(): number;
}

/**
 * Memory access for the x87 unit. Addresses are linear (segment base already added); the CPU
 * applies paging and raises #PF/#GP by throwing its own fault object, which the FPU must let
 * propagate untouched (so a faulting FPU instruction leaves the FPU state unchanged: read all
 * operands before modifying any register).
 */
export interface FpuMemory {
  read8(linear: number): number;
  read16(linear: number): number;
  read32(linear: number): number;
  write8(linear: number, value: number): void;
  write16(linear: number, value: number): void;
  write32(linear: number, value: number): void;
}

/** Pointers the FPU records for FSTENV/FSAVE (last instruction and operand). */
export interface FpuInstructionPointers {
  /** Offset of the instruction (EIP as the CPU sees it, not linear). */
  ip: number;
  cs: number;
  /** Offset of the memory operand (effective address, not linear), 0 for register forms. */
  dp: number;
  ds: number;
  /** (opcode & 7) << 8 | modrm: the 11-bit FOP. */
  fop: number;
}

/**
 * The x87 unit as the CPU drives it. The CPU decodes prefixes, ModRM and the effective address,
 * checks CR0.EM/TS (#NM) and then calls execute(). Pending unmasked exceptions are reported
 * by the FPU through raiseMathFault() (CR0.NE=1: the CPU throws #MF) or the FERR# hook
 * (CR0.NE=0: the board raises IRQ13).
 */
export interface FpuUnit {
  /**
   * One x87 instruction. `opcode` is 0xD8..0xDF, `modrm` its ModRM byte, `linear` the operand's
   * linear address for memory forms (ignored when modrm >= 0xC0). `opsize32` picks the 32-bit
   * FSTENV/FSAVE layouts; `realMode` picks the real/v86-mode layouts.
   */
  execute(opcode: number, modrm: number, linear: number, opsize32: boolean, realMode: boolean, ptrs: FpuInstructionPointers): void;
  /** WAIT/FWAIT and the implicit check of waiting FPU instructions. */
  checkPending(): void;
  /** FNINIT semantics; also used for RESET (with the P6 reset values). */
  reset(): void;
  /**
   * MMX aliasing (core/cpu/mmx.ts): the physical registers R0..R7, significand
   * ([2i] low, [2i+1] high 32 bits; MMi is exactly these 64 bits) and sign/exponent (bits
   * 79:64, set to FFFFh when MMi is written).
   */
  readonly regMant: Uint32Array;
  readonly regSignExp: Uint16Array;
  /** Before every MMX instruction: report a pending unmasked x87 exception (#MF or FERR#). */
  mmxCheck(): void;
  /** After every MMX instruction but EMMS: TOS := 0, all tags valid. */
  mmxEnter(): void;
  /** EMMS: TOS := 0, all tags empty. */
  emms(): void;
}
