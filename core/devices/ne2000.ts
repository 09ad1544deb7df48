// NE2000 network card: National DP8390 core with the NE2000 glue (remote DMA data port, reset
// port, station address PROM, 32 KiB packet buffer), as an ISA card or the PCI RTL8029
// (10ec:8029).
//
// Wiring in the board:
//   ISA (ne2k-isa):  const nic = new Ne2000({ irq: (l) => irqs.line(9).set(l), backend });
//                    io.register('ne2000', 0x300, 0x20, nic);
//   PCI (ne2k-pci):  const pci = new Ne2000Pci(io, { backend }); pciBus.add(3, 0, pci);
//                    (BAR0: 32 I/O ports; INTA# through PciFunction.setIrq)
//   Both: call nic.poll() from a timer (every ~1 ms of virtual time) to take frames from the
//   backend; state parts: [nic] (ISA) or [pci, pci.nic] (PCI); reset: nic.reset().
//
// Ports (offset from the base): 0x00-0x0F DP8390 registers (page chosen by CR bits 7:6),
// 0x10-0x17 remote DMA data port (8- or 16-bit per DCR.WTS; 32-bit accesses move two words),
// 0x18-0x1F reset port (a read resets the card). Frames travel without CRC; received runts
// are padded to 60 bytes. The receive ring honours PSTART/PSTOP/BNRY/CURR; a full ring leaves
// frames in the backend until the guest frees space.

import type { NetworkBackend } from '../board/machine.js';
import type { IoBus, PortHandler } from '../bus/io.js';
import { PciFunction } from '../bus/pci.js';
import type { Stateful, VMStateDecl } from '../state/vmstate.js';

// Command register.
const CR_STP = 0x01;
const CR_STA = 0x02;
const CR_TXP = 0x04;
const CR_RD_MASK = 0x38;
const CR_RD_READ = 0x08;
const CR_RD_WRITE = 0x10;
const CR_RD_ABORT = 0x20;
// Interrupt status bits.
const ISR_PRX = 0x01;
const ISR_PTX = 0x02;
const ISR_OVW = 0x10;
const ISR_RDC = 0x40;
const ISR_RST = 0x80;
// Receive configuration.
const RCR_AB = 0x04;
const RCR_AM = 0x08;
const RCR_PRO = 0x10;
const RCR_MON = 0x20;
// Receive status.
const RSR_PRX = 0x01;
const RSR_PHY = 0x20;
// DCR word transfer select.
const DCR_WTS = 0x01;

/** Packet buffer: 32 KiB at 0x4000-0xBFFF (pages 0x40-0xBF), as the RTL8029 has. */
const MEM_START = 0x4000;
const MEM_SIZE = 0x8000;
const MIN_FRAME = 60;
const MAX_FRAME = 1514;
/** Frames taken from the backend per poll(), so one poll never runs long. */
const FRAMES_PER_POLL = 32;

export const DEFAULT_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

/** Big-endian (MSB-first register) Ethernet CRC as the DP8390 multicast filter uses it. */
export function multicastHashIndex(mac: Uint8Array): number {
  let crc = 0xffffffff | 0;
  for (let i = 0; i < 6; i++) {
    let b = mac[i];
    for (let bit = 0; bit < 8; bit++) {
      const carry = ((crc >>> 31) ^ (b & 1)) & 1;
      crc = (crc << 1) | 0;
      b >>= 1;
      if (carry) crc = (crc ^ 0x04c11db7) | carry;
    }
  }
  return crc >>> 26;
}

export interface Ne2000Options {
  irq: (level: boolean) => void;
  backend: NetworkBackend | null;
  /** Station address; default 52:54:00:12:34:56. */
  mac?: readonly number[];
  name?: string;
  /** 'P','C' in registers 0x0A/0x0B of page 0 (RTL8029 identification), for the PCI card. */
  rtl8029?: boolean;
}

export class Ne2000 implements Stateful, PortHandler {
  readonly vmstate: VMStateDecl;
  readonly mac: Uint8Array;
  private readonly irqLine: (level: boolean) => void;
  private readonly rtl8029: boolean;
  backend: NetworkBackend | null;

