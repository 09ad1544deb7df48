// Virtual-8086 mode (entry by IRETD, IOPL-sensitive instructions, interrupts to ring 0 with
// the data segments saved and nulled, VME redirection) and the TSS I/O permission bitmap.
import { beforeEach, describe, expect, it } from 'vitest';

import { CpuFault } from '../../core/cpu/cpu.js';
import { SEG_DS, SEG_ES, SEG_SS } from '../../core/cpu/system/constants.js';
import { virtualCli, virtualPopf, virtualPushf, virtualSti } from '../../core/cpu/system/index.js';
import {
  CODE0, DATA0, IO_BITMAP_OFFSET, RING0_STACK, TSS_A, type Machine, code, enterRing3, gate, newMachine,
  protectedMode, r32, runToHalt, setIdt,
} from './harness.js';

const HANDLER = 0x30100; // ring-0 #GP handler: pop edi; hlt
const EXIT = 0x30800; // ring-0 hlt through INT 0x41
const V86_CS = 0x2000; // v86 code at linear 0x20000
const V86_SS = 0x0700; // v86 stack at linear 0x7000..0x7fff

let m: Machine;
beforeEach(() => {
  m = newMachine();
  protectedMode(m, 0x31000);
  setIdt(m, 13, gate(CODE0, HANDLER, 14, 0));
  setIdt(m, 0x41, gate(CODE0, EXIT, 14, 3));
  setIdt(m, 3, gate(CODE0, EXIT, 14, 3));
  code(m, HANDLER, [0x5f, 0xf4]);
  code(m, EXIT, [0xf4]);
});

/** From ring 0, IRETD into v86 mode at V86_CS:0 with the given IOPL. */
function enterV86(iopl: number, v86Code: number[], dataSel = 0x1111): void {
  const frame = RING0_STACK - 0x100 - 36;
  const values = [0, V86_CS, 0x20002 | (iopl << 12), 0x1000, V86_SS, dataSel, dataSel + 1, dataSel + 2, dataSel + 3];
  values.forEach((v, i) => m.mem.write32(frame + i * 4, v));
  m.cpu.regs[4] = frame;
  code(m, 0x31000, [0xcf]); // iretd
  code(m, V86_CS << 4, v86Code);
}

