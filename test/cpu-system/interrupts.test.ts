// Privilege transitions through interrupt and trap gates, the TSS stack switch, IRET back,
// gate DPL checks, #NP/#GP error codes, #DF escalation and triple fault. Programs run on the
// real interpreter.
import { beforeEach, describe, expect, it } from 'vitest';

import { SEG_CS, SEG_DS, SEG_SS } from '../../core/cpu/system/constants.js';
import {
  CODE0, CODE3, DATA0, DATA3, IDT, RING0_STACK, RING3_STACK, type Machine, code, enterRing3, gate, newMachine,
  protectedMode, r32, runToHalt, setIdt,
} from './harness.js';

const USER = 0x20000; // ring-3 code
const HANDLER = 0x30000; // ring-0 handlers

let m: Machine;
beforeEach(() => {
  m = newMachine();
  protectedMode(m, HANDLER);
});

describe('interrupt and trap gates', () => {
  it('INT n from CPL 3 switches to the TSS ring-0 stack and IRET returns to CPL 3', () => {
    // vector 0x40: 32-bit interrupt gate, DPL 3 -> CODE0:HANDLER
    setIdt(m, 0x40, gate(CODE0, HANDLER, 14, 3));
    // vector 0x41: "exit" trap gate, DPL 3 -> CODE0:HANDLER+0x10
    setIdt(m, 0x41, gate(CODE0, HANDLER + 0x10, 15, 3));
    code(m, HANDLER, [
      0x8b, 0x1c, 0x24, //   mov ebx, [esp]       ; return EIP from the frame
      0x89, 0xe1, //         mov ecx, esp
      0xcf, //               iretd
    ]);
    code(m, HANDLER + 0x10, [0xf4]); // hlt
    code(m, USER, [
      0xb8, 0x11, 0x11, 0x00, 0x00, // mov eax, 0x1111
      0xcd, 0x40, //                   int 0x40
      0xb8, 0x22, 0x22, 0x00, 0x00, // mov eax, 0x2222   (after IRET, still CPL 3)
      0xcd, 0x41, //                   int 0x41          (exit)
    ]);
    enterRing3(m, USER);
    runToHalt(m);
    const { cpu } = m;
    // The first frame: EIP SS ESP EFLAGS CS EIP on the ring-0 stack (5 dwords).
    expect(cpu.regs[1] >>> 0).toBe(RING0_STACK - 20);
    expect(cpu.regs[3] >>> 0).toBe(USER + 7);
    // Now inside the exit handler: ring 0, SS from TSS, ring-3 frame on top.
    expect(cpu.cpl).toBe(0);
    expect(cpu.segSel[SEG_CS]).toBe(CODE0);
    expect(cpu.segSel[SEG_SS]).toBe(DATA0);
    expect(cpu.regs[0]).toBe(0x2222);
    const esp = cpu.regs[4] >>> 0;
    expect(esp).toBe(RING0_STACK - 20);
    expect(r32(m, esp)).toBe(USER + 14); // EIP after int 0x41
    expect(r32(m, esp + 4)).toBe(CODE3);
    expect(r32(m, esp + 8) & 0x200).toBe(0x200); // IF was set at CPL 3
    expect(r32(m, esp + 12)).toBe(RING3_STACK); // ring-3 ESP unchanged by the round trip
    expect(r32(m, esp + 16)).toBe(DATA3);
    // Trap gate keeps IF; the interrupt gate (first INT) cleared it, IRET restored it.
    expect(cpu.getEflags() & 0x200).toBe(0x200);
  });

  it('an interrupt gate clears IF, a trap gate does not', () => {
    setIdt(m, 0x50, gate(CODE0, HANDLER, 14, 0));
    code(m, HANDLER, [0xf4]);
    code(m, 0x31000, [0xfb, 0xcd, 0x50]); // sti; int 0x50
    m.cpu.eip = 0x31000;
    runToHalt(m);
    expect(m.cpu.getEflags() & 0x200).toBe(0);
    // Same privilege: no stack switch, 3-dword frame on the current stack.
    expect(m.cpu.regs[4] >>> 0).toBe(RING0_STACK - 0x100 - 12);

    m = newMachine();
    protectedMode(m, 0x31000);
    setIdt(m, 0x50, gate(CODE0, HANDLER, 15, 0));
    code(m, HANDLER, [0xf4]);
    code(m, 0x31000, [0xfb, 0xcd, 0x50]);
    runToHalt(m);
    expect(m.cpu.getEflags() & 0x200).toBe(0x200);
  });

  it('INT n through a DPL 0 gate from CPL 3 raises #GP(vector*8+2)', () => {
    setIdt(m, 0x40, gate(CODE0, HANDLER + 0x20, 14, 0)); // DPL 0: not for INT n at CPL 3
    setIdt(m, 13, gate(CODE0, HANDLER, 14, 0));
    code(m, HANDLER, [0x58, 0xf4]); // pop eax (error code); hlt
    code(m, USER, [0xcd, 0x40]);
    enterRing3(m, USER);
    runToHalt(m);
    expect(m.cpu.regs[0]).toBe(0x40 * 8 + 2);
    // The fault frame points at the INT instruction (restartable).
    expect(r32(m, m.cpu.regs[4] >>> 0)).toBe(USER);
    expect(r32(m, (m.cpu.regs[4] >>> 0) + 4)).toBe(CODE3);
  });

  it('a not-present gate raises #NP with the IDT bit set', () => {
    setIdt(m, 0x40, [gate(CODE0, HANDLER, 14, 3)[0], gate(CODE0, HANDLER, 14, 3)[1] & ~0x8000]);
    setIdt(m, 11, gate(CODE0, HANDLER, 14, 0));
    code(m, HANDLER, [0x58, 0xf4]);
    code(m, USER, [0xcd, 0x40]);
    enterRing3(m, USER);
    runToHalt(m);
    expect(m.cpu.regs[0]).toBe(0x40 * 8 + 2);
  });

  it('exceptions from CPL 3 push an error code on the ring-0 stack and set EXT for #GP inside delivery', () => {
    // A user-mode privileged instruction (HLT) raises #GP(0).
    setIdt(m, 13, gate(CODE0, HANDLER, 14, 0));
    code(m, HANDLER, [0xf4]);
    code(m, USER, [0x90, 0xf4]); // nop; hlt (privileged)
    enterRing3(m, USER);
    runToHalt(m);
    const esp = m.cpu.regs[4] >>> 0;
    expect(esp).toBe(RING0_STACK - 24);
    expect(r32(m, esp)).toBe(0); // error code
    expect(r32(m, esp + 4)).toBe(USER + 1); // faulting HLT
    expect(r32(m, esp + 20)).toBe(DATA3);
  });

  it('a 16-bit interrupt gate pushes a 16-bit frame', () => {
    setIdt(m, 0x60, gate(CODE0, HANDLER, 6, 0));
    code(m, HANDLER, [0xf4]);
    code(m, 0x31000, [0xcd, 0x60]);
    m.cpu.eip = 0x31000;
    runToHalt(m);
    const esp = m.cpu.regs[4] >>> 0;
    expect(esp).toBe(RING0_STACK - 0x100 - 6);
    expect(m.mem.read16(esp)).toBe(0x1002);
    expect(m.mem.read16(esp + 2)).toBe(CODE0);
  });

  it('a bad TSS stack segment raises #TS with the SS selector (+EXT for exceptions)', () => {
    setIdt(m, 0x40, gate(CODE0, HANDLER + 0x20, 14, 3));
    // #TS handler runs at CPL 3 (no stack switch needed): pop eax; jmp $
    setIdt(m, 10, gate(CODE3, USER + 0x100, 14, 0));
    code(m, USER + 0x100, [0x58, 0xeb, 0xfe]);
    m.mem.write32(0x3000 + 8, DATA3); // SS0 = ring-3 data: RPL 3 != DPL 0 of the target
    code(m, USER, [0xcd, 0x40]);
    enterRing3(m, USER);
    runToHalt(m, 50);
    expect(m.cpu.eip).toBe(USER + 0x101);
    expect(m.cpu.regs[0]).toBe(DATA3 & 0xfffc); // INT n: EXT = 0
    expect(m.cpu.regs[4] >>> 0).toBe(RING3_STACK - 12); // frame + error code, popped
    expect(m.cpu.cpl).toBe(3);
  });

  it('when the #TS handler itself needs the broken stack the CPU escalates to #DF and shuts down', () => {
    setIdt(m, 0x40, gate(CODE0, HANDLER + 0x20, 14, 3));
    setIdt(m, 10, gate(CODE0, HANDLER, 14, 0));
    setIdt(m, 8, gate(CODE0, HANDLER, 14, 0));
    code(m, HANDLER, [0xf4]);
    m.mem.write32(0x3000 + 8, DATA3);
    code(m, USER, [0xcd, 0x40]);
    enterRing3(m, USER);
    runToHalt(m, 50);
    expect(m.shutdowns).toBe(1);
  });
});

