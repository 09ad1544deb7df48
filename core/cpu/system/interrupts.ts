// Interrupt and exception delivery in real, protected and virtual-8086 mode (SDM vol. 2 "INT n"
// and vol. 3 chapter 6), including task gates, the inner-level stack switch from the TSS, the
// v86 IOPL check for INT n and VME interrupt redirection. Double/triple-fault escalation is
// the run loop's (Cpu.raiseException): this delivers one event and throws CpuFault when the
// delivery itself faults, before any register has changed.

import type { Cpu } from '../cpu.js';
import {
  CR0_PE, CR4_VME, EXC_GP, EXC_NP, EXC_TS, FLAG_AC, FLAG_IF, FLAG_IOPL, FLAG_NT, FLAG_RF, FLAG_TF, FLAG_VIF,
  FLAG_VM, SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS, SYS_INT_GATE16, SYS_INT_GATE32,
  SYS_TASK_GATE, SYS_TRAP_GATE16, SYS_TRAP_GATE32,
} from './constants.js';
import { DATA_SEGS, Descriptor, checkStackSegment, fetchDescriptor, loadCache, setAccessed, withinLimit } from './descriptors.js';
import { StackFrame } from './stack.js';
import { TASK_INT, taskSwitch } from './tasks.js';

/** Interrupt kinds (same values as INT_* in cpu.ts). */
export const KIND_EXCEPTION = 0;
/** INT n: gate DPL checked, IOPL-sensitive in v86, VME-redirectable. */
export const KIND_SOFTWARE = 1;
export const KIND_HARDWARE = 2;
/** INT1 / ICEBP. */
export const KIND_ICEBP = 3;
/** INT3 / INTO: gate DPL checked, but neither IOPL-sensitive nor redirected in v86. */
export const KIND_SOFTWARE_EXCEPTION = 4;

const gate = new Descriptor();
const code = new Descriptor();
const stack = new Descriptor();
const frame = new StackFrame();

export function deliverInterrupt(cpu: Cpu, vector: number, kind: number, errorCode: number): void {
  vector &= 0xff;
  if ((cpu.cr0 & CR0_PE) === 0) {
    realModeInterrupt(cpu, vector);
    return;
  }
  if (cpu.v86 && kind === KIND_SOFTWARE) {
    const iopl = (cpu.flags >>> 12) & 3;
    if (cpu.cr4 & CR4_VME) {
      if (!interruptRedirected(cpu, vector)) {
        v86RedirectedInterrupt(cpu, vector, iopl);
        return;
      }
    }
    if (iopl < 3) cpu.fault(EXC_GP, 0);
  }
  protectedModeInterrupt(cpu, vector, kind, errorCode);
}

function realModeInterrupt(cpu: Cpu, vector: number): void {
  const addr = vector * 4;
  if (addr + 3 > cpu.idtrLimit >>> 0) cpu.fault(EXC_GP, 0);
  const ip = cpu.readSystem16((cpu.idtrBase + addr) | 0);
  const cs = cpu.readSystem16((cpu.idtrBase + addr + 2) | 0);
  const f = frame.openCurrent(cpu, 0);
  f.push16(cpu, cpu.getEflags());
  f.push16(cpu, cpu.segSel[SEG_CS]);
  f.push16(cpu, cpu.eip);
  cpu.regs[4] = f.finalEsp();
  cpu.flags &= ~(FLAG_IF | FLAG_TF | FLAG_AC);
  cpu.loadSegmentReal(SEG_CS, cs);
  cpu.eip = ip;
}

/** VME: bit clear in the TSS interrupt redirection bitmap means "handle in v86 mode". */
function interruptRedirected(cpu: Cpu, vector: number): boolean {
  if ((cpu.trFlags & 0xf) !== 0xb || (cpu.trLimit >>> 0) < 0x67) cpu.fault(EXC_GP, 0);
  const ioBase = cpu.readSystem16((cpu.trBase + 0x66) | 0);
  const offset = ioBase - 32 + (vector >>> 3);
  if (offset < 0 || offset > cpu.trLimit >>> 0) cpu.fault(EXC_GP, 0);
  return ((cpu.readSystem8((cpu.trBase + offset) | 0) >>> (vector & 7)) & 1) !== 0;
}

/** VME redirection: an 8086-style interrupt through the IVT at linear 0, IF virtualised. */
function v86RedirectedInterrupt(cpu: Cpu, vector: number, iopl: number): void {
  const ip = cpu.readLinear16(vector * 4);
  const cs = cpu.readLinear16(vector * 4 + 2);
  let flags = cpu.getEflags();
  if (iopl < 3) {
    // The image shows VIF as IF and IOPL as 3.
    flags = (flags & ~FLAG_IF) | FLAG_IOPL | ((flags & FLAG_VIF) !== 0 ? FLAG_IF : 0);
  }
  const f = frame.openCurrent(cpu, 0);
  f.push16(cpu, flags);
  f.push16(cpu, cpu.segSel[SEG_CS]);
  f.push16(cpu, cpu.eip);
  cpu.regs[4] = f.finalEsp();
  if (iopl < 3) cpu.flags &= ~(FLAG_VIF | FLAG_TF);
  else cpu.flags &= ~(FLAG_IF | FLAG_TF);
  cpu.loadSegmentReal(SEG_CS, cs);
  cpu.eip = ip;
}

