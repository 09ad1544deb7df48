// ATAPI CD-ROM drive (MMC command set over the IDE PACKET protocol).
//
// Wiring: `new AtapiDrive(channel, unit, media)` and `channel.attach(unit, drive)`; the board
// changes the disc with `drive.changeMedia(blockDevice | null)` (null: tray empty). The block
// device is read in 2048-byte sectors; its size should be a multiple of 2048 (a partial last
// sector is ignored).
//
// Protocol: PACKET (A0h) asks for 12 command bytes (interrupt reason C/D=1). Data-in goes out
// in DRQ blocks no larger than the byte-count limit the host put in the cylinder registers,
// one interrupt per block, or in one go through the bus master when the PACKET feature bit 0
// asked for DMA. Errors report CHECK CONDITION: ERR in status, sense key in the error
// register's high nibble, details through REQUEST SENSE.

import type { BlockDevice } from '../disk/block.js';
import { StateError } from '../state/vmstate.js';
import {
  BUFFER_SIZE,
  DMA_DEVICE_ERROR,
  DMA_FROM_MEMORY,
  DMA_NONE,
  DMA_OK,
  DMA_PRD_SHORT,
  DMA_TO_MEMORY,
  END_ATAPI_DATA_IN,
  END_ATAPI_DATA_OUT,
  END_ATAPI_PACKET,
  END_NONE,
  ER_ABRT,
  IdeDrive,
  ST_DRDY,
  ST_DRQ,
  ST_DSC,
  ST_ERR,
  type IdeChannel,
  type IdeDmaEngine,
} from './ide.js';

export const CD_SECTOR = 2048;
const RAW_SECTOR = 2352;

// Sense keys.
export const SENSE_NONE = 0;
export const SENSE_NOT_READY = 2;
export const SENSE_MEDIUM_ERROR = 3;
export const SENSE_ILLEGAL_REQUEST = 5;
export const SENSE_UNIT_ATTENTION = 6;
// Additional sense codes.
export const ASC_INVALID_OPCODE = 0x20;
export const ASC_LBA_OUT_OF_RANGE = 0x21;
export const ASC_INVALID_FIELD = 0x24;
export const ASC_MEDIUM_MAY_HAVE_CHANGED = 0x28;
export const ASC_SAVING_NOT_SUPPORTED = 0x39;
export const ASC_MEDIUM_NOT_PRESENT = 0x3a;
export const ASC_REMOVAL_PREVENTED = 0x53;
const ASC_READ_ERROR = 0x11;

// Interrupt reason (sector count register).
const IR_COD = 0x01;
const IR_IO = 0x02;

// Media events (GET EVENT STATUS NOTIFICATION, media class).
const EVENT_NONE = 0;
const EVENT_EJECT_REQUEST = 1;
const EVENT_NEW_MEDIA = 2;
const EVENT_MEDIA_REMOVAL = 3;

/** Data-out parameter lists (MODE SELECT) larger than this are refused. */
const MAX_PARAM_LIST = 0x1000;

export class AtapiDrive extends IdeDrive {
  readonly kind = 'cdrom' as const;
  private media: BlockDevice | null;

  // Declared state (besides the common drive fields).
  senseKey = 0;
  asc = 0;
  ascq = 0;
  trayOpen = false;
  locked = false;
  unitAttention = false;
  mediaEvent = EVENT_NONE;
  /** End of the response (or read chunk) in the buffer; DRQ blocks are cut from [bufPos, dataEnd). */
  dataEnd = 0;
  byteLimit = 0xfffe;
  useDma = false;
  /** Bytes per sector of the READ in progress: 2048, 2352 (READ CD raw) */
  readSectorBytes = CD_SECTOR;

