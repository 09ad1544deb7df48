// Removable media while the guest runs (issue 7): FreeDOS on its hard disk lists floppy A:,
// the floppy is swapped through the API, and the guest's next `dir A:` reads the new disk's
// boot sector (its volume serial number). The settings and the recent list follow.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, expect, test } from 'vitest';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import { openAppCore } from '../../main/service/app.js';
import { SEABIOS_BIOS } from '../../main/run/setup.js';
import { fatRootNames } from '../helpers/fat.js';
import { requireResource, sharedFile } from '../helpers/shared.js';
import { buildVmWorkerWithMachine } from './worker-build.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

async function until<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A root-folder file name on the floppy image, as DOS's dir prints it ("NAME     EXT"). */
function dirPattern(name: string): RegExp {
  const [base, ext = ''] = name.split('.');
  return new RegExp(`${base}\\s+${ext}\\b`);
}

test('a floppy swapped while FreeDOS runs: the guest reads the new disk', async () => {
  if (!requireResource(`Debian package seabios (${SEABIOS_BIOS})`, existsSync(SEABIOS_BIOS))) return;
  const gz = sharedFile('guests', 'freedos-hdd-32m.img.gz');
  const first = sharedFile('guests', 'freedos-boot-1.4MB.img');
  const second = sharedFile('guests', 'mikeos-4.6.1.flp');
  if (!gz || !first || !second) return;
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
  const serial1 = serial(floppy1);
  const serial2 = serial(floppy2);
  expect(serial1).not.toBe(serial2);
  const only1 = fatRootNames(new MemoryBlockDevice(new Uint8Array(readFileSync(floppy1))), 0).find((n) => n.endsWith('.SYS'))!;

  const core = openAppCore({ dataDir: join(dir, 'data'), transport: 'web', hypervisor: { workerUrl: buildVmWorkerWithMachine() } });
  try {
    const s = core.service;
    const vm = await s.handle('createVm', {
      name: 'FreeDOS media', memoryMiB: 16, firmware: 'seabios', bootOrder: 'c', floppyA: floppy1, floppyB: null,
      nic: { model: 'none', network: 'none' },
      ide: { primaryMaster: { kind: 'disk', path: disk }, primarySlave: null, secondaryMaster: null, secondarySlave: null },
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

    let out = await typeAndWait('dir A:', /bytes free|not ready|error/i);
    expect(out).toContain(`Volume Serial Number is ${serial1}`);
    expect(out).toMatch(dirPattern(only1));

    const rec = await s.handle('insertMedia', { id: vm.id, drive: 'fda', path: floppy2 });
    expect(rec.floppyA).toBe(floppy2);
    // DOS checks for a new disk after 2 s without access (SeaBIOS reports no change line, so
    // DOS goes by time): it then reads the new boot sector, whose serial number it prints.
    // (Its directory cache may still list the old disk's files for a while, as on QEMU.)
    await new Promise((r) => setTimeout(r, 2500));
    out = await typeAndWait('dir A:', /bytes free|not ready|error/i);
    expect(out, out).toContain(`Volume Serial Number is ${serial2}`);
    expect((await s.handle('listRecentImages', { kind: 'floppy' }))[0]?.path).toBe(floppy2);
    expect((await s.handle('getVm', { id: vm.id })).floppyA).toBe(floppy2);
    await s.handle('powerOff', { id: vm.id });
  } finally {
    await core.close();
  }
}, 240_000);
