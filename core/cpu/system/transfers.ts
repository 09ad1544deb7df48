// Far control transfers: JMP/CALL far (direct, call gates, task gates, TSS), RET far and IRET
// in every mode (SDM vol. 2 "CALL", "JMP", "RET", "IRET"). Each function validates and builds
// its stack frame first and commits registers last, so a fault leaves the instruction
// restartable.

import type { Cpu } from '../cpu.js';
import {
  CR4_VME, EXC_GP, EXC_NP, EXC_TS, FLAG_IF, FLAG_IOPL, FLAG_NT, FLAG_TF, FLAG_VIF, FLAG_VIP, FLAG_VM,
  SEG_CS, SEG_SS, SYS_CALL_GATE16, SYS_CALL_GATE32, SYS_TASK_GATE, SYS_TSS16_AVAIL, SYS_TSS16_BUSY,
  SYS_TSS32_AVAIL, SYS_TSS32_BUSY,
} from './constants.js';
import {
  Descriptor, checkStackSegment, fetchDescriptor, loadCache, loadV86Segment, nullInaccessibleDataSegments,
  setAccessed, withinLimit,
} from './descriptors.js';
import { stackFromTss } from './interrupts.js';
import { StackFrame } from './stack.js';
import { TASK_CALL, TASK_IRET, TASK_JMP, taskSwitch } from './tasks.js';

const target = new Descriptor();
const code = new Descriptor();
const stack = new Descriptor();
const frame = new StackFrame();
const newStack = new StackFrame();
const tssStack = new Int32Array(2);

function checkEipInCs(cpu: Cpu, d: Descriptor, offset: number): void {
  if (!withinLimit(d.limit, d.flags, offset, 1)) cpu.fault(EXC_GP, 0);
}

/** Code segment checks for a direct far JMP/CALL (or the target of a call gate when `viaGate`). */
function checkDirectCode(cpu: Cpu, selector: number, d: Descriptor): void {
  const err = selector & 0xfffc;
  if (!d.isCode) cpu.fault(EXC_GP, err);
  if (d.conforming) {
    if (d.dpl > cpu.cpl) cpu.fault(EXC_GP, err);
  } else if ((selector & 3) > cpu.cpl || d.dpl !== cpu.cpl) {
    cpu.fault(EXC_GP, err);
  }
  if (!d.present) cpu.fault(EXC_NP, err);
}

/** Gate or TSS reached by JMP/CALL: DPL must admit both CPL and RPL. */
function checkGateAccess(cpu: Cpu, selector: number, d: Descriptor): void {
  if (d.dpl < cpu.cpl || d.dpl < (selector & 3)) cpu.fault(EXC_GP, selector & 0xfffc);
}

/**
 * Resolve a JMP/CALL target in protected mode. Returns 0 for a code segment or call gate left
 * in `code`, or 1 when the transfer was a task switch (already done).
 */
function resolveProtected(cpu: Cpu, selector: number, source: number): number {
  if ((selector & 0xfffc) === 0) cpu.fault(EXC_GP, 0);
  const t = target;
  if (!fetchDescriptor(cpu, selector, t)) cpu.fault(EXC_GP, selector & 0xfffc);
  if (t.isSegment) return 0;
  switch (t.type) {
    case SYS_CALL_GATE16:
    case SYS_CALL_GATE32:
      return 0;
    case SYS_TASK_GATE:
      checkGateAccess(cpu, selector, t);
      if (!t.present) cpu.fault(EXC_NP, selector & 0xfffc);
      taskSwitch(cpu, t.gateSelector, source, -1, 0);
      return 1;
    case SYS_TSS16_AVAIL:
    case SYS_TSS32_AVAIL:
    case SYS_TSS16_BUSY:
    case SYS_TSS32_BUSY:
      checkGateAccess(cpu, selector, t);
      taskSwitch(cpu, selector, source, -1, 0);
      return 1;
  }
  return cpu.fault(EXC_GP, selector & 0xfffc);
}

