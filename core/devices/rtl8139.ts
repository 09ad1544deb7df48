// Realtek RTL8139 Fast Ethernet controller (PCI 10ec:8139), normal (non-C+) mode.
//
// Wiring in the board:
//   const pci = new Rtl8139Pci(io, memory, { backend, mac, clockNs: () => virtualNs });
//   pciBus.add(3, 0, pci);
//   (BAR0: 256 I/O ports, BAR1: the same registers as a 4 KiB memory window; INTA#)
//   Call pci.nic.poll() from a timer (every ~1 ms of virtual time) to take frames from the
//   backend, notice link changes and run TimerInt; state parts: pci.stateParts(); reset:
//   pci.reset(); activity light: pci.nic.takeActivity().
//
// Registers live in a 256-byte file (`regs`, little-endian like the chip) so anything a driver
// writes reads back; the dynamic ones (CR.BUFE, ISR, CBR, TSAD, the 93C46 EEPROM pins, MSR,
// BMSR) are computed. Transmit: four descriptors (TSAD0-3 address, TSD0-3 size/status); a
// write of TSDn with OWN clear sends the frame by bus-master DMA and sets OWN|TOK and ISR.TOK.
// Receive: frames go by DMA into the ring at RBSTART (8/16/32/64 KiB + 16, RCR.RBLEN), each as
// a 4-byte header (status, length incl. CRC), the frame, its CRC, padded to 4 bytes; CBR is the
// write offset, the driver's read offset is CAPR + 16. RCR.WRAP set lets a frame run past the
// ring end (the driver allocates the slack) instead of wrapping. The MAC comes from a 93C46
// EEPROM (words 7-9), readable bit by bit through 9346CR as the Linux and Windows drivers do.

import type { NetworkBackend } from '../board/machine.js';
import type { IoBus, PortHandler } from '../bus/io.js';
import type { MmioHandler } from '../bus/memory.js';
import { PCI_COMMAND, PciFunction } from '../bus/pci.js';
import type { Stateful, VMStateDecl } from '../state/vmstate.js';
import { crc32 } from '../util/crc32.js';

// Register offsets.
const IDR0 = 0x00;
const MAR0 = 0x08;
const TSD0 = 0x10;
const TSAD0 = 0x20;
const RBSTART = 0x30;
const CR = 0x37;
const CAPR = 0x38;
const CBR = 0x3a;
const IMR = 0x3c;
const ISR = 0x3e;
const TCR = 0x40;
const RCR = 0x44;
const TCTR = 0x48;
const MPC = 0x4c;
const TIMER_INT = 0x54;
const CFG9346 = 0x50;
const CONFIG1 = 0x52;
const MSR = 0x58;
const TSAD = 0x60;
const BMCR = 0x62;
const BMSR = 0x64;
const ANAR = 0x66;
const ANLPAR = 0x68;

// CR bits.
const CR_BUFE = 0x01;
const CR_TE = 0x04;
const CR_RE = 0x08;
const CR_RST = 0x10;
// ISR bits.
export const ISR_ROK = 0x0001;
export const ISR_TOK = 0x0004;
export const ISR_RXOVW = 0x0010;
export const ISR_LINKCHG = 0x0020;
export const ISR_TIMEOUT = 0x4000;
/** TCTR counts the 33 MHz PCI clock. */
const TCTR_TICKS_PER_NS = 0.033;
// TSD bits.
const TSD_SIZE = 0x1fff;
const TSD_OWN = 0x2000;
const TSD_TOK = 0x8000;
// RCR bits.
const RCR_AAP = 0x01;
const RCR_APM = 0x02;
const RCR_AM = 0x04;
const RCR_AB = 0x08;
const RCR_WRAP = 0x80;
// Receive status bits in the packet header.
const RX_ROK = 0x0001;
const RX_BAR = 0x2000;
const RX_PAM = 0x4000;
const RX_MAR = 0x8000;
/** TCR hardware version bits 30-26 and 23-22 (11100 00: RTL8139A, as 8139too names it): read-only. */
const TCR_HWVER = 0x70000000;
const TCR_HWVER_MASK = 0x7cc00000;

const MIN_FRAME = 60;
const MAX_TX = 1792;
const MAX_RX = 1514;
const FRAMES_PER_POLL = 32;