  // Declared state.
  cr = CR_STP | CR_RD_ABORT;
  isr = ISR_RST;
  imr = 0;
  dcr = 0;
  rcr = 0;
  tcr = 0;
  tsr = 0;
  rsr = 0;
  pstart = 0x46;
  pstop = 0x80;
  bnry = 0x46;
  curr = 0x47;
  tpsr = 0x40;
  tbcr = 0;
  rsar = 0;
  rbcr = 0;
  par = new Uint8Array(6);
  mar = new Uint8Array(8);
  cntr = new Uint8Array(3);
  mem = new Uint8Array(MEM_SIZE);
  prom = new Uint8Array(32);

  private lineLevel = false;
  private activity = false;

  constructor(opts: Ne2000Options) {
    this.irqLine = opts.irq;
    this.backend = opts.backend;
    this.rtl8029 = opts.rtl8029 ?? false;
    this.mac = Uint8Array.from(opts.mac ?? DEFAULT_MAC);
    if (this.mac.length !== 6) throw new Error('NE2000: a MAC address has 6 bytes');
    this.vmstate = {
      name: opts.name ?? 'ne2000',
      version: 1,
      fields: [
        { name: 'cr', type: 'u8' }, { name: 'isr', type: 'u8' }, { name: 'imr', type: 'u8' },
        { name: 'dcr', type: 'u8' }, { name: 'rcr', type: 'u8' }, { name: 'tcr', type: 'u8' },
        { name: 'tsr', type: 'u8' }, { name: 'rsr', type: 'u8' },
        { name: 'pstart', type: 'u8' }, { name: 'pstop', type: 'u8' }, { name: 'bnry', type: 'u8' },
        { name: 'curr', type: 'u8' }, { name: 'tpsr', type: 'u8' }, { name: 'tbcr', type: 'u16' },
        { name: 'rsar', type: 'u16' }, { name: 'rbcr', type: 'u16' },
        { name: 'par', type: 'u8[]', length: 6 }, { name: 'mar', type: 'u8[]', length: 8 },
        { name: 'cntr', type: 'u8[]', length: 3 },
        { name: 'mem', type: 'u8[]', length: MEM_SIZE }, { name: 'prom', type: 'u8[]', length: 32 },
      ],
    };
    this.reset();
  }

  /** Power-on / reset port: PROM from the MAC, registers to their reset values. */
  reset(): void {
    // 16 PROM bytes (MAC, then 'W','W' at 14/15 marking an NE2000), each doubled for word mode.
    const p = new Uint8Array(16);
    p.set(this.mac, 0);
    p[14] = p[15] = 0x57;
    for (let i = 0; i < 16; i++) this.prom[2 * i] = this.prom[2 * i + 1] = p[i];
    this.cr = CR_STP | CR_RD_ABORT;
    this.isr = ISR_RST;
    this.imr = 0;
    this.dcr = 0;
    this.rcr = 0;
    this.tcr = 0;
    this.tsr = 0;
    this.rsr = 0;
    this.rsar = 0;
    this.rbcr = 0;
    this.updateIrq();
  }

  postLoad(): void {
    this.lineLevel = !this.irqActive();
    this.updateIrq();
  }

  /** True once since the last call if a frame went in or out (the status bar's activity light). */
  takeActivity(): boolean {
    const a = this.activity;
    this.activity = false;
    return a;
  }

  private irqActive(): boolean {
    return (this.isr & this.imr & 0x7f) !== 0;
  }

  private updateIrq(): void {
    const level = this.irqActive();
    if (level !== this.lineLevel) {
      this.lineLevel = level;
      this.irqLine(level);
    }
  }

  // ---- ports

  read8(offset: number): number {
    offset &= 0x1f;
    if (offset < 0x10) return this.readRegister(offset);
    if (offset < 0x18) return this.dataRead(false);
    this.reset(); // reading the reset port resets the card
    return 0;
  }

  write8(offset: number, value: number): void {
    offset &= 0x1f;
    if (offset < 0x10) return this.writeRegister(offset, value & 0xff);
    if (offset < 0x18) return this.dataWrite(value, false);
    // Writes to the reset port are ignored (the read did the reset).
  }

