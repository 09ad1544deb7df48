// The status bar's lights: PcMachine.status() reports disk activity when the guest's I/O
// reached a drive since the previous call, and none when nothing happened.
import { describe, expect, it } from 'vitest';
import { PcMachine } from '../../core/board/pc.js';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import { floppyConfig, seabiosAvailable } from './board-helpers.js';
import { sharedFile } from '../helpers/shared.js';
import { readFileSync } from 'node:fs';

describe('activity lights', () => {
  it('a BIOS booting from floppy lights the disk; an idle interval does not', () => {
    if (!seabiosAvailable()) return;
    const img = sharedFile('guests', 'freedos722.img');
    if (!img) return;
    const m = new PcMachine(floppyConfig(new MemoryBlockDevice(new Uint8Array(readFileSync(img))), { bootOrder: 'a', memoryMiB: 16 }));
    expect(m.status().diskActivity).toBe(false);
    // Run until the boot sector has been read (the FDC reads through the counting wrapper).
    let lit = false;
    for (let i = 0; i < 200 && !lit; i++) {
      m.run(1_000_000);
      lit = m.status().diskActivity;
    }
    expect(lit).toBe(true);
    // Nothing ran since: the light is off, and network stays dark on a machine without a NIC backend.
    const s = m.status();
    expect(s.diskActivity).toBe(false);
    expect(s.netActivity).toBe(false);
  });
});
