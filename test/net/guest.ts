// A tiny guest network stack for driving the NAT with synthetic frames: ARP, DHCP, ICMP, UDP
// and a simple (lossless-wire) TCP, written independently of main/net's builders so the tests
// check the NAT against a second implementation of the wire formats.

import type { NatBackend } from '../../main/net/nat.js';

export const GUEST_MAC = Uint8Array.from([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
export const ip = (s: string) => s.split('.').reduce((a, p) => ((a << 8) | Number(p)) >>> 0, 0);

const r16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const r32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
const w16 = (b: Uint8Array, o: number, v: number) => { b[o] = v >>> 8; b[o + 1] = v & 0xff; };
const w32 = (b: Uint8Array, o: number, v: number) => { w16(b, o, v >>> 16); w16(b, o + 2, v & 0xffff); };

/** RFC 1071 checksum, written the plain way. */
export function inetChecksum(parts: Uint8Array[]): number {
  let sum = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i += 2) sum += (p[i] << 8) + (i + 1 < p.length ? p[i + 1] : 0);
  }
  while (sum >>> 16) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function pseudo(src: number, dst: number, proto: number, len: number): Uint8Array {
  const p = new Uint8Array(12);
  w32(p, 0, src);
  w32(p, 4, dst);
  p[9] = proto;
  w16(p, 10, len);
  return p;
}

export function ethFrame(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(14 + payload.length);
  f.set(dst, 0);
  f.set(src, 6);
  w16(f, 12, type);
  f.set(payload, 14);
  return f;
}

export function ipPacket(src: number, dst: number, proto: number, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  p[0] = 0x45;
  w16(p, 2, p.length);
  w16(p, 4, 0x1234);
  p[8] = 64;
  p[9] = proto;
  w32(p, 12, src);
  w32(p, 16, dst);
  w16(p, 10, inetChecksum([p.subarray(0, 20)]));
  p.set(payload, 20);
  return p;
}

export function udpDatagram(src: number, dst: number, sport: number, dport: number, data: Uint8Array): Uint8Array {
  const u = new Uint8Array(8 + data.length);
  w16(u, 0, sport);
  w16(u, 2, dport);
  w16(u, 4, u.length);
  u.set(data, 8);
  w16(u, 6, inetChecksum([pseudo(src, dst, 17, u.length), u]) || 0xffff);
  return u;
}

export function tcpSegment(src: number, dst: number, s: { sport: number; dport: number; seq: number; ack: number; flags: number; window?: number; mss?: number; data?: Uint8Array }): Uint8Array {
  const data = s.data ?? new Uint8Array(0);
  const hl = s.mss ? 24 : 20;
  const t = new Uint8Array(hl + data.length);
  w16(t, 0, s.sport);
  w16(t, 2, s.dport);
  w32(t, 4, s.seq);
  w32(t, 8, s.ack);
  t[12] = (hl / 4) << 4;
  t[13] = s.flags;
  w16(t, 14, s.window ?? 65535);
  if (s.mss) { t[20] = 2; t[21] = 4; w16(t, 22, s.mss); }
  t.set(data, hl);
  w16(t, 16, inetChecksum([pseudo(src, dst, 6, t.length), t]));
  return t;
}

export interface Received {
  src: number;
  dst: number;
  proto: number;
  /** The IP payload. */
  payload: Uint8Array;
  frame: Uint8Array;
}

export const FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16;

export interface TcpIn { sport: number; dport: number; seq: number; ack: number; flags: number; window: number; data: Uint8Array; src: number }

/** One guest-side TCP endpoint (client or accepted). */
export class GuestTcp {
  sndNxt = 1000;
  sndUna = 1000;
  rcvNxt = 0;
  peerWnd = 0;
  state: 'syn-sent' | 'syn-rcvd' | 'established' | 'reset' = 'syn-sent';
  readonly received: Uint8Array[] = [];
  receivedBytes = 0;
  finReceived = false;
  finSent = false;
  private outBuf: Uint8Array = new Uint8Array(0);
  private outOff = 0;
  /** Drop the next n data segments from the NAT (to exercise retransmission). */
  dropNext = 0;
  mss = 1460;

  constructor(readonly g: TestGuest, readonly lport: number, readonly raddr: number, readonly rport: number) {}

  /** Bytes the application will take in total (the window closes as it is reached). */
  appLimit = Infinity;
  get rcvWnd(): number {
    return Math.max(0, Math.min(65535, this.appLimit - this.receivedBytes));
  }

  segment(flags: number, data?: Uint8Array, seq = this.sndNxt): void {
    this.g.sendIp(this.raddr, 6, tcpSegment(this.g.ip, this.raddr, { sport: this.lport, dport: this.rport, seq, ack: this.rcvNxt, flags, data, window: this.rcvWnd }));
  }

  input(t: TcpIn): void {
    if (t.flags & RST) { this.state = 'reset'; return; }
    if (this.state === 'syn-sent') {
      if ((t.flags & (SYN | ACK)) === (SYN | ACK) && t.ack === this.sndNxt) {
        this.rcvNxt = (t.seq + 1) >>> 0;
        this.sndUna = t.ack;
        this.peerWnd = t.window;
        this.state = 'established';
        this.segment(ACK);
        this.pump();
      }
      return;
    }
    if (this.state === 'syn-rcvd' && t.flags & ACK && t.ack === this.sndNxt) this.state = 'established';
    if (t.flags & ACK && ((t.ack - this.sndUna) | 0) > 0 && ((t.ack - this.sndNxt) | 0) <= 0) this.sndUna = t.ack;
    this.peerWnd = t.window;
    if (t.data.length || t.flags & FIN) {
      if (t.data.length && this.dropNext > 0) { this.dropNext--; return; }
      if (t.seq === this.rcvNxt) {
        const take = Math.min(t.data.length, this.rcvWnd); // nothing beyond the window
        if (take) {
          this.received.push(t.data.slice(0, take));
          this.receivedBytes += take;
          this.rcvNxt = (this.rcvNxt + take) >>> 0;
        }
        if (t.flags & FIN && take === t.data.length) { this.finReceived = true; this.rcvNxt = (this.rcvNxt + 1) >>> 0; }
      }
      this.segment(ACK);
    }
    this.pump();
  }

  write(data: Uint8Array): void {
    const rest = this.outBuf.subarray(this.outOff);
    const b = new Uint8Array(rest.length + data.length);
    b.set(rest);
    b.set(data, rest.length);
    this.outBuf = b;
    this.outOff = 0;
    this.pump();
  }

  close(): void {
    this.wantFin = true;
    this.pump();
  }
  private wantFin = false;

  get unsent(): number { return this.outBuf.length - this.outOff; }
  get allAcked(): boolean { return this.sndUna === this.sndNxt; }

  pump(): void {
    if (this.state !== 'established') return;
    while (this.unsent > 0) {
      const inFlight = (this.sndNxt - this.sndUna) >>> 0;
      const n = Math.min(this.unsent, this.mss, this.peerWnd - inFlight);
      if (n <= 0) break;
      this.segment(ACK | PSH, this.outBuf.subarray(this.outOff, this.outOff + n));
      this.outOff += n;
      this.sndNxt = (this.sndNxt + n) >>> 0;
    }
    if (this.wantFin && !this.finSent && this.unsent === 0) {
      this.segment(FIN | ACK);
      this.sndNxt = (this.sndNxt + 1) >>> 0;
      this.finSent = true;
    }
  }

  text(): string {
    return Buffer.concat(this.received).toString('latin1');
  }
}

export class TestGuest {
  ip = ip('10.0.2.15');
  gatewayMac: Uint8Array = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
  readonly inbox: Received[] = [];
  readonly arp: Uint8Array[] = [];
  readonly tcp = new Map<number, GuestTcp>();
  readonly listening = new Map<number, (c: GuestTcp) => void>();
  private nextPort = 40000;
  /** The guest's own MAC (the source of its frames). */
  mac: Uint8Array = GUEST_MAC;

  constructor(readonly nat: NatBackend) {}

  sendIp(dst: number, proto: number, payload: Uint8Array): void {
    this.nat.send(ethFrame(this.gatewayMac, this.mac, 0x0800, ipPacket(this.ip, dst, proto, payload)));
  }

  sendUdp(dst: number, sport: number, dport: number, data: Uint8Array): void {
    this.sendIp(dst, 17, udpDatagram(this.ip, dst, sport, dport, data));
  }

  connect(dst: number, port: number): GuestTcp {
    const c = new GuestTcp(this, this.nextPort++, dst, port);
    this.tcp.set(c.lport, c);
    this.sendIp(dst, 6, tcpSegment(this.ip, dst, { sport: c.lport, dport: port, seq: c.sndNxt, ack: 0, flags: SYN, mss: 1460 }));
    c.sndNxt++;
    return c;
  }

  /** Take every frame the NAT has queued and dispatch it. */
  drain(): void {
    for (let f = this.nat.receive(); f; f = this.nat.receive()) this.dispatch(f);
  }

  private dispatch(f: Uint8Array): void {
    const type = r16(f, 12);
    if (type === 0x0806) { this.arp.push(f); return; }
    if (type !== 0x0800) return;
    const hl = (f[14] & 0xf) * 4;
    const total = r16(f, 16);
    const rec: Received = { src: r32(f, 26), dst: r32(f, 30), proto: f[23], payload: f.slice(14 + hl, 14 + total), frame: f };
    if (rec.proto === 6) {
      const p = rec.payload;
      const t: TcpIn = { sport: r16(p, 0), dport: r16(p, 2), seq: r32(p, 4), ack: r32(p, 8), flags: p[13], window: r16(p, 14), data: p.subarray((p[12] >> 4) * 4), src: rec.src };
      let c = this.tcp.get(t.dport);
      if (!c && t.flags === SYN && this.listening.has(t.dport)) {
        c = new GuestTcp(this, t.dport, rec.src, t.sport);
        c.state = 'syn-rcvd';
        c.rcvNxt = (t.seq + 1) >>> 0;
        c.peerWnd = t.window;
        this.tcp.set(t.dport, c);
        c.segment(SYN | ACK);
        c.sndNxt++;
        this.listening.get(t.dport)!(c);
        return;
      }
      if (c && c.rport === t.sport) { c.input(t); return; }
    }
    this.inbox.push(rec);
  }

  /** Pump the NAT until `cond` holds (or fail after timeoutMs). */
  async until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      this.drain();
      if (cond()) return;
      if (Date.now() > end) throw new Error('timed out waiting for the NAT');
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}
