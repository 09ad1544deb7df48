// IDE/ATA channel and hard disk core (task file, PIO engine, ATA commands, DMA hand-off).
//
// One IdeChannel holds up to two drives (master, slave). The ATAPI CD-ROM lives in
// ./ide-atapi.ts (a subclass of IdeDrive), the PIIX3 bus master in ./ide-busmaster.ts and the
// port/PCI glue in ./ide-pci.ts.
//
// Wiring (done by ./ide-pci.ts for the board):
//   const ch = new IdeChannel('ide0', irq14 /* (level: boolean) => void */);
//   ch.attach(0, new IdeDisk(ch, 0, blockDevice));      // or new AtapiDrive(ch, 1, media)
//   task file ports (0x1F0..0x1F7) -> ch.readTaskFile/writeTaskFile, data port via readData16/32
//   control port (0x3F6)           -> ch.readAltStatus / ch.writeDeviceControl
//   ch.dma = bus master channel (IdeDmaEngine), or null for PIO only.
//
// DMA and PIO complete synchronously: a disk access finishes inside the port write that asks
// for it and the interrupt is raised at once (the guest sees an infinitely fast disk).
//
// A guest that programs nonsense gets an error status (ABRT, IDNF) and an interrupt; errors
// from the block device become UNC errors. Nothing the guest does throws to the host.

import type { BlockDevice } from '../disk/block.js';
import { StateError, type Stateful, type VMStateDecl } from '../state/vmstate.js';

// Status register bits.
export const ST_BSY = 0x80;
export const ST_DRDY = 0x40;
export const ST_DF = 0x20;
export const ST_DSC = 0x10;
export const ST_DRQ = 0x08;
export const ST_ERR = 0x01;
// Error register bits.
export const ER_UNC = 0x40;
export const ER_IDNF = 0x10;
export const ER_ABRT = 0x04;
// Device control bits.
const DC_NIEN = 0x02;
const DC_SRST = 0x04;
const DC_HOB = 0x80;

/** What happens when the host has moved the whole PIO buffer. */
export const END_NONE = 0;
export const END_READ_NEXT = 1;
export const END_WRITE_BLOCK = 2;
export const END_ATAPI_PACKET = 3;
export const END_ATAPI_DATA_IN = 4;
export const END_ATAPI_DATA_OUT = 5;

/** Result of a DMA run, reported to the bus master. */
export const DMA_OK = 0;
/** The PRD table described less memory than the command transfers. */
export const DMA_PRD_SHORT = 1;
/** The device ended the command with an error status. */
export const DMA_DEVICE_ERROR = 2;

/** Pending DMA direction. */
export const DMA_NONE = 0;
export const DMA_TO_MEMORY = 1;
export const DMA_FROM_MEMORY = 2;

export const SECTOR = 512;
/** PIO/DMA staging buffer: 128 disk sectors or 32 CD sectors. */
export const BUFFER_SIZE = 0x10000;
const MAX_MULTIPLE = 16;

/** The bus master's side of a DMA transfer (scatter/gather along the PRD table). */
export interface IdeDmaEngine {
  /** Copy device data into guest memory; returns the bytes moved (fewer when PRDs ran out). */
  toMemory(data: Uint8Array): number;
  /** Fill `out` from guest memory; returns the bytes moved. */
  fromMemory(out: Uint8Array): number;
}

/** Channel-side view of the bus master, so a command issued after START still runs. */
export interface IdeDmaController {
  /** A drive on this channel has a DMA command waiting. */
  dmaRequested(): void;
}

export class IdeChannel implements Stateful {
  readonly vmstate: VMStateDecl;
  readonly drives: [IdeDrive | null, IdeDrive | null] = [null, null];
  /** The bus master channel, or null (then DMA commands wait forever, as on PIO-only boards). */
  dma: IdeDmaController | null = null;
  /** Set by the bus master: the channel's interrupt also sets its status INT bit. */
  onInterrupt: () => void = () => {};

  // Declared state.
  current = 0;
  deviceControl = 0;
  irqPending = false;

  private lineLevel = false;

