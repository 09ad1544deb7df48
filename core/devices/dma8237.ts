// The PC/AT pair of Intel 8237A DMA controllers with their page registers.
//
// Wiring: io.register('dma1', 0x00, 16, dma.controllerPorts(0)); io.register('dma2', 0xc0, 32,
// dma.controllerPorts(1)); io.register('dma-page', 0x80, 16, dma.pagePorts). Devices get a
// channel with dma.channel(n) (core/bus/dma.ts DmaChannel): the floppy controller uses 2.
// Channels 0-3 move bytes, 4-7 move 16-bit words (address and count in words, page bit 0
// ignored); channel 4 is the cascade.

import type { DmaChannel } from '../bus/dma.js';
import type { PortHandler } from '../bus/io.js';
import type { PhysicalMemory } from '../bus/memory.js';
import type { Stateful, VMStateDecl } from '../state/vmstate.js';

/** Page register port offset (from 0x80) for each channel. */
const PAGE_PORT = [0x07, 0x03, 0x01, 0x02, 0x0f, 0x0b, 0x09, 0x0a];

export class Dma8237 implements Stateful {
  readonly vmstate: VMStateDecl = {
    name: 'dma',
    version: 1,
    fields: [
      { name: 'baseAddress', type: 'u16[]', length: 8 }, { name: 'baseCount', type: 'u16[]', length: 8 },
      { name: 'currentAddress', type: 'u16[]', length: 8 }, { name: 'currentCount', type: 'u16[]', length: 8 },
      { name: 'mode', type: 'u8[]', length: 8 }, { name: 'pageRegs', type: 'u8[]', length: 16 },
      { name: 'mask', type: 'u8[]', length: 2 }, { name: 'status', type: 'u8[]', length: 2 },
      { name: 'command', type: 'u8[]', length: 2 }, { name: 'flipFlop', type: 'u8[]', length: 2 },
      { name: 'tcReached', type: 'u8[]', length: 8 },
    ],
  };
  readonly baseAddress = new Uint16Array(8);
  readonly baseCount = new Uint16Array(8);
  readonly currentAddress = new Uint16Array(8);
  readonly currentCount = new Uint16Array(8);
  readonly mode = new Uint8Array(8);
  /** Ports 0x80-0x8F (0x80 doubles as the POST code port). */
  readonly pageRegs = new Uint8Array(16);
  /** Per controller: mask bits of its 4 channels. */
  readonly mask = new Uint8Array([0x0f, 0x0f]);
  readonly status = new Uint8Array(2);
  readonly command = new Uint8Array(2);
  readonly flipFlop = new Uint8Array(2);
  readonly tcReached = new Uint8Array(8);
  readonly pagePorts: PortHandler;
  private readonly channels: DmaChannel[];
  /** Called when a channel gets unmasked (a device waiting to transfer can go on). */
  onUnmask: (channel: number) => void = () => {};

  constructor(private readonly memory: PhysicalMemory) {
    this.pagePorts = {
      read8: (o) => this.pageRegs[o & 15],
      write8: (o, v) => { this.pageRegs[o & 15] = v; },
    };
    this.channels = [0, 1, 2, 3, 4, 5, 6, 7].map((n) => this.makeChannel(n));
  }

  reset(): void {
    for (let c = 0; c < 2; c++) this.masterClear(c);
    this.pageRegs.fill(0);
    this.mode.fill(0);
    this.baseAddress.fill(0);
    this.baseCount.fill(0);
    this.currentAddress.fill(0);
    this.currentCount.fill(0);
  }

  private masterClear(c: number): void {
    this.command[c] = 0;
    this.status[c] = 0;
    this.flipFlop[c] = 0;
    this.mask[c] = 0x0f;
  }

  channel(n: number): DmaChannel {
    return this.channels[n & 7];
  }

  /** The register file of controller 0 (ports 0x00-0x0F) or 1 (0xC0-0xDF, word spaced). */
  controllerPorts(c: 0 | 1): PortHandler {
    const reg = (offset: number) => (c === 0 ? offset & 15 : (offset >> 1) & 15);
    return {
      read8: (o) => this.readReg(c, reg(o)),
      write8: (o, v) => this.writeReg(c, reg(o), v),
    };
  }

