// Intel 82077AA floppy disk controller (PC/AT mode) with up to two drives.
//
// Wiring in the board:
//   const fdc = new Fdc({ irq: (level) => irqs.line(6).set(level), dma: dma.channel(2),
//                         media: config.floppy });
//   fdc.registerPorts(io);             // 0x3F0-0x3F5 and 0x3F7 (0x3F6 belongs to IDE)
//   fdc.dmaReady() when channel 2 gets unmasked (optional: a command issued before the DMA
//   channel was programmed waits until then);
//   state: fdc (one Stateful); reset: fdc.reset(); media: fdc.changeMedia(drive, dev | null).
//   floppyGeometry(size).cmosType tells the CMOS drive type for an image.
//
// Registers (offset from 0x3F0): 2 DOR, 3 TDR, 4 MSR (read) / DSR (write), 5 FIFO (data),
// 7 DIR (read, bit 7 disk change) / CCR (write, data rate). Data moves synchronously through
// ISA DMA channel 2 (or the FIFO in non-DMA mode): a READ DATA finishes, interrupt raised,
// inside the port write that completed its command bytes.
//
// The geometry of a medium comes from the image size (160K .. 2.88M and DMF). The data rate
// must suit the medium, as on real drives, so BIOS/OS media detection by trial works.

import type { DmaChannel } from '../bus/dma.js';
import type { IoBus, PortHandler } from '../bus/io.js';
import type { BlockDevice } from '../disk/block.js';
import { StateError, type Stateful, type VMStateDecl } from '../state/vmstate.js';

export interface FloppyGeometry {
  cylinders: number;
  heads: number;
  sectors: number;
  /** Data rates (DSR/CCR codes: 0 = 500 kb/s, 1 = 300, 2 = 250, 3 = 1 Mb/s) the medium reads at. */
  rates: readonly number[];
  /** CMOS drive type for a drive holding this medium (1 360K, 2 1.2M, 3 720K, 4 1.44M, 5 2.88M; 6-8 SeaBIOS's 160K/180K/320K). */
  cmosType: number;
  name: string;
}

const FORMATS: readonly (FloppyGeometry & { size: number })[] = [
  // Types 6-8 are SeaBIOS's own numbers for the single-density 5.25" formats.
  { size: 163840, cylinders: 40, heads: 1, sectors: 8, rates: [2, 1], cmosType: 6, name: '160K' },
  { size: 184320, cylinders: 40, heads: 1, sectors: 9, rates: [2, 1], cmosType: 7, name: '180K' },
  { size: 327680, cylinders: 40, heads: 2, sectors: 8, rates: [2, 1], cmosType: 8, name: '320K' },
  { size: 368640, cylinders: 40, heads: 2, sectors: 9, rates: [2, 1], cmosType: 1, name: '360K' },
  { size: 737280, cylinders: 80, heads: 2, sectors: 9, rates: [2, 1], cmosType: 3, name: '720K' },
  { size: 1228800, cylinders: 80, heads: 2, sectors: 15, rates: [0], cmosType: 2, name: '1.2M' },
  { size: 1474560, cylinders: 80, heads: 2, sectors: 18, rates: [0], cmosType: 4, name: '1.44M' },
  { size: 1720320, cylinders: 80, heads: 2, sectors: 21, rates: [0], cmosType: 4, name: '1.68M DMF' },
  { size: 1763328, cylinders: 82, heads: 2, sectors: 21, rates: [0], cmosType: 4, name: '1.72M' },
  { size: 2949120, cylinders: 80, heads: 2, sectors: 36, rates: [3], cmosType: 5, name: '2.88M' },
];

/** Geometry of a floppy image from its size; non-standard sizes get the nearest larger format. */
export function floppyGeometry(size: number): FloppyGeometry {
  const exact = FORMATS.find((f) => f.size === size);
  if (exact) return exact;
  const larger = FORMATS.find((f) => f.size > size && f.heads === 2 && f.cylinders === 80);
  return larger ?? FORMATS[FORMATS.length - 1];
}

