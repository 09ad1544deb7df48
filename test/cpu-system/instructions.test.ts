// System instructions, segment loads, MSRs, CPUID, RDTSC and SYSENTER/SYSEXIT.
import { beforeEach, describe, expect, it } from 'vitest';

import { CpuFault } from '../../core/cpu/cpu.js';
import { SEG_CS, SEG_DS, SEG_SS } from '../../core/cpu/system/constants.js';
import { cpuid, lar, lsl, rdmsr, wrmsr } from '../../core/cpu/system/index.js';
import {
  CODE0, CODE3, CONFORMING, DATA0, DATA1, DATA3, GDT, LDT, LDT_SEL, NOTPRESENT_DATA, TSSA_SEL, TSSB_SEL,
  type Machine, code, gate, gdtAccess, newMachine, protectedMode, r32, runToHalt, seg, setIdt, put,
} from './harness.js';

const HANDLER = 0x30100; // #GP/#NP/#SS/#UD handler: pop edi (error code); hlt
const UD_HANDLER = 0x30200; // #UD: hlt
const START = 0x31000;

let m: Machine;
beforeEach(() => {
  m = newMachine();
  protectedMode(m, START);
  for (const v of [10, 11, 12, 13]) setIdt(m, v, gate(CODE0, HANDLER, 14, 0));
  setIdt(m, 6, gate(CODE0, UD_HANDLER, 14, 0));
  code(m, HANDLER, [0x5f, 0xf4]);
  code(m, UD_HANDLER, [0xf4]);
  m.cpu.regs[7] = -1;
});

function run(bytes: number[]): void {
  code(m, START, [...bytes, 0xf4]);
  runToHalt(m);
}

/** The vector that was delivered, judged by which handler halted. */
function faultedAt(): 'gp' | 'ud' | 'none' {
  if (m.cpu.eip === HANDLER + 2) return 'gp';
  if (m.cpu.eip === UD_HANDLER + 1) return 'ud';
  return 'none';
}

function expectFault(fn: () => void, vector: number, errorCode = -1): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CpuFault);
    expect((e as CpuFault).vector).toBe(vector);
    if (errorCode >= 0) expect((e as CpuFault).errorCode).toBe(errorCode);
    return;
  }
  throw new Error(`expected fault ${vector}`);
}

describe('segment register loads', () => {
  it('MOV SS rejects a stack with the wrong DPL, a null selector and not-present data', () => {
    m.cpu.regs[0] = DATA3;
    run([0x8e, 0xd0]); // mov ss, ax
    expect(m.cpu.regs[7]).toBe(DATA3 & 0xfffc);
    expect(r32(m, m.cpu.regs[4] >>> 0)).toBe(START);

    m = newMachine(); protectedMode(m, START); setIdt(m, 13, gate(CODE0, HANDLER, 14, 0)); code(m, HANDLER, [0x5f, 0xf4]);
    m.cpu.regs[0] = 0;
    run([0x8e, 0xd0]);
    expect(m.cpu.regs[7]).toBe(0);
  });

  it('MOV DS: not present raises #NP(selector); DPL < CPL raises #GP(selector); null is allowed', () => {
    setIdt(m, 11, gate(CODE0, HANDLER, 14, 0));
    m.cpu.regs[0] = NOTPRESENT_DATA;
    run([0x8e, 0xd8]);
    expect(m.cpu.regs[7]).toBe(NOTPRESENT_DATA);
    expect(m.cpu.segSel[SEG_DS]).toBe(DATA0); // unchanged

    m.cpu.halted = false;
    m.cpu.eip = START;
    m.cpu.regs[0] = 0;
    m.cpu.regs[7] = -1;
    run([0x8e, 0xd8]);
    expect(m.cpu.segSel[SEG_DS]).toBe(0);
    expect(m.cpu.regs[7]).toBe(-1);
  });

  it('loading a data segment sets its accessed bit in the GDT', () => {
    put(m, GDT + 0x80, seg(0x100000, 0xffff, 0x92, 0)); // accessed bit clear
    m.cpu.regs[0] = 0x80;
    run([0x8e, 0xd8]);
    expect(m.cpu.segBase[SEG_DS]).toBe(0x100000);
    expect(m.cpu.segLimit[SEG_DS]).toBe(0xffff);
    expect(m.mem.read8(GDT + 0x85)).toBe(0x93);
  });

  it('LLDT then a selector with TI=1 loads from the LDT', () => {
    put(m, LDT + 8, seg(0x12000, 0xfff, 0x93, 0));
    m.cpu.regs[0] = LDT_SEL;
    m.cpu.regs[3] = 0x0c; // LDT index 1, TI=1
    run([0x0f, 0x00, 0xd0, 0x8e, 0xdb]); // lldt ax; mov ds, bx
    expect(m.cpu.ldtrSel).toBe(LDT_SEL);
    expect(m.cpu.segBase[SEG_DS]).toBe(0x12000);
  });
});

