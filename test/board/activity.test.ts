// The status bar's lights: PcMachine.status() reports disk activity when the guest's I/O
// reached a drive since the previous call, and none when nothing happened.
import { describe, expect, it } from 'vitest';
import { PcMachine } from '../../core/board/pc.js';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import { floppyConfig, seabiosAvailable } from './board-helpers.js';
import { sharedFile } from '../helpers/shared.js';
import { readFileSync } from 'node:fs';
import type { NetworkBackend } from '../../core/board/machine.js';
import { buildBiosRom } from '../../core/firmware/rom.js';

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

  it('a frame the NIC sends lights the network; a quiet interval does not', () => {
    if (!seabiosAvailable()) return; // pcConfig reads its ROMs
    const sent: Uint8Array[] = [];
    const backend: NetworkBackend = { send: (f) => { sent.push(f); }, receive: () => null, linkUp: true };
    const m = new PcMachine({ ...floppyConfig(new MemoryBlockDevice(new Uint8Array(1_474_560))), biosRom: buildBiosRom().image, vgaRom: null,
      memoryMiB: 4, nic: { model: 'ne2k-isa', backend } });
    expect(m.status().netActivity).toBe(false);
    // The guest's driver transmits 60 bytes from the card's buffer page 0x40 (NE2000 at 0x300).
    m.io.out8(0x300, 0x22); // start, page 0
    m.io.out8(0x304, 0x40); // TPSR
    m.io.out8(0x305, 60); // TBCR0
    m.io.out8(0x306, 0); // TBCR1
    m.io.out8(0x300, 0x26); // start + transmit
    expect(sent).toHaveLength(1);
    expect(m.status().netActivity).toBe(true);
    expect(m.status().netActivity).toBe(false);
  });
});