  constructor(readonly name: string, private readonly irqLine: (level: boolean) => void) {
    this.vmstate = {
      name,
      version: 1,
      fields: [
        { name: 'current', type: 'u8' },
        { name: 'deviceControl', type: 'u8' },
        { name: 'irqPending', type: 'bool' },
      ],
    };
  }

  attach(index: 0 | 1, drive: IdeDrive | null): void {
    this.drives[index] = drive;
  }

  get selected(): IdeDrive | null {
    return this.drives[this.current];
  }

  /** True when nothing is attached: the ports float (read 0xFF). */
  get empty(): boolean {
    return !this.drives[0] && !this.drives[1];
  }

  get hob(): boolean {
    return (this.deviceControl & DC_HOB) !== 0;
  }

  raiseIrq(): void {
    this.irqPending = true;
    this.onInterrupt();
    this.updateLine();
  }

  lowerIrq(): void {
    this.irqPending = false;
    this.updateLine();
  }

  private updateLine(): void {
    const level = this.irqPending && (this.deviceControl & DC_NIEN) === 0;
    if (level !== this.lineLevel) {
      this.lineLevel = level;
      this.irqLine(level);
    }
  }

  /** Registers 1..7 of the command block (offset from the base port). */
  readTaskFile(reg: number): number {
    if (this.empty) return 0xff;
    const d = this.selected;
    if (reg === 7) {
      this.lowerIrq();
      return d ? d.status : 0;
    }
    if (!d) return reg === 6 ? 0xa0 | (this.current << 4) : 0;
    const hob = this.hob;
    switch (reg) {
      case 0: return d.readData8();
      case 1: return hob ? d.hobFeature : d.error;
      case 2: return hob ? d.hobNsector : d.nsector;
      case 3: return hob ? d.hobSector : d.sector;
      case 4: return hob ? d.hobLcyl : d.lcyl;
      case 5: return hob ? d.hobHcyl : d.hcyl;
      case 6: return d.select;
      default: return 0xff;
    }
  }

  writeTaskFile(reg: number, value: number): void {
    value &= 0xff;
    if (reg === 0) {
      this.selected?.writeData8(value);
      return;
    }
    if (reg === 7) {
      const d = this.selected;
      if (!d) return;
      // A command to a busy drive is ignored, except DEVICE RESET (the way out of a hung ATAPI device).
      if ((d.status & ST_BSY) && value !== 0x08) return;
      this.lowerIrq();
      d.command(value);
      return;
    }
    // Writing a command block register clears HOB.
    this.deviceControl &= ~DC_HOB;
    if (reg === 6) this.current = (value >> 4) & 1;
    for (const d of this.drives) d?.writeRegister(reg, value);
  }

  readAltStatus(): number {
    if (this.empty) return 0xff;
    return this.selected?.status ?? 0;
  }

  writeDeviceControl(value: number): void {
    const was = this.deviceControl;
    this.deviceControl = value & 0xff;
    if ((value & DC_SRST) && !(was & DC_SRST)) {
      for (const d of this.drives) if (d) d.status = ST_BSY | ST_DSC;
    } else if (!(value & DC_SRST) && (was & DC_SRST)) {
      this.current = 0;
      for (const d of this.drives) d?.reset(true);
    }
    this.updateLine();
  }

  readData16(): number {
    return this.selected?.readData16() ?? 0xffff;
  }

  writeData16(value: number): void {
    this.selected?.writeData16(value);
  }

  readData32(): number {
    const d = this.selected;
    if (!d) return -1;
    const lo = d.readData16();
    return (lo | (d.readData16() << 16)) | 0;
  }

  writeData32(value: number): void {
    const d = this.selected;
    if (!d) return;
    d.writeData16(value & 0xffff);
    d.writeData16(value >>> 16);
  }

  /** Hardware reset (power on, RESET#). */
  reset(): void {
    this.deviceControl = 0;
    this.current = 0;
    this.irqPending = false;
    this.updateLine();
    for (const d of this.drives) d?.reset(false);
  }

  /** Bus master: run the selected drive's pending DMA command, if any. */
  runDma(engine: IdeDmaEngine): number | null {
    const d = this.selected;
    if (!d || d.dmaDirection === DMA_NONE) return null;
    return d.runDma(engine);
  }

