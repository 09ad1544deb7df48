// First run: a fresh data directory gets the demo VM (the boot-sector guest the project wrote
// itself, resources/demo/demo-floppy.mjs), written into <dataDir>/demo/ and powered on, so the
// app shows a running guest within seconds and with no download.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PerseusService } from '../../core/api/contract.js';

export const DEMO_VM_NAME = 'Perseus Demo';

/** resources/demo/demo-floppy.mjs of this checkout or package (found from source and dist/ alike). */
export function findDemoGenerator(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'resources', 'demo', 'demo-floppy.mjs');
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return null;
}

/** Writes the demo floppy, creates the demo VM and powers it on; returns the VM's id. */
export async function seedDemoVm(service: PerseusService, dataDir: string, powerOn = true): Promise<string> {
  const generator = findDemoGenerator();
  if (!generator) throw new Error('the demo guest (resources/demo/demo-floppy.mjs) is missing from this installation');
  const { demoFloppyImage } = (await import(pathToFileURL(generator).href)) as { demoFloppyImage(): Uint8Array };
  const image = join(dataDir, 'demo', 'perseus-demo.img');
  mkdirSync(dirname(image), { recursive: true });
  writeFileSync(image, demoFloppyImage());
  const vm = await service.handle('createVm', {
    name: DEMO_VM_NAME,
    osPreset: 'other',
    memoryMiB: 4,
    floppyA: image,
    bootOrder: 'a',
    nic: { model: 'none', network: 'none' },
    notes: 'A demo guest written for Perseus Workstation: a boot sector that draws a splash screen, shows the RTC time and echoes the keys you type.',
  });
  if (powerOn) await service.handle('powerOn', { id: vm.id });
  return vm.id;
}
