// The NAT behind a real NIC model: a driver-level view of the RTL8139 (TX descriptors, RX ring)
// carries the test guest's frames, so DHCP and an HTTP fetch go through the card's DMA paths.

import * as http from 'node:http';
import type * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../core/bus/io.js';
import { Ne2000 } from '../../core/devices/ne2000.js';
import { Rtl8139Pci } from '../../core/devices/rtl8139.js';
import { NatBackend, NAT_MAC } from '../../main/net/nat.js';
import { GUEST_MAC, TestGuest, ethFrame, ip, ipPacket, udpDatagram } from './guest.js';
import { Ne2000IoDriver } from './ne2000-driver.js';

const IO = 0xd000;
const RX_RING = 0x10000;
const RING = 32768;
const TX_BUF = 0x40000;

/** The guest driver's side of the card, shaped like a backend so TestGuest can use it. */
class Driver {
  readonly ram = new Uint8Array(0x80000);
  readonly io = new IoBus();
  readonly pci: Rtl8139Pci;
  private tx = 0;
  private rxOff = 0;
  readonly linkUp = true;

  constructor(backend: NatBackend) {
    const ram = this.ram;
    this.pci = new Rtl8139Pci(this.io, {
      readBytes: (a, out) => out.set(ram.subarray(a, a + out.length)),
      writeBytes: (a, d) => ram.set(d, a),
      mapMmio: () => undefined,
      unmap: () => undefined,
    }, { backend, mac: Array.from(GUEST_MAC) });
    this.pci.writeConfig(0x10, IO | 1, 4);
    this.pci.writeConfig(0x04, 0x0005, 2);
    const io = this.io;
    io.out8(IO + 0x37, 0x10);
    io.out32(IO + 0x30, RX_RING);
    io.out8(IO + 0x37, 0x0c);
    io.out32(IO + 0x44, 0x8a | (2 << 11)); // WRAP, AB, APM, 32 KiB ring
    io.out16(IO + 0x3c, 0x0005);
  }

  send(frame: Uint8Array): void {
    const n = this.tx;
    this.tx = (n + 1) & 3;
    expect(this.io.in32(IO + 0x10 + 4 * n) & 0x2000).toBe(0x2000); // descriptor is ours again
    this.ram.set(frame, TX_BUF + n * 0x800);
    this.io.out32(IO + 0x20 + 4 * n, TX_BUF + n * 0x800);
    this.io.out32(IO + 0x10 + 4 * n, Math.max(frame.length, 60));
  }

  receive(): Uint8Array | null {
    this.pci.nic.poll();
    if (this.io.in8(IO + 0x37) & 1) return null;
    const o = RX_RING + this.rxOff;
    const status = this.ram[o] | (this.ram[o + 1] << 8);
    const len = this.ram[o + 2] | (this.ram[o + 3] << 8);
    expect(status & 1).toBe(1);
    const frame = this.ram.slice(o + 4, o + 4 + len - 4);
    this.rxOff = ((this.rxOff + len + 4 + 3) & ~3) % RING;
    this.io.out16(IO + 0x38, (this.rxOff - 16) & 0xffff);
    this.io.out16(IO + 0x3e, 0x0001);
    return frame;
  }
}

describe('NAT behind the NE2000', () => {
  it('DHCP and an HTTP fetch go through the card\'s remote DMA and receive ring', async () => {
    const nat = new NatBackend({ restrict: true });
    const io = new IoBus();
    const nic = new Ne2000({ irq: () => undefined, backend: nat, mac: Array.from(GUEST_MAC) });
    io.register('ne2000', 0x300, 0x20, nic);
    const drv = new Ne2000IoDriver(io, nic);
    const guest = new TestGuest(drv as never);
    const d = new Uint8Array(300);
    d.set([1, 1, 6], 0); d.set(GUEST_MAC, 28); d.set([0x63, 0x82, 0x53, 0x63, 53, 1, 1, 255], 236);
    drv.send(ethFrame(new Uint8Array(6).fill(0xff), GUEST_MAC, 0x0800, ipPacket(0, 0xffffffff, 17, udpDatagram(0, 0xffffffff, 68, 67, d))));
    await guest.until(() => guest.inbox.length > 0);
    expect(Array.from(guest.inbox.shift()!.payload.subarray(8 + 16, 8 + 20))).toEqual([10, 0, 2, 15]);
    guest.gatewayMac = NAT_MAC;
    const server = http.createServer((_q, res) => res.end('y'.repeat(50_000)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const c = guest.connect(ip('10.0.2.2'), (server.address() as net.AddressInfo).port);
    c.write(new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n'));
    await guest.until(() => c.finReceived);
    expect(c.text().endsWith('y'.repeat(50_000))).toBe(true);
    nat.close();
    await new Promise((r) => server.close(r));
  });
});

describe('NAT behind the RTL8139', () => {
  it('DHCP and an HTTP fetch from a server on 127.0.0.1 go through the card', async () => {
    const nat = new NatBackend({ restrict: true });
    const drv = new Driver(nat);
    const guest = new TestGuest(drv as never);
    // DHCP DISCOVER from 0.0.0.0.
    const d = new Uint8Array(300);
    d.set([1, 1, 6], 0); d.set([1, 2, 3, 4], 4); d.set(GUEST_MAC, 28); d.set([0x63, 0x82, 0x53, 0x63, 53, 1, 1, 255], 236);
    drv.send(ethFrame(new Uint8Array(6).fill(0xff), GUEST_MAC, 0x0800, ipPacket(0, 0xffffffff, 17, udpDatagram(0, 0xffffffff, 68, 67, d))));
    await guest.until(() => guest.inbox.length > 0);
    const offer = guest.inbox.shift()!.payload.subarray(8);
    expect(Array.from(offer.subarray(16, 20))).toEqual([10, 0, 2, 15]);

    guest.gatewayMac = NAT_MAC;
    const server = http.createServer((_q, res) => res.end('x'.repeat(100_000)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const c = guest.connect(ip('10.0.2.2'), (server.address() as net.AddressInfo).port);
    c.write(new TextEncoder().encode('GET / HTTP/1.0\r\n\r\n'));
    await guest.until(() => c.finReceived);
    expect(c.text().endsWith('x'.repeat(100_000))).toBe(true);
    expect(c.text().startsWith('HTTP/1.1 200 OK')).toBe(true);
    nat.close();
    await new Promise((r) => server.close(r));
  });
});
