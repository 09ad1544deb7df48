// El Torito boots built in the test: hard-disk emulation (media type 4) with an MBR that uses
// INT 10h and INT 13h on its own image, and the "not bootable" reasons of broken discs.
import { describe, expect, it } from 'vitest';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import { hardDiskImageLayout } from '../../core/firmware/disk.js';
import { builtinPc, printMarkerCode, runUntilScreen } from './helpers.js';
import { elToritoCd, partitionedDiskImage } from './cd-image.js';
import { HDEMU_MBR, programBytes } from './programs.js';

const GEO = { cylinders: 10, heads: 4, sectors: 32 };

/** The hard-disk image: HDEMU_MBR, one partition from LBA 32 whose first two sectors hold text. */
function hdImage(): Uint8Array {
  const img = partitionedDiskImage(programBytes(HDEMU_MBR), GEO);
  const text = (lba: number, s: string) => img.set([...s].map((c) => c.charCodeAt(0)), lba * 512);
  text(32, 'PARTITION-CHS-OK');
  text(33, 'PARTITION-LBA-OK');
  return img;
}

/** A real IDE disk whose sector 0 holds text (and no boot signature). */
function ideDisk(): MemoryBlockDevice {
  const img = new Uint8Array(1 << 20);
  img.set([...'REAL-DISK-81'].map((c) => c.charCodeAt(0)));
  return new MemoryBlockDevice(img);
}

describe('El Torito hard-disk emulation', () => {
  it('boots the image as drive 80h with its partition table geometry; reads through CHS and LBA, refuses writes; the IDE disk becomes 81h', () => {
    const image = hdImage();
    const cd = elToritoCd({ media: 4, image, systemType: 0x06 });
    const { m, fw } = builtinPc({ bootOrder: 'dc', ide: [{ kind: 'disk', device: ideDisk() }, null, { kind: 'cdrom', device: cd }, null] });
    expect(runUntilScreen(m, 'HDEMU-DONE', 20_000_000)).toBeGreaterThan(0);
    const text = m.screen().text;
    expect(text).toContain('HDEMU-MBR DL=80');
    expect(text).toContain('PARTITION-CHS-OK');
    expect(text).toContain('PARTITION-LBA-OK');
    expect(text).toContain('WRITE AH=03'); // write-protected
    expect(text).toContain('REAL-DISK-81');
    expect(text).not.toContain('HDEMU-FAIL');
    const mem = m.memory;
    // AH=08h: CX = max cylinder 9, 32 sectors; DH = max head 3, DL = 2 fixed drives.
    expect(mem.read16(0x602)).toBe((9 << 8) | 32);
    expect(mem.read16(0x604)).toBe((3 << 8) | 2);
    expect(mem.read8(0x606)).toBe(0x03);
    expect(mem.read8(0x475)).toBe(2);
    // 4B01h: packet size 13h, media 4, drive 80h, image LBA 20, load segment 07C0h, 1 sector,
    // and AH=08h's CH/CL/DH.
    expect(mem.read8(0x601)).toBe(0);
    const p = 0x700;
    expect([mem.read8(p), mem.read8(p + 1), mem.read8(p + 2)]).toEqual([0x13, 4, 0x80]);
    expect(mem.read32(p + 4)).toBe(20);
    expect(mem.read16(p + 12)).toBe(0x07c0);
    expect(mem.read16(p + 14)).toBe(1);
    expect([mem.read8(p + 16), mem.read8(p + 17), mem.read8(p + 18)]).toEqual([9, 32, 3]);
    // The image on the CD is untouched by the refused write.
    const back = new Uint8Array(512);
    cd.read(20 * 2048 + 512, back);
    expect(back.every((b) => b === 0)).toBe(true);
    expect(fw.messages).toEqual([]);
  });

  it('without IDE disks the emulated disk is the only fixed drive', () => {
    const { m } = builtinPc({ bootOrder: 'd', ide: [null, null, { kind: 'cdrom', device: elToritoCd({ media: 4, image: hdImage() }) }, null] });
    // The MBR fails at the read of 81h (no such drive) after the rest worked.
    expect(runUntilScreen(m, 'HDEMU-FAIL', 20_000_000)).toBeGreaterThan(0);
    expect(m.screen().text).toContain('PARTITION-LBA-OK');
    expect(m.memory.read8(0x475)).toBe(1);
    expect(m.memory.read16(0x604) & 0xff).toBe(1);
  });

  it('a warm reset ends the emulation: the IDE disk is 80h again', () => {
    const boot = new Uint8Array(1 << 20);
    boot.set(printMarkerCode('IDE-BOOTED'));
    boot[510] = 0x55; boot[511] = 0xaa;
    const { m } = builtinPc({ bootOrder: 'dc', ide: [{ kind: 'disk', device: new MemoryBlockDevice(boot) }, null, { kind: 'cdrom', device: elToritoCd({ media: 4, image: hdImage() }) }, null] });
    expect(runUntilScreen(m, 'HDEMU-DONE', 20_000_000)).toBeGreaterThan(0);
    // Eject the CD, reset: the disk boots as 80h with one fixed drive.
    m.config.ide[2] = { kind: 'cdrom', device: null };
    m.reset();
    expect(runUntilScreen(m, 'IDE-BOOTED', 20_000_000)).toBeGreaterThan(0);
    expect(m.memory.read8(0x475)).toBe(1);
  });

  it('a saved state restores the emulation into a new machine (the EBDA marker, not TypeScript fields)', () => {
    const config = () => ({ bootOrder: 'd', ide: [{ kind: 'disk' as const, device: ideDisk() }, null, { kind: 'cdrom' as const, device: elToritoCd({ media: 4, image: hdImage() }) }, null] as const });
    const a = builtinPc({ ...config(), ide: [...config().ide] });
    expect(runUntilScreen(a.m, 'HDEMU-DONE', 20_000_000)).toBeGreaterThan(0);
    const state = a.m.saveState();
    const b = builtinPc({ ...config(), ide: [...config().ide] });
    expect(b.fw.disk.drive(0x80)?.dev.size).toBe(1 << 20); // before: the IDE disk is 80h
    b.m.loadState(state);
    expect(b.fw.disk.emulatedDisk?.geo).toEqual(GEO);
    expect(b.fw.disk.drive(0x80)?.dev.readOnly).toBe(true);
    expect(b.fw.disk.drive(0x81)?.dev.size).toBe(1 << 20);
    expect(b.fw.disk.fixedDriveCount()).toBe(2);
    // A reset (new POST, no CD boot: order c) ends it again.
    b.m.config.bootOrder = 'c';
    b.m.reset();
    b.m.run(1_000_000);
    expect(b.fw.disk.emulatedDisk).toBeNull();
    expect(b.fw.disk.drive(0x80)?.dev.size).toBe(1 << 20);
  });

  it('geometry and size come from the partition table', () => {
    const img = partitionedDiskImage(new Uint8Array(0), { cylinders: 20, heads: 16, sectors: 63 });
    expect(hardDiskImageLayout(img.subarray(0, 512))).toEqual({ geo: { cylinders: 20, heads: 16, sectors: 63 }, sectors: 20 * 16 * 63 });
    const noSig = img.slice(0, 512); noSig[511] = 0;
    expect(hardDiskImageLayout(noSig)).toMatch(/no boot signature/);
    const empty = new Uint8Array(512); empty[510] = 0x55; empty[511] = 0xaa;
    expect(hardDiskImageLayout(empty)).toMatch(/no partition/);
  });
});

