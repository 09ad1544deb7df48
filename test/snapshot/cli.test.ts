// `perseus snapshot` in-process: disks-only snapshots of a powered-off VM with a raw disk.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { main, type CliIO } from '../../main/cli/index.js';
import { createDiskImage, openDiskImage } from '../../main/disk/index.js';
import { VmLibrary } from '../../main/library/index.js';
import { SnapshotStore, vmBaseDisks, type SnapshotInfo } from '../../main/snapshot/index.js';

const dir = mkdtempSync(join(tmpdir(), 'perseus-snapcli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const dataDir = join(dir, 'data');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const stdin = new PassThrough();
  stdin.end();
  const io: CliIO = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    stdin,
    interactive: false,
    env: { PERSEUS_DATA_DIR: dataDir },
    cwd: dir,
  };
  const code = await main(argv, io);
  return { code, out, err };
}

/** Sector 0 of the VM's current disk, as the VM would see it at its next power-on. */
function firstSector(lib: VmLibrary, vmId: string): number {
  const store = new SnapshotStore(lib);
  const disks = store.openDisks(vmId, vmBaseDisks(lib.get(vmId)));
  const buf = new Uint8Array(512);
  disks.primaryMaster!.read(0, buf);
  for (const d of Object.values(disks)) d.close();
  return buf[0]!;
}

function writeFirstSector(lib: VmLibrary, vmId: string, value: number): void {
  const store = new SnapshotStore(lib);
  const disks = store.openDisks(vmId, vmBaseDisks(lib.get(vmId)));
  disks.primaryMaster!.write(0, new Uint8Array(512).fill(value));
  for (const d of Object.values(disks)) d.close();
}

describe('perseus snapshot', () => {
  it('take, list, revert, rename, delete on a powered-off VM; refuses a running one', async () => {
    const hda = join(dir, 'hda.img');
    createDiskImage(hda, 'raw', 1024 * 1024);
    const img = openDiskImage(hda);
    img.write(0, new Uint8Array(512).fill(0x11));
    img.close();
    expect((await cli('vm', 'create', 'Snappy', '--preset', 'dos', '--hda', hda)).code).toBe(0);

    const t1 = await cli('snapshot', 'take', 'Snappy', 'clean', '-d', 'fresh disk', '--json');
    expect(t1.err).toBe('');
    expect(t1.code).toBe(0);
    const s1 = JSON.parse(t1.out) as SnapshotInfo;
    expect(s1.hasState).toBe(false);
    expect(s1.description).toBe('fresh disk');
    expect(s1.disks.primaryMaster).toEqual([hda]);

    const lib = VmLibrary.open(dataDir);
    try {
      const vm = lib.lookup('Snappy');
      writeFirstSector(lib, vm.id, 0x22);
      const t2 = await cli('snapshot', 'take', 'Snappy', 'changed', '--json');
      expect(t2.code).toBe(0);
      const s2 = JSON.parse(t2.out) as SnapshotInfo;
      expect(s2.parentId).toBe(s1.id);
      writeFirstSector(lib, vm.id, 0x33);

      expect((await cli('snapshot', 'revert', 'Snappy', 'clean')).code).toBe(0);
      expect(firstSector(lib, vm.id)).toBe(0x11);
      // The base image itself was never written after the first snapshot.
      const base = openDiskImage(hda, { readOnly: true });
      const buf = new Uint8Array(512);
      base.read(0, buf);
      base.close();
      expect(buf[0]).toBe(0x11);

      expect((await cli('snapshot', 'revert', 'Snappy', s2.id.slice(0, 8))).code).toBe(0);
      expect(firstSector(lib, vm.id)).toBe(0x22);

      const listed = await cli('snapshot', 'list', 'Snappy');
      expect(listed.code).toBe(0);
      expect(listed.out).toMatch(/^ {2}clean .*disks only.*fresh disk\n\* {3}changed /m);

      expect((await cli('snapshot', 'rename', 'Snappy', 'changed', 'second', '--json')).code).toBe(0);
      expect((await cli('snapshot', 'delete', 'Snappy', 'clean')).code).toBe(0);
      const after = JSON.parse((await cli('snapshot', 'list', 'Snappy', '--json')).out) as SnapshotInfo[];
      expect(after.map((s) => [s.name, s.parentId, s.current])).toEqual([['second', null, true]]);
      // Deleting the parent did not change the child's disk.
      expect((await cli('snapshot', 'revert', 'Snappy', 'second')).code).toBe(0);
      expect(firstSector(lib, vm.id)).toBe(0x22);

      const missing = await cli('snapshot', 'revert', 'Snappy', 'nope', '--json');
      expect(missing.code).toBe(3);
      expect(JSON.parse(missing.out).error.code).toBe('not-found');

      lib.setPowerState(vm.id, 'running');
      const busy = await cli('snapshot', 'take', 'Snappy', 'while on');
      expect(busy.code).toBe(1);
      expect(busy.err).toMatch(/power it off first/);
      expect(new SnapshotStore(lib).list(vm.id)).toHaveLength(1);
      lib.setPowerState(vm.id, 'off');

      expect((await cli('snapshot', 'take', 'Snappy')).code).toBe(2);
    } finally {
      lib.close();
    }
  });
});
