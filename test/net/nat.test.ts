import { createHash } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as http from 'node:http';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NatBackend, NAT_MAC } from '../../main/net/nat.js';
import {
  ACK, FIN, GUEST_MAC, RST, SYN, TestGuest, ethFrame, inetChecksum, ip, ipPacket, tcpSegment, udpDatagram,
} from './guest.js';

const GW = ip('10.0.2.2');
const DNS = ip('10.0.2.3');
const r16 = (b: Uint8Array, o: number) => (b[o] << 8) | b[o + 1];
const r32 = (b: Uint8Array, o: number) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function newNat(opts: ConstructorParameters<typeof NatBackend>[0] = {}) {
  const nat = new NatBackend({ restrict: true, ...opts });
  cleanups.push(() => nat.close());
  const guest = new TestGuest(nat);
  guest.gatewayMac = NAT_MAC;
  return { nat, guest };
}

function listen(server: net.Server | http.Server): Promise<number> {
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

function dhcpMessage(type: number, xid: number, requested?: number): Uint8Array {
  const m = new Uint8Array(300);
  m[0] = 1; m[1] = 1; m[2] = 6;
  m.set([xid >>> 24, (xid >>> 16) & 0xff, (xid >>> 8) & 0xff, xid & 0xff], 4);
  m[10] = 0x80; // broadcast flag
  m.set(GUEST_MAC, 28);
  m.set([0x63, 0x82, 0x53, 0x63], 236);
  let i = 240;
  m[i++] = 53; m[i++] = 1; m[i++] = type;
  if (requested !== undefined) {
    m[i++] = 50; m[i++] = 4;
    m.set([requested >>> 24, (requested >>> 16) & 0xff, (requested >>> 8) & 0xff, requested & 0xff], i); i += 4;
    m[i++] = 54; m[i++] = 4; m.set([10, 0, 2, 2], i); i += 4;
  }
  m[i++] = 55; m[i++] = 4; m.set([1, 3, 6, 15], i); i += 4;
  m[i] = 255;
  return m;
}

function dhcpOptions(bootp: Uint8Array): Map<number, Uint8Array> {
  const opts = new Map<number, Uint8Array>();
  expect(r32(bootp, 236)).toBe(0x63825363);
  for (let i = 240; i < bootp.length && bootp[i] !== 255;) {
    if (bootp[i] === 0) { i++; continue; }
    opts.set(bootp[i], bootp.slice(i + 2, i + 2 + bootp[i + 1]));
    i += 2 + bootp[i + 1];
  }
  return opts;
}

describe('NAT backend', () => {
  it('DHCP: DISCOVER/OFFER/REQUEST/ACK leases 10.0.2.15 with mask, router, DNS, domain, lease and server id', async () => {
    const { nat, guest } = newNat({ domain: 'test.lan' });
    const send = (m: Uint8Array) => {
      guest.ip = 0;
      nat.send(ethFrame(new Uint8Array(6).fill(0xff), GUEST_MAC, 0x0800, ipPacket(0, 0xffffffff, 17, udpDatagram(0, 0xffffffff, 68, 67, m))));
    };
    send(dhcpMessage(1, 0xabcdef01));
    await guest.until(() => guest.inbox.length > 0);
    const offer = guest.inbox.shift()!;
    expect(offer.proto).toBe(17);
    expect(offer.src).toBe(GW);
    expect(Array.from(offer.frame.subarray(0, 6))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    // UDP checksum of the reply is valid.
    const pseudo = new Uint8Array(12);
    pseudo.set(offer.frame.subarray(26, 34)); pseudo[9] = 17; pseudo[10] = offer.payload.length >> 8; pseudo[11] = offer.payload.length & 0xff;
    expect(inetChecksum([pseudo, offer.payload])).toBe(0);
    const bootp = offer.payload.subarray(8);
    expect(bootp[0]).toBe(2);
    expect(r32(bootp, 4)).toBe(0xabcdef01);
    expect(r32(bootp, 16)).toBe(ip('10.0.2.15'));
    let o = dhcpOptions(bootp);
    expect(o.get(53)).toEqual(Uint8Array.of(2));
    send(dhcpMessage(3, 0xabcdef02, r32(bootp, 16)));
    await guest.until(() => guest.inbox.length > 0);
    const ack = guest.inbox.shift()!.payload.subarray(8);
    o = dhcpOptions(ack);
    expect(o.get(53)).toEqual(Uint8Array.of(5));
    expect(r32(ack, 16)).toBe(ip('10.0.2.15'));
    expect(Array.from(o.get(1)!)).toEqual([255, 255, 255, 0]);
    expect(Array.from(o.get(3)!)).toEqual([10, 0, 2, 2]);
    expect(Array.from(o.get(6)!)).toEqual([10, 0, 2, 3]);
    expect(Buffer.from(o.get(15)!).toString()).toBe('test.lan');
    expect(r32(o.get(51)!, 0)).toBe(86400);
    expect(Array.from(o.get(54)!)).toEqual([10, 0, 2, 2]);
    // Asking for another address is refused with a NAK.
    send(dhcpMessage(3, 0xabcdef03, ip('10.0.2.99')));
    await guest.until(() => guest.inbox.length > 0);
    expect(dhcpOptions(guest.inbox.shift()!.payload.subarray(8)).get(53)).toEqual(Uint8Array.of(6));
  });

  it('ARP: answers for the gateway and DNS addresses only', async () => {
    const { nat, guest } = newNat();
    const request = (target: number) => {
      const a = new Uint8Array(28);
      a.set([0, 1, 8, 0, 6, 4, 0, 1]);
      a.set(GUEST_MAC, 8);
      a.set([10, 0, 2, 15], 14);
      a.set([target >>> 24, (target >>> 16) & 0xff, (target >>> 8) & 0xff, target & 0xff], 24);
      nat.send(ethFrame(new Uint8Array(6).fill(0xff), GUEST_MAC, 0x0806, a));
    };
    request(GW);
    request(ip('10.0.2.77'));
    request(DNS);
    await guest.until(() => guest.arp.length >= 2);
    await new Promise((r) => setTimeout(r, 20));
    guest.drain();
    expect(guest.arp.length).toBe(2);
    const [a, b] = guest.arp;
    expect(Array.from(a.subarray(0, 6))).toEqual(Array.from(GUEST_MAC));
    expect(r16(a, 20)).toBe(2); // reply
    expect(Array.from(a.subarray(22, 28))).toEqual(Array.from(NAT_MAC));
    expect(r32(a, 28)).toBe(GW);
    expect(r32(a, 38)).toBe(ip('10.0.2.15'));
    expect(r32(b, 28)).toBe(DNS);
  });

  it('ICMP: echo to the gateway is answered; a bad checksum is dropped', async () => {
    const { nat, guest } = newNat();
    const echo = new Uint8Array(8 + 32);
    echo[0] = 8;
    echo.set([0x12, 0x34, 0x00, 0x07], 4);
    for (let i = 8; i < echo.length; i++) echo[i] = i;
    const c = inetChecksum([echo]);
    const bad = echo.slice();
    bad[2] = (c >> 8) ^ 0x55; bad[3] = c & 0xff;
    guest.sendIp(GW, 1, bad);
    echo[2] = c >> 8; echo[3] = c & 0xff;
    guest.sendIp(GW, 1, echo);
    await guest.until(() => guest.inbox.length > 0);
    await new Promise((r) => setTimeout(r, 20));
    guest.drain();
    expect(guest.inbox.length).toBe(1);
    const reply = guest.inbox[0];
    expect(reply.proto).toBe(1);
    expect(reply.src).toBe(GW);
    expect(reply.payload[0]).toBe(0);
    expect(inetChecksum([reply.payload])).toBe(0);
    expect(Array.from(reply.payload.subarray(4))).toEqual(Array.from(echo.subarray(4)));
    expect(inetChecksum([reply.frame.subarray(14, 34)])).toBe(0);
    expect(nat.stats.dropped).toBeGreaterThanOrEqual(1);
  });

  it('ICMP: a 3000-byte echo sent in out-of-order fragments is reassembled and answered in fragments', async () => {
    const { nat, guest } = newNat();
    const echo = new Uint8Array(3000);
    echo[0] = 8; echo[5] = 42;
    for (let i = 8; i < echo.length; i++) echo[i] = (i * 13) & 0xff;
    const c = inetChecksum([echo]); echo[2] = c >> 8; echo[3] = c & 0xff;
    const frag = (off: number, len: number, more: boolean) => {
      const p = ipPacket(guest.ip, GW, 1, echo.subarray(off, off + len));
      p[4] = 0x77; p[5] = 0x01;
      p[6] = (more ? 0x20 : 0) | ((off / 8) >> 8); p[7] = (off / 8) & 0xff;
      p[10] = p[11] = 0;
      const ck = inetChecksum([p.subarray(0, 20)]); p[10] = ck >> 8; p[11] = ck & 0xff;
      nat.send(ethFrame(NAT_MAC, GUEST_MAC, 0x0800, p));
    };
    frag(2400, 600, false);
    frag(0, 1200, true);
    frag(1200, 1200, true);
    await guest.until(() => guest.inbox.length >= 3);
    const whole = new Uint8Array(3000);
    for (const r of guest.inbox) whole.set(r.payload, (r16(r.frame, 20) & 0x1fff) * 8);
    expect(whole[0]).toBe(0);
    expect(inetChecksum([whole])).toBe(0);
    expect(Array.from(whole.subarray(4))).toEqual(Array.from(echo.subarray(4)));
  });

  it('UDP: a datagram to the gateway reaches a host socket on 127.0.0.1 and its echo comes back', async () => {
    const { guest } = newNat();
    const server = dgram.createSocket('udp4');
    cleanups.push(() => { server.close(); });
    server.on('message', (m, r) => server.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
    const port = server.address().port;
    guest.sendUdp(GW, 5555, port, new TextEncoder().encode('hello udp'));
    await guest.until(() => guest.inbox.length > 0);
    const rep = guest.inbox[0];
    expect(rep.src).toBe(GW);
    expect(r16(rep.payload, 0)).toBe(port);
    expect(r16(rep.payload, 2)).toBe(5555);
    expect(Buffer.from(rep.payload.subarray(8)).toString()).toBe('echo:hello udp');
  });

  it('UDP: a 4000-byte answer from the host arrives as IP fragments that reassemble', async () => {
    const { guest } = newNat();
    const server = dgram.createSocket('udp4');
    cleanups.push(() => { server.close(); });
    const big = Buffer.alloc(4000);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    server.on('message', (_m, r) => server.send(big, r.port, r.address));
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', () => r()));
    guest.sendUdp(GW, 5556, server.address().port, Uint8Array.of(1));
    await guest.until(() => guest.inbox.length >= 3);
    const parts = guest.inbox.map((r) => ({ id: r16(r.frame, 18), ff: r16(r.frame, 20), data: r.payload }));
    expect(new Set(parts.map((p) => p.id)).size).toBe(1);
    expect(parts.map((p) => p.ff & 0x2000)).toEqual([0x2000, 0x2000, 0]);
    for (const r of guest.inbox) expect(inetChecksum([r.frame.subarray(14, 34)])).toBe(0);
    const whole = new Uint8Array(8 + 4000);
    for (const p of parts) whole.set(p.data, (p.ff & 0x1fff) * 8);
    expect(r16(whole, 4)).toBe(whole.length);
    expect(Buffer.compare(Buffer.from(whole.subarray(8)), big)).toBe(0);
    const pseudo = new Uint8Array(12);
    pseudo.set([10, 0, 2, 2, 10, 0, 2, 15]); pseudo[9] = 17; pseudo[10] = whole.length >> 8; pseudo[11] = whole.length & 0xff;
    expect(inetChecksum([pseudo, whole])).toBe(0);
  });

  it('DNS: a query to 10.0.2.3:53 goes to the host resolver and the answer comes from 10.0.2.3', async () => {
    const resolver = dgram.createSocket('udp4');
    cleanups.push(() => { resolver.close(); });
    resolver.on('message', (m, r) => {
      const answer = Buffer.from(m);
      answer[2] |= 0x80; // QR: a response
      resolver.send(answer, r.port, r.address);
    });
    await new Promise<void>((r) => resolver.bind(0, '127.0.0.1', () => r()));
    const { guest } = newNat({ dnsServer: { address: '127.0.0.1', port: resolver.address().port } });
    const query = Uint8Array.from([0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x77, 0x77, 0x77, 0, 0, 1, 0, 1]);
    guest.sendUdp(DNS, 3333, 53, query);
    await guest.until(() => guest.inbox.length > 0);
    const rep = guest.inbox[0];
    expect(rep.src).toBe(DNS);
    expect(r16(rep.payload, 0)).toBe(53);
    expect(r16(rep.payload, 2)).toBe(3333);
    expect(rep.payload[8 + 2] & 0x80).toBe(0x80);
    expect(r16(rep.payload, 8)).toBe(0xbeef);
  });

  it('DNS over TCP: 10.0.2.3:53 reaches the host resolver', async () => {
    const resolver = net.createServer((s) => s.on('data', (d) => s.end(Buffer.concat([Buffer.from('answer:'), d]))));
    const port = await listen(resolver);
    const { guest } = newNat({ dnsServer: { address: '127.0.0.1', port } });
    const c = guest.connect(DNS, 53);
    c.write(new TextEncoder().encode('query'));
    await guest.until(() => c.finReceived);
    expect(c.text()).toBe('answer:query');
  });

  it('TCP: HTTP GET to a server on 127.0.0.1 through the gateway, many connections at once', async () => {
    const server = http.createServer((req, res) => res.end(`hello ${req.url} ${'x'.repeat(5000)}`));
    const port = await listen(server);
    const { nat, guest } = newNat();
    const conns = Array.from({ length: 20 }, (_, i) => {
      const c = guest.connect(GW, port);
      c.write(new TextEncoder().encode(`GET /n${i} HTTP/1.0\r\nHost: x\r\n\r\n`));
      return c;
    });
    await guest.until(() => conns.every((c) => c.finReceived));
    conns.forEach((c, i) => {
      const text = c.text();
      expect(text.startsWith('HTTP/1.1 200 OK')).toBe(true);
      expect(text).toContain(`hello /n${i} ${'x'.repeat(5000)}`);
      c.close();
    });
    await guest.until(() => nat.stats.tcpConnections === 0);
  });

  it('TCP: a 10 MB upload arrives intact (sha-256) and the server answer comes back', async () => {
    const data = new Uint8Array(10 * 1024 * 1024);
    let x = 12345;
    for (let i = 0; i < data.length; i++) { x = (x * 1103515245 + 12345) >>> 0; data[i] = x >>> 24; }
    const expected = createHash('sha256').update(data).digest('hex');
    const server = net.createServer((s) => {
      const h = createHash('sha256');
      let n = 0;
      s.on('data', (d) => { h.update(d); n += d.length; });
      s.on('end', () => s.end(`${n} ${h.digest('hex')}`));
    });
    const port = await listen(server);
    const { guest } = newNat();
    const c = guest.connect(GW, port);
    await guest.until(() => c.state === 'established');
    c.write(data);
    c.close();
    await guest.until(() => c.finReceived, 30_000);
    expect(c.text()).toBe(`${data.length} ${expected}`);
  });

  it('TCP: lost segments to the guest are retransmitted', async () => {
    const server = net.createServer((s) => s.end('retransmitted payload'));
    const port = await listen(server);
    const { guest } = newNat();
    const c = guest.connect(GW, port);
    c.dropNext = 1;
    await guest.until(() => c.finReceived);
    expect(c.text()).toBe('retransmitted payload');
  });

  it('TCP: go-back-N after several lost segments delivers 200 KB exactly once, then FIN', async () => {
    const payload = Buffer.alloc(200_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 9)) & 0xff;
    const server = net.createServer((s) => s.end(payload));
    const port = await listen(server);
    const { guest } = newNat();
    const c = guest.connect(GW, port);
    c.dropNext = 5;
    await guest.until(() => c.finReceived);
    expect(Buffer.compare(Buffer.concat(c.received), payload)).toBe(0);
  });

  it('TCP: the guest window is honoured: nothing beyond it is sent, a window update resumes the flow', async () => {
    const payload = Buffer.alloc(30_000, 0x61);
    const server = net.createServer((s) => s.end(payload));
    const port = await listen(server);
    const { guest } = newNat();
    const c = guest.connect(GW, port);
    c.appLimit = 4000;
    await guest.until(() => c.receivedBytes >= 4000);
    await new Promise((r) => setTimeout(r, 700)); // past the retransmission timeout: at most a 1-byte probe
    guest.drain();
    expect(c.receivedBytes).toBe(4000); // window closed: the NAT waits (a probe byte is not accepted)
    c.appLimit = Infinity;
    c.segment(ACK); // window update
    await guest.until(() => c.finReceived);
    expect(Buffer.compare(Buffer.concat(c.received), payload)).toBe(0);
  });

  it('TCP: a closed port answers RST; a stray segment gets RST; a guest RST closes the host socket', async () => {
    const closed = net.createServer();
    const deadPort = await listen(closed);
    await new Promise<void>((r) => closed.close(() => r()));
    const { nat, guest } = newNat();
    const c = guest.connect(GW, deadPort);
    await guest.until(() => c.state === 'reset');
    guest.sendIp(GW, 6, tcpSegment(guest.ip, GW, { sport: 999, dport: 80, seq: 1, ack: 77, flags: ACK }));
    await guest.until(() => guest.inbox.some((r) => r.proto === 6));
    const rst = guest.inbox.find((r) => r.proto === 6)!.payload;
    expect(rst[13] & RST).toBe(RST);
    expect(r32(rst, 4)).toBe(77);

    let hostClosed = false;
    const server = net.createServer((s) => { s.on('close', () => (hostClosed = true)); s.on('error', () => undefined); });
    const port = await listen(server);
    const d = guest.connect(GW, port);
    await guest.until(() => d.state === 'established');
    d.segment(RST | ACK);
    await guest.until(() => hostClosed && nat.stats.tcpConnections === 0);
  });

  it('TCP: the host closing first sends FIN; half-closed data still flows from the guest', async () => {
    let got = '';
    const server = net.createServer({ allowHalfOpen: true }, (s) => {
      s.end('bye');
      s.on('data', (d) => (got += d));
    });
    const port = await listen(server);
    const { nat, guest } = newNat();
    const c = guest.connect(GW, port);
    await guest.until(() => c.finReceived);
    expect(c.text()).toBe('bye');
    c.write(new TextEncoder().encode('after fin'));
    c.close();
    await guest.until(() => got === 'after fin' && nat.stats.tcpConnections === 0);
  });

  it('port forward: a host connection to 127.0.0.1:port reaches the guest listener', async () => {
    const { nat, guest } = newNat();
    const hostPort = await nat.addForward({ protocol: 'tcp', hostPort: 0, guestPort: 8080 });
    guest.listening.set(8080, (c) => {
      const iv = setInterval(() => {
        if (c.text().endsWith('\n')) {
          clearInterval(iv);
          c.write(new TextEncoder().encode(c.text().toUpperCase()));
          c.close();
        }
      }, 1);
    });
    const sock = net.connect(hostPort, '127.0.0.1');
    sock.write('ping from host\n');
    let reply = '';
    let ended = false;
    sock.on('data', (d) => (reply += d));
    sock.on('end', () => { ended = true; sock.end(); });
    await guest.until(() => ended);
    expect(reply).toBe('PING FROM HOST\n');
  });

  it('port forward: UDP datagrams reach the guest and its answers reach the host peer', async () => {
    const { nat, guest } = newNat();
    const hostPort = await nat.addForward({ protocol: 'udp', hostPort: 0, guestPort: 6000 });
    const peer = dgram.createSocket('udp4');
    cleanups.push(() => { peer.close(); });
    let answer = '';
    peer.on('message', (m) => (answer = m.toString()));
    peer.send('question', hostPort, '127.0.0.1');
    await guest.until(() => guest.inbox.some((r) => r.proto === 17));
    const q = guest.inbox.find((r) => r.proto === 17)!;
    expect(r16(q.payload, 2)).toBe(6000);
    expect(Buffer.from(q.payload.subarray(8)).toString()).toBe('question');
    guest.sendUdp(GW, 6000, r16(q.payload, 0), new TextEncoder().encode('answer'));
    await guest.until(() => answer === 'answer');
  });

  it('link down: nothing is answered or delivered', async () => {
    const { nat, guest } = newNat();
    nat.linkUp = false;
    const echo = new Uint8Array(8);
    echo[0] = 8;
    const c = inetChecksum([echo]);
    echo[2] = c >> 8; echo[3] = c & 0xff;
    guest.sendIp(GW, 1, echo);
    await new Promise((r) => setTimeout(r, 20));
    guest.drain();
    expect(guest.inbox.length).toBe(0);
    nat.linkUp = true;
    guest.sendIp(GW, 1, echo);
    await guest.until(() => guest.inbox.length === 1);
  });

  it('a SYN to an address outside the subnet is refused when restricted; port 0 is refused or dropped', async () => {
    const { nat, guest } = newNat();
    const c = guest.connect(ip('192.0.2.1'), 80);
    await guest.until(() => c.state === 'reset');
    const z = guest.connect(GW, 0);
    await guest.until(() => z.state === 'reset');
    const dropped = nat.stats.dropped;
    guest.sendUdp(GW, 1000, 0, Uint8Array.of(1));
    expect(nat.stats.dropped).toBe(dropped + 1);
    expect(nat.stats.internalErrors).toBe(0);
    void FIN; void SYN;
  });
});