describe('0F 00 / 0F 01 groups', () => {
  it('SGDT/SIDT store limit and base; LGDT/LIDT load them', () => {
    m.mem.write16(0x500, 0x1234);
    m.mem.write32(0x502, 0x00abcdef);
    run([
      0x0f, 0x01, 0x05, 0x00, 0x06, 0x00, 0x00, // sgdt [0x600]
      0x0f, 0x01, 0x0d, 0x10, 0x06, 0x00, 0x00, // sidt [0x610]
      0x0f, 0x01, 0x1d, 0x00, 0x05, 0x00, 0x00, // lidt [0x500]
    ]);
    expect(m.mem.read16(0x600)).toBe(0xff);
    expect(r32(m, 0x602)).toBe(GDT);
    expect(m.mem.read16(0x610)).toBe(0x7ff);
    expect(m.cpu.idtrLimit).toBe(0x1234);
    expect(m.cpu.idtrBase).toBe(0xabcdef);
  });

  it('LTR marks the TSS busy; loading a busy TSS raises #GP(selector)', () => {
    m.cpu.regs[0] = TSSB_SEL;
    run([0x0f, 0x00, 0xd8]); // ltr ax
    expect(m.cpu.trSel).toBe(TSSB_SEL);
    expect(gdtAccess(m, TSSB_SEL)).toBe(0x8b);
    m.cpu.halted = false;
    m.cpu.eip = START;
    run([0x0f, 0x00, 0xd8]); // again: now busy
    expect(m.cpu.regs[7]).toBe(TSSB_SEL);
  });

  it('LGDT at CPL 3 raises #GP(0); SLDT in real mode is #UD', () => {
    m.cpu.cpl = 3;
    m.cpu.setSegment(SEG_CS, CODE3, 0, -1, 0xc0fb);
    m.cpu.setSegment(SEG_SS, DATA3, 0, -1, 0xc0f3);
    m.cpu.updateModes();
    run([0x0f, 0x01, 0x15, 0x00, 0x05, 0x00, 0x00]);
    expect(faultedAt()).toBe('gp');
    expect(m.cpu.regs[7]).toBe(0);
  });

  it('SMSW, LMSW (cannot clear PE), CLTS, MOV CR0 checks', () => {
    m.cpu.cr0 |= 8; // TS
    run([
      0x0f, 0x01, 0xe0, //             smsw eax
      0x0f, 0x06, //                   clts
      0x66, 0xb9, 0x06, 0x00, //       mov cx, 6 (MP|EM, PE clear)
      0x0f, 0x01, 0xf1, //             lmsw cx
      0x0f, 0x20, 0xc2, //             mov edx, cr0
    ]);
    expect(m.cpu.regs[0] & 0xf).toBe(0x9); // PE|TS
    expect(m.cpu.regs[2] & 0xf).toBe(0x7); // PE kept, MP EM set, TS cleared
  });

  it('MOV CR0 with PG but not PE, and a reserved CR4 bit, raise #GP(0)', () => {
    m.cpu.regs[0] = 0x80000000 | 0;
    run([0x0f, 0x22, 0xc0]); // mov cr0, eax
    expect(faultedAt()).toBe('gp');
    m.cpu.halted = false;
    m.cpu.eip = START;
    m.cpu.regs[0] = 1 << 12;
    m.cpu.regs[7] = -1;
    run([0x0f, 0x22, 0xe0]); // mov cr4, eax
    expect(m.cpu.regs[7]).toBe(0);
  });
});

