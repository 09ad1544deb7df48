// Building PcMachines for board tests (SeaBIOS from the Debian package).
import { existsSync, readFileSync } from 'node:fs';
import type { MachineConfig } from '../../core/board/machine.js';
import { PcMachine } from '../../core/board/pc.js';
import type { BlockDevice } from '../../core/disk/block.js';
import { requireResource } from '../helpers/shared.js';

export const SEABIOS = '/usr/share/seabios/bios-256k.bin';
export const VGABIOS = '/usr/share/seabios/vgabios-stdvga.bin';

export function seabiosAvailable(): boolean {
  return requireResource('Debian package seabios (/usr/share/seabios)', existsSync(SEABIOS) && existsSync(VGABIOS));
}

export function pcConfig(over: Partial<MachineConfig> = {}): MachineConfig {
  return {
    memoryMiB: 32,
    cpuModel: 'pentium2',
    biosRom: new Uint8Array(readFileSync(SEABIOS)),
    vgaRom: new Uint8Array(readFileSync(VGABIOS)),
    bootOrder: 'a',
    floppy: [null, null],
    ide: [null, null, null, null],
    nic: { model: 'none', backend: null },
    serial: [],
    clock: { wallTimeMs: () => Date.UTC(2024, 0, 1), monotonicMs: () => 0 },
    deterministic: true,
    log: () => {},
    ...over,
  };
}

export function floppyConfig(floppy: BlockDevice, over: Partial<MachineConfig> = {}): MachineConfig {
  return pcConfig({ floppy: [floppy, null], ...over });
}

export function newPc(config: MachineConfig): PcMachine {
  return new PcMachine(config);
}
