// Segment descriptors: reading them from the GDT/LDT, decoding their fields, and loading the
// data and stack segment registers with the protected-mode checks (SDM vol. 3, 5.5-5.8 and
// the MOV/POP Sreg pseudo-code).
//
// Descriptor layout (two dwords):
//   lo: limit 15:0 | base 15:0 << 16
//   hi: base 23:16 | type << 8 | S << 12 | DPL << 13 | P << 15 | limit 19:16 << 16 |
//       AVL << 20 | L << 21 | D/B << 22 | G << 23 | base 31:24 << 24
// The segment caches keep (hi >>> 8) & 0xf0ff: the access byte in bits 0-7, G/D/L/AVL in
// bits 12-15 (see SF_* in constants.ts).

import type { Cpu } from '../cpu.js';
import {
  EXC_GP, EXC_NP, EXC_SS, EXC_UD, SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS, SF_CODE, SF_DC, SF_P,
  SF_S, V86_SEG_FLAGS,
} from './constants.js';

/** One descriptor as read from a table; instances are reused (no allocation per load). */
export class Descriptor {
  lo = 0;
  hi = 0;
  /** Linear address of the descriptor (to set the accessed or busy bit). */
  addr = 0;

  get base(): number {
    return ((this.lo >>> 16) | ((this.hi & 0xff) << 16) | (this.hi & 0xff000000)) | 0;
  }

  /** Byte limit with granularity applied (0xFFFFFFFF as -1). */
  get limit(): number {
    const raw = (this.lo & 0xffff) | (this.hi & 0xf0000);
    return this.hi & 0x800000 ? ((raw << 12) | 0xfff) | 0 : raw;
  }

  /** The segment cache flags (access byte + G/D/L/AVL nibble). */
  get flags(): number {
    return (this.hi >>> 8) & 0xf0ff;
  }

  /** Type field (bits 0-3 of the access byte). */
  get type(): number {
    return (this.hi >>> 8) & 0xf;
  }

  /** True for code/data descriptors (S = 1), false for system descriptors and gates. */
  get isSegment(): boolean {
    return (this.hi & 0x1000) !== 0;
  }

  get dpl(): number {
    return (this.hi >>> 13) & 3;
  }

  get present(): boolean {
    return (this.hi & 0x8000) !== 0;
  }

  get isCode(): boolean {
    return (this.hi & 0x1800) === 0x1800;
  }

  get isData(): boolean {
    return (this.hi & 0x1800) === 0x1000;
  }

  get conforming(): boolean {
    return (this.hi & 0x1c00) === 0x1c00;
  }

  /** Code: readable. Data: writable. */
  get rw(): boolean {
    return (this.hi & 0x200) !== 0;
  }

  /** Gate fields. */
  get gateSelector(): number {
    return this.lo >>> 16;
  }

  /** 32-bit gate offset; callers mask to 16 bits for 286 gates. */
  get gateOffset(): number {
    return ((this.lo & 0xffff) | (this.hi & 0xffff0000)) >>> 0;
  }

  get gateParamCount(): number {
    return this.hi & 0x1f;
  }
}

/**
 * Read the descriptor named by `selector` into `d`. Returns false when the selector points
 * beyond its table's limit (or into an LDT while none is loaded); the caller picks the fault.
 */
export function fetchDescriptor(cpu: Cpu, selector: number, d: Descriptor): boolean {
  let base: number, limit: number;
  if (selector & 4) {
    if ((cpu.ldtrSel & 0xfffc) === 0) return false;
    base = cpu.ldtrBase;
    limit = cpu.ldtrLimit;
  } else {
    base = cpu.gdtrBase;
    limit = cpu.gdtrLimit;
  }
  const index = selector & 0xfff8;
  if ((index | 7) >>> 0 > limit >>> 0) return false;
  const addr = (base + index) | 0;
  d.lo = cpu.readSystem32(addr);
  d.hi = cpu.readSystem32((addr + 4) | 0);
  d.addr = addr;
  return true;
}

/** fetchDescriptor or fault `vector` with error code (selector & ~3) | ext. */
export function loadDescriptor(cpu: Cpu, selector: number, d: Descriptor, vector: number, ext: number): void {
  if (!fetchDescriptor(cpu, selector, d)) cpu.fault(vector, (selector & 0xfffc) | ext);
}

/** Set the accessed bit in the descriptor in memory (a locked read-modify-write on hardware). */
export function setAccessed(cpu: Cpu, d: Descriptor): void {
  if ((d.hi & 0x100) === 0) {
    d.hi |= 0x100;
    cpu.writeSystem8((d.addr + 5) | 0, (d.hi >>> 8) & 0xff);
  }
}

/** Load a segment cache from a checked descriptor. */
export function loadCache(cpu: Cpu, seg: number, selector: number, d: Descriptor): void {
  cpu.setSegment(seg, selector & 0xffff, d.base, d.limit, d.flags);
}