  postLoad(): void {
    // Re-drive the line so the interrupt controller sees the restored level.
    this.lineLevel = !(this.irqPending && (this.deviceControl & DC_NIEN) === 0);
    this.updateLine();
  }

  /** Every stateful part of the channel, the drives included. */
  stateParts(): Stateful[] {
    const parts: Stateful[] = [this];
    for (const d of this.drives) if (d) parts.push(d);
    return parts;
  }
}

const DRIVE_FIELDS = [
  { name: 'feature', type: 'u8' },
  { name: 'hobFeature', type: 'u8' },
  { name: 'nsector', type: 'u8' },
  { name: 'hobNsector', type: 'u8' },
  { name: 'sector', type: 'u8' },
  { name: 'hobSector', type: 'u8' },
  { name: 'lcyl', type: 'u8' },
  { name: 'hobLcyl', type: 'u8' },
  { name: 'hcyl', type: 'u8' },
  { name: 'hobHcyl', type: 'u8' },
  { name: 'select', type: 'u8' },
  { name: 'status', type: 'u8' },
  { name: 'error', type: 'u8' },
  { name: 'bufPos', type: 'u32' },
  { name: 'bufEnd', type: 'u32' },
  { name: 'endAction', type: 'u8' },
  { name: 'savedBuffer', type: 'u8[]' },
  { name: 'dmaDirection', type: 'u8' },
  { name: 'lba48', type: 'bool' },
  { name: 'nextSector', type: 'f64' },
  { name: 'sectorsLeft', type: 'u32' },
  { name: 'multipleCount', type: 'u8' },
  { name: 'currentMultiple', type: 'u8' },
  { name: 'mdmaMode', type: 'i32' },
  { name: 'udmaMode', type: 'i32' },
  { name: 'pioMode', type: 'u8' },
  { name: 'writeCache', type: 'bool' },
  { name: 'standby', type: 'bool' },
] as const;

/** Registers and the PIO/DMA engine shared by disks and ATAPI devices. */
export abstract class IdeDrive implements Stateful {
  readonly vmstate: VMStateDecl;
  abstract readonly kind: 'disk' | 'cdrom';

  // Task file (the "hob" copies are the previous values, for LBA48).
  feature = 0;
  hobFeature = 0;
  nsector = 0;
  hobNsector = 0;
  sector = 0;
  hobSector = 0;
  lcyl = 0;
  hobLcyl = 0;
  hcyl = 0;
  hobHcyl = 0;
  select = 0xa0;
  status = 0;
  error = 0;

  // PIO transfer.
  readonly buffer = new Uint8Array(BUFFER_SIZE);
  bufPos = 0;
  bufEnd = 0;
  endAction = END_NONE;

  // Command progress (multi-block PIO and DMA).
  dmaDirection = DMA_NONE;
  lba48 = false;
  nextSector = 0;
  sectorsLeft = 0;
  /** Sectors per DRQ block for READ/WRITE MULTIPLE (0: SET MULTIPLE MODE not done). */
  multipleCount = 0;
  /** Sectors per DRQ block of the command in progress. */
  currentMultiple = 1;
  /** Selected transfer modes (SET FEATURES 03h); -1 when another class is selected. */
  mdmaMode = -1;
  udmaMode = 2;
  pioMode = 4;
  writeCache = true;
  standby = false;

  constructor(protected readonly channel: IdeChannel, readonly unit: 0 | 1, extraFields: VMStateDecl['fields'] = [], version = 1) {
    this.vmstate = {
      name: `${channel.name}.${unit === 0 ? 'master' : 'slave'}`,
      version,
      fields: [...DRIVE_FIELDS, ...extraFields],
    };
  }

  /** The buffer contents in flight, for snapshots (only [0, bufEnd) matters). */
  get savedBuffer(): Uint8Array {
    return this.buffer.subarray(0, Math.min(BUFFER_SIZE, this.bufferInUse()));
  }
  set savedBuffer(v: Uint8Array) {
    if (v.length > this.buffer.length) throw new StateError(`${this.vmstate.name}: saved buffer too large`);
    this.buffer.set(v);
  }

  postLoad(): void {
    if (this.bufEnd > BUFFER_SIZE || this.bufPos > this.bufEnd) {
      throw new StateError(`${this.vmstate.name}: saved transfer position out of range`);
    }
  }

