// A bare machine for the system-side tests: 2 MiB of RAM, an I/O bus and the CPU, plus
// builders for descriptors and a standard protected-mode layout (paging off, linear =
// physical). Test programs are hand-assembled bytes placed with `code()`.

import { IoBus } from '../../core/bus/io.js';
import { PhysicalMemory } from '../../core/bus/memory.js';
import { Cpu } from '../../core/cpu/cpu.js';
import { CR0_PE, SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS } from '../../core/cpu/system/constants.js';

export const GDT = 0x1000;
export const IDT = 0x2000;
export const TSS_A = 0x3000; // the task the tests start in (32-bit TSS with an I/O bitmap)
export const TSS_B = 0x6000; // a second 32-bit task
export const TSS_C = 0x6400; // a 16-bit task
export const LDT = 0x6800;
export const RING0_STACK = 0x9000; // ESP0 of TSS_A
export const RING3_STACK = 0x8000;
export const TASKB_STACK = 0xa000;
export const IO_BITMAP_OFFSET = 0x68;

// GDT selectors of the standard layout
export const CODE0 = 0x08;
export const DATA0 = 0x10;
export const CODE3 = 0x1b; // index 3, RPL 3
export const DATA3 = 0x23; // index 4, RPL 3
export const TSSA_SEL = 0x28;
export const TSSB_SEL = 0x30;
export const CALLGATE_SEL = 0x38; // DPL 3 call gate, set per test
export const TASKGATE_SEL = 0x40; // DPL 3 task gate to TSS_B
export const CODE16_0 = 0x48; // 16-bit ring-0 code, base 0
export const TSSC_SEL = 0x50; // 16-bit TSS
export const LDT_SEL = 0x58;
export const CONFORMING = 0x60; // conforming code, DPL 0
export const DATA1 = 0x69; // DPL 1 data (RPL 1)
export const CODE1 = 0x71; // DPL 1 code (RPL 1)
export const NOTPRESENT_DATA = 0x78; // DPL 0 data, P = 0

export interface Machine {
  mem: PhysicalMemory;
  io: IoBus;
  cpu: Cpu;
  shutdowns: number;
}

/** A code/data segment descriptor. access = P DPL S type byte, gran = G D/B L AVL nibble. */
export function seg(base: number, limit: number, access: number, gran = 0xc): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | (gran << 20) | (limit & 0xf0000) | (access << 8) | ((base >>> 16) & 0xff);
  return [lo | 0, hi | 0];
}

/** A gate descriptor (call/interrupt/trap/task). type 4/5/6/7/12/14/15. */
export function gate(selector: number, offset: number, type: number, dpl: number, params = 0): [number, number] {
  const lo = (selector << 16) | (offset & 0xffff);
  const hi = (offset & 0xffff0000) | 0x8000 | (dpl << 13) | (type << 8) | (params & 0x1f);
  return [lo | 0, hi | 0];
}

export function put(m: Machine, addr: number, d: [number, number]): void {
  m.mem.write32(addr, d[0]);
  m.mem.write32(addr + 4, d[1]);
}

export function setGdt(m: Machine, selector: number, d: [number, number]): void {
  put(m, GDT + (selector & ~7), d);
}

export function setIdt(m: Machine, vector: number, d: [number, number]): void {
  put(m, IDT + vector * 8, d);
}

export function code(m: Machine, addr: number, bytes: number[]): void {
  m.mem.writeBytes(addr, Uint8Array.from(bytes));
}

export function r32(m: Machine, addr: number): number {
  return m.mem.read32(addr) >>> 0;
}

export function r16(m: Machine, addr: number): number {
  return m.mem.read16(addr);
}

/** Access byte of a GDT descriptor as it is in memory now (busy/accessed bits). */
export function gdtAccess(m: Machine, selector: number): number {
  return m.mem.read8(GDT + (selector & ~7) + 5);
}

export function newMachine(): Machine {
  const mem = new PhysicalMemory(2 << 20);
  const io = new IoBus();
  const cpu = new Cpu(mem, io);
  const m: Machine = { mem, io, cpu, shutdowns: 0 };
  cpu.hooks = { shutdown: () => { m.shutdowns++; } };
  return m;
}