  constructor(channel: IdeChannel, unit: 0 | 1, media: BlockDevice | null, private readonly serial = `PSCD${unit}00000000001`) {
    super(channel, unit, [
      { name: 'senseKey', type: 'u8' },
      { name: 'asc', type: 'u8' },
      { name: 'ascq', type: 'u8' },
      { name: 'trayOpen', type: 'bool' },
      { name: 'locked', type: 'bool' },
      { name: 'unitAttention', type: 'bool' },
      { name: 'mediaEvent', type: 'u8' },
      { name: 'dataEnd', type: 'u32' },
      { name: 'byteLimit', type: 'u16' },
      { name: 'useDma', type: 'bool' },
      { name: 'readSectorBytes', type: 'u16' },
    ]);
    this.media = media;
    this.udmaMode = 2;
    this.reset(false);
  }

  /** The disc in the drive (null: none). */
  get medium(): BlockDevice | null {
    return this.media;
  }

  /** Medium present and tray closed. */
  get ready(): boolean {
    return this.media !== null && !this.trayOpen;
  }

  /** Sectors on the disc. */
  get capacity(): number {
    return this.media ? Math.floor(this.media.size / CD_SECTOR) : 0;
  }

  /**
   * Insert a disc (or empty the tray with null), as the board does for the user. A new disc
   * raises UNIT ATTENTION once and a "new media" event; ejecting reports "media removal".
   */
  changeMedia(media: BlockDevice | null): void {
    this.media = media;
    this.trayOpen = false;
    this.locked = false;
    if (media) {
      this.unitAttention = true;
      this.mediaEvent = EVENT_NEW_MEDIA;
    } else {
      this.unitAttention = false;
      this.mediaEvent = EVENT_MEDIA_REMOVAL;
    }
  }

  protected setSignature(): void {
    this.nsector = this.sector = 1;
    this.lcyl = 0x14;
    this.hcyl = 0xeb;
  }

  protected resetStatus(): void {
    this.status = 0;
  }

  protected override bufferInUse(): number {
    return Math.max(this.bufEnd, this.dataEnd);
  }

  override postLoad(): void {
    super.postLoad();
    if (this.dataEnd > BUFFER_SIZE || this.bufEnd > this.dataEnd && this.endAction === END_ATAPI_DATA_IN) {
      throw new StateError(`${this.vmstate.name}: saved ATAPI transfer out of range`);
    }
    if (this.readSectorBytes !== CD_SECTOR && this.readSectorBytes !== RAW_SECTOR) {
      throw new StateError(`${this.vmstate.name}: bad saved sector size ${this.readSectorBytes}`);
    }
  }

  override reset(soft: boolean): void {
    super.reset(soft);
    this.dataEnd = 0;
    this.useDma = false;
  }

  identify(): Uint16Array {
    const w = new Uint16Array(256);
    // ATAPI, CD-ROM, removable, DRQ within 50 us, 12-byte packets.
    w[0] = 0x8000 | (5 << 8) | 0x80 | (2 << 5);
    IdeDrive.putString(w, 10, 10, this.serial.slice(0, 20));
    IdeDrive.putString(w, 23, 4, '1.0');
    IdeDrive.putString(w, 27, 20, 'PERSEUS CD-ROM');
    w[48] = 1;
    w[49] = 0x0b00; // IORDY, LBA, DMA
    w[53] = 0x0007;
    this.dmaModeWords(w);
    w[64] = 0x0003;
    w[65] = 0x00b4;
    w[66] = 0x00b4;
    w[67] = 0x012c;
    w[68] = 0x00b4;
    w[71] = 30;
    w[72] = 30;
    w[80] = 0x001e; // ATAPI-1 .. ATAPI-4
    w[82] = 0x4000 | 0x0010; // PACKET feature set
    w[83] = 0x4000;
    w[84] = 0x4000;
    w[85] = 0x0010;
    w[87] = 0x4000;
    w[93] = this.unit === 0 ? 0x6009 : 0x6100; // reset result: 80-wire cable, diagnostics passed
    return w;
  }

