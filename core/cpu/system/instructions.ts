// System instructions: the 0F 00 group (SLDT STR LLDT LTR VERR VERW), the 0F 01 group (SGDT
// SIDT LGDT LIDT SMSW LMSW INVLPG), LAR, LSL, ARPL, CLTS and MOV to/from CR and DR.

import type { Cpu } from '../cpu.js';
import {
  CR0_CD, CR0_NW, CR0_PE, CR0_PG, CR0_TS, CR0_WP, CR4_DE, CR4_PAE, CR4_PGE, CR4_PSE, EXC_DB, EXC_GP, EXC_NP,
  EXC_UD, FLAG_ZF, SYS_LDT, SYS_TSS16_AVAIL, SYS_TSS32_AVAIL,
} from './constants.js';
import { Descriptor, fetchDescriptor } from './descriptors.js';

const desc = new Descriptor();

function requireProtected(cpu: Cpu): void {
  if (!cpu.protectedMode) cpu.fault(EXC_UD);
}

function requireCpl0(cpu: Cpu): void {
  if (cpu.cpl !== 0) cpu.fault(EXC_GP, 0);
}

function setZf(cpu: Cpu, on: boolean): void {
  cpu.getEflags(); // materialise the lazy arithmetic flags first
  cpu.flags = on ? cpu.flags | FLAG_ZF : cpu.flags & ~FLAG_ZF;
}

/** Store a selector-sized value: 32-bit zero-extended into a register with o32, else 16 bits. */
function storeSelector(cpu: Cpu, value: number): void {
  if (cpu.modrmIsReg && cpu.opsize32) cpu.writeModrm32(value & 0xffff);
  else cpu.writeModrm16(value & 0xffff);
}

export function executeSystem0F(cpu: Cpu, op2: number): void {
  const reg = cpu.modrmRegField;
  if (op2 === 0x00) {
    requireProtected(cpu);
    switch (reg) {
      case 0: storeSelector(cpu, cpu.ldtrSel); return; // SLDT
      case 1: storeSelector(cpu, cpu.trSel); return; // STR
      case 2: requireCpl0(cpu); lldt(cpu, cpu.readModrm16()); return;
      case 3: requireCpl0(cpu); ltr(cpu, cpu.readModrm16()); return;
      case 4: setZf(cpu, verify(cpu, cpu.readModrm16(), false)); return; // VERR
      case 5: setZf(cpu, verify(cpu, cpu.readModrm16(), true)); return; // VERW
    }
    cpu.fault(EXC_UD);
  }
  if (op2 === 0x01) {
    switch (reg) {
      case 0: case 1: { // SGDT / SIDT
        if (cpu.modrmIsReg) cpu.fault(EXC_UD);
        const lin = cpu.eaLinear;
        const limit = reg === 0 ? cpu.gdtrLimit : cpu.idtrLimit;
        let base = reg === 0 ? cpu.gdtrBase : cpu.idtrBase;
        if (!cpu.opsize32) base &= 0xffffff;
        cpu.probeWrite(lin, 6);
        cpu.writeLinear16(lin, limit);
        cpu.writeLinear32((lin + 2) | 0, base);
        return;
      }
      case 2: case 3: { // LGDT / LIDT
        if (cpu.modrmIsReg) cpu.fault(EXC_UD);
        requireCpl0(cpu);
        const lin = cpu.eaLinear;
        const limit = cpu.readLinear16(lin);
        let base = cpu.readLinear32((lin + 2) | 0);
        if (!cpu.opsize32) base &= 0xffffff;
        if (reg === 2) {
          cpu.gdtrBase = base;
          cpu.gdtrLimit = limit;
        } else {
          cpu.idtrBase = base;
          cpu.idtrLimit = limit;
        }
        return;
      }
      case 4: // SMSW: a register gets all of CR0 with o32 (P6 behaviour), memory 16 bits
        if (cpu.modrmIsReg && cpu.opsize32) cpu.writeModrm32(cpu.cr0);
        else cpu.writeModrm16(cpu.cr0 & 0xffff);
        return;
      case 6: { // LMSW: PE MP EM TS; PE can be set but not cleared
        requireCpl0(cpu);
        const v = cpu.readModrm16();
        writeCr0(cpu, (cpu.cr0 & ~0xe) | (v & 0xf) | (cpu.cr0 & CR0_PE));
        return;
      }
      case 7: // INVLPG
        if (cpu.modrmIsReg) cpu.fault(EXC_UD);
        requireCpl0(cpu);
        cpu.invalidatePage(cpu.eaLinear);
        return;
    }
    cpu.fault(EXC_UD);
  }
  cpu.fault(EXC_UD);
}

