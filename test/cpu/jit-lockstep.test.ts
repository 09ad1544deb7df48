// Real-guest lockstep for the block compiler: the shared Linux guest (SeaBIOS → isolinux →
// Linux 6.1, flat 32-bit code from isolinux on) boots on two deterministic machines, JIT on
// and off, in the same run() slices; at every checkpoint the CPU state, the instruction count
// and all of RAM must be equal, and at the end the whole machine state (saveState) too.
// A third machine loads the JIT machine's state halfway and must continue identically
// (the cache is empty after a load).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PcMachine } from '../../core/board/pc.js';
import { parseRunArgs, settingsFromOptions } from '../../main/run/run.js';
import { buildMachine } from '../../main/run/setup.js';
import { sharedFile } from '../helpers/shared.js';
import { seabiosAvailable } from '../board/board-helpers.js';

const TOTAL = 240_000_000;
const SLICE = 20_000_000;

async function machine(iso: string, jit: boolean): Promise<PcMachine> {
  const settings = settingsFromOptions(parseRunArgs(['--firmware', 'seabios', '--memory', '128', '--nic', 'none', '--cdrom', iso, '--boot', 'd']));
  const m = (await buildMachine(settings, { writable: false, serial: [], deterministic: true })) as PcMachine;
  m.cpu.jitEnabled = jit;
  return m;
}

function cpuState(m: PcMachine): string {
  const c = m.cpu;
  return JSON.stringify({ regs: [...c.regs], eip: c.eip, flags: c.getEflags(), count: c.instructionCount, cr0: c.cr0, cr3: c.cr3, sel: [...c.segSel] });
}

function ramHash(m: PcMachine): string {
  const mem = m.cpu.mem;
  return createHash('sha1').update(mem.subarray(0, m.cpu.memory.ramSize)).digest('hex');
}

describe('JIT lockstep on a real guest', () => {
  it('Linux boot: same state with the JIT on and off at every checkpoint', async () => {
    if (!seabiosAvailable()) return;
    const iso = sharedFile('guests', 'linux-shell-i686.iso');
    if (!iso) return;
    const off = await machine(iso, false);
    const on = await machine(iso, true);
    let loaded: PcMachine | null = null;
    for (let done = 0; done < TOTAL; done += SLICE) {
      off.run(SLICE);
      on.run(SLICE);
      loaded?.run(SLICE);
      expect(cpuState(on)).toBe(cpuState(off));
      const h = ramHash(off);
      expect(ramHash(on)).toBe(h);
      if (loaded) {
        expect(cpuState(loaded)).toBe(cpuState(off));
        expect(ramHash(loaded)).toBe(h);
      }
      if (done === TOTAL / 2) {
        loaded = await machine(iso, true);
        loaded.loadState(on.saveState());
      }
    }
    expect(on.cpu.jit.stats.compiled).toBeGreaterThan(100);
    expect(on.cpu.jit.stats.errors).toBe(0);
    const a = off.saveState(), b = on.saveState();
    expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
  }, 120_000);
});
