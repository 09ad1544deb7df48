// Intel 82371SB PIIX3 PCI-to-ISA bridge (PCI 01.0, 8086:7000): PIRQ routing registers
// 0x60-0x63, the ELCR at ports 0x4D0/0x4D1 and the reset control register at 0xCF9.
//
// Wiring: bus.add(1, 0, piix3); bus.router = piix3; io.register('elcr', 0x4d0, 2, piix3.elcrPorts);
// the 0xCF9 byte comes through pciConfigPorts(bus, piix3.resetControl). PIRQ levels land on
// ISA IRQ lines (shared, OR-ed with other sources) so both the 8259 and the I/O APIC see them.

import type { PortHandler } from '../bus/io.js';
import type { IsaIrqs } from '../bus/irq.js';
import { PciFunction, type PirqRouter } from '../bus/pci.js';
import type { DualPic } from './pic.js';

export class Piix3 extends PciFunction implements PirqRouter {
  /** Reset control register (0xCF9). */
  rcr = 0;
  private readonly sourceBits: number[];
  private readonly pirqLevels = [false, false, false, false];
  /** The IRQ each PIRQ currently drives (-1 none), to move a level when the routing changes. */
  private readonly routedTo = [-1, -1, -1, -1];
  readonly elcrPorts: PortHandler;
  readonly resetControl: { read(): number; write(v: number): void };

  constructor(private readonly irqs: IsaIrqs, private readonly pic: DualPic, private readonly onReset: () => void) {
    super('pci.piix3', { vendor: 0x8086, device: 0x7000, classCode: 0x060100, headerType: 0x80 });
    this.sourceBits = [0, 1, 2, 3].map(() => irqs.allocateSourceBit());
    for (let r = 0x60; r <= 0x63; r++) this.writeMask[r] = 0x8f;
    // Other ISA bridge registers are stored (SeaBIOS and Linux touch a few), with no effect.
    for (const r of [0x4c, 0x4e, 0x4f, 0x69, 0x6a, 0x6b, 0x70, 0x76, 0x77, 0x78, 0x79, 0x80, 0x82, 0xa0, 0xa2, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xaa, 0xab, 0xac, 0xae]) {
      this.writeMask[r] = 0xff;
    }
    this.vmstate.fields = [...this.vmstate.fields, { name: 'rcr', type: 'u8' }];
    this.resetDefaults();
    this.elcrPorts = {
      read8: (o) => pic.readElcr(o & 1 ? 1 : 0),
      write8: (o, v) => pic.writeElcr(o & 1 ? 1 : 0, v),
    };
    this.resetControl = {
      read: () => this.rcr,
      write: (v) => {
        const old = this.rcr;
        this.rcr = v & 0x0e;
        // Bit 2 going 0 → 1 resets the system (bit 1 picks hard/soft: both reset here).
        if ((v & 4) && !(old & 4)) {
          this.rcr = 0;
          this.onReset();
        }
      },
    };
  }

  private resetDefaults(): void {
    for (let r = 0x60; r <= 0x63; r++) this.config[r] = 0x80;
    this.config[0x4c] = 0x4d;
    this.config[0x4e] = 0x03;
    this.config[0x69] = 0x02;
    this.config[0x70] = 0x80;
    this.config[0x76] = this.config[0x77] = 0x0c;
    this.config[0x78] = 0x02;
    this.config[0xa0] = 0x08;
    this.config[0xa8] = 0x0f;
    this.rcr = 0;
  }

  override reset(): void {
    super.reset();
    this.resetDefaults();
    this.reroute();
  }

  override postLoad(): void {
    super.postLoad();
    for (let p = 0; p < 4; p++) this.pirqLevels[p] = this.bus?.pirqLevel(p) ?? false;
    this.routedTo.fill(-1);
    this.reroute();
  }

  protected override configWritten(offset: number, _value: number, size: number): void {
    if (offset + size > 0x60 && offset <= 0x63) this.reroute();
  }

  /** ISA IRQ for PIRQ p, or -1 when disabled. */
  pirqIrq(p: number): number {
    const r = this.config[0x60 + p];
    if (r & 0x80) return -1;
    const irq = r & 0x0f;
    // IRQ 0, 1, 2, 8 and 13 are not routable.
    return irq < 3 || irq === 8 || irq === 13 ? -1 : irq;
  }

  setPirq(pirq: number, level: boolean): void {
    this.pirqLevels[pirq] = level;
    this.drive(pirq);
  }

  private drive(p: number): void {
    const irq = this.pirqIrq(p);
    if (this.routedTo[p] >= 0 && this.routedTo[p] !== irq) this.irqs.setSource(this.routedTo[p], this.sourceBits[p], false);
    this.routedTo[p] = irq;
    if (irq >= 0) this.irqs.setSource(irq, this.sourceBits[p], this.pirqLevels[p]);
  }

  private reroute(): void {
    for (let p = 0; p < 4; p++) this.drive(p);
  }
}
