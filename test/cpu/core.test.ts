// Directed tests of the run loop and decoder: real-mode interrupts through the IVT, restartable
// faults, self-modifying code, single-step traps, the STI shadow, HLT wake-up, #UD for bad
// LOCK, and the declared state (save/restore gives an identical instruction stream).
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../core/bus/io.js';
import { PhysicalMemory } from '../../core/bus/memory.js';
import { Cpu } from '../../core/cpu/cpu.js';
import type { InterruptSource } from '../../core/cpu/interfaces.js';
import { captureFields, restoreFields } from '../../core/state/vmstate.js';

const CODE = 0x1000;

function realMachine(code: number[]): { cpu: Cpu; mem: PhysicalMemory; io: IoBus } {
  const mem = new PhysicalMemory(1 << 20);
  const io = new IoBus();
  const cpu = new Cpu(mem, io);
  mem.writeBytes(CODE, new Uint8Array(code));
  cpu.loadSegmentReal(1, 0);
  cpu.segBase[1] = 0;
  cpu.eip = CODE;
  cpu.regs[4] = 0x8000;
  return { cpu, mem, io };
}

/** IVT entry `vector` -> 0000:handler, with `body` at handler. */
function handler(mem: PhysicalMemory, vector: number, at: number, body: number[]): void {
  mem.write16(vector * 4, at);
  mem.write16(vector * 4 + 2, 0);
  mem.writeBytes(at, new Uint8Array(body));
}