/** Call gate checks; leaves the target code descriptor in `code` and returns its selector. */
function enterCallGate(cpu: Cpu, gateSelector: number, g: Descriptor, isCall: boolean): number {
  checkGateAccess(cpu, gateSelector, g);
  if (!g.present) cpu.fault(EXC_NP, gateSelector & 0xfffc);
  const sel = g.gateSelector;
  if ((sel & 0xfffc) === 0) cpu.fault(EXC_GP, 0);
  const c = code;
  if (!fetchDescriptor(cpu, sel, c)) cpu.fault(EXC_GP, sel & 0xfffc);
  if (!c.isCode || c.dpl > cpu.cpl) cpu.fault(EXC_GP, sel & 0xfffc);
  // JMP through a call gate never changes privilege: non-conforming targets need DPL = CPL.
  if (!isCall && !c.conforming && c.dpl !== cpu.cpl) cpu.fault(EXC_GP, sel & 0xfffc);
  if (!c.present) cpu.fault(EXC_NP, sel & 0xfffc);
  return sel;
}

export function farJump(cpu: Cpu, selector: number, offset: number, opsize32: boolean): void {
  selector &= 0xffff;
  if (!cpu.protectedMode) {
    cpu.loadSegmentReal(SEG_CS, selector);
    cpu.eip = opsize32 ? offset >>> 0 : offset & 0xffff;
    return;
  }
  if (resolveProtected(cpu, selector, TASK_JMP)) return;
  const t = target;
  let sel = selector, c: Descriptor;
  if (t.isSegment) {
    checkDirectCode(cpu, selector, t);
    c = t;
    if (!opsize32) offset &= 0xffff;
  } else {
    sel = enterCallGate(cpu, selector, t, false);
    c = code;
    offset = t.type === SYS_CALL_GATE32 ? t.gateOffset : t.gateOffset & 0xffff;
  }
  checkEipInCs(cpu, c, offset);
  setAccessed(cpu, c);
  loadCache(cpu, SEG_CS, (sel & 0xfffc) | cpu.cpl, c);
  cpu.eip = offset >>> 0;
  cpu.updateModes();
}

export function farCall(cpu: Cpu, selector: number, offset: number, opsize32: boolean): void {
  selector &= 0xffff;
  const f = frame;
  if (!cpu.protectedMode) {
    f.openCurrent(cpu, 0);
    f.push(cpu, cpu.segSel[SEG_CS], opsize32);
    f.push(cpu, cpu.eip, opsize32);
    cpu.regs[4] = f.finalEsp();
    cpu.loadSegmentReal(SEG_CS, selector);
    cpu.eip = opsize32 ? offset >>> 0 : offset & 0xffff;
    return;
  }
  if (resolveProtected(cpu, selector, TASK_CALL)) return;
  const t = target;
  if (t.isSegment) {
    checkDirectCode(cpu, selector, t);
    if (!opsize32) offset &= 0xffff;
    f.openCurrent(cpu, 0);
    f.push(cpu, cpu.segSel[SEG_CS], opsize32);
    f.push(cpu, cpu.eip, opsize32);
    checkEipInCs(cpu, t, offset);
    setAccessed(cpu, t);
    cpu.regs[4] = f.finalEsp();
    loadCache(cpu, SEG_CS, (selector & 0xfffc) | cpu.cpl, t);
    cpu.eip = offset >>> 0;
    cpu.updateModes();
    return;
  }
  // Call gate.
  const sel = enterCallGate(cpu, selector, t, true);
  const c = code;
  const gate32 = t.type === SYS_CALL_GATE32;
  const target_ = gate32 ? t.gateOffset : t.gateOffset & 0xffff;
  if (!c.conforming && c.dpl < cpu.cpl) {
    // More privileged: switch to the TSS stack for the target level and copy parameters.
    const newCpl = c.dpl;
    stackFromTss(cpu, newCpl, 0, tssStack);
    const ss = tssStack[0] & 0xffff;
    checkStackSegment(cpu, ss, newCpl, stack, EXC_TS, 0);
    const ns = newStack.open(stack.base, stack.limit, stack.flags, tssStack[1], true, ss & 0xfffc);
    ns.push(cpu, cpu.segSel[SEG_SS], gate32);
    ns.push(cpu, cpu.regs[4], gate32);
    const count = t.gateParamCount;
    if (count > 0) {
      const old = frame.openCurrent(cpu, 0);
      const size = gate32 ? 4 : 2;
      for (let i = count - 1; i >= 0; i--) {
        old.esp = old.startEsp;
        old.skip(i * size);
        ns.push(cpu, old.pop(cpu, gate32), gate32);
      }
    }
    ns.push(cpu, cpu.segSel[SEG_CS], gate32);
    ns.push(cpu, cpu.eip, gate32);
    checkEipInCs(cpu, c, target_);
    setAccessed(cpu, stack);
    setAccessed(cpu, c);
    cpu.cpl = newCpl;
    loadCache(cpu, SEG_SS, ss, stack);
    cpu.regs[4] = ns.finalEsp();
    loadCache(cpu, SEG_CS, (sel & 0xfffc) | newCpl, c);
    cpu.eip = target_ >>> 0;
    cpu.updateModes();
    return;
  }
  f.openCurrent(cpu, 0);
  f.push(cpu, cpu.segSel[SEG_CS], gate32);
  f.push(cpu, cpu.eip, gate32);
  checkEipInCs(cpu, c, target_);
  setAccessed(cpu, c);
  cpu.regs[4] = f.finalEsp();
  loadCache(cpu, SEG_CS, (sel & 0xfffc) | cpu.cpl, c);
  cpu.eip = target_ >>> 0;
  cpu.updateModes();
}

