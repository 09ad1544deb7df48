// The shared Linux guest with the project's own BIOS (the default firmware): the same boot-suite
// checks as with SeaBIOS (#4, #5 acceptance 1). One file per boot medium, so the two boots run
// in parallel.
import { afterEach, describe, it } from 'vitest';
import { checkPoweroff, checkShell } from './linux-checks.js';
import { LINUX_BOOT_MS, LinuxGuest, linuxIso } from './linux-guest.js';
import { assertSeabiosHidden, hideSeabios } from '../firmware/no-seabios.js';

export function builtinLinuxSuite(from: 'cd' | 'ide'): void {
  // As on a machine without the seabios package (#5 acceptance 1): SeaBIOS is out of reach.
  const noSeabios = hideSeabios();
  const iso = linuxIso();
  let guest: LinuxGuest | null = null;
  afterEach(() => {
    guest?.close();
    guest = null;
  });
  describe.runIf(iso !== null)(`Linux with the builtin BIOS from ${from === 'cd' ? 'the CD' : 'an IDE disk'}`, () => {
    it('boots to the marker on COM1 and screen, answers uname and /proc/cpuinfo, powers off through ACPI', async () => {
      assertSeabiosHidden(noSeabios);
      guest = await LinuxGuest.start(iso!, { firmware: 'builtin', from });
      await checkShell(guest);
      await checkPoweroff(guest);
    }, LINUX_BOOT_MS + 600_000);
  });
}
