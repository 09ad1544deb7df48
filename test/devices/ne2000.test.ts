import { describe, expect, it } from 'vitest';
import type { NetworkBackend } from '../../core/board/machine.js';
import { IoBus } from '../../core/bus/io.js';
import { multicastHashIndex, Ne2000, Ne2000Pci } from '../../core/devices/ne2000.js';
import { applyState, crc32, decodeState, encodeState } from '../../core/state/snapshot.js';

const BASE = 0x300;
const MAC = [0x52, 0x54, 0x00, 0xab, 0xcd, 0xef];

/** Sent frames come back as received frames (a wire looped onto itself). */
class LoopbackBackend implements NetworkBackend {
  readonly linkUp = true;
  readonly sent: Uint8Array[] = [];
  readonly queue: Uint8Array[] = [];
  echo = true;
  send(frame: Uint8Array): void {
    this.sent.push(frame.slice());
    if (this.echo) this.queue.push(frame.slice());
  }
  receive(): Uint8Array | null {
    return this.queue.shift() ?? null;
  }
}

function setup() {
  const io = new IoBus();
  const backend = new LoopbackBackend();
  const irq = { level: false };
  const nic = new Ne2000({ irq: (l) => (irq.level = l), backend, mac: MAC });
  io.register('ne2000', BASE, 0x20, nic);
  return { io, backend, irq, nic };
}

/** The Linux 8390 driver's bring-up, reduced. */
function init(io: IoBus, rcr = 0x04): void {
  io.in8(BASE + 0x1f);
  expect(io.in8(BASE + 7) & 0x80).toBe(0x80);
  io.out8(BASE, 0x21);
  io.out8(BASE + 0x0e, 0x49); // word transfers
  io.out8(BASE + 0x0a, 0);
  io.out8(BASE + 0x0b, 0);
  io.out8(BASE + 0x0c, 0x20);
  io.out8(BASE + 0x0d, 0x02);
  io.out8(BASE + 0x01, 0x46);
  io.out8(BASE + 0x03, 0x46);
  io.out8(BASE + 0x02, 0x80);
  io.out8(BASE + 0x07, 0xff);
  io.out8(BASE + 0x0f, 0x00);
  io.out8(BASE, 0x61);
  for (let i = 0; i < 6; i++) io.out8(BASE + 1 + i, MAC[i]);
  io.out8(BASE + 7, 0x47);
  for (let i = 0; i < 8; i++) io.out8(BASE + 8 + i, 0);
  io.out8(BASE, 0x22);
  io.out8(BASE + 0x07, 0xff);
  io.out8(BASE + 0x0f, 0x3f);
  io.out8(BASE + 0x0d, 0x00);
  io.out8(BASE + 0x0c, rcr);
}

function remoteWrite(io: IoBus, addr: number, data: Uint8Array): void {
  io.out8(BASE + 0x0a, data.length & 0xff);
  io.out8(BASE + 0x0b, data.length >> 8);
  io.out8(BASE + 0x08, addr & 0xff);
  io.out8(BASE + 0x09, addr >> 8);
  io.out8(BASE, 0x12);
  for (let i = 0; i < data.length; i += 2) io.out16(BASE + 0x10, data[i] | ((data[i + 1] ?? 0) << 8));
  expect(io.in8(BASE + 7) & 0x40).toBe(0x40);
  io.out8(BASE + 7, 0x40);
}

function remoteRead(io: IoBus, addr: number, length: number): Uint8Array {
  io.out8(BASE + 0x0a, length & 0xff);
  io.out8(BASE + 0x0b, length >> 8);
  io.out8(BASE + 0x08, addr & 0xff);
  io.out8(BASE + 0x09, addr >> 8);
  io.out8(BASE, 0x0a);
  const out = new Uint8Array(length + 1);
  for (let i = 0; i < length; i += 2) {
    const w = io.in16(BASE + 0x10);
    out[i] = w & 0xff;
    out[i + 1] = w >> 8;
  }
  io.out8(BASE + 7, 0x40);
  return out.subarray(0, length);
}