function lldt(cpu: Cpu, selector: number): void {
  if ((selector & 0xfffc) === 0) {
    cpu.ldtrSel = selector;
    cpu.ldtrBase = 0;
    cpu.ldtrLimit = 0;
    return;
  }
  const d = desc;
  if (selector & 4 || !fetchDescriptor(cpu, selector, d)) cpu.fault(EXC_GP, selector & 0xfffc);
  if (d.isSegment || d.type !== SYS_LDT) cpu.fault(EXC_GP, selector & 0xfffc);
  if (!d.present) cpu.fault(EXC_NP, selector & 0xfffc);
  cpu.ldtrSel = selector;
  cpu.ldtrBase = d.base;
  cpu.ldtrLimit = d.limit;
}

function ltr(cpu: Cpu, selector: number): void {
  if ((selector & 0xfffc) === 0) cpu.fault(EXC_GP, 0);
  const d = desc;
  if (selector & 4 || !fetchDescriptor(cpu, selector, d)) cpu.fault(EXC_GP, selector & 0xfffc);
  if (d.isSegment || (d.type !== SYS_TSS16_AVAIL && d.type !== SYS_TSS32_AVAIL)) cpu.fault(EXC_GP, selector & 0xfffc);
  if (!d.present) cpu.fault(EXC_NP, selector & 0xfffc);
  d.hi |= 0x200;
  cpu.writeSystem8((d.addr + 5) | 0, (d.hi >>> 8) & 0xff);
  cpu.trSel = selector;
  cpu.trBase = d.base;
  cpu.trLimit = d.limit;
  cpu.trFlags = d.flags;
}

/** Privilege check shared by VERR/VERW/LAR/LSL: conforming code is always visible. */
function visible(cpu: Cpu, selector: number, d: Descriptor): boolean {
  if (d.conforming) return true;
  return d.dpl >= cpu.cpl && d.dpl >= (selector & 3);
}

function verify(cpu: Cpu, selector: number, write: boolean): boolean {
  const d = desc;
  if ((selector & 0xfffc) === 0 || !fetchDescriptor(cpu, selector, d) || !d.isSegment) return false;
  if (!visible(cpu, selector, d)) return false;
  if (write) return d.isData && d.rw;
  return d.isData || d.rw;
}

// System descriptor types LAR accepts (TSS, LDT, call/task gates) and LSL accepts (TSS, LDT).
const LAR_TYPES = 0b0001_1010_0011_1110;
const LSL_TYPES = 0b0000_1010_0000_1110;

/**
 * LAR: returns the access rights dword (descriptor high dword & 0x00F0FF00; 16-bit forms keep
 * the low word) and sets ZF, or returns -1 with ZF clear when the selector is not visible.
 */
export function lar(cpu: Cpu, selector: number): number {
  requireProtected(cpu);
  const d = desc;
  let ok = (selector & 0xfffc) !== 0 && fetchDescriptor(cpu, selector, d);
  if (ok && !d.isSegment && ((LAR_TYPES >>> d.type) & 1) === 0) ok = false;
  if (ok && !visible(cpu, selector, d)) ok = false;
  setZf(cpu, ok);
  return ok ? d.hi & 0x00f0ff00 : -1;
}