describe('LAR, LSL, VERR, VERW', () => {
  it('report rights and limits of visible descriptors and clear ZF otherwise', () => {
    const { cpu } = m;
    expect(lar(cpu, DATA0)).toBe(0x00c09300); // G D/B AVL + access byte; limit bits masked
    expect(cpu.getEflags() & 0x40).toBe(0x40);
    expect(lsl(cpu, DATA0)).toBe(0xffffffff);
    expect(lsl(cpu, TSSB_SEL)).toBe(0x67);
    expect(lar(cpu, 0)).toBe(-1);
    expect(cpu.getEflags() & 0x40).toBe(0);
    put(m, GDT + 0x80, gate(CODE0, 0, 14, 0)); // interrupt gate: LAR rejects it
    expect(lar(cpu, 0x80)).toBe(-1);
    // From CPL 3 a DPL 1 segment is invisible, a conforming one is visible.
    cpu.cpl = 3;
    expect(lar(cpu, DATA1)).toBe(-1);
    expect(lar(cpu, CONFORMING)).toBe(0x00c09f00);
  });

  it('VERR/VERW set ZF for readable / writable segments', () => {
    m.cpu.regs[0] = CODE0;
    m.cpu.regs[1] = DATA0;
    run([
      0x0f, 0x00, 0xe0, // verr ax (code, readable)
      0x9c, //             pushfd
      0x0f, 0x00, 0xe8, // verw ax (code: not writable)
      0x9c, //             pushfd
      0x0f, 0x00, 0xe9, // verw cx (data)
      0x9c, //             pushfd
    ]);
    const esp = m.cpu.regs[4] >>> 0;
    expect(r32(m, esp + 8) & 0x40).toBe(0x40);
    expect(r32(m, esp + 4) & 0x40).toBe(0);
    expect(r32(m, esp) & 0x40).toBe(0x40);
  });
});

