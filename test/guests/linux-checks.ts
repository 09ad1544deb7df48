// The acceptance checks run against a booted Linux guest (shared by the boot-suite files, so
// each boots the kernel once and asks everything of that one boot).
import { createHash } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { createSocket } from 'node:dgram';
import { expect } from 'vitest';
import type { LinuxGuest } from './linux-guest.js';

/** The marker on COM1 and the screen, `uname -a` and `/proc/cpuinfo` answered on COM1. */
export async function checkShell(g: LinuxGuest): Promise<void> {
  await g.bootToShell();
  expect(g.serialText).toMatch(/LINUX-GUEST-READY kernel=6\.1\.0-\S+-686/);
  expect(g.screenText()).toContain('LINUX-GUEST-READY');
  const uname = await g.sh('uname -a');
  expect(uname).toMatch(/^Linux \S+ 6\.1\.0-\S+-686 .* i686/m);
  const cpuinfo = await g.sh('cat /proc/cpuinfo');
  expect(cpuinfo).toMatch(/vendor_id\s*:\s*GenuineIntel/);
  expect(cpuinfo).toMatch(/cpu family\s*:\s*6/);
  // The 686 kernel insists on the first five; the flags line shows what the CPU model
  // advertises (the default Pentium II has MMX).
  for (const flag of ['fpu', 'tsc', 'cx8', 'cmov', 'pae', 'mmx']) expect(cpuinfo).toMatch(new RegExp(`^flags\\s*:.*\\b${flag}\\b`, 'm'));
}

/** `poweroff -f` ends the machine through ACPI S5. */
export async function checkPoweroff(g: LinuxGuest): Promise<void> {
  g.send('poweroff -f');
  const deadline = Date.now() + 120_000;
  while (!g.poweredOff && Date.now() < deadline) await g.slice();
  expect(g.poweredOff, `no ACPI power-off; serial tail:\n${g.serialText.slice(-800)}`).toBe(true);
}

/** DHCP, HTTP from the host's loopback, UDP both ways and a 10 MB upload through the NAT. */
export async function checkNat(g: LinuxGuest): Promise<void> {
  const dhcp = await g.sh('udhcpc -i eth0 -n -q 2>&1; ip addr show eth0', 180_000);
  expect(dhcp).toMatch(/inet 10\.0\.2\.15\//);

  // HTTP: a page served on 127.0.0.1, fetched by the guest as 10.0.2.2.
  const page = `perseus-page-${Date.now()}`;
  const http = createHttpServer((_req, res) => res.end(page));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  try {
    const port = (http.address() as AddressInfo).port;
    const got = await g.sh(`wget -q -O - http://10.0.2.2:${port}/`, 180_000);
    expect(got).toContain(page);
  } finally {
    http.close();
  }

  // UDP both ways. The guest's busybox nc has no -u, so the exchange is a TFTP read (busybox
  // tftp): the guest's request reaches a server on 127.0.0.1, the server's DATA comes back
  // through the NAT and the guest ACKs it.
  const payload = `udp-hello-${Date.now()}`;
  const udp = createSocket('udp4');
  const seen: number[] = [];
  udp.on('message', (msg, rinfo) => {
    const op = msg.readUInt16BE(0);
    seen.push(op);
    if (op === 1) {
      const data = Buffer.concat([Buffer.from([0, 3, 0, 1]), Buffer.from(`${payload}\n`)]);
      udp.send(data, rinfo.port, rinfo.address);
    }
  });
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  try {
    const port = udp.address().port;
    const got = await g.sh(`tftp -g -r hello.txt -l /tmp/udp.txt 10.0.2.2 ${port} && cat /tmp/udp.txt`, 180_000);
    expect(got).toContain(payload);
    // The host saw the request (RRQ, opcode 1) and the guest's ACK (opcode 4). busybox tftp
    // retransmits after 50 ms of guest time, so either may come more than once.
    for (let i = 0; i < 50 && !seen.includes(4); i++) await g.runFor(100);
    expect(seen[0]).toBe(1);
    expect(seen).toContain(4);
    expect(seen.every((op) => op === 1 || op === 4), `TFTP opcodes from the guest: ${seen}`).toBe(true);
  } finally {
    udp.close();
  }

  // 10 MB guest → host over TCP: the host's digest of what arrived equals the guest's.
  const size = 10 * 1024 * 1024;
  const hash = createHash('md5');
  let received = 0;
  const sink = createTcpServer((s) => {
    s.on('data', (d) => {
      hash.update(d);
      received += d.length;
      // busybox nc waits for the peer to close once its input is sent.
      if (received >= size) s.end();
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  try {
    const port = (sink.address() as AddressInfo).port;
    const sum = await g.sh('dd if=/dev/urandom of=/tmp/up bs=1M count=10 2>/dev/null; md5sum /tmp/up', 600_000);
    const guestMd5 = /^([0-9a-f]{32})\s/m.exec(sum)?.[1];
    expect(guestMd5).toBeTruthy();
    await g.sh(`nc 10.0.2.2 ${port} < /tmp/up`, 900_000);
    expect(received).toBe(size);
    expect(hash.digest('hex')).toBe(guestMd5);
  } finally {
    sink.close();
  }
}

/** A port forward: the host connects to a `nc -l` server in the guest; data flows both ways. */
export async function checkPortForward(g: LinuxGuest, hostPort: number): Promise<void> {
  g.send('(echo from-guest; sleep 20) | nc -l -p 7000 > /tmp/fromhost &');
  await g.runFor(2000);
  const sock = connect(hostPort, '127.0.0.1');
  let got = '';
  sock.on('data', (d) => { got += d.toString(); });
  sock.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', () => resolve());
    sock.once('error', reject);
  });
  sock.write('from-host\n');
  const deadline = Date.now() + 180_000;
  while (!got.includes('from-guest') && Date.now() < deadline) await g.slice();
  expect(got).toContain('from-guest');
  await g.runFor(1000);
  sock.end();
  const inGuest = await g.sh('sleep 1; cat /tmp/fromhost', 180_000);
  expect(inGuest).toContain('from-host');
}
