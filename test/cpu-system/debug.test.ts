// Debug-register instruction breakpoints (DR0-DR3 with R/W = 00 in DR7) and the resume flag.
import { beforeEach, describe, expect, it } from 'vitest';

import { movToDr } from '../../core/cpu/system/index.js';
import { CODE0, type Machine, code, gate, newMachine, protectedMode, r32, runToHalt, setIdt } from './harness.js';

const START = 0x31000;
const DB_HANDLER = 0x30300;
const GP_HANDLER = 0x30100; // pop edi (error code); hlt
const SEEN = 0x20000; // the #DB handler stores the return EIP here
const RF = 1 << 16;

/**
 * #DB handler: count the hits in ESI, store the return EIP, and (when EBP is non-zero) set RF
 * in the EFLAGS image so the breakpointed instruction runs after IRET; else stop with HLT.
 */
const DB_CODE = [
  0x46, //                                     inc esi
  0x8b, 0x04, 0x24, //                         mov eax, [esp]
  0xa3, ...[SEEN & 0xff, (SEEN >> 8) & 0xff, SEEN >>> 16, 0], // mov [SEEN], eax
  0x85, 0xed, //                               test ebp, ebp
  0x75, 0x01, //                               jnz +1
  0xf4, //                                     hlt
  0x81, 0x4c, 0x24, 0x08, 0x00, 0x00, 0x01, 0x00, // or dword [esp+8], RF
  0xcf, //                                     iret
];

let m: Machine;
beforeEach(() => {
  m = newMachine();
  protectedMode(m, START);
  setIdt(m, 1, gate(CODE0, DB_HANDLER, 14, 0));
  setIdt(m, 13, gate(CODE0, GP_HANDLER, 14, 0));
  code(m, DB_HANDLER, DB_CODE);
  code(m, GP_HANDLER, [0x5f, 0xf4]);
  code(m, START, [0x90, 0x90, 0x43, 0x43, 0xf4]); // nop; nop; inc ebx; inc ebx; hlt
  m.cpu.regs[6] = 0;
  m.cpu.regs[3] = 0;
});

describe('instruction breakpoints', () => {
  it('raise #DB before the instruction at DR0, with B0 in DR6 and its address as return EIP', () => {
    movToDr(m.cpu, 0, START + 2);
    movToDr(m.cpu, 7, 0x1); // L0, R/W0 = 00 (execute), LEN0 = 00
    m.cpu.regs[5] = 0; // stop in the handler
    runToHalt(m);
    expect(m.cpu.regs[6]).toBe(1);
    expect(r32(m, SEEN)).toBe(START + 2);
    expect(m.cpu.regs[3]).toBe(0); // inc ebx did not run
    expect(m.cpu.dr[6] & 0xf).toBe(1);
  });

  it('run the instruction once after the handler sets RF in the EFLAGS image', () => {
    movToDr(m.cpu, 3, START + 3);
    movToDr(m.cpu, 7, 0x80); // G3
    m.cpu.regs[5] = 1; // resume with RF
    runToHalt(m);
    expect(m.cpu.regs[6]).toBe(1); // one hit, no loop
    expect(m.cpu.regs[3]).toBe(2); // both INCs ran
    expect(m.cpu.eip).toBe(START + 5);
    expect(m.cpu.dr[6] & 0xf).toBe(8);
    expect(m.cpu.eflags & RF).toBe(0); // RF lasted one instruction
  });

  it('do not fire when disabled in DR7 or set up as data breakpoints', () => {
    movToDr(m.cpu, 0, START + 2);
    movToDr(m.cpu, 1, START + 3);
    movToDr(m.cpu, 7, 0x4 | (1 << 20)); // L1 with R/W1 = 01 (data write); DR0 not enabled
    runToHalt(m);
    expect(m.cpu.regs[6]).toBe(0);
    expect(m.cpu.regs[3]).toBe(2);
  });
});

describe('resume flag on faults', () => {
  it('is 1 in the EFLAGS image of a fault and 0 in EFLAGS afterwards', () => {
    // mov ax, 0x7ff8 (a selector far past the GDT limit); mov ds, ax: #GP(sel)
    code(m, START, [0x66, 0xb8, 0xf8, 0x7f, 0x8e, 0xd8, 0xf4]);
    runToHalt(m);
    expect(m.cpu.eip).toBe(GP_HANDLER + 2);
    const esp = m.cpu.regs[4] >>> 0;
    expect(r32(m, esp)).toBe(START + 4); // return EIP
    expect(r32(m, esp + 8) & RF).toBe(RF);
    expect(m.cpu.eflags & RF).toBe(0);
  });
});