export interface FdcOptions {
  irq: (level: boolean) => void;
  /** ISA DMA channel 2, or null for a controller used in non-DMA mode only. */
  dma: DmaChannel | null;
  /** Media in drives A: and B: (null: empty drive). */
  media: readonly (BlockDevice | null)[];
  /** Drives present (1 or 2, default 2). */
  drives?: number;
  name?: string;
}

// MSR bits.
const MSR_RQM = 0x80;
const MSR_DIO = 0x40;
const MSR_NDMA = 0x20;
const MSR_CB = 0x10;
// DOR bits.
const DOR_NRESET = 0x04;
const DOR_DMAEN = 0x08;
// ST0 bits.
const ST0_ABNORMAL = 0x40;
const ST0_INVALID = 0x80;
const ST0_SEEK_END = 0x20;
const ST0_EQUIPMENT = 0x10;
const ST0_NOT_READY = 0x08;
// ST1 bits.
const ST1_EN = 0x80;
const ST1_ND = 0x04;
const ST1_NW = 0x02;
const ST1_MA = 0x01;

const PHASE_COMMAND = 0;
const PHASE_EXEC = 1;
const PHASE_RESULT = 2;

/** Execution-phase operations. */
const OP_NONE = 0;
const OP_READ = 1;
const OP_WRITE = 2;
const OP_FORMAT = 3;

const SECTOR = 512;

/** Command byte counts by opcode (low 5 bits); 0 = invalid. */
function commandLength(cmd: number): number {
  switch (cmd & 0x1f) {
    case 0x02: return 9; // READ TRACK
    case 0x03: return 3; // SPECIFY
    case 0x04: return 2; // SENSE DRIVE STATUS
    case 0x05: return 9; // WRITE DATA
    case 0x06: return 9; // READ DATA
    case 0x07: return 2; // RECALIBRATE
    case 0x08: return 1; // SENSE INTERRUPT STATUS
    case 0x09: return 9; // WRITE DELETED DATA
    case 0x0a: return 2; // READ ID
    case 0x0c: return 9; // READ DELETED DATA
    case 0x0d: return 6; // FORMAT TRACK
    case 0x0e: return 1; // DUMPREG
    case 0x0f: return 3; // SEEK (and RELATIVE SEEK)
    case 0x10: return 1; // VERSION
    case 0x12: return 2; // PERPENDICULAR MODE
    case 0x13: return 4; // CONFIGURE
    case 0x14: return 1; // LOCK / UNLOCK
    default: return 0;
  }
}

export class Fdc implements Stateful, PortHandler {
  readonly vmstate: VMStateDecl;
  private readonly irqLine: (level: boolean) => void;
  private readonly dma: DmaChannel | null;
  private readonly media: (BlockDevice | null)[];
  readonly driveCount: number;

  // Declared state.
  dor = DOR_NRESET | DOR_DMAEN;
  tdr = 0;
  dsr = 0;
  rate = 2;
  phase = PHASE_COMMAND;
  command = new Uint8Array(16);
  commandPos = 0;
  result = new Uint8Array(16);
  resultPos = 0;
  resultLen = 0;
  irqPending = false;
  /** Status of the last seek/recalibrate/reset interrupt per drive, for SENSE INTERRUPT STATUS. */
  pendingSense = 0;
  senseSt0 = new Uint8Array(4);
  resetSenses = 0;
  cylinder = new Uint8Array(4);
  head = new Uint8Array(4);
  sector = new Uint8Array(4);
  diskChanged = new Uint8Array([1, 1, 1, 1]);
  srtHut = 0;
  hltNd = 0;
  config = 0x20; // implied seek off, FIFO disabled, polling on, threshold 0
  pretrk = 0;
  locked = false;
  perpendicular = 0;
  lastEot = 0;
  // Execution phase (non-DMA transfers and DMA waiting for its channel).
  op = OP_NONE;
  dmaWaiting = false;
  buffer = new Uint8Array(1024);
  bufPos = 0;
  bufLen = 0;
  xferDrive = 0;
  xferCyl = 0;
  xferHead = 0;
  xferSector = 0;
  xferEot = 0;
  xferMt = false;
  xferSectors = 0;

