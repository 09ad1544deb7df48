// Live snapshots of a booted FreeDOS machine: take, revert, branch, delete, refusing damaged
// state files, and the disks following the tree (qcow2 overlays over a private raw copy).
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PcMachine } from '../../core/board/pc.js';
import { main } from '../../main/cli/index.js';
import { VmLibrary } from '../../main/library/index.js';
import { encodeSnapshotState, SnapshotError, SnapshotStore, type LiveVm } from '../../main/snapshot/index.js';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import { floppyConfig, seabiosAvailable } from '../board/board-helpers.js';
import { sharedFile } from '../helpers/shared.js';

function runUntilScreen(m: PcMachine, marker: string, budget: number): boolean {
  const end = m.instructionCount + budget;
  while (m.instructionCount < end) {
    if (m.run(2_000_000) === 'poweroff') return false;
    m.updateScreen();
    if (m.screen().text.includes(marker)) return true;
  }
  return false;
}

function screenText(m: PcMachine): string {
  m.updateScreen();
  return m.screen().text;
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('live snapshots of FreeDOS', () => {
  it('take S1, type dir, take S2, revert, branch, delete; damaged files refused', async () => {
    if (!seabiosAvailable()) return;
    const src = sharedFile('guests', 'freedos722.img');
    if (!src) return;
    const dir = mkdtempSync(join(tmpdir(), 'perseus-snap-'));
    dirs.push(dir);
    const floppyPath = join(dir, 'freedos.img');
    copyFileSync(src, floppyPath);

    const library = VmLibrary.open(join(dir, 'data'));
    try {
      const vm = library.create({ name: 'FreeDOS snapshots' });
      const store = new SnapshotStore(library);
      const base = { floppyA: floppyPath };
      const disks = store.openDisks(vm.id, base);
      const m = new PcMachine(floppyConfig(disks.floppyA!, { bootOrder: 'a', memoryMiB: 16 }));
      const live: LiveVm = { machine: m, disks };
      expect(runUntilScreen(m, 'A:\\>', 400_000_000)).toBe(true);
      m.run(2_000_000);

      // State round trip of the booted machine: save → load → save is byte-identical.
      const a = m.saveState();
      m.loadState(a);
      const b = m.saveState();
      expect(b.length).toBe(a.length);
      expect(Buffer.compare(Buffer.from(a), Buffer.from(b))).toBe(0);

      const s1Text = screenText(m);
      const s1 = store.take(vm.id, 'S1', { live, description: 'at the prompt' });
      expect(s1.hasState).toBe(true);
      expect(s1.hasThumbnail).toBe(true);
      expect(s1.parentId).toBeNull();
      const png = store.thumbnail(s1.id)!;
      expect(Buffer.from(png.subarray(1, 4)).toString()).toBe('PNG');
      // The floppy now runs on an overlay backed by the frozen raw copy.
      expect(disks.floppyA!.path).toMatch(/snapshots\/floppyA-.*\.qcow2$/);
      expect(s1.disks.floppyA).toEqual([floppyPath]);

      // A disk change after S1 (the last sector, unused by FAT12 on this image's geometry).
      const last = disks.floppyA!.size - 512;
      const original = new Uint8Array(512);
      disks.floppyA!.read(last, original);
      const marked = new Uint8Array(512).fill(0xa5);
      disks.floppyA!.write(last, marked);

      m.input({ type: 'text', text: 'dir\n' });
      expect(runUntilScreen(m, 'bytes free', 200_000_000)).toBe(true);
      m.run(5_000_000);
      const s2Text = screenText(m);
      expect(s2Text).not.toBe(s1Text);
      const s2 = store.take(vm.id, 'S2', { live });
      expect(s2.parentId).toBe(s1.id);
      expect(store.currentId(vm.id)).toBe(s2.id);

      // Revert to S1: the screen is exactly S1's and the disk change is gone.
      store.revert(vm.id, 'S1', { live });
      expect(screenText(m)).toBe(s1Text);
      const readBack = new Uint8Array(512);
      disks.floppyA!.read(last, readBack);
      expect(readBack).toEqual(original);
      expect(store.currentId(vm.id)).toBe(s1.id);

      // The machine runs on from S1; a snapshot now is a sibling of S2.
      m.input({ type: 'text', text: 'ver\n' });
      expect(runUntilScreen(m, 'FreeCom version', 200_000_000)).toBe(true);
      const s3 = store.take(vm.id, 'S3 branch', { live });
      expect(s3.parentId).toBe(s1.id);

      // Revert to S2: its screen and its disk contents.
      store.revert(vm.id, s2.id, { live });
      expect(screenText(m)).toBe(s2Text);
      disks.floppyA!.read(last, readBack);
      expect(readBack).toEqual(marked);

      // Damaged state files are refused and the VM is untouched.
      const s1File = join(store.snapshotDir(vm.id), `${s1.id}.state`);
      const good = readFileSync(s1File);
      const before = m.saveState();
      const diskPathBefore = disks.floppyA!.path;
      const damage = (bytes: Uint8Array, pattern: RegExp) => {
        writeFileSync(s1File, bytes);
        expect(() => store.revert(vm.id, s1.id, { live })).toThrow(pattern);
        if (!pattern.source.includes('different')) expect(() => store.revert(vm.id, s1.id, { live })).toThrow(SnapshotError);
        expect(Buffer.compare(Buffer.from(m.saveState()), Buffer.from(before))).toBe(0);
        expect(store.currentId(vm.id)).toBe(s2.id);
        expect(disks.floppyA!.path).toBe(diskPathBefore);
        expect(readdirSync(store.snapshotDir(vm.id)).sort()).toEqual(filesBefore);
      };
      const filesBefore = readdirSync(store.snapshotDir(vm.id)).sort();
      damage(good.subarray(0, good.length - 1000), /truncated/);
      damage(good.subarray(0, 10), /truncated/);
      const flipped = Buffer.from(good);
      flipped[Math.floor(flipped.length / 2)]! ^= 0x40;
      damage(flipped, /corrupt/);
      const notOurs = Buffer.from(good);
      notOurs.write('GARBAGE!', 0);
      damage(notOurs, /not a Perseus snapshot/);
      // A sound file from a machine with other hardware (8 MiB): refused by loadState after
      // the new overlays were made; they are removed again.
      const other = new PcMachine(floppyConfig(new MemoryBlockDevice(new Uint8Array(1_474_560)), { bootOrder: 'a', memoryMiB: 8 }));
      damage(encodeSnapshotState(other.saveState()), /different machine configuration/);
      writeFileSync(s1File, good);

      // Rename, then delete S1: its children move to the root, their data is unchanged.
      expect(store.rename(vm.id, s2.id, 'after dir', 'listing').name).toBe('after dir');
      store.delete(vm.id, 'S1', { live });
      expect(existsSync(s1File)).toBe(false);
      const list = store.list(vm.id);
      expect(list.map((s) => s.name).sort()).toEqual(['S3 branch', 'after dir']);
      for (const s of list) expect(s.parentId).toBeNull();
      store.revert(vm.id, 'after dir', { live });
      expect(screenText(m)).toBe(s2Text);
      disks.floppyA!.read(last, readBack);
      expect(readBack).toEqual(marked);
      store.revert(vm.id, 'S3 branch', { live });
      expect(screenText(m)).toContain('FreeCom version');
      disks.floppyA!.read(last, readBack);
      expect(readBack).toEqual(original);

      // The CLI cannot restore a running machine: it refuses such a snapshot without --disks-only.
      let err = '';
      const io = {
        stdout: { write: () => true }, stderr: { write: (t: string) => (err += t) }, stdin: process.stdin,
        interactive: false, env: { PERSEUS_DATA_DIR: library.dataDir }, cwd: dir,
      };
      expect(await main(['snapshot', 'revert', vm.id, 'S3 branch'], io)).toBe(1);
      expect(err).toMatch(/--disks-only/);
      expect(store.currentId(vm.id)).toBe(store.resolve(vm.id, 'S3 branch').id);

      for (const d of Object.values(disks)) d.close();
      // Deleting the VM removes its snapshot rows.
      library.delete(vm.id, { keepFiles: false });
      expect(library.db.prepare('SELECT count(*) AS n FROM snapshots').get()).toEqual({ n: 0 });
    } finally {
      library.close();
    }
  }, 120_000);
});
