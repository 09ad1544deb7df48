// TCP between the guest and a host socket, for the user-mode NAT. The NAT terminates the
// guest's TCP itself (like slirp): this file is the guest-facing half of one connection, a
// full state machine (three-way handshake either way, sliding windows both ways, go-back-N
// retransmission with exponential backoff, FIN in both directions, RST), and the host half
// is an ordinary node:net socket whose backpressure becomes the advertised window.

import type { Socket } from 'node:net';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, seqLe, seqLt, type TcpSegment } from './packet.js';

/** What a connection needs from the NAT. */
export interface TcpOutput {
  /** Emit a segment from (remoteIp:remotePort) to (guestIp:guestPort). */
  emit(conn: TcpConnection, flags: number, seq: number, ack: number, data?: Uint8Array, mss?: number): void;
  /** The connection is finished: forget it. */
  closed(conn: TcpConnection): void;
  now(): number;
}

export type TcpState = 'connecting' | 'syn-sent' | 'syn-rcvd' | 'established' | 'closed';

const OUR_MSS = 1460;
const MAX_WINDOW = 65535;
/** Host-side bytes buffered before the host socket is paused / the guest's window shrinks. */
const SEND_BUFFER_LIMIT = 256 * 1024;
const RECV_BUFFER_LIMIT = 256 * 1024;
const RTO_INITIAL_MS = 300;
const RTO_MAX_MS = 8000;
const MAX_RETRIES = 10;

export class TcpConnection {
  state: TcpState;
  socket: Socket | null = null;
  /** Last time anything happened on this connection (the NAT evicts the stalest at its limit). */
  lastActivity: number;

  // Sending to the guest.
  readonly iss = (Math.random() * 0x100000000) >>> 0;
  sndUna = this.iss;
  sndNxt = this.iss;
  /** Highest sequence number sent (sndNxt falls back to sndUna when retransmitting). */
  sndMax = this.iss;
  sndWnd = 0;
  guestMss = 536;
  /** Bytes from the host, starting at sequence number sndUna (+1 before the SYN is acked). */
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private hostEnded = false;
  private finSent = false;
  /** Sequence number of our FIN once it was first sent, -1 before. */
  private finSeq = -1;
  private finAcked = false;

  // Receiving from the guest.
  rcvNxt = 0;
  guestFin = false;

  // Retransmission.
  private rto = RTO_INITIAL_MS;
  private lastProgress = 0;
  private retries = 0;

  constructor(
    private readonly out: TcpOutput,
    readonly guestIp: number,
    readonly guestPort: number,
    readonly remoteIp: number,
    readonly remotePort: number,
    state: TcpState,
  ) {
    this.state = state;
    this.lastProgress = out.now();
    this.lastActivity = this.lastProgress;
  }

  get key(): string {
    return connKey(this.guestIp, this.guestPort, this.remoteIp, this.remotePort);
  }

