// POST: the platform tables. The F segment is shadowed to RAM (PAM: write RAM while reading the
// ROM, copy, then read-write), the RSDP, MP floating pointer + configuration table and SMBIOS
// go to its reserved area (platform.ts FSEG_TABLES_*), the ACPI tables to the top of RAM, and
// the F segment is then made read-only again. Guests search the F segment for "RSD PTR ",
// "_MP_" and "_SM_" (the E0000-FFFFF range for "_32_", which is in the ROM itself).

import type { PcMachine } from '../board/pc.js';
import { CPU_MODELS, cpuidLeaf, type CpuModelName } from '../cpu/system/cpuid.js';
import { buildAcpiTables } from './acpi.js';
import { buildMpTable } from './mptable.js';
import { ACPI_NVS_SIZE, ACPI_REGION_SIZE, FSEG_TABLES_OFFSET, FSEG_TABLES_SIZE } from './platform.js';
import { BIOS_SEGMENT } from './rom.js';
import { buildSmbios } from './smbios.js';

const PAM_F_SEGMENT = 0x59;
const FSEG = BIOS_SEGMENT << 4;
/** SMBIOS processor family per CPU model. */
const SMBIOS_FAMILY: Record<CpuModelName, number> = { pentium2: 0x12, 'pentium-pro': 0x11, pentium: 0x0b, '486': 0x06 };

export interface InstalledTables {
  /** Extra E820 entries [base, length, type] (ACPI reclaimable and NVS). */
  e820: [number, number, number][];
  rsdpAddress: number;
  mpFloatingAddress: number;
  smbiosEntryAddress: number;
}

function setPam(m: PcMachine, attr: number): void {
  const v = m.hostBridge.readConfig(PAM_F_SEGMENT, 1);
  m.hostBridge.writeConfig(PAM_F_SEGMENT, (v & 0x0f) | (attr << 4), 1);
}

export function cpuSignature(m: PcMachine): { signature: number; features: number; model: CpuModelName; hasApic: boolean } {
  const facts = m.cpu as unknown as { model?: CpuModelName; hasApic?: boolean; hasMmx?: boolean };
  const model = facts.model ?? 'pentium2';
  const out = new Int32Array(4);
  cpuidLeaf(model, facts.hasApic === true, facts.hasMmx === true, 0, 1, out);
  return { signature: out[0] >>> 0, features: out[3] >>> 0, model, hasApic: facts.hasApic === true };
}

const MIN_RAM_FOR_TABLES = 4 * 1024 * 1024;

/**
 * The E820 entries of the ACPI region for a RAM size (empty when POST installs no tables). A
 * function of the configuration only, so a machine restored from a saved state reports the
 * same map as the one that ran POST.
 */
export function tablesE820(ramBytes: number): [number, number, number][] {
  if (ramBytes < MIN_RAM_FOR_TABLES) return [];
  const nvs = ramBytes - ACPI_NVS_SIZE;
  return [[ramBytes - ACPI_REGION_SIZE, nvs - (ramBytes - ACPI_REGION_SIZE), 3], [nvs, ACPI_NVS_SIZE, 4]];
}

export function installTables(m: PcMachine): InstalledTables | null {
  const mem = m.memory;
  const ram = mem.ramSize;
  if (ram < MIN_RAM_FOR_TABLES) return null; // no room worth reserving for tables
  // Shadow the F segment: reads come from the ROM, writes go to RAM; copy; then RAM read-write.
  setPam(m, 2);
  const rom = new Uint8Array(0x10000);
  for (let i = 0; i < rom.length; i++) rom[i] = mem.read8(FSEG + i);
  for (let i = 0; i < rom.length; i++) mem.write8(FSEG + i, rom[i]);
  setPam(m, 3);

  const cpu = cpuSignature(m);
  let at = FSEG + FSEG_TABLES_OFFSET;
  const end = at + FSEG_TABLES_SIZE;
  const put = (bytes: Uint8Array, align = 16): number => {
    at = Math.ceil(at / align) * align;
    if (at + bytes.length > end) throw new Error('firmware tables overflow the F-segment area');
    mem.writeBytes(at, bytes);
    const a = at;
    at += bytes.length;
    return a;
  };

  const acpi = buildAcpiTables({ ramBytes: ram, hasApic: cpu.hasApic });
  for (const b of acpi.blobs) mem.writeBytes(b.address, b.bytes);
  const rsdpAddress = put(acpi.rsdp);

  let mpFloatingAddress = 0;
  if (cpu.hasApic) {
    const pciInterrupts: { slot: number; pin: number }[] = [];
    for (const [devfn, f] of m.pci.functions) {
      const pin = f.readConfig(0x3d, 1);
      if (pin >= 1 && pin <= 4 && devfn >> 3 > 0 && devfn !== m.acpi.devfn) pciInterrupts.push({ slot: devfn >> 3, pin });
    }
    // The floating pointer must be 16-byte aligned; the config table follows it.
    const floatAt = Math.ceil(at / 16) * 16;
    const mp = buildMpTable({ configAddress: floatAt + 16, cpuSignature: cpu.signature, cpuFeatures: cpu.features, pciInterrupts });
    mpFloatingAddress = put(mp.floating);
    put(mp.config, 1);
  }

  const smbiosEntryAt = Math.ceil(at / 16) * 16;
  const uuid = new Uint8Array(16);
  // A stable per-configuration UUID (version 4 bits set); the machine has no serial number.
  for (let i = 0; i < 16; i++) uuid[i] = (ram / 1048576 * 37 + i * 71 + 0x5a) & 0xff;
  uuid[6] = (uuid[6] & 0x0f) | 0x40;
  uuid[8] = (uuid[8] & 0x3f) | 0x80;
  const smbios = buildSmbios({
    tableAddress: smbiosEntryAt + 32,
    ramBytes: ram,
    cpuSignature: cpu.signature,
    cpuFeatures: cpu.features,
    cpuFamily: SMBIOS_FAMILY[cpu.model] ?? 0x02,
    cpuVersion: CPU_MODELS[cpu.model]?.brand ?? cpu.model,
    biosDate: '11/23/2026',
    uuid,
  });
  const smbiosEntryAddress = put(smbios.entry);
  put(smbios.table);
  if (smbiosEntryAddress !== smbiosEntryAt) throw new Error('SMBIOS layout mismatch');
  setPam(m, 1);
  return {
    e820: [[acpi.reclaim[0], acpi.reclaim[1], 3], [acpi.nvs[0], acpi.nvs[1], 4]],
    rsdpAddress,
    mpFloatingAddress,
    smbiosEntryAddress,
  };
}
