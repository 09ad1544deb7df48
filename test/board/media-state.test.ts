// A machine state still loads after floppy media came or went (a VM suspended after an eject
// resumes with the drive empty), while any other configuration change is refused.
import { describe, expect, it } from 'vitest';
import { PcMachine } from '../../core/board/pc.js';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import { buildBiosRom } from '../../core/firmware/rom.js';
import { pcConfig, seabiosAvailable } from './board-helpers.js';

const config = (floppy: boolean, memoryMiB = 4) => pcConfig({
  biosRom: buildBiosRom().image, vgaRom: null, memoryMiB,
  floppy: [floppy ? new MemoryBlockDevice(new Uint8Array(1_474_560)) : null, null],
});

describe('state and removable media', () => {
  it('loads into a machine whose floppy drive is now empty (and back); refuses other differences', () => {
    if (!seabiosAvailable()) return; // pcConfig reads its ROMs
    const withFloppy = new PcMachine(config(true));
    withFloppy.run(100_000);
    const state = withFloppy.saveState();
    const empty = new PcMachine(config(false));
    empty.loadState(state);
    expect(empty.instructionCount).toBe(withFloppy.instructionCount);
    new PcMachine(config(true)).loadState(empty.saveState());
    expect(() => new PcMachine(config(true, 8)).loadState(state)).toThrow(/different machine configuration/);
  });
});