  private lineLevel = false;

  constructor(opts: FdcOptions) {
    this.irqLine = opts.irq;
    this.dma = opts.dma;
    this.media = [opts.media[0] ?? null, opts.media[1] ?? null];
    this.driveCount = Math.max(1, Math.min(2, opts.drives ?? 2));
    this.vmstate = {
      name: opts.name ?? 'fdc',
      version: 1,
      fields: [
        { name: 'dor', type: 'u8' },
        { name: 'tdr', type: 'u8' },
        { name: 'dsr', type: 'u8' },
        { name: 'rate', type: 'u8' },
        { name: 'phase', type: 'u8' },
        { name: 'command', type: 'u8[]', length: 16 },
        { name: 'commandPos', type: 'u8' },
        { name: 'result', type: 'u8[]', length: 16 },
        { name: 'resultPos', type: 'u8' },
        { name: 'resultLen', type: 'u8' },
        { name: 'irqPending', type: 'bool' },
        { name: 'pendingSense', type: 'u8' },
        { name: 'senseSt0', type: 'u8[]', length: 4 },
        { name: 'resetSenses', type: 'u8' },
        { name: 'cylinder', type: 'u8[]', length: 4 },
        { name: 'head', type: 'u8[]', length: 4 },
        { name: 'sector', type: 'u8[]', length: 4 },
        { name: 'diskChanged', type: 'u8[]', length: 4 },
        { name: 'srtHut', type: 'u8' },
        { name: 'hltNd', type: 'u8' },
        { name: 'config', type: 'u8' },
        { name: 'pretrk', type: 'u8' },
        { name: 'locked', type: 'bool' },
        { name: 'perpendicular', type: 'u8' },
        { name: 'lastEot', type: 'u8' },
        { name: 'op', type: 'u8' },
        { name: 'dmaWaiting', type: 'bool' },
        { name: 'buffer', type: 'u8[]', length: 1024 },
        { name: 'bufPos', type: 'u16' },
        { name: 'bufLen', type: 'u16' },
        { name: 'xferDrive', type: 'u8' },
        { name: 'xferCyl', type: 'u8' },
        { name: 'xferHead', type: 'u8' },
        { name: 'xferSector', type: 'u8' },
        { name: 'xferEot', type: 'u8' },
        { name: 'xferMt', type: 'bool' },
        { name: 'xferSectors', type: 'u16' },
      ],
    };
    this.reset();
  }

  /** Register the controller's ports: 0x3F0-0x3F5 and 0x3F7 (DIR/CCR). */
  registerPorts(io: IoBus, base = 0x3f0): void {
    io.register('fdc', base, 6, this);
    io.register('fdc.dir', base + 7, 1, {
      read8: () => this.read8(7),
      write8: (_o, v) => this.write8(7, v),
    });
  }

  /** Insert (or remove, with null) the medium in drive 0 or 1; the guest sees DIR bit 7. */
  changeMedia(drive: number, media: BlockDevice | null): void {
    if (drive < 0 || drive >= this.driveCount) throw new Error(`floppy drive ${drive} does not exist`);
    this.media[drive] = media;
    this.diskChanged[drive] = 1;
  }

  mediumIn(drive: number): BlockDevice | null {
    return this.media[drive] ?? null;
  }

  /** Hardware reset (power on, RESET#). */
  reset(): void {
    this.dor = DOR_NRESET | DOR_DMAEN;
    this.tdr = 0;
    this.rate = 2;
    this.dsr = this.rate;
    this.srtHut = this.hltNd = 0;
    this.locked = false;
    this.config = 0x20;
    this.pretrk = 0;
    this.perpendicular = 0;
    this.cylinder.fill(0);
    this.head.fill(0);
    this.sector.fill(1);
    this.softReset(false);
  }

