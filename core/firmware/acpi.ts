// ACPI tables for the Perseus BIOS: RSDP → RSDT → FADT (→ FACS, DSDT) and MADT, built at POST
// for the board in core/board/pc.ts (PIIX4-style PM device in core/devices/acpi-pm.ts, I/O APIC,
// PIIX3 PIRQ routing; no HPET). The tables live in the top ACPI_REGION_SIZE bytes of RAM
// (E820 type 3, the FACS in the last 4 KiB as type 4); the RSDP goes to the F segment.
// The DSDT is assembled with aml.ts: \_S5 for soft-off, \_SB.PCI0 with _CRS and a static _PRT.

import * as aml from './aml.js';
import {
  ACPI_DISABLE_VALUE, ACPI_ENABLE_VALUE, ACPI_NVS_SIZE, ACPI_REGION_SIZE, GPE0_BASE, IOAPIC_ADDRESS, IOAPIC_ID,
  LAPIC_ADDRESS, PIRQ_IRQS, PM_BASE, RESET_PORT, RESET_VALUE, S5_SLP_TYP, SCI_IRQ, SMI_CMD_PORT, TableWriter, pciIrq,
} from './platform.js';

export const OEM_ID = 'PRSEUS';
export const OEM_TABLE_ID = 'PERSEUS ';

export interface AcpiInput {
  ramBytes: number;
  /** The CPU has a local APIC (then there is an MADT). */
  hasApic: boolean;
}

export interface AcpiTables {
  /** 20-byte ACPI 1.0 RSDP (put it 16-byte aligned in E0000-FFFFF). */
  rsdp: Uint8Array;
  /** Blobs to copy to RAM at their addresses. */
  blobs: { address: number; bytes: Uint8Array; signature: string }[];
  /** Reclaimable range and NVS range for the E820 map. */
  reclaim: [number, number];
  nvs: [number, number];
}

/** Standard 36-byte description header; length and checksum are patched by finishTable. */
function header(w: TableWriter, signature: string, revision: number): void {
  w.str(signature, 4).u32(0).u8(revision).u8(0).str(OEM_ID, 6).str(OEM_TABLE_ID, 8).u32(1).str('PRSS', 4).u32(1);
}
function finishTable(w: TableWriter): Uint8Array {
  w.set32(4, w.length);
  w.checksum(0, w.length, 9);
  return w.toArray();
}

/** Generic Address Structure in I/O space. */
function gasIo(w: TableWriter, port: number, bits: number, accessSize: number): void {
  w.u8(1).u8(bits).u8(0).u8(accessSize).u64(port);
}

/** The DSDT body: \_S5, \_PIC, \_SB.PCI0 (_HID, _UID, _ADR, _CRS, _PRT). */
export function buildDsdtAml(ramBytes: number): number[] {
  const prt: aml.Aml[] = [];
  for (let slot = 1; slot < 32; slot++) {
    for (let pin = 1; pin <= 4; pin++) {
      // Static form: Source 0, Source Index = the GSI (= the ISA IRQ the PIRQ is routed to).
      prt.push(aml.pkg([aml.integer(((slot << 16) | 0xffff) >>> 0), aml.integer(pin - 1), aml.integer(0), aml.integer(pciIrq(slot, pin))]));
    }
  }
  const crs = aml.resourceTemplate([
    aml.wordSpace('bus', 0, 0xff),
    aml.ioPort(0xcf8, 0xcf8, 1, 8),
    aml.wordSpace('io', 0x0000, 0x0cf7),
    aml.wordSpace('io', 0x0d00, 0xffff),
    aml.dwordMemory(0xa0000, 0xbffff),
    aml.dwordMemory(ramBytes, 0xfebfffff),
  ]);
  return [
    ...aml.name('\\_S5', aml.pkg([aml.integer(S5_SLP_TYP), aml.integer(S5_SLP_TYP), aml.integer(0), aml.integer(0)])),
    ...aml.emptyMethod('\\_PIC', 1),
    ...aml.scope('\\_SB', [
      aml.device('PCI0', [
        aml.name('_HID', aml.integer(aml.eisaId('PNP0A03'))),
        aml.name('_UID', aml.integer(0)),
        aml.name('_ADR', aml.integer(0)),
        aml.name('_CRS', crs),
        aml.name('_PRT', aml.pkg(prt)),
      ]),
    ]),
  ];
}

