// Acceptance (issue 6, FreeDOS hard disk; issue 7, suspend survives a restart) through the
// service and the hypervisor running the real PC in its worker: boot a writable copy of the
// FreeDOS 32 MB disk to C:\>, take S1, write C:\X.TXT and list the folder, take S2; reverting
// to S1 brings back S1's screen and a disk without X.TXT (read from the image), reverting to
// S2 brings it back; deleting S1 keeps S2 intact. Then suspend, close the app, open it again:
// the VM is still suspended and powering it on shows the same screen.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, expect, test } from 'vitest';
import type { VmRecord } from '../../core/api/contract.js';
import { openDiskImage } from '../../main/disk/index.js';
import type { HypervisorOptions } from '../../main/hypervisor/hypervisor.js';
import { openAppCore, type AppCore } from '../../main/service/app.js';
import { SnapshotStore, vmBaseDisks } from '../../main/snapshot/index.js';
import { SEABIOS_BIOS } from '../../main/run/setup.js';
import { firstPartitionLba, fatRootNames } from '../helpers/fat.js';
import { requireResource, sharedFile } from '../helpers/shared.js';
import { buildVmWorkerWithMachine } from './worker-build.js';
import { until } from '../helpers/until.js';

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });


/** Root-folder names of the VM's disk as it is now (the top of its snapshot chain). */
function rootNames(core: AppCore, vm: VmRecord): string[] {
  const chains = new SnapshotStore(core.library).diskChains(vm.id, vmBaseDisks(vm));
  const image = openDiskImage(chains.primaryMaster![0]!, { readOnly: true });
  try {
    return fatRootNames(image, firstPartitionLba(image));
  } finally {
    image.close();
  }
}

test('FreeDOS on a hard disk: snapshots S1/S2, revert both ways, delete S1; suspend survives an app restart', async () => {
  if (!requireResource(`Debian package seabios (${SEABIOS_BIOS})`, existsSync(SEABIOS_BIOS))) return;
  const gz = sharedFile('guests', 'freedos-hdd-32m.img.gz');
  if (!gz) return;
  const dir = mkdtempSync(join(tmpdir(), 'perseus-hv-snap-'));
  dirs.push(dir);
  const disk = join(dir, 'freedos-hdd.img');
  writeFileSync(disk, gunzipSync(readFileSync(gz)));
  const dataDir = join(dir, 'data');
  const hypervisor: HypervisorOptions = { workerUrl: buildVmWorkerWithMachine(), statusIntervalMs: 200 };

  let core = openAppCore({ dataDir, transport: 'web', hypervisor });
  try {
    let s = core.service;
    const vm = await s.handle('createVm', {
      name: 'FreeDOS HDD', memoryMiB: 16, firmware: 'seabios', bootOrder: 'c', floppyA: null, floppyB: null,
      nic: { model: 'none', network: 'none' },
      ide: { primaryMaster: { kind: 'disk', path: disk }, primarySlave: null, secondaryMaster: null, secondarySlave: null },
    });
    const text = () => s.handle('getScreenText', { id: vm.id });
    const settle = async () => {
      // The prompt is idle: wait until two reads a moment apart agree.
      let last = '';
      return until('a still screen', async () => {
        await new Promise((r) => setTimeout(r, 300));
        const now = await text();
        const still = now === last;
        last = now;
        return still && now;
      });
    };
    await s.handle('powerOn', { id: vm.id });
    await until('the C:\\> prompt', async () => /C:\\>\s*$/m.test(await text()), 120_000);
    const s1Text = await settle();
    const s1 = await s.handle('takeSnapshot', { id: vm.id, name: 'S1' });
    expect(s1.hasState).toBe(true);

    await s.handle('sendInput', { id: vm.id, events: [{ type: 'text', text: 'echo hi > C:\\X.TXT\n' }] });
    await s.handle('sendInput', { id: vm.id, events: [{ type: 'text', text: 'dir\n' }] });
    await until('the dir listing', async () => /X\s+TXT/.test(await text()) && /bytes free/i.test(await text()));
    const s2Text = await settle();
    expect(s2Text).not.toBe(s1Text);
    const s2 = await s.handle('takeSnapshot', { id: vm.id, name: 'S2' });
    expect(s2.parentId).toBe(s1.id);

    // Revert to S1: S1's screen, and the disk has no X.TXT.
    await s.handle('revertSnapshot', { id: vm.id, snapshotId: s1.id });
    expect(await text()).toBe(s1Text);
    await s.handle('pause', { id: vm.id });
    expect(rootNames(core, vm)).not.toContain('X.TXT');
    await s.handle('resume', { id: vm.id });
    // The guest agrees: its own dir lists no X.TXT.
    await s.handle('sendInput', { id: vm.id, events: [{ type: 'text', text: 'dir\n' }] });
    const listing = await until('dir after revert to S1', async () => { const t = await text(); return /bytes free/i.test(t) && t; });
    expect(listing).toMatch(/KERNEL\s+SYS/);
    expect(listing).not.toMatch(/X\s+TXT/);

    // Revert to S2: it is there again.
    await s.handle('revertSnapshot', { id: vm.id, snapshotId: s2.id });
    expect(await text()).toBe(s2Text);
    await s.handle('pause', { id: vm.id });
    expect(rootNames(core, vm)).toContain('X.TXT');
    await s.handle('resume', { id: vm.id });

    // Delete S1: S2 is intact (revert to it once more, running on after S1 went).
    await s.handle('sendInput', { id: vm.id, events: [{ type: 'text', text: 'cls\n' }] });
    await until('a cleared screen', async () => !(await text()).includes('bytes free'));
    await s.handle('deleteSnapshot', { id: vm.id, snapshotId: s1.id });
    expect((await s.handle('listSnapshots', { id: vm.id })).map((n) => [n.name, n.parentId])).toEqual([['S2', null]]);
    await s.handle('revertSnapshot', { id: vm.id, snapshotId: s2.id });
    expect(await text()).toBe(s2Text);
    await s.handle('pause', { id: vm.id });
    expect(rootNames(core, vm)).toContain('X.TXT');
    await s.handle('resume', { id: vm.id });

    // The guest still works after all that: a command runs.
    await s.handle('sendInput', { id: vm.id, events: [{ type: 'text', text: 'ver\n' }] });
    await until('ver output', async () => /C:\\>ver\s+FreeCom version/.test(await text())).catch(async (e) => {
      throw new Error(`${(e as Error).message}; the screen:\n${await text()}`);
    });
    const beforeSuspend = await settle();

    // Suspend, close the app, open it again: still suspended; power on continues exactly there.
    expect((await s.handle('suspend', { id: vm.id })).state).toBe('suspended');
    await core.close();
    core = openAppCore({ dataDir, transport: 'web', hypervisor });
    s = core.service;
    expect((await s.handle('getVm', { id: vm.id })).state).toBe('suspended');
    expect((await s.handle('listVms', {})).find((v) => v.id === vm.id)?.state).toBe('suspended');
    expect((await s.handle('powerOn', { id: vm.id })).state).toBe('running');
    expect(await text()).toBe(beforeSuspend);
    await s.handle('sendInput', { id: vm.id, events: [{ type: 'text', text: 'dir\n' }] });
    await until('dir after resume', async () => /X\s+TXT/.test(await text()) && /bytes free/i.test(await text()));
    await s.handle('powerOff', { id: vm.id });
  } finally {
    await core.close();
  }
}, 300_000);
