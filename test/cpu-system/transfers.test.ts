// Far CALL/JMP/RET through call gates and task switches (JMP, CALL via task gate, IRET with
// NT, exceptions via task gates, 16-bit TSS), with busy bits and the back-link.
import { beforeEach, describe, expect, it } from 'vitest';

import { SEG_CS, SEG_DS, SEG_ES } from '../../core/cpu/system/constants.js';
import {
  CALLGATE_SEL, CODE0, CODE1, CODE16_0, CODE3, DATA0, DATA1, RING0_STACK, RING3_STACK, TASKB_STACK,
  TSSA_SEL, TSSB_SEL, TSSC_SEL, TSS_A, TSS_B, TSS_C, type Machine, code, enterRing3, gate,
  gdtAccess, newMachine, protectedMode, r32, runToHalt, setGdt, setIdt, tss32,
} from './harness.js';

const USER = 0x20000;
const HANDLER = 0x30000;
const EXIT = 0x30800; // ring-0 hlt reached through INT 0x41 (DPL 3 trap gate)

let m: Machine;
beforeEach(() => {
  m = newMachine();
  protectedMode(m, 0x31000);
  setIdt(m, 0x41, gate(CODE0, EXIT, 15, 3));
  setIdt(m, 13, gate(CODE0, HANDLER + 0x100, 14, 0));
  code(m, EXIT, [0xf4]);
  code(m, HANDLER + 0x100, [0x5f, 0xf4]); // #GP handler: pop edi (error code); hlt
});

