// PCI at POST and the PCI BIOS: setupPci() routes PIRQA-D, enables the PM I/O block, assigns
// BARs and writes each function's interrupt line; PciBios answers INT 1Ah AX=B1xxh (real or
// V86 mode, results in the interrupt frame's CF) and the same calls through the 32-bit entry
// found with the BIOS32 service directory (protected mode, results in the live CF).

import type { PcMachine } from '../board/pc.js';
import { AH, AL, AX, BH, BL, BX, CF, CL, CX, DI, DX, ES, FirmwareContext, SI } from './context.js';
import { BIOS_SEGMENT, ENTRY } from './rom.js';
import { IOAPIC_ADDRESS, IOAPIC_ID, PIRQ_IRQS, PM_BASE, SCI_IRQ, pciIrq } from './platform.js';

const PCI_SIGNATURE = 0x20494350; // "PCI "
const PCI_SERVICE_ID = 0x49435024; // "$PCI"
const SUCCESSFUL = 0x00, FUNC_NOT_SUPPORTED = 0x81, BAD_VENDOR_ID = 0x83, DEVICE_NOT_FOUND = 0x86;
const BAD_REGISTER_NUMBER = 0x87, BUFFER_TOO_SMALL = 0x89;
const IO_BAR_START = 0xc000, MEM_BAR_START = 0xe0000000;
/** IRQs a PIRQ may be routed to (SeaBIOS's mask): 3-7, 9-12, 14, 15. */
const ROUTABLE_IRQS = 0xdef8;

/** POST: PIRQ routing, ELCR, ACPI PM I/O block, BARs, command registers, interrupt lines. */
export function setupPci(m: PcMachine): void {
  const bus = m.pci;
  for (let p = 0; p < 4; p++) m.piix3.writeConfig(0x60 + p, PIRQ_IRQS[p], 1);
  let elcr = 0;
  for (const irq of PIRQ_IRQS) elcr |= 1 << irq;
  m.io.out8(0x4d0, elcr & 0xff);
  m.io.out8(0x4d1, elcr >> 8);
  // PIIX4 PM: PMBA, PMREGMISC enable; its interrupt is the SCI (ISA IRQ 9).
  m.acpi.writeConfig(0x40, PM_BASE | 1, 4);
  m.acpi.writeConfig(0x80, 1, 1);
  m.acpi.writeConfig(0x3c, SCI_IRQ, 1);
  // I/O APIC ID 1 (the local APIC has ID 0), as the MP table and MADT say.
  m.memory.write32(IOAPIC_ADDRESS, 0);
  m.memory.write32(IOAPIC_ADDRESS + 0x10, IOAPIC_ID << 24);

  type Bar = { devfn: number; off: number; size: number; io: boolean };
  const bars: Bar[] = [];
  for (const [devfn, f] of [...bus.functions].sort((a, b) => a[0] - b[0])) {
    if ((f.readConfig(0x0e, 1) & 0x7f) !== 0) continue; // bridges: none on this board
    for (let i = 0; i < 6; i++) {
      const off = 0x10 + i * 4;
      const old = f.readConfig(off, 4);
      f.writeConfig(off, 0xffffffff, 4);
      const probe = f.readConfig(off, 4) >>> 0;
      f.writeConfig(off, old, 4);
      if (probe === 0 || probe === 0xffffffff) continue;
      const io = (probe & 1) === 1;
      const mask = io ? (probe | 0xffff0000) & ~3 : probe & ~0xf;
      const size = (~mask + 1) >>> 0;
      if (size === 0) continue;
      bars.push({ devfn, off, size, io });
      if (!io && (probe & 6) === 4) i++; // 64-bit BAR: the next one is its high half
    }
  }
  // Largest first keeps every BAR naturally aligned without gaps.
  bars.sort((a, b) => b.size - a.size);
  let ioNext = IO_BAR_START, memNext = MEM_BAR_START;
  for (const b of bars) {
    const f = bus.functions.get(b.devfn)!;
    if (b.io) {
      const base = Math.ceil(ioNext / b.size) * b.size;
      if (base + b.size > 0x10000) continue;
      f.writeConfig(b.off, base, 4);
      ioNext = base + b.size;
    } else {
      const base = Math.ceil(memNext / b.size) * b.size;
      if (base + b.size > IOAPIC_ADDRESS) continue;
      f.writeConfig(b.off, base, 4);
      memNext = base + b.size;
    }
  }
  for (const [devfn, f] of bus.functions) {
    const cls = f.readConfig(0x0a, 2);
    if (cls === 0x0600 || cls === 0x0601) continue; // host and ISA bridges decode already
    const hasIo = bars.some((b) => b.devfn === devfn && b.io);
    const hasMem = bars.some((b) => b.devfn === devfn && !b.io);
    const legacyIde = cls === 0x0101;
    const cmd = f.readConfig(0x04, 2) | (hasIo || legacyIde ? 1 : 0) | (hasMem ? 2 : 0) | (hasIo || hasMem ? 4 : 0);
    f.writeConfig(0x04, cmd, 2);
    const pin = f.readConfig(0x3d, 1);
    if (devfn === m.acpi.devfn) continue;
    if (pin >= 1 && pin <= 4) f.writeConfig(0x3c, pciIrq(devfn >> 3, pin), 1);
    else if (legacyIde) f.writeConfig(0x3c, 14, 1);
  }
}