export const RTL8139_DEFAULT_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x57];

/** Physical memory as the card's bus master and its memory BAR need it. */
export interface Rtl8139Memory {
  readBytes(addr: number, out: Uint8Array): void;
  writeBytes(addr: number, data: Uint8Array): void;
  mapMmio(name: string, base: number, size: number, handler: MmioHandler): void;
  unmap(base: number, size: number): void;
}

export interface Rtl8139Options {
  backend: NetworkBackend | null;
  mac?: readonly number[];
  name?: string;
  /** Virtual time in ns for the TCTR timer; without it TCTR stays 0 and TimerInt never fires. */
  clockNs?: () => number;
}

/** Ethernet FCS (CRC-32, reflected). */
export function ethernetCrc(data: Uint8Array, len = data.length): number {
  return crc32(data.subarray(0, len));
}

/** Multicast filter bit: the top 6 bits of the big-endian CRC of the destination address. */
function multicastBit(frame: Uint8Array): number {
  let crc = -1;
  for (let i = 0; i < 6; i++) {
    let b = frame[i];
    for (let bit = 0; bit < 8; bit++) {
      const carry = ((crc >>> 31) ^ (b & 1)) & 1;
      crc <<= 1;
      b >>= 1;
      if (carry) crc = (crc ^ 0x04c11db7) | 1;
    }
  }
  return crc >>> 26;
}

export class Rtl8139 implements Stateful, PortHandler, MmioHandler {
  readonly vmstate: VMStateDecl;
  readonly mac: Uint8Array;
  backend: NetworkBackend | null;
  /** Physical memory for DMA; the PCI glue sets it, and whether bus mastering is on. */
  dma: { mem: Rtl8139Memory | null; enabled: () => boolean } = { mem: null, enabled: () => true };

  // Declared state.
  regs = new Uint8Array(256);
  eeprom = new Uint16Array(64);
  eeState = 0; // 0 idle, 1 command, 2 reading
  eeBits = 0;
  eeCount = 0;
  eeAddr = 0;
  eeOut = 0;
  eeLastClock = false;
  linkWasUp = true;
  /** Virtual time when TCTR was last zeroed, and whether TimerInt already fired since. */
  tctrBaseNs = 0;
  timerFired = false;
  private readonly clockNs: (() => number) | null;

  private lineLevel = false;
  private activity = false;

  constructor(private readonly irqLine: (level: boolean) => void, opts: Rtl8139Options) {
    this.backend = opts.backend;
    this.clockNs = opts.clockNs ?? null;
    this.mac = Uint8Array.from(opts.mac ?? RTL8139_DEFAULT_MAC);
    if (this.mac.length !== 6) throw new Error('RTL8139: a MAC address has 6 bytes');
    this.vmstate = {
      name: opts.name ?? 'rtl8139',
      version: 1,
      fields: [
        { name: 'regs', type: 'u8[]', length: 256 }, { name: 'eeprom', type: 'u16[]', length: 64 },
        { name: 'eeState', type: 'u8' }, { name: 'eeBits', type: 'u32' }, { name: 'eeCount', type: 'u8' },
        { name: 'eeAddr', type: 'u8' }, { name: 'eeOut', type: 'u8' }, { name: 'eeLastClock', type: 'bool' },
        { name: 'linkWasUp', type: 'bool' }, { name: 'tctrBaseNs', type: 'f64' }, { name: 'timerFired', type: 'bool' },
      ],
    };
    const e = this.eeprom;
    e[0] = 0x8129; // RTL8139 EEPROM signature
    e[1] = 0x10ec;
    e[2] = 0x8139;
    e[3] = 0x10ec;
    e[4] = 0x8139;
    e[5] = 0x4020; // max latency / min grant as the reference EEPROM has them
    e[6] = 0xe112;
    for (let i = 0; i < 3; i++) e[7 + i] = this.mac[2 * i] | (this.mac[2 * i + 1] << 8);
    this.powerOn();
  }

  /** Power-on: MAC and MAR from the EEPROM/defaults, then a chip reset. */
  powerOn(): void {
    this.regs.fill(0);
    this.loadMacFromEeprom();
    this.w32(TCR, TCR_HWVER);
    this.w16(BMCR, 0x3100); // autonegotiation, 100 Mbit/s, full duplex
    this.w16(ANAR, 0x01e1);
    this.regs[CONFIG1] = 0x0d; // VPD off, I/O and memory mapping on, PM enable
    this.softReset();
  }

