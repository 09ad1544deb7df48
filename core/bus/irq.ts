// Interrupt lines of the PC: 16 ISA IRQ lines feeding the 8259 pair and the I/O APIC.
//
// Several sources may share a line (PCI INTx routed through the PIIX3 PIRQ registers lands
// on an ISA IRQ); each source owns a bit and the line is the OR of the bits, like the wired-OR
// of shared level-triggered lines. The PIC sees the line through its own edge/level logic
// (ELCR); the I/O APIC sees ISA IRQ n on pin n, except IRQ 0 which is wired to pin 2 (the
// interrupt source override SeaBIOS's MADT/MP table announces).

export interface IrqSink {
  setIrq(irq: number, level: boolean): void;
}

export interface IrqLine {
  set(level: boolean): void;
}

export class IsaIrqs {
  /** Per line: bit mask of asserting sources. */
  private readonly sources = new Uint32Array(16);
  private nextSourceBit = 0;
  private readonly sinks: IrqSink[] = [];
  /** Current level of each line (bit n = IRQ n). */
  levels = 0;

  addSink(sink: IrqSink): void {
    this.sinks.push(sink);
  }

  /** A new source on `irq`; returns the line setter the device calls. */
  line(irq: number): IrqLine {
    const bit = 1 << (this.nextSourceBit++ & 31);
    return { set: (level: boolean) => this.setSource(irq, bit, level) };
  }

  /** A source that is re-routable (PCI PIRQ): returns a setter taking the IRQ each time. */
  allocateSourceBit(): number {
    return 1 << (this.nextSourceBit++ & 31);
  }

  setSource(irq: number, bit: number, level: boolean): void {
    irq &= 15;
    const before = this.sources[irq];
    const after = level ? before | bit : before & ~bit;
    if (after === before) return;
    this.sources[irq] = after;
    const lineLevel = after !== 0;
    if (lineLevel === (before !== 0)) return;
    this.levels = lineLevel ? this.levels | (1 << irq) : this.levels & ~(1 << irq);
    for (const s of this.sinks) s.setIrq(irq, lineLevel);
  }

  /** Drop every source (machine reset); sinks see the lines fall. */
  reset(): void {
    for (let irq = 0; irq < 16; irq++) {
      if (this.sources[irq]) {
        this.sources[irq] = 0;
        for (const s of this.sinks) s.setIrq(irq, false);
      }
    }
    this.levels = 0;
  }

  /** Forget every source without telling the sinks (before loading state: devices re-assert
   *  their lines in postLoad, and the interrupt controllers restore their own view). */
  clearSilently(): void {
    this.sources.fill(0);
    this.levels = 0;
  }
}
