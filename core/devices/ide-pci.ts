// PIIX3 IDE function (PCI 8086:7010, class 01 01 80) and the ISA legacy glue for the IDE core.
//
// Wiring in the board:
//   const ide = new Piix3Ide({ io, memory, irq14: (l) => line14.set(l), irq15: (l) => line15.set(l),
//                              drives: config.ide });
//   pciBus.add(1, 1, ide.pci)
//   state parts: ide.stateParts(); machine reset: ide.reset();
//   removable media: ide.changeMedia(index 0..3, blockDevice | null).
// The legacy ports (0x1F0-0x1F7, 0x3F6 on IRQ 14; 0x170-0x177, 0x376 on IRQ 15) are always
// decoded (the PIIX3 runs both channels in compatibility mode); the bus master's 16 ports
// appear at BAR4 once the guest sets BAR4 and the I/O enable bit in the command register.
//
// `ide.pci` is a PciFunction (core/bus/pci.ts): add it with pciBus.add(1, 1, ide.pci) so the
// bus resets it and maps BAR4; ide.pci.read/write exist for callers that wrap it themselves.

import type { IdeAttachment } from '../board/machine.js';
import type { IoBus, PortHandler } from '../bus/io.js';
import { PciFunction } from '../bus/pci.js';
import type { BlockDevice } from '../disk/block.js';
import type { Stateful } from '../state/vmstate.js';
import { AtapiDrive } from './ide-atapi.js';
import { IdeBusMaster, type DmaMemory } from './ide-busmaster.js';
import { IdeChannel, IdeDisk, type IdeDrive } from './ide.js';

/** The PIIX3 IDE function's configuration space (IDE timing registers 0x40-0x4F writable). */
export class Piix3IdePci extends PciFunction {
  constructor(name: string) {
    super(name, { vendor: 0x8086, device: 0x7010, classCode: 0x010180, revision: 0, interruptPin: 0 });
    this.writeMask.fill(0xff, 0x40, 0x50);
  }

  /** Config access in (offset, size[, value]) order, for callers not going through PciBus. */
  read(offset: number, size: 1 | 2 | 4): number {
    return this.readConfig(offset, size);
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    this.writeConfig(offset, value, size);
  }
}

export interface Piix3IdeOptions {
  io: IoBus;
  memory: DmaMemory;
  irq14: (level: boolean) => void;
  irq15: (level: boolean) => void;
  /** Primary master, primary slave, secondary master, secondary slave. */
  drives: readonly (IdeAttachment | null)[];
  /** State section prefix (default "ide"). */
  name?: string;
}

const LEGACY = [
  { base: 0x1f0, control: 0x3f6 },
  { base: 0x170, control: 0x376 },
];

export class Piix3Ide {
  readonly channels: [IdeChannel, IdeChannel];
  readonly busMasters: [IdeBusMaster, IdeBusMaster];
  readonly pci: Piix3IdePci;
  private readonly io: IoBus;
  private bmMapped = -1;
  private readonly bmPorts: PortHandler;

  constructor(opts: Piix3IdeOptions) {
    const name = opts.name ?? 'ide';
    this.io = opts.io;
    this.channels = [new IdeChannel(`${name}0`, opts.irq14), new IdeChannel(`${name}1`, opts.irq15)];
    for (let i = 0; i < 4; i++) {
      const a = opts.drives[i];
      const ch = this.channels[i >> 1];
      const unit = (i & 1) as 0 | 1;
      let drive: IdeDrive | null = null;
      if (a?.kind === 'cdrom') drive = new AtapiDrive(ch, unit, a.device);
      else if (a?.kind === 'disk' && a.device) drive = new IdeDisk(ch, unit, a.device);
      ch.attach(unit, drive);
    }
    this.busMasters = [
      new IdeBusMaster(`${name}0.bm`, this.channels[0], opts.memory),
      new IdeBusMaster(`${name}1.bm`, this.channels[1], opts.memory),
    ];
    // Drive 0/1 "DMA capable" bits, as firmware would set them.
    this.channels.forEach((ch, i) => {
      this.busMasters[i].status = (ch.drives[0] ? 0x20 : 0) | (ch.drives[1] ? 0x40 : 0);
    });
    const bms = this.busMasters;
    this.bmPorts = {
      read8: (off) => bms[off >> 3].read8(off & 7),
      write8: (off, v) => bms[off >> 3].write8(off & 7, v),
      read32: (off) => bms[off >> 3].read32(off & 7),
      write32: (off, v) => bms[off >> 3].write32(off & 7, v),
    };
    this.pci = new Piix3IdePci(`${name}.pci`);
    this.pci.setBar(4, { size: 16, kind: 'io', map: (base) => this.mapBusMaster(base) });
    this.channels.forEach((ch, i) => this.registerLegacy(ch, LEGACY[i].base, LEGACY[i].control));
  }

  private registerLegacy(ch: IdeChannel, base: number, control: number): void {
    const taskFile: PortHandler = {
      read8: (off) => ch.readTaskFile(off),
      write8: (off, v) => ch.writeTaskFile(off, v),
      read16: (off) => (off === 0 ? ch.readData16() : ch.readTaskFile(off) | (ch.readTaskFile(off + 1) << 8)),
      write16: (off, v) => {
        if (off === 0) return ch.writeData16(v);
        ch.writeTaskFile(off, v & 0xff);
        ch.writeTaskFile(off + 1, v >>> 8);
      },
      read32: (off) => (off === 0 ? ch.readData32() : (ch.readTaskFile(off) | (ch.readTaskFile(off + 1) << 8) | (ch.readTaskFile(off + 2) << 16) | (ch.readTaskFile(off + 3) << 24)) | 0),
      write32: (off, v) => {
        if (off === 0) return ch.writeData32(v);
        for (let i = 0; i < 4; i++) ch.writeTaskFile(off + i, (v >>> (8 * i)) & 0xff);
      },
    };
    this.io.register(`${ch.name}`, base, 8, taskFile);
    this.io.register(`${ch.name}.ctl`, control, 1, {
      read8: () => ch.readAltStatus(),
      write8: (_off, v) => ch.writeDeviceControl(v),
    });
  }

  private mapBusMaster(base: number | null): void {
    const want = base ?? -1;
    if (want === this.bmMapped) return;
    if (this.bmMapped >= 0) this.io.unregister(this.bmMapped, 16);
    if (want >= 0) this.io.register('ide.bm', want, 16, this.bmPorts);
    this.bmMapped = want;
  }

  /** The drive at IDE index 0..3, or null. */
  drive(index: number): IdeDrive | null {
    return this.channels[(index >> 1) & 1].drives[index & 1];
  }

  /** Insert or remove a disc in the CD-ROM at `index`; throws when no CD-ROM is there. */
  changeMedia(index: number, media: BlockDevice | null): void {
    const d = this.drive(index);
    if (!(d instanceof AtapiDrive)) throw new Error(`IDE ${index} is not a CD-ROM drive`);
    d.changeMedia(media);
  }

  reset(): void {
    this.pci.reset();
    for (const bm of this.busMasters) bm.reset();
    for (const ch of this.channels) ch.reset();
  }

  stateParts(): Stateful[] {
    return [this.pci, ...this.channels.flatMap((c) => c.stateParts()), ...this.busMasters];
  }
}
