import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { macForVm, openNetwork } from '../../main/net/attach.js';
import { LanSwitch } from '../../main/net/lan.js';
import { NAT_MAC } from '../../main/net/nat.js';
import { TestGuest, inetChecksum, ip } from './guest.js';

describe('openNetwork', () => {
  it('nat: a working NAT with forwards, capture and the cable switch', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'perseus-net-')), 'cap.pcap');
    const att = openNetwork({ model: 'rtl8139', network: 'nat' }, { capturePath: file, forwards: [{ protocol: 'tcp', hostPort: 0, guestPort: 22 }], nat: { restrict: true } });
    const [port] = await att.forwards;
    expect(port).toBeGreaterThan(0);
    // The forward listens on the host.
    await new Promise<void>((resolve, reject) => net.connect(port, '127.0.0.1', function (this: net.Socket) { this.destroy(); resolve(); }).on('error', reject));
    const guest = new TestGuest(att.backend as never);
    guest.gatewayMac = NAT_MAC;
    const echo = new Uint8Array(8); echo[0] = 8;
    const c = inetChecksum([echo]); echo[2] = c >> 8; echo[3] = c & 0xff;
    att.setLinkUp(false);
    expect(att.backend!.linkUp).toBe(false);
    guest.sendIp(ip('10.0.2.2'), 1, echo);
    await new Promise((r) => setTimeout(r, 20));
    guest.drain();
    expect(guest.inbox.length).toBe(0);
    att.setLinkUp(true);
    guest.sendIp(ip('10.0.2.2'), 1, echo);
    await guest.until(() => guest.inbox.some((r) => r.proto === 1));
    att.close();
    // Header + the echo request and its reply (the SYN to the guest from the forward, too).
    expect(fs.statSync(file).size).toBeGreaterThan(24 + 2 * (16 + 42));
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it('lan: needs a switch port; none: no backend', () => {
    expect(() => openNetwork({ model: 'ne2k-pci', network: 'lan', lanSegment: 'lab' })).toThrow(/no switch port/);
    const sw = new LanSwitch();
    const att = openNetwork({ model: 'ne2k-pci', network: 'lan', lanSegment: 'lab' }, { lanPort: sw.connect('lab') });
    expect(att.backend?.linkUp).toBe(true);
    att.close();
    sw.close();
    const none = openNetwork({ model: 'ne2k-pci', network: 'none' });
    expect(none.backend).toBeNull();
    expect(none.linkUp).toBe(false);
  });

  it('macForVm: stable per id, different across ids, unicast and locally administered', () => {
    const a = macForVm('vm-1');
    expect(macForVm('vm-1')).toEqual(a);
    const all = new Set(Array.from({ length: 200 }, (_, i) => macForVm(`vm-${i}`).join(':')));
    expect(all.size).toBe(200);
    expect(a.length).toBe(6);
    expect(a[0] & 1).toBe(0);
    expect(a[0] & 2).toBe(2);
  });
});