  // ---- registers

  writeRegister(reg: number, value: number): void {
    switch (reg) {
      case 1: this.hobFeature = this.feature; this.feature = value; break;
      case 2: this.hobNsector = this.nsector; this.nsector = value; break;
      case 3: this.hobSector = this.sector; this.sector = value; break;
      case 4: this.hobLcyl = this.lcyl; this.lcyl = value; break;
      case 5: this.hobHcyl = this.hcyl; this.hcyl = value; break;
      case 6: this.select = value | 0xa0; break;
    }
  }

  /** Power-on or soft reset: signature in the task file, ready status. */
  reset(soft: boolean): void {
    this.bufPos = this.bufEnd = 0;
    this.endAction = END_NONE;
    this.dmaDirection = DMA_NONE;
    this.sectorsLeft = 0;
    this.feature = this.hobFeature = 0;
    this.select = 0xa0 | (this.unit << 4);
    this.error = 1; // diagnostic "passed"
    if (!soft) {
      this.multipleCount = 0;
      this.standby = false;
    }
    this.setSignature();
    this.resetStatus();
  }

  protected abstract setSignature(): void;
  protected abstract resetStatus(): void;

  /** Bytes of the buffer that belong to the transfer in flight (saved in snapshots). */
  protected bufferInUse(): number {
    return this.bufEnd;
  }

  // ---- PIO data port

  readData16(): number {
    if (!(this.status & ST_DRQ) || this.bufPos >= this.bufEnd) return 0;
    const b = this.buffer;
    const p = this.bufPos;
    const v = b[p] | (b[p + 1] << 8);
    this.bufPos = p + 2;
    if (this.bufPos >= this.bufEnd) this.transferDone();
    return v;
  }

  readData8(): number {
    if (!(this.status & ST_DRQ) || this.bufPos >= this.bufEnd) return 0;
    const v = this.buffer[this.bufPos++];
    if (this.bufPos >= this.bufEnd) this.transferDone();
    return v;
  }

  writeData16(value: number): void {
    if (!(this.status & ST_DRQ) || this.bufPos >= this.bufEnd) return;
    this.buffer[this.bufPos] = value;
    this.buffer[this.bufPos + 1] = value >>> 8;
    this.bufPos += 2;
    if (this.bufPos >= this.bufEnd) this.transferDone();
  }

  writeData8(value: number): void {
    if (!(this.status & ST_DRQ) || this.bufPos >= this.bufEnd) return;
    this.buffer[this.bufPos++] = value;
    if (this.bufPos >= this.bufEnd) this.transferDone();
  }

  private transferDone(): void {
    this.status &= ~ST_DRQ;
    const action = this.endAction;
    this.endAction = END_NONE;
    this.endTransfer(action);
  }

  /** Present `length` bytes of the buffer to the host (data-in). */
  protected startPio(length: number, action: number): void {
    this.bufPos = 0;
    this.bufEnd = length;
    this.endAction = action;
    this.status = ST_DRDY | ST_DSC | ST_DRQ;
  }

  protected endTransfer(action: number): void {
    switch (action) {
      case END_READ_NEXT: this.readNextBlock(); break;
      case END_WRITE_BLOCK: this.writeBlock(); break;
      default: this.status = ST_DRDY | ST_DSC; break;
    }
  }

  // ---- command completion helpers

  protected complete(irq = true): void {
    this.status = ST_DRDY | ST_DSC;
    this.error = 0;
    this.endAction = END_NONE;
    this.bufPos = this.bufEnd = 0;
    this.dmaDirection = DMA_NONE;
    if (irq) this.channel.raiseIrq();
  }

  protected fail(error: number): void {
    this.status = ST_DRDY | ST_DSC | ST_ERR;
    this.error = error;
    this.endAction = END_NONE;
    this.bufPos = this.bufEnd = 0;
    this.dmaDirection = DMA_NONE;
    this.sectorsLeft = 0;
    this.channel.raiseIrq();
  }

  protected abort(): void {
    this.fail(ER_ABRT);
  }

  /** A command written to the command register. */
  abstract command(cmd: number): void;

