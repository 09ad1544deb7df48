// IPv4 reassembly of the guest's fragmented datagrams (RFC 791/815), for the NAT. Bounded:
// at most 64 datagrams in progress, each complete within 5 s, none over 65535 bytes; anything
// inconsistent is dropped.

import { ETH_HEADER, checksum, get16, put16 } from './packet.js';

const MAX_PENDING = 64;
const TIMEOUT_MS = 5000;
const MAX_DATAGRAM = 65535;

interface Pending {
  parts: { off: number; data: Uint8Array }[];
  /** Payload length, known once the last fragment (MF clear) arrived; -1 before. */
  total: number;
  header: Uint8Array;
  started: number;
}

export class Reassembler {
  private readonly pending = new Map<string, Pending>();

  /** True when the IPv4 packet in `frame` is a fragment (MF set or a non-zero offset). */
  static isFragment(frame: Uint8Array): boolean {
    return frame.length >= ETH_HEADER + 20 && (get16(frame, ETH_HEADER + 6) & 0x3fff) !== 0;
  }

  /** Add a fragment; returns the whole datagram as an unfragmented frame once complete. */
  add(frame: Uint8Array, now: number): Uint8Array | null {
    this.expire(now);
    const o = ETH_HEADER;
    if (frame.length < o + 20 || frame[o] >> 4 !== 4) return null;
    const ihl = (frame[o] & 0xf) * 4;
    if (ihl < 20 || frame.length < o + ihl || checksum(frame, o, o + ihl) !== 0) return null;
    const totalLen = get16(frame, o + 2);
    if (totalLen < ihl || o + totalLen > frame.length) return null;
    const ff = get16(frame, o + 6);
    const off = (ff & 0x1fff) * 8;
    const more = (ff & 0x2000) !== 0;
    const data = frame.slice(o + ihl, o + totalLen);
    if (off + data.length > MAX_DATAGRAM - 20 || (more && (data.length === 0 || data.length % 8 !== 0))) return null;
    const key = `${get16(frame, o + 12)}.${get16(frame, o + 14)}>${get16(frame, o + 16)}.${get16(frame, o + 18)}/${frame[o + 9]}#${get16(frame, o + 4)}`;
    let p = this.pending.get(key);
    if (!p) {
      if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
      p = { parts: [], total: -1, header: new Uint8Array(0), started: now };
      this.pending.set(key, p);
    }
    if (off === 0) p.header = frame.slice(0, o + 20); // options are not carried over
    if (!more) {
      const end = off + data.length;
      if (p.total >= 0 && p.total !== end) {
        this.pending.delete(key);
        return null;
      }
      p.total = end;
    }
    p.parts.push({ off, data });
    if (p.total < 0 || p.header.length === 0) return null;
    // Complete when the parts cover [0, total) without a gap.
    const parts = [...p.parts].sort((a, b) => a.off - b.off);
    let covered = 0;
    for (const part of parts) {
      if (part.off > covered) return null;
      covered = Math.max(covered, part.off + part.data.length);
    }
    if (covered < p.total) return null;
    this.pending.delete(key);
    const out = new Uint8Array(o + 20 + p.total);
    out.set(p.header, 0);
    for (const part of parts) out.set(part.data.subarray(0, Math.max(0, p.total - part.off)), o + 20 + part.off);
    out[o] = 0x45;
    put16(out, o + 2, 20 + p.total);
    put16(out, o + 6, 0);
    put16(out, o + 10, 0);
    put16(out, o + 10, checksum(out, o, o + 20));
    return out;
  }

  private expire(now: number): void {
    for (const [k, p] of this.pending) if (now - p.started > TIMEOUT_MS) this.pending.delete(k);
  }
}