  /**
   * DOR/DSR reset: back to the command phase. Leaving reset interrupts and, with polling
   * enabled, queues four "ready changed" statuses for SENSE INTERRUPT STATUS.
   */
  private softReset(interrupt: boolean): void {
    this.phase = PHASE_COMMAND;
    this.commandPos = 0;
    this.resultPos = this.resultLen = 0;
    this.op = OP_NONE;
    this.dmaWaiting = false;
    this.bufPos = this.bufLen = 0;
    this.pendingSense = 0;
    this.resetSenses = 0;
    if (!this.locked) {
      this.config = 0x20;
      this.pretrk = 0;
    }
    this.perpendicular &= 0x3c; // the per-drive bits survive, GAP/WGATE clear
    this.lowerIrq();
    if (interrupt) {
      this.raiseIrq();
      this.resetSenses = this.config & 0x10 ? 1 : 4;
    }
  }

  postLoad(): void {
    if (this.phase > PHASE_RESULT || this.commandPos > 16 || this.resultLen > 16 || this.bufLen > 1024 || this.bufPos > this.bufLen) {
      throw new StateError(`${this.vmstate.name}: saved controller state out of range`);
    }
    this.lineLevel = !this.outputLevel();
    this.updateLine();
  }

  // ---- interrupt line (gated by DOR DMA/IRQ enable, as on the AT)

  private outputLevel(): boolean {
    return this.irqPending && (this.dor & DOR_DMAEN) !== 0;
  }

  private updateLine(): void {
    const level = this.outputLevel();
    if (level !== this.lineLevel) {
      this.lineLevel = level;
      this.irqLine(level);
    }
  }

  /** A new interrupt also drops any reset statuses not yet sensed (as QEMU does). */
  private raiseIrq(): void {
    this.resetSenses = 0;
    this.irqPending = true;
    this.updateLine();
  }

  private lowerIrq(): void {
    this.irqPending = false;
    this.updateLine();
  }

  // ---- ports

  read8(offset: number): number {
    switch (offset & 7) {
      case 0: return 0xff; // SRA/SRB: PS/2 only
      case 1: return 0xff;
      case 2: return this.dor;
      case 3: return this.tdr;
      case 4: return this.msr();
      case 5: return this.readFifo();
      case 7: {
        const d = this.dor & 3;
        return d < this.driveCount && this.diskChanged[d] ? 0x80 : 0x00;
      }
      default: return 0xff;
    }
  }

  write8(offset: number, value: number): void {
    value &= 0xff;
    switch (offset & 7) {
      case 2: {
        const was = this.dor;
        this.dor = value;
        if (!(value & DOR_NRESET)) {
          if (was & DOR_NRESET) this.softReset(false);
        } else if (!(was & DOR_NRESET)) {
          this.softReset(true);
        }
        this.updateLine();
        return;
      }
      case 3: this.tdr = value & 3; return;
      case 4:
        this.dsr = value & 0x7f;
        this.rate = value & 3;
        if (value & 0x80) this.softReset(true);
        return;
      case 5: this.writeFifo(value); return;
      case 7: this.rate = value & 3; this.dsr = (this.dsr & ~3) | this.rate; return;
    }
  }

  private msr(): number {
    if (!(this.dor & DOR_NRESET)) return 0;
    switch (this.phase) {
      case PHASE_COMMAND: return MSR_RQM | (this.commandPos > 0 ? MSR_CB : 0);
      case PHASE_RESULT: return MSR_RQM | MSR_DIO | MSR_CB;
      default:
        if (this.dmaWaiting) return MSR_CB;
        return MSR_RQM | MSR_NDMA | MSR_CB | (this.op === OP_READ ? MSR_DIO : 0);
    }
  }

  private readFifo(): number {
    if (this.phase === PHASE_RESULT) {
      if (this.resultPos === 0) this.lowerIrq();
      const v = this.result[this.resultPos++];
      if (this.resultPos >= this.resultLen) {
        this.phase = PHASE_COMMAND;
        this.resultPos = this.resultLen = 0;
      }
      return v;
    }
    if (this.phase === PHASE_EXEC && this.op === OP_READ && !this.dmaWaiting) {
      const v = this.buffer[this.bufPos++];
      if (this.bufPos >= this.bufLen) this.pioSectorDone();
      return v;
    }
    return 0xff;
  }

