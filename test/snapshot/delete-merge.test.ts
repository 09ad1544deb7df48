// Deleting snapshots folds their disk layers into what depends on them: every remaining
// snapshot's disk (all sectors read through its chain) and the VM's current disk hash the
// same before and after deletes of leaf, middle, two-children, root and current nodes, and
// the deleted layers' files are gone (or kept as a shared base while two images need them).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Machine } from '../../core/board/machine.js';
import { createDiskImage, foldLayer, openDiskImage, qcow2Backing } from '../../main/disk/index.js';
import { VmLibrary } from '../../main/library/index.js';
import { SnapshotStore, type LiveVm } from '../../main/snapshot/index.js';

const dir = mkdtempSync(join(tmpdir(), 'perseus-snapmerge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DISK = 4 * 1024 * 1024;
let seed = 0x2468ace1;
function rand(n: number): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed >>> 8) % n;
}

/** SHA-256 of every byte an image shows (through its backing chain). */
function viewHash(path: string): string {
  const image = openDiskImage(path, { readOnly: true });
  const h = createHash('sha256');
  const buf = new Uint8Array(256 * 1024);
  for (let pos = 0; pos < image.size; pos += buf.length) {
    image.read(pos, buf);
    h.update(buf);
  }
  image.close();
  return h.digest('hex');
}

/** Random sector writes: some inside one 64 KiB cluster, some spanning, some whole clusters. */
function scribble(write: (offset: number, data: Uint8Array) => void, count: number): void {
  for (let i = 0; i < count; i++) {
    const sectors = [1, 3, 128, 200][rand(4)]!;
    const at = rand(DISK / 512 - sectors) * 512;
    const data = new Uint8Array(sectors * 512);
    for (let k = 0; k < data.length; k += 64) data[k] = rand(256);
    write(at, data);
  }
}

