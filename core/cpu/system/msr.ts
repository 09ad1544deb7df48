// Model-specific registers, CPUID, RDTSC and SYSENTER/SYSEXIT, plus the I/O permission check
// and the VME forms of the IOPL-sensitive flag instructions.

import type { Cpu } from '../cpu.js';
import {
  CR0_PE, CR4_PVI, CR4_TSD, CR4_VME, EXC_GP, EXC_UD, FLAG_IF, FLAG_IOPL, FLAG_RF, FLAG_TF, FLAG_VIF, FLAG_VIP,
  FLAG_VM, FLAT_CODE32_DPL0, FLAT_DATA32_DPL0, SEG_CS, SEG_SS, SF_DPL_SHIFT,
} from './constants.js';
import { type CpuModelName, CPU_MODELS, FEAT_APIC, FEAT_MSR, FEAT_SEP, FEAT_TSC, cpuidLeaf, modelFeatures } from './cpuid.js';

/**
 * Platform facts the system side reads from the Cpu when present (the board sets them):
 * `model` (default 'pentium2'), `hasApic` (default false), `hasMmx` (default false), `apicId`.
 */
interface CpuPlatformFacts {
  model?: CpuModelName;
  hasApic?: boolean;
  hasMmx?: boolean;
  apicId?: number;
}

function facts(cpu: Cpu): CpuPlatformFacts {
  return cpu as unknown as CpuPlatformFacts;
}

export function cpuFeatures(cpu: Cpu): number {
  const f = facts(cpu);
  return modelFeatures(f.model ?? 'pentium2', f.hasApic === true, f.hasMmx === true);
}

const cpuidOut = new Int32Array(4);

export function cpuid(cpu: Cpu): void {
  const f = facts(cpu);
  cpuidLeaf(f.model ?? 'pentium2', f.hasApic === true, f.hasMmx === true, f.apicId ?? 0, cpu.regs[0], cpuidOut);
  cpu.regs[0] = cpuidOut[0];
  cpu.regs[3] = cpuidOut[1];
  cpu.regs[1] = cpuidOut[2];
  cpu.regs[2] = cpuidOut[3];
}

const TWO32 = 0x100000000;

/** TSC ticks before the offset: the platform's clock, or executed instructions without one. */
function tscBase(cpu: Cpu): number {
  const ticks = cpu.hooks.tscTicks;
  return ticks !== undefined ? ticks() : cpu.instructionCount;
}

/** The time-stamp counter: the platform's ticks plus the offset WRMSR(0x10) set. */
export function readTsc(cpu: Cpu): number {
  return tscBase(cpu) + cpu.tscOffset;
}

export function rdtsc(cpu: Cpu): void {
  if ((cpuFeatures(cpu) & FEAT_TSC) === 0) cpu.fault(EXC_UD);
  if ((cpu.cr4 & CR4_TSD) !== 0 && cpu.cpl !== 0) cpu.fault(EXC_GP, 0);
  const t = Math.max(0, readTsc(cpu));
  cpu.regs[0] = t % TWO32;
  cpu.regs[2] = Math.floor(t / TWO32) % TWO32;
}

export const MSR_TSC = 0x10;
export const MSR_PLATFORM_ID = 0x17;
export const MSR_APIC_BASE = 0x1b;
export const MSR_EBL_CR_POWERON = 0x2a;
export const MSR_BIOS_SIGN_ID = 0x8b;
export const MSR_MTRRCAP = 0xfe;
export const MSR_SYSENTER_CS = 0x174;
export const MSR_SYSENTER_ESP = 0x175;
export const MSR_SYSENTER_EIP = 0x176;
export const MSR_MTRR_DEF_TYPE = 0x2ff;
/** 8 variable ranges, fixed ranges and write-combining supported. */
const MTRRCAP_VALUE = 0x508;

/** Index into cpu.mtrrFixed (pairs lo/hi) for a fixed-range MTRR MSR, or -1. */
function fixedMtrrIndex(msr: number): number {
  if (msr === 0x250) return 0;
  if (msr === 0x258) return 2;
  if (msr === 0x259) return 4;
  if (msr >= 0x268 && msr <= 0x26f) return 6 + (msr - 0x268) * 2;
  return -1;
}

