// Ethernet / ARP / IPv4 / ICMP / UDP / TCP parsing and building for the user-mode NAT.
// Parsers never throw on short or inconsistent input: they return null, so any frame a guest
// can send is either understood or dropped.

export const ETH_HEADER = 14;
export const ETHERTYPE_IPV4 = 0x0800;
export const ETHERTYPE_ARP = 0x0806;
export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

export const BROADCAST_MAC = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

export function get16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
export function get32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** "10.0.2.15" → 32-bit number; NaN-free: throws on a malformed address (configuration only). */
export function ipFromString(s: string): number {
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`bad IPv4 address: ${s}`);
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}
export function ipToString(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
}

/** One's-complement sum of 16-bit words (not folded, not inverted). */
export function sum16(b: Uint8Array, start: number, end: number, initial = 0): number {
  let s = initial;
  let i = start;
  for (; i + 1 < end; i += 2) s += (b[i] << 8) | b[i + 1];
  if (i < end) s += b[i] << 8;
  return s;
}
export function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}
/** Internet checksum of b[start..end) plus an initial partial sum. */
export function checksum(b: Uint8Array, start: number, end: number, initial = 0): number {
  return ~fold(sum16(b, start, end, initial)) & 0xffff;
}
/** Partial sum of the TCP/UDP pseudo header. */
export function pseudoSum(src: number, dst: number, proto: number, length: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + length;
}

export interface Ipv4 {
  src: number;
  dst: number;
  proto: number;
  ttl: number;
  id: number;
  /** Offset of the payload in the frame and its length. */
  payloadOffset: number;
  payloadLength: number;
}

/** Parse the IPv4 packet in an Ethernet frame; null when malformed, fragmented or bad checksum. */
export function parseIpv4(frame: Uint8Array): Ipv4 | null {
  const o = ETH_HEADER;
  if (frame.length < o + 20) return null;
  const vihl = frame[o];
  if (vihl >> 4 !== 4) return null;
  const ihl = (vihl & 0xf) * 4;
  if (ihl < 20 || frame.length < o + ihl) return null;
  const total = get16(frame, o + 2);
  if (total < ihl || o + total > frame.length) return null;
  const flagsFrag = get16(frame, o + 6);
  if ((flagsFrag & 0x3fff) !== 0) return null; // fragments (MF set or offset): not reassembled
  if (checksum(frame, o, o + ihl) !== 0) return null;
  return {
    src: get32(frame, o + 12),
    dst: get32(frame, o + 16),
    proto: frame[o + 9],
    ttl: frame[o + 8],
    id: get16(frame, o + 4),
    payloadOffset: o + ihl,
    payloadLength: total - ihl,
  };
}

let nextIpId = 1;

/** Largest IP payload in one 1500-byte MTU frame. */
export const MAX_IP_PAYLOAD = 1480;

/**
 * Ethernet + IPv4 frames carrying `payload` (its checksums already filled): one frame, or
 * fragments (offsets in 8-byte units, MF on all but the last) when it exceeds the MTU.
 */
export function buildIpv4Frames(dstMac: Uint8Array, srcMac: Uint8Array, src: number, dst: number, proto: number, payload: Uint8Array): Uint8Array[] {
  if (payload.length <= MAX_IP_PAYLOAD) return [buildIpv4Frame(dstMac, srcMac, src, dst, proto, payload)];
  const id = nextIpId;
  nextIpId = (nextIpId + 1) & 0xffff;
  const frames: Uint8Array[] = [];
  for (let off = 0; off < payload.length; off += MAX_IP_PAYLOAD) {
    const last = off + MAX_IP_PAYLOAD >= payload.length;
    const f = buildIpv4Frame(dstMac, srcMac, src, dst, proto, payload.subarray(off, off + MAX_IP_PAYLOAD), id, (last ? 0 : 0x2000) | (off >> 3));
    frames.push(f);
  }
  return frames;
}

/** A complete Ethernet + IPv4 frame around `payload` (payload checksums already filled). */
export function buildIpv4Frame(dstMac: Uint8Array, srcMac: Uint8Array, src: number, dst: number, proto: number, payload: Uint8Array, fragId = -1, flagsFrag = 0x4000): Uint8Array {
  const f = new Uint8Array(ETH_HEADER + 20 + payload.length);
  f.set(dstMac, 0);
  f.set(srcMac, 6);
  put16(f, 12, ETHERTYPE_IPV4);
  const o = ETH_HEADER;
  f[o] = 0x45;
  put16(f, o + 2, 20 + payload.length);
  if (fragId >= 0) put16(f, o + 4, fragId);
  else {
    put16(f, o + 4, nextIpId);
    nextIpId = (nextIpId + 1) & 0xffff;
  }
  put16(f, o + 6, flagsFrag); // DF unless fragmenting
  f[o + 8] = 64;
  f[o + 9] = proto;
  put32(f, o + 12, src);
  put32(f, o + 16, dst);
  put16(f, o + 10, checksum(f, o, o + 20));
  f.set(payload, o + 20);
  return f;
}