  // ---- sector streaming used by disk commands (ATAPI overrides runDma for its own data)

  protected readNextBlock(): void {
    this.complete(false);
  }

  protected writeBlock(): void {
    this.complete(true);
  }

  /** Perform the pending DMA command along the bus master's PRD table. */
  abstract runDma(engine: IdeDmaEngine): number;

  /** Store an ATA string (two characters per word, first in the high byte), space padded. */
  static putString(words: Uint16Array, first: number, count: number, text: string): void {
    const padded = text.padEnd(count * 2, ' ');
    for (let i = 0; i < count; i++) {
      words[first + i] = (padded.charCodeAt(i * 2) << 8) | padded.charCodeAt(i * 2 + 1);
    }
  }

  protected writeIdentify(words: Uint16Array): void {
    const out = this.buffer;
    for (let i = 0; i < 256; i++) {
      out[i * 2] = words[i] & 0xff;
      out[i * 2 + 1] = words[i] >>> 8;
    }
  }

  /** Transfer-mode words 62/63/88 reflecting SET FEATURES. */
  protected dmaModeWords(words: Uint16Array): void {
    words[62] = 0x0007;
    words[63] = 0x0007 | (this.mdmaMode >= 0 ? 0x100 << this.mdmaMode : 0);
    words[88] = 0x003f | (this.udmaMode >= 0 ? 0x100 << this.udmaMode : 0);
  }

  /** SET FEATURES; returns false when the subcommand is not supported. */
  protected setFeatures(): boolean {
    switch (this.feature) {
      case 0x03: {
        const mode = this.nsector & 7;
        switch (this.nsector >> 3) {
          case 0: case 1: this.pioMode = mode; return true; // PIO default / PIO flow control
          case 2: return true; // single-word DMA: accepted, nothing to select
          case 4: if (mode > 2) return false; this.mdmaMode = mode; this.udmaMode = -1; return true;
          case 8: if (mode > 5) return false; this.udmaMode = mode; this.mdmaMode = -1; return true;
          default: return false;
        }
      }
      case 0x02: this.writeCache = true; return true;
      case 0x82: this.writeCache = false; return true;
      case 0x55: case 0xaa: case 0x66: case 0xcc: case 0x31: case 0x95: case 0x05: case 0x85: return true;
      default: return false;
    }
  }
}

/** An ATA hard disk on a BlockDevice. */
export class IdeDisk extends IdeDrive {
  readonly kind = 'disk' as const;
  readonly totalSectors: number;
  readonly cylinders: number;
  readonly heads = 16;
  readonly sectorsPerTrack = 63;
  // Logical geometry (INITIALIZE DEVICE PARAMETERS); declared state.
  curHeads = 16;
  curSectors = 63;
  private readonly serial: string;

  constructor(channel: IdeChannel, unit: 0 | 1, readonly disk: BlockDevice, serial?: string) {
    super(channel, unit, [
      { name: 'curHeads', type: 'u8' },
      { name: 'curSectors', type: 'u8' },
    ]);
    this.totalSectors = Math.floor(disk.size / SECTOR);
    this.cylinders = Math.max(1, Math.min(16383, Math.floor(this.totalSectors / (16 * 63))));
    this.serial = serial ?? `PS${channel.name.replace(/\D/g, '')}${unit}000000000001`;
    this.reset(false);
  }

  protected setSignature(): void {
    this.nsector = this.sector = 1;
    this.lcyl = this.hcyl = 0;
    this.hobNsector = this.hobSector = this.hobLcyl = this.hobHcyl = 0;
  }

  protected resetStatus(): void {
    this.status = ST_DRDY | ST_DSC;
  }

  /** Current logical CHS cylinders (for IDENTIFY word 54). */
  private get curCylinders(): number {
    const c = Math.floor(Math.min(this.totalSectors, 16383 * 16 * 63) / (this.curHeads * this.curSectors));
    return Math.max(1, Math.min(65535, c));
  }