  reset(): void {
    this.powerOn();
  }

  private loadMacFromEeprom(): void {
    for (let i = 0; i < 3; i++) {
      this.regs[IDR0 + 2 * i] = this.eeprom[7 + i] & 0xff;
      this.regs[IDR0 + 2 * i + 1] = this.eeprom[7 + i] >> 8;
    }
  }

  /** CR.RST: registers to their reset values, MAC and PHY kept. */
  private softReset(): void {
    for (let i = 0; i < 4; i++) this.w32(TSD0 + 4 * i, TSD_OWN);
    this.regs[CR] = 0;
    this.w16(CAPR, 0xfff0);
    this.w16(CBR, 0);
    this.w16(IMR, 0);
    this.w16(ISR, 0);
    this.w32(RCR, 0);
    this.w32(MPC, 0);
    this.w32(TIMER_INT, 0);
    this.restartTimer();
    this.eeState = 0;
    this.updateIrq();
  }

  postLoad(): void {
    this.lineLevel = !this.irqActive();
    this.updateIrq();
  }

  takeActivity(): boolean {
    const a = this.activity;
    this.activity = false;
    return a;
  }

  // ---- register file helpers (little-endian)

  private r16(o: number): number {
    return this.regs[o] | (this.regs[o + 1] << 8);
  }
  private r32(o: number): number {
    return (this.regs[o] | (this.regs[o + 1] << 8) | (this.regs[o + 2] << 16) | (this.regs[o + 3] << 24)) >>> 0;
  }
  private w16(o: number, v: number): void {
    this.regs[o] = v & 0xff;
    this.regs[o + 1] = (v >>> 8) & 0xff;
  }
  private w32(o: number, v: number): void {
    this.w16(o, v & 0xffff);
    this.w16(o + 2, v >>> 16);
  }

  private irqActive(): boolean {
    return (this.r16(ISR) & this.r16(IMR)) !== 0;
  }

  private updateIrq(): void {
    const level = this.irqActive();
    if (level !== this.lineLevel) {
      this.lineLevel = level;
      this.irqLine(level);
    }
  }

  private raise(bits: number): void {
    this.w16(ISR, this.r16(ISR) | bits);
    this.updateIrq();
  }

  // ---- port / MMIO access

  read8(offset: number): number {
    offset &= 0xff;
    switch (offset) {
      case TCTR: case TCTR + 1: case TCTR + 2: case TCTR + 3:
        return (this.tctr() >>> (8 * (offset - TCTR))) & 0xff;
      case CR: return (this.regs[CR] & (CR_TE | CR_RE)) | (this.rxUnread() === 0 ? CR_BUFE : 0);
      case CFG9346: return (this.regs[CFG9346] & 0xfe) | (this.eeOut & 1);
      case MSR: return this.linkUp() ? 0x00 : 0x04; // LINKB is active low; 100 Mbit/s
      case TSAD: return this.txSummary() & 0xff;
      case TSAD + 1: return this.txSummary() >> 8;
      case BMSR: return this.linkUp() ? 0x2d : 0x09;
      case BMSR + 1: return 0x78;
      case ANLPAR: return this.linkUp() ? 0xe1 : 0;
      case ANLPAR + 1: return this.linkUp() ? 0x45 : 0;
      default: return this.regs[offset];
    }
  }

  read16(offset: number): number {
    return this.read8(offset) | (this.read8(offset + 1) << 8);
  }

  read32(offset: number): number {
    return (this.read16(offset) | (this.read16(offset + 2) << 16)) | 0;
  }

  write8(offset: number, value: number): void {
    offset &= 0xff;
    value &= 0xff;
    if (offset >= TSD0 && offset < TSD0 + 16) {
      this.regs[offset] = value;
      this.tsdWritten((offset - TSD0) >> 2);
      return;
    }
    this.writeByte(offset, value);
  }