function transmit(io: IoBus, frame: Uint8Array): void {
  remoteWrite(io, 0x4000, frame);
  io.out8(BASE + 0x04, 0x40);
  io.out8(BASE + 0x05, frame.length & 0xff);
  io.out8(BASE + 0x06, frame.length >> 8);
  io.out8(BASE, 0x26);
}

/** Pop one frame from the receive ring the way the driver does; null when empty. */
function receive(io: IoBus): { status: number; data: Uint8Array } | null {
  io.out8(BASE, 0x62);
  const curr = io.in8(BASE + 7);
  io.out8(BASE, 0x22);
  let bnry = io.in8(BASE + 3);
  let page = bnry + 1;
  if (page >= 0x80) page = 0x46;
  if (page === curr) return null;
  const hdr = remoteRead(io, page << 8, 4);
  const total = hdr[2] | (hdr[3] << 8);
  // Read the body, wrapping at PSTOP like the driver.
  const body = new Uint8Array(total - 4);
  const start = (page << 8) + 4;
  const ringEnd = 0x8000;
  const first = Math.min(body.length, ringEnd - start);
  body.set(remoteRead(io, start, first), 0);
  if (first < body.length) body.set(remoteRead(io, 0x4600, body.length - first), first);
  bnry = hdr[1] - 1;
  if (bnry < 0x46) bnry = 0x7f;
  io.out8(BASE + 3, bnry);
  return { status: hdr[0], data: body };
}

function frame(dst: number[], length: number, seed: number): Uint8Array {
  const f = new Uint8Array(length);
  f.set(dst, 0);
  f.set([0x02, 0, 0, 0, 0, 1], 6);
  f[12] = 0x08;
  f[13] = 0x00;
  for (let i = 14; i < length; i++) f[i] = (i * 3 + seed) & 0xff;
  return f;
}