describe('CDs that do not boot say why', () => {
  const cases: [string, MemoryBlockDevice, string][] = [
    ['a data CD without a boot record', (() => { const cd = elToritoCd({ media: 0, image: new Uint8Array(2048) }); const b = new Uint8Array(2048); cd.write(17 * 2048, b); return cd; })(), 'This is not a bootable CD (no El Torito boot record).'],
    ['a boot entry marked not bootable', elToritoCd({ media: 0, image: new Uint8Array(2048), indicator: 0 }), 'This is not a bootable CD (the boot entry is not bootable).'],
    ['an unknown media type', elToritoCd({ media: 7, image: new Uint8Array(2048) }), 'This is not a bootable CD (unknown boot media type 7).'],
    ['a hard-disk image without a partition', elToritoCd({ media: 4, image: (() => { const i = new Uint8Array(4096); i[510] = 0x55; i[511] = 0xaa; return i; })() }), 'This is not a bootable CD (the hard-disk image has no partition).'],
    ['a hard-disk image larger than the disc', elToritoCd({ media: 4, image: partitionedDiskImage(new Uint8Array(0), GEO).subarray(0, 4096) }), 'This is not a bootable CD (the hard-disk image is outside the disc).'],
    ['a floppy image larger than the disc', elToritoCd({ media: 2, image: new Uint8Array(4096) }), 'This is not a bootable CD (the floppy image is outside the disc).'],
  ];
  for (const [what, cd, message] of cases) {
    it(`${what}`, () => {
      const { m, fw } = builtinPc({ bootOrder: 'd', ide: [null, null, { kind: 'cdrom', device: cd }, null] });
      expect(runUntilScreen(m, 'No bootable device.', 5_000_000)).toBeGreaterThan(0);
      expect(m.screen().text).toContain(message);
      expect(fw.messages).toEqual([message, 'No bootable device.']);
    });
  }
});