  write16(offset: number, value: number): void {
    offset &= 0xff;
    if (offset >= TSD0 && offset < TSD0 + 16) {
      this.w16(offset, value);
      this.tsdWritten((offset - TSD0) >> 2);
      return;
    }
    this.writeByte(offset, value & 0xff);
    this.writeByte((offset + 1) & 0xff, (value >>> 8) & 0xff);
  }

  write32(offset: number, value: number): void {
    offset &= 0xff;
    if (offset >= TSD0 && offset < TSD0 + 16) {
      this.w32(offset & ~3, value);
      this.tsdWritten((offset - TSD0) >> 2);
      return;
    }
    for (let i = 0; i < 4; i++) this.writeByte((offset + i) & 0xff, (value >>> (8 * i)) & 0xff);
  }

  private writeByte(offset: number, v: number): void {
    switch (offset) {
      case CR:
        if (v & CR_RST) {
          this.softReset();
          return;
        }
        this.regs[CR] = v & (CR_TE | CR_RE);
        if (v & CR_TE) for (let i = 0; i < 4; i++) if (!(this.r32(TSD0 + 4 * i) & TSD_OWN)) this.transmit(i);
        return;
      case CBR: case CBR + 1: // read-only
      case MSR: case TSAD: case TSAD + 1: case BMSR: case BMSR + 1: case ANLPAR: case ANLPAR + 1:
        return;
      case ISR: case ISR + 1:
        this.regs[offset] &= ~v;
        this.updateIrq();
        return;
      case IMR: case IMR + 1:
        this.regs[offset] = v;
        this.updateIrq();
        return;
      case TCR + 2: case TCR + 3: {
        const shift = 8 * (offset - TCR);
        const readOnly = (TCR_HWVER_MASK >>> shift) & 0xff;
        this.regs[offset] = (v & ~readOnly) | ((TCR_HWVER >>> shift) & readOnly);
        return;
      }
      case TCTR: case TCTR + 1: case TCTR + 2: case TCTR + 3:
        this.restartTimer(); // any write zeroes the counter
        return;
      case TIMER_INT: case TIMER_INT + 1: case TIMER_INT + 2: case TIMER_INT + 3:
        this.regs[offset] = v;
        this.timerFired = false;
        return;
      case MPC: case MPC + 1: case MPC + 2: case MPC + 3:
        this.w32(MPC, 0);
        return;
      case CFG9346:
        this.eepromWrite(v);
        return;
      case BMCR + 1:
        this.regs[offset] = v & 0x7f; // reset (bit 15) completes at once
        return;
      default:
        this.regs[offset] = v;
    }
  }

  // ---- TCTR and TimerInt

  private tctr(): number {
    return this.clockNs ? Math.floor((this.clockNs() - this.tctrBaseNs) * TCTR_TICKS_PER_NS) >>> 0 : 0;
  }

  private restartTimer(): void {
    this.tctrBaseNs = this.clockNs ? this.clockNs() : 0;
    this.timerFired = false;
  }

  /** TimeOut once TCTR reaches a non-zero TimerInt (checked on each poll). */
  private checkTimer(): void {
    const limit = this.r32(TIMER_INT);
    if (limit === 0 || this.timerFired || !this.clockNs) return;
    if ((this.clockNs() - this.tctrBaseNs) * TCTR_TICKS_PER_NS >= limit) {
      this.timerFired = true;
      this.raise(ISR_TIMEOUT);
    }
  }

  // ---- 93C46 EEPROM, bit-banged through 9346CR