describe('virtual-8086 mode', () => {
  it('IRETD with VM=1 enters v86 with real-mode style segments', () => {
    enterV86(0, [0xeb, 0xfe]); // jmp $
    m.cpu.run(3);
    const { cpu } = m;
    expect(cpu.v86).toBe(true);
    expect(cpu.cpl).toBe(3);
    expect(cpu.segBase[1]).toBe(V86_CS << 4);
    expect(cpu.segSel[SEG_DS]).toBe(0x1112);
    expect(cpu.segBase[SEG_DS]).toBe(0x11120);
    expect(cpu.segLimit[SEG_SS]).toBe(0xffff);
    expect(cpu.regs[4]).toBe(0x1000);
  });

  const sensitive: [string, number[]][] = [
    ['CLI', [0xfa]],
    ['STI', [0xfb]],
    ['PUSHF', [0x9c]],
    ['POPF', [0x9d]],
    ['INT n', [0xcd, 0x21]],
    ['IRET', [0xcf]],
  ];
  for (const [name, bytes] of sensitive) {
    it(`${name} at IOPL 0 raises #GP(0) to the ring-0 handler with the v86 frame`, () => {
      enterV86(0, [0x90, ...bytes]); // nop first, so EIP 1 is the faulting instruction
      runToHalt(m);
      const { cpu } = m;
      expect(cpu.eip).toBe(HANDLER + 2);
      expect(cpu.regs[7]).toBe(0); // error code
      const esp = cpu.regs[4] >>> 0;
      expect(esp).toBe(RING0_STACK - 36);
      expect(r32(m, esp)).toBe(1); // EIP of the sensitive instruction
      expect(r32(m, esp + 4)).toBe(V86_CS);
      expect(r32(m, esp + 8) & 0x20000).toBe(0x20000); // VM in the EFLAGS image
      expect(r32(m, esp + 12)).toBe(0x1000);
      expect(r32(m, esp + 16)).toBe(V86_SS);
      expect(r32(m, esp + 20)).toBe(0x1111); // ES
      expect(r32(m, esp + 24)).toBe(0x1112); // DS
      expect(r32(m, esp + 28)).toBe(0x1113); // FS
      expect(r32(m, esp + 32)).toBe(0x1114); // GS
      expect(cpu.v86).toBe(false);
      expect(cpu.cpl).toBe(0);
      expect(cpu.segSel[SEG_DS]).toBe(0);
      expect(cpu.segSel[SEG_ES]).toBe(0);
      expect(cpu.segSel[SEG_SS]).toBe(DATA0);
    });
  }

  it('at IOPL 3 CLI/PUSHF run in v86 and INT n goes to the ring-0 handler', () => {
    enterV86(3, [
      0xfa, //             cli
      0x9c, //             pushf
      0x58, //             pop ax
      0xcd, 0x41, //       int 0x41
    ]);
    runToHalt(m);
    const { cpu } = m;
    expect(cpu.eip).toBe(EXIT + 1);
    expect(cpu.regs[0] & 0x3200).toBe(0x3000); // IOPL 3, IF clear
    const esp = cpu.regs[4] >>> 0;
    expect(esp).toBe(RING0_STACK - 36);
    expect(r32(m, esp)).toBe(5);
    expect(r32(m, esp + 8) & 0x23200).toBe(0x23000);
  });

  it('INT3 is not IOPL-sensitive: it reaches its DPL 3 gate at IOPL 0', () => {
    enterV86(0, [0xcc]);
    runToHalt(m);
    expect(m.cpu.eip).toBe(EXIT + 1);
    expect(r32(m, m.cpu.regs[4] >>> 0)).toBe(1);
  });

  it('with CR4.VME, INT n whose redirection bit is clear runs the v86 IVT handler', () => {
    m.cpu.cr4 |= 1; // VME
    m.mem.write16(TSS_A + 0x66, 0x88); // I/O map at 0x88, redirection bitmap at 0x68..0x87
    for (let i = 0x68; i < 0x88; i++) m.mem.write8(TSS_A + i, 0);
    m.mem.write16(0x21 * 4, 0x0000); // IVT[0x21] = 0x0E00:0000
    m.mem.write16(0x21 * 4 + 2, 0x0e00);
    code(m, 0xe000, [0xb8, 0x78, 0x56, 0xcf]); // mov ax, 0x5678; iret
    enterV86(0, [0xcd, 0x21, 0xf4]); // int 0x21; hlt (-> #GP, our way out)
    runToHalt(m);
    const { cpu } = m;
    expect(cpu.regs[0] & 0xffff).toBe(0x5678);
    expect(cpu.eip).toBe(HANDLER + 2);
    expect(r32(m, cpu.regs[4] >>> 0)).toBe(2); // the HLT after the redirected INT
    // The v86 stack got FLAGS CS IP with IOPL shown as 3.
    expect(m.mem.read16((V86_SS << 4) + 0x1000 - 2) & 0x3000).toBe(0x3000);
    expect(m.mem.read16((V86_SS << 4) + 0x1000 - 4)).toBe(V86_CS);
    expect(m.mem.read16((V86_SS << 4) + 0x1000 - 6)).toBe(2);
  });

  it('with CR4.VME, a set redirection bit at IOPL < 3 still raises #GP(0)', () => {
    m.cpu.cr4 |= 1;
    m.mem.write16(TSS_A + 0x66, 0x88);
    for (let i = 0x68; i < 0x88; i++) m.mem.write8(TSS_A + i, 0);
    m.mem.write8(TSS_A + 0x68 + (0x21 >> 3), 1 << (0x21 & 7));
    enterV86(0, [0xcd, 0x21]);
    runToHalt(m);
    expect(m.cpu.eip).toBe(HANDLER + 2);
    expect(r32(m, m.cpu.regs[4] >>> 0)).toBe(0);
  });
});

describe('VME helpers for the decoder (CLI/STI/PUSHF/POPF at IOPL < 3)', () => {
  function faultOf(fn: () => void): number {
    try { fn(); } catch (e) { if (e instanceof CpuFault) return e.vector; throw e; }
    return -1;
  }

  it('without CR4.VME they raise #GP(0); with it they virtualise IF in VIF', () => {
    enterV86(0, [0xeb, 0xfe]);
    m.cpu.run(2); // now in v86 at IOPL 0
    const { cpu } = m;
    expect(cpu.v86).toBe(true);
    expect(faultOf(() => virtualCli(cpu))).toBe(13);
    cpu.cr4 |= 1;
    virtualSti(cpu);
    expect(cpu.getEflags() & 0x80000).toBe(0x80000);
    expect(cpu.getEflags() & 0x200).toBe(0); // real IF untouched
    virtualPushf(cpu, false);
    const pushed = m.mem.read16((V86_SS << 4) + (cpu.regs[4] & 0xffff));
    expect(pushed & 0x3200).toBe(0x3200); // IF shows VIF, IOPL shows 3
    virtualCli(cpu);
    expect(cpu.getEflags() & 0x80000).toBe(0);
    virtualPopf(cpu, false); // pops IF=1 -> VIF=1, IOPL stays 0
    expect(cpu.getEflags() & 0x83200).toBe(0x80000);
    // STI with VIP pending traps to the monitor.
    cpu.flags |= 0x100000;
    expect(faultOf(() => virtualSti(cpu))).toBe(13);
    expect(faultOf(() => virtualPushf(cpu, true))).toBe(13);
  });
});