/** UDP datagram (header + data) with its checksum. */
export function buildUdp(src: number, dst: number, srcPort: number, dstPort: number, data: Uint8Array): Uint8Array {
  const u = new Uint8Array(8 + data.length);
  put16(u, 0, srcPort);
  put16(u, 2, dstPort);
  put16(u, 4, u.length);
  u.set(data, 8);
  const c = checksum(u, 0, u.length, pseudoSum(src, dst, PROTO_UDP, u.length));
  put16(u, 6, c === 0 ? 0xffff : c);
  return u;
}

export interface Udp {
  srcPort: number;
  dstPort: number;
  data: Uint8Array;
}

export function parseUdp(frame: Uint8Array, ip: Ipv4): Udp | null {
  const o = ip.payloadOffset;
  if (ip.payloadLength < 8) return null;
  const len = get16(frame, o + 4);
  if (len < 8 || len > ip.payloadLength) return null;
  if (get16(frame, o + 6) !== 0 && checksum(frame, o, o + len, pseudoSum(ip.src, ip.dst, PROTO_UDP, len)) !== 0) return null;
  return { srcPort: get16(frame, o), dstPort: get16(frame, o + 2), data: frame.slice(o + 8, o + len) };
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** MSS option (SYN only), 0 when absent. */
  mss: number;
  data: Uint8Array;
}

export function parseTcp(frame: Uint8Array, ip: Ipv4): TcpSegment | null {
  const o = ip.payloadOffset;
  const len = ip.payloadLength;
  if (len < 20) return null;
  const hlen = (frame[o + 12] >> 4) * 4;
  if (hlen < 20 || hlen > len) return null;
  if (checksum(frame, o, o + len, pseudoSum(ip.src, ip.dst, PROTO_TCP, len)) !== 0) return null;
  let mss = 0;
  for (let i = o + 20; i < o + hlen;) {
    const kind = frame[i];
    if (kind === 0) break;
    if (kind === 1) { i++; continue; }
    if (i + 1 >= o + hlen) break;
    const olen = frame[i + 1];
    if (olen < 2 || i + olen > o + hlen) break;
    if (kind === 2 && olen === 4) mss = get16(frame, i + 2);
    i += olen;
  }
  return {
    srcPort: get16(frame, o),
    dstPort: get16(frame, o + 2),
    seq: get32(frame, o + 4),
    ack: get32(frame, o + 8),
    flags: frame[o + 13],
    window: get16(frame, o + 14),
    mss,
    data: frame.subarray(o + hlen, o + len),
  };
}

/** TCP segment (header + data) with its checksum; an MSS option when `mss` is non-zero. */
export function buildTcp(src: number, dst: number, seg: Omit<TcpSegment, 'data'> & { data?: Uint8Array }): Uint8Array {
  const data = seg.data ?? new Uint8Array(0);
  const hlen = seg.mss ? 24 : 20;
  const t = new Uint8Array(hlen + data.length);
  put16(t, 0, seg.srcPort);
  put16(t, 2, seg.dstPort);
  put32(t, 4, seg.seq);
  put32(t, 8, seg.ack);
  t[12] = (hlen / 4) << 4;
  t[13] = seg.flags;
  put16(t, 14, seg.window);
  if (seg.mss) {
    t[20] = 2;
    t[21] = 4;
    put16(t, 22, seg.mss);
  }
  t.set(data, hlen);
  put16(t, 16, checksum(t, 0, t.length, pseudoSum(src, dst, PROTO_TCP, t.length)));
  return t;
}

/** ARP request/reply for IPv4 over Ethernet. */
export interface Arp {
  op: number;
  senderMac: Uint8Array;
  senderIp: number;
  targetMac: Uint8Array;
  targetIp: number;
}

export function parseArp(frame: Uint8Array): Arp | null {
  const o = ETH_HEADER;
  if (frame.length < o + 28) return null;
  if (get16(frame, o) !== 1 || get16(frame, o + 2) !== ETHERTYPE_IPV4 || frame[o + 4] !== 6 || frame[o + 5] !== 4) return null;
  return {
    op: get16(frame, o + 6),
    senderMac: frame.slice(o + 8, o + 14),
    senderIp: get32(frame, o + 14),
    targetMac: frame.slice(o + 18, o + 24),
    targetIp: get32(frame, o + 24),
  };
}

export function buildArpFrame(dstMac: Uint8Array, arp: Arp): Uint8Array {
  const f = new Uint8Array(ETH_HEADER + 28);
  f.set(dstMac, 0);
  f.set(arp.senderMac, 6);
  put16(f, 12, ETHERTYPE_ARP);
  const o = ETH_HEADER;
  put16(f, o, 1);
  put16(f, o + 2, ETHERTYPE_IPV4);
  f[o + 4] = 6;
  f[o + 5] = 4;
  put16(f, o + 6, arp.op);
  f.set(arp.senderMac, o + 8);
  put32(f, o + 14, arp.senderIp);
  f.set(arp.targetMac, o + 18);
  put32(f, o + 24, arp.targetIp);
  return f;
}

export function macToString(m: Uint8Array): string {
  return Array.from(m.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Sequence-number comparison modulo 2^32: a < b. */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}