  identify(): Uint16Array {
    const w = new Uint16Array(256);
    const total = this.totalSectors;
    w[0] = 0x0040;
    w[1] = this.cylinders;
    w[3] = this.heads;
    w[4] = 512 * this.sectorsPerTrack; // obsolete, as older drives reported
    w[5] = 512;
    w[6] = this.sectorsPerTrack;
    IdeDrive.putString(w, 10, 10, this.serial.slice(0, 20));
    w[20] = 3;
    w[21] = 512;
    w[22] = 4;
    IdeDrive.putString(w, 23, 4, '1.0');
    IdeDrive.putString(w, 27, 20, 'PERSEUS HARDDISK');
    w[47] = 0x8000 | MAX_MULTIPLE;
    w[48] = 1;
    w[49] = 0x0b00; // IORDY, LBA, DMA
    w[50] = 0x4000;
    w[51] = 0x0200;
    w[52] = 0x0200;
    w[53] = 0x0007;
    w[54] = this.curCylinders;
    w[55] = this.curHeads;
    w[56] = this.curSectors;
    const chsCapacity = this.curCylinders * this.curHeads * this.curSectors;
    w[57] = chsCapacity & 0xffff;
    w[58] = chsCapacity >>> 16;
    w[59] = this.multipleCount ? 0x100 | this.multipleCount : 0;
    const lba28 = Math.min(total, 0x0fffffff);
    w[60] = lba28 & 0xffff;
    w[61] = lba28 >>> 16;
    this.dmaModeWords(w);
    w[64] = 0x0003;
    w[65] = w[66] = w[67] = w[68] = 120;
    w[80] = 0x00f0; // ATA-4 .. ATA-7
    w[81] = 0x0016;
    w[82] = 0x4000 | 0x0020; // write cache supported
    w[83] = 0x4000 | 0x2000 | 0x1000 | 0x0400; // FLUSH CACHE EXT, FLUSH CACHE, LBA48
    w[84] = 0x4000;
    w[85] = (this.writeCache ? 0x0020 : 0);
    w[86] = 0x2000 | 0x1000 | 0x0400;
    w[87] = 0x4000;
    w[93] = this.unit === 0 ? 0x6009 : 0x6100; // reset result: 80-wire cable, diagnostics passed
    w[100] = total & 0xffff;
    w[101] = Math.floor(total / 0x10000) & 0xffff;
    w[102] = Math.floor(total / 0x100000000) & 0xffff;
    w[103] = 0;
    return w;
  }

  command(cmd: number): void {
    switch (cmd) {
      case 0xec: // IDENTIFY DEVICE
        this.writeIdentify(this.identify());
        this.startPio(SECTOR, END_NONE);
        this.channel.raiseIrq();
        return;
      case 0x20: case 0x21: return this.startRead(false, false, false);
      case 0x24: return this.startRead(true, false, false);
      case 0xc4: return this.startRead(false, true, false);
      case 0x29: return this.startRead(true, true, false);
      case 0xc8: case 0xc9: return this.startRead(false, false, true);
      case 0x25: return this.startRead(true, false, true);
      case 0x30: case 0x31: return this.startWrite(false, false, false);
      case 0x34: return this.startWrite(true, false, false);
      case 0xc5: return this.startWrite(false, true, false);
      case 0x39: return this.startWrite(true, true, false);
      case 0xca: case 0xcb: return this.startWrite(false, false, true);
      case 0x35: return this.startWrite(true, false, true);
      case 0x40: case 0x41: return this.verify(false);
      case 0x42: return this.verify(true);
      case 0xc6: { // SET MULTIPLE MODE
        const n = this.nsector;
        if (n > MAX_MULTIPLE || (n & (n - 1)) !== 0) return this.abort();
        this.multipleCount = n;
        return this.complete();
      }
      case 0x91: { // INITIALIZE DEVICE PARAMETERS
        const spt = this.nsector;
        const heads = (this.select & 0x0f) + 1;
        if (spt === 0) return this.abort();
        this.curSectors = spt;
        this.curHeads = heads;
        return this.complete();
      }
      case 0xe7: case 0xea: // FLUSH CACHE (EXT)
        try {
          this.disk.flush();
        } catch {
          return this.fail(ER_ABRT);
        }
        return this.complete();
      case 0xef:
        return this.setFeatures() ? this.complete() : this.abort();
      case 0xe0: case 0xe2: case 0xe6: case 0x94: case 0x96: case 0x99: // STANDBY (IMMEDIATE), SLEEP
        this.standby = true;
        return this.complete();
      case 0xe1: case 0xe3: case 0x95: case 0x97: // IDLE (IMMEDIATE)
        this.standby = false;
        return this.complete();
      case 0xe5: case 0x98: // CHECK POWER MODE
        this.nsector = this.standby ? 0x00 : 0xff;
        return this.complete();
      case 0x90: // EXECUTE DEVICE DIAGNOSTIC
        this.setSignature();
        this.select &= 0xf0;
        this.status = ST_DRDY | ST_DSC;
        this.error = 0x01;
        this.channel.raiseIrq();
        return;
      case 0xf8: // READ NATIVE MAX ADDRESS
        if (!(this.select & 0x40)) return this.abort();
        this.setLba28(Math.min(this.totalSectors, 0x10000000) - 1);
        return this.complete();
      case 0x27: // READ NATIVE MAX ADDRESS EXT
        this.setLba48(this.totalSectors - 1);
        return this.complete();
      default:
        if (cmd >= 0x10 && cmd <= 0x1f) return this.complete(); // RECALIBRATE
        if (cmd >= 0x70 && cmd <= 0x7f) return this.seek();
        return this.abort();
    }
  }

