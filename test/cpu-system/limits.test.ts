// The CS limit on instruction fetch, and alignment checking (#AC) at CPL 3.
import { beforeEach, describe, expect, it } from 'vitest';

import { SEG_CS } from '../../core/cpu/system/constants.js';
import { CODE0, type Machine, code, enterRing3, gate, newMachine, protectedMode, r32, runToHalt, setIdt } from './harness.js';

const START = 0x31000;
const GP_HANDLER = 0x30100; // pop edi (error code); hlt
const AC_HANDLER = 0x30200; // pop edi (error code); mov esi, 17; hlt
const CR0_AM = 1 << 18, FLAG_AC = 1 << 18;

let m: Machine;
beforeEach(() => {
  m = newMachine();
  protectedMode(m, START);
  setIdt(m, 13, gate(CODE0, GP_HANDLER, 14, 0));
  setIdt(m, 17, gate(CODE0, AC_HANDLER, 14, 0));
  code(m, GP_HANDLER, [0x5f, 0xf4]);
  code(m, AC_HANDLER, [0x5f, 0xbe, 17, 0, 0, 0, 0xf4]);
  m.cpu.regs[7] = -1; // EDI: the error code once a handler ran
  m.cpu.regs[6] = 0; // ESI: 17 once the #AC handler ran
});

/** Give CS (ring 0, 32-bit, base 0) a byte-granular limit. */
function limitCs(limit: number): void {
  const { cpu } = m;
  cpu.setSegment(SEG_CS, CODE0, 0, limit, cpu.segFlags[SEG_CS] & ~0x8000);
}

/** The return EIP that the exception pushed (ESP points at it after the handler's pop). */
function faultEip(): number {
  return r32(m, m.cpu.regs[4] >>> 0);
}

describe('CS limit on instruction fetch', () => {
  it('runs up to the last byte inside the limit, then raises #GP(0) at the first byte past it', () => {
    code(m, START, [0x90, 0x90, 0x90, 0x90, 0x90, 0x90]);
    limitCs(START + 3);
    runToHalt(m);
    expect(m.cpu.eip).toBe(GP_HANDLER + 2);
    expect(m.cpu.regs[7]).toBe(0);
    expect(faultEip()).toBe(START + 4);
  });

  it('faults an instruction that straddles the limit before it changes anything', () => {
    code(m, START, [0x90, 0xb8, 0x44, 0x33, 0x22, 0x11]); // nop; mov eax, 0x11223344
    m.cpu.regs[0] = 7;
    limitCs(START + 4);
    runToHalt(m);
    expect(m.cpu.regs[7]).toBe(0);
    expect(faultEip()).toBe(START + 1);
    expect(m.cpu.regs[0]).toBe(7);
  });

  it('executes an instruction that ends exactly at the limit', () => {
    code(m, START, [0xb8, 0x44, 0x33, 0x22, 0x11, 0xf4]); // mov eax, 0x11223344; hlt
    limitCs(START + 5);
    runToHalt(m);
    expect(m.cpu.regs[0]).toBe(0x11223344);
    expect(m.cpu.eip).toBe(START + 6);
  });
});