describe('MSRs, CPUID, RDTSC, SYSENTER', () => {
  it('CPUID identifies a GenuineIntel family 6 model 5 with the P6 feature set', () => {
    const { cpu } = m;
    cpu.regs[0] = 0;
    cpuid(cpu);
    const vendor = [cpu.regs[3], cpu.regs[2], cpu.regs[1]]
      .map((v) => String.fromCharCode(v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >>> 24) & 0xff)).join('');
    expect(vendor).toBe('GenuineIntel');
    expect(cpu.regs[0]).toBe(2);
    cpu.regs[0] = 1;
    cpuid(cpu);
    expect(cpu.regs[0]).toBe(0x652);
    // FPU VME DE PSE TSC MSR PAE CX8 SEP MTRR PGE CMOV, no APIC/MMX without the platform flags
    expect(cpu.regs[2] >>> 0).toBe(0xb97f);
    (cpu as unknown as { hasApic: boolean }).hasApic = true;
    cpu.regs[0] = 1;
    cpuid(cpu);
    expect(cpu.regs[2] & 0x200).toBe(0x200);
    cpu.regs[0] = 2;
    cpuid(cpu);
    expect(cpu.regs[0]).toBe(0x03020101);
    expect(cpu.regs[2]).toBe(0x0c040843);
    cpu.regs[0] = 0x80000002 | 0;
    cpuid(cpu);
    const brand = String.fromCharCode(cpu.regs[0] & 0xff, (cpu.regs[0] >> 8) & 0xff, (cpu.regs[0] >> 16) & 0xff);
    expect(brand).toBe('Per');
  });

  it('TSC: WRMSR sets it, RDMSR and RDTSC read it back, it advances with executed instructions', () => {
    run([
      0xb9, 0x10, 0x00, 0x00, 0x00, // mov ecx, 0x10
      0xb8, 0x00, 0x00, 0x00, 0x10, // mov eax, 0x10000000
      0xba, 0x01, 0x00, 0x00, 0x00, // mov edx, 1
      0x0f, 0x30, //                   wrmsr
    ]);
    const { cpu } = m;
    cpu.halted = false;
    cpu.eip = START;
    run([0x90, 0x90, 0x90, 0x0f, 0x31]); // nops; rdtsc
    const t = (cpu.regs[2] >>> 0) * 2 ** 32 + (cpu.regs[0] >>> 0);
    expect(t).toBeGreaterThanOrEqual(0x110000000);
    expect(t).toBeLessThan(0x110000000 + 20);
    cpu.regs[1] = 0x10;
    rdmsr(cpu);
    const t2 = (cpu.regs[2] >>> 0) * 2 ** 32 + (cpu.regs[0] >>> 0);
    expect(t2).toBeGreaterThanOrEqual(t);
  });

  it('RDTSC with CR4.TSD at CPL 3 raises #GP(0)', () => {
    m.cpu.cr4 |= 4;
    m.cpu.cpl = 3;
    m.cpu.setSegment(SEG_CS, CODE3, 0, -1, 0xc0fb);
    m.cpu.setSegment(SEG_SS, DATA3, 0, -1, 0xc0f3);
    m.cpu.updateModes();
    run([0x0f, 0x31]);
    expect(faultedAt()).toBe('gp');
    expect(m.cpu.regs[7]).toBe(0);
  });

  it('MTRRs are stored; invalid types and unknown MSRs raise #GP(0); APIC base needs an APIC', () => {
    const { cpu } = m;
    cpu.regs[1] = 0x200; cpu.regs[0] = 0x00000006; cpu.regs[2] = 0;
    wrmsr(cpu);
    cpu.regs[1] = 0x201; cpu.regs[0] = 0xf8000800 | 0; cpu.regs[2] = 0xf;
    wrmsr(cpu);
    cpu.regs[0] = cpu.regs[2] = 0;
    rdmsr(cpu);
    expect(cpu.regs[0] >>> 0).toBe(0xf8000800);
    expect(cpu.regs[2]).toBe(0xf);
    cpu.regs[1] = 0xfe;
    rdmsr(cpu);
    expect(cpu.regs[0]).toBe(0x508);
    cpu.regs[1] = 0x200; cpu.regs[0] = 2; // type 2 is reserved
    expectFault(() => wrmsr(cpu), 13, 0);
    cpu.regs[1] = 0x1234;
    expectFault(() => rdmsr(cpu), 13, 0);
    // P6 performance counters: 40-bit storage.
    cpu.regs[1] = 0xc1; cpu.regs[0] = 0x12345678; cpu.regs[2] = 0x1ff;
    wrmsr(cpu);
    cpu.regs[0] = cpu.regs[2] = 0;
    rdmsr(cpu);
    expect(cpu.regs[0]).toBe(0x12345678);
    expect(cpu.regs[2]).toBe(0xff);
    cpu.regs[1] = 0x1b;
    expectFault(() => rdmsr(cpu), 13, 0);
    (cpu as unknown as { hasApic: boolean }).hasApic = true;
    let seen = -1;
    cpu.hooks.apicBaseChanged = (v) => { seen = v; };
    cpu.regs[0] = 0xfec00900 | 0; cpu.regs[2] = 0;
    wrmsr(cpu);
    expect(seen >>> 0).toBe(0xfec00900);
  });

  it('SYSENTER enters flat ring 0 from the MSRs; SYSEXIT returns to flat ring 3', () => {
    setIdt(m, 0x41, gate(CODE0, 0x30800, 14, 3));
    code(m, 0x30800, [0xf4]);
    code(m, 0x20000, [0x8c, 0xce, 0x0f, 0x34]); // mov esi, cs; sysenter
    code(m, 0x34000, [0x8c, 0xd7, 0xf4]); // mov edi, ss; hlt
    run([
      0xb9, 0x74, 0x01, 0x00, 0x00, 0xb8, 0x08, 0x00, 0x00, 0x00, 0x31, 0xd2, 0x0f, 0x30, // CS MSR = 8
      0xb9, 0x75, 0x01, 0x00, 0x00, 0xb8, 0x00, 0x70, 0x00, 0x00, 0x0f, 0x30, //             ESP = 0x7000
      0xb9, 0x76, 0x01, 0x00, 0x00, 0xb8, 0x00, 0x40, 0x03, 0x00, 0x0f, 0x30, //             EIP = 0x34000
      0xba, 0x00, 0x00, 0x02, 0x00, // mov edx, 0x20000 (SYSEXIT EIP)
      0xb9, 0x00, 0x60, 0x00, 0x00, // mov ecx, 0x6000  (SYSEXIT ESP)
      0x0f, 0x35, //                   sysexit
    ]);
    const { cpu } = m;
    expect(cpu.regs[6] & 0xffff).toBe(0x1b); // CS at ring 3 = (8 + 16) | 3
    expect(cpu.regs[7] & 0xffff).toBe(0x10); // SS at ring 0 = 8 + 8
    expect(cpu.eip).toBe(0x34003);
    expect(cpu.regs[4]).toBe(0x7000);
    expect(cpu.cpl).toBe(0);
    expect(cpu.segSel[SEG_CS]).toBe(CODE0);
  });
});

void TSSA_SEL; void DATA0; void SEG_SS;
