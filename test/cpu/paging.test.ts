// Directed paging tests: hand-assembled 32-bit programs run on the interpreter with page tables
// built in physical memory. A #PF goes through a real IDT interrupt gate to a HLT handler, so
// CR2, the pushed error code and the pushed EIP (the faulting instruction) are all checked.
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../core/bus/io.js';
import { PhysicalMemory } from '../../core/bus/memory.js';
import { Cpu, CpuFault } from '../../core/cpu/cpu.js';
import { movToCr } from '../../core/cpu/sysops.js';
import { enterFlatProtectedMode, writeFlatGdt } from './flat-pm.js';

const GDT = 0x1000, IDT = 0x2000, PF_HANDLER = 0x3000, CODE = 0x4000, STACK_TOP = 0x9000;
const PD = 0x10000, PT = 0x11000, PDPT = 0x12000, PAE_PD = 0x13000, PAE_PT = 0x14000;
const P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80, G = 0x100;

function w32(m: PhysicalMemory, a: number, v: number): void {
  m.write32(a, v);
}

function machine(): { cpu: Cpu; mem: PhysicalMemory } {
  const mem = new PhysicalMemory(8 << 20);
  const cpu = new Cpu(mem, new IoBus());
  writeFlatGdt(mem, GDT);
  // IDT entry 14: 32-bit interrupt gate to 0x08:PF_HANDLER
  w32(mem, IDT + 14 * 8, (8 << 16) | (PF_HANDLER & 0xffff));
  w32(mem, IDT + 14 * 8 + 4, (PF_HANDLER & 0xffff0000) | 0x8e00);
  mem.write8(PF_HANDLER, 0xf4); // HLT
  enterFlatProtectedMode(cpu, GDT, IDT, 0x7ff);
  cpu.updateModes();
  cpu.regs[4] = STACK_TOP;
  cpu.eip = CODE;
  // Page directory: first 4 MiB identity mapped through PT with 4 KiB pages (supervisor, RW).
  w32(mem, PD, PT | P | RW | US);
  for (let i = 0; i < 1024; i++) w32(mem, PT + i * 4, (i << 12) | P | RW);
  return { cpu, mem };
}

function enablePaging(cpu: Cpu, cr4 = 0, cr3 = PD): void {
  movToCr(cpu, 4, cr4);
  movToCr(cpu, 3, cr3);
  movToCr(cpu, 0, cpu.cr0 | 0x80000000);
}

function load(mem: PhysicalMemory, code: number[]): void {
  mem.writeBytes(CODE, new Uint8Array(code));
}

const le = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
const movEaxFrom = (addr: number): number[] => [0xa1, ...le(addr)];
const movEaxTo = (addr: number): number[] => [0xa3, ...le(addr)];
const HLT = 0xf4;

/** Run until HLT; returns where the CPU halted. */
function runToHalt(cpu: Cpu): number {
  cpu.run(10_000);
  expect(cpu.halted).toBe(true);
  return cpu.eip;
}

function pfFrame(cpu: Cpu, mem: PhysicalMemory): { code: number; eip: number } {
  const esp = cpu.regs[4];
  return { code: mem.read32(esp), eip: mem.read32(esp + 4) };
}

