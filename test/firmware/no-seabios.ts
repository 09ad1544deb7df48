// Making the SeaBIOS package invisible to this test file's process (#5 acceptance 1: the
// built-in firmware works on a machine without the seabios package, even though CI installs
// it for other tests). Every SeaBIOS lookup goes through main/run/setup.ts's seabiosFiles(),
// which honours PERSEUS_SEABIOS_DIR; vitest runs each test file in its own fork, so this
// affects only the file that calls it.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SEABIOS_DIR_ENV, loadFirmware } from '../../main/run/setup.js';

/** Point the SeaBIOS lookup at a new empty directory; returns it. */
export function hideSeabios(): string {
  const dir = mkdtempSync(join(tmpdir(), 'perseus-no-seabios-'));
  process.env[SEABIOS_DIR_ENV] = dir;
  return dir;
}

/** Throws unless SeaBIOS is really out of reach (the directory is empty and loading fails). */
export function assertSeabiosHidden(dir: string): void {
  if (readdirSync(dir).length !== 0) throw new Error(`${dir} is not empty`);
  try {
    loadFirmware('seabios');
  } catch {
    return;
  }
  throw new Error('SeaBIOS still loads although its directory is hidden');
}