/** Fill a 32-bit TSS image: ring-0 stack, and for a runnable task the register image. */
export function tss32(m: Machine, base: number, init: {
  esp0?: number; ss0?: number; eip?: number; eflags?: number; esp?: number; cs?: number; ss?: number; ds?: number;
  eax?: number; ldt?: number; cr3?: number;
}): void {
  m.mem.write32(base + 4, init.esp0 ?? 0);
  m.mem.write32(base + 8, init.ss0 ?? 0);
  m.mem.write32(base + 0x1c, init.cr3 ?? 0);
  m.mem.write32(base + 0x20, init.eip ?? 0);
  m.mem.write32(base + 0x24, init.eflags ?? 2);
  m.mem.write32(base + 0x28, init.eax ?? 0);
  m.mem.write32(base + 0x38, init.esp ?? 0);
  m.mem.write16(base + 0x48, init.ds ?? 0); // ES
  m.mem.write16(base + 0x4c, init.cs ?? 0);
  m.mem.write16(base + 0x50, init.ss ?? 0);
  m.mem.write16(base + 0x54, init.ds ?? 0);
  m.mem.write16(base + 0x58, 0);
  m.mem.write16(base + 0x5c, 0);
  m.mem.write16(base + 0x60, init.ldt ?? 0);
  m.mem.write16(base + 0x66, IO_BITMAP_OFFSET);
}

/**
 * The standard protected-mode layout: flat ring-0 and ring-3 segments, TSS_A loaded in TR
 * (ESP0 = RING0_STACK, an I/O bitmap of 0x10000 bits, all ports denied), empty IDT with 256
 * entries, CPL 0 at `eip` with ESP = RING0_STACK - 0x100.
 */
export function protectedMode(m: Machine, eip: number): void {
  const { cpu } = m;
  setGdt(m, CODE0, seg(0, 0xfffff, 0x9b));
  setGdt(m, DATA0, seg(0, 0xfffff, 0x93));
  setGdt(m, CODE3, seg(0, 0xfffff, 0xfb));
  setGdt(m, DATA3, seg(0, 0xfffff, 0xf3));
  setGdt(m, TSSA_SEL, seg(TSS_A, IO_BITMAP_OFFSET + 0x2000, 0x89, 0)); // bitmap + terminator
  setGdt(m, TSSB_SEL, seg(TSS_B, 0x67, 0x89, 0));
  setGdt(m, TASKGATE_SEL, gate(TSSB_SEL, 0, 5, 3));
  setGdt(m, CODE16_0, seg(0, 0xffff, 0x9b, 0));
  setGdt(m, TSSC_SEL, seg(TSS_C, 0x2b, 0x81, 0));
  setGdt(m, LDT_SEL, seg(LDT, 0xff, 0x82, 0));
  setGdt(m, CONFORMING, seg(0, 0xfffff, 0x9f));
  setGdt(m, DATA1, seg(0, 0xfffff, 0xb3));
  setGdt(m, CODE1, seg(0, 0xfffff, 0xbb));
  setGdt(m, NOTPRESENT_DATA, seg(0, 0xfffff, 0x13));
  tss32(m, TSS_A, { esp0: RING0_STACK, ss0: DATA0 });
  for (let i = 0; i < 0x2000; i++) m.mem.write8(TSS_A + IO_BITMAP_OFFSET + i, 0xff);
  m.mem.write8(TSS_A + IO_BITMAP_OFFSET + 0x2000, 0xff);
  cpu.gdtrBase = GDT;
  cpu.gdtrLimit = 0xff;
  cpu.idtrBase = IDT;
  cpu.idtrLimit = 0x7ff;
  cpu.cr0 |= CR0_PE;
  cpu.cpl = 0;
  cpu.setSegment(SEG_CS, CODE0, 0, -1, 0xc09b);
  for (const s of [SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS]) cpu.setSegment(s, DATA0, 0, -1, 0xc093);
  cpu.trSel = TSSA_SEL;
  cpu.trBase = TSS_A;
  cpu.trLimit = IO_BITMAP_OFFSET + 0x2000;
  cpu.trFlags = 0x8b;
  m.mem.write8(GDT + (TSSA_SEL & ~7) + 5, 0x8b); // busy
  cpu.updateModes();
  cpu.regs[4] = RING0_STACK - 0x100;
  cpu.eip = eip;
  cpu.setEflags(2);
}

/** Switch the standard layout to CPL 3 at eip with ESP = RING3_STACK (flat ring-3 segments). */
export function enterRing3(m: Machine, eip: number, eflags = 0x202): void {
  const { cpu } = m;
  cpu.cpl = 3;
  cpu.setSegment(SEG_CS, CODE3, 0, -1, 0xc0fb);
  for (const s of [SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS]) cpu.setSegment(s, DATA3, 0, -1, 0xc0f3);
  cpu.regs[4] = RING3_STACK;
  cpu.eip = eip;
  cpu.setEflags(eflags);
  cpu.updateModes();
}

/** Run until HLT (or the budget runs out); returns the instructions executed. */
export function runToHalt(m: Machine, budget = 10_000): number {
  return m.cpu.run(budget);
}
