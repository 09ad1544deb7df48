// Hardware task switching (SDM vol. 3, 7.3): JMP/CALL to a TSS or task gate, INT/exception
// through a task gate, and IRET with EFLAGS.NT. 16-bit (type 1/3) and 32-bit (type 9/11) TSS.
//
// Order: validate the new TSS descriptor, read the whole new TSS (a #PF here changes nothing),
// save the outgoing state into the old TSS, update busy bits and the back-link, then load the
// new state. Faults while checking the new task's segments are raised in the new task's
// context (cpu.startEip/startEsp are moved so the run loop restores the new task's values).

import type { Cpu } from '../cpu.js';
import { CpuFault } from '../cpu.js';
import {
  CR0_PG, CR0_TS, EXC_DB, EXC_GP, EXC_NP, EXC_SS, EXC_TS, FLAG_NT, FLAG_VM, SEG_CS, SEG_SS, SYS_LDT,
} from './constants.js';
import {
  DATA_SEGS, Descriptor, checkDataSegment, fetchDescriptor, loadCache, loadV86Segment, setAccessed, withinLimit,
} from './descriptors.js';
import { StackFrame } from './stack.js';

export const TASK_JMP = 0;
export const TASK_CALL = 1;
export const TASK_IRET = 2;
export const TASK_INT = 3;

const tssDesc = new Descriptor();
const segDesc = new Descriptor();
const frame = new StackFrame();
// New task image: EIP, EFLAGS, 8 GPRs, 6 selectors, LDT, CR3.
const img = new Int32Array(19);
const IMG_EIP = 0, IMG_EFLAGS = 1, IMG_REGS = 2, IMG_SEGS = 10, IMG_LDT = 16, IMG_CR3 = 17, IMG_TRAP = 18;

/** True when the TR cache (or a descriptor type) is a 32-bit TSS. */
function is32(type: number): boolean {
  return (type & 8) !== 0;
}

/**
 * Switch to the task whose TSS selector is `selector`. `source` is TASK_JMP/CALL/IRET/INT;
 * `errorCode` >= 0 is pushed on the new task's stack (exceptions through a task gate); `ext`
 * is the EXT bit for error codes. cpu.eip must hold the outgoing task's resume EIP.
 */
