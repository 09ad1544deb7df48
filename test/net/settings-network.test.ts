// Network settings reaching a guest: `perseus run --forward/--mac/--capture/--cable-disconnected`
// build the machine exactly as the command does (settingsFromOptions → buildMachine), and a
// synthetic guest speaks TCP through the machine's own NE2000 (its I/O ports, the guest side):
// a host connection to the forward reaches the guest's listener, the guest sees the MAC from the
// settings, the capture file records the traffic, and the cable switch cuts and restores it.

import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PcMachine } from '../../core/board/pc.js';
import { NAT_MAC } from '../../main/net/nat.js';
import { parseRunArgs, runCommand, settingsFromOptions } from '../../main/run/run.js';
import { buildMachine, closeNetwork, machineNetwork } from '../../main/run/setup.js';
import { TestGuest, ethFrame, ipPacket, udpDatagram, type GuestTcp } from './guest.js';
import { Ne2000IoDriver } from './ne2000-driver.js';

const cleanups: (() => void)[] = [];
afterEach(() => { for (const c of cleanups.splice(0)) c(); });

/** A port nothing listens on right now (the OS's choice, released at once). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function runMachine(args: string[]): Promise<{ machine: PcMachine; guest: TestGuest; drv: Ne2000IoDriver }> {
  const settings = settingsFromOptions(parseRunArgs(['--nic', 'ne2k-isa', '--memory', '4', ...args]));
  const machine = (await buildMachine(settings, { writable: false })) as PcMachine;
  cleanups.push(() => closeNetwork(machine));
  const drv = new Ne2000IoDriver(machine.io, machine.nic!);
  const guest = new TestGuest(drv as never);
  guest.mac = Uint8Array.from(drv.promMac());
  return { machine, guest, drv };
}

/** DHCP DISCOVER from the guest's MAC; resolves with the offered address. */
async function dhcp(guest: TestGuest, drv: Ne2000IoDriver): Promise<string> {
  const d = new Uint8Array(300);
  d.set([1, 1, 6], 0); d.set([9, 8, 7, 6], 4); d.set(guest.mac, 28); d.set([0x63, 0x82, 0x53, 0x63, 53, 1, 1, 255], 236);
  drv.send(ethFrame(new Uint8Array(6).fill(0xff), guest.mac, 0x0800, ipPacket(0, 0xffffffff, 17, udpDatagram(0, 0xffffffff, 68, 67, d))));
  await guest.until(() => guest.inbox.some((r) => r.proto === 17));
  const offer = guest.inbox.find((r) => r.proto === 17)!;
  guest.inbox.length = 0;
  return Array.from(offer.payload.subarray(8 + 16, 8 + 20)).join('.');
}

/** Connect from the host to 127.0.0.1:port, send `text`, collect what comes back until the end. */
function hostClient(port: number, text: string): { reply: () => string; ended: () => boolean; closed: () => boolean } {
  let reply = '';
  let ended = false;
  let closed = false;
  const sock = net.connect(port, '127.0.0.1', () => sock.write(text));
  sock.on('data', (d) => (reply += d.toString()));
  sock.on('end', () => { ended = true; sock.end(); });
  sock.on('close', () => { closed = true; });
  sock.on('error', () => { closed = true; });
  cleanups.push(() => sock.destroy());
  return { reply: () => reply, ended: () => ended, closed: () => closed };
}

/** The guest's echo-in-capitals server on `port`: answers each line, then closes. */
function upperServer(guest: TestGuest, port: number): GuestTcp[] {
  const accepted: GuestTcp[] = [];
  guest.listening.set(port, (c) => {
    accepted.push(c);
    const iv = setInterval(() => {
      if (c.text().endsWith('\n')) {
        clearInterval(iv);
        c.write(new TextEncoder().encode(`guest got: ${c.text().toUpperCase()}`));
        c.close();
      }
    }, 1);
    cleanups.push(() => clearInterval(iv));
  });
  return accepted;
}