  private writeFifo(value: number): void {
    if (!(this.dor & DOR_NRESET)) return;
    if (this.phase === PHASE_EXEC) {
      if ((this.op === OP_WRITE || this.op === OP_FORMAT) && !this.dmaWaiting) {
        this.buffer[this.bufPos++] = value;
        if (this.bufPos >= this.bufLen) this.pioSectorDone();
      }
      return;
    }
    if (this.phase !== PHASE_COMMAND) return; // writes during the result phase are ignored
    this.command[this.commandPos++] = value;
    const need = commandLength(this.command[0]);
    if (need === 0) {
      this.commandPos = 0;
      return this.finish([ST0_INVALID]);
    }
    if (this.commandPos >= need) {
      this.commandPos = 0;
      this.execute();
    }
  }

  /** Enter the result phase with `bytes`; raises the interrupt when asked. */
  private finish(bytes: number[], irq = false): void {
    this.result.set(bytes);
    this.resultLen = bytes.length;
    this.resultPos = 0;
    this.phase = bytes.length ? PHASE_RESULT : PHASE_COMMAND;
    this.op = OP_NONE;
    this.dmaWaiting = false;
    if (irq) this.raiseIrq();
  }

  // ---- commands

  private execute(): void {
    const c = this.command;
    const op = c[0] & 0x1f;
    switch (op) {
      case 0x03: // SPECIFY
        this.srtHut = c[1];
        this.hltNd = c[2];
        return this.finish([]);
      case 0x04: { // SENSE DRIVE STATUS
        const d = c[1] & 3;
        const hd = (c[1] >> 2) & 1;
        this.head[d] = hd;
        return this.finish([this.st3(d, hd)]);
      }
      case 0x07: // RECALIBRATE
        return this.seekTo(c[1] & 3, 0);
      case 0x0f: { // SEEK / RELATIVE SEEK
        const d = c[1] & 3;
        this.head[d] = (c[1] >> 2) & 1;
        if (c[0] & 0x80) {
          const target = c[0] & 0x40 ? this.cylinder[d] + c[2] : this.cylinder[d] - c[2];
          return this.seekTo(d, Math.max(0, Math.min(255, target)));
        }
        return this.seekTo(d, c[2]);
      }
      case 0x08: return this.senseInterrupt();
      case 0x10: return this.finish([0x90]); // VERSION: 82077AA
      case 0x12: // PERPENDICULAR MODE
        if (c[1] & 0x80) this.perpendicular = c[1] & 0x3f;
        else this.perpendicular = (this.perpendicular & 0x3c) | (c[1] & 0x03);
        return this.finish([]);
      case 0x13: // CONFIGURE
        this.config = c[2];
        this.pretrk = c[3];
        return this.finish([]);
      case 0x14: // LOCK (bit 7 set) / UNLOCK
        this.locked = (c[0] & 0x80) !== 0;
        return this.finish([this.locked ? 0x10 : 0x00]);
      case 0x0e: // DUMPREG
        return this.finish([
          this.cylinder[0], this.cylinder[1], this.cylinder[2], this.cylinder[3],
          this.srtHut, this.hltNd, this.lastEot,
          (this.locked ? 0x80 : 0) | (this.perpendicular & 0x3f),
          this.config, this.pretrk,
        ]);
      case 0x0a: return this.readId();
      case 0x06: case 0x0c: return this.startTransfer(OP_READ);
      case 0x05: case 0x09: return this.startTransfer(OP_WRITE);
      case 0x02: return this.startTransfer(OP_READ, true);
      case 0x0d: return this.startFormat();
      default: return this.finish([ST0_INVALID]);
    }
  }