describe('VME through the decoder', () => {
  it('CLI/STI/PUSHF/POPF at IOPL 0 with CR4.VME work on VIF without leaving v86', () => {
    m.cpu.cr4 |= 1;
    enterV86(0, [
      0xfb, //       sti          -> VIF = 1
      0x9c, //       pushf        -> image: IF = VIF, IOPL = 3
      0x58, //       pop ax
      0xfa, //       cli          -> VIF = 0
      0x9c, //       pushf
      0x5b, //       pop bx
      0xf4, //       hlt          -> #GP: our way out
    ]);
    runToHalt(m);
    const { cpu } = m;
    expect(cpu.eip).toBe(HANDLER + 2);
    expect(r32(m, cpu.regs[4] >>> 0)).toBe(6); // only HLT trapped
    expect(cpu.regs[0] & 0x3200).toBe(0x3200);
    expect(cpu.regs[3] & 0x3200).toBe(0x3000);
    expect(r32(m, (cpu.regs[4] >>> 0) + 8) & 0x80200).toBe(0); // VIF and IF clear in the frame
  });
});

describe('I/O permission bitmap', () => {
  function allowPorts(...ports: number[]): void {
    for (const p of ports) {
      const a = TSS_A + IO_BITMAP_OFFSET + (p >> 3);
      m.mem.write8(a, m.mem.read8(a) & ~(1 << (p & 7)));
    }
  }

  it('CPL 3 with IOPL 0 may use exactly the ports whose bits are clear', () => {
    const writes: number[] = [];
    m.io.register('test', 0x80, 2, { read8: () => 0x5a, write8: (off, v) => writes.push(off, v) });
    allowPorts(0x80);
    code(m, 0x20000, [
      0xe4, 0x80, // in al, 0x80     (allowed)
      0xe6, 0x80, // out 0x80, al    (allowed)
      0xe6, 0x81, // out 0x81, al    (denied -> #GP(0))
    ]);
    enterRing3(m, 0x20000);
    runToHalt(m);
    expect(m.cpu.regs[0] & 0xff).toBe(0x5a);
    expect(writes).toEqual([0, 0x5a]);
    expect(m.cpu.regs[7]).toBe(0);
    expect(r32(m, m.cpu.regs[4] >>> 0)).toBe(0x20004);
  });

  it('a word access needs both ports allowed', () => {
    allowPorts(0x80);
    code(m, 0x20000, [0x66, 0xe5, 0x80]); // in ax, 0x80 (ports 0x80 and 0x81)
    enterRing3(m, 0x20000);
    runToHalt(m);
    expect(r32(m, m.cpu.regs[4] >>> 0)).toBe(0x20000);
    allowPorts(0x81);
    m.cpu.halted = false;
    enterRing3(m, 0x20000);
    code(m, 0x20003, [0xcd, 0x41]);
    runToHalt(m);
    expect(m.cpu.eip).toBe(EXIT + 1);
  });

  it('ports beyond the TSS limit are denied; IOPL 3 bypasses the bitmap outside v86', () => {
    m.cpu.trLimit = IO_BITMAP_OFFSET + 0x10; // bitmap covers ports 0-0x7f only
    allowPorts(0x10);
    code(m, 0x20000, [0xe4, 0x10, 0xe4, 0x90]); // in al, 0x10 (ok); in al, 0x90 (beyond limit)
    enterRing3(m, 0x20000);
    runToHalt(m);
    expect(r32(m, m.cpu.regs[4] >>> 0)).toBe(0x20002);

    m.cpu.halted = false;
    code(m, 0x20004, [0xcd, 0x41]);
    enterRing3(m, 0x20000, 0x3202); // IOPL 3
    runToHalt(m);
    expect(m.cpu.eip).toBe(EXIT + 1);
  });

  it('v86 I/O always consults the bitmap, even at IOPL 3', () => {
    allowPorts(0x80);
    enterV86(3, [0xe4, 0x80, 0xe4, 0x81]); // in al,0x80 (ok); in al,0x81 (denied)
    runToHalt(m);
    expect(m.cpu.eip).toBe(HANDLER + 2);
    expect(r32(m, m.cpu.regs[4] >>> 0)).toBe(2);
  });
});
