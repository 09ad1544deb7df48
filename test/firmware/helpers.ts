// Machines with the built-in firmware (ROM from core/firmware/rom.ts + the TS services).
import { readFileSync } from 'node:fs';
import type { MachineConfig } from '../../core/board/machine.js';
import { PcMachine } from '../../core/board/pc.js';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import { buildBiosRom } from '../../core/firmware/rom.js';
import { attachBuiltinFirmware, type BuiltinFirmware } from '../../core/firmware/services.js';
import { sharedFile } from '../helpers/shared.js';

export function builtinPc(over: Partial<MachineConfig> = {}): { m: PcMachine; fw: BuiltinFirmware } {
  const m = new PcMachine({
    memoryMiB: 32,
    cpuModel: 'pentium2',
    biosRom: buildBiosRom().image,
    vgaRom: null,
    bootOrder: 'a',
    floppy: [null, null],
    ide: [null, null, null, null],
    nic: { model: 'none', backend: null },
    serial: [],
    clock: { wallTimeMs: () => Date.UTC(2024, 0, 1, 12), monotonicMs: () => 0 },
    deterministic: true,
    log: () => {},
    ...over,
  });
  return { m, fw: attachBuiltinFirmware(m) };
}

/** Run until `marker` is on the text screen; the instruction count then, or -1. */
export function runUntilScreen(m: PcMachine, marker: string, maxInstructions: number): number {
  while (m.instructionCount < maxInstructions) {
    const stop = m.run(1_000_000);
    if (stop === 'poweroff') return -1;
    m.updateScreen();
    if (m.screen().text.includes(marker)) return m.instructionCount;
  }
  return -1;
}

/** A private in-memory copy of a shared guest image (null when absent: the test skips). */
export function sharedImage(name: string): MemoryBlockDevice | null {
  const path = sharedFile('guests', name);
  return path ? new MemoryBlockDevice(new Uint8Array(readFileSync(path))) : null;
}

/** Code that prints `marker` with INT 10h AH=0Eh, then halts. */
export function printMarkerCode(marker: string): number[] {
  const code: number[] = [];
  for (const ch of marker) code.push(0xb4, 0x0e, 0xb0, ch.charCodeAt(0), 0xcd, 0x10);
  code.push(0xeb, 0xfe); // jmp $ (instructions keep counting)
  return code;
}