  private st3(drive: number, hd: number): number {
    const m = this.media[drive];
    let st3 = 0x20 | 0x08 | (hd << 2) | drive; // ready, two-sided
    if (this.cylinder[drive] === 0) st3 |= 0x10;
    if (m?.readOnly || (!m && drive < this.driveCount)) st3 |= 0x40;
    return st3;
  }

  private seekTo(drive: number, cyl: number): void {
    let st0 = ST0_SEEK_END | (this.head[drive] << 2) | drive;
    if (drive >= this.driveCount) {
      // No drive: recalibrate fails to find track 0.
      st0 |= ST0_ABNORMAL | ST0_EQUIPMENT;
    } else {
      // Seeking with a disk inserted clears the disk-change line (as QEMU and most BIOSes expect).
      if (this.media[drive]) this.diskChanged[drive] = 0;
      this.cylinder[drive] = cyl;
      this.sector[drive] = 1;
    }
    this.pendingSense |= 1 << drive;
    this.senseSt0[drive] = st0;
    this.finish([]);
    this.raiseIrq();
  }

  private senseInterrupt(): void {
    if (this.resetSenses > 0) {
      const d = (this.config & 0x10 ? 1 : 4) - this.resetSenses;
      this.resetSenses--;
      if (this.resetSenses === 0 && this.pendingSense === 0) this.lowerIrq();
      return this.finish([0xc0 | d, this.cylinder[d]]);
    }
    for (let d = 0; d < 4; d++) {
      if (this.pendingSense & (1 << d)) {
        this.pendingSense &= ~(1 << d);
        if (this.pendingSense === 0) this.lowerIrq();
        return this.finish([this.senseSt0[d], this.cylinder[d]]);
      }
    }
    this.lowerIrq();
    return this.finish([ST0_INVALID]);
  }

  /** The medium in a drive when it can be read at the current data rate, else null. */
  private readable(drive: number): { dev: BlockDevice; geo: FloppyGeometry } | null {
    if (drive >= this.driveCount) return null;
    const dev = this.media[drive];
    if (!dev) return null;
    const geo = floppyGeometry(dev.size);
    if (!geo.rates.includes(this.rate)) return null;
    return { dev, geo };
  }

  private readId(): void {
    const d = this.command[1] & 3;
    const hd = (this.command[1] >> 2) & 1;
    this.head[d] = hd;
    const m = this.readable(d);
    const st0 = (hd << 2) | d;
    if (!m || hd >= m.geo.heads || this.cylinder[d] >= m.geo.cylinders) {
      return this.finish([st0 | ST0_ABNORMAL, ST1_MA, 0, this.cylinder[d], hd, 1, 2], true);
    }
    // The next sector to pass under the head.
    const s = this.sector[d] >= 1 && this.sector[d] <= m.geo.sectors ? this.sector[d] : 1;
    this.sector[d] = (s % m.geo.sectors) + 1;
    this.finish([st0, 0, 0, this.cylinder[d], hd, s, 2], true);
  }

  /** Result bytes for a data command: ST0, ST1, ST2, C, H, R, N. */
  private dataResult(st0: number, st1: number, st2: number): void {
    const d = this.xferDrive;
    this.finish([st0 | (this.xferHead << 2) | d, st1, st2, this.xferCyl, this.xferHead, this.xferSector, 2], true);
  }

