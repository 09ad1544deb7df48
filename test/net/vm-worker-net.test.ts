// A VM's network settings in the hypervisor's real worker (the real PC, built-in firmware): the
// forwards from nic.forwards listen on the host while the VM runs and stop at power off, the
// capture file is written, setCableConnected reaches the running machine, and a forward that
// cannot listen is reported without stopping the VM.

import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { ApiEvent, VmSettings } from '../../core/api/contract.js';
import { Hypervisor } from '../../main/hypervisor/hypervisor.js';
import { presetDefaults } from '../../main/library/presets.js';
import { macForVm } from '../../main/net/attach.js';
import { buildVmWorker, buildVmWorkerWithMachine } from '../hypervisor/worker-build.js';
import { until as untilFor } from '../helpers/until.js';

const until = <T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 30_000) => untilFor(what, probe, timeoutMs);

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Connect to 127.0.0.1:port: 'refused', or 'accepted' (and whether the far end then hung up at once). */
function probe(port: number): Promise<{ result: 'refused' | 'accepted'; droppedAtOnce: boolean }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let accepted = false;
    sock.on('connect', () => {
      accepted = true;
      // The NAT either keeps the connection (waiting for the guest) or drops it (cable out).
      const timer = setTimeout(() => { sock.destroy(); resolve({ result: 'accepted', droppedAtOnce: false }); }, 300);
      sock.on('close', () => { clearTimeout(timer); resolve({ result: 'accepted', droppedAtOnce: true }); });
    });
    sock.on('error', () => { if (!accepted) resolve({ result: 'refused', droppedAtOnce: false }); });
  });
}

function settings(patch: Partial<VmSettings['nic']>): VmSettings {
  return {
    ...presetDefaults('dos'),
    name: 'net pc',
    memoryMiB: 16,
    firmware: 'builtin',
    floppyA: null,
    ide: { primaryMaster: null, primarySlave: null, secondaryMaster: null, secondarySlave: null },
    nic: { model: 'ne2k-pci', network: 'nat', ...patch },
  };
}

describe('network settings in a VM worker', () => {
  const hv = new Hypervisor({ workerUrl: buildVmWorkerWithMachine(), statusIntervalMs: 100 });
  const events: ApiEvent[] = [];
  hv.onEvent((e) => events.push(e));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'perseus-vmnet-'));
  afterAll(async () => {
    await hv.closeAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('forwards from the settings listen while the VM runs; capture; the cable switch; power off closes them', async () => {
    const tcpPort = await freePort();
    const udpPort = await freePort();
    const capture = path.join(dir, 'vm.pcap');
    const on = await hv.powerOn('n1', settings({
      forwards: [{ protocol: 'tcp', hostPort: tcpPort, guestPort: 7000 }, { protocol: 'udp', hostPort: udpPort, guestPort: 7001 }],
      capture,
    }));
    expect(on.state).toBe('running');
    // The TCP forward accepts (the NAT then waits for the guest); the UDP port is taken.
    const first = await until('the TCP forward to listen', async () => { const p = await probe(tcpPort); return p.result === 'accepted' && p; });
    expect(first.droppedAtOnce).toBe(false);
    const udp = dgram.createSocket('udp4');
    const bindError = await new Promise<string>((resolve) => {
      udp.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      udp.bind(udpPort, '127.0.0.1', () => resolve('bound'));
    });
    udp.close();
    expect(bindError).toBe('EADDRINUSE');
    expect(fs.readFileSync(capture).readUInt32LE(0)).toBe(0xa1b2c3d4);

    // Unplugged: the guest sees no link, and the forward drops host connections at once.
    expect(await hv.setCableConnected('n1', false)).toBe(false);
    expect(await probe(tcpPort)).toEqual({ result: 'accepted', droppedAtOnce: true });
    expect(await hv.setCableConnected('n1', true)).toBe(true);
    expect(await probe(tcpPort)).toEqual({ result: 'accepted', droppedAtOnce: false });

    await hv.powerOff('n1');
    expect((await probe(tcpPort)).result).toBe('refused');
  });

  test('a forward whose host port is taken is reported; the VM runs on; cableConnected false starts unplugged', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      await hv.powerOn('n2', settings({ forwards: [{ protocol: 'tcp', hostPort: taken, guestPort: 22 }], cableConnected: false }));
      await until('the forward failure in the log', () => events.some((e) => e.type === 'log' && e.id === 'n2' && /port forward failed: .*EADDRINUSE/.test(e.message)));
      await until('the guest running', () => hv.status('n2').instructions > 0);
      expect(hv.status('n2').state).toBe('running');
      // The cable was out from the start: plugging it in reports the link up.
      expect(await hv.setCableConnected('n2', true)).toBe(true);
      await hv.powerOff('n2');
      await expect(hv.setCableConnected('n2', true)).rejects.toMatchObject({ code: 'bad-state' });
    } finally {
      blocker.close();
    }
  });
});

describe('LAN segments between VM workers', () => {
  // The fake machine of the hypervisor tests, broadcasting from the MAC the worker gives it.
  const hv = new Hypervisor({ workerUrl: buildVmWorker(), machineModule: new URL('./fixtures/lan-machine.mjs', import.meta.url), statusIntervalMs: 100 });
  afterAll(() => hv.closeAll());
  const lanVm = (segment: string, mac?: string): VmSettings => ({
    ...presetDefaults('dos'), name: segment, ide: { primaryMaster: null, primarySlave: null, secondaryMaster: null, secondarySlave: null },
    floppyA: null, nic: { model: 'ne2k-pci', network: 'lan', lanSegment: segment, ...(mac ? { mac } : {}) },
  });
  const seen = async (id: string) => JSON.parse(await hv.screenText(id)) as { mac: string | null; lan: boolean; heardFrom: string[] };
  const hex = (b: number[]) => b.map((x) => x.toString(16).padStart(2, '0')).join(':');

  test('VMs on one segment hear each other with their own MACs (from the id, or the setting); another segment hears neither', async () => {
    await hv.powerOn('lab-a', lanVm('lab'));
    await hv.powerOn('lab-b', lanVm('lab'));
    await hv.powerOn('lab-c', lanVm('lab', '52:54:00:00:00:0c'));
    await hv.powerOn('other', lanVm('office'));
    const a = hex(macForVm('lab-a'));
    const b = hex(macForVm('lab-b'));
    expect(a).not.toBe(b);
    await until('lab-a to hear lab-b and lab-c', async () => { const s = await seen('lab-a'); return s.heardFrom.includes(b) && s.heardFrom.includes('52:54:00:00:00:0c'); });
    await until('lab-c to hear lab-a and lab-b', async () => { const s = await seen('lab-c'); return s.heardFrom.includes(a) && s.heardFrom.includes(b); });
    expect((await seen('lab-a')).mac).toBe(a);
    expect((await seen('lab-c')).mac).toBe('52:54:00:00:00:0c');
    expect((await seen('lab-a')).heardFrom).not.toContain(a); // a switch never echoes a frame to its sender
    const other = await seen('other');
    expect(other.lan).toBe(true);
    expect(other.heardFrom).toEqual([]);
    // A VM that powers off leaves the segment; the others go on.
    await hv.powerOff('lab-b');
    await hv.powerOn('lab-b', lanVm('lab'));
    await until('lab-b back on the segment', async () => (await seen('lab-b')).heardFrom.includes(a));
  });
});