  private eepromWrite(v: number): void {
    const mode = v >> 6;
    this.regs[CFG9346] = v & 0xfe;
    if (mode === 1) {
      // Auto-load: the MAC is reloaded, then the register returns to normal mode.
      this.loadMacFromEeprom();
      this.regs[CFG9346] = 0;
      return;
    }
    if (mode !== 2) {
      this.eeState = 0;
      return;
    }
    const cs = (v & 0x08) !== 0;
    const clock = (v & 0x04) !== 0;
    const di = (v >> 1) & 1;
    if (!cs) {
      this.eeState = 0;
      this.eeLastClock = clock;
      this.eeOut = 1;
      return;
    }
    const rising = clock && !this.eeLastClock;
    this.eeLastClock = clock;
    if (!rising) return;
    if (this.eeState === 0) {
      // Waiting for the start bit.
      if (di) {
        this.eeState = 1;
        this.eeBits = 0;
        this.eeCount = 0;
      }
      return;
    }
    if (this.eeState === 1) {
      this.eeBits = (this.eeBits << 1) | di;
      if (++this.eeCount === 8) {
        const op = this.eeBits >> 6;
        this.eeAddr = this.eeBits & 0x3f;
        if (op === 2) {
          this.eeState = 2;
          this.eeCount = 0;
          this.eeOut = 0; // the dummy zero before the data
        } else {
          this.eeState = 0; // write/erase/enable commands: the EEPROM stays read-only
        }
      }
      return;
    }
    // Reading: one data bit per clock, MSB first, continuing into the next word.
    this.eeOut = (this.eeprom[this.eeAddr] >> (15 - this.eeCount)) & 1;
    if (++this.eeCount === 16) {
      this.eeCount = 0;
      this.eeAddr = (this.eeAddr + 1) & 0x3f;
    }
  }

  // ---- transmit

  private txSummary(): number {
    let s = 0;
    for (let i = 0; i < 4; i++) {
      const tsd = this.r32(TSD0 + 4 * i);
      if (tsd & TSD_OWN) s |= 1 << i;
      if (tsd & TSD_TOK) s |= 1 << (12 + i);
    }
    return s;
  }

  private tsdWritten(n: number): void {
    const o = TSD0 + 4 * n;
    // The driver's write clears the status bits; OWN clear asks for a transmission.
    const v = this.r32(o) & (TSD_SIZE | TSD_OWN | 0x003f0000);
    this.w32(o, v);
    if (!(v & TSD_OWN) && this.regs[CR] & CR_TE) this.transmit(n);
  }

  private transmit(n: number): void {
    const o = TSD0 + 4 * n;
    const tsd = this.r32(o);
    const size = tsd & TSD_SIZE;
    const mem = this.dma.mem;
    if (size > 0 && size <= MAX_TX && mem && this.dma.enabled()) {
      const frame = new Uint8Array(size);
      mem.readBytes(this.r32(TSAD0 + 4 * n), frame);
      this.activity = true;
      const loopback = (this.r32(TCR) >> 17) & 3;
      if (loopback === 3) this.receiveFrame(frame);
      else if (this.linkUp()) {
        try {
          this.backend?.send(frame);
        } catch {
          // A failing host backend is a frame lost on the wire.
        }
      }
    }
    this.w32(o, tsd | TSD_OWN | TSD_TOK);
    this.raise(ISR_TOK);
  }

  // ---- receive

  private linkUp(): boolean {
    return this.backend ? this.backend.linkUp : false;
  }

  private ringSize(): number {
    return 8192 << ((this.r32(RCR) >> 11) & 3);
  }

  /** Bytes written by the card that the driver has not consumed. */
  private rxUnread(): number {
    const size = this.ringSize();
    const readPtr = (this.r16(CAPR) + 16) & 0xffff;
    return (this.r16(CBR) - readPtr + size * 8) % size;
  }

  /** Take waiting frames from the backend; notice link changes. */
  poll(): void {
    this.checkTimer();
    const up = this.linkUp();
    if (up !== this.linkWasUp) {
      this.linkWasUp = up;
      this.raise(ISR_LINKCHG);
    }
    const be = this.backend;
    if (!be || !(this.regs[CR] & CR_RE)) return;
    for (let i = 0; i < FRAMES_PER_POLL; i++) {
      if (this.ringSize() - this.rxUnread() < MAX_RX + 16) break; // leave it in the backend
      const frame = be.receive();
      if (!frame) break;
      this.receiveFrame(frame);
    }
  }

  private accepts(frame: Uint8Array): number {
    const rcr = this.r32(RCR);
    let status = 0;
    if (frame[0] & 1) {
      let broadcast = true;
      for (let i = 0; i < 6; i++) if (frame[i] !== 0xff) broadcast = false;
      if (broadcast) status = rcr & (RCR_AB | RCR_AAP) ? RX_BAR : -1;
      else {
        const bit = multicastBit(frame);
        const hit = (this.regs[MAR0 + (bit >> 3)] & (1 << (bit & 7))) !== 0;
        status = rcr & RCR_AAP || (rcr & RCR_AM && hit) ? RX_MAR : -1;
      }
    } else {
      let mine = true;
      for (let i = 0; i < 6; i++) if (frame[i] !== this.regs[IDR0 + i]) mine = false;
      status = mine && rcr & RCR_APM ? RX_PAM : rcr & RCR_AAP ? 0 : -1;
    }
    return status;
  }

