// PIIX3 IDE function (PCI 8086:7010, class 01 01 80) and the ISA legacy glue for the IDE core.
//
// Wiring in the board:
//   const ide = new Piix3Ide({ io, memory, irq14: (l) => line14.set(l), irq15: (l) => line15.set(l),
//                              drives: config.ide });
//   pciBus.add(device 1, function 1, { read: (off, size) => ide.pci.read(off, size),
//                                       write: (off, size, v) => ide.pci.write(off, size, v) })
//   state parts: ide.stateParts(); machine reset: ide.reset();
//   removable media: ide.changeMedia(index 0..3, blockDevice | null).
// The legacy ports (0x1F0-0x1F7, 0x3F6 on IRQ 14; 0x170-0x177, 0x376 on IRQ 15) are always
// decoded (the PIIX3 runs both channels in compatibility mode); the bus master's 16 ports
// appear at BAR4 once the guest sets BAR4 and the I/O enable bit in the command register.
//
// PciFunctionConfig is a small, self-contained configuration space with BAR sizing; the NE2000
// PCI glue uses it too.

import type { IdeAttachment } from '../board/machine.js';
import type { IoBus, PortHandler } from '../bus/io.js';
import type { BlockDevice } from '../disk/block.js';
import type { Stateful, VMStateDecl } from '../state/vmstate.js';
import { AtapiDrive } from './ide-atapi.js';
import { IdeBusMaster, type DmaMemory } from './ide-busmaster.js';
import { IdeChannel, IdeDisk, type IdeDrive } from './ide.js';

export interface PciBar {
  /** Power of two, at least 4 for I/O and 16 for memory. */
  size: number;
  io: boolean;
}

export interface PciIdentity {
  vendor: number;
  device: number;
  classCode: number; // class << 16 | subclass << 8 | prog-if
  revision: number;
  subsystemVendor?: number;
  subsystem?: number;
  /** 1 = INTA#, 0 = no interrupt pin. */
  interruptPin: number;
  headerType?: number;
}

/** A type-0 PCI configuration space with BAR sizing and a change hook for remapping. */
export class PciFunctionConfig implements Stateful {
  readonly vmstate: VMStateDecl;
  readonly bytes = new Uint8Array(256);
  /** Called after the command register or a BAR changed (the owner remaps its windows). */
  onChange: () => void = () => {};
  /** Extra writable bytes (device-specific registers at 0x40 and up). */
  private readonly writable = new Uint8Array(256);

  constructor(name: string, id: PciIdentity, readonly bars: (PciBar | null)[], deviceSpecificWritable: [number, number][] = []) {
    this.vmstate = { name, version: 1, fields: [{ name: 'bytes', type: 'u8[]', length: 256 }] };
    const b = this.bytes;
    put16(b, 0x00, id.vendor);
    put16(b, 0x02, id.device);
    put16(b, 0x06, 0x0280); // fast back-to-back capable, medium DEVSEL
    b[0x08] = id.revision;
    b[0x09] = id.classCode & 0xff;
    b[0x0a] = (id.classCode >> 8) & 0xff;
    b[0x0b] = (id.classCode >> 16) & 0xff;
    b[0x0e] = id.headerType ?? 0;
    put16(b, 0x2c, id.subsystemVendor ?? 0);
    put16(b, 0x2e, id.subsystem ?? 0);
    b[0x3d] = id.interruptPin;
    this.writable[0x04] = 0x07; // I/O, memory, bus master enable
    this.writable[0x05] = 0x05; // SERR, fast back-to-back; INTx disable
    this.writable[0x0c] = 0xff;
    this.writable[0x0d] = 0xff;
    this.writable[0x3c] = 0xff;
    for (const [from, to] of deviceSpecificWritable) for (let i = from; i <= to; i++) this.writable[i] = 0xff;
    bars.forEach((bar, i) => {
      if (bar) put32(b, 0x10 + i * 4, bar.io ? 1 : 0);
    });
    this.initial = b.slice();
  }

  private readonly initial: Uint8Array;

  /** Power-on values (machine reset). */
  reset(): void {
    this.bytes.set(this.initial);
    this.onChange();
  }