  private startTransfer(op: number, track = false): void {
    const c = this.command;
    const d = c[1] & 3;
    const hd = (c[1] >> 2) & 1;
    this.xferDrive = d;
    this.xferHead = hd;
    this.xferCyl = c[2];
    this.xferSector = track ? 1 : c[4];
    this.xferEot = c[6];
    this.lastEot = c[6];
    this.xferMt = (c[0] & 0x80) !== 0 && !track;
    this.xferSectors = 0;
    this.head[d] = hd;
    const m = this.readable(d);
    if (!m) {
      if (d >= this.driveCount) return this.dataResult(ST0_ABNORMAL | ST0_NOT_READY, 0, 0);
      return this.dataResult(ST0_ABNORMAL, ST1_MA, 0);
    }
    // Implied seek: the head moves to the cylinder the command names.
    this.cylinder[d] = c[2];
    if (c[5] !== 2 || hd >= m.geo.heads || c[2] >= m.geo.cylinders || this.xferSector < 1 || this.xferSector > m.geo.sectors) {
      return this.dataResult(ST0_ABNORMAL, ST1_ND, 0);
    }
    if (op === OP_WRITE && m.dev.readOnly) return this.dataResult(ST0_ABNORMAL, ST1_NW, 0);
    this.op = op;
    this.phase = PHASE_EXEC;
    if (this.hltNd & 1) {
      // Non-DMA: the host moves each sector through the FIFO.
      this.pioLoad();
      this.raiseIrq();
      return;
    }
    this.dmaWaiting = true;
    this.dmaReady();
  }

  private startFormat(): void {
    const c = this.command;
    const d = c[1] & 3;
    const hd = (c[1] >> 2) & 1;
    this.xferDrive = d;
    this.xferHead = hd;
    this.xferCyl = this.cylinder[d];
    this.xferSector = 1;
    this.xferSectors = c[3];
    this.head[d] = hd;
    const m = this.readable(d);
    if (!m) return this.dataResult(ST0_ABNORMAL, ST1_MA, 0);
    if (m.dev.readOnly) return this.dataResult(ST0_ABNORMAL, ST1_NW, 0);
    if (c[2] !== 2 || c[3] === 0) return this.dataResult(ST0_ABNORMAL, ST1_ND, 0);
    this.op = OP_FORMAT;
    this.phase = PHASE_EXEC;
    this.bufPos = 0;
    this.bufLen = 4 * c[3];
    if (this.hltNd & 1) {
      this.raiseIrq();
      return;
    }
    this.dmaWaiting = true;
    this.dmaReady();
  }

  /** Byte offset of the current transfer sector in the image, or -1 when it does not exist. */
  private sectorOffset(geo: FloppyGeometry, cyl: number, head: number, sector: number): number {
    if (cyl >= geo.cylinders || head >= geo.heads || sector < 1 || sector > geo.sectors) return -1;
    return ((cyl * geo.heads + head) * geo.sectors + sector - 1) * SECTOR;
  }

  /** Move past the sector just transferred; false when the track (or cylinder, with MT) ended. */
  private advance(): boolean {
    this.xferSectors++;
    if (this.xferSector < this.xferEot) {
      this.xferSector++;
      return true;
    }
    // End of track.
    this.xferSector = 1;
    if (this.xferMt && this.xferHead === 0) {
      this.xferHead = 1;
      return true;
    }
    if (this.xferMt) this.xferHead = 0;
    this.xferCyl = (this.xferCyl + 1) & 0xff;
    return false;
  }

  /**
   * Run (or continue) a DMA transfer if the channel is ready: call when the board's DMA
   * controller unmasks channel 2 for a command that was issued first.
   */
  dmaReady(): void {
    if (this.phase !== PHASE_EXEC || !this.dmaWaiting) return;
    const dma = this.dma;
    if (!dma || !dma.enabled || !(this.dor & DOR_DMAEN)) return;
    this.dmaWaiting = false;
    if (this.op === OP_FORMAT) return this.dmaFormat(dma);
    const m = this.readable(this.xferDrive);
    if (!m) return this.dataResult(ST0_ABNORMAL, ST1_MA, 0);
    const buf = this.buffer.subarray(0, SECTOR);
    for (;;) {
      const at = this.sectorOffset(m.geo, this.xferCyl, this.xferHead, this.xferSector);
      if (at < 0) return this.dataResult(ST0_ABNORMAL, ST1_ND, 0);
      if (this.op === OP_READ) {
        if (!this.readImage(m.dev, at, buf)) return this.dataResult(ST0_ABNORMAL, 0x20, 0x20); // data error
        const moved = dma.writeToMemory(buf);
        if (moved < SECTOR && !dma.terminalCount) return this.dataResult(ST0_ABNORMAL, 0x10, 0); // overrun
      } else {
        const moved = dma.readFromMemory(buf);
        if (moved < SECTOR) {
          if (!dma.terminalCount) return this.dataResult(ST0_ABNORMAL, 0x10, 0);
          buf.fill(0, moved); // the controller pads a sector cut short by terminal count
        }
        if (!this.writeImage(m.dev, at, buf)) return this.dataResult(ST0_ABNORMAL, ST1_NW, 0);
      }
      const more = this.advance();
      if (dma.terminalCount) return this.dataResult(0, 0, 0);
      if (!more) return this.dataResult(ST0_ABNORMAL, ST1_EN, 0);
    }
  }

