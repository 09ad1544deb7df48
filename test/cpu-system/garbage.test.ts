// A guest that fills its descriptor tables with garbage must only ever see architectural
// faults: every system entry point either completes or throws CpuFault, never a host error.
import { describe, expect, it } from 'vitest';

import { CpuFault } from '../../core/cpu/cpu.js';
import {
  deliverInterrupt, farCall, farJump, farReturn, iret, loadSegment, taskSwitch, checkIoPermission, executeSystem0F,
} from '../../core/cpu/system/index.js';
import { GDT, IDT, newMachine, protectedMode, enterRing3 } from './harness.js';

/** xorshift32: deterministic pseudo-random numbers. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

describe('garbage descriptor tables', () => {
  it('every entry point raises only CpuFault on random GDT/IDT/TSS contents', () => {
    const next = rng(0x5eed);
    let faults = 0, completed = 0;
    for (let round = 0; round < 60; round++) {
      const m = newMachine();
      protectedMode(m, 0x31000);
      for (let i = 0; i < 0x100; i += 4) m.mem.write32(GDT + 0x68 + i, next()); // keep the first 13 entries sane
      for (let i = 0; i < 0x800; i += 4) m.mem.write32(IDT + i, next());
      for (let i = 0; i < 0x68; i += 4) m.mem.write32(0x3000 + i, next()); // TSS_A
      const { cpu } = m;
      if (round & 1) enterRing3(m, 0x20000);
      cpu.regs[4] = 0x7000 + (next() & 0xffc);
      for (let i = 0; i < 0x40; i += 4) m.mem.write32((cpu.regs[4] >>> 0) + i, next());
      for (let op = 0; op < 50; op++) {
        const sel = next() & 0xffff;
        const which = next() % 9;
        try {
          switch (which) {
            case 0: deliverInterrupt(cpu, next() & 0xff, next() % 4, next() & 1 ? -1 : sel); break;
            case 1: farJump(cpu, sel, next(), (next() & 1) === 1); break;
            case 2: farCall(cpu, sel, next(), (next() & 1) === 1); break;
            case 3: farReturn(cpu, (next() & 1) === 1, next() & 0xff); break;
            case 4: iret(cpu, (next() & 1) === 1); break;
            case 5: loadSegment(cpu, [0, 2, 3, 4, 5][next() % 5], sel); break;
            case 6: taskSwitch(cpu, sel, next() % 4, -1, 0); break;
            case 7: checkIoPermission(cpu, sel, [1, 2, 4][next() % 3]); break;
            default:
              cpu.modrmIsReg = true;
              cpu.modrmReg = 0;
              cpu.regs[0] = sel;
              cpu.modrmRegField = next() & 7;
              executeSystem0F(cpu, next() & 1);
          }
          completed++;
        } catch (e) {
          if (!(e instanceof CpuFault)) throw e;
          expect([1, 6, 10, 11, 12, 13, 14]).toContain(e.vector);
          faults++;
        }
      }
    }
    // Both outcomes happen: the generator really exercises the checks.
    expect(faults).toBeGreaterThan(100);
    expect(completed).toBeGreaterThan(50);
  });
});