/** Load the v86-mode form of a segment: base = selector * 16, 64 KiB, DPL 3 data. */
export function loadV86Segment(cpu: Cpu, seg: number, selector: number): void {
  selector &= 0xffff;
  cpu.setSegment(seg, selector, selector << 4, 0xffff, V86_SEG_FLAGS);
}

const scratch = new Descriptor();

/**
 * Checks for a stack segment that is about to become SS at privilege `cpl`, as used by
 * MOV SS, far returns, IRET, call gates and interrupts. Faults `vector` (#GP for MOV/RET/IRET,
 * #TS for gates, interrupts and task switches) or #SS when not present.
 */
export function checkStackSegment(
  cpu: Cpu, selector: number, cpl: number, d: Descriptor, vector: number, ext: number,
): void {
  if ((selector & 0xfffc) === 0) cpu.fault(vector, ext);
  if ((selector & 3) !== cpl) cpu.fault(vector, (selector & 0xfffc) | ext);
  loadDescriptor(cpu, selector, d, vector, ext);
  if (!d.isData || !d.rw || d.dpl !== cpl) cpu.fault(vector, (selector & 0xfffc) | ext);
  if (!d.present) cpu.fault(EXC_SS, (selector & 0xfffc) | ext);
}

/**
 * Checks for DS/ES/FS/GS (MOV Sreg, LDS..., task switch): readable, and for data and
 * non-conforming code DPL >= max(CPL, RPL). Faults `vector` with the selector, #NP when absent.
 * Returns false for a null selector (which loads as unusable and never faults here).
 */
export function checkDataSegment(
  cpu: Cpu, selector: number, cpl: number, d: Descriptor, vector: number, ext: number,
): boolean {
  if ((selector & 0xfffc) === 0) return false;
  loadDescriptor(cpu, selector, d, vector, ext);
  const err = (selector & 0xfffc) | ext;
  if (!d.isSegment) cpu.fault(vector, err);
  if (d.isCode && !d.rw) cpu.fault(vector, err);
  if (!d.conforming) {
    const rpl = selector & 3;
    if (d.dpl < cpl || d.dpl < rpl) cpu.fault(vector, err);
  }
  if (!d.present) cpu.fault(EXC_NP, err);
  return true;
}

/** MOV/POP Sreg and LDS/LES/LFS/LGS/LSS in every mode. CS is never loaded this way. */
export function loadSegment(cpu: Cpu, seg: number, selector: number): void {
  selector &= 0xffff;
  if (seg === SEG_CS) cpu.fault(EXC_UD);
  if (!cpu.protectedMode) {
    cpu.loadSegmentReal(seg, selector);
    return;
  }
  const d = scratch;
  if (seg === SEG_SS) {
    checkStackSegment(cpu, selector, cpu.cpl, d, EXC_GP, 0);
    setAccessed(cpu, d);
    loadCache(cpu, SEG_SS, selector, d);
    return;
  }
  if (!checkDataSegment(cpu, selector, cpu.cpl, d, EXC_GP, 0)) {
    // Null selector: the register becomes unusable; any access through it raises #GP(0).
    cpu.setSegment(seg, selector, 0, 0, 0);
    return;
  }
  setAccessed(cpu, d);
  loadCache(cpu, seg, selector, d);
}

/**
 * After a return to an outer privilege level: DS, ES, FS and GS that the new CPL may not use
 * (data or non-conforming code with DPL < CPL) are loaded with a null selector.
 */
export function nullInaccessibleDataSegments(cpu: Cpu): void {
  const cpl = cpu.cpl;
  for (const seg of DATA_SEGS) {
    const f = cpu.segFlags[seg];
    if ((f & SF_P) === 0) continue;
    const dpl = (f >>> 5) & 3;
    const conformingCode = (f & (SF_S | SF_CODE | SF_DC)) === (SF_S | SF_CODE | SF_DC);
    if (!conformingCode && dpl < cpl) cpu.setSegment(seg, 0, 0, 0, 0);
  }
}

export const DATA_SEGS: readonly number[] = [SEG_ES, SEG_DS, SEG_FS, SEG_GS];

/** Is the offset range [offset, offset+size) inside a segment with these limit/flags? */
export function withinLimit(limit: number, flags: number, offset: number, size: number): boolean {
  const first = offset >>> 0;
  const last = (offset + size - 1) >>> 0;
  if ((flags & (SF_CODE | SF_DC)) === SF_DC) {
    // Expand-down data: valid offsets are limit+1 .. 0xFFFF or 0xFFFFFFFF (B bit).
    const top = flags & 0x4000 ? 0xffffffff : 0xffff;
    return first > limit >>> 0 && last <= top && last >= first;
  }
  return last <= limit >>> 0 && last >= first;
}