  /** Put one frame (without CRC) into the receive ring; false when not accepted. */
  receiveFrame(frame: Uint8Array): boolean {
    if (!(this.regs[CR] & CR_RE) || frame.length < 6 || frame.length > MAX_RX + 4) return false;
    const status = this.accepts(frame);
    if (status < 0) return false;
    const mem = this.dma.mem;
    if (!mem || !this.dma.enabled()) return false;
    const len = Math.max(frame.length, MIN_FRAME);
    const withCrc = len + 4;
    const size = this.ringSize();
    const total = (4 + withCrc + 3) & ~3;
    if (size - this.rxUnread() <= total + 16) {
      this.w32(MPC, (this.r32(MPC) + 1) >>> 0);
      this.raise(ISR_RXOVW);
      return false;
    }
    const pkt = new Uint8Array(4 + withCrc);
    pkt[0] = (status | RX_ROK) & 0xff;
    pkt[1] = (status | RX_ROK) >> 8;
    pkt[2] = withCrc & 0xff;
    pkt[3] = withCrc >> 8;
    pkt.set(frame, 4);
    const crc = ethernetCrc(pkt.subarray(4), len);
    pkt[4 + len] = crc & 0xff;
    pkt[5 + len] = (crc >>> 8) & 0xff;
    pkt[6 + len] = (crc >>> 16) & 0xff;
    pkt[7 + len] = crc >>> 24;
    const base = this.r32(RBSTART);
    const cbr = this.r16(CBR) % size;
    if (this.r32(RCR) & RCR_WRAP || cbr + pkt.length <= size) {
      mem.writeBytes((base + cbr) >>> 0, pkt);
    } else {
      const first = size - cbr;
      mem.writeBytes((base + cbr) >>> 0, pkt.subarray(0, first));
      mem.writeBytes(base >>> 0, pkt.subarray(first));
    }
    this.w16(CBR, (cbr + total) % size);
    this.activity = true;
    this.raise(ISR_ROK);
    return true;
  }
}

/** The RTL8139 as PCI function: BAR0 I/O, BAR1 memory, INTA#, bus-master DMA. */
export class Rtl8139Pci extends PciFunction {
  readonly nic: Rtl8139;
  private portsAt = -1;
  private mmioAt = -1;

  constructor(private readonly io: IoBus, private readonly memory: Rtl8139Memory, opts: Rtl8139Options) {
    super(`${opts.name ?? 'rtl8139'}.pci`, {
      vendor: 0x10ec,
      device: 0x8139,
      classCode: 0x020000,
      revision: 0x10, // below 0x20: a plain 8139, not C+
      subsystemVendor: 0x10ec,
      subsystem: 0x8139,
      interruptPin: 1,
    });
    this.nic = new Rtl8139((level) => this.setIrq(level), opts);
    this.nic.dma = { mem: memory, enabled: () => (this.config[PCI_COMMAND] & 0x04) !== 0 };
    this.setBar(0, { size: 0x100, kind: 'io', map: (base) => this.mapPorts(base) });
    this.setBar(1, { size: 0x1000, kind: 'mem', map: (base) => this.mapMmio(base) });
  }

  private mapPorts(base: number | null): void {
    const want = base ?? -1;
    if (want === this.portsAt) return;
    if (this.portsAt >= 0) this.io.unregister(this.portsAt, 0x100);
    if (want >= 0) this.io.register('rtl8139', want, 0x100, this.nic);
    this.portsAt = want;
  }

  private mapMmio(base: number | null): void {
    const want = base ?? -1;
    if (want === this.mmioAt) return;
    if (this.mmioAt >= 0) this.memory.unmap(this.mmioAt, 0x1000);
    if (want >= 0) this.memory.mapMmio('rtl8139', want, 0x1000, this.nic);
    this.mmioAt = want;
  }

  override reset(): void {
    super.reset();
    this.nic.reset();
  }

  stateParts(): Stateful[] {
    return [this, this.nic];
  }
}