  command(cmd: number): void {
    switch (cmd) {
      case 0xa0: // PACKET
        if (this.feature & 0x02) return this.abort(); // overlapped: not supported
        this.useDma = (this.feature & 0x01) !== 0;
        this.byteLimit = (this.hcyl << 8) | this.lcyl;
        this.status = ST_DRDY | ST_DSC | ST_DRQ;
        this.nsector = IR_COD;
        this.bufPos = 0;
        this.bufEnd = 12;
        this.dataEnd = 0;
        this.endAction = END_ATAPI_PACKET;
        return;
      case 0xa1: // IDENTIFY PACKET DEVICE
        this.writeIdentify(this.identify());
        this.dataEnd = 0;
        this.startPio(512, END_NONE);
        this.channel.raiseIrq();
        return;
      case 0xec: case 0x20: case 0x21: case 0x24: case 0xc4: case 0xc8: case 0x25:
        // ATA reads and IDENTIFY DEVICE: abort with the ATAPI signature (how drivers detect us).
        this.setSignature();
        return this.abort();
      case 0x08: // DEVICE RESET
        this.reset(true);
        return;
      case 0x90: // EXECUTE DEVICE DIAGNOSTIC
        this.setSignature();
        this.status = 0;
        this.error = 0x01;
        this.channel.raiseIrq();
        return;
      case 0xef:
        return this.setFeatures() ? this.complete() : this.abort();
      case 0xe5: case 0x98:
        this.nsector = 0xff;
        return this.complete();
      case 0xe0: case 0xe1: case 0xe2: case 0xe3: case 0xe6: case 0xe7:
        return this.complete();
      default:
        return this.abort();
    }
  }

  protected override endTransfer(action: number): void {
    switch (action) {
      case END_ATAPI_PACKET: return this.executePacket();
      case END_ATAPI_DATA_IN: return this.nextDataIn();
      case END_ATAPI_DATA_OUT: return this.nextDataOut();
      default: this.status = ST_DRDY | ST_DSC;
    }
  }

  // ---- completion

  private ok(): void {
    this.senseKey = this.asc = this.ascq = 0;
    this.error = 0;
    this.status = ST_DRDY | ST_DSC;
    this.nsector = IR_IO | IR_COD;
    this.bufPos = this.bufEnd = this.dataEnd = 0;
    this.sectorsLeft = 0;
    this.endAction = END_NONE;
    this.dmaDirection = DMA_NONE;
    this.channel.raiseIrq();
  }

  /** CHECK CONDITION with the given sense. */
  checkCondition(key: number, asc: number, ascq = 0): void {
    this.senseKey = key;
    this.asc = asc;
    this.ascq = ascq;
    this.error = (key << 4) | (key === SENSE_ILLEGAL_REQUEST ? ER_ABRT : 0);
    this.status = ST_DRDY | ST_ERR;
    this.nsector = IR_IO | IR_COD;
    this.bufPos = this.bufEnd = this.dataEnd = 0;
    this.sectorsLeft = 0;
    this.endAction = END_NONE;
    this.dmaDirection = DMA_NONE;
    this.channel.raiseIrq();
  }

  private notReady(): void {
    this.checkCondition(SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT, this.trayOpen ? 0x02 : 0x01);
  }

  private invalidField(): void {
    this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
  }

  /** Send `length` bytes now in the buffer (truncated to the allocation length), then finish. */
  private sendData(length: number, allocation: number): void {
    const n = Math.min(length, allocation, BUFFER_SIZE);
    if (n === 0) return this.ok();
    this.sectorsLeft = 0;
    this.beginDataIn(n);
  }

  private beginDataIn(length: number): void {
    this.bufPos = 0;
    this.dataEnd = length;
    if (this.useDma) {
      this.dmaDirection = DMA_TO_MEMORY;
      this.status = ST_DRDY | ST_DSC | ST_DRQ;
      this.channel.dma?.dmaRequested();
      return;
    }
    this.nextDrqBlock();
  }

