// Issue 6 acceptance 1, on a writable copy of the FreeDOS hard disk: boot to C:\>, take S1;
// `echo hi > C:\X.TXT` and `dir`, take S2. Revert to S1: the screen is S1's and X.TXT is gone
// (asked of the guest and read from the disk's FAT16 root directory); revert to S2: it is
// there. Deleting S1 (its layer is the VM's own image) leaves S2 exactly as it was.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { PcMachine } from '../../core/board/pc.js';
import type { BlockDevice } from '../../core/disk/block.js';
import { VmLibrary } from '../../main/library/index.js';
import { SnapshotStore, type LiveVm } from '../../main/snapshot/index.js';
import { pcConfig, seabiosAvailable } from '../board/board-helpers.js';
import { sharedFile } from '../helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'perseus-snaphdd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function screenText(m: PcMachine): string {
  m.updateScreen();
  return m.screen().text;
}

function runUntil(m: PcMachine, test: (text: string) => boolean, budget: number): boolean {
  const end = m.instructionCount + budget;
  while (m.instructionCount < end) {
    m.run(2_000_000);
    if (test(screenText(m))) return true;
  }
  return false;
}

/** The root directory names of the FAT16 partition the MBR's first entry points at. */
function rootNames(disk: BlockDevice): string[] {
  const sector = (lba: number) => {
    const b = new Uint8Array(512);
    disk.read(lba * 512, b);
    return b;
  };
  const mbr = new DataView(sector(0).buffer);
  const start = mbr.getUint32(0x1be + 8, true);
  const bpb = new DataView(sector(start).buffer);
  const reserved = bpb.getUint16(0x0e, true);
  const fats = bpb.getUint8(0x10);
  const rootEntries = bpb.getUint16(0x11, true);
  const fatSectors = bpb.getUint16(0x16, true);
  const root = new Uint8Array(rootEntries * 32);
  disk.read((start + reserved + fats * fatSectors) * 512, root);
  const names: string[] = [];
  for (let at = 0; at < root.length; at += 32) {
    if (root[at] === 0) break;
    if (root[at] === 0xe5 || root[at + 11] === 0x0f) continue; // deleted, long-name entry
    const name = new TextDecoder().decode(root.subarray(at, at + 8)).trimEnd();
    const ext = new TextDecoder().decode(root.subarray(at + 8, at + 11)).trimEnd();
    names.push(ext ? `${name}.${ext}` : name);
  }
  return names;
}

function diskHash(disk: BlockDevice): string {
  const buf = new Uint8Array(disk.size);
  disk.read(0, buf);
  return createHash('sha256').update(buf).digest('hex');
}

describe('snapshots of the FreeDOS hard disk', () => {
  it('S1 at C:\\>, S2 after creating X.TXT: revert both ways, delete S1', () => {
    if (!seabiosAvailable()) return;
    const gz = sharedFile('guests', 'freedos-hdd-32m.img.gz');
    if (!gz) return;
    const img = join(dir, 'fd.img');
    writeFileSync(img, gunzipSync(readFileSync(gz)));
    const lib = VmLibrary.open(join(dir, 'data'));
    try {
      const vm = lib.create({ name: 'FreeDOS HDD' });
      lib.setPowerState(vm.id, 'running');
      const store = new SnapshotStore(lib);
      const disks = store.openDisks(vm.id, { primaryMaster: img });
      const m = new PcMachine(pcConfig({ bootOrder: 'c', memoryMiB: 32, ide: [{ kind: 'disk', device: disks.primaryMaster! }, null, null, null] }));
      const live: LiveVm = { machine: m, disks };
      expect(runUntil(m, (t) => t.includes('FREEDOS-HDD-READY') && /C:\\>\s*$/.test(t.trimEnd() + ' '), 800_000_000)).toBe(true);
      m.run(5_000_000);
      const s1Text = screenText(m);
      const s1 = store.take(vm.id, 'S1', { live });
      expect(rootNames(disks.primaryMaster!)).not.toContain('X.TXT');

      m.input({ type: 'text', text: 'echo hi > C:\\X.TXT\n' });
      expect(runUntil(m, (t) => (t.match(/C:\\>/g) ?? []).length >= 2, 300_000_000)).toBe(true);
      m.input({ type: 'text', text: 'dir\n' });
      expect(runUntil(m, (t) => t.includes('bytes free'), 300_000_000)).toBe(true);
      m.run(5_000_000);
      const s2Text = screenText(m);
      expect(s2Text).toMatch(/X\s+TXT/);
      const s2 = store.take(vm.id, 'S2', { live });
      expect(rootNames(disks.primaryMaster!)).toContain('X.TXT');
      const s2Hash = diskHash(disks.primaryMaster!);

      // Revert to S1: S1's screen, no X.TXT on the disk, and the guest agrees.
      store.revert(vm.id, s1.id, { live });
      expect(screenText(m)).toBe(s1Text);
      expect(rootNames(disks.primaryMaster!)).not.toContain('X.TXT');
      m.input({ type: 'text', text: 'dir X.TXT\n' });
      expect(runUntil(m, (t) => /File not found/i.test(t), 300_000_000)).toBe(true);

      // Revert to S2: it exists.
      store.revert(vm.id, s2.id, { live });
      expect(screenText(m)).toBe(s2Text);
      expect(rootNames(disks.primaryMaster!)).toContain('X.TXT');
      expect(diskHash(disks.primaryMaster!)).toBe(s2Hash);

      // Deleting S1 keeps S2 intact: same disk, same screen after a revert.
      store.delete(vm.id, s1.id, { live });
      expect(store.list(vm.id).map((s) => s.name)).toEqual(['S2']);
      store.revert(vm.id, s2.id, { live });
      expect(screenText(m)).toBe(s2Text);
      expect(diskHash(disks.primaryMaster!)).toBe(s2Hash);
      m.input({ type: 'text', text: 'type X.TXT\n' });
      expect(runUntil(m, (t) => /type X\.TXT\s+hi/.test(t), 300_000_000)).toBe(true);
      for (const d of Object.values(disks)) d.close();
    } finally {
      lib.close();
    }
  }, 300_000);
});
