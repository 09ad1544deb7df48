// 10^5 malformed frames from the guest side (fixed seeds) never crash or wedge the NAT.
// Mutated frames get their checksums repaired most of the time so they reach the protocol
// handlers; TCP/UDP to the gateway is pinned to sink servers this test runs, so no other
// loopback service sees the garbage.

import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { NatBackend, NAT_MAC } from '../../main/net/nat.js';
import { ACK, GUEST_MAC, PSH, SYN, TestGuest, ethFrame, inetChecksum, ip, ipPacket, tcpSegment, udpDatagram } from './guest.js';

const GW = ip('10.0.2.2');
const FRAMES = 100_000;

/** xorshift32: small, fast, reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 0x100000000;
  };
}

function repair(f: Uint8Array, tcpPort: number, udpPort: number): void {
  if (f.length < 34 || f[12] !== 8 || f[13] !== 0) return;
  const ihl = (f[14] & 0xf) * 4;
  if (ihl < 20 || 14 + ihl > f.length) return;
  const proto = f[23];
  const dst = ((f[30] << 24) | (f[31] << 16) | (f[32] << 8) | f[33]) >>> 0;
  const l4 = 14 + ihl;
  if (dst === GW && f.length >= l4 + 4 && (proto === 6 || proto === 17)) {
    // Our sink servers, or now and then port 0 (invalid on every host).
    const port = f[l4 + 2] === 0 && f[l4 + 3] < 16 ? 0 : proto === 6 ? tcpPort : udpPort;
    f[l4 + 2] = port >> 8; f[l4 + 3] = port & 0xff;
  }
  f[24] = f[25] = 0;
  const c = inetChecksum([f.subarray(14, l4)]);
  f[24] = c >> 8; f[25] = c & 0xff;
  const total = Math.min((f[16] << 8) | f[17], f.length - 14);
  if (total <= ihl) return;
  const seg = f.subarray(l4, 14 + total);
  const ck = proto === 6 ? 16 : proto === 17 ? 6 : proto === 1 ? 2 : -1;
  if (ck < 0 || seg.length < ck + 2) return;
  seg[ck] = seg[ck + 1] = 0;
  const pseudo = new Uint8Array(12);
  pseudo.set(f.subarray(26, 34));
  pseudo[9] = proto; pseudo[10] = seg.length >> 8; pseudo[11] = seg.length & 0xff;
  const sum = proto === 1 ? inetChecksum([seg]) : inetChecksum([pseudo, seg]);
  seg[ck] = sum >> 8; seg[ck + 1] = sum & 0xff;
}

describe('NAT fuzz', () => {
  it('survives 10^5 malformed guest frames and still works afterwards', async () => {
    const sinks: net.Socket[] = [];
    const tcpSink = net.createServer((s) => { sinks.push(s); s.on('error', () => undefined); s.on('data', () => undefined); });
    await new Promise<void>((r) => tcpSink.listen(0, '127.0.0.1', () => r()));
    const tcpPort = (tcpSink.address() as net.AddressInfo).port;
    const udpSink = dgram.createSocket('udp4');
    udpSink.on('message', (m, r) => udpSink.send(m.subarray(0, 64), r.port, r.address));
    await new Promise<void>((r) => udpSink.bind(0, '127.0.0.1', () => r()));
    const udpPort = udpSink.address().port;

    const nat = new NatBackend({ restrict: true, dnsServer: { address: '127.0.0.1', port: udpPort } });
    const guest = new TestGuest(nat);
    guest.gatewayMac = NAT_MAC;
    const me = guest.ip;
    const dhcp = new Uint8Array(300);
    dhcp.set([1, 1, 6], 0); dhcp.set(GUEST_MAC, 28); dhcp.set([0x63, 0x82, 0x53, 0x63, 53, 1, 1, 255], 236);
    const arp = new Uint8Array(28);
    arp.set([0, 1, 8, 0, 6, 4, 0, 1]); arp.set(GUEST_MAC, 8); arp.set([10, 0, 2, 15], 14); arp.set([10, 0, 2, 2], 24);
    const icmp = new Uint8Array(16); icmp[0] = 8;
    const ipf = (dst: number, proto: number, p: Uint8Array) => ethFrame(NAT_MAC, GUEST_MAC, 0x0800, ipPacket(me, dst, proto, p));
    const seeds = [
      ethFrame(new Uint8Array(6).fill(0xff), GUEST_MAC, 0x0800, ipPacket(0, 0xffffffff, 17, udpDatagram(0, 0xffffffff, 68, 67, dhcp))),
      ethFrame(new Uint8Array(6).fill(0xff), GUEST_MAC, 0x0806, arp),
      ipf(GW, 1, icmp),
      ipf(GW, 17, udpDatagram(me, GW, 1234, udpPort, new Uint8Array(40))),
      ipf(ip('10.0.2.3'), 17, udpDatagram(me, ip('10.0.2.3'), 1235, 53, new Uint8Array(30))),
      ipf(GW, 6, tcpSegment(me, GW, { sport: 2000, dport: tcpPort, seq: 1, ack: 0, flags: SYN, mss: 1460 })),
      ipf(GW, 6, tcpSegment(me, GW, { sport: 2000, dport: tcpPort, seq: 2, ack: 1, flags: ACK | PSH, data: new Uint8Array(100) })),
      (() => { // a first fragment (MF set), so reassembly sees mutated fragments too
        const f = ipf(GW, 1, icmp.slice(0, 16));
        f[20] = 0x20; f[21] = 0x00; f[24] = f[25] = 0;
        const ck = inetChecksum([f.subarray(14, 34)]); f[24] = ck >> 8; f[25] = ck & 0xff;
        return f;
      })(),
    ];

    const seedList = [1, 0xdeadbeef, 42, 7777];
    let n = 0;
    for (const seed of seedList) {
      const rand = rng(seed);
      const pick = (k: number) => Math.floor(rand() * k);
      for (let i = 0; i < FRAMES / seedList.length; i++, n++) {
        let f: Uint8Array;
        if (rand() < 0.05) {
          f = new Uint8Array(pick(1600));
          for (let j = 0; j < f.length; j++) f[j] = pick(256);
        } else {
          f = seeds[pick(seeds.length)].slice();
          const edits = 1 + pick(6);
          for (let e = 0; e < edits; e++) {
            const what = rand();
            if (what < 0.6 && f.length) f[pick(Math.min(f.length, rand() < 0.8 ? 80 : f.length))] = pick(256);
            else if (what < 0.75) f = f.slice(0, pick(f.length + 1));
            else if (what < 0.85) { const g = new Uint8Array(f.length + pick(64)); g.set(f); f = g; }
            else if (f.length > 18) { const o = 14 + pick(Math.min(f.length - 15, 60)); f[o] = 0xff; f[o + 1] = pick(256); }
          }
          if (rand() < 0.05 && f.length > 40) f[36] = f[37] = 0; // source/destination port 0 cases
          if (rand() < 0.7) repair(f, tcpPort, udpPort);
        }
        nat.send(f);
        if ((n & 1023) === 0) {
          guest.drain();
          await new Promise((r) => setImmediate(r));
        }
      }
    }
    guest.drain();
    expect(nat.stats.framesIn).toBe(FRAMES);
    expect(nat.stats.internalErrors).toBe(0);
    expect(nat.stats.dropped).toBeGreaterThan(FRAMES / 2);
    expect(nat.stats.tcpConnections).toBeLessThanOrEqual(512);
    expect(nat.stats.udpSockets).toBeLessThanOrEqual(256);

    // Still alive: ICMP echo and a fresh TCP exchange work.
    const echo = new Uint8Array(12); echo[0] = 8; echo[5] = 9;
    const c = inetChecksum([echo]); echo[2] = c >> 8; echo[3] = c & 0xff;
    guest.inbox.length = 0;
    guest.sendIp(GW, 1, echo);
    await guest.until(() => guest.inbox.some((r) => r.proto === 1 && r.payload[0] === 0 && r.payload[5] === 9));
    const hello = net.createServer((s) => s.end('still here'));
    await new Promise<void>((r) => hello.listen(0, '127.0.0.1', () => r()));
    const conn = guest.connect(GW, (hello.address() as net.AddressInfo).port);
    await guest.until(() => conn.finReceived);
    expect(conn.text()).toBe('still here');

    nat.close();
    for (const s of sinks) s.destroy();
    await Promise.all([tcpSink, hello].map((s) => new Promise((r) => s.close(r))));
    udpSink.close();
  });
});