  /** Offer the next DRQ block of [bufPos, dataEnd) to the host. */
  private nextDrqBlock(): void {
    const left = this.dataEnd - this.bufPos;
    let limit = this.byteLimit === 0 ? 0xfffe : this.byteLimit;
    if (left > limit) limit &= ~1;
    const n = Math.min(left, limit);
    this.bufEnd = this.bufPos + n;
    this.lcyl = n & 0xff;
    this.hcyl = n >>> 8;
    this.nsector = IR_IO;
    this.status = ST_DRDY | ST_DSC | ST_DRQ;
    this.endAction = END_ATAPI_DATA_IN;
    this.channel.raiseIrq();
  }

  private nextDataIn(): void {
    if (this.bufPos < this.dataEnd) return this.nextDrqBlock();
    if (this.sectorsLeft > 0) {
      if (!this.fillReadBuffer()) return;
      return this.nextDrqBlock();
    }
    this.ok();
  }

  private nextDataOut(): void {
    // Parameter data (MODE SELECT) is accepted and ignored.
    if (this.bufPos < this.dataEnd) {
      this.offerDataOut();
      return;
    }
    this.ok();
  }

  private offerDataOut(): void {
    const left = this.dataEnd - this.bufPos;
    let limit = this.byteLimit === 0 ? 0xfffe : this.byteLimit;
    if (left > limit) limit &= ~1;
    const n = Math.min(left, limit);
    this.bufEnd = this.bufPos + n;
    this.lcyl = n & 0xff;
    this.hcyl = n >>> 8;
    this.nsector = 0;
    this.status = ST_DRDY | ST_DSC | ST_DRQ;
    this.endAction = END_ATAPI_DATA_OUT;
    this.channel.raiseIrq();
  }

  private receiveData(length: number): void {
    if (length === 0) return this.ok();
    if (length > MAX_PARAM_LIST) return this.invalidField();
    this.bufPos = 0;
    this.dataEnd = length;
    if (this.useDma) {
      this.dmaDirection = DMA_FROM_MEMORY;
      this.status = ST_DRDY | ST_DSC | ST_DRQ;
      this.channel.dma?.dmaRequested();
      return;
    }
    this.offerDataOut();
  }

  /** Read the next run of sectors of a READ into the buffer; reports errors itself. */
  private fillReadBuffer(): boolean {
    const media = this.media;
    if (!media || this.trayOpen) {
      this.notReady();
      return false;
    }
    const size = this.readSectorBytes;
    const n = Math.min(this.sectorsLeft, Math.floor(BUFFER_SIZE / size));
    try {
      if (size === CD_SECTOR) {
        media.read(this.nextSector * CD_SECTOR, this.buffer.subarray(0, n * CD_SECTOR));
      } else {
        for (let i = 0; i < n; i++) this.rawSector(media, this.nextSector + i, i * RAW_SECTOR);
      }
    } catch {
      this.checkCondition(SENSE_MEDIUM_ERROR, ASC_READ_ERROR);
      return false;
    }
    this.nextSector += n;
    this.sectorsLeft -= n;
    this.bufPos = 0;
    this.dataEnd = n * size;
    return true;
  }

  /** A mode 1 sector as READ CD returns it raw: sync, header, user data, EDC/ECC left zero. */
  private rawSector(media: BlockDevice, lba: number, at: number): void {
    const b = this.buffer;
    b.fill(0, at, at + RAW_SECTOR);
    b.fill(0xff, at + 1, at + 11);
    const f = lba + 150;
    b[at + 12] = toBcd(Math.floor(f / 4500));
    b[at + 13] = toBcd(Math.floor(f / 75) % 60);
    b[at + 14] = toBcd(f % 75);
    b[at + 15] = 1;
    media.read(lba * CD_SECTOR, b.subarray(at + 16, at + 16 + CD_SECTOR));
  }

