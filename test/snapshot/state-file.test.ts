// The snapshot state container and crash leftovers, without booting a machine.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as zlib from 'node:zlib';
import { deflateSync } from 'node:zlib';
import type { Machine } from '../../core/board/machine.js';
import { crc32, setNativeCrc32 } from '../../core/util/crc32.js';
import { createDiskImage } from '../../main/disk/index.js';
import { VmLibrary } from '../../main/library/index.js';
import { decodeSnapshotState, encodeSnapshotState, MAX_CHAIN, SnapshotError, SnapshotStore, writeFileAtomic, readSnapshotState } from '../../main/snapshot/index.js';

const dir = mkdtempSync(join(tmpdir(), 'perseus-snapfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sample(): Uint8Array {
  // Compressible and not: a RAM-like mix of zero pages and noise.
  const data = new Uint8Array(300_000);
  let x = 12345;
  for (let i = 100_000; i < 160_000; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return data;
}

describe('snapshot state file', () => {
  it('round-trips and compresses', () => {
    const data = sample();
    const file = encodeSnapshotState(data);
    expect(file.length).toBeLessThan(data.length / 2);
    expect(Buffer.compare(decodeSnapshotState(file), data)).toBe(0);
    const path = join(dir, 'a.state');
    writeFileAtomic(path, file);
    expect(Buffer.compare(readSnapshotState(path), data)).toBe(0);
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('leaves zero pages out, still reads version 1 files, and the native CRC-32 agrees with ours', () => {
    const data = sample();
    const file = encodeSnapshotState(data);
    // 300 000 bytes = 74 pages, 15 of them hold the noise: the rest are not stored.
    expect(file.length).toBeLessThan(60_000 + 200);
    // A version 1 file: the whole state deflated, CRC over the deflated bytes.
    const packed = deflateSync(data);
    const v1 = new Uint8Array(24 + packed.length);
    const v = new DataView(v1.buffer);
    v1.set(Buffer.from('PRSSNAPZ'), 0);
    v.setUint32(8, 1, true);
    v.setUint32(12, data.length, true);
    v.setUint32(16, crc32(packed), true);
    v.setUint32(20, packed.length, true);
    v1.set(packed, 24);
    expect(Buffer.compare(decodeSnapshotState(v1), data)).toBe(0);
    // Same value from zlib's crc32 (installed by state-file.ts) and the table code, continued too.
    const withNative = [crc32(data), crc32(data.subarray(5000), crc32(data.subarray(0, 5000)))];
    setNativeCrc32(null);
    try {
      expect([crc32(data), crc32(data.subarray(5000), crc32(data.subarray(0, 5000)))]).toEqual(withNative);
    } finally {
      const z = (zlib as unknown as { crc32?: (d: Uint8Array, c: number) => number }).crc32;
      if (z) setNativeCrc32((d, c) => z(d, c));
    }
    expect(withNative[0]).toBe(withNative[1]);
  });

  it('refuses every truncation and any flipped byte with a SnapshotError', () => {
    const file = encodeSnapshotState(sample());
    for (let len = 0; len < file.length; len += Math.max(1, Math.floor(file.length / 97))) {
      expect(() => decodeSnapshotState(file.subarray(0, len))).toThrow(SnapshotError);
    }
    for (const at of [0, 8, 12, 16, 20, 24, 100, file.length - 1]) {
      const bad = new Uint8Array(file);
      bad[at]! ^= 0x01;
      expect(() => decodeSnapshotState(bad), `byte ${at}`).toThrow(SnapshotError);
    }
    expect(() => readSnapshotState(join(dir, 'missing.state'))).toThrow(/cannot read/);
  });

  it('gc removes files a crash left unreferenced and keeps every referenced one', () => {
    const lib = VmLibrary.open(join(dir, 'data'));
    try {
      const hda = join(dir, 'hda.img');
      createDiskImage(hda, 'raw', 64 * 1024);
      const vm = lib.create({ name: 'gc' });
      const store = new SnapshotStore(lib);
      const s1 = store.take(vm.id, 'one', { baseDisks: { primaryMaster: hda } });
      const s2 = store.take(vm.id, 'two');
      const sdir = store.snapshotDir(vm.id);
      // What a crash between writing files and the database commit leaves behind.
      writeFileSync(join(sdir, 'primaryMaster-deadbeef.qcow2'), 'x');
      writeFileSync(join(sdir, `${s2.id}.state.tmp-1-2`), 'x');
      writeFileSync(join(sdir, 'notes.txt'), 'not ours to delete');
      const removed = store.gc(vm.id).map((p) => p.slice(sdir.length + 1)).sort();
      expect(removed).toEqual([`${s2.id}.state.tmp-1-2`, 'primaryMaster-deadbeef.qcow2']);
      expect(existsSync(join(sdir, 'notes.txt'))).toBe(true);
      const used = [...s1.disks.primaryMaster!, ...store.resolve(vm.id, 'two').disks.primaryMaster!, ...store.diskChains(vm.id, {}).primaryMaster!];
      for (const p of used) expect(existsSync(p), p).toBe(true);
      expect(existsSync(hda)).toBe(true);
    } finally {
      lib.close();
    }
  });

  it('a failed database commit puts a live machine back on its old disk and leaves no files', () => {
    const lib = VmLibrary.open(join(dir, 'data-fail'));
    try {
      const hda = join(dir, 'hda-fail.img');
      createDiskImage(hda, 'raw', 64 * 1024);
      const vm = lib.create({ name: 'fail' });
      const store = new SnapshotStore(lib);
      const disks = store.openDisks(vm.id, { primaryMaster: hda });
      // Only what take() asks of a machine: its state and screen.
      const machine = {
        saveState: () => new Uint8Array(4096).fill(7),
        updateScreen: () => [],
        screen: () => ({ width: 0, height: 0, rgba: new Uint8ClampedArray(0), text: '', mode: 'text 80x25' }),
      } as unknown as Machine;
      lib.db.exec("CREATE TEMP TRIGGER fail_insert BEFORE INSERT ON snapshots BEGIN SELECT RAISE(ABORT, 'simulated disk full'); END");
      expect(() => store.take(vm.id, 'doomed', { live: { machine, disks } })).toThrow(/simulated disk full/);
      expect(disks.primaryMaster!.path).toBe(hda);
      disks.primaryMaster!.write(512, new Uint8Array(512).fill(9));
      disks.primaryMaster!.flush();
      expect(store.list(vm.id)).toEqual([]);
      expect(readdirSync(store.snapshotDir(vm.id))).toEqual([]);
      lib.db.exec('DROP TRIGGER fail_insert');
      const ok = store.take(vm.id, 'fine', { live: { machine, disks } });
      expect(ok.hasState).toBe(true);
      expect(disks.primaryMaster!.path).not.toBe(hda);
      const buf = new Uint8Array(512);
      disks.primaryMaster!.read(512, buf);
      expect(buf[0]).toBe(9);
      for (const d of Object.values(disks)) d.close();
    } finally {
      lib.close();
    }
  });

  it('a long line of snapshots keeps chains short and every node its own disk contents', () => {
    const lib = VmLibrary.open(join(dir, 'data-long'));
    try {
      const hda = join(dir, 'hda-long.img');
      createDiskImage(hda, 'raw', 64 * 1024);
      const vm = lib.create({ name: 'long' });
      const store = new SnapshotStore(lib);
      const base = { primaryMaster: hda };
      const ids: string[] = [];
      const N = 2 * MAX_CHAIN + 3;
      for (let i = 0; i < N; i++) {
        // Node i: sectors 0..i hold their own number.
        const disks = store.openDisks(vm.id, base);
        disks.primaryMaster!.write(i * 512, new Uint8Array(512).fill(i + 1));
        for (const d of Object.values(disks)) d.close();
        const snap = store.take(vm.id, `n${i}`, { baseDisks: base });
        expect(snap.disks.primaryMaster!.length).toBeLessThanOrEqual(MAX_CHAIN);
        ids.push(snap.id);
      }
      for (const i of [0, MAX_CHAIN - 1, MAX_CHAIN, N - 1, 3]) {
        store.revert(vm.id, ids[i]!);
        const disks = store.openDisks(vm.id, base);
        const buf = new Uint8Array(512);
        for (let k = 0; k < N; k++) {
          disks.primaryMaster!.read(k * 512, buf);
          expect(buf[0], `node ${i} sector ${k}`).toBe(k <= i ? k + 1 : 0);
        }
        for (const d of Object.values(disks)) d.close();
      }
      // Deleting every other node changes none of the rest.
      for (let i = 0; i < N; i += 2) store.delete(vm.id, ids[i]!);
      store.revert(vm.id, ids[N - 2]!);
      const disks = store.openDisks(vm.id, base);
      const buf = new Uint8Array(512);
      disks.primaryMaster!.read((N - 2) * 512, buf);
      expect(buf[0]).toBe(N - 1);
      disks.primaryMaster!.read((N - 1) * 512, buf);
      expect(buf[0]).toBe(0);
      for (const d of Object.values(disks)) d.close();
    } finally {
      lib.close();
    }
  });
});