  private readImage(dev: BlockDevice, at: number, buf: Uint8Array): boolean {
    try {
      if (at + SECTOR <= dev.size) dev.read(at, buf);
      else buf.fill(0); // a short, non-standard image reads as blank beyond its end
      return true;
    } catch {
      return false;
    }
  }

  private writeImage(dev: BlockDevice, at: number, buf: Uint8Array): boolean {
    try {
      if (at + SECTOR <= dev.size) dev.write(at, buf);
      return true;
    } catch {
      return false;
    }
  }

  // ---- non-DMA transfers

  private pioLoad(): void {
    this.bufPos = 0;
    this.bufLen = SECTOR;
    if (this.op !== OP_READ) return;
    const m = this.readable(this.xferDrive);
    const at = m ? this.sectorOffset(m.geo, this.xferCyl, this.xferHead, this.xferSector) : -1;
    if (!m || at < 0 || !this.readImage(m.dev, at, this.buffer.subarray(0, SECTOR))) this.buffer.fill(0, 0, SECTOR);
  }

  private pioSectorDone(): void {
    if (this.op === OP_FORMAT) return this.formatTrack(this.buffer.subarray(0, this.bufLen));
    const m = this.readable(this.xferDrive);
    if (!m) return this.dataResult(ST0_ABNORMAL, ST1_MA, 0);
    const at = this.sectorOffset(m.geo, this.xferCyl, this.xferHead, this.xferSector);
    if (at < 0) return this.dataResult(ST0_ABNORMAL, ST1_ND, 0);
    if (this.op === OP_WRITE && !this.writeImage(m.dev, at, this.buffer.subarray(0, SECTOR))) {
      return this.dataResult(ST0_ABNORMAL, ST1_NW, 0);
    }
    if (!this.advance()) return this.dataResult(0, 0, 0);
    this.pioLoad();
  }

  // ---- FORMAT TRACK

  private dmaFormat(dma: DmaChannel): void {
    const ids = this.buffer.subarray(0, this.bufLen);
    const moved = dma.readFromMemory(ids);
    if (moved < ids.length) return this.dataResult(ST0_ABNORMAL, 0x10, 0);
    this.formatTrack(ids);
  }

  /** Fill every sector whose ID (C, H, R, N) was supplied with the filler byte. */
  private formatTrack(ids: Uint8Array): void {
    const m = this.readable(this.xferDrive);
    if (!m) return this.dataResult(ST0_ABNORMAL, ST1_MA, 0);
    const fill = new Uint8Array(SECTOR).fill(this.command[5]);
    let bad = false;
    for (let i = 0; i + 3 < ids.length; i += 4) {
      const at = this.sectorOffset(m.geo, ids[i], ids[i + 1], ids[i + 2]);
      if (at < 0 || ids[i + 3] !== 2 || ids[i + 1] !== this.xferHead) {
        bad = true;
        continue;
      }
      if (!this.writeImage(m.dev, at, fill)) return this.dataResult(ST0_ABNORMAL, ST1_NW, 0);
    }
    this.xferSector = this.xferSectors & 0xff;
    // A layout the image cannot hold (other sector count or size) is reported as no data.
    if (bad) return this.dataResult(ST0_ABNORMAL, ST1_ND, 0);
    this.dataResult(0, 0, 0);
  }
}
