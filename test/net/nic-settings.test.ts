// The per-VM network settings (nic.forwards, cableConnected, capture, mac): validation with its
// messages, storage in the library (old rows without them still load), `perseus vm` options,
// and the setCableConnected API method on a VM that is off.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiError, type ValidationIssue, type VmRecord, type VmSettings } from '../../core/api/contract.js';
import { main, type CliIO } from '../../main/cli/index.js';
import { VmLibrary, validateSettings } from '../../main/library/index.js';
import { settingsForNewVm } from '../../main/library/settings.js';
import { macForVm } from '../../main/net/attach.js';
import { formatForward, parseForwardSpec, parseMac, vmMac } from '../../main/net/nic-settings.js';
import { openAppCore } from '../../main/service/app.js';
import { testHypervisorOptions } from '../api/transports.js';

const dir = mkdtempSync(join(tmpdir(), 'perseus-nicset-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function check(nic: Record<string, unknown>): ValidationIssue[] {
  const s = settingsForNewVm({ name: 't', nic: { model: 'ne2k-pci', network: 'nat', ...nic } } as Partial<VmSettings>);
  return validateSettings(s, { nameTaken: () => false });
}

describe('network settings validation', () => {
  it('accepts good forwards, cable, capture and MAC', () => {
    expect(check({
      forwards: [
        { protocol: 'tcp', hostPort: 2222, guestPort: 22 },
        { protocol: 'udp', hostPort: 2222, guestPort: 53 }, // another protocol: no clash
        { protocol: 'tcp', hostPort: 8080, guestPort: 80, hostAddress: '127.0.0.2' }, // ...
        { protocol: 'tcp', hostPort: 8081, guestPort: 80, hostAddress: '::1' },
        { protocol: 'tcp', hostPort: 8082, guestPort: 80, hostAddress: '0.0.0.0' },
      ],
      cableConnected: false, capture: join(dir, 'x.pcap'), mac: '52:54:00:AB:cd:01',
    })).toEqual([]);
    expect(check({ capture: null, mac: '02-00-00-00-00-01' })).toEqual([]);
    expect(check({ mac: null })).toEqual([]);
  });

  it('reports each bad value with its field and a clear message', () => {
    expect(check({ forwards: [{ protocol: 'sctp', hostPort: 0, guestPort: 70000 }] })).toEqual([
      { field: 'nic.forwards.0.protocol', message: 'Port forward 1: the protocol must be "tcp" or "udp", not "sctp"' },
      { field: 'nic.forwards.0.hostPort', message: 'Port forward 1: the host port must be a whole number from 1 to 65535, not 0' },
      { field: 'nic.forwards.0.guestPort', message: 'Port forward 1: the guest port must be a whole number from 1 to 65535, not 70000' },
    ]);
    expect(check({ forwards: [{ protocol: 'tcp', hostPort: 22.5, guestPort: '22' }] }).map((i) => i.field)).toEqual(['nic.forwards.0.hostPort', 'nic.forwards.0.guestPort']);
    expect(check({ forwards: [{ protocol: 'tcp', hostPort: 80, guestPort: 80, hostAddress: '192.168.1.10' }] })).toEqual([
      { field: 'nic.forwards.0.hostAddress', message: 'Port forward 1: Host address "192.168.1.10" must be a loopback address (127.0.0.1, ::1), or 0.0.0.0 / :: to listen on every interface' },
    ]);
    expect(check({ forwards: [{ protocol: 'tcp', hostPort: 80, guestPort: 80, hostAddress: 'localhost' }] })[0].field).toBe('nic.forwards.0.hostAddress');
    expect(check({ forwards: [{ protocol: 'tcp', hostPort: 80, guestPort: 80, hostAddress: '127.0.0.300' }] })[0].field).toBe('nic.forwards.0.hostAddress');
    // Duplicates: the same port on the same or an overlapping ("any") address.
    expect(check({ forwards: [{ protocol: 'tcp', hostPort: 80, guestPort: 80 }, { protocol: 'tcp', hostPort: 80, guestPort: 81 }] })).toEqual([
      { field: 'nic.forwards.1.hostPort', message: 'Port forwards 1 and 2 both listen on host TCP port 80' },
    ]);
    expect(check({ forwards: [{ protocol: 'udp', hostPort: 53, guestPort: 53, hostAddress: '0.0.0.0' }, { protocol: 'udp', hostPort: 53, guestPort: 53 }] })).toEqual([
      { field: 'nic.forwards.1.hostPort', message: 'Port forwards 1 and 2 both listen on host UDP port 53' },
    ]);
    expect(check({ forwards: [{ protocol: 'tcp', hostPort: 80, guestPort: 80, hostAddress: '127.0.0.1' }, { protocol: 'tcp', hostPort: 80, guestPort: 80, hostAddress: '127.0.0.2' }] })).toEqual([]);
    expect(check({ forwards: [{ protocol: 'tcp', hostPort: 80, guestPort: 80, extra: 1 }] })).toEqual([
      { field: 'nic.forwards.0.extra', message: 'Port forward 1: unknown field "extra"' },
    ]);
    expect(check({ forwards: 'tcp:80:80' })).toEqual([{ field: 'nic.forwards', message: 'Port forwards must be a list of {protocol, hostPort, guestPort}' }]);
    const lan = validateSettings(settingsForNewVm({ name: 't', nic: { model: 'ne2k-pci', network: 'lan', lanSegment: 'lab', forwards: [{ protocol: 'tcp', hostPort: 80, guestPort: 80 }] } }), { nameTaken: () => false });
    expect(lan).toEqual([{ field: 'nic.forwards', message: 'Port forwards work only on the NAT network; remove them or choose "nat" (the network is "lan")' }]);
    expect(check({ cableConnected: 'yes' })).toEqual([{ field: 'nic.cableConnected', message: '"Cable connected" must be true or false, not "yes"' }]);
    expect(check({ capture: 'rel/x.pcap' })).toEqual([{ field: 'nic.capture', message: 'The capture file must be an absolute path, not "rel/x.pcap"' }]);
    expect(check({ capture: dir })[0].message).toMatch(/is a folder/);
    expect(check({ capture: join(dir, 'no', 'such', 'x.pcap') })[0].message).toBe(`The folder of the capture file does not exist: ${join(dir, 'no', 'such')}`);
    expect(check({ mac: '52:54:00:12:34' })).toEqual([{ field: 'nic.mac', message: 'MAC address "52:54:00:12:34" must be six hex bytes like 52:54:00:12:34:56' }]);
    expect(check({ mac: '52:54:00:12:34:5g' })[0].field).toBe('nic.mac');
    expect(check({ mac: '52:54-00:12:34:56' })[0].field).toBe('nic.mac'); // mixed separators
    expect(check({ mac: '01:00:5e:00:00:fb' })[0].message).toMatch(/multicast address/);
    expect(check({ mac: 'ff:ff:ff:ff:ff:ff' })[0].message).toMatch(/multicast address/);
    expect(check({ mac: '00:00:00:00:00:00' })[0].message).toBe('MAC address 00:00:00:00:00:00 is not a valid adapter address');
  });

  it('parses and prints forward specs and MACs; a VM without a MAC setting gets one from its id', () => {
    expect(parseForwardSpec('tcp:8080:80')).toEqual({ protocol: 'tcp', hostPort: 8080, guestPort: 80 });
    expect(parseForwardSpec('UDP:127.0.0.1:5353:53')).toEqual({ protocol: 'udp', hostAddress: '127.0.0.1', hostPort: 5353, guestPort: 53 });
    expect(parseForwardSpec('tcp:[::1]:2222:22')).toEqual({ protocol: 'tcp', hostAddress: '::1', hostPort: 2222, guestPort: 22 });
    for (const bad of ['tcp:80', 'icmp:1:1', 'tcp:a:b', 'tcp:1:2:3:4:5', '']) expect(() => parseForwardSpec(bad)).toThrow(/bad port forward/);
    for (const s of ['tcp:8080:80', 'udp:127.0.0.1:5353:53', 'tcp:[::1]:2222:22']) expect(formatForward(parseForwardSpec(s))).toBe(s);
    expect(parseMac('52:54:00:AB:CD:EF')).toEqual([0x52, 0x54, 0, 0xab, 0xcd, 0xef]);
    expect(vmMac({ mac: '02:00:00:00:00:07' }, 'vm-a')).toEqual([2, 0, 0, 0, 0, 7]);
    expect(vmMac({}, 'vm-a')).toEqual(macForVm('vm-a'));
    expect(vmMac({ mac: null }, 'vm-a')).toEqual(macForVm('vm-a'));
    expect(vmMac({}, 'vm-a')).not.toEqual(vmMac({}, 'vm-b'));
    expect(vmMac({}, 'vm-a').slice(0, 3)).toEqual([0x52, 0x54, 0x00]);
  });
});

describe('network settings in the library, the CLI and the API', () => {
  it('are stored and read back; a row stored before them loads with the defaults', () => {
    const lib = VmLibrary.open(join(dir, 'lib'));
    try {
      const nic: VmSettings['nic'] = { model: 'rtl8139', network: 'nat', forwards: [{ protocol: 'tcp', hostPort: 2222, guestPort: 22 }], cableConnected: false, capture: join(dir, 'c.pcap'), mac: '52:54:00:00:00:42' };
      const vm = lib.create({ name: 'net', nic });
      expect(lib.get(vm.id).nic).toEqual(nic);
      // Changing one field keeps the others (nic merges field by field).
      expect(lib.update(vm.id, { nic: { cableConnected: true } as VmSettings['nic'] }).nic).toEqual({ ...nic, cableConnected: true });
      expect(() => lib.update(vm.id, { nic: { forwards: [{ protocol: 'tcp', hostPort: 1, guestPort: 0 }] } as VmSettings['nic'] })).toThrow(ApiError);
      expect(lib.get(vm.id).nic.forwards).toEqual(nic.forwards); // nothing lost
      const old = lib.create({ name: 'old', nic: { model: 'ne2k-pci', network: 'nat' } });
      expect(lib.get(old.id).nic).toEqual({ model: 'ne2k-pci', network: 'nat' });
    } finally {
      lib.close();
    }
  });

  it('perseus vm create/edit --forward --capture --mac --cable', async () => {
    const data = join(dir, 'cli');
    const run = async (args: string[]) => {
      let out = '';
      let err = '';
      const stdin = new PassThrough();
      stdin.end();
      const io: CliIO = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) }, stdin, interactive: false, env: { PERSEUS_DATA_DIR: data }, cwd: dir };
      const code = await main(args, io);
      return { code, out, err };
    };
    const made = await run(['vm', 'create', 'web', '--preset', 'linux', '--forward', 'tcp:8080:80', '--forward', 'udp:127.0.0.1:5353:53', '--capture', 'web.pcap', '--mac', '52:54:00:0a:0b:0c', '--cable', 'off', '--json']);
    expect(made.err).toBe('');
    expect(made.code).toBe(0);
    const vm = JSON.parse(made.out) as VmRecord;
    expect(vm.nic).toMatchObject({
      forwards: [{ protocol: 'tcp', hostPort: 8080, guestPort: 80 }, { protocol: 'udp', hostAddress: '127.0.0.1', hostPort: 5353, guestPort: 53 }],
      capture: join(dir, 'web.pcap'), mac: '52:54:00:0a:0b:0c', cableConnected: false,
    });
    const shown = await run(['vm', 'show', 'web']);
    expect(shown.out).toMatch(/Port forwards: +tcp:8080:80, udp:127\.0\.0\.1:5353:53\n/);
    expect(shown.out).toMatch(/MAC address: +52:54:00:0a:0b:0c\n/);
    expect(shown.out).toMatch(/Cable: +unplugged\n/);
    const edited = await run(['vm', 'edit', 'web', '--forward', 'none', '--capture', 'none', '--mac', 'auto', '--cable', 'on', '--json']);
    expect(edited.code).toBe(0);
    const after = JSON.parse(edited.out) as VmRecord;
    expect(after.nic).toEqual({ model: vm.nic.model, network: 'nat', forwards: [], capture: null, mac: null, cableConnected: true });
    const auto = await run(['vm', 'show', 'web']);
    expect(auto.out).toContain(`MAC address:          ${macForVm(vm.id).map((b) => b.toString(16).padStart(2, '0')).join(':')} (from the VM id)`);
    // Bad values: usage errors (2) or validation errors (4) with the reason; nothing changes.
    const badSpec = await run(['vm', 'edit', 'web', '--forward', 'tcp:80']);
    expect(badSpec.code).toBe(2);
    expect(badSpec.err).toContain('bad port forward "tcp:80"');
    const badCable = await run(['vm', 'edit', 'web', '--cable', 'maybe']);
    expect(badCable.code).toBe(2);
    expect(badCable.err).toContain('--cable takes on or off, not "maybe"');
    const dup = await run(['vm', 'edit', 'web', '--forward', 'tcp:80:80', '--forward', 'tcp:80:81']);
    expect(dup.code).toBe(4);
    expect(dup.err).toContain('both listen on host TCP port 80');
    const badMac = await run(['vm', 'edit', 'web', '--mac', 'ff:ff:ff:ff:ff:ff']);
    expect(badMac.code).toBe(4);
    expect(badMac.err).toContain('multicast');
    const lib = VmLibrary.open(data);
    try { expect(lib.get(vm.id).nic).toEqual(after.nic); } finally { lib.close(); }
    const help = await run(['vm', 'create', '--help']);
    expect(help.out).toMatch(/--forward SPEC +NAT port forward/);
    expect(help.out).toMatch(/--cable on\|off/);
  });

  it('setCableConnected on a VM that is off keeps the choice in its settings; bad params are refused', async () => {
    const dataDir = join(dir, 'api');
    const core = openAppCore({ dataDir, transport: 'web', hypervisor: testHypervisorOptions() });
    try {
      const vm = await core.service.handle('createVm', { name: 'c', nic: { model: 'ne2k-pci', network: 'nat' } });
      const off = await core.service.handle('setCableConnected', { id: vm.id, connected: false });
      expect(off.nic.cableConnected).toBe(false);
      expect((await core.service.handle('getVm', { id: vm.id })).nic).toEqual({ model: 'ne2k-pci', network: 'nat', cableConnected: false });
      await expect(core.service.handle('setCableConnected', { id: vm.id, connected: 'no' as never })).rejects.toMatchObject({ code: 'invalid' });
      await expect(core.service.handle('setCableConnected', { id: 'nope', connected: true })).rejects.toMatchObject({ code: 'not-found' });
      const invalid = await core.service.handle('validateSettings', { id: vm.id, settings: { ...vm, nic: { model: 'ne2k-pci', network: 'nat', forwards: [{ protocol: 'tcp', hostPort: 99999, guestPort: 1 }] } } });
      expect(invalid.map((i) => i.field)).toEqual(['nic.forwards.0.hostPort']);
    } finally {
      await core.close();
    }
  });
});