  read16(offset: number): number {
    offset &= 0x1f;
    if (offset >= 0x10 && offset < 0x18) return this.dataRead(true);
    return this.read8(offset) | (this.read8(offset + 1) << 8);
  }

  write16(offset: number, value: number): void {
    offset &= 0x1f;
    if (offset >= 0x10 && offset < 0x18) return this.dataWrite(value, true);
    this.write8(offset, value & 0xff);
    this.write8(offset + 1, value >>> 8);
  }

  read32(offset: number): number {
    offset &= 0x1f;
    if (offset >= 0x10 && offset < 0x18) return (this.dataRead(true) | (this.dataRead(true) << 16)) | 0;
    return (this.read16(offset) | (this.read16(offset + 2) << 16)) | 0;
  }

  write32(offset: number, value: number): void {
    offset &= 0x1f;
    if (offset >= 0x10 && offset < 0x18) {
      this.dataWrite(value & 0xffff, true);
      this.dataWrite(value >>> 16, true);
      return;
    }
    this.write16(offset, value & 0xffff);
    this.write16(offset + 2, value >>> 16);
  }

  private readRegister(reg: number): number {
    if (reg === 0) return this.cr;
    const page = this.cr >> 6;
    if (page === 1) {
      if (reg <= 6) return this.par[reg - 1];
      if (reg === 7) return this.curr;
      return this.mar[reg - 8];
    }
    if (page === 2) {
      switch (reg) {
        case 0x01: return this.pstart;
        case 0x02: return this.pstop;
        case 0x04: return this.tpsr;
        case 0x0c: return this.rcr;
        case 0x0d: return this.tcr;
        case 0x0e: return this.dcr;
        case 0x0f: return this.imr;
        default: return 0xff;
      }
    }
    if (page === 3) return 0xff;
    switch (reg) {
      case 0x01: return this.rsar & 0xff; // CLDA0: local DMA address (reported as the remote one)
      case 0x02: return this.rsar >> 8;
      case 0x03: return this.bnry;
      case 0x04: return this.tsr;
      case 0x05: return 0; // NCR: no collisions on a virtual wire
      case 0x06: return 0; // FIFO
      case 0x07: return this.isr;
      case 0x08: return this.rsar & 0xff; // CRDA0
      case 0x09: return this.rsar >> 8;
      case 0x0a: return this.rtl8029 ? 0x50 : 0xff;
      case 0x0b: return this.rtl8029 ? 0x43 : 0xff;
      case 0x0c: return this.rsr;
      case 0x0d: return this.cntr[0];
      case 0x0e: return this.cntr[1];
      case 0x0f: return this.cntr[2];
      default: return 0xff;
    }
  }

  private writeRegister(reg: number, v: number): void {
    if (reg === 0) return this.writeCommand(v);
    const page = this.cr >> 6;
    if (page === 1) {
      if (reg <= 6) this.par[reg - 1] = v;
      else if (reg === 7) this.curr = v;
      else this.mar[reg - 8] = v;
      return;
    }
    if (page !== 0) {
      if (page === 2) {
        // Page 2 writes reach a few diagnostic registers; PSTART/PSTOP/TPSR are harmless to honour.
        if (reg === 0x01) this.pstart = v;
        else if (reg === 0x02) this.pstop = v;
        else if (reg === 0x04) this.tpsr = v;
      }
      return;
    }
    switch (reg) {
      case 0x01: this.pstart = v; break;
      case 0x02: this.pstop = v; break;
      case 0x03: this.bnry = v; break;
      case 0x04: this.tpsr = v; break;
      case 0x05: this.tbcr = (this.tbcr & 0xff00) | v; break;
      case 0x06: this.tbcr = (this.tbcr & 0x00ff) | (v << 8); break;
      case 0x07: this.isr &= ~(v & 0x7f); this.updateIrq(); break;
      case 0x08: this.rsar = (this.rsar & 0xff00) | v; break;
      case 0x09: this.rsar = (this.rsar & 0x00ff) | (v << 8); break;
      case 0x0a: this.rbcr = (this.rbcr & 0xff00) | v; break;
      case 0x0b: this.rbcr = (this.rbcr & 0x00ff) | (v << 8); break;
      case 0x0c: this.rcr = v & 0x3f; break;
      case 0x0d: this.tcr = v & 0x1f; break;
      case 0x0e: this.dcr = v & 0x7f; break;
      case 0x0f: this.imr = v & 0x7f; this.updateIrq(); break;
    }
  }