describe('call gates', () => {
  it('CALL through a call gate to ring 0 copies parameters; RETF imm returns to ring 3', () => {
    setGdt(m, CALLGATE_SEL, gate(CODE0, HANDLER, 12, 3, 2)); // 32-bit call gate, 2 dword params
    code(m, HANDLER, [
      0x8b, 0x44, 0x24, 0x08, // mov eax, [esp+8]   ; first parameter slot (last pushed)
      0x8b, 0x4c, 0x24, 0x0c, // mov ecx, [esp+12]
      0x8b, 0x54, 0x24, 0x10, // mov edx, [esp+16]  ; caller's ESP
      0x8c, 0xd6, //             mov esi, ss
      0x89, 0xe5, //             mov ebp, esp
      0x8b, 0x7c, 0x24, 0x04, // mov edi, [esp+4]   ; caller's CS
      0xca, 0x08, 0x00, //       retf 8
    ]);
    code(m, USER, [
      0x68, 0xaa, 0xaa, 0x00, 0x00, //             push 0xaaaa
      0x68, 0xbb, 0xbb, 0x00, 0x00, //             push 0xbbbb
      0x9a, 0x00, 0x00, 0x00, 0x00, 0x3b, 0x00, // call 0x3b:0 (the gate, RPL 3)
      0x89, 0xc3, //                               mov ebx, eax
      0xcd, 0x41, //                               int 0x41 (exit)
    ]);
    enterRing3(m, USER);
    runToHalt(m);
    const { cpu } = m;
    expect(cpu.regs[3]).toBe(0xbbbb);
    expect(cpu.regs[1]).toBe(0xaaaa);
    expect(cpu.regs[2] >>> 0).toBe(RING3_STACK - 8);
    expect(cpu.regs[6]).toBe(DATA0);
    expect(cpu.regs[5] >>> 0).toBe(RING0_STACK - 24); // SS ESP p1 p2 CS EIP
    expect(cpu.regs[7]).toBe(CODE3);
    // In the exit handler: the frame shows CPL 3 resumed with both parameters popped.
    const esp = cpu.regs[4] >>> 0;
    expect(r32(m, esp + 4)).toBe(CODE3);
    expect(r32(m, esp + 12)).toBe(RING3_STACK);
  });

  it('a direct far CALL to more privileged non-conforming code raises #GP(selector)', () => {
    code(m, USER, [0x9a, 0x00, 0x00, 0x03, 0x00, 0x08, 0x00]); // call 0x08:0x30000
    enterRing3(m, USER);
    runToHalt(m);
    expect(m.cpu.regs[7]).toBe(CODE0);
    expect(r32(m, (m.cpu.regs[4] >>> 0))).toBe(USER);
  });

  it('a call gate with DPL < CPL raises #GP(gate selector)', () => {
    setGdt(m, CALLGATE_SEL, gate(CODE0, HANDLER, 12, 0));
    code(m, USER, [0x9a, 0x00, 0x00, 0x00, 0x00, 0x3b, 0x00]);
    enterRing3(m, USER);
    runToHalt(m);
    expect(m.cpu.regs[7]).toBe(CALLGATE_SEL);
  });

  it('RETF to an outer level nulls data segments the new CPL may not use', () => {
    code(m, 0x31000, [
      0x6a, 0x23, //                         push DATA3 (SS)
      0x68, 0x00, 0x80, 0x00, 0x00, //       push RING3_STACK
      0x6a, 0x1b, //                         push CODE3
      0x68, 0x00, 0x00, 0x02, 0x00, //       push USER
      0xcb, //                               retf
    ]);
    code(m, USER, [0xcd, 0x41]);
    runToHalt(m);
    const { cpu } = m;
    expect(cpu.segSel[SEG_DS]).toBe(0);
    expect(cpu.segSel[SEG_ES]).toBe(0);
    expect(r32(m, (cpu.regs[4] >>> 0) + 4)).toBe(CODE3);
    expect(r32(m, (cpu.regs[4] >>> 0) + 12)).toBe(RING3_STACK);
  });

  it('RETF to a stack whose DPL does not match the return CPL raises #GP(SS selector)', () => {
    code(m, 0x31000, [
      0x6a, 0x69, //                         push DATA1 (DPL 1) as SS for a ring-3 return
      0x68, 0x00, 0x80, 0x00, 0x00, //       push RING3_STACK
      0x6a, 0x1b, //                         push CODE3
      0x68, 0x00, 0x00, 0x02, 0x00, //       push USER
      0xcb, //                               retf
    ]);
    runToHalt(m);
    expect(m.cpu.regs[7]).toBe(DATA1 & 0xfffc);
    // Restartable: the #GP frame points at the RETF and CPL is still 0.
    expect(r32(m, m.cpu.regs[4] >>> 0)).toBe(0x31000 + 14);
    expect(m.cpu.cpl).toBe(0);
  });

  it('CALL to a ring-1 gate from ring 3 uses ESP1/SS1 from the TSS', () => {
    setGdt(m, CALLGATE_SEL, gate(CODE1, HANDLER, 12, 3));
    m.mem.write32(TSS_A + 0x0c, 0x7000); // ESP1
    m.mem.write32(TSS_A + 0x10, DATA1); // SS1
    code(m, HANDLER, [0x8c, 0xd0, 0x89, 0xe3, 0x8c, 0xc9, 0xeb, 0xfe]); // mov eax,ss; mov ebx,esp; mov ecx,cs; jmp $
    code(m, USER, [0x9a, 0x00, 0x00, 0x00, 0x00, 0x3b, 0x00]);
    enterRing3(m, USER);
    runToHalt(m, 20);
    expect(m.cpu.cpl).toBe(1);
    expect(m.cpu.regs[0] & 0xffff).toBe(DATA1);
    expect(m.cpu.regs[3]).toBe(0x7000 - 16);
    expect(m.cpu.regs[1] & 0xffff).toBe((CODE1 & 0xfffc) | 1);
  });
});

