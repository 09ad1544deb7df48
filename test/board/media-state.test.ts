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

  it('changeMedia raises the FDC change line and keeps the config current; a bad slot changes nothing', () => {
    if (!seabiosAvailable()) return;
    const disc = new MemoryBlockDevice(new Uint8Array(2048 * 16), true);
    const m = new PcMachine(pcConfig({
      biosRom: buildBiosRom().image, vgaRom: null, memoryMiB: 4, floppy: [null, null],
      ide: [null, null, { kind: 'cdrom', device: null }, null],
    }));
    const floppy = new MemoryBlockDevice(new Uint8Array(1_474_560));
    m.io.out8(0x3f2, 0x1c); // DOR: drive 0 selected, motor on, controller enabled
    m.changeMedia({ floppy: 0 }, floppy);
    expect(m.io.in8(0x3f7) & 0x80).toBe(0x80);
    expect(m.config.floppy[0]).toBe(floppy);
    expect(m.fdc.mediumIn(0)?.size).toBe(1_474_560);
    m.changeMedia({ ide: 2 }, disc);
    expect(m.config.ide[2]!.device).toBe(disc);
    expect(() => m.changeMedia({ ide: 0 }, disc)).toThrow(/not a CD-ROM/);
    expect(m.config.ide[0]).toBeNull();
    m.changeMedia({ floppy: 0 }, null);
    expect(m.config.floppy[0]).toBeNull();
    expect(m.fdc.mediumIn(0)).toBeNull();
  });
});