/** CS checks for RET far / IRET to protected mode. */
function checkReturnCode(cpu: Cpu, selector: number, d: Descriptor): void {
  const err = selector & 0xfffc;
  if (err === 0) cpu.fault(EXC_GP, 0);
  const rpl = selector & 3;
  if (rpl < cpu.cpl) cpu.fault(EXC_GP, err);
  if (!fetchDescriptor(cpu, selector, d)) cpu.fault(EXC_GP, err);
  if (!d.isCode) cpu.fault(EXC_GP, err);
  if (d.conforming ? d.dpl > rpl : d.dpl !== rpl) cpu.fault(EXC_GP, err);
  if (!d.present) cpu.fault(EXC_NP, err);
}

/**
 * Commit a protected-mode return: CS (checked in `c`), and for an outer level SS:ESP popped
 * from `f`. Returns with CPL updated and DS/ES/FS/GS nulled where the new CPL may not use them.
 */
function returnTo(cpu: Cpu, cs: number, c: Descriptor, eip: number, f: StackFrame, opsize32: boolean, imm: number): void {
  const rpl = cs & 3;
  if (rpl === cpu.cpl) {
    checkEipInCs(cpu, c, eip);
    f.skip(imm);
    setAccessed(cpu, c);
    cpu.regs[4] = f.finalEsp();
    loadCache(cpu, SEG_CS, cs, c);
    cpu.eip = eip >>> 0;
    cpu.updateModes();
    return;
  }
  f.skip(imm);
  const esp = f.pop(cpu, opsize32);
  const ss = f.pop(cpu, opsize32) & 0xffff;
  checkStackSegment(cpu, ss, rpl, stack, EXC_GP, 0);
  checkEipInCs(cpu, c, eip);
  setAccessed(cpu, c);
  setAccessed(cpu, stack);
  cpu.cpl = rpl;
  loadCache(cpu, SEG_CS, cs, c);
  loadCache(cpu, SEG_SS, ss, stack);
  const newEsp = opsize32 ? esp : (cpu.regs[4] & ~0xffff) | (esp & 0xffff);
  cpu.regs[4] = newEsp;
  cpu.eip = eip >>> 0;
  cpu.updateModes();
  cpu.adjustSp(imm);
  nullInaccessibleDataSegments(cpu);
}

export function farReturn(cpu: Cpu, opsize32: boolean, imm: number): void {
  const f = frame.openCurrent(cpu, 0);
  let eip = f.pop(cpu, opsize32);
  const cs = f.pop(cpu, opsize32) & 0xffff;
  if (!cpu.protectedMode) {
    f.skip(imm);
    cpu.regs[4] = f.finalEsp();
    cpu.loadSegmentReal(SEG_CS, cs);
    cpu.eip = opsize32 ? eip >>> 0 : eip & 0xffff;
    return;
  }
  if (!opsize32) eip &= 0xffff;
  checkReturnCode(cpu, cs, code);
  returnTo(cpu, cs, code, eip, f, opsize32, imm);
}

const DATA_RETURN_SEGS = [0, 3, 4, 5] as const; // ES DS FS GS as popped by IRET to v86

