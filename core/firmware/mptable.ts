// Intel MultiProcessor Specification 1.4 tables: the floating pointer structure and the
// configuration table (one processor, buses PCI 0 and ISA 1, the I/O APIC, I/O and local
// interrupt assignments), matching the board's routing in platform.ts. Only on CPUs with a
// local APIC. POST writes both into the F segment.

import { IOAPIC_ADDRESS, IOAPIC_ID, IOAPIC_VERSION, LAPIC_ADDRESS, LAPIC_VERSION, PIRQ_IRQS, SCI_IRQ, TableWriter, pciIrq } from './platform.js';

export interface MpInput {
  /** Physical address the configuration table will be copied to. */
  configAddress: number;
  /** CPUID.1 EAX (signature) and EDX (features). */
  cpuSignature: number;
  cpuFeatures: number;
  /** PCI functions with an interrupt pin: device number and pin (1 = INTA#). */
  pciInterrupts: { slot: number; pin: number }[];
}

const BUS_PCI = 0, BUS_ISA = 1;
const INT = 0, NMI = 1, EXTINT = 3;
/** Interrupt flags: polarity bits 0-1 (1 high, 3 low), trigger bits 2-3 (1 edge, 3 level). */
const LEVEL_HIGH = 0x0d, LEVEL_LOW = 0x0f;

export function buildMpTable(input: MpInput): { floating: Uint8Array; config: Uint8Array } {
  const w = new TableWriter();
  w.str('PCMP').u16(0).u8(4).u8(0).str('PERSEUS', 8).str('PC', 12).u32(0).u16(0).u16(0).u32(LAPIC_ADDRESS).u16(0).u8(0).u8(0);
  let entries = 0;
  // Processor: enabled bootstrap processor.
  w.u8(0).u8(0).u8(LAPIC_VERSION).u8(0x03).u32(input.cpuSignature).u32(input.cpuFeatures).zeros(8);
  w.u8(1).u8(BUS_PCI).str('PCI', 6);
  w.u8(1).u8(BUS_ISA).str('ISA', 6);
  w.u8(2).u8(IOAPIC_ID).u8(IOAPIC_VERSION).u8(0x01).u32(IOAPIC_ADDRESS);
  entries += 4;
  const io = (type: number, flags: number, bus: number, busIrq: number, pin: number) => {
    w.u8(3).u8(type).u16(flags).u8(bus).u8(busIrq).u8(IOAPIC_ID).u8(pin);
    entries++;
  };
  // PCI interrupts: source IRQ = device << 2 | (pin - 1); level, active low.
  for (const { slot, pin } of input.pciInterrupts) io(INT, LEVEL_LOW, BUS_PCI, (slot << 2) | (pin - 1), pciIrq(slot, pin));
  // ISA: the 8259 on pin 0 (ExtINT), IRQ 0 on pin 2, the others on their own pins; IRQ 2 is
  // the cascade and the PCI IRQs are not ISA interrupts. The SCI is level, active high.
  io(EXTINT, 0, BUS_ISA, 0, 0);
  for (let irq = 0; irq < 16; irq++) {
    if (irq === 2 || (PIRQ_IRQS as readonly number[]).includes(irq)) continue;
    io(INT, irq === SCI_IRQ ? LEVEL_HIGH : 0, BUS_ISA, irq, irq === 0 ? 2 : irq);
  }
  // Local interrupts: ExtINT to LINT0, NMI to LINT1 of every local APIC.
  w.u8(4).u8(EXTINT).u16(0).u8(BUS_ISA).u8(0).u8(0xff).u8(0);
  w.u8(4).u8(NMI).u16(0).u8(BUS_ISA).u8(0).u8(0xff).u8(1);
  entries += 2;
  w.set16(4, w.length);
  w.set16(34, entries);
  w.checksum(0, w.length, 7);

  const f = new TableWriter().str('_MP_').u32(input.configAddress).u8(1).u8(4).u8(0).u8(0).u8(0).u8(0).u8(0).u8(0);
  f.checksum(0, 16, 10);
  return { floating: f.toArray(), config: w.toArray() };
}
