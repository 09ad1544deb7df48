// Guest OS presets: the defaults a new VM gets for its kind of guest.
import type { GuestOsPreset, VmSettings } from '../../core/api/contract.js';

export interface PresetInfo {
  preset: GuestOsPreset;
  label: string;
  /** Size the UI and `perseus disk create` suggest for a new hard disk, in MiB. */
  suggestedDiskMiB: number;
  /** Defaults for every setting except the name. */
  defaults: Omit<VmSettings, 'name'>;
}

function emptyIde(): VmSettings['ide'] {
  return { primaryMaster: null, primarySlave: null, secondaryMaster: null, secondarySlave: null };
}

// DOS: small memory, an ISA NE2000 (what DOS packet drivers expect), floppy first, and a
// 504 MiB disk, the largest a BIOS without LBA translation addresses (1024/16/63 CHS).
// Windows 9x: Pentium II, 64 MiB, PCI NE2000, CD first for installation.
// Linux: more memory and the RTL8139 that every i386 kernel has a driver for.
const PRESETS: Record<GuestOsPreset, PresetInfo> = {
  dos: {
    preset: 'dos',
    label: 'MS-DOS / FreeDOS',
    suggestedDiskMiB: 504,
    defaults: {
      osPreset: 'dos',
      memoryMiB: 32,
      cpuModel: 'pentium',
      firmware: 'builtin',
      bootOrder: 'acd',
      floppyA: null,
      floppyB: null,
      ide: { ...emptyIde(), secondaryMaster: { kind: 'cdrom', path: null } },
      nic: { model: 'ne2k-isa', network: 'nat' },
      display: { adapter: 'std-vga', vramMiB: 8 },
      notes: '',
    },
  },
  win9x: {
    preset: 'win9x',
    label: 'Windows 95 / 98 / ME',
    suggestedDiskMiB: 2048,
    defaults: {
      osPreset: 'win9x',
      memoryMiB: 64,
      cpuModel: 'pentium2',
      firmware: 'builtin',
      bootOrder: 'cda',
      floppyA: null,
      floppyB: null,
      ide: { ...emptyIde(), secondaryMaster: { kind: 'cdrom', path: null } },
      nic: { model: 'ne2k-pci', network: 'nat' },
      display: { adapter: 'std-vga', vramMiB: 16 },
      notes: '',
    },
  },
  linux: {
    preset: 'linux',
    label: 'Linux (i386)',
    suggestedDiskMiB: 8192,
    defaults: {
      osPreset: 'linux',
      memoryMiB: 256,
      cpuModel: 'pentium2',
      firmware: 'builtin',
      bootOrder: 'cda',
      floppyA: null,
      floppyB: null,
      ide: { ...emptyIde(), secondaryMaster: { kind: 'cdrom', path: null } },
      nic: { model: 'rtl8139', network: 'nat' },
      display: { adapter: 'std-vga', vramMiB: 16 },
      notes: '',
    },
  },
  other: {
    preset: 'other',
    label: 'Other',
    suggestedDiskMiB: 2048,
    defaults: {
      osPreset: 'other',
      memoryMiB: 64,
      cpuModel: 'pentium2',
      firmware: 'builtin',
      bootOrder: 'cda',
      floppyA: null,
      floppyB: null,
      ide: { ...emptyIde(), secondaryMaster: { kind: 'cdrom', path: null } },
      nic: { model: 'ne2k-pci', network: 'nat' },
      display: { adapter: 'std-vga', vramMiB: 16 },
      notes: '',
    },
  },
};

export function presetInfo(preset: GuestOsPreset): PresetInfo {
  return structuredClone(PRESETS[preset]);
}

/** A fresh, deep-copied set of defaults for the preset (callers may mutate it). */
export function presetDefaults(preset: GuestOsPreset): Omit<VmSettings, 'name'> {
  return structuredClone(PRESETS[preset].defaults);
}

export function listPresets(): PresetInfo[] {
  return Object.values(PRESETS).map((p) => structuredClone(p));
}