describe('restartability', () => {
  it('a #PF on the new ring-0 stack leaves every register as it was', async () => {
    const { deliverInterrupt } = await import('../../core/cpu/system/index.js');
    const { CpuFault } = await import('../../core/cpu/cpu.js');
    // Identity-map 2 MiB with user pages, except the page holding the top of the ring-0 stack.
    const PD = 0x100000, PT = 0x101000;
    m.mem.write32(PD, PT | 7);
    for (let i = 0; i < 512; i++) m.mem.write32(PT + i * 4, i === 8 ? 0 : (i << 12) | 7);
    const { cpu } = m;
    cpu.cr3 = PD;
    cpu.cr0 |= 0x80000000;
    cpu.flushTlb(true);
    cpu.updateModes();
    setIdt(m, 0x40, gate(CODE0, HANDLER, 14, 3));
    enterRing3(m, USER);
    cpu.eip = USER + 2;
    const before = {
      regs: Array.from(cpu.regs), segSel: Array.from(cpu.segSel), segBase: Array.from(cpu.segBase),
      eflags: cpu.getEflags(), cpl: cpu.cpl, eip: cpu.eip,
    };
    let fault: InstanceType<typeof CpuFault> | null = null;
    try {
      deliverInterrupt(cpu, 0x40, 1, -1);
    } catch (e) {
      fault = e as InstanceType<typeof CpuFault>;
    }
    expect(fault).toBeInstanceOf(CpuFault);
    expect(fault!.vector).toBe(14);
    expect(fault!.errorCode).toBe(2); // supervisor write to a not-present page
    expect(cpu.cr2 >>> 0).toBe(RING0_STACK - 4);
    expect({
      regs: Array.from(cpu.regs), segSel: Array.from(cpu.segSel), segBase: Array.from(cpu.segBase),
      eflags: cpu.getEflags(), cpl: cpu.cpl, eip: cpu.eip,
    }).toEqual(before);
  });
});

