// Directed tests of the block compiler's invalidation and determinism rules (core/cpu/jit):
// code rewritten by DMA (PhysicalMemory.writeBytes), by a device-style write8, and behind the
// CPU's back followed by a state load (postLoad) must run as rewritten; the poll-point rule
// keeps instruction counts at interrupt delivery identical with the JIT on and off.
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../core/bus/io.js';
import { PhysicalMemory } from '../../core/bus/memory.js';
import { Cpu } from '../../core/cpu/cpu.js';
import type { InterruptSource } from '../../core/cpu/interfaces.js';
import { enterFlatProtectedMode, writeFlatGdt } from './flat-pm.js';
import { WATCH_CODE } from '../../core/cpu/jit/block-cache.js';

const GDT = 0x1000, IDT = 0x2000, HANDLER = 0x3000, CODE = 0x4000;
const le = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

function flatCpu(jit: boolean): { cpu: Cpu; mem: PhysicalMemory } {
  const mem = new PhysicalMemory(4 << 20);
  const cpu = new Cpu(mem, new IoBus());
  cpu.jitEnabled = jit;
  writeFlatGdt(mem, GDT);
  // vector 0x20: interrupt gate to HANDLER: inc dword [0x8000]; iretd
  mem.write32(IDT + 0x20 * 8, (8 << 16) | HANDLER);
  mem.write32(IDT + 0x20 * 8 + 4, 0x8e00);
  mem.writeBytes(HANDLER, new Uint8Array([0xff, 0x05, ...le(0x8000), 0xcf]));
  enterFlatProtectedMode(cpu, GDT, IDT, 0x7ff);
  cpu.updateModes();
  cpu.regs[4] = 0x90000;
  cpu.eip = CODE;
  return { cpu, mem };
}

// loop: mov eax, IMM; add ebx, eax; add edx, ebx; xor esi, edx; dec ecx; jnz loop; hlt
function loopCode(imm: number): number[] {
  return [0xb8, ...le(imm), 0x01, 0xc3, 0x01, 0xda, 0x31, 0xd6, 0x49, 0x75, -14 & 0xff, 0xf4];
}

describe('JIT invalidation', () => {
  for (const how of ['writeBytes (DMA)', 'write8 (device)'] as const) {
    it(`code rewritten by ${how} runs as rewritten`, () => {
      const { cpu, mem } = flatCpu(true);
      mem.writeBytes(CODE, new Uint8Array(loopCode(1)));
      cpu.regs[1] = 1000;
      cpu.run(600); // 100 iterations: compiled by now
      expect(cpu.jit.stats.compiled).toBeGreaterThan(0);
      expect(mem.watchPage[CODE >>> 12] & WATCH_CODE).toBe(WATCH_CODE);
      const ebx = cpu.regs[3];
      if (how === 'writeBytes (DMA)') mem.writeBytes(CODE + 1, new Uint8Array(le(1000)));
      else mem.write8(CODE + 2, 3); // imm 1 → 0x301
      expect(cpu.jit.stats.invalidations).toBe(1);
      cpu.run(60); // 10 more iterations from the loop head
      const step = how === 'writeBytes (DMA)' ? 1000 : 0x301;
      expect(cpu.regs[3]).toBe(ebx + 10 * step);
    });
  }

  it('a state load (postLoad) drops blocks whose code changed behind the watch', () => {
    const { cpu, mem } = flatCpu(true);
    mem.writeBytes(CODE, new Uint8Array(loopCode(1)));
    cpu.regs[1] = 1000;
    cpu.run(600);
    expect(cpu.jit.stats.compiled).toBeGreaterThan(0);
    const ebx = cpu.regs[3];
    mem.mem.set(le(7), CODE + 1); // as a RAM restore does: no watch callback
    cpu.postLoad();
    expect(mem.watchPage[CODE >>> 12] & WATCH_CODE).toBe(0);
    cpu.run(60);
    expect(cpu.regs[3]).toBe(ebx + 70);
  });

  it('a page rewritten over and over stays interpreted', () => {
    // loop: mov [CODE+1], ecx (rewrites its own mov eax imm) — every iteration invalidates
    const { cpu, mem } = flatCpu(true);
    const code = [0xb8, ...le(0), 0x89, 0x0d, ...le(CODE + 1), 0x01, 0xc3, 0x01, 0xda, 0x49, 0x75, 0xee, 0xf4];
    mem.writeBytes(CODE, new Uint8Array(code));
    const ref = flatCpu(false);
    ref.mem.writeBytes(CODE, new Uint8Array(code));
    cpu.regs[1] = ref.cpu.regs[1] = 5000;
    cpu.run(100_000);
    ref.cpu.run(100_000);
    expect(cpu.halted).toBe(true);
    expect([...cpu.regs]).toEqual([...ref.cpu.regs]);
    expect(cpu.instructionCount).toBe(ref.cpu.instructionCount);
    expect(cpu.jit.stats.invalidations).toBeLessThanOrEqual(64);
  });
});

describe('JIT determinism', () => {
  it('interrupts arrive at the same instruction counts with the JIT on and off', () => {
    const runs = [false, true].map((jit) => {
      const { cpu, mem } = flatCpu(jit);
      mem.writeBytes(CODE, new Uint8Array(loopCode(3)));
      let next = 1000;
      const seen: number[] = [];
      const intr: InterruptSource = {
        hasInterrupt: () => cpu.instructionCount >= next,
        acknowledge: () => { seen.push(cpu.instructionCount); next += 777; return 0x20; },
      };
      cpu.intr = intr;
      cpu.flags |= 0x200;
      cpu.regs[1] = 20000;
      let slices = 0;
      while (!cpu.halted && slices++ < 10_000) cpu.run(1 + (slices * 7919) % 5000);
      return { seen, regs: [...cpu.regs], count: cpu.instructionCount, ticks: mem.read32(0x8000), compiled: cpu.jit.stats.compiled };
    });
    expect(runs[1].compiled).toBeGreaterThan(0);
    expect(runs[1].seen).toEqual(runs[0].seen);
    expect(runs[1].regs).toEqual(runs[0].regs);
    expect(runs[1].count).toBe(runs[0].count);
    expect(runs[1].ticks).toBe(runs[0].ticks);
  });
});
