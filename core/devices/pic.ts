// Dual 8259A programmable interrupt controller (master at 0x20, slave at 0xA0 cascaded on IRQ 2).
//
// Wiring: io.register('pic-master', 0x20, 2, pic.master), io.register('pic-slave', 0xA0, 2,
// pic.slave); ISA lines call pic.setIrq(irq, level) (it is an IrqSink); the ELCR (edge/level
// per line, PIIX3 ports 0x4D0/0x4D1) is set through pic.master.elcr / pic.slave.elcr. The CPU
// (or the local APIC's LINT0 in ExtINT mode) uses pic.hasInterrupt()/acknowledge().
//
// Behaviour follows the 8259A datasheet: ICW1-ICW4 initialisation, OCW1 mask, OCW2 EOI /
// specific EOI / rotation / set priority, OCW3 read IRR/ISR, poll and special mask mode,
// automatic EOI, edge detection with the last-level latch, spurious IRQ 7 / 15.

import type { InterruptSource } from '../cpu/interfaces.js';
import type { PortHandler } from '../bus/io.js';
import type { Stateful, VMStateDecl } from '../state/vmstate.js';
import type { IrqSink } from '../bus/irq.js';

export class Pic8259 implements PortHandler, Stateful {
  readonly vmstate: VMStateDecl;
  /** Interrupt request register, in-service register, interrupt mask register. */
  irr = 0;
  isr = 0;
  imr = 0;
  /** Last input level seen (edge detection). */
  lastIrr = 0;
  /** Edge/level control (1 = level), from the PIIX3 ELCR. */
  elcr = 0;
  /** Which bits of the ELCR may be set (IRQ 0, 1, 2, 8, 13 are always edge). */
  readonly elcrMask: number;
  vectorBase = 0;
  /** Lowest-priority rotation: priority 0 is IRQ (priorityAdd & 7). */
  priorityAdd = 0;
  readRegisterSelect = 0; // 0 = IRR, 1 = ISR
  poll = false;
  specialMask = false;
  /** 0 = not initialising, else the next ICW expected (2, 3, 4). */
  initState = 0;
  needIcw4 = false;
  single = false;
  levelTriggeredMode = false; // ICW1.LTIM
  autoEoi = false;
  rotateOnAutoEoi = false;
  specialFullyNested = false;
  icw3 = 0;

  /** Called when this chip's INT output may have changed. */
  onChange: () => void = () => {};

  constructor(readonly name: string, readonly isMaster: boolean) {
    this.elcrMask = isMaster ? 0xf8 : 0xde;
    this.vmstate = {
      name,
      version: 1,
      fields: [
        { name: 'irr', type: 'u8' }, { name: 'isr', type: 'u8' }, { name: 'imr', type: 'u8' },
        { name: 'lastIrr', type: 'u8' }, { name: 'elcr', type: 'u8' }, { name: 'vectorBase', type: 'u8' },
        { name: 'priorityAdd', type: 'u8' }, { name: 'readRegisterSelect', type: 'u8' },
        { name: 'poll', type: 'bool' }, { name: 'specialMask', type: 'bool' }, { name: 'initState', type: 'u8' },
        { name: 'needIcw4', type: 'bool' }, { name: 'single', type: 'bool' },
        { name: 'levelTriggeredMode', type: 'bool' }, { name: 'autoEoi', type: 'bool' },
        { name: 'rotateOnAutoEoi', type: 'bool' }, { name: 'specialFullyNested', type: 'bool' },
        { name: 'icw3', type: 'u8' },
      ],
    };
  }

  reset(): void {
    this.lastIrr = 0;
    this.irr = 0;
    this.imr = 0;
    this.isr = 0;
    this.priorityAdd = 0;
    this.vectorBase = 0;
    this.readRegisterSelect = 0;
    this.poll = false;
    this.specialMask = false;
    this.initState = 0;
    this.autoEoi = false;
    this.rotateOnAutoEoi = false;
    this.specialFullyNested = false;
    this.levelTriggeredMode = false;
    this.needIcw4 = false;
    this.single = false;
    this.icw3 = 0;
  }

  /** Machine reset: also the ELCR (which ICW1 leaves alone). */
  hardReset(): void {
    this.reset();
    this.elcr = 0;
  }

  private get levelMask(): number {
    return this.levelTriggeredMode ? 0xff : this.elcr;
  }

  /** Priority (0 = highest) of the highest-priority bit in mask, 8 if none. */
  private priorityOf(mask: number): number {
    if (mask === 0) return 8;
    let p = 0;
    while ((mask & (1 << ((p + this.priorityAdd) & 7))) === 0) p++;
    return p;
  }

  /** The IRQ this chip would raise now, or -1. */
  pendingIrq(): number {
    const p = this.priorityOf(this.irr & ~this.imr);
    if (p === 8) return -1;
    let inService = this.isr;
    if (this.specialMask) inService &= ~this.imr;
    // Special fully nested: the slave's cascade input stays eligible while in service.
    if (this.specialFullyNested && this.isMaster) inService &= ~(1 << 2);
    const current = this.priorityOf(inService);
    return p < current ? (p + this.priorityAdd) & 7 : -1;
  }

