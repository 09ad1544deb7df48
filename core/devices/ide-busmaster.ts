// PIIX3 IDE bus master (SFF-8038i): one engine per channel, 8 I/O ports each at BAR4.
//
//   +0 command  (bit 0 START, bit 3 direction: 1 = device to memory)
//   +2 status   (bit 0 ACTIVE, bit 1 ERROR (write 1 clears), bit 2 INTERRUPT (write 1 clears),
//                bits 5/6 drive 0/1 DMA capable, read/write)
//   +4 PRD table address (dword aligned)
//
// A PRD entry is 8 bytes: u32 physical address (bit 0 ignored), u16 byte count (0 = 64 KiB,
// bit 0 ignored), bit 31 of the second dword marks the last entry. Transfers run at once
// when START is set and the selected drive has a DMA command pending (or when such a command
// arrives while START is set). PRD walks are bounded, so a table pointing anywhere at all
// just ends the transfer with an error.
//
// Wiring: `const bm = new IdeBusMaster('ide0.bm', channel, memory)`; the glue routes the 8
// ports at BAR4 + 8 * channelIndex to bm.read8/write8/read32/write32 (offset 0..7).

import type { Stateful, VMStateDecl } from '../state/vmstate.js';
import { DMA_OK, DMA_PRD_SHORT, type IdeChannel, type IdeDmaController, type IdeDmaEngine } from './ide.js';

/** What the bus master needs from physical memory (PhysicalMemory satisfies it). */
export interface DmaMemory {
  read32(addr: number): number;
  readBytes(addr: number, out: Uint8Array): void;
  writeBytes(addr: number, data: Uint8Array): void;
}

const CMD_START = 0x01;
const CMD_TO_MEMORY = 0x08;
const ST_ACTIVE = 0x01;
const ST_ERROR = 0x02;
const ST_INTERRUPT = 0x04;
/** A PRD table never crosses a 64 KiB boundary: at most 8192 entries. */
const MAX_PRD_ENTRIES = 8192;

export class IdeBusMaster implements Stateful, IdeDmaController, IdeDmaEngine {
  readonly vmstate: VMStateDecl;
  command = 0;
  status = 0;
  prdTable = 0;

  // PRD walk of the transfer in progress (not state: transfers finish inside one port access).
  private entryAddr = 0;
  private entriesSeen = 0;
  private chunkAddr = 0;
  private chunkLeft = 0;
  private lastEntry = false;

  constructor(name: string, readonly channel: IdeChannel, private readonly memory: DmaMemory) {
    this.vmstate = {
      name,
      version: 1,
      fields: [
        { name: 'command', type: 'u8' },
        { name: 'status', type: 'u8' },
        { name: 'prdTable', type: 'u32' },
      ],
    };
    channel.dma = this;
    channel.onInterrupt = () => {
      this.status |= ST_INTERRUPT;
    };
  }

  reset(): void {
    this.command = 0;
    this.status &= 0x60; // the DMA-capable bits are set by firmware and survive
    this.prdTable = 0;
  }

  read8(offset: number): number {
    switch (offset & 7) {
      case 0: return this.command;
      case 2: return this.status;
      case 4: case 5: case 6: case 7: return (this.prdTable >>> (8 * (offset & 3))) & 0xff;
      default: return 0;
    }
  }

  write8(offset: number, value: number): void {
    switch (offset & 7) {
      case 0: return this.writeCommand(value);
      case 2:
        this.status = (this.status & ~(0x60 | (value & (ST_ERROR | ST_INTERRUPT)))) | (value & 0x60);
        return;
      case 4: case 5: case 6: case 7: {
        const shift = 8 * (offset & 3);
        this.prdTable = ((this.prdTable & ~(0xff << shift)) | ((value & 0xff) << shift)) & ~3;
        this.prdTable >>>= 0;
        return;
      }
    }
  }

  read32(offset: number): number {
    if ((offset & 7) === 4) return this.prdTable | 0;
    return (this.read8(offset) | (this.read8(offset + 1) << 8) | (this.read8(offset + 2) << 16) | (this.read8(offset + 3) << 24)) | 0;
  }

  write32(offset: number, value: number): void {
    if ((offset & 7) === 4) {
      this.prdTable = (value & ~3) >>> 0;
      return;
    }
    for (let i = 0; i < 4; i++) this.write8(offset + i, value >>> (8 * i));
  }

  private writeCommand(value: number): void {
    const wasStarted = (this.command & CMD_START) !== 0;
    this.command = value & (CMD_START | CMD_TO_MEMORY);
    if (!(value & CMD_START)) {
      // Stopping aborts the engine; a drive still waiting keeps waiting for the next START.
      this.status &= ~ST_ACTIVE;
      return;
    }
    if (!wasStarted) {
      this.status |= ST_ACTIVE;
      this.dmaRequested();
    }
  }

  dmaRequested(): void {
    if (!(this.command & CMD_START) || !(this.status & ST_ACTIVE)) return;
    this.entryAddr = this.prdTable;
    this.entriesSeen = 0;
    this.chunkLeft = 0;
    this.lastEntry = false;
    const result = this.channel.runDma(this);
    if (result === null) return; // nothing pending yet: stay active until a command comes
    this.status &= ~ST_ACTIVE;
    if (result === DMA_PRD_SHORT) this.status |= ST_ERROR;
    else if (result !== DMA_OK) this.status |= ST_ERROR;
  }

  /** Load the next PRD entry; false when the table has ended. */
  private nextEntry(): boolean {
    if (this.lastEntry || this.entriesSeen >= MAX_PRD_ENTRIES) return false;
    const addr = this.memory.read32(this.entryAddr) >>> 0;
    const ctl = this.memory.read32(this.entryAddr + 4) >>> 0;
    this.entryAddr = (this.entryAddr + 8) >>> 0;
    this.entriesSeen++;
    this.chunkAddr = addr & ~1;
    this.chunkLeft = (ctl & 0xfffe) || 0x10000;
    this.lastEntry = (ctl & 0x80000000) !== 0;
    return true;
  }

  toMemory(data: Uint8Array): number {
    let done = 0;
    while (done < data.length) {
      if (this.chunkLeft === 0 && !this.nextEntry()) break;
      const n = Math.min(this.chunkLeft, data.length - done);
      this.memory.writeBytes(this.chunkAddr >>> 0, data.subarray(done, done + n));
      this.chunkAddr += n;
      this.chunkLeft -= n;
      done += n;
    }
    return done;
  }

  fromMemory(out: Uint8Array): number {
    let done = 0;
    while (done < out.length) {
      if (this.chunkLeft === 0 && !this.nextEntry()) break;
      const n = Math.min(this.chunkLeft, out.length - done);
      this.memory.readBytes(this.chunkAddr >>> 0, out.subarray(done, done + n));
      this.chunkAddr += n;
      this.chunkLeft -= n;
      done += n;
    }
    return done;
  }
}
