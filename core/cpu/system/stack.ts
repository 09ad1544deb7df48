// Building and reading stack frames for control transfers without touching architectural
// state: interrupts, call gates, far returns and IRET first write (or read) the whole frame
// through one of these, and only then commit CS, SS, ESP, EIP and EFLAGS. A fault half-way
// (#SS, #PF) therefore leaves the CPU as it was before the instruction.

import type { Cpu } from '../cpu.js';
import { EXC_SS, SF_DB } from './constants.js';
import { withinLimit } from './descriptors.js';

export class StackFrame {
  base = 0;
  limit = 0;
  flags = 0;
  /** Stack pointer as it moves (only the low 16 bits count on a 16-bit stack). */
  esp = 0;
  /** ESP the frame started from (keeps the high half for 16-bit stacks). */
  startEsp = 0;
  is32 = false;
  /** Write with supervisor privilege (new stack of an inner level) instead of the current CPL. */
  supervisor = false;
  /** Error code of the #SS raised when the frame does not fit. */
  errorCode = 0;

  /** Start a frame on the stack described by base/limit/flags at `esp`. */
  open(base: number, limit: number, flags: number, esp: number, supervisor: boolean, errorCode: number): this {
    this.base = base;
    this.limit = limit;
    this.flags = flags;
    this.is32 = (flags & SF_DB) !== 0;
    this.esp = esp;
    this.startEsp = esp;
    this.supervisor = supervisor;
    this.errorCode = errorCode;
    return this;
  }

  /** The frame on the current SS:ESP. */
  openCurrent(cpu: Cpu, errorCode: number): this {
    this.open(cpu.segBase[2], cpu.segLimit[2], cpu.segFlags[2], cpu.regs[4], false, errorCode);
    // Real and v86 mode stacks are 16-bit whatever the cached B bit says.
    this.is32 = cpu.stack32;
    return this;
  }

  private next(cpu: Cpu, delta: number, size: number): number {
    const sp = this.is32 ? (this.esp + delta) | 0 : (this.esp + delta) & 0xffff;
    if (!withinLimit(this.limit, this.flags, sp, size)) cpu.fault(EXC_SS, this.errorCode);
    return sp;
  }

  push16(cpu: Cpu, value: number): void {
    const sp = this.next(cpu, -2, 2);
    const lin = (this.base + sp) | 0;
    if (this.supervisor) cpu.writeSystem16(lin, value & 0xffff);
    else cpu.writeLinear16(lin, value & 0xffff);
    this.esp = sp;
  }

  push32(cpu: Cpu, value: number): void {
    const sp = this.next(cpu, -4, 4);
    const lin = (this.base + sp) | 0;
    if (this.supervisor) cpu.writeSystem32(lin, value);
    else cpu.writeLinear32(lin, value);
    this.esp = sp;
  }

  push(cpu: Cpu, value: number, size32: boolean): void {
    if (size32) this.push32(cpu, value);
    else this.push16(cpu, value);
  }

  pop16(cpu: Cpu): number {
    const sp = this.next(cpu, 0, 2);
    const v = cpu.readLinear16((this.base + sp) | 0);
    this.esp = this.is32 ? (sp + 2) | 0 : (sp + 2) & 0xffff;
    return v;
  }

  pop32(cpu: Cpu): number {
    const sp = this.next(cpu, 0, 4);
    const v = cpu.readLinear32((this.base + sp) | 0);
    this.esp = this.is32 ? (sp + 4) | 0 : (sp + 4) & 0xffff;
    return v;
  }

  pop(cpu: Cpu, size32: boolean): number {
    return size32 ? this.pop32(cpu) : this.pop16(cpu);
  }

  /** Discard `bytes` (RET imm16). */
  skip(bytes: number): void {
    this.esp = this.is32 ? (this.esp + bytes) | 0 : (this.esp + bytes) & 0xffff;
  }

  /** The ESP register value to commit: a 16-bit stack only changes SP. */
  finalEsp(): number {
    return this.is32 ? this.esp : (this.startEsp & ~0xffff) | (this.esp & 0xffff);
  }
}