  private writeCommand(v: number): void {
    this.cr = v & 0xff;
    if (v & CR_STP) {
      this.isr |= ISR_RST;
      this.cr &= ~CR_TXP;
    } else if (v & CR_STA) {
      this.isr &= ~ISR_RST;
      const rd = v & CR_RD_MASK;
      if ((rd === CR_RD_READ || rd === CR_RD_WRITE) && this.rbcr === 0) this.isr |= ISR_RDC;
      if (v & CR_TXP) this.transmit();
    }
    this.updateIrq();
  }

  // ---- buffer memory and remote DMA

  private memRead(addr: number): number {
    if (addr < 0x20) return this.prom[addr];
    if (addr >= MEM_START && addr < MEM_START + MEM_SIZE) return this.mem[addr - MEM_START];
    return 0xff;
  }

  private memWrite(addr: number, v: number): void {
    if (addr >= MEM_START && addr < MEM_START + MEM_SIZE) this.mem[addr - MEM_START] = v;
  }

  // The ASIC moves a word per transfer whenever DCR.WTS is set, whatever the width of the host's
  // access: a byte read then gets the low byte and the address still steps by 2. Linux's
  // ne2k-pci reads the doubled PROM with byte reads in word mode and relies on that.
  private dataRead(wide: boolean): number {
    const word = (this.dcr & DCR_WTS) !== 0;
    const a = this.rsar;
    const v = word ? this.memRead(a) | (this.memRead((a + 1) & 0xffff) << 8) : this.memRead(a);
    this.dmaAdvance(word ? 2 : 1);
    return wide ? v : v & 0xff;
  }

  private dataWrite(v: number, wide: boolean): void {
    const word = (this.dcr & DCR_WTS) !== 0;
    const a = this.rsar;
    this.memWrite(a, v & 0xff);
    if (word) this.memWrite((a + 1) & 0xffff, wide ? (v >>> 8) & 0xff : 0);
    this.dmaAdvance(word ? 2 : 1);
  }

  private dmaAdvance(n: number): void {
    this.rsar = (this.rsar + n) & 0xffff;
    // Remote DMA wraps inside the receive ring, so a driver can read a frame across the end.
    if (this.pstop > this.pstart && this.rsar === this.pstop << 8) this.rsar = this.pstart << 8;
    if (this.rbcr <= n) {
      if (this.rbcr !== 0) {
        this.rbcr = 0;
        this.isr |= ISR_RDC;
        this.updateIrq();
      }
    } else {
      this.rbcr -= n;
    }
  }

  // ---- transmit

  private transmit(): void {
    const start = (this.tpsr << 8) - MEM_START;
    let len = Math.min(this.tbcr, MAX_FRAME + 4);
    if (start < 0 || start >= MEM_SIZE) len = 0;
    len = Math.min(len, MEM_SIZE - Math.max(0, start));
    if (len > 0) {
      const frame = this.mem.slice(start, start + len);
      this.activity = true;
      if (this.tcr & 0x06) {
        this.receiveFrame(frame); // loopback: the frame comes back to this card
      } else {
        try {
          this.backend?.send(frame);
        } catch {
          // A failing host backend looks like a lost frame on the wire.
        }
      }
    }
    this.tsr = 0x01; // PTX: transmitted
    this.cr &= ~CR_TXP;
    this.isr |= ISR_PTX;
    this.updateIrq();
  }

  // ---- receive

  /** Take waiting frames from the backend while the receiver runs and the ring has room. */
  poll(): void {
    const be = this.backend;
    if (!be) return;
    for (let i = 0; i < FRAMES_PER_POLL && this.receiving() && this.ringFree() >= MAX_FRAME + 4 + 256; i++) {
      const frame = be.receive();
      if (!frame) break;
      this.receiveFrame(frame);
    }
  }

  private receiving(): boolean {
    return (this.cr & (CR_STP | CR_STA)) === CR_STA;
  }

