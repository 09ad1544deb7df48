import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { LanPortBackend, LanSwitch } from '../../main/net/lan.js';
import { NatBackend, NAT_MAC } from '../../main/net/nat.js';
import { PcapWriter, captureBackend } from '../../main/net/pcap.js';
import { GUEST_MAC, TestGuest, inetChecksum, ip } from './guest.js';

const mac = (n: number) => Uint8Array.from([0x52, 0x54, 0, 0, 0, n]);
function frame(dst: Uint8Array, src: Uint8Array, tag: number): Uint8Array {
  const f = new Uint8Array(60);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88; f[13] = 0xb5; // local experimental ethertype
  f[14] = tag;
  return f;
}
const BCAST = new Uint8Array(6).fill(0xff);
const settle = () => new Promise((r) => setTimeout(r, 20));
const drain = (b: LanPortBackend) => {
  const tags: number[] = [];
  for (let f = b.receive(); f; f = b.receive()) tags.push(f[14]);
  return tags;
};

describe('LAN segment switch', () => {
  it('floods broadcast and unknown unicast within a segment, learns MACs, keeps segments apart', async () => {
    const sw = new LanSwitch();
    const [a, b, c] = [0, 1, 2].map(() => new LanPortBackend(sw.connect('lab')));
    const d = new LanPortBackend(sw.connect('other'));
    expect(sw.list()).toEqual([{ segment: 'lab', ports: 3 }, { segment: 'other', ports: 1 }]);

    a.send(frame(BCAST, mac(1), 1));
    await settle();
    expect([drain(a), drain(b), drain(c), drain(d)]).toEqual([[], [1], [1], []]);

    b.send(frame(mac(1), mac(2), 2)); // a's MAC is known: only a gets it
    await settle();
    expect([drain(a), drain(b), drain(c)]).toEqual([[2], [], []]);

    a.send(frame(mac(2), mac(1), 3)); // b learned
    a.send(frame(mac(9), mac(1), 4)); // unknown: flooded
    await settle();
    expect([drain(a), drain(b), drain(c), drain(d)]).toEqual([[], [3, 4], [4], []]);

    c.linkUp = false; // cable pulled: c neither receives nor sends
    c.send(frame(BCAST, mac(3), 5));
    a.send(frame(BCAST, mac(1), 6));
    await settle();
    expect([drain(b), drain(c)]).toEqual([[6], []]);
    sw.close();
  });

  it('relays frames to and from a VM worker thread over the transferred port', async () => {
    const sw = new LanSwitch();
    const local = new LanPortBackend(sw.connect('lab'));
    const port = sw.connect('lab');
    // A worker that answers every frame back to its sender, as a second VM's NIC would.
    const worker = new Worker(`
      const { workerData, parentPort } = require('node:worker_threads');
      const p = workerData.port;
      p.on('message', (f) => {
        const r = new Uint8Array(f.length);
        r.set(f.subarray(6, 12), 0); r.set([0x52, 0x54, 0, 0, 0, 0x77], 6); r.set(f.subarray(12), 12);
        r[14] = f[14] + 100;
        p.postMessage(r, [r.buffer]);
      });
      parentPort.postMessage('ready');
    `, { eval: true, workerData: { port }, transferList: [port] });
    await new Promise((r) => worker.once('message', r));
    local.send(frame(BCAST, mac(1), 7));
    let got: Uint8Array | null = null;
    for (let i = 0; i < 200 && !got; i++) { await settle(); got = local.receive(); }
    expect(got).not.toBeNull();
    expect(got![14]).toBe(107);
    expect(Array.from(got!.subarray(0, 6))).toEqual(Array.from(mac(1)));
    await worker.terminate();
    sw.close();
  });
});

describe('packet capture', () => {
  it('writes a libpcap file with every frame in both directions', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'perseus-pcap-')), 'vm.pcap');
    const nat = new NatBackend({ restrict: true });
    const writer = new PcapWriter(file, () => 1_700_000_000_123);
    const backend = captureBackend(nat, writer);
    const guest = new TestGuest(nat);
    guest.gatewayMac = NAT_MAC;
    // Route the guest through the capturing backend.
    (guest as unknown as { nat: unknown }).nat = backend;
    const echo = new Uint8Array(8 + 4); echo[0] = 8; echo[7] = 1;
    const c = inetChecksum([echo]); echo[2] = c >> 8; echo[3] = c & 0xff;
    guest.sendIp(ip('10.0.2.2'), 1, echo);
    await guest.until(() => guest.inbox.length === 1);
    writer.close();
    nat.close();

    const buf = fs.readFileSync(file);
    expect(buf.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect([buf.readUInt16LE(4), buf.readUInt16LE(6)]).toEqual([2, 4]);
    expect(buf.readUInt32LE(16)).toBe(65535);
    expect(buf.readUInt32LE(20)).toBe(1);
    const records: Buffer[] = [];
    for (let o = 24; o < buf.length;) {
      expect(buf.readUInt32LE(o)).toBe(1_700_000_000);
      expect(buf.readUInt32LE(o + 4)).toBe(123_000);
      const incl = buf.readUInt32LE(o + 8);
      expect(buf.readUInt32LE(o + 12)).toBe(incl);
      records.push(buf.subarray(o + 16, o + 16 + incl));
      o += 16 + incl;
    }
    expect(records.length).toBe(2);
    expect(Array.from(records[0].subarray(6, 12))).toEqual(Array.from(GUEST_MAC)); // request from the guest
    expect(Buffer.compare(records[1], Buffer.from(guest.inbox[0].frame))).toBe(0); // the reply
    expect(records[1][34]).toBe(0); // ICMP echo reply
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });
});