  /** The starting sector from the task file, or -1 when a CHS address is invalid. */
  private startSector(lba48: boolean): number {
    if (lba48) {
      return (this.hobHcyl * 2 ** 40) + (this.hobLcyl * 2 ** 32) + (this.hobSector * 2 ** 24) +
        (this.hcyl << 16) + (this.lcyl << 8) + this.sector;
    }
    if (this.select & 0x40) {
      return ((this.select & 0x0f) << 24) | (this.hcyl << 16) | (this.lcyl << 8) | this.sector;
    }
    const cyl = (this.hcyl << 8) | this.lcyl;
    const head = this.select & 0x0f;
    const sec = this.sector;
    if (sec === 0 || sec > this.curSectors || head >= this.curHeads) return -1;
    return (cyl * this.curHeads + head) * this.curSectors + sec - 1;
  }

  private sectorCount(lba48: boolean): number {
    if (lba48) return ((this.hobNsector << 8) | this.nsector) || 65536;
    return this.nsector || 256;
  }

  private setLba28(lba: number): void {
    this.sector = lba & 0xff;
    this.lcyl = (lba >>> 8) & 0xff;
    this.hcyl = (lba >>> 16) & 0xff;
    this.select = (this.select & 0xf0) | ((lba >>> 24) & 0x0f);
  }

  private setLba48(lba: number): void {
    this.sector = lba & 0xff;
    this.lcyl = (lba >>> 8) & 0xff;
    this.hcyl = (lba >>> 16) & 0xff;
    const high = Math.floor(lba / 2 ** 24);
    this.hobSector = high & 0xff;
    this.hobLcyl = (high >>> 8) & 0xff;
    this.hobHcyl = (high >>> 16) & 0xff;
  }

  /** Write a sector address back into the task file in the addressing mode of the command. */
  private setPosition(lba: number): void {
    if (this.lba48) return this.setLba48(lba);
    if (this.select & 0x40) return this.setLba28(lba);
    const spt = this.curSectors;
    const heads = this.curHeads;
    const cyl = Math.floor(lba / (spt * heads));
    const rest = lba % (spt * heads);
    this.lcyl = cyl & 0xff;
    this.hcyl = (cyl >>> 8) & 0xff;
    this.select = (this.select & 0xf0) | Math.floor(rest / spt);
    this.sector = (rest % spt) + 1;
  }

  /** Validate the range of a transfer command; on failure the error is already reported. */
  private prepare(lba48: boolean, multiple: boolean): boolean {
    if (multiple && this.multipleCount === 0) {
      this.abort();
      return false;
    }
    const start = this.startSector(lba48);
    const count = this.sectorCount(lba48);
    if (start < 0 || start + count > this.totalSectors) {
      this.fail(ER_IDNF);
      return false;
    }
    this.lba48 = lba48;
    this.nextSector = start;
    this.sectorsLeft = count;
    this.currentMultiple = multiple ? this.multipleCount : 1;
    return true;
  }

