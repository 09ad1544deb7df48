import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ValidationIssue, VmSettings } from '../../core/api/contract.js';
import { validateSettings } from '../../main/library/index.js';
import { settingsForNewVm } from '../../main/library/settings.js';

let dir: string;
const taken = new Set(['existing vm']);
const ctx = { nameTaken: (name: string) => taken.has(name.toLowerCase()) };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'perseus-val-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: number | Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, typeof bytes === 'number' ? Buffer.alloc(bytes) : bytes);
  return p;
}

/** Issues for a VM named "t" with the given changes over the 'other' preset. */
function check(partial: Partial<VmSettings> | Record<string, unknown>): ValidationIssue[] {
  return validateSettings(settingsForNewVm({ name: 't', ...partial } as Partial<VmSettings>), ctx);
}

function isoImage(name: string): string {
  const buf = Buffer.alloc(0x9000);
  buf[0x8000] = 1;
  buf.write('CD001', 0x8001, 'latin1');
  return file(name, buf);
}

describe('settings validation', () => {
  it('accepts every preset default as it is', () => {
    for (const osPreset of ['dos', 'win9x', 'linux', 'other'] as const) expect(check({ osPreset })).toEqual([]);
  });

  it('names: required, length, control characters, duplicates', () => {
    expect(check({ name: '   ' })).toEqual([{ field: 'name', message: 'Name is required' }]);
    expect(check({ name: 'x'.repeat(65) })).toEqual([{ field: 'name', message: 'Name is too long: 65 characters, at most 64' }]);
    expect(check({ name: 'x'.repeat(64) })).toEqual([]);
    expect(check({ name: 'a\tb' })).toEqual([{ field: 'name', message: 'Name must not contain control characters (tabs, line breaks)' }]);
    expect(check({ name: 'Existing VM' })).toEqual([{ field: 'name', message: 'Another VM is already named "Existing VM"' }]);
    expect(check({ name: 42 })).toEqual([{ field: 'name', message: 'Name must be text' }]);
  });

  it('memory: whole MiB between 1 and 3584', () => {
    expect(check({ memoryMiB: 1 })).toEqual([]);
    expect(check({ memoryMiB: 3584 })).toEqual([]);
    expect(check({ memoryMiB: 0 })).toEqual([{ field: 'memoryMiB', message: 'Memory must be between 1 and 3584 MiB, not 0' }]);
    expect(check({ memoryMiB: 3585 })).toEqual([{ field: 'memoryMiB', message: 'Memory must be between 1 and 3584 MiB, not 3585' }]);
    expect(check({ memoryMiB: 1.5 })).toEqual([{ field: 'memoryMiB', message: 'Memory must be a whole number of MiB, not 1.5' }]);
    expect(check({ memoryMiB: '64' })).toEqual([{ field: 'memoryMiB', message: 'Memory must be a number of MiB' }]);
  });

  it('cpu model, preset and firmware', () => {
    expect(check({ cpuModel: 'k6' })).toEqual([{ field: 'cpuModel', message: 'Unknown CPU model "k6"; choose one of pentium2, pentium-pro, pentium, 486' }]);
    expect(check({ osPreset: 'os2' })[0]).toEqual({ field: 'osPreset', message: 'Unknown guest OS preset "os2"; choose one of dos, win9x, linux, other' });
    // SeaBIOS must be installed (its directory moved by PERSEUS_SEABIOS_DIR here).
    const seaDir = join(dir, 'seabios');
    mkdirSync(seaDir, { recursive: true });
    process.env.PERSEUS_SEABIOS_DIR = seaDir;
    try {
      expect(check({ firmware: 'seabios' })).toEqual([{ field: 'firmware', message: `SeaBIOS not found at ${seaDir}/bios-256k.bin: install the Debian package "seabios", or use the built-in firmware ("builtin")` }]);
      writeFileSync(join(seaDir, 'bios-256k.bin'), Buffer.alloc(256 * 1024));
      expect(check({ firmware: 'seabios' })).toEqual([]);
    } finally {
      delete process.env.PERSEUS_SEABIOS_DIR;
    }
    expect(check({ firmware: { path: file('bios.bin', 128 * 1024) } })).toEqual([]);
    const odd = file('odd.rom', 100_000);
    expect(check({ firmware: { path: odd } })).toEqual([{ field: 'firmware.path', message: `Firmware ROM ${odd} is 97.7 KiB; a BIOS image is a multiple of 64 KiB between 64 KiB and 16 MiB` }]);
    expect(check({ firmware: 'ami' })).toEqual([{ field: 'firmware', message: 'Firmware must be "builtin", "seabios" or a ROM file path, not "ami"' }]);
  });

  it('boot order letters', () => {
    expect(check({ bootOrder: 'dca' })).toEqual([]);
    expect(check({ bootOrder: 'c' })).toEqual([]);
    expect(check({ bootOrder: '' })).toEqual([{ field: 'bootOrder', message: 'Boot order is required: letters a (floppy), c (hard disk), d (CD-ROM), e.g. "cda"' }]);
    expect(check({ bootOrder: 'cn' })).toEqual([{ field: 'bootOrder', message: 'Boot order "cn" contains "n"; use only a (floppy), c (hard disk) and d (CD-ROM)' }]);
    expect(check({ bootOrder: 'cac' })).toEqual([{ field: 'bootOrder', message: 'Boot order "cac" lists hard disk ("c") twice' }]);
  });

  it('image files: missing, relative, folder, empty', () => {
    const missing = join(dir, 'missing.img');
    expect(check({ floppyA: missing })).toEqual([{ field: 'floppyA', message: `Floppy A: image file not found: ${missing}` }]);
    expect(check({ floppyB: 'rel.img' })).toEqual([{ field: 'floppyB', message: 'Floppy B: image path must be absolute, not "rel.img"' }]);
    mkdirSync(join(dir, 'folder.img'), { recursive: true });
    expect(check({ floppyA: join(dir, 'folder.img') })).toEqual([{ field: 'floppyA', message: `Floppy A: ${join(dir, 'folder.img')} is a folder, not an image file` }]);
    const empty = file('empty.img', 0);
    expect(check({ ide: { primaryMaster: { kind: 'disk', path: empty } } })).toEqual([{ field: 'ide.primaryMaster.path', message: `IDE primary master: image file is empty: ${empty}` }]);
    const big = file('big.img', 5 * 1024 * 1024);
    expect(check({ floppyA: big })).toEqual([{ field: 'floppyA', message: `Floppy A image ${big} is 5 MiB, too large for a floppy (the largest format holds 2.88 MB)` }]);
  });

  it.skipIf(process.getuid?.() === 0)('image files: unreadable (skipped as root, who reads everything)', () => {
    const locked = file('locked.img', 1024);
    chmodSync(locked, 0);
    expect(check({ floppyA: locked })).toEqual([{ field: 'floppyA', message: `Floppy A: image file cannot be read (permission denied): ${locked}` }]);
  });

  it('IDE drives: disk needs an image, CD images on disk slots, disk formats on CD drives, kinds, slots', () => {
    expect(check({ ide: { primaryMaster: { kind: 'disk', path: null } } })).toEqual([
      { field: 'ide.primaryMaster.path', message: 'IDE primary master is a hard disk without an image; choose a disk image or remove the drive' },
    ]);
    const iso = isoImage('install.bin');
    expect(check({ ide: { primarySlave: { kind: 'disk', path: iso } } })).toEqual([
      { field: 'ide.primarySlave.path', message: `IDE primary slave: ${iso} is a CD image (ISO 9660); attach it to a CD-ROM drive, not a hard-disk slot` },
    ]);
    expect(check({ ide: { secondaryMaster: { kind: 'cdrom', path: iso } } })).toEqual([]);
    const qcow = file('disk.qcow2', 4096);
    expect(check({ ide: { secondaryMaster: { kind: 'cdrom', path: qcow } } })).toEqual([
      { field: 'ide.secondaryMaster.path', message: `IDE secondary master: ${qcow} is a hard-disk image; attach it as a hard disk, not a CD-ROM` },
    ]);
    expect(check({ ide: { primaryMaster: { kind: 'tape', path: null } } })).toEqual([
      { field: 'ide.primaryMaster.kind', message: 'IDE primary master: drive kind must be "disk" or "cdrom", not "tape"' },
    ]);
    expect(check({ ide: { tertiaryMaster: null } })).toEqual([
      { field: 'ide.tertiaryMaster', message: 'Unknown IDE slot "tertiaryMaster"; the slots are primaryMaster, primarySlave, secondaryMaster, secondarySlave' },
    ]);
  });

  it('the same image attached twice', () => {
    const disk = file('shared.img', 1024 * 1024);
    expect(check({ ide: { primaryMaster: { kind: 'disk', path: disk }, primarySlave: { kind: 'disk', path: disk } } })).toEqual([
      { field: 'ide.primarySlave.path', message: `IDE primary slave uses the same image as IDE primary master (${disk}); an image can be attached only once` },
    ]);
    const fd = file('boot.img', 1474560);
    // Also through a different spelling of the same path.
    expect(check({ floppyA: fd, floppyB: join(dir, '.', 'x', '..', 'boot.img') })).toEqual([
      { field: 'floppyB', message: `Floppy B uses the same image as Floppy A (${join(dir, '.', 'x', '..', 'boot.img')}); an image can be attached only once` },
    ]);
  });

  it('network adapter and network combinations', () => {
    expect(check({ nic: { model: 'none', network: 'none' } })).toEqual([]);
    expect(check({ nic: { model: 'ne2k-pci', network: 'none' } })).toEqual([]);
    expect(check({ nic: { model: 'none', network: 'nat' } })).toEqual([
      { field: 'nic.network', message: 'Network "nat" needs a network adapter; choose an adapter or set the network to "none"' },
    ]);
    expect(check({ nic: { model: 'rtl8139', network: 'lan' } })).toEqual([
      { field: 'nic.lanSegment', message: 'A LAN segment name is required for the "lan" network (VMs on the same segment see each other)' },
    ]);
    expect(check({ nic: { model: 'rtl8139', network: 'lan', lanSegment: 'lab 1' } })).toEqual([
      { field: 'nic.lanSegment', message: 'LAN segment "lab 1" must be 1-32 letters, digits, ".", "_" or "-", starting with a letter or digit' },
    ]);
    expect(check({ nic: { model: 'rtl8139', network: 'lan', lanSegment: 'lab-1' } })).toEqual([]);
    expect(check({ nic: { model: 'e1000', network: 'bridge' } })).toEqual([
      { field: 'nic.model', message: 'Unknown network adapter "e1000"; choose one of ne2k-pci, ne2k-isa, rtl8139, none' },
      { field: 'nic.network', message: 'Unknown network mode "bridge"; choose one of nat, lan, none' },
    ]);
  });

  it('display and notes', () => {
    expect(check({ display: { adapter: 'std-vga', vramMiB: 64 } })).toEqual([]);
    expect(check({ display: { vramMiB: 12 } })).toEqual([{ field: 'display.vramMiB', message: 'Video memory must be a power of two between 1 and 64 MiB, not 12' }]);
    expect(check({ notes: 'n'.repeat(20_001) })).toEqual([{ field: 'notes', message: 'Notes are too long: 20001 characters, at most 20000' }]);
  });

  it('never throws on garbage, reporting each field', () => {
    const issues = validateSettings({ name: null, ide: 5, nic: 'x', display: [] } as unknown as VmSettings, ctx);
    expect(issues.map((i) => i.field)).toEqual(['name', 'osPreset', 'memoryMiB', 'cpuModel', 'firmware', 'bootOrder', 'ide', 'nic', 'display', 'notes']);
    expect(validateSettings(null as unknown as VmSettings, ctx)).toEqual([{ field: '', message: 'Settings must be an object' }]);
  });
});