/** Inner-level stack pointer for `dpl` from the current TSS: writes ss and esp into out. */
export function stackFromTss(cpu: Cpu, dpl: number, ext: number, out: Int32Array): void {
  const type = cpu.trFlags & 0xf;
  const limit = cpu.trLimit >>> 0;
  if (type & 8) {
    const at = 4 + dpl * 8;
    if (at + 5 > limit) cpu.fault(EXC_TS, (cpu.trSel & 0xfffc) | ext);
    out[1] = cpu.readSystem32((cpu.trBase + at) | 0);
    out[0] = cpu.readSystem16((cpu.trBase + at + 4) | 0);
  } else {
    const at = 2 + dpl * 4;
    if (at + 3 > limit) cpu.fault(EXC_TS, (cpu.trSel & 0xfffc) | ext);
    out[1] = cpu.readSystem16((cpu.trBase + at) | 0);
    out[0] = cpu.readSystem16((cpu.trBase + at + 2) | 0);
  }
}

const tssStack = new Int32Array(2);

function protectedModeInterrupt(cpu: Cpu, vector: number, kind: number, errorCode: number): void {
  const ext = kind === KIND_SOFTWARE || kind === KIND_SOFTWARE_EXCEPTION ? 0 : 1;
  const idtErr = vector * 8 + 2 + ext;
  if (vector * 8 + 7 > cpu.idtrLimit >>> 0) cpu.fault(EXC_GP, idtErr);
  const g = gate;
  g.addr = (cpu.idtrBase + vector * 8) | 0;
  g.lo = cpu.readSystem32(g.addr);
  g.hi = cpu.readSystem32((g.addr + 4) | 0);
  const type = g.type;
  if (g.isSegment || (type !== SYS_TASK_GATE && type !== SYS_INT_GATE16 && type !== SYS_TRAP_GATE16 &&
      type !== SYS_INT_GATE32 && type !== SYS_TRAP_GATE32)) {
    cpu.fault(EXC_GP, idtErr);
  }
  if ((kind === KIND_SOFTWARE || kind === KIND_SOFTWARE_EXCEPTION) && g.dpl < cpu.cpl) cpu.fault(EXC_GP, idtErr);
  if (!g.present) cpu.fault(EXC_NP, idtErr);

  if (type === SYS_TASK_GATE) {
    taskSwitch(cpu, g.gateSelector, TASK_INT, errorCode, ext);
    return;
  }

  const gate32 = (type & 8) !== 0;
  const isInterruptGate = (type & 1) === 0;
  const sel = g.gateSelector;
  let offset = g.gateOffset;
  if (!gate32) offset &= 0xffff;
  if ((sel & 0xfffc) === 0) cpu.fault(EXC_GP, ext);
  const c = code;
  if (!fetchDescriptor(cpu, sel, c)) cpu.fault(EXC_GP, (sel & 0xfffc) | ext);
  if (!c.isCode || c.dpl > cpu.cpl) cpu.fault(EXC_GP, (sel & 0xfffc) | ext);
  if (!c.present) cpu.fault(EXC_NP, (sel & 0xfffc) | ext);

  const oldFlags = cpu.getEflags();
  const v86 = (oldFlags & FLAG_VM) !== 0;
  const newCpl = c.conforming ? cpu.cpl : c.dpl;
  const f = frame;
  if (newCpl < cpu.cpl) {
    // Inner level: new stack from the TSS.
    if (v86 && c.dpl !== 0) cpu.fault(EXC_GP, (sel & 0xfffc) | ext);
    stackFromTss(cpu, newCpl, ext, tssStack);
    const ss = tssStack[0] & 0xffff;
    const esp = tssStack[1];
    checkStackSegment(cpu, ss, newCpl, stack, EXC_TS, ext);
    if (!withinLimit(c.limit, c.flags, offset, 1)) cpu.fault(EXC_GP, ext);
    f.open(stack.base, stack.limit, stack.flags, esp, true, (ss & 0xfffc) | ext);
    if (v86) {
      f.push(cpu, cpu.segSel[SEG_GS], gate32);
      f.push(cpu, cpu.segSel[SEG_FS], gate32);
      f.push(cpu, cpu.segSel[SEG_DS], gate32);
      f.push(cpu, cpu.segSel[SEG_ES], gate32);
    }
    f.push(cpu, cpu.segSel[SEG_SS], gate32);
    f.push(cpu, cpu.regs[4], gate32);
    f.push(cpu, oldFlags, gate32);
    f.push(cpu, cpu.segSel[SEG_CS], gate32);
    f.push(cpu, cpu.eip, gate32);
    if (errorCode >= 0) f.push(cpu, errorCode, gate32);
    // Commit.
    setAccessed(cpu, stack);
    setAccessed(cpu, c);
    if (v86) {
      for (const s of DATA_SEGS) cpu.setSegment(s, 0, 0, 0, 0);
    }
    loadCache(cpu, SEG_SS, ss, stack);
    cpu.regs[4] = f.finalEsp();
  } else {
    if (v86) cpu.fault(EXC_GP, (sel & 0xfffc) | ext);
    if (!withinLimit(c.limit, c.flags, offset, 1)) cpu.fault(EXC_GP, ext);
    f.openCurrent(cpu, ext);
    f.push(cpu, oldFlags, gate32);
    f.push(cpu, cpu.segSel[SEG_CS], gate32);
    f.push(cpu, cpu.eip, gate32);
    if (errorCode >= 0) f.push(cpu, errorCode, gate32);
    setAccessed(cpu, c);
    cpu.regs[4] = f.finalEsp();
  }
  cpu.cpl = newCpl;
  loadCache(cpu, SEG_CS, (sel & 0xfffc) | newCpl, c);
  cpu.eip = offset;
  let nf = oldFlags & ~(FLAG_TF | FLAG_NT | FLAG_VM | FLAG_RF);
  if (isInterruptGate) nf &= ~FLAG_IF;
  cpu.setEflags(nf);
}