  private startRead(lba48: boolean, multiple: boolean, dma: boolean): void {
    if (!this.prepare(lba48, multiple)) return;
    this.standby = false;
    if (dma) return this.requestDma(DMA_TO_MEMORY);
    this.readNextBlock();
  }

  private startWrite(lba48: boolean, multiple: boolean, dma: boolean): void {
    if (!this.prepare(lba48, multiple)) return;
    if (this.disk.readOnly) return this.abort();
    this.standby = false;
    if (dma) return this.requestDma(DMA_FROM_MEMORY);
    const n = Math.min(this.sectorsLeft, this.currentMultiple);
    this.startPio(n * SECTOR, END_WRITE_BLOCK);
  }

  private requestDma(direction: number): void {
    this.dmaDirection = direction;
    this.status = ST_DRDY | ST_DSC | ST_DRQ | ST_BSY;
    this.channel.dma?.dmaRequested();
  }

  /** Load the next DRQ block of a PIO read, or finish. */
  protected override readNextBlock(): void {
    if (this.sectorsLeft === 0) {
      this.status = ST_DRDY | ST_DSC;
      return;
    }
    const n = Math.min(this.sectorsLeft, this.currentMultiple);
    if (!this.readSectors(n)) return;
    this.startPio(n * SECTOR, END_READ_NEXT);
    this.channel.raiseIrq();
  }

  /** Read n sectors at nextSector into the buffer and advance; reports errors itself. */
  private readSectors(n: number): boolean {
    try {
      this.disk.read(this.nextSector * SECTOR, this.buffer.subarray(0, n * SECTOR));
    } catch {
      this.setPosition(this.nextSector);
      this.fail(ER_UNC | ER_ABRT);
      return false;
    }
    this.advance(n);
    return true;
  }

  private writeSectors(n: number): boolean {
    try {
      this.disk.write(this.nextSector * SECTOR, this.buffer.subarray(0, n * SECTOR));
    } catch {
      this.setPosition(this.nextSector);
      this.fail(ER_ABRT);
      return false;
    }
    this.advance(n);
    return true;
  }

  private advance(n: number): void {
    this.nextSector += n;
    this.sectorsLeft -= n;
    // The task file points after the last sector moved; the count register counts down.
    this.setPosition(this.nextSector);
    this.nsector = this.sectorsLeft & 0xff;
    if (this.lba48) this.hobNsector = (this.sectorsLeft >>> 8) & 0xff;
  }

  protected override writeBlock(): void {
    const n = Math.min(this.sectorsLeft, this.currentMultiple);
    if (!this.writeSectors(n)) return;
    if (this.sectorsLeft === 0) return this.complete();
    const next = Math.min(this.sectorsLeft, this.currentMultiple);
    this.startPio(next * SECTOR, END_WRITE_BLOCK);
    this.channel.raiseIrq();
  }

  private verify(lba48: boolean): void {
    if (!this.prepare(lba48, false)) return;
    this.nextSector += this.sectorsLeft;
    this.sectorsLeft = 0;
    this.complete();
  }

  private seek(): void {
    const s = this.startSector(false);
    if (s < 0 || s >= this.totalSectors) return this.fail(ER_IDNF);
    this.complete();
  }

  runDma(engine: IdeDmaEngine): number {
    const toMemory = this.dmaDirection === DMA_TO_MEMORY;
    const perChunk = BUFFER_SIZE / SECTOR;
    while (this.sectorsLeft > 0) {
      const n = Math.min(this.sectorsLeft, perChunk);
      const chunk = this.buffer.subarray(0, n * SECTOR);
      if (toMemory) {
        const start = this.nextSector;
        if (!this.readSectors(n)) return DMA_DEVICE_ERROR;
        if (engine.toMemory(chunk) < chunk.length) {
          this.setPosition(start);
          this.fail(ER_ABRT);
          return DMA_PRD_SHORT;
        }
      } else {
        if (engine.fromMemory(chunk) < chunk.length) {
          this.setPosition(this.nextSector);
          this.fail(ER_ABRT);
          return DMA_PRD_SHORT;
        }
        if (!this.writeSectors(n)) return DMA_DEVICE_ERROR;
      }
    }
    this.complete();
    return DMA_OK;
  }
}
