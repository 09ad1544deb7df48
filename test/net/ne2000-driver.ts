// The guest driver's side of an NE2000 (ISA, I/O ports): remote DMA through the data port and
// the receive ring, shaped like a NetworkBackend so a TestGuest can speak through the card.
// It drives any card on any I/O bus: a bare Ne2000 in a unit test, or the one inside a PcMachine.

import type { IoBus } from '../../core/bus/io.js';
import type { Ne2000 } from '../../core/devices/ne2000.js';

export class Ne2000IoDriver {
  private next = 0x47;

  constructor(readonly io: IoBus, readonly nic: Ne2000, readonly base = 0x300, stationMac?: Uint8Array) {
    const NE = base;
    io.in8(NE + 0x1f); // reset
    io.out8(NE, 0x21); // page 0, stop, abort DMA
    io.out8(NE + 0x0e, 0x49); // word transfers
    io.out8(NE + 0x0c, 0x04); // accept broadcast
    io.out8(NE + 0x01, 0x46); io.out8(NE + 0x02, 0x80); io.out8(NE + 0x03, 0x46);
    // The station address: the one given, else the PROM's (as a real driver does).
    const mac = stationMac ?? Uint8Array.from(this.promMac());
    io.out8(NE, 0x61); // page 1
    mac.forEach((b, i) => io.out8(NE + 1 + i, b));
    io.out8(NE + 0x07, 0x47);
    io.out8(NE, 0x22); // page 0, start
    io.out8(NE + 0x0d, 0x00);
  }

  /** Not the card's own link state: the TestGuest only needs the field. */
  readonly linkUp = true;

  private remote(addr: number, count: number, cmd: number): void {
    const io = this.io;
    const NE = this.base;
    io.out8(NE + 0x08, addr & 0xff); io.out8(NE + 0x09, addr >> 8);
    io.out8(NE + 0x0a, count & 0xff); io.out8(NE + 0x0b, count >> 8);
    io.out8(NE, cmd);
  }

  /** The MAC address in the card's PROM, read the way DOS and Linux drivers read it. */
  promMac(): number[] {
    this.remote(0, 12, 0x0a); // remote read + start, as Linux's ne.c reads the PROM
    const mac: number[] = [];
    for (let i = 0; i < 6; i++) mac.push(this.io.in16(this.base + 0x10) & 0xff);
    return mac;
  }

  send(frame: Uint8Array): void {
    const io = this.io;
    const NE = this.base;
    const len = Math.max(frame.length, 60);
    const padded = new Uint8Array(len + (len & 1));
    padded.set(frame);
    this.remote(0x4000, padded.length, 0x12);
    for (let i = 0; i < padded.length; i += 2) io.out16(NE + 0x10, padded[i] | (padded[i + 1] << 8));
    io.out8(NE + 0x04, 0x40);
    io.out8(NE + 0x05, len & 0xff); io.out8(NE + 0x06, len >> 8);
    io.out8(NE, 0x26);
    io.out8(NE + 0x07, 0xff);
  }

  receive(): Uint8Array | null {
    this.nic.poll();
    const io = this.io;
    const NE = this.base;
    io.out8(NE, 0x62);
    const curr = io.in8(NE + 0x07);
    io.out8(NE, 0x22);
    if (curr === this.next) return null;
    this.remote(this.next << 8, 4, 0x0a);
    const h = [0, 0].map(() => io.in16(NE + 0x10));
    const next = h[0] >> 8;
    const len = h[1] - 4;
    const frame = new Uint8Array(len + (len & 1));
    this.remote((this.next << 8) + 4, frame.length, 0x0a);
    for (let i = 0; i < frame.length; i += 2) { const w = io.in16(NE + 0x10); frame[i] = w & 0xff; frame[i + 1] = w >> 8; }
    this.next = next;
    io.out8(NE + 0x03, next === 0x46 ? 0x7f : next - 1);
    io.out8(NE + 0x07, 0xff);
    return frame.subarray(0, len);
  }
}
