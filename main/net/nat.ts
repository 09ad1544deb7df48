// User-mode NAT network backend (in the spirit of QEMU's slirp), all in TypeScript.
//
//   guest 10.0.2.15/24 ── gateway 10.0.2.2 (= the host's 127.0.0.1) and DNS 10.0.2.3
//
// The guest's frames arrive through send(); frames for the guest queue up for the NIC's
// receive() poll. The NAT answers ARP for its addresses, runs a DHCP server, answers ICMP echo
// to the gateway and DNS addresses, relays UDP through host datagram sockets (one per guest
// source port, forgotten when idle), forwards DNS queries to the host's resolver, and
// terminates TCP (./tcp.ts) onto host sockets. Port forwards listen on the host and open TCP
// connections to the guest. Destinations outside the virtual subnet are reached directly
// unless `restrict` is set. Every checksum is verified on input and generated on output; a
// malformed frame is counted and dropped.

import * as dgram from 'node:dgram';
import * as dns from 'node:dns';
import * as net from 'node:net';
import type { NetworkBackend } from '../../core/board/machine.js';
import { DHCP_ACK, DHCP_OFFER, dhcpReply, parseDhcp } from './dhcp.js';
import {
  BROADCAST_MAC, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETH_HEADER, PROTO_ICMP, PROTO_TCP, PROTO_UDP, buildArpFrame, buildIpv4Frame, buildIpv4Frames,
  buildTcp, buildUdp, checksum, get16, ipFromString, ipToString, parseArp, parseIpv4, parseTcp, parseUdp, put16,
  TCP_ACK, TCP_RST, TCP_SYN, type Ipv4, type TcpSegment,
} from './packet.js';
import { Reassembler } from './reassembly.js';
import { TcpConnection, connKey, type TcpOutput } from './tcp.js';

export interface PortForward {
  protocol: 'tcp' | 'udp';
  /** Host address to listen on; default 127.0.0.1. */
  hostAddress?: string;
  /** Host port; 0 picks a free one (see the resolved value from addForward). */
  hostPort: number;
  guestPort: number;
}

export interface NatOptions {
  /** Only the gateway and DNS addresses are reachable (no direct connections elsewhere). */
  restrict?: boolean;
  /** DNS server queries to 10.0.2.3 go to; default: the host resolver's first server. */
  dnsServer?: { address: string; port: number };
  domain?: string;
  log?: (message: string) => void;
}

export interface NatStats {
  framesIn: number;
  framesOut: number;
  dropped: number;
  /** Frames whose handling threw (a bug in the NAT, never the guest's fault). */
  internalErrors: number;
  tcpConnections: number;
  udpSockets: number;
}

const NET = ipFromString('10.0.2.0');
const NETMASK = ipFromString('255.255.255.0');
export const GATEWAY_IP = ipFromString('10.0.2.2');
export const DNS_IP = ipFromString('10.0.2.3');
export const GUEST_IP = ipFromString('10.0.2.15');
/** The MAC every virtual host of the NAT answers with (as slirp's 52:55:0a:00:02:02). */
export const NAT_MAC = new Uint8Array([0x52, 0x55, 0x0a, 0x00, 0x02, 0x02]);
const LOOPBACK = '127.0.0.1';
/** Frames waiting for the guest beyond this are dropped (a guest that stopped receiving). */
const MAX_QUEUE = 8192;
const UDP_IDLE_MS = 60_000;
const DNS_IDLE_MS = 10_000;
const TICK_MS = 50;
const CONNECT_TIMEOUT_MS = 30_000;
/** Limits per VM, so a guest cannot exhaust the host's sockets. */
const MAX_TCP_CONNECTIONS = 512;
const MAX_UDP_SOCKETS = 256;

interface UdpTrack {
  socket: dgram.Socket;
  guestIp: number;
  guestPort: number;
  lastUsed: number;
  dns: boolean;
}

export class NatBackend implements NetworkBackend {
  /** "Cable connected": while false, nothing goes in or out. */
  linkUp = true;
  readonly stats: NatStats = { framesIn: 0, framesOut: 0, dropped: 0, internalErrors: 0, tcpConnections: 0, udpSockets: 0 };
  /** Called whenever a frame for the guest was queued (a test or relay can wake up). */
  onFrame: (() => void) | null = null;

