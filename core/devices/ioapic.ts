// Intel 82093AA I/O APIC at 0xFEC00000 (24 pins): IOREGSEL at offset 0x00, IOWIN at 0x10.
//
// Wiring: memory.mapMmio('ioapic', 0xfec00000, 4096, ioapic); irqs.addSink(ioapic) (ISA IRQ
// n arrives on pin n, IRQ 0 on pin 2 as SeaBIOS's MADT override says); ioapic.deliver sends
// a vector to the local APIC; the local APIC's EOI of a level-triggered vector calls
// ioapic.eoi(vector) to clear Remote IRR and re-deliver a line still asserted.
// This machine has one CPU, so destinations are not decoded: every unmasked fixed/lowest
// priority interrupt goes to it.

import type { MmioHandler } from '../bus/memory.js';
import type { IrqSink } from '../bus/irq.js';
import type { Stateful, VMStateDecl } from '../state/vmstate.js';

export const IOAPIC_PINS = 24;
const MASKED = 1 << 16, LEVEL = 1 << 15, REMOTE_IRR = 1 << 14, DELIVERY_STATUS = 1 << 12;

export class IoApic implements MmioHandler, IrqSink, Stateful {
  readonly vmstate: VMStateDecl = {
    name: 'ioapic',
    version: 1,
    fields: [
      { name: 'id', type: 'u8' }, { name: 'select', type: 'u8' },
      { name: 'redirLow', type: 'u32[]', length: IOAPIC_PINS }, { name: 'redirHigh', type: 'u32[]', length: IOAPIC_PINS },
      { name: 'pinLevels', type: 'u32' },
    ],
  };
  id = 0;
  select = 0;
  readonly redirLow = new Uint32Array(IOAPIC_PINS);
  readonly redirHigh = new Uint32Array(IOAPIC_PINS);
  /** Bit n: input pin n is asserted. */
  pinLevels = 0;
  /** Deliver `vector` to the CPU's local APIC (level = level-triggered, needs an EOI). */
  deliver: (vector: number, level: boolean) => void = () => {};
  /** NMI / ExtINT delivery modes. */
  deliverNmi: () => void = () => {};

  reset(): void {
    this.id = 0;
    this.select = 0;
    this.redirLow.fill(MASKED);
    this.redirHigh.fill(0);
    this.pinLevels = 0;
  }

  constructor() {
    this.reset();
  }

  setIrq(irq: number, level: boolean): void {
    const pin = irq === 0 ? 2 : irq;
    this.setPin(pin, level);
  }

  setPin(pin: number, level: boolean): void {
    const bit = 1 << pin;
    const was = (this.pinLevels & bit) !== 0;
    this.pinLevels = level ? this.pinLevels | bit : this.pinLevels & ~bit;
    const entry = this.redirLow[pin];
    if (entry & LEVEL) {
      if (level) this.service(pin);
    } else if (level && !was) {
      this.service(pin);
    }
  }

  private service(pin: number): void {
    const entry = this.redirLow[pin];
    if (entry & MASKED) return;
    const level = (entry & LEVEL) !== 0;
    if (level) {
      if (entry & REMOTE_IRR) return;
      if (!(this.pinLevels & (1 << pin))) return;
      this.redirLow[pin] = entry | REMOTE_IRR;
    }
    const mode = (entry >> 8) & 7;
    switch (mode) {
      case 0: // fixed
      case 1: // lowest priority
        this.deliver(entry & 0xff, level);
        break;
      case 4: // NMI
        this.deliverNmi();
        break;
      default: // SMI, INIT, ExtINT (the PIC path through LINT0 serves ExtINT)
        break;
    }
  }

  /** EOI broadcast from the local APIC for a level-triggered vector. */
  eoi(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const e = this.redirLow[pin];
      if ((e & 0xff) === vector && e & REMOTE_IRR) {
        this.redirLow[pin] = e & ~REMOTE_IRR;
        if (this.pinLevels & (1 << pin)) this.service(pin);
      }
    }
  }

  private readRegister(): number {
    const r = this.select;
    if (r === 0) return this.id << 24;
    if (r === 1) return ((IOAPIC_PINS - 1) << 16) | 0x11; // version 0x11
    if (r === 2) return this.id << 24; // arbitration ID
    if (r >= 0x10 && r < 0x10 + IOAPIC_PINS * 2) {
      const pin = (r - 0x10) >> 1;
      return r & 1 ? this.redirHigh[pin] : this.redirLow[pin] & ~DELIVERY_STATUS;
    }
    return 0;
  }

  private writeRegister(v: number): void {
    const r = this.select;
    if (r === 0) {
      this.id = (v >>> 24) & 0x0f;
      return;
    }
    if (r >= 0x10 && r < 0x10 + IOAPIC_PINS * 2) {
      const pin = (r - 0x10) >> 1;
      if (r & 1) {
        this.redirHigh[pin] = v & 0xff000000;
        return;
      }
      const ro = REMOTE_IRR | DELIVERY_STATUS;
      let next = ((v & ~ro) | (this.redirLow[pin] & ro)) >>> 0;
      if (!(next & LEVEL)) next &= ~REMOTE_IRR;
      this.redirLow[pin] = next;
      // Unmasking a level-triggered pin that is asserted delivers it.
      if (!(next & MASKED) && next & LEVEL && this.pinLevels & (1 << pin)) this.service(pin);
    }
  }

  read32(offset: number): number {
    if (offset === 0) return this.select;
    if (offset === 0x10) return this.readRegister() | 0;
    return 0;
  }

  write32(offset: number, value: number): void {
    if (offset === 0) this.select = value & 0xff;
    else if (offset === 0x10) this.writeRegister(value >>> 0);
    else if (offset === 0x40) this.eoi(value & 0xff); // EOI register of newer I/O APICs
  }

  read8(offset: number): number {
    const v = this.read32(offset & ~3);
    return (v >>> ((offset & 3) * 8)) & 0xff;
  }

  write8(offset: number, value: number): void {
    if (offset === 0) this.select = value;
    else if ((offset & ~3) === 0x10) {
      const shift = (offset & 3) * 8;
      const cur = this.readRegister();
      this.writeRegister(((cur & ~(0xff << shift)) | (value << shift)) >>> 0);
    }
  }
}