/**
 * P6 performance-monitoring MSRs (PerfCtr0/1 at 0xC1/0xC2, PerfEvtSel0/1 at 0x186/0x187) are
 * kept as plain storage so OS probes that write and read them back succeed; nothing counts.
 * Not part of the snapshot (a restored guest sees them as zero).
 */
const perfMsrs = new WeakMap<Cpu, Int32Array>();

function perfIndex(msr: number): number {
  if (msr === 0xc1 || msr === 0xc2) return (msr - 0xc1) * 2;
  if (msr === 0x186 || msr === 0x187) return 4 + (msr - 0x186) * 2;
  return -1;
}

function perfStorage(cpu: Cpu): Int32Array {
  let s = perfMsrs.get(cpu);
  if (!s) {
    s = new Int32Array(8);
    perfMsrs.set(cpu, s);
  }
  return s;
}

function isP6(cpu: Cpu): boolean {
  return CPU_MODELS[facts(cpu).model ?? 'pentium2'].signature >= 0x600;
}

/** RDMSR: EDX:EAX = MSR[ECX]; unknown MSRs raise #GP(0). */
export function rdmsr(cpu: Cpu): void {
  const features = cpuFeatures(cpu);
  if ((features & FEAT_MSR) === 0) cpu.fault(EXC_UD);
  if (cpu.cpl !== 0) cpu.fault(EXC_GP, 0);
  const msr = cpu.regs[1] >>> 0;
  let lo = 0, hi = 0;
  switch (msr) {
    case MSR_TSC: {
      const t = Math.max(0, readTsc(cpu));
      lo = t % TWO32;
      hi = Math.floor(t / TWO32) % TWO32;
      break;
    }
    case MSR_APIC_BASE:
      if ((features & FEAT_APIC) === 0) cpu.fault(EXC_GP, 0);
      lo = cpu.apicBase;
      break;
    case MSR_PLATFORM_ID: case MSR_EBL_CR_POWERON: case MSR_BIOS_SIGN_ID:
      if (!isP6(cpu)) cpu.fault(EXC_GP, 0);
      break;
    case MSR_SYSENTER_CS: case MSR_SYSENTER_ESP: case MSR_SYSENTER_EIP:
      if ((features & FEAT_SEP) === 0) cpu.fault(EXC_GP, 0);
      lo = msr === MSR_SYSENTER_CS ? cpu.sysenterCs : msr === MSR_SYSENTER_ESP ? cpu.sysenterEsp : cpu.sysenterEip;
      break;
    case MSR_MTRRCAP:
      if (!isP6(cpu)) cpu.fault(EXC_GP, 0);
      lo = MTRRCAP_VALUE;
      break;
    case MSR_MTRR_DEF_TYPE:
      if (!isP6(cpu)) cpu.fault(EXC_GP, 0);
      lo = cpu.mtrrDefType;
      break;
    default: {
      const fixed = fixedMtrrIndex(msr);
      const perf = perfIndex(msr);
      if (isP6(cpu) && perf >= 0) {
        const s = perfStorage(cpu);
        lo = s[perf];
        hi = s[perf + 1];
      } else if (isP6(cpu) && msr >= 0x200 && msr <= 0x20f) {
        lo = cpu.mtrrVar[(msr - 0x200) * 2];
        hi = cpu.mtrrVar[(msr - 0x200) * 2 + 1];
      } else if (isP6(cpu) && fixed >= 0) {
        lo = cpu.mtrrFixed[fixed];
        hi = cpu.mtrrFixed[fixed + 1];
      } else {
        cpu.fault(EXC_GP, 0);
      }
    }
  }
  cpu.regs[0] = lo;
  cpu.regs[2] = hi;
}

/** MTRR memory types a P6 accepts: UC WC WT WP WB. */
function validMtrrType(t: number): boolean {
  return t === 0 || t === 1 || t === 4 || t === 5 || t === 6;
}