  private readReg(c: number, r: number): number {
    if (r < 8) {
      const ch = c * 4 + (r >> 1);
      const v = r & 1 ? this.currentCount[ch] : this.currentAddress[ch];
      const ff = this.flipFlop[c];
      this.flipFlop[c] ^= 1;
      return ff ? v >> 8 : v & 0xff;
    }
    switch (r) {
      case 8: {
        const s = this.status[c];
        this.status[c] &= 0xf0; // TC bits clear on read
        return s;
      }
      case 15:
        return this.mask[c] | 0xf0;
      default:
        return 0; // temporary register and the rest
    }
  }

  private writeReg(c: number, r: number, v: number): void {
    if (r < 8) {
      const ch = c * 4 + (r >> 1);
      const ff = this.flipFlop[c];
      this.flipFlop[c] ^= 1;
      const arr = r & 1 ? this.baseCount : this.baseAddress;
      const cur = r & 1 ? this.currentCount : this.currentAddress;
      arr[ch] = ff ? (arr[ch] & 0xff) | (v << 8) : (arr[ch] & 0xff00) | v;
      cur[ch] = arr[ch];
      this.tcReached[ch] = 0;
      return;
    }
    switch (r) {
      case 8: this.command[c] = v; break;
      case 9: // request register: software DREQ
        if (v & 4) this.status[c] |= 0x10 << (v & 3);
        else this.status[c] &= ~(0x10 << (v & 3));
        break;
      case 10:
        if (v & 4) this.mask[c] |= 1 << (v & 3);
        else this.mask[c] &= ~(1 << (v & 3));
        break;
      case 11: this.mode[c * 4 + (v & 3)] = v & 0xfc; break;
      case 12: this.flipFlop[c] = 0; break;
      case 13: this.masterClear(c); break;
      case 14: this.mask[c] = 0; break;
      case 15: this.mask[c] = v & 0x0f; break;
    }
    if (r === 10 || r === 14 || r === 15) {
      for (let i = 0; i < 4; i++) if (!(this.mask[c] & (1 << i))) this.onUnmask(c * 4 + i);
    }
  }

  private makeChannel(n: number): DmaChannel {
    const self = this;
    const c = n >> 2;
    const bit = 1 << (n & 3);
    const wide = n >= 4;
    const transfer = (count: number, fn: (addr: number, i: number) => void): number => {
      if (self.mask[c] & bit) return 0;
      const unit = wide ? 2 : 1;
      const decrement = (self.mode[n] & 0x20) !== 0;
      let done = 0;
      while (done + unit <= count) {
        const page = self.pageRegs[PAGE_PORT[n]];
        const a = self.currentAddress[n];
        const phys = wide ? ((page & 0xfe) << 16) | (a << 1) : (page << 16) | a;
        for (let k = 0; k < unit; k++) fn(phys + k, done + k);
        done += unit;
        self.currentAddress[n] = decrement ? a - 1 : a + 1;
        const left = self.currentCount[n];
        self.currentCount[n] = left - 1;
        if (left === 0) {
          // Terminal count: the count wrapped from 0 to 0xFFFF.
          self.status[c] |= bit;
          self.tcReached[n] = 1;
          if (self.mode[n] & 0x10) {
            self.currentAddress[n] = self.baseAddress[n];
            self.currentCount[n] = self.baseCount[n];
          } else {
            self.mask[c] |= bit;
          }
          break;
        }
      }
      return done;
    };
    return {
      get enabled() {
        return (self.mask[c] & bit) === 0;
      },
      get direction() {
        return (['verify', 'write', 'read', 'invalid'] as const)[(self.mode[n] >> 2) & 3];
      },
      get remaining() {
        return (self.currentCount[n] + 1) * (wide ? 2 : 1);
      },
      get terminalCount() {
        return self.tcReached[n] === 1;
      },
      writeToMemory(data: Uint8Array): number {
        self.tcReached[n] = 0;
        return transfer(data.length, (addr, i) => self.memory.write8(addr, data[i]));
      },
      readFromMemory(buf: Uint8Array): number {
        self.tcReached[n] = 0;
        return transfer(buf.length, (addr, i) => { buf[i] = self.memory.read8(addr); });
      },
    };
  }
}