describe('alignment check (#AC)', () => {
  const LOAD = [0x8b, 0x03, 0x90, 0x90]; // mov eax, [ebx]; nop; nop (then #GP on hlt at CPL 3)
  const STORE = [0x89, 0x03, 0x90, 0x90]; // mov [ebx], eax

  function ring3(bytes: number[], ebx: number, eflags: number): void {
    code(m, START, [...bytes, 0xf4]);
    m.cpu.cr0 |= CR0_AM;
    enterRing3(m, START, eflags);
    m.cpu.regs[3] = ebx;
    runToHalt(m);
  }

  it('raises #AC(0) for a misaligned dword load at CPL 3 with CR0.AM and EFLAGS.AC', () => {
    ring3(LOAD, 0x20001, 0x202 | FLAG_AC);
    expect(m.cpu.regs[6]).toBe(17);
    expect(m.cpu.regs[7]).toBe(0);
    expect(faultEip()).toBe(START);
  });

  it('raises #AC(0) for a misaligned store and leaves memory unchanged', () => {
    m.mem.write32(0x20002, 0x55667788);
    m.cpu.regs[0] = 0x11223344;
    ring3(STORE, 0x20002, 0x202 | FLAG_AC);
    expect(m.cpu.regs[6]).toBe(17);
    expect(r32(m, 0x20002)).toBe(0x55667788);
  });

  it('checks a misaligned word (push with a misaligned ESP)', () => {
    code(m, START, [0x66, 0x50, 0xf4]); // push ax
    m.cpu.cr0 |= CR0_AM;
    enterRing3(m, START, 0x202 | FLAG_AC);
    m.cpu.regs[4] = 0x8001;
    runToHalt(m);
    expect(m.cpu.regs[6]).toBe(17);
  });

  it('does not fault aligned accesses or with EFLAGS.AC clear', () => {
    ring3(LOAD, 0x20004, 0x202 | FLAG_AC); // aligned: runs on to the HLT, which #GPs at CPL 3
    expect(m.cpu.regs[6]).toBe(0);
    expect(faultEip()).toBe(START + 4);

    m = newMachine();
    protectedMode(m, START);
    setIdt(m, 13, gate(CODE0, GP_HANDLER, 14, 0));
    setIdt(m, 17, gate(CODE0, AC_HANDLER, 14, 0));
    code(m, GP_HANDLER, [0x5f, 0xf4]);
    code(m, AC_HANDLER, [0x5f, 0xbe, 17, 0, 0, 0, 0xf4]);
    ring3(LOAD, 0x20001, 0x202); // AC clear
    expect(m.cpu.regs[6]).toBe(0);
    expect(faultEip()).toBe(START + 4);
  });

  it('does not check at CPL 0', () => {
    code(m, START, [...LOAD, 0xf4]);
    m.cpu.cr0 |= CR0_AM;
    m.cpu.setEflags(0x202 | FLAG_AC);
    m.cpu.regs[3] = 0x20001;
    runToHalt(m);
    expect(m.cpu.regs[6]).toBe(0);
    expect(m.cpu.eip).toBe(START + 5);
  });
});

describe('null selector in a data segment register (protected mode)', () => {
  // The cache of a null register has limit 0, so only a byte at offset 0 is inside the limit:
  // these accesses fault only because the register is null.
  it('loads without a fault, and a byte access at offset 0 through it raises #GP(0)', () => {
    // xor eax, eax; mov ds, ax; mov cl, [ebx]
    code(m, START, [0x31, 0xc0, 0x8e, 0xd8, 0x8a, 0x0b, 0xf4]);
    m.cpu.regs[3] = 0;
    m.cpu.regs[1] = 5;
    runToHalt(m);
    expect(m.cpu.segSel[3]).toBe(0);
    expect(m.cpu.regs[7]).toBe(0);
    expect(faultEip()).toBe(START + 4);
    expect(m.cpu.regs[1]).toBe(5);
  });

  it('leaves the other segments usable (an SS-relative access and an ES override work)', () => {
    m.mem.write32(0x20000, 0x12345678);
    // xor eax, eax; mov ds, ax; mov ecx, es:[ebx]; mov edx, [ebp]; hlt
    code(m, START, [0x31, 0xc0, 0x8e, 0xd8, 0x26, 0x8b, 0x0b, 0x8b, 0x55, 0x00, 0xf4]);
    m.cpu.regs[3] = 0x20000;
    m.cpu.regs[5] = 0x20000;
    runToHalt(m);
    expect(m.cpu.regs[1]).toBe(0x12345678);
    expect(m.cpu.regs[2]).toBe(0x12345678);
    expect(m.cpu.eip).toBe(START + 11);
  });

  it('faults string instructions that use the null register', () => {
    // xor eax, eax; mov es, ax; stosb
    code(m, START, [0x31, 0xc0, 0x8e, 0xc0, 0xaa, 0xf4]);
    m.cpu.regs[7] = 0;
    m.cpu.regs[0] = 0x77;
    runToHalt(m);
    expect(faultEip()).toBe(START + 4);
    expect(m.mem.read8(0)).not.toBe(0x77);
  });
});
