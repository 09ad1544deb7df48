// The shared Linux guest from its CD with SeaBIOS and an NE2000-PCI on the NAT: one kernel boot,
// then the platform (#4), snapshot (#6) and network (#8) acceptance checks against it.
import { afterAll, describe, expect, it } from 'vitest';
import { LanSwitch } from '../../main/net/lan.js';
import { seabiosAvailable } from '../board/board-helpers.js';
import { checkNat, checkPortForward, checkPoweroff, checkShell } from './linux-checks.js';
import { LINUX_BOOT_MS, LinuxGuest, linuxIso } from './linux-guest.js';

const iso = linuxIso();
const ready = iso !== null && seabiosAvailable();
let guest: LinuxGuest | null = null;
/** The machine state at the shell prompt, before any network set-up. */
let bootedState: Uint8Array | null = null;

afterAll(() => guest?.close());

describe.runIf(ready)('Linux CD, SeaBIOS, NE2000-PCI on the NAT', () => {
  it('boots to the marker on COM1 and screen and answers uname and /proc/cpuinfo', async () => {
    guest = await LinuxGuest.start(iso!, { firmware: 'seabios', from: 'cd', nic: 'ne2k-pci', forwards: [{ protocol: 'tcp', hostPort: 0, guestPort: 7000 }] });
    await checkShell(guest);
    bootedState = guest.machine.saveState();
    // Issue 6 acceptance 3 for this guest: save → load → save is byte-identical.
    guest.machine.loadState(bootedState);
    expect(Buffer.from(guest.machine.saveState()).equals(Buffer.from(bootedState))).toBe(true);
  }, LINUX_BOOT_MS + 300_000);

  it('survives a snapshot revert: timers, serial port and APIC keep working', async () => {
    const g = guest!;
    const state = g.machine.saveState();
    expect(await g.sh('echo $((6*7))')).toBe('42');
    g.machine.loadState(state);
    // The reverted guest sits at the prompt it had; the same command answers again.
    expect(await g.sh('echo $((6*7))')).toBe('42');
    expect(await g.sh('sleep 1; echo slept')).toBe('slept');
  }, 300_000);

  it('gets its address by DHCP and talks HTTP, UDP and a 10 MB TCP upload through the NAT', async () => {
    await checkNat(guest!);
  }, 1_800_000);

  it('forwards a host port to a server in the guest, data both ways', async () => {
    const [hostPort] = await guest!.network!.forwards;
    await checkPortForward(guest!, hostPort);
  }, 600_000);

  it('two guests on one LAN segment ping each other with static addresses', async () => {
    const lan = new LanSwitch();
    const a = await LinuxGuest.start(iso!, { firmware: 'seabios', from: 'cd', nic: 'ne2k-pci', lanPort: lan.connect('seg') });
    const b = await LinuxGuest.start(iso!, { firmware: 'seabios', from: 'cd', nic: 'ne2k-pci', lanPort: lan.connect('seg') });
    try {
      // Both continue from the booted state; each then takes its own MAC and address.
      a.machine.loadState(bootedState!);
      b.machine.loadState(bootedState!);
      const setup = (n: number) => `ip link set eth0 down; ip link set eth0 address 52:54:00:aa:00:0${n}; ip addr add 192.168.77.${n}/24 dev eth0; ip link set eth0 up`;
      await a.sh(setup(1));
      await b.sh(setup(2));
      // Run both machines together while A pings B.
      a.send('ping -c 3 -W 5 192.168.77.2; echo PING-DONE $?');
      const deadline = Date.now() + 300_000;
      while (!/PING-DONE \d/.test(a.serialText) && Date.now() < deadline) {
        await a.slice();
        await b.slice();
      }
      expect(a.serialText).toMatch(/3 packets transmitted, 3 packets received/);
      expect(a.serialText).toMatch(/PING-DONE 0/);
    } finally {
      a.close();
      b.close();
    }
  }, 600_000);

  it('poweroff -f ends the machine through ACPI', async () => {
    await checkPoweroff(guest!);
  }, 300_000);
});
