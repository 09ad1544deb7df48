// Bench figure for the built-in firmware: host time from power-on (machine construction) to the
// first instruction of the boot sector at 0000:7C00. `npm run bench` can call this.

import type { MachineConfig } from '../board/machine.js';
import { PcMachine } from '../board/pc.js';
import { buildBiosRom } from './rom.js';
import { attachBuiltinFirmware } from './services.js';

export interface BootTiming {
  /** Host milliseconds from power-on to CS:IP = 0000:7C00 (NaN if it never got there). */
  hostMs: number;
  /** Guest instructions executed until then. */
  instructions: number;
}

/**
 * Power on a machine with the built-in firmware (the config's biosRom/vgaRom are replaced) and
 * run until the boot sector's first instruction, at most `maxInstructions`.
 */
export function measurePowerOnToBootSector(config: MachineConfig, maxInstructions = 10_000_000): BootTiming {
  const started = performance.now();
  const m = new PcMachine({ ...config, biosRom: buildBiosRom().image, vgaRom: null });
  attachBuiltinFirmware(m);
  while (m.instructionCount < maxInstructions) {
    m.run(1); // single steps: POST itself is three instructions (the work is in the trap)
    if (m.cpu.segSel[1] === 0 && m.cpu.eip === 0x7c00) {
      return { hostMs: performance.now() - started, instructions: m.instructionCount };
    }
    if (m.poweredOff) break;
  }
  return { hostMs: Number.NaN, instructions: m.instructionCount };
}