/** WRMSR: MSR[ECX] = EDX:EAX. */
export function wrmsr(cpu: Cpu): void {
  const features = cpuFeatures(cpu);
  if ((features & FEAT_MSR) === 0) cpu.fault(EXC_UD);
  if (cpu.cpl !== 0) cpu.fault(EXC_GP, 0);
  const msr = cpu.regs[1] >>> 0;
  const lo = cpu.regs[0], hi = cpu.regs[2];
  switch (msr) {
    case MSR_TSC:
      cpu.tscOffset = (hi >>> 0) * TWO32 + (lo >>> 0) - tscBase(cpu);
      return;
    case MSR_APIC_BASE:
      if ((features & FEAT_APIC) === 0) cpu.fault(EXC_GP, 0);
      // Reserved: bits 0-7, 9-10 and the upper half (36-bit physical addresses allow 0-3).
      if ((lo & 0x6ff) !== 0 || (hi & ~0xf) !== 0) cpu.fault(EXC_GP, 0);
      cpu.apicBase = lo;
      cpu.hooks.apicBaseChanged?.(lo);
      return;
    case MSR_BIOS_SIGN_ID:
      if (!isP6(cpu)) cpu.fault(EXC_GP, 0);
      return; // microcode revision 0: nothing to store
    case MSR_SYSENTER_CS:
      if ((features & FEAT_SEP) === 0) cpu.fault(EXC_GP, 0);
      cpu.sysenterCs = lo & 0xffff;
      return;
    case MSR_SYSENTER_ESP:
      if ((features & FEAT_SEP) === 0) cpu.fault(EXC_GP, 0);
      cpu.sysenterEsp = lo;
      return;
    case MSR_SYSENTER_EIP:
      if ((features & FEAT_SEP) === 0) cpu.fault(EXC_GP, 0);
      cpu.sysenterEip = lo;
      return;
    case MSR_MTRR_DEF_TYPE:
      if (!isP6(cpu) || (lo & ~0xcff) !== 0 || hi !== 0 || !validMtrrType(lo & 0xff)) cpu.fault(EXC_GP, 0);
      cpu.mtrrDefType = lo;
      return;
    default: {
      const fixed = fixedMtrrIndex(msr);
      const perf = perfIndex(msr);
      if (isP6(cpu) && perf >= 0) {
        const s = perfStorage(cpu);
        // Counters are 40 bits wide; event selects are 32.
        s[perf] = lo;
        s[perf + 1] = perf < 4 ? hi & 0xff : 0;
        return;
      }
      if (isP6(cpu) && msr >= 0x200 && msr <= 0x20f) {
        const isBase = (msr & 1) === 0;
        if ((hi & ~0xf) !== 0) cpu.fault(EXC_GP, 0);
        if (isBase ? (lo & 0xf00) !== 0 || !validMtrrType(lo & 0xff) : (lo & 0x7ff) !== 0) cpu.fault(EXC_GP, 0);
        cpu.mtrrVar[(msr - 0x200) * 2] = lo;
        cpu.mtrrVar[(msr - 0x200) * 2 + 1] = hi;
        return;
      }
      if (isP6(cpu) && fixed >= 0) {
        for (let i = 0; i < 4; i++) {
          if (!validMtrrType((lo >>> (i * 8)) & 0xff) || !validMtrrType((hi >>> (i * 8)) & 0xff)) cpu.fault(EXC_GP, 0);
        }
        cpu.mtrrFixed[fixed] = lo;
        cpu.mtrrFixed[fixed + 1] = hi;
        return;
      }
      cpu.fault(EXC_GP, 0);
    }
  }
}

export function sysenter(cpu: Cpu): void {
  if ((cpuFeatures(cpu) & FEAT_SEP) === 0) cpu.fault(EXC_UD);
  if ((cpu.cr0 & CR0_PE) === 0 || (cpu.sysenterCs & 0xfffc) === 0) cpu.fault(EXC_GP, 0);
  const cs = cpu.sysenterCs & 0xfffc;
  cpu.setEflags(cpu.getEflags() & ~(FLAG_VM | FLAG_IF | FLAG_RF));
  cpu.cpl = 0;
  cpu.setSegment(SEG_CS, cs, 0, -1, FLAT_CODE32_DPL0);
  cpu.setSegment(SEG_SS, (cs + 8) & 0xffff, 0, -1, FLAT_DATA32_DPL0);
  cpu.regs[4] = cpu.sysenterEsp;
  cpu.eip = cpu.sysenterEip >>> 0;
  cpu.updateModes();
}