  private readonly queue: Uint8Array[] = [];
  private queueHead = 0;
  private guestMac: Uint8Array = BROADCAST_MAC;
  private readonly tcp = new Map<string, TcpConnection>();
  private readonly udp = new Map<number, UdpTrack>();
  private readonly servers: (net.Server | dgram.Socket)[] = [];
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly dnsServer: { address: string; port: number } | null;
  private nextForwardPort = 1024 + Math.floor(Math.random() * 20000);
  private closed = false;
  private readonly tcpOut: TcpOutput;
  private readonly reassembler = new Reassembler();

  constructor(private readonly opts: NatOptions = {}) {
    this.dnsServer = opts.dnsServer ?? hostDnsServer();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref?.();
    this.tcpOut = {
      emit: (c, flags, seq, ack, data, mss) => {
        const seg = buildTcp(c.remoteIp, c.guestIp, {
          srcPort: c.remotePort, dstPort: c.guestPort, seq, ack, flags, window: c.window(), mss: mss ?? 0, data,
        });
        this.toGuest(c.remoteIp, c.guestIp, PROTO_TCP, seg);
      },
      closed: (c) => {
        if (this.tcp.get(c.key) === c) this.tcp.delete(c.key);
        this.stats.tcpConnections = this.tcp.size;
      },
      now: () => Date.now(),
    };
  }

  // ---- NetworkBackend

  send(frame: Uint8Array): void {
    if (!this.linkUp || this.closed) return;
    this.stats.framesIn++;
    try {
      if (!this.handleFrame(frame)) this.stats.dropped++;
    } catch (err) {
      // A bug in a handler must not take the VM down: count it and report it once per frame.
      this.stats.dropped++;
      this.stats.internalErrors++;
      this.opts.log?.(`nat: frame dropped after an internal error: ${(err as Error).message}`);
    }
  }

  receive(): Uint8Array | null {
    if (!this.linkUp || this.queueHead >= this.queue.length) return null;
    const f = this.queue[this.queueHead];
    this.queue[this.queueHead++] = undefined as unknown as Uint8Array;
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    return f;
  }

  /** Frames waiting for the guest. */
  get pending(): number {
    return this.queue.length - this.queueHead;
  }

  /** Stop everything: sockets, listeners, timers. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const c of [...this.tcp.values()]) c.destroy(false);
    for (const u of this.udp.values()) closeQuietly(u.socket);
    this.udp.clear();
    for (const s of this.servers) s.close();
    this.servers.length = 0;
  }

  // ---- port forwarding

  /** Listen on the host and forward to the guest; resolves to the host port in use. */
  addForward(fwd: PortForward): Promise<number> {
    const host = fwd.hostAddress ?? LOOPBACK;
    if (fwd.protocol === 'udp') return this.addUdpForward(host, fwd);
    return new Promise((resolve, reject) => {
      const server = net.createServer({ allowHalfOpen: true }, (sock) => this.forwardTcp(sock, fwd.guestPort));
      server.on('error', reject);
      server.listen(fwd.hostPort, host, () => {
        this.servers.push(server);
        resolve((server.address() as net.AddressInfo).port);
      });
    });
  }

  private forwardTcp(sock: net.Socket, guestPort: number): void {
    if (this.closed || !this.linkUp) {
      sock.destroy();
      return;
    }
    if (this.tcp.size >= MAX_TCP_CONNECTIONS) this.evictStalestTcp();
    const remotePort = this.allocForwardPort();
    const conn = new TcpConnection(this.tcpOut, GUEST_IP, guestPort, GATEWAY_IP, remotePort, 'syn-sent');
    this.tcp.set(conn.key, conn);
    this.stats.tcpConnections = this.tcp.size;
    conn.attach(sock);
    conn.openToGuest();
  }

  private allocForwardPort(): number {
    for (;;) {
      this.nextForwardPort = this.nextForwardPort >= 60000 ? 1024 : this.nextForwardPort + 1;
      let used = false;
      for (const c of this.tcp.values()) if (c.remotePort === this.nextForwardPort && c.remoteIp === GATEWAY_IP) used = true;
      if (!used) return this.nextForwardPort;
    }
  }