/** A register view for one call: real mode (frame CF) or 32-bit entry (live CF). */
export class PciBios {
  constructor(private readonly fw: FirmwareContext, private readonly machine: PcMachine) {}

  /** INT 1Ah AH=B1h from real or V86 mode. */
  int1a(): void {
    this.call(false);
  }

  /** The 32-bit PCI BIOS entry (far call from 32-bit protected mode, RETF). */
  entry32(): void {
    this.call(true);
  }

  /** BIOS32 service directory: EAX = service id, EBX = 0. */
  bios32Directory(): void {
    const fw = this.fw;
    if (fw.r32(BX) !== 0) { fw.set8(AL, 0x81); return; }
    if (fw.r32(AX) !== PCI_SERVICE_ID) { fw.set8(AL, 0x80); return; }
    fw.set8(AL, 0);
    fw.set32(BX, BIOS_SEGMENT << 4);
    fw.set32(CX, 0x10000);
    fw.set32(DX, ENTRY.pci32);
  }

  private setCarry(live: boolean, on: boolean): void {
    if (live) {
      const cpu = this.fw.cpu;
      cpu.materializeFlags();
      cpu.flags = on ? cpu.flags | CF : cpu.flags & ~CF;
    } else {
      this.fw.setCallerFlag(CF, on);
    }
  }

  private done(live: boolean, status: number): void {
    this.fw.set8(AH, status);
    this.setCarry(live, status !== SUCCESSFUL);
  }