function qemuImgCheck(path: string): void {
  try {
    execFileSync('qemu-img', ['check', '-q', path], { stdio: 'pipe' });
  } catch (e) {
    const err = e as { code?: string; stdout?: Buffer; stderr?: Buffer };
    if (err.code === 'ENOENT') return; // qemu-utils not installed: the interop suite reports it
    throw new Error(`qemu-img check ${path}: ${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
}

describe('snapshot delete merges layers', () => {
  it('no remaining snapshot or the current disk changes by a byte; merged layers are removed', () => {
    const lib = VmLibrary.open(join(dir, 'data'));
    try {
      const hda = join(dir, 'base.img');
      createDiskImage(hda, 'raw', DISK);
      const baseImage = openDiskImage(hda);
      scribble((o, d) => baseImage.write(o, d), 40);
      baseImage.close();
      const vm = lib.create({ name: 'merge' });
      const store = new SnapshotStore(lib);
      const base = { primaryMaster: hda };
      const change = () => {
        const disks = store.openDisks(vm.id, base);
        scribble((o, d) => disks.primaryMaster!.write(o, d), 25);
        for (const d of Object.values(disks)) d.close();
      };
      const take = (name: string) => {
        change();
        return store.take(vm.id, name, { baseDisks: base }).id;
      };
      // R → A → B → C → F, and A → D → E (current, with changes after E).
      const R = take('R');
      const A = take('A');
      take('B');
      take('C');
      take('F');
      store.revert(vm.id, A);
      take('D');
      take('E');
      change();
      expect(store.resolve(vm.id, 'B').parentId).toBe(A);

      const hashes = new Map<string, string>();
      for (const s of store.list(vm.id)) hashes.set(s.name, viewHash(s.disks.primaryMaster![0]!));
      const headHash = viewHash(store.diskChains(vm.id, base).primaryMaster![0]!);
      expect(new Set(hashes.values()).size).toBe(hashes.size);
      const sdir = store.snapshotDir(vm.id);
      const files = () => readdirSync(sdir).filter((n) => n.endsWith('.qcow2')).length;

      const verify = (deleted: string, filesAfter: number) => {
        for (const s of store.list(vm.id)) {
          expect(viewHash(s.disks.primaryMaster![0]!), `${s.name} after deleting ${deleted}`).toBe(hashes.get(s.name));
          for (const p of s.disks.primaryMaster!) expect(existsSync(p), p).toBe(true);
        }
        const chain = store.diskChains(vm.id, base).primaryMaster!;
        expect(viewHash(chain[0]!), `current disk after deleting ${deleted}`).toBe(headHash);
        // The chains the database lists are the chains the files name.
        for (const c of [chain, ...store.list(vm.id).map((s) => s.disks.primaryMaster!)]) {
          for (let i = 0; i + 1 < c.length; i++) expect(qcow2Backing(c[i]!).path, `${c[i]} backing`).toBe(c[i + 1]);
        }
        expect(files(), `qcow2 files after deleting ${deleted}`).toBe(filesAfter);
        for (const n of readdirSync(sdir)) if (n.endsWith('.qcow2')) qemuImgCheck(join(sdir, n));
      };
      // Files now: tops of A B C F D E (R's top is the raw base) + the current top = 7.
      expect(files()).toBe(7);
      store.delete(vm.id, 'B'); // middle, one child: folded into C
      hashes.delete('B');
      verify('B', 6);
      store.delete(vm.id, 'A'); // two children (C, D): kept as a shared base
      hashes.delete('A');
      verify('A', 6);
      expect(store.resolve(vm.id, 'C').parentId).toBe(R);
      store.delete(vm.id, 'F'); // leaf
      hashes.delete('F');
      verify('F', 5);
      store.delete(vm.id, 'C'); // leaf; A's shared layer now has one dependent (D) and folds
      hashes.delete('C');
      verify('C', 3);
      store.delete(vm.id, 'R'); // root: its layer is the VM's own image, which stays
      hashes.delete('R');
      verify('R', 3);
      expect(existsSync(hda)).toBe(true);
      store.delete(vm.id, 'E'); // the current node (VM off): folded into the current top
      hashes.delete('E');
      verify('E', 2);
      expect(store.currentId(vm.id)).toBe(store.resolve(vm.id, 'D').id);

      // Each remaining snapshot still reverts to its own disk.
      store.revert(vm.id, 'D');
      expect(viewHash(store.diskChains(vm.id, base).primaryMaster![0]!)).toBe(hashes.get('D'));
    } finally {
      lib.close();
    }
  });

  it('a running VM: deleting its current node folds into the open disk, which keeps working', () => {
    const lib = VmLibrary.open(join(dir, 'data-live'));
    try {
      const hda = join(dir, 'live.img');
      createDiskImage(hda, 'raw', DISK);
      const vm = lib.create({ name: 'live' });
      lib.setPowerState(vm.id, 'running');
      const store = new SnapshotStore(lib);
      const disks = store.openDisks(vm.id, { primaryMaster: hda });
      const machine = {
        saveState: () => new Uint8Array(64),
        updateScreen: () => [],
        screen: () => ({ width: 0, height: 0, rgba: new Uint8ClampedArray(0), text: '', mode: 'text 80x25' }),
      } as unknown as Machine;
      const live: LiveVm = { machine, disks };
      const write = (o: number, d: Uint8Array) => disks.primaryMaster!.write(o, d);
      scribble(write, 20);
      store.take(vm.id, 'one', { live });
      scribble(write, 20);
      const two = store.take(vm.id, 'two', { live });
      scribble(write, 20);
      const hashOf = (img: { read(o: number, b: Uint8Array): void }) => {
        const h = createHash('sha256');
        const buf = new Uint8Array(DISK);
        img.read(0, buf);
        return h.update(buf).digest('hex');
      };
      const before = hashOf(disks.primaryMaster!);
      const oneHash = viewHash(store.resolve(vm.id, 'one').disks.primaryMaster![0]!);
      const twoTop = two.disks.primaryMaster![0]!;

      // Without `live` a running VM's open top is never written: the layer waits.
      store.delete(vm.id, 'two');
      expect(existsSync(twoTop)).toBe(true);
      expect(hashOf(disks.primaryMaster!)).toBe(before);
      // The next delete with `live` folds it into the open top, which is reopened.
      const three = store.take(vm.id, 'three', { live }).id;
      store.delete(vm.id, three, { live });
      expect(existsSync(twoTop)).toBe(false);
      expect(hashOf(disks.primaryMaster!)).toBe(before);
      expect(viewHash(disks.primaryMaster!.path)).toBe(before);
      expect(viewHash(store.resolve(vm.id, 'one').disks.primaryMaster![0]!)).toBe(oneHash);
      scribble(write, 20);
      const after = hashOf(disks.primaryMaster!);
      disks.primaryMaster!.flush();
      expect(viewHash(disks.primaryMaster!.path)).toBe(after);
      qemuImgCheck(disks.primaryMaster!.path);
      for (const d of Object.values(disks)) d.close();
    } finally {
      lib.close();
    }
  });

  it('foldLayer refuses an image that does not sit on the layer and is idempotent', () => {
    const a = join(dir, 'fa.img');
    createDiskImage(a, 'raw', 1 << 20);
    const mid = join(dir, 'fmid.qcow2');
    const top = join(dir, 'ftop.qcow2');
    const other = join(dir, 'fother.qcow2');
    createDiskImage(mid, 'qcow2', 0, { backingFile: a });
    createDiskImage(top, 'qcow2', 0, { backingFile: mid });
    createDiskImage(other, 'qcow2', 0, { backingFile: a });
    const m = openDiskImage(mid);
    m.write(4096, new Uint8Array(512).fill(7));
    m.close();
    expect(() => foldLayer(mid, join(dir, 'fa.img'))).toThrow(/not a qcow2|backed by/);
    expect(() => foldLayer(top, other)).toThrow(/backed by/);
    expect(foldLayer(mid, top)).toBe(1);
    expect(qcow2Backing(top).path).toBe(a);
    expect(foldLayer(mid, top)).toBe(0);
    const t = openDiskImage(top, { readOnly: true });
    const buf = new Uint8Array(512);
    t.read(4096, buf);
    t.close();
    expect(buf[0]).toBe(7);
  });
});