describe('NE2000', () => {
  it('exposes the MAC in the station address PROM, doubled for word mode', () => {
    const { io } = setup();
    init(io);
    io.out8(BASE + 0x0e, 0x48); // byte mode, as drivers read the PROM
    io.out8(BASE + 0x0a, 32);
    io.out8(BASE + 0x0b, 0);
    io.out8(BASE + 0x08, 0);
    io.out8(BASE + 0x09, 0);
    io.out8(BASE, 0x0a);
    const prom: number[] = [];
    for (let i = 0; i < 32; i++) prom.push(io.in8(BASE + 0x10));
    expect(io.in8(BASE + 7) & 0x40).toBe(0x40);
    for (let i = 0; i < 6; i++) expect([prom[2 * i], prom[2 * i + 1]]).toEqual([MAC[i], MAC[i]]);
    expect([prom[28], prom[30]]).toEqual([0x57, 0x57]);
  });

  it('moves a word per byte access in word mode, so byte reads of the PROM give the MAC (Linux ne2k-pci)', () => {
    const { io } = setup();
    init(io); // DCR = 0x49: word transfers
    io.out8(BASE + 0x0a, 32);
    io.out8(BASE + 0x0b, 0);
    io.out8(BASE + 0x08, 0);
    io.out8(BASE + 0x09, 0);
    io.out8(BASE, 0x0a);
    const prom: number[] = [];
    for (let i = 0; i < 16; i++) prom.push(io.in8(BASE + 0x10));
    // 16 byte reads consumed the whole 32-byte count: remote DMA complete.
    expect(io.in8(BASE + 7) & 0x40).toBe(0x40);
    expect(prom.slice(0, 6)).toEqual(MAC);
    expect([prom[14], prom[15]]).toEqual([0x57, 0x57]);
  });

  it('transmits a frame written by remote DMA and interrupts', () => {
    const { io, backend, irq } = setup();
    backend.echo = false;
    init(io);
    const f = frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 98, 1);
    transmit(io, f);
    expect(backend.sent.length).toBe(1);
    expect(backend.sent[0]).toEqual(f);
    expect(io.in8(BASE + 7) & 0x02).toBe(0x02);
    expect(io.in8(BASE + 4) & 0x01).toBe(0x01);
    expect(io.in8(BASE) & 0x04).toBe(0);
    expect(irq.level).toBe(true);
    io.out8(BASE + 7, 0x02);
    expect(irq.level).toBe(false);
  });

  it('receives through a loopback backend into the ring, padding runts, wrapping at PSTOP', () => {
    const { io, nic, irq } = setup();
    init(io);
    const frames: Uint8Array[] = [];
    // Enough frames of 1000 bytes (4 pages each) to wrap the 58-page ring twice.
    for (let n = 0; n < 30; n++) {
      const f = frame(MAC, n % 5 === 0 ? 42 : 1000, n);
      frames.push(f);
      transmit(io, f);
      io.out8(BASE + 7, 0x02);
      nic.poll();
      expect(irq.level).toBe(true);
      const got = receive(io);
      expect(got).not.toBeNull();
      expect(got!.status & 0x01).toBe(0x01);
      const expected = new Uint8Array(Math.max(60, f.length));
      expected.set(f);
      expect(got!.data).toEqual(expected);
      io.out8(BASE + 7, 0x01);
      expect(receive(io)).toBeNull();
    }
  });

  it('filters by unicast address, broadcast, multicast hash and promiscuous mode', () => {
    const { io, nic } = setup();
    init(io, 0x00);
    const other = frame([0x52, 0x54, 0x00, 0, 0, 1], 64, 0);
    const bcast = frame([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 64, 0);
    const mcastAddr = [0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb];
    const mcast = frame(mcastAddr, 64, 0);
    expect(nic.receiveFrame(other)).toBe(false);
    expect(nic.receiveFrame(bcast)).toBe(false);
    io.out8(BASE + 0x0c, 0x04);
    expect(nic.receiveFrame(bcast)).toBe(true);
    expect(receive(io)!.status & 0x20).toBe(0x20); // physical/multicast bit
    expect(nic.receiveFrame(mcast)).toBe(false);

    // Hash index = top 6 bits of the MSB-first CRC, the bit reversal of the usual CRC-32.
    const c = ~crc32(Uint8Array.from(mcastAddr)) >>> 0;
    let rev = 0;
    for (let i = 0; i < 32; i++) if (c & (1 << i)) rev |= 1 << (31 - i);
    const index = (rev >>> 26) & 0x3f;
    expect(multicastHashIndex(Uint8Array.from(mcastAddr))).toBe(index);
    io.out8(BASE + 0x0c, 0x08);
    io.out8(BASE, 0x62);
    io.out8(BASE + 8 + (index >> 3), 1 << (index & 7));
    io.out8(BASE, 0x22);
    expect(nic.receiveFrame(mcast)).toBe(true);
    io.out8(BASE, 0x62);
    io.out8(BASE + 8 + (index >> 3), 0xff ^ (1 << (index & 7)));
    io.out8(BASE, 0x22);
    expect(nic.receiveFrame(mcast)).toBe(false);

    io.out8(BASE + 0x0c, 0x10);
    expect(nic.receiveFrame(other)).toBe(true);
  });

  it('leaves frames in the backend while the ring is full, and counts overruns', () => {
    const { io, nic, backend } = setup();
    init(io);
    for (let n = 0; n < 20; n++) backend.queue.push(frame(MAC, 1500, n));
    nic.poll();
    const taken = 20 - backend.queue.length;
    expect(taken).toBeGreaterThan(5);
    expect(taken).toBeLessThan(20);
    // Forcing one more in overflows.
    expect(nic.receiveFrame(frame(MAC, 1500, 99))).toBe(false);
    expect(io.in8(BASE + 7) & 0x10).toBe(0x10);
    expect(io.in8(BASE + 0x0f)).toBe(1);
    // Drain and poll again: the rest arrive in order.
    let seen = 0;
    for (let guard = 0; guard < 100 && seen < 20; guard++) {
      const got = receive(io);
      if (!got) {
        nic.poll();
        continue;
      }
      expect(got.data[15]).toBe((15 * 3 + seen) & 0xff);
      seen++;
    }
    expect(seen).toBe(20);
  });

  it('does not receive while stopped and tolerates nonsense ring settings', () => {
    const { io, nic } = setup();
    init(io);
    io.out8(BASE, 0x21);
    expect(nic.receiveFrame(frame(MAC, 100, 0))).toBe(false);
    io.out8(BASE, 0x22);
    io.out8(BASE + 0x01, 0xf0); // PSTART above PSTOP
    expect(nic.receiveFrame(frame(MAC, 100, 0))).toBe(false);
    io.out8(BASE + 0x04, 0xff); // transmit page outside memory, huge count
    io.out8(BASE + 0x05, 0xff);
    io.out8(BASE + 0x06, 0xff);
    io.out8(BASE, 0x26);
    expect(io.in8(BASE + 7) & 0x02).toBe(0x02);
    // Remote DMA outside memory reads 0xFF and wraps without throwing.
    expect(remoteRead(io, 0xfffe, 4).length).toBe(4);
  });

  it('appears on PCI as an RTL8029 with BAR0 ports and INTA#', () => {
    const io = new IoBus();
    const backend = new LoopbackBackend();
    const pci = new Ne2000Pci(io, { backend, mac: MAC });
    expect(pci.readConfig(0, 4)).toBe(0x802910ec);
    expect(pci.readConfig(0x08, 4) >>> 8).toBe(0x020000);
    expect(pci.readConfig(0x3d, 1)).toBe(1);
    pci.writeConfig(0x10, 0xffffffff, 4);
    expect(pci.readConfig(0x10, 4)).toBe(0xffffffe1);
    pci.writeConfig(0x10, 0xc100, 4);
    expect(io.claimant(0xc100)).toBeUndefined();
    pci.writeConfig(0x04, 0x0001, 2);
    expect(io.claimant(0xc100)).toBe('ne2000');
    expect(io.in8(0xc100 + 0x1f)).toBe(0);
    io.out8(0xc100, 0x22);
    expect(io.in8(0xc100 + 0x0a)).toBe(0x50);
    expect(io.in8(0xc100 + 0x0b)).toBe(0x43);
    io.out8(0xc100 + 0x0f, 0x02);
    io.out8(0xc100 + 0x05, 60);
    io.out8(0xc100, 0x26);
    expect(pci.irqLevel).toBe(true);
    expect(backend.sent.length).toBe(1);
  });

  it('round-trips its state byte-identically with frames in the ring', () => {
    const a = setup();
    init(a.io);
    a.nic.receiveFrame(frame(MAC, 300, 5));
    const file = encodeState([a.nic]);
    const b = setup();
    applyState([b.nic], decodeState(file));
    expect(encodeState([b.nic])).toEqual(file);
    expect(b.irq.level).toBe(true);
    expect(receive(b.io)!.data.subarray(0, 300)).toEqual(frame(MAC, 300, 5));
  });
});

describe('NE2000 robustness', () => {
  it('survives random register and data traffic without throwing', () => {
    let seed = 0x13579bdf;
    const rnd = (n: number) => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) % n;
    };
    const { io, nic, backend } = setup();
    for (let i = 0; i < 50000; i++) {
      const off = rnd(0x20);
      switch (rnd(4)) {
        case 0: io.in8(BASE + off); break;
        case 1: io.out8(BASE + off, rnd(256)); break;
        case 2: io.out16(BASE + 0x10, rnd(65536)); break;
        default:
          backend.queue.push(new Uint8Array(rnd(1600)).map(() => rnd(256)));
          nic.poll();
      }
    }
    init(io);
    const f = frame(MAC, 200, 3);
    backend.queue.length = 0;
    transmit(io, f);
    nic.poll();
    expect(receive(io)!.data).toEqual(f);
  });
});