export function taskSwitch(cpu: Cpu, selector: number, source: number, errorCode: number, ext: number): void {
  const d = tssDesc;
  const badVector = source === TASK_IRET ? EXC_TS : EXC_GP;
  const err = (selector & 0xfffc) | ext;
  if (selector & 4 || !fetchDescriptor(cpu, selector, d)) cpu.fault(badVector, err);
  const type = d.type;
  if (d.isSegment || (type & 7) !== 1 && (type & 7) !== 3) cpu.fault(badVector, err);
  const busy = (type & 2) !== 0;
  if (source === TASK_IRET ? !busy : busy) cpu.fault(badVector, err);
  if (!d.present) cpu.fault(EXC_NP, err);
  const new32 = is32(type);
  const limit = d.limit >>> 0;
  if (limit < (new32 ? 0x67 : 0x2b)) cpu.fault(EXC_TS, err);
  const newBase = d.base;

  // Read the new task's state first.
  if (new32) {
    img[IMG_CR3] = cpu.readSystem32((newBase + 0x1c) | 0);
    img[IMG_EIP] = cpu.readSystem32((newBase + 0x20) | 0);
    img[IMG_EFLAGS] = cpu.readSystem32((newBase + 0x24) | 0);
    for (let r = 0; r < 8; r++) img[IMG_REGS + r] = cpu.readSystem32((newBase + 0x28 + r * 4) | 0);
    for (let s = 0; s < 6; s++) img[IMG_SEGS + s] = cpu.readSystem16((newBase + 0x48 + s * 4) | 0);
    img[IMG_LDT] = cpu.readSystem16((newBase + 0x60) | 0);
    img[IMG_TRAP] = cpu.readSystem16((newBase + 0x64) | 0) & 1;
  } else {
    img[IMG_TRAP] = 0;
    img[IMG_CR3] = cpu.cr3;
    img[IMG_EIP] = cpu.readSystem16((newBase + 0x0e) | 0);
    img[IMG_EFLAGS] = cpu.readSystem16((newBase + 0x10) | 0);
    for (let r = 0; r < 8; r++) {
      // A 16-bit task only defines the low halves; keep the high halves (as P6 parts do).
      img[IMG_REGS + r] = (cpu.regs[r] & ~0xffff) | cpu.readSystem16((newBase + 0x12 + r * 2) | 0);
    }
    for (let s = 0; s < 4; s++) img[IMG_SEGS + s] = cpu.readSystem16((newBase + 0x22 + s * 2) | 0);
    img[IMG_SEGS + 4] = img[IMG_SEGS + 5] = 0;
    img[IMG_LDT] = cpu.readSystem16((newBase + 0x2a) | 0);
  }

  // Save the outgoing task.
  const oldBase = cpu.trBase;
  let oldFlags = cpu.getEflags();
  if (source === TASK_IRET) oldFlags &= ~FLAG_NT;
  if (is32(cpu.trFlags & 0xf)) {
    cpu.writeSystem32((oldBase + 0x20) | 0, cpu.eip);
    cpu.writeSystem32((oldBase + 0x24) | 0, oldFlags);
    for (let r = 0; r < 8; r++) cpu.writeSystem32((oldBase + 0x28 + r * 4) | 0, cpu.regs[r]);
    for (let s = 0; s < 6; s++) cpu.writeSystem16((oldBase + 0x48 + s * 4) | 0, cpu.segSel[s]);
  } else {
    cpu.writeSystem16((oldBase + 0x0e) | 0, cpu.eip);
    cpu.writeSystem16((oldBase + 0x10) | 0, oldFlags);
    for (let r = 0; r < 8; r++) cpu.writeSystem16((oldBase + 0x12 + r * 2) | 0, cpu.regs[r]);
    for (let s = 0; s < 4; s++) cpu.writeSystem16((oldBase + 0x22 + s * 2) | 0, cpu.segSel[s]);
  }

  // Busy bits and back-link.
  if (source === TASK_JMP || source === TASK_IRET) setBusy(cpu, cpu.trSel, false);
  if (source === TASK_CALL || source === TASK_INT) {
    cpu.writeSystem16(newBase, cpu.trSel);
    img[IMG_EFLAGS] |= FLAG_NT;
  }
  if (source !== TASK_IRET) {
    d.hi |= 0x200;
    cpu.writeSystem8((d.addr + 5) | 0, (d.hi >>> 8) & 0xff);
  }

  // Commit: TR, CR0.TS, CR3, registers, EFLAGS, EIP.
  cpu.trSel = selector & 0xffff;
  cpu.trBase = newBase;
  cpu.trLimit = d.limit;
  cpu.trFlags = d.flags | 0x2;
  cpu.cr0 |= CR0_TS;
  if (new32 && (cpu.cr0 & CR0_PG) !== 0 && img[IMG_CR3] !== cpu.cr3) {
    cpu.cr3 = img[IMG_CR3];
    cpu.flushTlb(false);
  }
  for (let r = 0; r < 8; r++) cpu.regs[r] = img[IMG_REGS + r];
  cpu.eip = new32 ? img[IMG_EIP] >>> 0 : img[IMG_EIP] & 0xffff;
  const eflags = new32 ? img[IMG_EFLAGS] : img[IMG_EFLAGS] & 0xffff;
  const v86 = (eflags & FLAG_VM) !== 0;
  // Selectors first with unusable caches, so a fault below leaves a defined state.
  for (let s = 0; s < 6; s++) cpu.setSegment(s, img[IMG_SEGS + s], 0, 0, 0);
  cpu.ldtrSel = img[IMG_LDT];
  cpu.ldtrBase = 0;
  cpu.ldtrLimit = 0;
  cpu.cpl = v86 ? 3 : img[IMG_SEGS + SEG_CS] & 3;
  cpu.setEflags(eflags);
  // From here on faults belong to the new task.
  cpu.startEip = cpu.eip;
  cpu.startEsp = cpu.regs[4];

  if (source !== TASK_INT) {
    finishSwitch(cpu, v86, new32, errorCode, ext);
    return;
  }
  // Through an IDT task gate we are inside the run loop's exception delivery, which would
  // restore the outgoing task's EIP on a throw: deliver such faults here, in the new task.
  try {
    finishSwitch(cpu, v86, new32, errorCode, ext);
  } catch (e) {
    if (!(e instanceof CpuFault)) throw e;
    cpu.eip = cpu.startEip;
    cpu.regs[4] = cpu.startEsp;
    cpu.raiseException(e.vector, e.errorCode);
  }
}