export function iret(cpu: Cpu, opsize32: boolean): void {
  const old = cpu.getEflags();
  const f = frame.openCurrent(cpu, 0);
  if (!cpu.protectedMode && !cpu.v86) {
    // Real mode.
    const eip = f.pop(cpu, opsize32);
    const cs = f.pop(cpu, opsize32) & 0xffff;
    const fl = f.pop(cpu, opsize32);
    const nf = opsize32 ? (fl & 0x257fd5) | (old & 0x1a0000) : (fl & 0xffff) | (old & 0xffff0000);
    cpu.regs[4] = f.finalEsp();
    cpu.loadSegmentReal(SEG_CS, cs);
    cpu.eip = opsize32 ? eip >>> 0 : eip & 0xffff;
    cpu.setEflags(nf);
    cpu.nmiBlocked = false;
    return;
  }
  if (cpu.v86) {
    iretV86(cpu, opsize32, old, f);
    cpu.nmiBlocked = false;
    return;
  }
  if (old & FLAG_NT) {
    const link = cpu.readSystem16(cpu.trBase);
    taskSwitch(cpu, link, TASK_IRET, -1, 0);
    cpu.nmiBlocked = false;
    return;
  }
  let eip = f.pop(cpu, opsize32);
  const cs = f.pop(cpu, opsize32) & 0xffff;
  const temp = f.pop(cpu, opsize32);
  if (opsize32 && (temp & FLAG_VM) !== 0 && cpu.cpl === 0) {
    // Return to virtual-8086 mode.
    const esp = f.pop32(cpu);
    const ss = f.pop32(cpu);
    const es = f.pop32(cpu), ds = f.pop32(cpu), fs = f.pop32(cpu), gs = f.pop32(cpu);
    cpu.setEflags(temp);
    loadV86Segment(cpu, SEG_CS, cs);
    loadV86Segment(cpu, SEG_SS, ss);
    const sels = [es, ds, fs, gs];
    for (let i = 0; i < 4; i++) loadV86Segment(cpu, DATA_RETURN_SEGS[i], sels[i]);
    cpu.regs[4] = esp;
    cpu.eip = eip & 0xffff;
    cpu.cpl = 3;
    cpu.updateModes();
    cpu.nmiBlocked = false;
    return;
  }
  if (!opsize32) eip &= 0xffff;
  checkReturnCode(cpu, cs, code);
  const oldCpl = cpu.cpl;
  const iopl = (old >>> 12) & 3;
  let mask = 0x4dd5;
  if (opsize32) mask |= 0x250000; // RF AC ID
  if (oldCpl <= iopl) mask |= FLAG_IF;
  if (oldCpl === 0) {
    mask |= FLAG_IOPL;
    if (opsize32) mask |= FLAG_VIF | FLAG_VIP;
  }
  if (!opsize32) mask &= 0xffff;
  returnTo(cpu, cs, code, eip, f, opsize32, 0);
  cpu.setEflags((old & ~mask) | (temp & mask));
  cpu.nmiBlocked = false;
}

function iretV86(cpu: Cpu, opsize32: boolean, old: number, f: StackFrame): void {
  const iopl = (old >>> 12) & 3;
  if (iopl === 3) {
    const eip = f.pop(cpu, opsize32);
    const cs = f.pop(cpu, opsize32) & 0xffff;
    const fl = f.pop(cpu, opsize32);
    if (opsize32 && eip >>> 0 > 0xffff) cpu.fault(EXC_GP, 0);
    const keep = opsize32 ? FLAG_VM | FLAG_IOPL | FLAG_VIP | FLAG_VIF : 0xffff0000 | FLAG_IOPL;
    cpu.regs[4] = f.finalEsp();
    cpu.loadSegmentReal(SEG_CS, cs);
    cpu.eip = eip & 0xffff;
    cpu.setEflags((old & keep) | (fl & ~keep));
    return;
  }
  if ((cpu.cr4 & CR4_VME) === 0 || opsize32) cpu.fault(EXC_GP, 0);
  // VME: 16-bit IRET virtualises IF.
  const ip = f.pop16(cpu);
  const cs = f.pop16(cpu);
  const fl = f.pop16(cpu);
  if ((fl & FLAG_TF) !== 0 || ((old & FLAG_VIP) !== 0 && (fl & FLAG_IF) !== 0)) cpu.fault(EXC_GP, 0);
  cpu.regs[4] = f.finalEsp();
  cpu.loadSegmentReal(SEG_CS, cs);
  cpu.eip = ip;
  const keep = 0xffff0000 | FLAG_IOPL | FLAG_IF;
  let nf = (old & keep) | (fl & ~keep & 0xffff);
  nf = (fl & FLAG_IF) !== 0 ? nf | FLAG_VIF : nf & ~FLAG_VIF;
  cpu.setEflags(nf);
}