  private call(live: boolean): void {
    const fw = this.fw, bus = this.machine.pci;
    const al = fw.r8(AL);
    const target = () => (fw.r8(BH) === 0 ? bus.functions.get(fw.r8(BL)) : undefined);
    switch (al) {
      case 0x01:
        fw.set32(DX, PCI_SIGNATURE);
        fw.set8(AL, 0x01); // configuration mechanism #1
        fw.set16(BX, 0x0210);
        fw.set8(CL, 0); // last bus
        fw.set32(DI, (BIOS_SEGMENT << 4) + ENTRY.pci32);
        this.done(live, SUCCESSFUL);
        return;
      case 0x02: {
        const vendor = fw.r16(DX), device = fw.r16(CX);
        if (vendor === 0xffff) { this.done(live, BAD_VENDOR_ID); return; }
        const hit = this.find((f) => f.readConfig(0, 2) === vendor && f.readConfig(2, 2) === device, fw.r16(SI));
        if (hit < 0) { this.done(live, DEVICE_NOT_FOUND); return; }
        fw.set16(BX, hit);
        this.done(live, SUCCESSFUL);
        return;
      }
      case 0x03: {
        const cls = fw.r32(CX) & 0xffffff;
        const hit = this.find((f) => f.readConfig(8, 4) >>> 8 === cls, fw.r16(SI));
        if (hit < 0) { this.done(live, DEVICE_NOT_FOUND); return; }
        fw.set16(BX, hit);
        this.done(live, SUCCESSFUL);
        return;
      }
      case 0x08: case 0x09: case 0x0a: case 0x0b: case 0x0c: case 0x0d: {
        const size = al === 0x08 || al === 0x0b ? 1 : al === 0x09 || al === 0x0c ? 2 : 4;
        const reg = fw.r16(DI);
        if (reg > 0xff || reg & (size - 1)) { this.done(live, BAD_REGISTER_NUMBER); return; }
        const f = target();
        if (al <= 0x0a) {
          const v = f ? f.readConfig(reg, size) >>> 0 : size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
          if (size === 1) fw.set8(CL, v);
          else if (size === 2) fw.set16(CX, v);
          else fw.set32(CX, v);
        } else if (f) {
          f.writeConfig(reg, size === 1 ? fw.r8(CL) : size === 2 ? fw.r16(CX) : fw.r32(CX), size);
        }
        this.done(live, SUCCESSFUL);
        return;
      }
      case 0x0e: return this.routingOptions(live);
      default:
        this.done(live, FUNC_NOT_SUPPORTED);
    }
  }

  /** devfn of the index-th function matching, or -1. */
  private find(match: (f: { readConfig(o: number, s: number): number }) => boolean, index: number): number {
    const devfns = [...this.machine.pci.functions.keys()].sort((a, b) => a - b);
    for (const d of devfns) {
      const f = this.machine.pci.functions.get(d)!;
      if (f.readConfig(0, 2) === 0xffff || !match(f)) continue;
      if (index-- === 0) return d;
    }
    return -1;
  }

  /** One 16-byte routing entry per PCI slot in use: links are the PIIX3 registers 60h-63h. */
  routingTable(): Uint8Array {
    const slots = [...new Set([...this.machine.pci.functions.keys()].map((d) => d >> 3))].filter((s) => s > 0).sort((a, b) => a - b);
    const out = new Uint8Array(slots.length * 16);
    slots.forEach((slot, i) => {
      const e = i * 16;
      out[e] = 0;
      out[e + 1] = slot << 3;
      for (let pin = 0; pin < 4; pin++) {
        out[e + 2 + pin * 3] = 0x60 + ((pin + slot - 1) & 3);
        out[e + 3 + pin * 3] = ROUTABLE_IRQS & 0xff;
        out[e + 4 + pin * 3] = ROUTABLE_IRQS >> 8;
      }
      out[e + 14] = slot;
    });
    return out;
  }

  /** AX=B10Eh: ES:(E)DI → { u16 size; far pointer to the buffer }. */
  private routingOptions(live: boolean): void {
    const fw = this.fw;
    const table = this.routingTable();
    const esBase = fw.segBase(ES);
    const p = (esBase + (live ? fw.r32(DI) : fw.r16(DI))) >>> 0;
    const room = fw.read16(p);
    fw.write16(p, table.length);
    if (room < table.length) { this.done(live, BUFFER_TOO_SMALL); return; }
    // 16-bit callers: offset:segment; 32-bit callers: 32-bit offset then the selector (its
    // base taken as ES's, which is what callers pass).
    const dest = live ? (esBase + fw.read32(p + 2)) >>> 0 : ((fw.read16(p + 4) << 4) + fw.read16(p + 2)) >>> 0;
    fw.writeBytes(dest, table);
    let exclusive = 0;
    for (const irq of PIRQ_IRQS) exclusive |= 1 << irq;
    fw.set16(BX, exclusive);
    this.done(live, SUCCESSFUL);
  }
}