/** After the commit point: LDT and segment checks, EIP limit, error code, T bit. */
function finishSwitch(cpu: Cpu, v86: boolean, new32: boolean, errorCode: number, ext: number): void {
  const ldt = img[IMG_LDT];
  const trap = img[IMG_TRAP];
  loadTaskLdt(cpu, ldt, ext);
  if (v86) {
    for (let s = 0; s < 6; s++) loadV86Segment(cpu, s, img[IMG_SEGS + s]);
  } else {
    loadTaskSegments(cpu, ext);
  }
  cpu.updateModes();
  if (!withinLimit(cpu.segLimit[SEG_CS], 0, cpu.eip, 1)) cpu.fault(EXC_GP, ext);

  if (errorCode >= 0) {
    frame.openCurrent(cpu, ext);
    frame.push(cpu, errorCode, new32);
    cpu.regs[4] = frame.finalEsp();
  }
  // TSS T bit: a debug trap before the new task's first instruction (DR6.BT).
  if (trap !== 0) {
    cpu.dr[6] |= 0x8000;
    cpu.startEsp = cpu.regs[4];
    cpu.fault(EXC_DB);
  }
}

function setBusy(cpu: Cpu, selector: number, busy: boolean): void {
  const d = segDesc;
  if (!fetchDescriptor(cpu, selector, d)) return;
  const access = (d.hi >>> 8) & 0xff;
  cpu.writeSystem8((d.addr + 5) | 0, busy ? access | 2 : access & ~2);
}

function loadTaskLdt(cpu: Cpu, selector: number, ext: number): void {
  const err = (selector & 0xfffc) | ext;
  if ((selector & 0xfffc) === 0) return;
  const d = segDesc;
  if (selector & 4 || !fetchDescriptor(cpu, selector, d)) cpu.fault(EXC_TS, err);
  if (d.isSegment || d.type !== SYS_LDT) cpu.fault(EXC_TS, err);
  if (!d.present) cpu.fault(EXC_TS, err);
  cpu.ldtrBase = d.base;
  cpu.ldtrLimit = d.limit;
}

function loadTaskSegments(cpu: Cpu, ext: number): void {
  const d = segDesc;
  const cpl = cpu.cpl;
  // CS
  const cs = img[IMG_SEGS + SEG_CS];
  const csErr = (cs & 0xfffc) | ext;
  if ((cs & 0xfffc) === 0 || !fetchDescriptor(cpu, cs, d)) cpu.fault(EXC_TS, csErr);
  if (!d.isCode) cpu.fault(EXC_TS, csErr);
  if (d.conforming ? d.dpl > (cs & 3) : d.dpl !== (cs & 3)) cpu.fault(EXC_TS, csErr);
  if (!d.present) cpu.fault(EXC_NP, csErr);
  setAccessed(cpu, d);
  loadCache(cpu, SEG_CS, cs, d);
  // SS
  const ss = img[IMG_SEGS + SEG_SS];
  const ssErr = (ss & 0xfffc) | ext;
  if ((ss & 0xfffc) === 0 || !fetchDescriptor(cpu, ss, d)) cpu.fault(EXC_TS, ssErr);
  if ((ss & 3) !== cpl || !d.isData || !d.rw || d.dpl !== cpl) cpu.fault(EXC_TS, ssErr);
  if (!d.present) cpu.fault(EXC_SS, ssErr);
  setAccessed(cpu, d);
  loadCache(cpu, SEG_SS, ss, d);
  // DS ES FS GS
  for (const seg of DATA_SEGS) {
    const sel = img[IMG_SEGS + seg];
    if (checkDataSegment(cpu, sel, cpl, d, EXC_TS, ext)) {
      setAccessed(cpu, d);
      loadCache(cpu, seg, sel, d);
    }
  }
}