describe('perseus run network options reach the guest through the NE2000', () => {
  it('--forward, --mac and --capture: the host talks to a guest server; the guest has the MAC; tshark-format capture', async () => {
    const port = await freePort();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perseus-netset-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const capture = path.join(dir, 'vm.pcap');
    const { machine, guest, drv } = await runMachine(['--forward', `tcp:${port}:7000`, '--mac', '52:54:00:ab:cd:ef', '--capture', capture]);
    expect(drv.promMac()).toEqual([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);
    expect(await machineNetwork(machine)!.forwards).toEqual([port]);
    expect(await dhcp(guest, drv)).toBe('10.0.2.15');
    guest.gatewayMac = NAT_MAC;
    const accepted = upperServer(guest, 7000);
    const client = hostClient(port, 'hello guest\n');
    await guest.until(() => client.ended());
    expect(accepted.length).toBe(1);
    expect(client.reply()).toBe('guest got: HELLO GUEST\n');
    closeNetwork(machine);
    // libpcap: magic, Ethernet link type, and records for the DHCP exchange and the TCP session.
    const pcap = fs.readFileSync(capture);
    expect(pcap.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(pcap.readUInt32LE(20)).toBe(1);
    let records = 0;
    let withGuestMac = 0;
    for (let o = 24; o + 16 <= pcap.length; records++) {
      const len = pcap.readUInt32LE(o + 8);
      const frame = pcap.subarray(o + 16, o + 16 + len);
      const mine = Buffer.from(guest.mac);
      if (frame.subarray(0, 6).equals(mine) || frame.subarray(6, 12).equals(mine) || frame.subarray(0, 6).equals(Buffer.alloc(6, 0xff))) withGuestMac++;
      o += 16 + len;
    }
    expect(records).toBeGreaterThanOrEqual(2 + 6); // DHCP both ways, handshake, data, FINs
    expect(withGuestMac).toBe(records); // every frame is to or from this guest's MAC (or broadcast)
  });

  it('--cable-disconnected: the forward delivers nothing until the cable is plugged in (the worker\'s set-cable)', async () => {
    const port = await freePort();
    const { machine, guest, drv } = await runMachine(['--forward', `tcp:${port}:7000`, '--cable-disconnected']);
    const network = machineNetwork(machine)!;
    expect(network.linkUp).toBe(false);
    await network.forwards;
    const accepted = upperServer(guest, 7000);
    // Unplugged: DHCP gets no answer and a host connection is dropped without reaching the guest.
    const d = new Uint8Array(300);
    d.set([1, 1, 6], 0); d.set(guest.mac, 28); d.set([0x63, 0x82, 0x53, 0x63, 53, 1, 1, 255], 236);
    drv.send(ethFrame(new Uint8Array(6).fill(0xff), guest.mac, 0x0800, ipPacket(0, 0xffffffff, 17, udpDatagram(0, 0xffffffff, 68, 67, d))));
    const cut = hostClient(port, 'anyone there?\n');
    await guest.until(() => cut.closed());
    await new Promise((r) => setTimeout(r, 100));
    guest.drain();
    expect(guest.inbox.length).toBe(0);
    expect(accepted.length).toBe(0);
    expect(cut.reply()).toBe('');
    // Plugged in: the same forward works.
    network.setLinkUp(true);
    expect(await dhcp(guest, drv)).toBe('10.0.2.15');
    guest.gatewayMac = NAT_MAC;
    const client = hostClient(port, 'now?\n');
    await guest.until(() => client.ended());
    expect(client.reply()).toBe('guest got: NOW?\n');
    // Unplugged while a session is idle: new connections are dropped again.
    network.setLinkUp(false);
    const again = hostClient(port, 'and now?\n');
    await guest.until(() => again.closed());
    expect(again.reply()).toBe('');
    expect(accepted.length).toBe(1);
  });

  it('--cable-disconnected on the RTL8139: the guest reads the link down in MSR and BMSR until the cable is plugged in', async () => {
    const settings = settingsFromOptions(parseRunArgs(['--nic', 'rtl8139', '--memory', '4', '--cable-disconnected']));
    const machine = (await buildMachine(settings, { writable: false })) as PcMachine;
    cleanups.push(() => closeNetwork(machine));
    // The guest's view: I/O BAR at 0xd000 (what POST would assign), then the media registers.
    const IO = 0xd000;
    machine.rtl8139!.writeConfig(0x10, IO | 1, 4);
    machine.rtl8139!.writeConfig(0x04, 0x0005, 2);
    const linkUp = () => ({ msrLinkFail: (machine.io.in8(IO + 0x58) & 0x04) !== 0, bmsrLinkUp: (machine.io.in16(IO + 0x64) & 0x04) !== 0 });
    expect(linkUp()).toEqual({ msrLinkFail: true, bmsrLinkUp: false });
    machineNetwork(machine)!.setLinkUp(true);
    expect(linkUp()).toEqual({ msrLinkFail: false, bmsrLinkUp: true });
    machineNetwork(machine)!.setLinkUp(false);
    expect(linkUp()).toEqual({ msrLinkFail: true, bmsrLinkUp: false });
  });

  it('bad network options are usage errors with the reason', () => {
    const settings = (args: string[]) => settingsFromOptions(parseRunArgs(args));
    expect(() => settings(['--forward', 'tcp:8080:80'])).toThrow(/need a network adapter/);
    expect(() => settings(['--nic', 'ne2k-pci', '--forward', 'tcp:80'])).toThrow(/bad port forward "tcp:80"/);
    expect(() => settings(['--nic', 'ne2k-pci', '--forward', 'tcp:70000:80'])).toThrow(/host port must be a whole number from 1 to 65535/);
    expect(() => settings(['--nic', 'ne2k-pci', '--forward', 'tcp:8080:80', '--forward', 'tcp:8080:81'])).toThrow(/both listen on host TCP port 8080/);
    expect(() => settings(['--nic', 'ne2k-pci', '--forward', 'tcp:192.168.1.4:8080:80'])).toThrow(/must be a loopback address/);
    expect(() => settings(['--nic', 'ne2k-pci', '--mac', '01:00:5e:00:00:01'])).toThrow(/multicast/);
    const ok = settings(['--nic', 'rtl8139', '--forward', 'tcp:8080:80', '--forward', 'udp:0.0.0.0:5353:53', '--mac', '52:54:00:00:00:01', '--cable-disconnected']);
    expect(ok.nic).toEqual({
      model: 'rtl8139', network: 'nat', mac: '52:54:00:00:00:01', cableConnected: false,
      forwards: [{ protocol: 'tcp', hostPort: 8080, guestPort: 80 }, { protocol: 'udp', hostAddress: '0.0.0.0', hostPort: 5353, guestPort: 53 }],
    });
  });
});

describe('perseus run --forward (runCommand)', () => {
  /** runCommand with stderr captured. */
  async function run(args: string[]): Promise<{ code: number; stderr: string }> {
    let stderr = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => { stderr += String(c); return true; });
    try {
      return { code: await runCommand(args), stderr };
    } finally {
      spy.mockRestore();
    }
  }

  it('listens on the forward while the machine runs and closes it at the end', async () => {
    const port = await freePort();
    let seen: 'accepted' | 'refused' | null = null;
    // Probe the port a moment into the run (the run goes on for its 2 s timeout).
    const probe = new Promise<void>((resolve) => setTimeout(() => {
      const sock = net.connect(port, '127.0.0.1', () => { seen = 'accepted'; sock.destroy(); resolve(); });
      sock.on('error', () => { seen = 'refused'; resolve(); });
    }, 700));
    const r = await run(['--nic', 'ne2k-isa', '--memory', '4', '--forward', `tcp:${port}:7000`, '--timeout', '2']);
    await probe;
    expect(r.code).toBe(0);
    expect(seen).toBe('accepted');
    const after = await new Promise<string>((resolve) => {
      const sock = net.connect(port, '127.0.0.1', () => { sock.destroy(); resolve('accepted'); });
      sock.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(after).toBe('ECONNREFUSED');
  });

  it('a forward whose host port is taken fails the run with the reason; bad specs are usage errors', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => blocker.close());
    const taken = (blocker.address() as net.AddressInfo).port;
    const r = await run(['--nic', 'ne2k-isa', '--memory', '4', '--forward', `tcp:${taken}:22`, '--timeout', '2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`perseus run: port forward failed: .*EADDRINUSE.*${taken}`));
    const bad = await run(['--nic', 'ne2k-isa', '--forward', 'tcp:22']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('perseus run: --forward: bad port forward "tcp:22"');
    expect(bad.stderr).toContain('--forward tcp:2222:22');
  });
});
