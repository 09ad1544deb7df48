// The shared Linux guest with the project's own BIOS (the default firmware), from the CD and
// as an IDE disk: the same boot-suite checks as with SeaBIOS (#4, #5 acceptance 1).
import { afterEach, describe, it } from 'vitest';
import { checkPoweroff, checkShell } from './linux-checks.js';
import { LINUX_BOOT_MS, LinuxGuest, linuxIso } from './linux-guest.js';

const iso = linuxIso();
let guest: LinuxGuest | null = null;

afterEach(() => {
  guest?.close();
  guest = null;
});

describe.runIf(iso !== null)('Linux with the builtin BIOS', () => {
  for (const from of ['cd', 'ide'] as const) {
    it(`boots from ${from === 'cd' ? 'the CD' : 'an IDE disk'}, answers on COM1 and powers off through ACPI`, async () => {
      guest = await LinuxGuest.start(iso!, { firmware: 'builtin', from });
      await checkShell(guest);
      await checkPoweroff(guest);
    }, LINUX_BOOT_MS + 600_000);
  }
});