  setInput(irq: number, level: boolean): void {
    const mask = 1 << irq;
    if (this.levelMask & mask) {
      if (level) {
        this.irr |= mask;
        this.lastIrr |= mask;
      } else {
        this.irr &= ~mask;
        this.lastIrr &= ~mask;
      }
    } else if (level) {
      if ((this.lastIrr & mask) === 0) this.irr |= mask;
      this.lastIrr |= mask;
    } else {
      // An 8259A needs the line high until INTA: a request whose line drops first is lost
      // (INTA then finds nothing and gives the spurious IRQ 7). Keeping it would run the
      // handler for data already consumed, e.g. an 8042 byte read by a polling driver.
      if (this.lastIrr & mask) this.irr &= ~mask;
      this.lastIrr &= ~mask;
    }
    this.onChange();
  }

  /** INTA for `irq` on this chip. */
  intAck(irq: number): void {
    if (this.autoEoi) {
      if (this.rotateOnAutoEoi) this.priorityAdd = (irq + 1) & 7;
    } else {
      this.isr |= 1 << irq;
    }
    // Edge-triggered requests are consumed; level ones stay while the line is high.
    if (!(this.levelMask & (1 << irq))) this.irr &= ~(1 << irq);
  }

  read8(offset: number): number {
    if (this.poll) {
      this.poll = false;
      const irq = this.pendingIrq();
      if (irq < 0) return 0;
      this.intAck(irq);
      this.onChange();
      return 0x80 | irq;
    }
    if (offset & 1) return this.imr;
    return this.readRegisterSelect ? this.isr : this.irr;
  }

  write8(offset: number, value: number): void {
    if ((offset & 1) === 0) {
      if (value & 0x10) {
        // ICW1
        this.reset();
        this.needIcw4 = (value & 1) !== 0;
        this.single = (value & 2) !== 0;
        this.levelTriggeredMode = (value & 8) !== 0;
        this.initState = 2;
        this.onChange();
      } else if (value & 0x08) {
        // OCW3
        if (value & 0x04) this.poll = true;
        if (value & 0x02) this.readRegisterSelect = value & 1;
        if (value & 0x40) this.specialMask = (value & 0x20) !== 0;
        this.onChange();
      } else {
        this.ocw2(value);
      }
      return;
    }
    switch (this.initState) {
      case 0:
        this.imr = value;
        this.onChange();
        break;
      case 2:
        this.vectorBase = value & 0xf8;
        this.initState = this.single ? (this.needIcw4 ? 4 : 0) : 3;
        break;
      case 3:
        this.icw3 = value;
        this.initState = this.needIcw4 ? 4 : 0;
        break;
      case 4:
        this.autoEoi = (value & 2) !== 0;
        this.specialFullyNested = (value & 0x10) !== 0;
        this.initState = 0;
        break;
    }
  }

  private ocw2(value: number): void {
    const cmd = value >> 5;
    switch (cmd) {
      case 0: // rotate in automatic EOI mode: clear
      case 4: // set
        this.rotateOnAutoEoi = cmd === 4;
        break;
      case 1: // non-specific EOI
      case 5: { // rotate on non-specific EOI
        const p = this.priorityOf(this.isr);
        if (p !== 8) {
          const irq = (p + this.priorityAdd) & 7;
          this.isr &= ~(1 << irq);
          if (cmd === 5) this.priorityAdd = (irq + 1) & 7;
        }
        break;
      }
      case 3: // specific EOI
        this.isr &= ~(1 << (value & 7));
        break;
      case 6: // set priority
        this.priorityAdd = ((value & 7) + 1) & 7;
        break;
      case 7: // rotate on specific EOI
        this.isr &= ~(1 << (value & 7));
        this.priorityAdd = ((value & 7) + 1) & 7;
        break;
      default: // 2: no operation
        break;
    }
    this.onChange();
  }
}

/** The cascaded pair, as the CPU's interrupt source and the ISA lines' sink. */
export class DualPic implements InterruptSource, IrqSink {
  readonly master = new Pic8259('pic.master', true);
  readonly slave = new Pic8259('pic.slave', false);
  /** Called when the INT output to the CPU may have changed (the board wakes a halted CPU). */
  onOutputChange: () => void = () => {};

  constructor() {
    this.slave.onChange = () => this.updateCascade();
    this.master.onChange = () => this.onOutputChange();
  }

  private updateCascade(): void {
    // The slave's INT output is the master's IRQ 2 input (an edge/level like any other line).
    this.master.setInput(2, this.slave.pendingIrq() >= 0);
  }

  setIrq(irq: number, level: boolean): void {
    if (irq >= 8) this.slave.setInput(irq - 8, level);
    else this.master.setInput(irq, level);
  }

  hasInterrupt(): boolean {
    return this.master.pendingIrq() >= 0;
  }

  acknowledge(): number {
    const irq = this.master.pendingIrq();
    let vector: number;
    if (irq >= 0) {
      this.master.intAck(irq);
      if (irq === 2) {
        let irq2 = this.slave.pendingIrq();
        if (irq2 >= 0) this.slave.intAck(irq2);
        else irq2 = 7; // spurious IRQ 15
        vector = this.slave.vectorBase + irq2;
      } else {
        vector = this.master.vectorBase + irq;
      }
    } else {
      vector = this.master.vectorBase + 7; // spurious IRQ 7
    }
    this.updateCascade();
    this.onOutputChange();
    return vector & 0xff;
  }

  reset(): void {
    this.master.hardReset();
    this.slave.hardReset();
  }

  /** ELCR as the PIIX3 ports 0x4D0/0x4D1 see it. */
  readElcr(chip: 0 | 1): number {
    return chip ? this.slave.elcr : this.master.elcr;
  }

  writeElcr(chip: 0 | 1, value: number): void {
    const pic = chip ? this.slave : this.master;
    pic.elcr = value & pic.elcrMask;
  }
}