describe('paging', () => {
  it('raises #PF for a not-present page with CR2, error code 0 and the faulting EIP', () => {
    const { cpu, mem } = machine();
    load(mem, [0x90, ...movEaxFrom(0x00500123), HLT]);
    enablePaging(cpu);
    expect(runToHalt(cpu)).toBe(PF_HANDLER + 1);
    expect(cpu.cr2 >>> 0).toBe(0x00500123);
    expect(pfFrame(cpu, mem)).toEqual({ code: 0, eip: CODE + 1 });
  });

  it('translates 4 KiB pages and sets accessed and dirty bits', () => {
    const { cpu, mem } = machine();
    w32(mem, PT + 0x200 * 4, 0x00300000 | P | RW); // linear 0x200000 -> phys 0x300000
    mem.write32(0x300010, 0x12345678);
    load(mem, [...movEaxFrom(0x200010), 0x40, ...movEaxTo(0x200014), HLT]);
    enablePaging(cpu);
    expect(runToHalt(cpu)).toBe(CODE + 11 + 1);
    expect(cpu.regs[0]).toBe(0x12345679);
    expect(mem.read32(0x300014)).toBe(0x12345679);
    expect(mem.read32(PT + 0x200 * 4) & (A | D)).toBe(A | D);
    expect(mem.read32(PD) & A).toBe(A);
    // A page that was only read is accessed, not dirty.
    expect(mem.read32(PT + 4 * (CODE >> 12)) & (A | D)).toBe(A);
  });

  it('honours CR0.WP for supervisor writes to read-only pages', () => {
    for (const wp of [false, true]) {
      const { cpu, mem } = machine();
      w32(mem, PT + 0x200 * 4, 0x00300000 | P); // read-only
      load(mem, [0xb8, ...le(0xcafe), ...movEaxTo(0x200008), HLT]);
      if (wp) cpu.cr0 |= 0x10000;
      enablePaging(cpu);
      const at = runToHalt(cpu);
      if (wp) {
        expect(at).toBe(PF_HANDLER + 1);
        expect(cpu.cr2 >>> 0).toBe(0x200008);
        expect(pfFrame(cpu, mem)).toEqual({ code: 3, eip: CODE + 5 });
        expect(mem.read32(0x300008)).toBe(0);
      } else {
        expect(at).toBe(CODE + 11);
        expect(mem.read32(0x300008)).toBe(0xcafe);
      }
    }
  });

  it('checks U/S and R/W for CPL 3 accesses (error code bit 2)', () => {
    const { cpu } = machine();
    enablePaging(cpu);
    cpu.cpl = 3;
    cpu.updateModes();
    let fault: unknown = null;
    try {
      cpu.readLinear32(0x5000);
    } catch (e) {
      fault = e;
    }
    expect(fault).toBeInstanceOf(CpuFault);
    expect((fault as CpuFault).vector).toBe(14);
    expect((fault as CpuFault).errorCode).toBe(5); // present, read, user
    expect(cpu.cr2).toBe(0x5000);
    // Supervisor accesses (descriptor tables) are still allowed at CPL 3.
    expect(() => cpu.readSystem32(0x5000)).not.toThrow();
  });

  it('maps 4 MiB pages with CR4.PSE', () => {
    const { cpu, mem } = machine();
    w32(mem, PD + 2 * 4, 0x00400000 | P | RW | PS); // linear 0x800000 -> phys 0x400000
    mem.write32(0x401234, 0xdeadbeef);
    load(mem, [...movEaxFrom(0x801234), ...movEaxTo(0x801238), HLT]);
    enablePaging(cpu, 0x10);
    runToHalt(cpu);
    expect(cpu.regs[0] >>> 0).toBe(0xdeadbeef);
    expect(mem.read32(0x401238) >>> 0).toBe(0xdeadbeef);
    expect(mem.read32(PD + 8) & (A | D)).toBe(A | D);
  });

  it('ignores PS without CR4.PSE (the PDE points to a page table)', () => {
    const { cpu, mem } = machine();
    // PDE 2 has PS set but also points at PT: without PSE it is a page-table pointer.
    w32(mem, PD + 2 * 4, PT | P | RW | PS);
    mem.write32(0x1234, 0x55aa55aa);
    load(mem, [...movEaxFrom(0x801234), HLT]);
    enablePaging(cpu, 0);
    runToHalt(cpu);
    expect(cpu.regs[0]).toBe(0x55aa55aa); // PT entry 1 maps phys 0x1000
  });

  it('keeps global pages across CR3 reloads and drops them on INVLPG', () => {
    const { cpu, mem } = machine();
    w32(mem, PT + 0x200 * 4, 0x00300000 | P | RW | G);
    w32(mem, PT + 0x201 * 4, 0x00310000 | P | RW);
    mem.write32(0x300000, 1);
    mem.write32(0x310000, 2);
    mem.write32(0x320000, 3);
    enablePaging(cpu, 0x80); // PGE
    expect(cpu.readLinear32(0x200000)).toBe(1);
    expect(cpu.readLinear32(0x201000)).toBe(2);
    // Remap both to 0x320000 in memory, then reload CR3.
    w32(mem, PT + 0x200 * 4, 0x00320000 | P | RW | G);
    w32(mem, PT + 0x201 * 4, 0x00320000 | P | RW);
    movToCr(cpu, 3, PD);
    expect(cpu.readLinear32(0x200000)).toBe(1); // global: stale translation kept
    expect(cpu.readLinear32(0x201000)).toBe(3); // non-global: re-walked
    cpu.invalidatePage(0x200000);
    expect(cpu.readLinear32(0x200000)).toBe(3);
  });

  it('translates through PAE tables (4 KiB and 2 MiB pages) and faults on a missing PDPTE', () => {
    const { cpu, mem } = machine();
    // PDPT[0] -> PAE_PD; PD[0] -> PAE_PT (identity 0-2 MiB), PD[1]: 2 MiB page -> phys 0x600000
    w32(mem, PDPT, PAE_PD | P); w32(mem, PDPT + 4, 0);
    w32(mem, PAE_PD, PAE_PT | P | RW); w32(mem, PAE_PD + 4, 0);
    w32(mem, PAE_PD + 8, 0x00600000 | P | RW | PS); w32(mem, PAE_PD + 12, 0);
    for (let i = 0; i < 512; i++) { w32(mem, PAE_PT + i * 8, (i << 12) | P | RW); w32(mem, PAE_PT + i * 8 + 4, 0); }
    mem.write32(0x600abc, 0x0badf00d);
    load(mem, [...movEaxFrom(0x200abc), ...movEaxFrom(0x40000000), HLT]);
    enablePaging(cpu, 0x20, PDPT);
    expect(runToHalt(cpu)).toBe(PF_HANDLER + 1);
    expect(cpu.regs[0]).toBe(0x0badf00d);
    expect(cpu.cr2 >>> 0).toBe(0x40000000);
    expect(pfFrame(cpu, mem)).toEqual({ code: 0, eip: CODE + 5 });
  });

  it('handles an access that straddles two pages and faults before writing either', () => {
    const { cpu, mem } = machine();
    w32(mem, PT + 0x201 * 4, 0); // page 0x201000 not present
    load(mem, [0xb8, ...le(0x11223344), ...movEaxTo(0x200ffe), HLT]);
    enablePaging(cpu);
    expect(runToHalt(cpu)).toBe(PF_HANDLER + 1);
    expect(cpu.cr2 >>> 0).toBe(0x201000);
    expect(pfFrame(cpu, mem)).toEqual({ code: 2, eip: CODE + 5 });
    expect(mem.read16(0x200ffe)).toBe(0); // nothing written on the present page
  });
});
