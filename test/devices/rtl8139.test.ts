import { describe, expect, it } from 'vitest';
import type { NetworkBackend } from '../../core/board/machine.js';
import { IoBus } from '../../core/bus/io.js';
import type { MmioHandler } from '../../core/bus/memory.js';
import { ISR_LINKCHG, ISR_ROK, ISR_RXOVW, ISR_TIMEOUT, ISR_TOK, Rtl8139Pci } from '../../core/devices/rtl8139.js';
import { applyState, decodeState, encodeState } from '../../core/state/snapshot.js';

const MAC = [0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc];
const IO = 0xc000;
const RX_RING = 0x10000;
const TX_BUF = 0x30000;

class TestBackend implements NetworkBackend {
  linkUp = true;
  readonly sent: Uint8Array[] = [];
  readonly queue: Uint8Array[] = [];
  send(frame: Uint8Array): void { this.sent.push(frame.slice()); }
  receive(): Uint8Array | null { return this.queue.shift() ?? null; }
}

class TestMemory {
  readonly ram = new Uint8Array(0x100000);
  readonly mmio = new Map<number, MmioHandler>();
  // Addresses outside the test RAM read as open bus and drop writes, as PhysicalMemory does.
  readBytes(addr: number, out: Uint8Array): void {
    for (let i = 0; i < out.length; i++) out[i] = addr + i < this.ram.length ? this.ram[addr + i] : 0xff;
  }
  writeBytes(addr: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) if (addr + i < this.ram.length) this.ram[addr + i] = data[i];
  }
  mapMmio(_n: string, base: number, _s: number, h: MmioHandler): void { this.mmio.set(base, h); }
  unmap(base: number): void { this.mmio.delete(base); }
}

/** Plain bitwise CRC-32 (an independent check of the FCS the card appends). */
function crc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of data) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function setup() {
  const io = new IoBus();
  const mem = new TestMemory();
  const backend = new TestBackend();
  const pci = new Rtl8139Pci(io, mem, { backend, mac: MAC });
  pci.writeConfig(0x10, IO | 1, 4);
  pci.writeConfig(0x14, 0xfebf0000, 4);
  pci.writeConfig(0x04, 0x0007, 2); // I/O, memory, bus master
  return { io, mem, backend, pci, nic: pci.nic };
}

/** 8139too's read_eeprom(): bit-bang a READ through 9346CR. */
function readEeprom(io: IoBus, location: number, addrLen: number): number {
  const EE_CS = 0x08, EE_SHIFT = 0x04, EE_DI = 0x02, EE_ENB = 0x80 | EE_CS;
  const cmd = location | (6 << addrLen);
  io.out8(IO + 0x50, EE_ENB & ~EE_CS);
  io.out8(IO + 0x50, EE_ENB);
  for (let i = 4 + addrLen; i >= 0; i--) {
    const d = cmd & (1 << i) ? EE_DI : 0;
    io.out8(IO + 0x50, EE_ENB | d);
    io.out8(IO + 0x50, EE_ENB | d | EE_SHIFT);
  }
  io.out8(IO + 0x50, EE_ENB);
  let v = 0;
  for (let i = 16; i > 0; i--) {
    io.out8(IO + 0x50, EE_ENB | EE_SHIFT);
    v = (v << 1) | (io.in8(IO + 0x50) & 1);
    io.out8(IO + 0x50, EE_ENB);
  }
  io.out8(IO + 0x50, ~EE_CS & 0xff);
  io.out8(IO + 0x50, 0);
  return v;
}

/** The driver's bring-up: reset, ring, filters, interrupts, RX and TX on. */
function init(io: IoBus, rcr = 0x0000008a /* WRAP, AB, APM */): void {
  io.out8(IO + 0x37, 0x10);
  expect(io.in8(IO + 0x37) & 0x10).toBe(0);
  io.out32(IO + 0x30, RX_RING);
  io.out8(IO + 0x37, 0x0c);
  io.out32(IO + 0x44, rcr);
  io.out32(IO + 0x40, 0x03000700);
  io.out16(IO + 0x3c, 0xffff);
}