  private startRead(lba: number, count: number, sectorBytes: number): void {
    if (!this.ready) return this.notReady();
    if (lba + count > this.capacity) return this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
    if (count === 0) return this.ok();
    this.readSectorBytes = sectorBytes;
    this.nextSector = lba;
    this.sectorsLeft = count;
    if (this.useDma) {
      this.dataEnd = 0;
      this.bufPos = 0;
      this.dmaDirection = DMA_TO_MEMORY;
      this.status = ST_DRDY | ST_DSC | ST_DRQ;
      this.channel.dma?.dmaRequested();
      return;
    }
    if (!this.fillReadBuffer()) return;
    this.nextDrqBlock();
  }

  runDma(engine: IdeDmaEngine): number {
    if (this.dmaDirection === DMA_FROM_MEMORY) {
      const moved = engine.fromMemory(this.buffer.subarray(0, this.dataEnd));
      if (moved < this.dataEnd) {
        this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
        return DMA_PRD_SHORT;
      }
      this.ok();
      return DMA_OK;
    }
    // Data already staged (small responses), then any sectors of a READ.
    for (;;) {
      const chunk = this.buffer.subarray(this.bufPos, this.dataEnd);
      if (chunk.length > 0 && engine.toMemory(chunk) < chunk.length) {
        this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
        return DMA_PRD_SHORT;
      }
      this.bufPos = this.dataEnd;
      if (this.sectorsLeft === 0) break;
      if (!this.fillReadBuffer()) return DMA_DEVICE_ERROR;
    }
    this.ok();
    return DMA_OK;
  }

  // ---- the MMC command set

  private executePacket(): void {
    const p = this.buffer.slice(0, 12);
    const op = p[0];
    if (op !== 0x03) this.senseKey = this.asc = this.ascq = 0;
    // UNIT ATTENTION once after a disc change, except for commands that must always work.
    if (this.unitAttention && op !== 0x12 && op !== 0x03 && op !== 0x46 && op !== 0x4a) {
      this.unitAttention = false;
      return this.checkCondition(SENSE_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED);
    }
    const b = this.buffer;
    b.fill(0, 0, 256);
    switch (op) {
      case 0x00: // TEST UNIT READY
        return this.ready ? this.ok() : this.notReady();
      case 0x03: { // REQUEST SENSE
        let key = this.senseKey, asc = this.asc, ascq = this.ascq;
        if (key === SENSE_NONE && this.unitAttention) {
          key = SENSE_UNIT_ATTENTION;
          asc = ASC_MEDIUM_MAY_HAVE_CHANGED;
          ascq = 0;
          this.unitAttention = false;
        }
        b[0] = 0x70;
        b[2] = key;
        b[7] = 10;
        b[12] = asc;
        b[13] = ascq;
        this.senseKey = this.asc = this.ascq = 0;
        return this.sendData(18, p[4]);
      }
      case 0x12: { // INQUIRY
        if (p[1] & 0x01) return this.invalidField(); // no vital product data pages
        b[0] = 0x05;
        b[1] = 0x80;
        b[2] = 0x00;
        b[3] = 0x21;
        b[4] = 31;
        putAscii(b, 8, 'PERSEUS ', 8);
        putAscii(b, 16, 'CD-ROM', 16);
        putAscii(b, 32, '1.0', 4);
        return this.sendData(36, (p[3] << 8) | p[4]);
      }
      case 0x1a: return this.modeSense(p, false);
      case 0x5a: return this.modeSense(p, true);
      case 0x15: return this.receiveData(p[4]); // MODE SELECT(6)
      case 0x55: return this.receiveData((p[7] << 8) | p[8]); // MODE SELECT(10)
      case 0x1b: return this.startStopUnit(p);
      case 0x1e: // PREVENT ALLOW MEDIUM REMOVAL
        this.locked = (p[4] & 0x01) !== 0;
        return this.ok();
      case 0x25: { // READ CAPACITY
        if (!this.ready) return this.notReady();
        putBe32(b, 0, this.capacity - 1);
        putBe32(b, 4, CD_SECTOR);
        return this.sendData(8, 8);
      }
      case 0x28: // READ(10)
        return this.startRead(be32(p, 2), (p[7] << 8) | p[8], CD_SECTOR);
      case 0xa8: // READ(12)
        return this.startRead(be32(p, 2), be32(p, 6), CD_SECTOR);
      case 0xbe: return this.readCd(p);
      case 0x2b: // SEEK(10)
        if (!this.ready) return this.notReady();
        if (be32(p, 2) >= this.capacity) return this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
        return this.ok();
      case 0x43: return this.readToc(p);
      case 0x42: return this.readSubchannel(p);
      case 0x46: return this.getConfiguration(p);
      case 0x4a: return this.getEventStatus(p);
      case 0x51: { // READ DISC INFORMATION
        if (!this.ready) return this.notReady();
        if (p[1] & 0x07) return this.invalidField();
        b[1] = 32;
        b[2] = 0x0e; // last session complete, disc complete
        b[3] = 1;
        b[4] = 1;
        b[5] = 1;
        b[6] = 1;
        b[7] = 0x20;
        b[8] = 0x00; // CD-DA or CD-ROM
        return this.sendData(34, (p[7] << 8) | p[8]);
      }
      case 0xbd: { // MECHANISM STATUS
        b[0] = 0;
        b[1] = this.trayOpen ? 0x10 : 0;
        return this.sendData(8, (p[8] << 8) | p[9]);
      }
      case 0xbb: // SET CD SPEED
      case 0x35: // SYNCHRONIZE CACHE
        return this.ok();
      default:
        return this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
    }
  }

