// Removable media while the guest runs (issue 7): FreeDOS on its hard disk lists floppy A:,
// the floppy is swapped through the API, and the guest's next `dir A:` reads the new disk
// (with the built-in BIOS, which reports the FDC's change line, the new listing at once;
// with SeaBIOS the new boot sector). The settings and the recent list follow.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, expect, test } from 'vitest';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import { openAppCore } from '../../main/service/app.js';
import { SEABIOS_BIOS } from '../../main/run/setup.js';
import { fatRootNames } from '../helpers/fat.js';
import { requireResource, sharedFile } from '../helpers/shared.js';
import { buildVmWorkerWithMachine } from './worker-build.js';
import { until } from '../helpers/until.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });


/** A root-folder file name on the floppy image, as DOS's dir prints it ("NAME     EXT", or "NAME.EXT" with /W). */
function dirPattern(name: string): RegExp {
  const [base, ext = ''] = name.split('.');
  return new RegExp(`${base}(\\s+|\\.)${ext}\\b`);
}

interface Images { disk: string; floppy1: string; floppy2: string; serial1: string; serial2: string; only1: string; only2: string }

/** Writable copies of the FreeDOS disk and two floppies, with what tells the floppies apart. */
function images(): Images | null {
  const gz = sharedFile('guests', 'freedos-hdd-32m.img.gz');
  const first = sharedFile('guests', 'freedos-boot-1.4MB.img');
  const second = sharedFile('guests', 'mikeos-4.6.1.flp');
  if (!gz || !first || !second) return null;
  const dir = mkdtempSync(join(tmpdir(), 'perseus-hv-media-'));
  dirs.push(dir);
  const disk = join(dir, 'freedos-hdd.img');
  writeFileSync(disk, gunzipSync(readFileSync(gz)));
  const floppy1 = join(dir, 'one.img');
  const floppy2 = join(dir, 'two.img');
  copyFileSync(first, floppy1);
  copyFileSync(second, floppy2);
  // The volume serial numbers in the two boot sectors (as DOS prints them, XXXX-XXXX).
  const serial = (path: string) => {
    const b = readFileSync(path);
    expect(b[0x26]).toBe(0x29); // extended BPB
    const v = b.readUInt32LE(0x27).toString(16).toUpperCase().padStart(8, '0');
    return `${v.slice(0, 4)}-${v.slice(4)}`;
  };
  const names = (path: string) => fatRootNames(new MemoryBlockDevice(new Uint8Array(readFileSync(path))), 0);
  const names1 = names(floppy1);
  const names2 = names(floppy2);
  const only1 = names1.find((n) => n.includes('.') && !names2.includes(n))!;
  const only2 = names2.find((n) => n.includes('.') && !names1.includes(n))!;
  const img = { disk, floppy1, floppy2, serial1: serial(floppy1), serial2: serial(floppy2), only1, only2 };
  expect(img.serial1).not.toBe(img.serial2);
  expect(only1 && only2).toBeTruthy();
  return img;
}

/** Boots FreeDOS from its hard disk with floppy 1 in A:, lists A:, swaps in floppy 2, lists again. */
async function swapFloppy(img: Images, firmware: 'builtin' | 'seabios', waitMs: number): Promise<{ before: string; after: string }> {
  const core = openAppCore({ dataDir: join(dirname(img.disk), `data-${firmware}`), transport: 'web', hypervisor: { workerUrl: buildVmWorkerWithMachine() } });
  try {
    const s = core.service;
    const vm = await s.handle('createVm', {
      name: 'FreeDOS media', memoryMiB: 16, firmware, bootOrder: 'c', floppyA: img.floppy1, floppyB: null,
      nic: { model: 'none', network: 'none' },
      ide: { primaryMaster: { kind: 'disk', path: img.disk }, primarySlave: null, secondaryMaster: null, secondarySlave: null },
    });
    const text = () => s.handle('getScreenText', { id: vm.id });
    const typeAndWait = async (cmd: string, done: RegExp) => {
      await s.handle('sendInput', { id: vm.id, events: [{ type: 'text', text: 'cls\n' }] });
      await until('a cleared screen', async () => (await text()).trim() === 'C:\\>');
      await s.handle('sendInput', { id: vm.id, events: [{ type: 'text', text: `${cmd}\n` }] });
      return until(`the output of ${cmd}`, async () => { const t = await text(); return done.test(t) && t; });
    };
    await s.handle('powerOn', { id: vm.id });
    await until('the C:\\> prompt', async () => /C:\\>\s*$/m.test(await text()), 120_000);
    const before = await typeAndWait('dir /w A:', /bytes free|not ready|error/i);
    const rec = await s.handle('insertMedia', { id: vm.id, drive: 'fda', path: img.floppy2 });
    expect(rec.floppyA).toBe(img.floppy2);
    await new Promise((r) => setTimeout(r, waitMs));
    const after = await typeAndWait('dir /w A:', /bytes free|not ready|error/i);
    expect((await s.handle('listRecentImages', { kind: 'floppy' }))[0]?.path).toBe(img.floppy2);
    expect((await s.handle('getVm', { id: vm.id })).floppyA).toBe(img.floppy2);
    await s.handle('powerOff', { id: vm.id });
    return { before, after };
  } finally {
    await core.close();
  }
}

test('a floppy swapped while FreeDOS runs on the built-in BIOS: DOS sees the change line and lists the new disk', async () => {
  if (!requireResource(`Debian package seabios (${SEABIOS_BIOS})`, existsSync(SEABIOS_BIOS))) return;
  const img = images();
  if (!img) return;
  // INT 13h AH=16h reports the FDC's change line, so DOS drops its cached directory at once.
  const { before, after } = await swapFloppy(img, 'builtin', 0);
  expect(before).toContain(`Volume Serial Number is ${img.serial1}`);
  expect(before).toMatch(dirPattern(img.only1));
  expect(after, after).toContain(`Volume Serial Number is ${img.serial2}`);
  expect(after).toMatch(dirPattern(img.only2));
  expect(after).not.toMatch(dirPattern(img.only1));
}, 240_000);

test('a floppy swapped while FreeDOS runs on SeaBIOS: DOS reads the new boot sector', async () => {
  if (!requireResource(`Debian package seabios (${SEABIOS_BIOS})`, existsSync(SEABIOS_BIOS))) return;
  const img = images();
  if (!img) return;
  // SeaBIOS reports no change line (INT 13h AH=15h), so DOS goes by time: after 2 s without
  // access it reads the boot sector again and prints the new serial number (its directory
  // cache may still list the old disk's files for a while, as on QEMU).
  const { before, after } = await swapFloppy(img, 'seabios', 2500);
  expect(before).toContain(`Volume Serial Number is ${img.serial1}`);
  expect(after, after).toContain(`Volume Serial Number is ${img.serial2}`);
}, 240_000);
