// Packet capture to a classic libpcap file (tcpdump/Wireshark/tshark read it): the global
// header (magic 0xa1b2c3d4 in little-endian byte order, version 2.4, snaplen 65535, link type
// 1 = Ethernet) and one record per frame (seconds, microseconds, captured and original length).
// `captureBackend` wraps a VM's NetworkBackend so both directions are recorded.

import * as fs from 'node:fs';
import type { NetworkBackend } from '../../core/board/machine.js';

const SNAPLEN = 65535;
const LINKTYPE_ETHERNET = 1;

export class PcapWriter {
  private fd: number | null;
  /** Frames written. */
  count = 0;

  constructor(readonly path: string, private readonly now: () => number = () => Date.now()) {
    this.fd = fs.openSync(path, 'w');
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8);
    h.writeUInt32LE(0, 12);
    h.writeUInt32LE(SNAPLEN, 16);
    h.writeUInt32LE(LINKTYPE_ETHERNET, 20);
    fs.writeSync(this.fd, h);
  }

  write(frame: Uint8Array): void {
    if (this.fd === null) return;
    const ms = this.now();
    const len = Math.min(frame.length, SNAPLEN);
    const rec = Buffer.alloc(16 + len);
    rec.writeUInt32LE(Math.floor(ms / 1000) >>> 0, 0);
    rec.writeUInt32LE(Math.floor((ms % 1000) * 1000), 4);
    rec.writeUInt32LE(len, 8);
    rec.writeUInt32LE(frame.length, 12);
    rec.set(frame.subarray(0, len), 16);
    try {
      fs.writeSync(this.fd, rec);
      this.count++;
    } catch {
      // A full disk or a vanished file stops the capture, never the VM.
      this.close();
    }
  }

  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    fs.closeSync(fd);
  }
}

/** A backend that records every frame going either way into `writer`. */
export function captureBackend(inner: NetworkBackend, writer: PcapWriter): NetworkBackend {
  return {
    send(frame: Uint8Array): void {
      if (inner.linkUp) writer.write(frame);
      inner.send(frame);
    },
    receive(): Uint8Array | null {
      const f = inner.receive();
      if (f) writer.write(f);
      return f;
    },
    get linkUp(): boolean {
      return inner.linkUp;
    },
  };
}