describe('RTL8139', () => {
  it('is a PCI 10ec:8139 Ethernet controller with a 256-port I/O BAR and a memory BAR', () => {
    const { pci, mem } = setup();
    expect(pci.readConfig(0, 4)).toBe(0x813910ec);
    expect(pci.readConfig(0x08, 4) >>> 8).toBe(0x020000);
    expect(pci.readConfig(0x08, 1)).toBeLessThan(0x20); // not a C+ part
    expect(pci.readConfig(0x3d, 1)).toBe(1);
    pci.writeConfig(0x10, 0xffffffff, 4);
    expect(pci.readConfig(0x10, 4)).toBe(0xffffff01);
    pci.writeConfig(0x10, IO | 1, 4);
    expect(mem.mmio.has(0xfebf0000)).toBe(true);
    // The memory BAR shows the same registers.
    expect(mem.mmio.get(0xfebf0000)!.read8(0)).toBe(MAC[0]);
  });

  it('reads the MAC and signature from the 93C46 EEPROM the way 8139too does', () => {
    const { io } = setup();
    expect(readEeprom(io, 0, 8)).not.toBe(0x8129); // a 93C56 probe fails: 6 address bits
    expect(readEeprom(io, 0, 6)).toBe(0x8129);
    const mac: number[] = [];
    for (let i = 0; i < 3; i++) {
      const w = readEeprom(io, 7 + i, 6);
      mac.push(w & 0xff, w >> 8);
    }
    expect(mac).toEqual(MAC);
    expect(Array.from({ length: 6 }, (_, i) => io.in8(IO + i))).toEqual(MAC);
    expect(io.in32(IO + 0x40) & 0x7cc00000).toBe(0x70000000); // RTL8139A hardware version, read-only
    io.out32(IO + 0x40, 0);
    expect(io.in32(IO + 0x40) & 0x7cc00000).toBe(0x70000000);
  });

  it('transmits through the four descriptors with TOK status and an interrupt', () => {
    const { io, mem, backend, pci } = setup();
    init(io);
    for (let d = 0; d < 5; d++) {
      const n = d % 4;
      const frame = new Uint8Array(100 + d);
      frame.fill(0xff, 0, 6);
      frame.set(MAC, 6);
      frame[14] = d;
      mem.ram.set(frame, TX_BUF + n * 0x800);
      io.out32(IO + 0x20 + 4 * n, TX_BUF + n * 0x800);
      io.out32(IO + 0x10 + 4 * n, frame.length | (8 << 16));
      expect(backend.sent[d]).toEqual(frame);
      const tsd = io.in32(IO + 0x10 + 4 * n);
      expect(tsd & 0x2000).toBe(0x2000); // OWN
      expect(tsd & 0x8000).toBe(0x8000); // TOK
      expect(tsd & 0x1fff).toBe(frame.length);
      expect(io.in16(IO + 0x60) & (1 << (12 + n))).toBeTruthy(); // TSAD summary: TOK
      expect(io.in16(IO + 0x3e) & ISR_TOK).toBe(ISR_TOK);
      expect(pci.irqLevel).toBe(true);
      io.out16(IO + 0x3e, ISR_TOK);
      expect(pci.irqLevel).toBe(false);
    }
    // Without bus mastering the card cannot fetch the frame.
    pci.writeConfig(0x04, 0x0003, 2);
    io.out32(IO + 0x10, 60);
    expect(backend.sent.length).toBe(5);
  });

  it('receives into the ring with header, CRC and 4-byte alignment, and filters addresses', () => {
    const { io, mem, backend, nic, pci } = setup();
    init(io);
    expect(io.in8(IO + 0x37) & 1).toBe(1); // BUFE
    const mine = new Uint8Array(70); mine.set(MAC, 0); mine[6] = 2; mine[20] = 0x11;
    const bcast = new Uint8Array(42); bcast.fill(0xff, 0, 6); bcast[20] = 0x22;
    const other = new Uint8Array(70); other.set([2, 0, 0, 0, 0, 9]); other[20] = 0x33;
    backend.queue.push(mine, other, bcast);
    nic.poll();
    expect(backend.queue.length).toBe(0);
    expect(io.in8(IO + 0x37) & 1).toBe(0);
    expect(io.in16(IO + 0x3e) & ISR_ROK).toBe(ISR_ROK);
    expect(pci.irqLevel).toBe(true);
    // Driver-style ring walk.
    let off = 0;
    const got: { status: number; data: Uint8Array }[] = [];
    while (!(io.in8(IO + 0x37) & 1)) {
      const status = mem.ram[RX_RING + off] | (mem.ram[RX_RING + off + 1] << 8);
      const len = mem.ram[RX_RING + off + 2] | (mem.ram[RX_RING + off + 3] << 8);
      const data = mem.ram.slice(RX_RING + off + 4, RX_RING + off + 4 + len);
      got.push({ status, data });
      off = (off + len + 4 + 3) & ~3;
      io.out16(IO + 0x38, off - 16);
    }
    expect(got.length).toBe(2);
    expect(got[0].status & 0x4001).toBe(0x4001); // ROK, physical match
    expect(got[0].data.length).toBe(74);
    expect(got[0].data.subarray(0, 70)).toEqual(mine);
    const fcs = got[0].data;
    expect((fcs[70] | (fcs[71] << 8) | (fcs[72] << 16) | (fcs[73] << 24)) >>> 0).toBe(crc32(mine));
    expect(got[1].status & 0x2001).toBe(0x2001); // broadcast
    expect(got[1].data.length).toBe(64); // padded to 60 + CRC
    expect(got[1].data[20]).toBe(0x22);
  });

  it('wraps the 8 KiB ring (WRAP clear), holds frames back when it is full, and counts overflow', () => {
    const { io, mem, backend, nic } = setup();
    init(io, 0x0a); // AB | APM, no WRAP, 8 KiB
    const frames = Array.from({ length: 12 }, (_, i) => {
      const f = new Uint8Array(1000); f.set(MAC, 0); f.fill(i + 1, 14); return f;
    });
    backend.queue.push(...frames);
    nic.poll();
    expect(backend.queue.length).toBeGreaterThan(0); // the ring filled up; the rest waits
    let off = 0;
    const seen: number[] = [];
    for (let guard = 0; guard < 100 && seen.length < 12; guard++) {
      if (io.in8(IO + 0x37) & 1) { nic.poll(); continue; }
      const at = (o: number) => mem.ram[RX_RING + ((off + o) % 8192)];
      const len = at(2) | (at(3) << 8);
      expect(len).toBe(1004);
      seen.push(at(4 + 100));
      off = (off + len + 4 + 3) & ~3 & 0xffff;
      off %= 8192;
      io.out16(IO + 0x38, (off - 16) & 0xffff);
    }
    expect(seen).toEqual(frames.map((_, i) => i + 1));
    // A frame pushed straight at a full ring is missed: MPC counts it and RXOVW is raised.
    for (let i = 0; i < 9; i++) nic.receiveFrame(frames[0]);
    expect(io.in32(IO + 0x4c)).toBeGreaterThan(0);
    expect(io.in16(IO + 0x3e) & ISR_RXOVW).toBe(ISR_RXOVW);
  });

  it('reports link state in BMSR/MSR and raises a link-change interrupt', () => {
    const { io, backend, nic } = setup();
    init(io);
    expect(io.in16(IO + 0x64) & 0x04).toBe(0x04);
    expect(io.in8(IO + 0x58) & 0x04).toBe(0);
    backend.linkUp = false;
    nic.poll();
    expect(io.in16(IO + 0x3e) & ISR_LINKCHG).toBe(ISR_LINKCHG);
    expect(io.in16(IO + 0x64) & 0x04).toBe(0);
    expect(io.in8(IO + 0x58) & 0x04).toBe(0x04);
  });

  it('loops transmitted frames back in TCR loopback mode, and saves/restores its state', () => {
    const a = setup();
    init(a.io);
    a.io.out32(IO + 0x40, 0x03060700); // LBK = 11
    const f = new Uint8Array(80); f.set(MAC, 0); f[30] = 0x5a;
    a.mem.ram.set(f, TX_BUF);
    a.io.out32(IO + 0x20, TX_BUF);
    a.io.out32(IO + 0x10, f.length);
    expect(a.backend.sent.length).toBe(0);
    expect(a.mem.ram[RX_RING + 4 + 30]).toBe(0x5a);
    const file = encodeState(a.pci.stateParts());
    const b = setup();
    applyState(b.pci.stateParts(), decodeState(file));
    expect(encodeState(b.pci.stateParts())).toEqual(file);
    expect(b.io.in16(IO + 0x3a)).toBe(a.io.in16(IO + 0x3a));
    expect(b.io.in8(IO + 0x37) & 1).toBe(0);
  });

  it('counts TCTR at 33 MHz of virtual time and raises TimeOut when it reaches TimerInt', () => {
    const io = new IoBus();
    let now = 5_000_000;
    const pci = new Rtl8139Pci(io, new TestMemory(), { backend: new TestBackend(), clockNs: () => now });
    pci.writeConfig(0x10, IO | 1, 4);
    pci.writeConfig(0x04, 0x0005, 2);
    io.out32(IO + 0x48, 0); // restart
    now += 1000; // 1 us = 33 ticks
    expect(io.in32(IO + 0x48)).toBe(33);
    io.out16(IO + 0x3c, ISR_TIMEOUT);
    io.out32(IO + 0x54, 330); // 10 us
    now += 5000;
    pci.nic.poll();
    expect(io.in16(IO + 0x3e) & ISR_TIMEOUT).toBe(0);
    now += 5000;
    pci.nic.poll();
    expect(io.in16(IO + 0x3e) & ISR_TIMEOUT).toBe(ISR_TIMEOUT);
    expect(pci.irqLevel).toBe(true);
    io.out16(IO + 0x3e, ISR_TIMEOUT);
    now += 5000;
    pci.nic.poll();
    expect(io.in16(IO + 0x3e) & ISR_TIMEOUT).toBe(0); // once per count
  });

  it('survives random register writes (a misprogrammed card) without throwing', () => {
    const { io, backend, nic } = setup();
    let s = 99;
    const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8);
    for (let i = 0; i < 20000; i++) {
      const r = rand() & 0xff;
      const kind = rand() % 3;
      if (kind === 0) io.out8(IO + r, rand() & 0xff);
      else if (kind === 1) io.out16(IO + (r & ~1), rand() & 0xffff);
      else io.out32(IO + (r & ~3), (rand() << 8) ^ rand());
      if (i % 50 === 0) { backend.queue.push(new Uint8Array(rand() % 2000)); nic.poll(); }
      io.in32(IO + (r & ~3));
    }
  });
});