describe('double and triple faults', () => {
  it('#GP while delivering #GP escalates to #DF with error code 0', () => {
    // #GP handler gate points at a null selector -> #GP(EXT) during delivery of #GP.
    setIdt(m, 13, gate(0, HANDLER, 14, 0));
    setIdt(m, 8, gate(CODE0, HANDLER, 14, 0));
    code(m, HANDLER, [0xf4]);
    code(m, 0x31000, [0x8e, 0xd8]); // mov ds, ax with AX = 0x1234 (beyond GDT limit) -> #GP
    m.cpu.regs[0] = 0x1234;
    m.cpu.eip = 0x31000;
    runToHalt(m);
    const esp = m.cpu.regs[4] >>> 0;
    expect(m.cpu.eip).toBe(HANDLER + 1);
    expect(r32(m, esp)).toBe(0); // #DF error code
    expect(r32(m, esp + 4)).toBe(0x31000);
    expect(m.shutdowns).toBe(0);
  });

  it('#PF-free benign exceptions are delivered serially (#NP for #UD handler is not a #DF)', () => {
    // #UD (benign) whose gate is not present -> #NP delivered normally.
    setIdt(m, 6, [gate(CODE0, HANDLER, 14, 0)[0], gate(CODE0, HANDLER, 14, 0)[1] & ~0x8000]);
    setIdt(m, 11, gate(CODE0, HANDLER, 14, 0));
    setIdt(m, 8, gate(CODE0, HANDLER + 0x10, 14, 0));
    code(m, HANDLER, [0x58, 0xf4]);
    code(m, HANDLER + 0x10, [0xf4]);
    code(m, 0x31000, [0x0f, 0x0b]); // ud2
    m.cpu.eip = 0x31000;
    runToHalt(m);
    expect(m.cpu.eip).toBe(HANDLER + 2);
    expect(m.cpu.regs[0]).toBe(6 * 8 + 2 + 1); // IDT bit + EXT
  });

  it('a fault while delivering #DF is a triple fault: shutdown', () => {
    m.cpu.idtrLimit = 0x2f; // vectors 0-5 only: #UD (6) is beyond the limit
    code(m, 0x31000, [0x0f, 0x0b]); // ud2 -> #GP(6*8+2+1) -> beyond limit -> #DF -> beyond -> shutdown
    m.cpu.eip = 0x31000;
    runToHalt(m, 100);
    expect(m.shutdowns).toBe(1);
    expect(m.cpu.halted).toBe(true);
  });
});

describe('real mode', () => {
  it('INT n pushes FLAGS CS IP and vectors through the IVT; IRET returns', () => {
    const mm = newMachine();
    const { cpu } = mm;
    // IVT entry 0x21 -> 0x0100:0x0010 (linear 0x1010)
    mm.mem.write16(0x21 * 4, 0x0010);
    mm.mem.write16(0x21 * 4 + 2, 0x0100);
    code(mm, 0x1010, [0xb8, 0x34, 0x12, 0xcf]); // mov ax, 0x1234; iret
    code(mm, 0x7c00, [0xfb, 0xcd, 0x21, 0xf4]); // sti; int 0x21; hlt
    cpu.loadSegmentReal(SEG_CS, 0);
    cpu.loadSegmentReal(SEG_SS, 0);
    cpu.loadSegmentReal(SEG_DS, 0);
    cpu.eip = 0x7c00;
    cpu.regs[4] = 0x7000;
    runToHalt(mm);
    expect(cpu.regs[0] & 0xffff).toBe(0x1234);
    expect(cpu.eip).toBe(0x7c04);
    expect(cpu.regs[4]).toBe(0x7000);
    expect(cpu.getEflags() & 0x200).toBe(0x200);
    expect(mm.mem.read16(0x7000 - 4)).toBe(0); // CS pushed
    expect(mm.mem.read16(0x7000 - 6)).toBe(0x7c03); // IP pushed
  });
});

void IDT;