export function buildAcpiTables(input: AcpiInput): AcpiTables {
  const top = input.ramBytes;
  const base = top - ACPI_REGION_SIZE;
  const facsAddr = top - ACPI_NVS_SIZE;
  let next = base;
  const blobs: AcpiTables['blobs'] = [];
  const place = (signature: string, bytes: Uint8Array): number => {
    const address = next;
    blobs.push({ address, bytes, signature });
    next = (next + bytes.length + 15) & ~15;
    if (next > facsAddr) throw new Error('ACPI tables overflow their region');
    return address;
  };

  // FACS (64 bytes, 64-byte aligned, no checksum).
  const facs = new TableWriter().str('FACS').u32(64).u32(0).u32(0).u32(0).u32(0).u8(1).zeros(31);
  blobs.push({ address: facsAddr, bytes: facs.toArray(), signature: 'FACS' });

  const dsdt = new TableWriter();
  header(dsdt, 'DSDT', 1);
  dsdt.raw(buildDsdtAml(top));
  const dsdtAddr = place('DSDT', finishTable(dsdt));

  // FADT, ACPI 2.0 layout (revision 3, 244 bytes), so it can carry the reset register.
  const f = new TableWriter();
  header(f, 'FACP', 3);
  f.u32(facsAddr).u32(dsdtAddr);
  f.u8(0).u8(0).u16(SCI_IRQ).u32(SMI_CMD_PORT).u8(ACPI_ENABLE_VALUE).u8(ACPI_DISABLE_VALUE).u8(0).u8(0);
  f.u32(PM_BASE).u32(0).u32(PM_BASE + 4).u32(0).u32(0).u32(PM_BASE + 8).u32(GPE0_BASE).u32(0);
  f.u8(4).u8(2).u8(0).u8(4).u8(4).u8(0).u8(0).u8(0);
  f.u16(101).u16(1001); // C2/C3 latencies above the limits: no C2/C3
  f.u16(0).u16(0).u8(0).u8(0).u8(0).u8(0).u8(0x32); // flush, duty cycle, alarms, RTC century
  f.u16(0x0003).u8(0); // IAPC_BOOT_ARCH: legacy devices, 8042
  // Flags: WBINVD, PROC_C1, SLP_BUTTON (no sleep button), RESET_REG_SUP.
  f.u32((1 << 0) | (1 << 2) | (1 << 5) | (1 << 10));
  gasIo(f, RESET_PORT, 8, 1);
  f.u8(RESET_VALUE).zeros(3);
  f.u64(0).u64(dsdtAddr); // X_FIRMWARE_CTRL stays 0: only one FACS pointer may be set
  gasIo(f, PM_BASE, 32, 2); gasIo(f, 0, 0, 0);
  gasIo(f, PM_BASE + 4, 16, 2); gasIo(f, 0, 0, 0);
  gasIo(f, 0, 0, 0);
  gasIo(f, PM_BASE + 8, 32, 3);
  gasIo(f, GPE0_BASE, 32, 1); gasIo(f, 0, 0, 0);
  const fadtAddr = place('FACP', finishTable(f));

  const rsdtEntries = [fadtAddr];
  if (input.hasApic) {
    const m = new TableWriter();
    header(m, 'APIC', 1);
    m.u32(LAPIC_ADDRESS).u32(1); // PCAT_COMPAT: there are 8259s too
    m.u8(0).u8(8).u8(0).u8(0).u32(1); // processor 0, APIC ID 0, enabled
    m.u8(1).u8(12).u8(IOAPIC_ID).u8(0).u32(IOAPIC_ADDRESS).u32(0);
    // ISA overrides: IRQ 0 on pin 2; the SCI and the PCI IRQs are level-triggered, active high.
    m.u8(2).u8(10).u8(0).u8(0).u32(2).u16(0);
    for (const irq of new Set([SCI_IRQ, ...PIRQ_IRQS])) m.u8(2).u8(10).u8(0).u8(irq).u32(irq).u16(0x000d);
    m.u8(4).u8(6).u8(0xff).u16(0).u8(1); // local APIC NMI on LINT1 of every processor
    rsdtEntries.push(place('APIC', finishTable(m)));
  }

  const r = new TableWriter();
  header(r, 'RSDT', 1);
  for (const a of rsdtEntries) r.u32(a);
  const rsdtAddr = place('RSDT', finishTable(r));

  const p = new TableWriter().str('RSD PTR ').u8(0).str(OEM_ID, 6).u8(0).u32(rsdtAddr);
  p.checksum(0, 20, 8);
  return { rsdp: p.toArray(), blobs, reclaim: [base, facsAddr - base], nvs: [facsAddr, ACPI_NVS_SIZE] };
}