  /** Attach the host socket and wire its events. */
  attach(socket: Socket): void {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.hostData(d));
    socket.on('end', () => {
      this.hostEnded = true;
      this.pump();
    });
    socket.on('error', () => this.abort());
    socket.on('close', () => {
      if (!this.hostEnded && this.state !== 'closed') this.abort();
    });
    socket.on('drain', () => this.sendAck());
  }

  // ---- opening

  /** Passive open: the guest's SYN arrived; the host socket is connecting. */
  guestSyn(seg: TcpSegment): void {
    this.rcvNxt = (seg.seq + 1) >>> 0;
    this.sndWnd = seg.window;
    if (seg.mss) this.guestMss = Math.min(seg.mss, OUR_MSS);
  }

  /** The host socket connected: answer the guest's SYN. */
  hostConnected(): void {
    if (this.state !== 'connecting') return;
    this.state = 'syn-rcvd';
    this.sndNxt = this.sndMax = (this.iss + 1) >>> 0;
    this.out.emit(this, TCP_SYN | TCP_ACK, this.iss, this.rcvNxt, undefined, OUR_MSS);
    this.lastProgress = this.out.now();
  }

  /** Active open (port forward): send our SYN to the guest. */
  openToGuest(): void {
    this.state = 'syn-sent';
    this.sndNxt = this.sndMax = (this.iss + 1) >>> 0;
    this.socket?.pause();
    this.out.emit(this, TCP_SYN, this.iss, 0, undefined, OUR_MSS);
    this.lastProgress = this.out.now();
  }

  // ---- segments from the guest

  input(seg: TcpSegment): void {
    const f = seg.flags;
    this.lastActivity = this.out.now();
    if (this.state === 'closed') return;
    if (this.state === 'syn-sent') {
      if (f & TCP_RST) {
        if (f & TCP_ACK && seg.ack === this.sndNxt) this.destroy(false);
        return;
      }
      if (f & TCP_SYN && f & TCP_ACK) {
        if (seg.ack !== this.sndNxt) {
          this.out.emit(this, TCP_RST, seg.ack, 0);
          return;
        }
        this.rcvNxt = (seg.seq + 1) >>> 0;
        this.sndUna = seg.ack;
        this.sndWnd = seg.window;
        if (seg.mss) this.guestMss = Math.min(seg.mss, OUR_MSS);
        this.state = 'established';
        this.progress();
        this.sendAck();
        this.socket?.resume();
        this.pump();
      }
      return;
    }
    if (this.state === 'connecting') return; // the guest retransmits its SYN until we answer
    if (f & TCP_SYN) {
      // A retransmitted SYN: our SYN-ACK was lost; a SYN inside an established connection is
      // answered with an ACK (RFC 5961 style), which costs nothing.
      if (this.state === 'syn-rcvd' && seg.seq === ((this.rcvNxt - 1) >>> 0)) {
        this.out.emit(this, TCP_SYN | TCP_ACK, this.iss, this.rcvNxt, undefined, OUR_MSS);
      } else this.sendAck();
      return;
    }
    if (f & TCP_RST) {
      // Accept a reset anywhere inside the receive window.
      const off = (seg.seq - this.rcvNxt) >>> 0;
      if (off <= MAX_WINDOW) this.destroy(false);
      return;
    }
    if (!(f & TCP_ACK)) return;
    if (this.state === 'syn-rcvd') {
      if (seg.ack !== this.sndNxt) {
        this.out.emit(this, TCP_RST, seg.ack, 0);
        return;
      }
      this.state = 'established';
      this.sndUna = seg.ack;
      this.progress();
    }
    this.processAck(seg);
    if (this.state !== 'established') return;
    this.processData(seg);
    this.pump();
    this.maybeFinished();
  }

  private processAck(seg: TcpSegment): void {
    if (seqLt(this.sndUna, seg.ack) && seqLe(seg.ack, this.sndMax)) {
      if (seqLt(this.sndNxt, seg.ack)) this.sndNxt = seg.ack; // an ACK for data sent before a go-back-N
      let acked = (seg.ack - this.sndUna) >>> 0;
      if (this.finSeq >= 0 && !this.finAcked && seg.ack === ((this.finSeq + 1) >>> 0)) {
        this.finAcked = true;
        acked--;
      }
      this.dropAcked(acked);
      this.sndUna = seg.ack;
      this.progress();
    }
    this.sndWnd = seg.window;
  }

  private processData(seg: TcpSegment): void {
    let data = seg.data;
    let seq = seg.seq;
    const fin = (seg.flags & TCP_FIN) !== 0;
    if (data.length === 0 && !fin) return;
    if (this.guestFin) {
      this.sendAck();
      return;
    }
    // Trim what we already have; anything starting beyond rcvNxt is dropped (the guest
    // retransmits it after our duplicate ACK).
    const skip = (this.rcvNxt - seq) | 0;
    if (skip > 0) {
      if (skip > data.length || (skip === data.length && !fin)) {
        this.sendAck();
        return;
      }
      if (skip === data.length + 1) { // only the FIN again
        this.sendAck();
        return;
      }
      data = data.subarray(skip);
      seq = this.rcvNxt;
    }
    if (seq !== this.rcvNxt) {
      this.sendAck();
      return;
    }
    if (data.length > 0) {
      this.rcvNxt = (this.rcvNxt + data.length) >>> 0;
      if (this.socket && !this.socket.destroyed) this.socket.write(Buffer.from(data));
    }
    if (fin) {
      this.rcvNxt = (this.rcvNxt + 1) >>> 0;
      this.guestFin = true;
      this.socket?.end();
    }
    this.sendAck();
  }

  // ---- host data to the guest

  private hostData(d: Buffer): void {
    if (this.state === 'closed' || this.hostEnded) return;
    this.lastActivity = this.out.now();
    this.chunks.push(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    this.buffered += d.byteLength;
    if (this.buffered > SEND_BUFFER_LIMIT) this.socket?.pause();
    this.pump();
  }

  private dropAcked(n: number): void {
    while (n > 0 && this.chunks.length) {
      const c = this.chunks[0];
      if (c.length <= n) {
        n -= c.length;
        this.buffered -= c.length;
        this.chunks.shift();
      } else {
        this.chunks[0] = c.subarray(n);
        this.buffered -= n;
        n = 0;
      }
    }
    if (this.buffered <= SEND_BUFFER_LIMIT / 2 && this.socket?.isPaused() && this.state === 'established') this.socket.resume();
  }

  /** `len` buffered bytes starting `offset` bytes after sndUna. */
  private slice(offset: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    let done = 0;
    for (const c of this.chunks) {
      if (offset >= c.length) {
        offset -= c.length;
        continue;
      }
      const n = Math.min(c.length - offset, len - done);
      out.set(c.subarray(offset, offset + n), done);
      done += n;
      offset = 0;
      if (done === len) break;
    }
    return out;
  }

  /** Send what the guest's window allows, then our FIN once the host side ended. */
  pump(probe = false): void {
    if (this.state !== 'established') return;
    const wnd = probe ? Math.max(1, this.sndWnd) : this.sndWnd;
    for (;;) {
      const inFlight = (this.sndNxt - this.sndUna) >>> 0;
      const unsent = this.buffered - inFlight;
      const room = wnd - inFlight;
      if (unsent <= 0 || room <= 0) break;
      const n = Math.min(unsent, room, this.guestMss);
      const data = this.slice(inFlight, n);
      if (inFlight === 0) this.lastProgress = this.out.now();
      this.out.emit(this, TCP_ACK | TCP_PSH, this.sndNxt, this.rcvNxt, data);
      this.sndNxt = (this.sndNxt + n) >>> 0;
      if (seqLt(this.sndMax, this.sndNxt)) this.sndMax = this.sndNxt;
    }
    if (this.hostEnded && !this.finSent && !this.finAcked && ((this.sndNxt - this.sndUna) >>> 0) === this.buffered) {
      this.finSent = true;
      this.finSeq = this.sndNxt;
      this.out.emit(this, TCP_FIN | TCP_ACK, this.sndNxt, this.rcvNxt);
      this.sndNxt = (this.sndNxt + 1) >>> 0;
      if (seqLt(this.sndMax, this.sndNxt)) this.sndMax = this.sndNxt;
    }
  }

  private sendAck(): void {
    if (this.state === 'established') this.out.emit(this, TCP_ACK, this.sndNxt, this.rcvNxt);
  }

  /** Our receive window: what the host socket can still take. */
  window(): number {
    const pending = this.socket ? this.socket.writableLength : 0;
    return Math.max(0, Math.min(MAX_WINDOW, RECV_BUFFER_LIMIT - pending));
  }

  private progress(): void {
    this.rto = RTO_INITIAL_MS;
    this.retries = 0;
    this.lastProgress = this.out.now();
  }

  private maybeFinished(): void {
    if (this.guestFin && this.finAcked) this.destroy(false);
  }

  // ---- timers and teardown

  /** Called periodically: retransmit what the guest has not acknowledged. */
  tick(now: number): void {
    if (this.state === 'closed' || this.state === 'connecting') return;
    const outstanding = this.sndNxt !== this.sndUna;
    const zeroWindowStall = this.state === 'established' && !outstanding && this.sndWnd === 0 && this.buffered > 0;
    if (!outstanding && !zeroWindowStall) return;
    if (now - this.lastProgress < this.rto) return;
    if (++this.retries > MAX_RETRIES) {
      this.destroy(true);
      return;
    }
    this.rto = Math.min(this.rto * 2, RTO_MAX_MS);
    this.lastProgress = now;
    if (this.state === 'syn-sent') {
      this.out.emit(this, TCP_SYN, this.iss, 0, undefined, OUR_MSS);
    } else if (this.state === 'syn-rcvd') {
      this.out.emit(this, TCP_SYN | TCP_ACK, this.iss, this.rcvNxt, undefined, OUR_MSS);
    } else {
      // Go back N: resend from the oldest unacknowledged byte.
      this.sndNxt = this.sndUna;
      if (this.finSent && !this.finAcked) this.finSent = false;
      this.pump(zeroWindowStall);
    }
  }

  /** End the connection; `reset` also tells the guest with RST. */
  destroy(reset: boolean): void {
    if (this.state === 'closed') return;
    if (reset && this.state !== 'connecting') this.out.emit(this, TCP_RST | TCP_ACK, this.sndNxt, this.rcvNxt);
    this.state = 'closed';
    this.chunks = [];
    this.buffered = 0;
    const s = this.socket;
    this.socket = null;
    if (s && !s.destroyed) s.destroy();
    this.out.closed(this);
  }

  /** The host side failed (refused, reset): refuse or reset the guest's connection. */
  abort(): void {
    if (this.state === 'closed') return;
    if (this.state === 'connecting') this.out.emit(this, TCP_RST | TCP_ACK, 0, this.rcvNxt);
    this.destroy(this.state !== 'connecting');
  }
}

export function connKey(guestIp: number, guestPort: number, remoteIp: number, remotePort: number): string {
  return `${guestIp}:${guestPort}>${remoteIp}:${remotePort}`;
}
