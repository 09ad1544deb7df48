// The shared Linux guest as a raw IDE hard disk (the ISO is hybrid) with SeaBIOS and an
// RTL8139 on the NAT: the boot-suite checks (#4) and the network checks (#8) for the second NIC.
import { afterAll, describe, it } from 'vitest';
import { seabiosAvailable } from '../board/board-helpers.js';
import { checkNat, checkPoweroff, checkShell } from './linux-checks.js';
import { LINUX_BOOT_MS, LinuxGuest, linuxIso } from './linux-guest.js';

const iso = linuxIso();
const ready = iso !== null && seabiosAvailable();
let guest: LinuxGuest | null = null;

afterAll(() => guest?.close());

describe.runIf(ready)('Linux IDE disk, SeaBIOS, RTL8139 on the NAT', () => {
  it('boots to the marker on COM1 and screen and answers uname and /proc/cpuinfo', async () => {
    guest = await LinuxGuest.start(iso!, { firmware: 'seabios', from: 'ide', nic: 'rtl8139' });
    await checkShell(guest);
  }, LINUX_BOOT_MS + 300_000);

  it('gets its address by DHCP and talks HTTP, UDP and a 10 MB TCP upload through the NAT', async () => {
    await checkNat(guest!);
  }, 1_800_000);

  it('poweroff -f ends the machine through ACPI', async () => {
    await checkPoweroff(guest!);
  }, 300_000);
});
