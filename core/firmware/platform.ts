// Board facts the firmware tables must agree on (ACPI, MP table, PCI BIOS, POST's PCI setup),
// and a little byte writer for building those tables.
//
// Interrupt routing (as SeaBIOS sets up QEMU's pc machine): PIIX3 PIRQA-D → ISA IRQ 10, 10,
// 11, 11, level-triggered in the ELCR; device slot s, pin p (1 = INTA#) uses PIRQ
// (p - 1 + s - 1) & 3 (core/bus/pci.ts pirqOf). The ACPI SCI is ISA IRQ 9. The I/O APIC sees
// ISA IRQ n on pin n, except IRQ 0 on pin 2.

export const PIRQ_IRQS = [10, 10, 11, 11] as const;
export const SCI_IRQ = 9;
/** PIIX4 PM I/O block (PMBA): PM1a event at +0, PM1a control at +4, PM timer at +8. */
export const PM_BASE = 0x600;
export const GPE0_BASE = 0xafe0;
export const SMI_CMD_PORT = 0xb2;
export const ACPI_ENABLE_VALUE = 0xf1, ACPI_DISABLE_VALUE = 0xf0;
/** SLP_TYP that core/devices/acpi-pm.ts takes for soft-off (S5). */
export const S5_SLP_TYP = 0;
export const LAPIC_ADDRESS = 0xfee00000;
export const IOAPIC_ADDRESS = 0xfec00000;
/** The local APIC has ID 0, so POST gives the I/O APIC ID 1 (IDs must differ on the APIC bus). */
export const IOAPIC_ID = 1;
export const IOAPIC_VERSION = 0x11;
export const LAPIC_VERSION = 0x14;
export const RESET_PORT = 0xcf9, RESET_VALUE = 0x06;

/** Top of RAM reserved for the ACPI tables: the last 4 KiB (FACS) as NVS, the rest reclaimable. */
export const ACPI_REGION_SIZE = 0x10000;
export const ACPI_NVS_SIZE = 0x1000;

/** F-segment area (shadowed to RAM at POST) for the RSDP, MP table and SMBIOS: F000:0000-0FFF. */
export const FSEG_TABLES_OFFSET = 0x0000;
export const FSEG_TABLES_SIZE = 0x1000;

/** ISA IRQ of PCI device `slot`'s interrupt pin (1-4), after POST's PIRQ setup. */
export function pciIrq(slot: number, pin: number): number {
  return PIRQ_IRQS[(pin - 1 + slot - 1) & 3];
}

/** Little-endian byte writer with ACPI/MP/SMBIOS-style checksums. */
export class TableWriter {
  readonly bytes: number[] = [];
  get length(): number { return this.bytes.length; }
  u8(v: number): this { this.bytes.push(v & 0xff); return this; }
  u16(v: number): this { return this.u8(v).u8(v >> 8); }
  u32(v: number): this { return this.u16(v & 0xffff).u16(v >>> 16); }
  u64(v: number): this { return this.u32(v >>> 0).u32(Math.floor(v / 0x100000000)); }
  /** ASCII text, padded with `pad` (or cut) to `width` when given. */
  str(s: string, width?: number, pad = ' '): this {
    const t = width === undefined ? s : s.slice(0, width).padEnd(width, pad);
    for (const c of t) this.u8(c.charCodeAt(0));
    return this;
  }
  zeros(n: number): this { for (let i = 0; i < n; i++) this.u8(0); return this; }
  raw(b: ArrayLike<number>): this { for (let i = 0; i < b.length; i++) this.u8(b[i]); return this; }
  align(n: number): this { while (this.bytes.length % n) this.u8(0); return this; }
  set8(off: number, v: number): void { this.bytes[off] = v & 0xff; }
  set16(off: number, v: number): void { this.set8(off, v); this.set8(off + 1, v >> 8); }
  set32(off: number, v: number): void { this.set16(off, v & 0xffff); this.set16(off + 2, v >>> 16); }
  /** Make bytes [start, start+len) sum to 0 mod 256 by writing the byte at `at`. */
  checksum(start: number, len: number, at: number): void {
    this.bytes[at] = 0;
    let sum = 0;
    for (let i = start; i < start + len; i++) sum += this.bytes[i];
    this.bytes[at] = (0x100 - (sum & 0xff)) & 0xff;
  }
  toArray(): Uint8Array { return Uint8Array.from(this.bytes); }
}

/** Sum of bytes mod 256 (0 for a valid table). */
export function byteSum(b: ArrayLike<number>, start = 0, len = b.length - start): number {
  let s = 0;
  for (let i = start; i < start + len; i++) s += b[i];
  return s & 0xff;
}