  private startStopUnit(p: Uint8Array): void {
    const loadEject = (p[4] & 0x02) !== 0;
    const start = (p[4] & 0x01) !== 0;
    if (!loadEject) return this.ok();
    if (!start) {
      if (this.locked) return this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED, 0x02);
      if (!this.trayOpen) {
        this.trayOpen = true;
        this.mediaEvent = this.media ? EVENT_MEDIA_REMOVAL : EVENT_EJECT_REQUEST;
      }
      return this.ok();
    }
    if (this.trayOpen) {
      this.trayOpen = false;
      if (this.media) {
        this.mediaEvent = EVENT_NEW_MEDIA;
        this.unitAttention = true;
      }
    }
    return this.ok();
  }

  private readCd(p: Uint8Array): void {
    const lba = be32(p, 2);
    const count = (p[6] << 16) | (p[7] << 8) | p[8];
    const sectorType = (p[1] >> 2) & 7;
    if (sectorType !== 0 && sectorType !== 2) return this.invalidField(); // any / mode 1 only
    switch (p[9] & 0xf8) {
      case 0x00: // no user data requested
        if (!this.ready) return this.notReady();
        return this.ok();
      case 0x10: return this.startRead(lba, count, CD_SECTOR);
      case 0xf8: return this.startRead(lba, count, RAW_SECTOR);
      default: return this.invalidField();
    }
  }

  private readToc(p: Uint8Array): void {
    if (!this.ready) return this.notReady();
    const msf = (p[1] & 0x02) !== 0;
    const format = (p[2] & 0x0f) || (p[9] >> 6);
    const track = p[6];
    const allocation = (p[7] << 8) | p[8];
    const b = this.buffer;
    const leadOut = this.capacity;
    let n: number;
    switch (format) {
      case 0: {
        if (track > 1 && track !== 0xaa) return this.invalidField();
        b[2] = 1;
        b[3] = 1;
        n = 4;
        if (track <= 1) {
          b[n + 1] = 0x14;
          b[n + 2] = 1;
          putAddress(b, n + 4, 0, msf);
          n += 8;
        }
        b[n + 1] = 0x14;
        b[n + 2] = 0xaa;
        putAddress(b, n + 4, leadOut, msf);
        n += 8;
        break;
      }
      case 1: // multi-session information: one session
        b[2] = 1;
        b[3] = 1;
        b[5] = 0x14;
        b[6] = 1;
        putAddress(b, 8, 0, msf);
        n = 12;
        break;
      case 2: { // raw TOC: A0, A1, A2 and track 1 of session 1
        b[2] = 1;
        b[3] = 1;
        n = 4;
        const point = (pt: number, pmin: number, psec: number, pframe: number) => {
          b[n] = 1;
          b[n + 1] = 0x14;
          b[n + 3] = pt;
          b[n + 8] = pmin;
          b[n + 9] = psec;
          b[n + 10] = pframe;
          n += 11;
        };
        point(0xa0, 1, 0, 0);
        point(0xa1, 1, 0, 0);
        const f = leadOut + 150;
        point(0xa2, Math.floor(f / 4500), Math.floor(f / 75) % 60, f % 75);
        point(1, 0, 2, 0);
        break;
      }
      default:
        return this.invalidField();
    }
    b[0] = (n - 2) >> 8;
    b[1] = (n - 2) & 0xff;
    this.sendData(n, allocation);
  }

  private readSubchannel(p: Uint8Array): void {
    if (!this.ready) return this.notReady();
    const b = this.buffer;
    const allocation = (p[7] << 8) | p[8];
    b[1] = 0x15; // no audio status to report
    if (!(p[2] & 0x40)) return this.sendData(4, allocation);
    const format = p[3];
    if (format !== 1) return this.invalidField();
    b[3] = 12;
    b[4] = 1;
    b[5] = 0x14;
    b[6] = 1;
    b[7] = 1;
    const msf = (p[1] & 0x02) !== 0;
    putAddress(b, 8, 0, msf);
    putAddress(b, 12, 0, msf);
    if (msf) b[14] = 0; // relative address 00:00:00
    return this.sendData(16, allocation);
  }

  private getConfiguration(p: Uint8Array): void {
    const rt = p[1] & 0x03;
    if (rt === 3) return this.invalidField();
    const startFeature = (p[2] << 8) | p[3];
    const allocation = (p[7] << 8) | p[8];
    const b = this.buffer;
    const present = this.ready;
    // Header: current profile (CD-ROM, or none without a disc).
    b[6] = 0;
    b[7] = present ? 0x08 : 0x00;
    let n = 8;
    const feature = (code: number, flags: number, body: number[]) => {
      const current = (flags & 1) !== 0;
      if (code < startFeature) return;
      if (rt === 1 && !current) return;
      if (rt === 2 && code !== startFeature) return;
      b[n] = code >> 8;
      b[n + 1] = code & 0xff;
      b[n + 2] = flags;
      b[n + 3] = body.length;
      b.set(body, n + 4);
      n += 4 + body.length;
    };
    feature(0x0000, 0x03, [0x00, 0x08, present ? 0x01 : 0x00, 0x00]); // profile list: CD-ROM
    feature(0x0001, 0x0b, [0, 0, 0, 2, 0x01, 0, 0, 0]); // core: ATAPI, DBE
    feature(0x0002, 0x07, [0x02, 0, 0, 0]); // morphing: asynchronous event notification polling
    feature(0x0003, 0x03, [0x29, 0, 0, 0]); // removable medium: tray, eject, lock
    feature(0x0010, present ? 0x01 : 0x00, [0, 0, 0x08, 0x00, 0x00, 0x01, 0x00, 0x00]); // random readable, 2048
    feature(0x001e, present ? 0x09 : 0x08, [0, 0, 0, 0]); // CD read
    b[0] = ((n - 4) >>> 24) & 0xff;
    b[1] = ((n - 4) >>> 16) & 0xff;
    b[2] = ((n - 4) >>> 8) & 0xff;
    b[3] = (n - 4) & 0xff;
    this.sendData(n, allocation);
  }

  private getEventStatus(p: Uint8Array): void {
    if (!(p[1] & 0x01)) return this.invalidField(); // only polled operation
    const classes = p[4];
    const allocation = (p[7] << 8) | p[8];
    const b = this.buffer;
    b[3] = 0x10; // supported: media class
    if (!(classes & 0x10)) {
      b[1] = 2;
      b[2] = 0x80; // no event available
      return this.sendData(4, allocation);
    }
    b[1] = 6;
    b[2] = 0x04; // media class
    b[4] = this.mediaEvent;
    b[5] = (this.ready ? 0x02 : 0) | (this.trayOpen ? 0x01 : 0);
    this.mediaEvent = EVENT_NONE;
    this.sendData(8, allocation);
  }

  private modeSense(p: Uint8Array, ten: boolean): void {
    const pageControl = p[2] >> 6;
    const page = p[2] & 0x3f;
    const allocation = ten ? (p[7] << 8) | p[8] : p[4];
    if (pageControl === 3) return this.checkCondition(SENSE_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED);
    const b = this.buffer;
    const header = ten ? 8 : 4;
    let n = header;
    const changeable = pageControl === 1;
    const put = (bytes: number[]) => {
      b.set(changeable ? bytes.map((v, i) => (i < 2 ? v : 0)) : bytes, n);
      n += bytes.length;
    };
    const errorRecovery = () => put([0x01, 0x06, 0x00, 0x05, 0, 0, 0, 0]);
    const audio = () => put([0x0e, 0x0e, 0x04, 0, 0, 0, 0, 0, 0x01, 0xff, 0x02, 0xff, 0, 0, 0, 0]);
    const capabilities = () => put([
      0x2a, 0x14,
      0x03, 0x00, // reads CD-R and CD-RW, writes nothing
      0x71, 0x00, // audio play, mode 2 form 1/2, multi-session
      0x29 | (this.locked ? 0x02 : 0), 0x00, // tray, eject, lock (+ state)
      0x02, 0xc2, // max speed 706 kB/s
      0x01, 0x00, // 256 volume levels
      0x02, 0x00, // 512 KiB buffer
      0x02, 0xc2, // current speed
      0, 0, 0, 0, 0, 0,
    ]);
    switch (page) {
      case 0x01: errorRecovery(); break;
      case 0x0e: audio(); break;
      case 0x2a: capabilities(); break;
      case 0x3f: errorRecovery(); audio(); capabilities(); break;
      default: return this.invalidField();
    }
    const mediumType = this.ready ? 0x01 : this.trayOpen ? 0x71 : 0x70;
    if (ten) {
      b[0] = (n - 2) >> 8;
      b[1] = (n - 2) & 0xff;
      b[2] = mediumType;
    } else {
      b[0] = n - 1;
      b[1] = mediumType;
    }
    this.sendData(n, allocation);
  }
}

function be32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function putBe32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}

/** A TOC address: LBA, or MSF (0, M, S, F) with the 2-second lead-in offset. */
function putAddress(b: Uint8Array, at: number, lba: number, msf: boolean): void {
  if (!msf) return putBe32(b, at, lba);
  const f = lba + 150;
  b[at] = 0;
  b[at + 1] = Math.floor(f / 4500) & 0xff;
  b[at + 2] = Math.floor(f / 75) % 60;
  b[at + 3] = f % 75;
}

function putAscii(b: Uint8Array, at: number, text: string, length: number): void {
  const s = text.padEnd(length, ' ');
  for (let i = 0; i < length; i++) b[at + i] = s.charCodeAt(i);
}

function toBcd(v: number): number {
  return ((Math.floor(v / 10) % 10) << 4) | (v % 10);
}