  private ringValid(): boolean {
    return this.pstart >= MEM_START >> 8 && this.pstop <= (MEM_START + MEM_SIZE) >> 8 && this.pstart < this.pstop &&
      this.curr >= this.pstart && this.curr < this.pstop;
  }

  /** Free bytes in the receive ring between CURR and BNRY. */
  private ringFree(): number {
    if (!this.ringValid()) return 0;
    const pages = this.curr < this.bnry ? this.bnry - this.curr : this.pstop - this.pstart - (this.curr - this.bnry);
    return pages * 256;
  }

  private accepts(frame: Uint8Array): boolean {
    if (this.rcr & RCR_PRO) return true;
    if (frame[0] & 1) {
      if (frame[0] === 0xff && frame[1] === 0xff && frame[2] === 0xff && frame[3] === 0xff && frame[4] === 0xff && frame[5] === 0xff) {
        return (this.rcr & RCR_AB) !== 0;
      }
      if (!(this.rcr & RCR_AM)) return false;
      const index = multicastHashIndex(frame);
      return (this.mar[index >> 3] & (1 << (index & 7))) !== 0;
    }
    for (let i = 0; i < 6; i++) if (frame[i] !== this.par[i]) return false;
    return true;
  }

  /** Put one frame (without CRC) into the receive ring, if the filter accepts it. */
  receiveFrame(frame: Uint8Array): boolean {
    if (!this.receiving() || frame.length < 6 || frame.length > MAX_FRAME + 4) return false;
    if (!this.accepts(frame)) return false;
    if (this.rcr & RCR_MON) {
      this.cntr[2] = (this.cntr[2] + 1) & 0xff;
      return false;
    }
    const len = Math.max(frame.length, MIN_FRAME);
    const total = len + 4;
    if (this.ringFree() <= total) {
      // Ring full: the frame is missed.
      this.cntr[2] = (this.cntr[2] + 1) & 0xff;
      this.isr |= ISR_OVW;
      this.updateIrq();
      return false;
    }
    const pages = (total + 255) >> 8;
    let next = this.curr + pages;
    if (next >= this.pstop) next = this.pstart + (next - this.pstop);
    const status = RSR_PRX | (frame[0] & 1 ? RSR_PHY : 0);
    const header = [status, next, total & 0xff, total >> 8];
    // Copy header + data + padding into the ring, wrapping at PSTOP.
    let addr = (this.curr << 8) - MEM_START;
    const ringStart = (this.pstart << 8) - MEM_START;
    const ringEnd = (this.pstop << 8) - MEM_START;
    for (let i = 0; i < total; i++) {
      this.mem[addr] = i < 4 ? header[i] : i - 4 < frame.length ? frame[i - 4] : 0;
      if (++addr >= ringEnd) addr = ringStart;
    }
    this.curr = next;
    this.rsr = status;
    this.isr |= ISR_PRX;
    this.activity = true;
    this.updateIrq();
    return true;
  }
}

/** The RTL8029 PCI card: NE2000 core behind BAR0 (32 I/O ports) and INTA#. */
export class Ne2000Pci extends PciFunction {
  readonly nic: Ne2000;
  private portsAt = -1;

  constructor(private readonly io: IoBus, opts: Omit<Ne2000Options, 'irq' | 'rtl8029'>) {
    super(`${opts.name ?? 'ne2000'}.pci`, {
      vendor: 0x10ec,
      device: 0x8029,
      classCode: 0x020000,
      revision: 0,
      subsystemVendor: 0x10ec,
      subsystem: 0x8029,
      interruptPin: 1,
    });
    this.nic = new Ne2000({ ...opts, irq: (level) => this.setIrq(level), rtl8029: true });
    this.setBar(0, { size: 0x20, kind: 'io', map: (base) => this.mapPorts(base) });
  }

  private mapPorts(base: number | null): void {
    const want = base ?? -1;
    if (want === this.portsAt) return;
    if (this.portsAt >= 0) this.io.unregister(this.portsAt, 0x20);
    if (want >= 0) this.io.register('ne2000', want, 0x20, this.nic);
    this.portsAt = want;
  }

  override reset(): void {
    super.reset();
    this.nic.reset();
  }

  /** State parts: the configuration space and the card. */
  stateParts(): Stateful[] {
    return [this, this.nic];
  }
}