  private addUdpForward(host: string, fwd: PortForward): Promise<number> {
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      // Datagrams from a host peer go to the guest from the gateway, source port = the peer's
      // port; the guest's answers to that port find the peer through this table.
      const peers = new Map<number, { address: string; port: number }>();
      sock.on('error', reject);
      sock.on('message', (msg, rinfo) => {
        if (!this.linkUp || this.closed) return;
        if (peers.size >= MAX_UDP_SOCKETS && !peers.has(rinfo.port)) peers.delete(peers.keys().next().value!);
        peers.set(rinfo.port, { address: rinfo.address, port: rinfo.port });
        this.toGuest(GATEWAY_IP, GUEST_IP, PROTO_UDP, buildUdp(GATEWAY_IP, GUEST_IP, rinfo.port, fwd.guestPort, msg));
      });
      sock.bind(fwd.hostPort, host, () => {
        this.servers.push(sock);
        this.udpForwards.push({ guestPort: fwd.guestPort, socket: sock, peers });
        resolve(sock.address().port);
      });
    });
  }

  private readonly udpForwards: { guestPort: number; socket: dgram.Socket; peers: Map<number, { address: string; port: number }> }[] = [];

  // ---- input

  private handleFrame(frame: Uint8Array): boolean {
    if (frame.length < ETH_HEADER) return false;
    if (!(frame[6] & 1)) this.guestMac = frame.slice(6, 12);
    const type = get16(frame, 12);
    if (type === ETHERTYPE_ARP) return this.handleArp(frame);
    if (type !== ETHERTYPE_IPV4) return false;
    // Only frames for us (our MAC) or broadcast.
    if (!(frame[0] & 1) && !sameMac(frame, 0, NAT_MAC)) return false;
    if (Reassembler.isFragment(frame)) {
      const whole = this.reassembler.add(frame, Date.now());
      if (!whole) return true; // kept for later (or dropped as inconsistent)
      frame = whole;
    }
    const ip = parseIpv4(frame);
    if (!ip) return false;
    if (ip.proto === PROTO_UDP) return this.handleUdp(frame, ip);
    if (ip.proto === PROTO_TCP) return this.handleTcp(frame, ip);
    if (ip.proto === PROTO_ICMP) return this.handleIcmp(frame, ip);
    return false;
  }

  private handleArp(frame: Uint8Array): boolean {
    const arp = parseArp(frame);
    if (!arp || arp.op !== 1) return false;
    if (!this.isVirtualHost(arp.targetIp) || arp.targetIp === arp.senderIp) return false;
    this.guestMac = arp.senderMac;
    this.enqueue(buildArpFrame(arp.senderMac, {
      op: 2, senderMac: NAT_MAC, senderIp: arp.targetIp, targetMac: arp.senderMac, targetIp: arp.senderIp,
    }));
    return true;
  }

  /** Addresses the NAT itself answers for. */
  private isVirtualHost(ip: number): boolean {
    return ip === GATEWAY_IP || ip === DNS_IP;
  }

  private handleIcmp(frame: Uint8Array, ip: Ipv4): boolean {
    const o = ip.payloadOffset;
    const len = ip.payloadLength;
    if (len < 8 || frame[o] !== 8 || checksum(frame, o, o + len) !== 0) return false;
    if (!this.isVirtualHost(ip.dst)) return false; // no raw sockets: other hosts do not answer
    const reply = frame.slice(o, o + len);
    reply[0] = 0;
    reply[2] = reply[3] = 0;
    put16(reply, 2, checksum(reply, 0, reply.length));
    this.toGuest(ip.dst, ip.src, PROTO_ICMP, reply);
    return true;
  }

  // ---- UDP

  private handleUdp(frame: Uint8Array, ip: Ipv4): boolean {
    const udp = parseUdp(frame, ip);
    if (!udp) return false;
    if (udp.dstPort === 67) return this.handleDhcp(udp.data);
    if (udp.dstPort === 0 || udp.srcPort === 0) return false; // not a valid port on any host
    if (ip.dst === 0xffffffff || (ip.dst & 0xff) === 0xff) return false;
    // Answers to a UDP port forward.
    if (ip.src === GUEST_IP && ip.dst === GATEWAY_IP) {
      for (const f of this.udpForwards) {
        const peer = f.guestPort === udp.srcPort ? f.peers.get(udp.dstPort) : undefined;
        if (peer) {
          f.socket.send(udp.data, peer.port, peer.address);
          return true;
        }
      }
    }
    let host: string;
    let port = udp.dstPort;
    const isDns = ip.dst === DNS_IP;
    if (isDns) {
      if (udp.dstPort !== 53 || !this.dnsServer) return false;
      host = this.dnsServer.address;
      port = this.dnsServer.port;
    } else {
      const h = this.hostAddress(ip.dst);
      if (!h) return false;
      host = h;
    }
    const track = this.udpTrack(ip.src, udp.srcPort, isDns);
    track.lastUsed = Date.now();
    track.socket.send(udp.data, port, host, () => undefined);
    return true;
  }

  private udpTrack(guestIp: number, guestPort: number, isDns: boolean): UdpTrack {
    const key = guestPort + (isDns ? 0x10000 : 0);
    let t = this.udp.get(key);
    if (t && t.guestIp === guestIp) return t;
    if (t) closeQuietly(t.socket);
    else if (this.udp.size >= MAX_UDP_SOCKETS) this.evictOldestUdp();
    const socket = dgram.createSocket('udp4');
    const track: UdpTrack = { socket, guestIp, guestPort, lastUsed: Date.now(), dns: isDns };
    socket.on('error', () => {
      if (this.udp.get(key) === track) this.udp.delete(key);
      closeQuietly(socket);
    });
    socket.on('message', (msg, rinfo) => {
      if (!this.linkUp || this.closed) return;
      track.lastUsed = Date.now();
      let srcIp: number;
      let srcPort = rinfo.port;
      if (isDns) {
        srcIp = DNS_IP;
        srcPort = 53;
      } else if (rinfo.address === LOOPBACK) srcIp = GATEWAY_IP;
      else if (net.isIPv4(rinfo.address)) srcIp = ipFromString(rinfo.address);
      else return;
      this.toGuest(srcIp, track.guestIp, PROTO_UDP, buildUdp(srcIp, track.guestIp, srcPort, track.guestPort, msg));
    });
    socket.bind(0);
    this.udp.set(key, track);
    this.stats.udpSockets = this.udp.size;
    return track;
  }

  private evictOldestUdp(): void {
    let oldestKey = -1;
    let oldest = Infinity;
    for (const [k, u] of this.udp) if (u.lastUsed < oldest) { oldest = u.lastUsed; oldestKey = k; }
    const u = this.udp.get(oldestKey);
    if (u) closeQuietly(u.socket);
    this.udp.delete(oldestKey);
  }

  /** The host address a guest destination maps to, or null when it is not reachable. */
  private hostAddress(dst: number): string | null {
    if (dst === GATEWAY_IP) return LOOPBACK;
    if ((dst & NETMASK) === NET) return null;
    if (this.opts.restrict) return null;
    if (dst === 0 || dst >>> 24 === 127 || dst >>> 28 >= 14) return null; // 0/8, loopback, multicast
    return ipToString(dst);
  }

  private handleDhcp(data: Uint8Array): boolean {
    const msg = parseDhcp(data);
    if (!msg) return false;
    const reply = dhcpReply(msg, {
      guestIp: GUEST_IP, serverIp: GATEWAY_IP, netmask: NETMASK, router: GATEWAY_IP, dns: DNS_IP,
      domain: this.opts.domain ?? 'perseus.internal', leaseSeconds: 86400,
    });
    if (!reply) return true;
    this.guestMac = msg.chaddr;
    const broadcast = (msg.flags & 0x8000) !== 0 || (reply.type !== DHCP_OFFER && reply.type !== DHCP_ACK);
    const dstIp = broadcast ? 0xffffffff : GUEST_IP;
    const udp = buildUdp(GATEWAY_IP, dstIp, 67, 68, reply.payload);
    this.enqueue(buildIpv4Frame(broadcast ? BROADCAST_MAC : msg.chaddr, NAT_MAC, GATEWAY_IP, dstIp, PROTO_UDP, udp));
    return true;
  }

  // ---- TCP

  private handleTcp(frame: Uint8Array, ip: Ipv4): boolean {
    const seg = parseTcp(frame, ip);
    if (!seg) return false;
    const key = connKey(ip.src, seg.srcPort, ip.dst, seg.dstPort);
    const conn = this.tcp.get(key);
    if (conn) {
      conn.input(seg);
      return true;
    }
    if (seg.flags & TCP_RST) return true;
    if ((seg.flags & (TCP_SYN | TCP_ACK)) !== TCP_SYN) {
      this.refuse(ip, seg);
      return true;
    }
    // DNS over TCP to 10.0.2.3:53 goes to the host's resolver like the UDP queries.
    const dnsTcp = ip.dst === DNS_IP && seg.dstPort === 53 ? this.dnsServer : null;
    const host = dnsTcp ? dnsTcp.address : this.hostAddress(ip.dst);
    if (!host || seg.dstPort === 0) {
      this.refuse(ip, seg);
      return true;
    }
    if (this.tcp.size >= MAX_TCP_CONNECTIONS) this.evictStalestTcp();
    const c = new TcpConnection(this.tcpOut, ip.src, seg.srcPort, ip.dst, seg.dstPort, 'connecting');
    c.guestSyn(seg);
    this.tcp.set(key, c);
    this.stats.tcpConnections = this.tcp.size;
    const sock = net.connect({ host, port: dnsTcp ? dnsTcp.port : seg.dstPort, allowHalfOpen: true });
    c.attach(sock);
    // A host that never answers: refuse the guest's connection after a while.
    sock.setTimeout(CONNECT_TIMEOUT_MS, () => c.abort());
    sock.once('connect', () => {
      sock.setTimeout(0);
      c.hostConnected();
    });
    return true;
  }

  /** At the connection limit, the connection idle longest is reset (like a full conntrack table). */
  private evictStalestTcp(): void {
    let stalest: TcpConnection | null = null;
    for (const c of this.tcp.values()) if (!stalest || c.lastActivity < stalest.lastActivity) stalest = c;
    stalest?.destroy(true);
  }

  /** RST for a segment that belongs to no connection (RFC 793 "reset generation"). */
  private refuse(ip: Ipv4, seg: TcpSegment): void {
    const len = seg.data.length + (seg.flags & TCP_SYN ? 1 : 0) + (seg.flags & 1 ? 1 : 0);
    const flags = seg.flags & TCP_ACK ? TCP_RST : TCP_RST | TCP_ACK;
    const t = buildTcp(ip.dst, ip.src, {
      srcPort: seg.dstPort, dstPort: seg.srcPort, seq: seg.flags & TCP_ACK ? seg.ack : 0,
      ack: (seg.seq + len) >>> 0, flags, window: 0, mss: 0,
    });
    this.toGuest(ip.dst, ip.src, PROTO_TCP, t);
  }

  // ---- output

  private toGuest(src: number, dst: number, proto: number, payload: Uint8Array): void {
    for (const f of buildIpv4Frames(this.guestMac, NAT_MAC, src, dst, proto, payload)) this.enqueue(f);
  }

  private enqueue(frame: Uint8Array): void {
    if (this.closed || !this.linkUp) return;
    if (this.pending >= MAX_QUEUE) {
      this.stats.dropped++;
      return;
    }
    this.queue.push(frame);
    this.stats.framesOut++;
    this.onFrame?.();
  }

  private tick(): void {
    const now = Date.now();
    for (const c of [...this.tcp.values()]) c.tick(now);
    for (const [key, u] of this.udp) {
      if (now - u.lastUsed > (u.dns ? DNS_IDLE_MS : UDP_IDLE_MS)) {
        closeQuietly(u.socket);
        this.udp.delete(key);
      }
    }
    this.stats.udpSockets = this.udp.size;
  }
}

function closeQuietly(s: dgram.Socket): void {
  try {
    s.close();
  } catch {
    // already closed
  }
}

function sameMac(frame: Uint8Array, offset: number, mac: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (frame[offset + i] !== mac[i]) return false;
  return true;
}

/** The host resolver's first IPv4 server (node:dns), or null when there is none. */
function hostDnsServer(): { address: string; port: number } | null {
  for (const s of dns.getServers()) {
    const m = /^\[?([0-9.]+)\]?(?::(\d+))?$/.exec(s);
    if (m) return { address: m[1], port: m[2] ? Number(m[2]) : 53 };
  }
  return null;
}