describe('IRET privilege rules', () => {
  it('IRET at CPL 3 cannot change IOPL, nor IF when CPL > IOPL', () => {
    code(m, USER, [
      0x68, 0x02, 0x32, 0x00, 0x00, // push 0x3202 (IOPL 3, IF)
      0x6a, 0x1b, //                   push CODE3
      0x68, 0x0d, 0x00, 0x02, 0x00, // push USER+13
      0xcf, //                         iretd
      0x9c, //                         pushfd
      0x58, //                         pop eax
      0xcd, 0x41, //                   int 0x41
    ]);
    enterRing3(m, USER, 0x2);
    runToHalt(m);
    expect(m.cpu.eip).toBe(EXIT + 1);
    expect(m.cpu.regs[0] & 0x3200).toBe(0);
  });

  it('IRET at CPL 0 loads IOPL and IF', () => {
    code(m, 0x31000, [
      0x68, 0x02, 0x32, 0x00, 0x00, // push 0x3202
      0x6a, 0x08, //                   push CODE0
      0x68, 0x0d, 0x10, 0x03, 0x00, // push 0x3100d
      0xcf, //                         iretd
      0xf4, //                         hlt
    ]);
    runToHalt(m);
    expect(m.cpu.eip).toBe(0x3100e);
    expect(m.cpu.getEflags() & 0x3200).toBe(0x3200);
  });

  it('JMP through a call gate to a non-conforming segment of another DPL raises #GP', () => {
    setGdt(m, CALLGATE_SEL, gate(CODE0, HANDLER, 12, 3));
    code(m, USER, [0xea, 0x00, 0x00, 0x00, 0x00, 0x3b, 0x00]); // jmp 0x3b:0
    enterRing3(m, USER);
    runToHalt(m);
    expect(m.cpu.regs[7]).toBe(CODE0);
  });
});

function setupTaskB(eip: number): void {
  tss32(m, TSS_B, { eip, eflags: 2, esp: TASKB_STACK, cs: CODE0, ss: DATA0, ds: DATA0, eax: 0xb0b0 });
}