  get command(): number {
    return this.bytes[0x04] | (this.bytes[0x05] << 8);
  }

  get ioEnabled(): boolean {
    return (this.bytes[0x04] & 1) !== 0;
  }

  get memoryEnabled(): boolean {
    return (this.bytes[0x04] & 2) !== 0;
  }

  get busMasterEnabled(): boolean {
    return (this.bytes[0x04] & 4) !== 0;
  }

  get interruptDisabled(): boolean {
    return (this.bytes[0x05] & 4) !== 0;
  }

  /** The programmed base address of BAR i (I/O or memory), without the flag bits. */
  barAddress(i: number): number {
    const bar = this.bars[i];
    if (!bar) return 0;
    const v = get32(this.bytes, 0x10 + i * 4);
    return (bar.io ? v & ~3 & 0xffff : v & ~0xf) >>> 0;
  }

  read(offset: number, size: 1 | 2 | 4): number {
    offset &= 0xff;
    let v = 0;
    for (let i = 0; i < size; i++) v |= this.bytes[(offset + i) & 0xff] << (8 * i);
    return v >>> 0;
  }

  write(offset: number, size: 1 | 2 | 4, value: number): void {
    offset &= 0xff;
    let changed = false;
    for (let i = 0; i < size; i++) {
      const at = (offset + i) & 0xff;
      const byte = (value >>> (8 * i)) & 0xff;
      if (at === 0x06 || at === 0x07) {
        // Status: write 1 to clear the error bits.
        this.bytes[at] &= ~(byte & (at === 0x07 ? 0xf9 : 0x00));
        continue;
      }
      if (at >= 0x10 && at < 0x28) {
        changed = this.writeBarByte(at, byte) || changed;
        continue;
      }
      const mask = this.writable[at];
      if (!mask) continue;
      const next = (this.bytes[at] & ~mask) | (byte & mask);
      if (next !== this.bytes[at]) {
        this.bytes[at] = next;
        if (at === 0x04 || at === 0x05) changed = true;
      }
    }
    if (changed) this.onChange();
  }

  private writeBarByte(at: number, byte: number): boolean {
    const index = (at - 0x10) >> 2;
    const bar = this.bars[index];
    if (!bar) return false;
    const reg = 0x10 + index * 4;
    const shift = 8 * (at - reg);
    const old = get32(this.bytes, reg);
    let v = ((old & ~(0xff << shift)) | (byte << shift)) >>> 0;
    // Size bits read back as zero; the flag bits are fixed.
    v = bar.io ? ((v & ~(bar.size - 1) & 0xfffffffc) | 1) >>> 0 : (v & ~(bar.size - 1) & 0xfffffff0) >>> 0;
    if (v === old) return false;
    put32(this.bytes, reg, v);
    return true;
  }

  postLoad(): void {
    this.onChange();
  }
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
}

function put32(b: Uint8Array, at: number, v: number): void {
  put16(b, at, v & 0xffff);
  put16(b, at + 2, v >>> 16);
}

function get32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
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
  readonly pci: PciFunctionConfig;
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
    this.pci = new PciFunctionConfig(
      `${name}.pci`,
      { vendor: 0x8086, device: 0x7010, classCode: 0x010180, revision: 0, interruptPin: 0 },
      [null, null, null, null, { size: 16, io: true }, null],
      [[0x40, 0x4f]],
    );
    this.pci.onChange = () => this.remapBusMaster();
    this.channels.forEach((ch, i) => this.registerLegacy(ch, LEGACY[i].base, LEGACY[i].control));
    const bms = this.busMasters;
    this.bmPorts = {
      read8: (off) => bms[off >> 3].read8(off & 7),
      write8: (off, v) => bms[off >> 3].write8(off & 7, v),
      read32: (off) => bms[off >> 3].read32(off & 7),
      write32: (off, v) => bms[off >> 3].write32(off & 7, v),
    };
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

  private remapBusMaster(): void {
    const base = this.pci.ioEnabled ? this.pci.barAddress(4) : 0;
    const want = base >= 0x100 ? base : -1;
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