describe('cpu core', () => {
  it('starts at the P6 reset vector', () => {
    const cpu = new Cpu(new PhysicalMemory(1 << 20), new IoBus());
    expect(cpu.segSel[1]).toBe(0xf000);
    expect(cpu.segBase[1] >>> 0).toBe(0xffff0000);
    expect(cpu.eip).toBe(0xfff0);
    expect(cpu.regs[2] >> 8).toBe(6); // family 6
    expect(cpu.getEflags()).toBe(2);
    expect(cpu.cr0 >>> 0).toBe(0x60000010);
  });

  it('runs INT n through the IVT and IRET back', () => {
    const { cpu, mem } = realMachine([0xb8, 5, 0, 0xcd, 0x21, 0x40, 0xf4]); // mov ax,5; int 21h; inc ax; hlt
    handler(mem, 0x21, 0x2000, [0x05, 0x10, 0x00, 0xcf]); // add ax,10h; iret
    expect(cpu.run(100)).toBe(6); // mov, int, add, iret, inc, hlt
    expect(cpu.halted).toBe(true);
    expect(cpu.reg16[0]).toBe(0x16);
    expect(cpu.reg16[8]).toBe(0x8000);
  });

  it('delivers #DE as a fault: the pushed IP is the DIV itself and registers are intact', () => {
    const { cpu, mem } = realMachine([0x31, 0xdb, 0xb8, 0x34, 0x12, 0xf7, 0xf3, 0xf4]); // xor bx,bx; mov ax,1234h; div bx
    handler(mem, 0, 0x2000, [0xf4]);
    cpu.run(100);
    expect(cpu.eip).toBe(0x2001);
    expect(mem.read16(0x8000 - 6)).toBe(CODE + 5);
    expect(cpu.reg16[0]).toBe(0x1234);
  });

  it('executes code it has just modified', () => {
    // mov byte [cs:1008h], 99h ; (1006:) nop ; nop ; (1008 is the imm of:) mov al, 11h ; hlt
    const { cpu } = realMachine([0x2e, 0xc6, 0x06, 0x08, 0x10, 0x99, 0x90, 0xb0, 0x11, 0xf4]);
    cpu.run(100);
    expect(cpu.reg8[0]).toBe(0x99);
  });

  it('raises #UD for LOCK with a register destination', () => {
    const { cpu, mem } = realMachine([0xf0, 0x01, 0xc0, 0xf4]); // lock add ax,ax
    handler(mem, 6, 0x2000, [0xf4]);
    cpu.run(10);
    expect(cpu.eip).toBe(0x2001);
    expect(mem.read16(0x8000 - 6)).toBe(CODE);
  });

  it('single-steps with TF: #DB after the instruction following POPF', () => {
    // pushf; pop ax; or ah,1; push ax; popf; inc cx; inc cx; hlt
    const { cpu, mem } = realMachine([0x9c, 0x58, 0x80, 0xcc, 0x01, 0x50, 0x9d, 0x41, 0x41, 0xf4]);
    handler(mem, 1, 0x2000, [0xf4]);
    cpu.run(100);
    expect(cpu.eip).toBe(0x2001);
    expect(cpu.reg16[2]).toBe(1); // exactly one INC ran under TF before the trap
    expect(mem.read16(0x8000 - 6)).toBe(CODE + 8); // return IP: the second INC
    expect(mem.read16(0x8000 - 2) & 0x100).toBe(0x100); // pushed FLAGS still have TF
    expect(cpu.getEflags() & 0x100).toBe(0); // TF cleared in the handler
  });

  it('takes no single-step trap after INT n; the trap comes after the next TF instruction', () => {
    // pushf; pop ax; or ah,1; push ax; popf; int 21h; nop; hlt
    const { cpu, mem } = realMachine([0x9c, 0x58, 0x80, 0xcc, 0x01, 0x50, 0x9d, 0xcd, 0x21, 0x90, 0xf4]);
    handler(mem, 0x21, 0x2000, [0x42, 0xcf]); // inc dx; iret
    handler(mem, 1, 0x2100, [0x43, 0xf4]); // inc bx; hlt
    cpu.run(100);
    expect(cpu.eip).toBe(0x2102);
    expect(cpu.reg16[4]).toBe(0x652 + 1); // DX (reset signature) +1: the INT handler ran once, untrapped
    expect(cpu.reg16[6]).toBe(1);
    expect(mem.read16(cpu.reg16[8])).toBe(CODE + 10); // trap after the NOP, before HLT
  });

  it('takes an external interrupt after the STI shadow and wakes from HLT', () => {
    let pending = true;
    let acked = 0;
    const pic: InterruptSource = { hasInterrupt: () => pending, acknowledge: () => { pending = false; acked++; return 0x08; } };
    // sti; nop; hlt (interrupt must arrive before HLT: after the NOP in the shadow)
    const { cpu, mem } = realMachine([0xfb, 0x90, 0xf4, 0xf4]);
    cpu.intr = pic;
    handler(mem, 8, 0x2000, [0x41, 0xcf]); // inc cx; iret
    cpu.run(3);
    expect(acked).toBe(1);
    expect(mem.read16(0x8000 - 6)).toBe(CODE + 2);
    cpu.run(10);
    expect(cpu.halted).toBe(true);
    expect(cpu.eip).toBe(CODE + 3);
    expect(cpu.reg16[2]).toBe(1);
    // Halted: nothing runs until an interrupt arrives, then the handler runs.
    expect(cpu.run(10)).toBe(0);
    pending = true;
    cpu.run(2);
    expect(cpu.halted).toBe(false);
    expect(cpu.reg16[2]).toBe(2);
  });

  it('saves and restores its declared state: the restored CPU continues identically', () => {
    // A loop mixing flags, memory and the stack: a: add ax,cx; adc [500h],ax; push ax; pop dx; loop a; hlt
    const code = [0x01, 0xc8, 0x11, 0x06, 0x00, 0x05, 0x50, 0x5a, 0xe2, 0xf6, 0xf4];
    const a = realMachine(code);
    a.cpu.reg16[2] = 1000;
    a.cpu.run(1234);
    const saved = captureFields(a.cpu);
    const ram = a.mem.mem.slice();
    const b = realMachine([]);
    b.mem.mem.set(ram);
    restoreFields(b.cpu, saved);
    a.cpu.run(100_000);
    b.cpu.run(100_000);
    expect(a.cpu.halted && b.cpu.halted).toBe(true);
    expect(Array.from(b.cpu.regs)).toEqual(Array.from(a.cpu.regs));
    expect(b.cpu.getEflags()).toBe(a.cpu.getEflags());
    expect(b.mem.read16(0x500)).toBe(a.mem.read16(0x500));
    expect(b.cpu.instructionCount).toBe(a.cpu.instructionCount);
  });

  it('runs REP STOSB in chunks with consistent registers', () => {
    // cld; mov cx,9000h; xor di,di; mov ax,3000h; mov es,ax; mov al,5Ah; rep stosb; hlt
    const { cpu, mem } = realMachine([0xfc, 0xb9, 0x00, 0x90, 0x31, 0xff, 0xb8, 0x00, 0x30, 0x8e, 0xc0, 0xb0, 0x5a, 0xf3, 0xaa, 0xf4]);
    const n = cpu.run(1000);
    expect(cpu.halted).toBe(true);
    expect(n).toBeGreaterThan(7); // the REP restarted itself at least once
    expect(cpu.reg16[2]).toBe(0);
    expect(cpu.reg16[14]).toBe(0x9000);
    expect(mem.read8(0x30000)).toBe(0x5a);
    expect(mem.read8(0x38fff)).toBe(0x5a);
    expect(mem.read8(0x39000)).toBe(0);
  });
});