/** LSL: the byte limit (unsigned) with ZF set, or -1 with ZF clear. */
export function lsl(cpu: Cpu, selector: number): number {
  requireProtected(cpu);
  const d = desc;
  let ok = (selector & 0xfffc) !== 0 && fetchDescriptor(cpu, selector, d);
  if (ok && !d.isSegment && ((LSL_TYPES >>> d.type) & 1) === 0) ok = false;
  if (ok && !visible(cpu, selector, d)) ok = false;
  setZf(cpu, ok);
  return ok ? d.limit >>> 0 : -1;
}

/** ARPL dest, src: returns the new destination selector and sets ZF when it changed. */
export function arpl(cpu: Cpu, dest: number, src: number): number {
  requireProtected(cpu);
  const adjust = (dest & 3) < (src & 3);
  setZf(cpu, adjust);
  return adjust ? (dest & ~3) | (src & 3) : dest;
}

export function clts(cpu: Cpu): void {
  requireCpl0(cpu);
  cpu.cr0 &= ~CR0_TS;
}

export function movFromCr(cpu: Cpu, n: number): number {
  if (n === 1 || n > 4) cpu.fault(EXC_UD);
  requireCpl0(cpu);
  switch (n) {
    case 0: return cpu.cr0;
    case 2: return cpu.cr2;
    case 3: return cpu.cr3;
    default: return cpu.cr4;
  }
}

/** CR0 bits a P6 keeps (the rest read as zero; ET is hard-wired to 1). */
const CR0_WRITABLE = 0xe005003f | 0;

function writeCr0(cpu: Cpu, v: number): void {
  if ((v & CR0_PG) !== 0 && (v & CR0_PE) === 0) cpu.fault(EXC_GP, 0);
  if ((v & CR0_NW) !== 0 && (v & CR0_CD) === 0) cpu.fault(EXC_GP, 0);
  v = (v & CR0_WRITABLE) | 0x10;
  const changed = v ^ cpu.cr0;
  cpu.cr0 = v;
  if (changed & (CR0_PG | CR0_WP | CR0_PE)) cpu.flushTlb(true);
  cpu.updateModes();
}

/** CR4 bits implemented: VME PVI TSD DE PSE PAE MCE PGE PCE. Others raise #GP(0). */
const CR4_IMPLEMENTED = 0x1ff;

export function movToCr(cpu: Cpu, n: number, v: number): void {
  if (n === 1 || n > 4) cpu.fault(EXC_UD);
  requireCpl0(cpu);
  switch (n) {
    case 0:
      writeCr0(cpu, v);
      return;
    case 2:
      cpu.cr2 = v;
      return;
    case 3:
      cpu.cr3 = v; // the walker masks by mode (PAE: 32-byte aligned)
      cpu.flushTlb(false);
      return;
    default: {
      if (v & ~CR4_IMPLEMENTED) cpu.fault(EXC_GP, 0);
      const changed = v ^ cpu.cr4;
      cpu.cr4 = v;
      if (changed & (CR4_PSE | CR4_PAE | CR4_PGE)) cpu.flushTlb(true);
      cpu.updateModes();
    }
  }
}

function debugRegister(cpu: Cpu, n: number): number {
  requireCpl0(cpu);
  if (n === 4 || n === 5) {
    if (cpu.cr4 & CR4_DE) cpu.fault(EXC_UD);
    n += 2;
  }
  // DR7.GD: any debug register access raises #DB with DR6.BD, and GD clears.
  if (cpu.dr[7] & 0x2000) {
    cpu.dr[6] |= 0x2000;
    cpu.dr[7] &= ~0x2000;
    cpu.fault(EXC_DB);
  }
  return n;
}

export function movFromDr(cpu: Cpu, n: number): number {
  return cpu.dr[debugRegister(cpu, n)];
}

export function movToDr(cpu: Cpu, n: number, v: number): void {
  n = debugRegister(cpu, n);
  if (n === 6) v = (v & 0xe00f) | (0xffff0ff0 | 0);
  else if (n === 7) v = (v & ~0xd800) | 0x400;
  cpu.dr[n] = v;
  cpu.eventPending = true; // breakpoints are checked per instruction while DR7 enables one
}