describe('task switches', () => {
  it('CALL through a task gate nests (back-link, NT, both busy); IRET returns and frees the inner task', () => {
    setupTaskB(0x32000);
    code(m, 0x32000, [
      0xb8, 0x0b, 0x00, 0x00, 0x00, // mov eax, 0xb
      0xf4, //                         hlt
      0xcf, //                         iretd (NT=1: back to the caller task)
    ]);
    code(m, 0x31000, [
      0xb8, 0x0a, 0x00, 0x00, 0x00, //             mov eax, 0xa
      0x9a, 0x00, 0x00, 0x00, 0x00, 0x43, 0x00, // call TASKGATE_SEL|3:0
      0xf4, //                                     hlt
    ]);
    runToHalt(m);
    const { cpu } = m;
    expect(cpu.trSel).toBe(TSSB_SEL);
    expect(cpu.regs[0]).toBe(0xb);
    expect(cpu.regs[4]).toBe(TASKB_STACK);
    expect(cpu.getEflags() & 0x4000).toBe(0x4000); // NT
    expect(cpu.cr0 & 8).toBe(8); // TS
    expect(m.mem.read16(TSS_B)).toBe(TSSA_SEL); // back-link
    expect(gdtAccess(m, TSSA_SEL)).toBe(0x8b); // still busy (nested)
    expect(gdtAccess(m, TSSB_SEL)).toBe(0x8b);
    expect(r32(m, TSS_A + 0x20)).toBe(0x31000 + 12); // saved EIP: after the CALL
    expect(r32(m, TSS_A + 0x28)).toBe(0xa); // saved EAX

    cpu.halted = false;
    runToHalt(m);
    expect(cpu.trSel).toBe(TSSA_SEL);
    expect(cpu.eip).toBe(0x31000 + 13);
    expect(cpu.regs[0]).toBe(0xa);
    expect(gdtAccess(m, TSSB_SEL)).toBe(0x89); // freed by IRET
    expect(gdtAccess(m, TSSA_SEL)).toBe(0x8b);
    expect(r32(m, TSS_B + 0x20)).toBe(0x32000 + 7); // B saved after its IRET
    expect(r32(m, TSS_B + 0x24) & 0x4000).toBe(0); // NT cleared in B's saved image
  });

  it('JMP to a TSS frees the old task, marks the new busy and sets no back-link', () => {
    setupTaskB(0x32000);
    code(m, 0x32000, [0xf4]);
    code(m, 0x31000, [0xea, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00]); // jmp TSSB_SEL:0
    runToHalt(m);
    expect(m.cpu.trSel).toBe(TSSB_SEL);
    expect(gdtAccess(m, TSSA_SEL)).toBe(0x89);
    expect(gdtAccess(m, TSSB_SEL)).toBe(0x8b);
    expect(m.mem.read16(TSS_B)).toBe(0);
    expect(m.cpu.getEflags() & 0x4000).toBe(0);
  });

  it('JMP to a busy TSS raises #GP(selector) without switching', () => {
    code(m, 0x31000, [0xea, 0x00, 0x00, 0x00, 0x00, 0x28, 0x00]); // jmp TSSA_SEL:0 (ourselves, busy)
    runToHalt(m);
    expect(m.cpu.regs[7]).toBe(TSSA_SEL);
    expect(m.cpu.trSel).toBe(TSSA_SEL);
  });

  it('an exception through a task gate pushes its error code on the new task stack', () => {
    setupTaskB(0x32000);
    code(m, 0x32000, [0xf4]);
    setIdt(m, 13, gate(TSSB_SEL, 0, 5, 0));
    code(m, 0x31000, [0x8e, 0xd8]); // mov ds, ax (AX = 0x1234: beyond the GDT) -> #GP(0x1234)
    m.cpu.regs[0] = 0x1234;
    runToHalt(m);
    expect(m.cpu.trSel).toBe(TSSB_SEL);
    expect(m.cpu.regs[4]).toBe(TASKB_STACK - 4);
    expect(r32(m, TASKB_STACK - 4)).toBe(0x1234); // TI=1 (LDT) kept, RPL dropped
    expect(r32(m, TSS_A + 0x20)).toBe(0x31000); // the faulting instruction
    expect(m.mem.read16(TSS_B)).toBe(TSSA_SEL);
  });

  it('a 16-bit TSS loads a 16-bit task', () => {
    m.mem.write16(TSS_C + 0x0e, 0x3300); // IP
    m.mem.write16(TSS_C + 0x10, 0x0002); // FLAGS
    m.mem.write16(TSS_C + 0x12, 0x4321); // AX
    m.mem.write16(TSS_C + 0x1a, 0x6000); // SP
    m.mem.write16(TSS_C + 0x22, DATA0); // ES
    m.mem.write16(TSS_C + 0x24, CODE16_0); // CS
    m.mem.write16(TSS_C + 0x26, DATA0); // SS
    m.mem.write16(TSS_C + 0x28, DATA0); // DS
    code(m, 0x3300, [0xf4]);
    code(m, 0x31000, [0xea, 0x00, 0x00, 0x00, 0x00, 0x50, 0x00]); // jmp TSSC_SEL:0
    m.cpu.regs[0] = 0x12340000;
    runToHalt(m);
    expect(m.cpu.trSel).toBe(TSSC_SEL);
    expect(m.cpu.eip).toBe(0x3301);
    expect(m.cpu.regs[0] & 0xffff).toBe(0x4321);
    expect(m.cpu.code32).toBe(false);
    expect(m.cpu.segSel[SEG_CS]).toBe(CODE16_0);
    expect(gdtAccess(m, TSSC_SEL)).toBe(0x83);
  });

  it('a fault in the new task of an exception task gate is delivered in the new task', () => {
    // #GP -> task gate -> task B whose CS is data -> #TS(CS) raised in task B -> task gate -> C.
    tss32(m, TSS_B, { eip: 0x32000, eflags: 2, esp: TASKB_STACK, cs: DATA0, ss: DATA0, ds: DATA0 });
    setIdt(m, 13, gate(TSSB_SEL, 0, 5, 0));
    setIdt(m, 10, gate(TSSC_SEL, 0, 5, 0));
    m.mem.write16(TSS_C + 0x0e, 0x3300);
    m.mem.write16(TSS_C + 0x10, 0x0002);
    m.mem.write16(TSS_C + 0x1a, 0x6000);
    m.mem.write16(TSS_C + 0x24, CODE16_0);
    m.mem.write16(TSS_C + 0x26, DATA0);
    code(m, 0x3300, [0xf4]);
    code(m, 0x31000, [0x8e, 0xd8]); // mov ds, ax (AX = 0x1234) -> #GP(0x1234)
    m.cpu.regs[0] = 0x1234;
    runToHalt(m);
    expect(m.shutdowns).toBe(0);
    expect(m.cpu.trSel).toBe(TSSC_SEL);
    expect(m.mem.read16(TSS_C)).toBe(TSSB_SEL);
    expect(m.mem.read16(TSS_B)).toBe(TSSA_SEL);
    expect(m.mem.read16(0x6000 - 2)).toBe(DATA0 | 1); // EXT: raised while delivering #GP
    expect(r32(m, TSS_B + 0x20)).toBe(0x32000); // B saved at its first instruction
    expect(r32(m, TSS_A + 0x20)).toBe(0x31000); // A saved at the faulting MOV
  });

  it('the TSS T bit raises a debug trap before the new task runs', () => {
    setupTaskB(0x32000);
    m.mem.write16(TSS_B + 0x64, 1);
    code(m, 0x32000, [0xf4]);
    setIdt(m, 1, gate(CODE0, HANDLER + 0x200, 14, 0));
    code(m, HANDLER + 0x200, [0xf4]);
    code(m, 0x31000, [0xea, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00]);
    runToHalt(m);
    expect(m.cpu.eip).toBe(HANDLER + 0x201);
    expect(m.cpu.trSel).toBe(TSSB_SEL);
    expect(r32(m, m.cpu.regs[4] >>> 0)).toBe(0x32000); // returns to the task's first instruction
    expect(m.cpu.dr[6] & 0x8000).toBe(0x8000);
  });

  it('a task whose CS is not code faults #TS(CS) in the new task, delivered through a task gate', () => {
    tss32(m, TSS_B, { eip: 0x32000, eflags: 2, esp: TASKB_STACK, cs: DATA0, ss: DATA0, ds: DATA0 });
    // #TS handler: the 16-bit task in TSS_C (a task gate, as the SDM recommends for #TS).
    setIdt(m, 10, gate(TSSC_SEL, 0, 5, 0));
    m.mem.write16(TSS_C + 0x0e, 0x3300); // IP
    m.mem.write16(TSS_C + 0x10, 0x0002); // FLAGS
    m.mem.write16(TSS_C + 0x1a, 0x6000); // SP
    m.mem.write16(TSS_C + 0x24, CODE16_0); // CS
    m.mem.write16(TSS_C + 0x26, DATA0); // SS
    code(m, 0x3300, [0xf4]);
    code(m, 0x31000, [0xea, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00]); // jmp TSSB_SEL:0
    runToHalt(m);
    expect(m.shutdowns).toBe(0);
    expect(m.cpu.trSel).toBe(TSSC_SEL);
    expect(m.mem.read16(TSS_C)).toBe(TSSB_SEL); // back-link to the task that faulted
    expect(m.cpu.regs[4] & 0xffff).toBe(0x6000 - 2);
    expect(m.mem.read16(0x6000 - 2)).toBe(DATA0); // #TS error code: the bad CS selector
    expect(r32(m, TSS_B + 0x20)).toBe(0x32000); // task B saved at its first instruction
  });
});

void CODE3; void SEG_CS;