export function sysexit(cpu: Cpu): void {
  if ((cpuFeatures(cpu) & FEAT_SEP) === 0) cpu.fault(EXC_UD);
  if ((cpu.cr0 & CR0_PE) === 0 || cpu.v86 || cpu.cpl !== 0 || (cpu.sysenterCs & 0xfffc) === 0) cpu.fault(EXC_GP, 0);
  const cs = cpu.sysenterCs & 0xfffc;
  cpu.cpl = 3;
  cpu.setSegment(SEG_CS, ((cs + 16) | 3) & 0xffff, 0, -1, FLAT_CODE32_DPL0 | (3 << SF_DPL_SHIFT));
  cpu.setSegment(SEG_SS, ((cs + 24) | 3) & 0xffff, 0, -1, FLAT_DATA32_DPL0 | (3 << SF_DPL_SHIFT));
  cpu.regs[4] = cpu.regs[1];
  cpu.eip = cpu.regs[2] >>> 0;
  cpu.updateModes();
}

/**
 * IN/OUT/INS/OUTS when CPL > IOPL or in v86 mode: allowed only if the 32-bit TSS I/O
 * permission bitmap has every bit of the accessed ports clear. Throws #GP(0) otherwise.
 */
export function checkIoPermission(cpu: Cpu, port: number, size: number): void {
  const type = cpu.trFlags & 0xf;
  if (type !== 9 && type !== 11) cpu.fault(EXC_GP, 0);
  const limit = cpu.trLimit >>> 0;
  if (limit < 0x67) cpu.fault(EXC_GP, 0);
  const ioBase = cpu.readSystem16((cpu.trBase + 0x66) | 0);
  const offset = ioBase + ((port & 0xffff) >>> 3);
  // Two bytes are always read (an access may straddle a byte boundary).
  if (offset + 1 > limit) cpu.fault(EXC_GP, 0);
  const bits = cpu.readSystem16((cpu.trBase + offset) | 0);
  const mask = ((1 << size) - 1) << (port & 7);
  if ((bits & mask) !== 0) cpu.fault(EXC_GP, 0);
}

// ---- Virtual-mode extensions (CR4.VME in v86, CR4.PVI at CPL 3) for CLI/STI/PUSHF/POPF.
// The decoder calls these where it would raise #GP(0) for IOPL < 3; they raise it themselves
// when the extension does not apply.

function vmeActive(cpu: Cpu): boolean {
  return cpu.v86 ? (cpu.cr4 & CR4_VME) !== 0 : cpu.cpl === 3 && (cpu.cr4 & CR4_PVI) !== 0;
}

export function virtualCli(cpu: Cpu): void {
  if (!vmeActive(cpu)) cpu.fault(EXC_GP, 0);
  cpu.flags &= ~FLAG_VIF;
}

export function virtualSti(cpu: Cpu): void {
  if (!vmeActive(cpu) || (cpu.flags & FLAG_VIP) !== 0) cpu.fault(EXC_GP, 0);
  cpu.flags |= FLAG_VIF;
}

/** PUSHF in v86 with VME, IOPL < 3, 16-bit operand: the image shows VIF as IF, IOPL 3. */
export function virtualPushf(cpu: Cpu, opsize32: boolean): void {
  if (!cpu.v86 || (cpu.cr4 & CR4_VME) === 0 || opsize32) cpu.fault(EXC_GP, 0);
  const f = cpu.getEflags();
  cpu.push16((f & ~FLAG_IF & 0xffff) | FLAG_IOPL | ((f & FLAG_VIF) !== 0 ? FLAG_IF : 0));
}

/** POPF in v86 with VME, IOPL < 3, 16-bit operand: IF goes to VIF; IOPL unchanged. */
export function virtualPopf(cpu: Cpu, opsize32: boolean): void {
  if (!cpu.v86 || (cpu.cr4 & CR4_VME) === 0 || opsize32) cpu.fault(EXC_GP, 0);
  const old = cpu.getEflags();
  const v = cpu.stackRead16(0);
  if ((v & FLAG_TF) !== 0 || ((old & FLAG_VIP) !== 0 && (v & FLAG_IF) !== 0)) cpu.fault(EXC_GP, 0);
  cpu.adjustSp(2);
  const keep = 0xffff0000 | FLAG_IOPL | FLAG_IF;
  let nf = (old & keep) | (v & ~keep & 0xffff);
  nf = (v & FLAG_IF) !== 0 ? nf | FLAG_VIF : nf & ~FLAG_VIF;
  cpu.setEflags(nf);
}
