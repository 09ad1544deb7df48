// Our writers and readers together, without qemu: every writable format round-trips, the
// layers (overlays, cache) behave, and bad input gives clear errors.
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockError } from '../../core/disk/block.js';
import {
  convertImage,
  createDiskImage,
  createOverlay,
  createVhdDifferencing,
  DiskFormatError,
  IMAGE_FORMATS,
  MemoryImageFile,
  MemoryOverlay,
  openDiskImage,
  openImageFile,
  openVmDisk,
  parseSize,
  WriteBackCache,
} from '../../main/disk/index.js';
import { firstDifference, readAll, rng, sampleDisk, tempDir, writeRaw } from './helpers.js';

const SIZE = 3 * 1024 * 1024 + 1536;

describe('disk image formats', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(() => ({ dir, cleanup } = tempDir()));
  afterAll(() => cleanup());

  function scribble(image: { write(o: number, d: Uint8Array): void; size: number }, expected: Uint8Array, seed: number, count = 50): void {
    const next = rng(seed);
    for (let i = 0; i < count; i++) {
      const len = 1 + (next() % 100000);
      const offset = next() % (image.size - len);
      const data = new Uint8Array(len);
      for (let j = 0; j < len; j += 97) data[j] = next() & 0xff;
      image.write(offset, data);
      expected.set(data, offset);
    }
  }

  for (const format of IMAGE_FORMATS) {
    for (const fixed of format === 'vdi' || format === 'vhd' ? [false, true] : [false]) {
      it(`${format}${fixed ? ' fixed' : ''}: create, write, reopen and read back`, () => {
        const path = join(dir, `rt${fixed ? '-fixed' : ''}.${format}`);
        const size = createDiskImage(path, format, SIZE, { fixed });
        expect(size).toBeGreaterThanOrEqual(SIZE);
        let image = openDiskImage(path);
        expect(image.format).toBe(format);
        expect(image.size).toBe(size);
        expect(readAll(image).every((b) => b === 0)).toBe(true);
        const expected = new Uint8Array(size);
        scribble(image, expected, 3);
        expect(firstDifference(readAll(image), expected)).toBe(-1);
        image.close();
        image = openDiskImage(path);
        expect(firstDifference(readAll(image), expected)).toBe(-1);
        // Overwrite already-allocated areas too.
        scribble(image, expected, 4);
        image.close();
        image = openDiskImage(path, { readOnly: true });
        expect(firstDifference(readAll(image), expected)).toBe(-1);
        expect(image.check().errors).toEqual([]);
        expect(() => image.write(0, new Uint8Array(512))).toThrow(BlockError);
        image.close();
      });
    }
  }

  it('converts between every pair of formats without changing a byte', () => {
    const source = sampleDisk(SIZE, 3);
    let current = openDiskImage(writeRaw(join(dir, 'conv.raw'), source), { readOnly: true });
    for (const format of ['qcow2', 'vdi', 'vmdk', 'vhd', 'qcow2', 'raw'] as const) {
      const out = convertImage(current, join(dir, `conv-${format}-${Math.random().toString(36).slice(2)}.${format}`), format);
      current.close();
      current = out;
      const got = readAll(current);
      expect(firstDifference(got.subarray(0, SIZE), source)).toBe(-1);
    }
    current.close();
  });

  it('a sparse convert leaves zero clusters unallocated', () => {
    const data = new Uint8Array(8 << 20);
    data.fill(1, 0, 4096);
    const input = openDiskImage(writeRaw(join(dir, 'sparse.raw'), data), { readOnly: true });
    for (const format of ['qcow2', 'vdi', 'vhd', 'vmdk'] as const) {
      const out = convertImage(input, join(dir, `sparse.${format}`), format);
      expect(out.info().fileSize).toBeLessThan(3 << 20);
      out.close();
    }
    input.close();
  });

  it('qcow2 overlays: the base stays untouched and the overlay reads through it', () => {
    const source = sampleDisk(SIZE, 9);
    const base = writeRaw(join(dir, 'base.raw'), source);
    const overlay = createOverlay(base, join(dir, 'sub', '..', 'ov.qcow2'));
    expect(overlay.info().backingFile).toBe('base.raw');
    expect(firstDifference(readAll(overlay), source)).toBe(-1);
    const expected = source.slice();
    scribble(overlay, expected, 10);
    overlay.close();
    expect(readFileSync(base).equals(Buffer.from(source))).toBe(true);
    const again = openDiskImage(join(dir, 'ov.qcow2'));
    expect(firstDifference(readAll(again), expected)).toBe(-1);
    expect(again.check()).toMatchObject({ errors: [], leaks: 0 });
    again.close();
    // A chain: overlay of the overlay.
    const second = createOverlay(join(dir, 'ov.qcow2'), join(dir, 'ov2.qcow2'));
    expect(firstDifference(readAll(second), expected)).toBe(-1);
    second.close();
  });

  it('vhd differencing disks read through to the parent and write only to the child', () => {
    const parentPath = join(dir, 'parent.vhd');
    createDiskImage(parentPath, 'vhd', SIZE);
    const parent = openDiskImage(parentPath);
    const expected = new Uint8Array(parent.size);
    scribble(parent, expected, 20);
    parent.close();
    const parentBytes = readFileSync(parentPath);
    const child = createVhdDifferencing(parentPath, join(dir, 'child.vhd'));
    expect(child.info().variant).toBe('vhd differencing');
    expect(firstDifference(readAll(child), expected)).toBe(-1);
    scribble(child, expected, 21);
    // Sub-sector writes merge with the parent's data.
    const odd = new Uint8Array(100).fill(0x77);
    child.write(2 * 1024 * 1024 + 300, odd);
    expected.set(odd, 2 * 1024 * 1024 + 300);
    child.close();
    expect(readFileSync(parentPath).equals(parentBytes)).toBe(true);
    const reopened = openDiskImage(join(dir, 'child.vhd'), { readOnly: true });
    expect(firstDifference(readAll(reopened), expected)).toBe(-1);
    reopened.close();
  });

  it('a memory overlay keeps changes in memory and discards them', () => {
    const source = sampleDisk(SIZE, 12);
    const path = writeRaw(join(dir, 'mem.raw'), source);
    const overlay = new MemoryOverlay(openDiskImage(path, { readOnly: true }));
    const expected = source.slice();
    scribble(overlay, expected, 13);
    expect(firstDifference(readAll(overlay), expected)).toBe(-1);
    expect(overlay.changedBytes).toBeGreaterThan(0);
    overlay.flush();
    overlay.discard();
    expect(firstDifference(readAll(overlay), source)).toBe(-1);
    overlay.close();
    expect(readFileSync(path).equals(Buffer.from(source))).toBe(true);
  });

  it('the write-back cache holds writes until flush and evicts when full', () => {
    const path = join(dir, 'cache.qcow2');
    createDiskImage(path, 'qcow2', SIZE);
    const before = statSync(path).size;
    const cache = new WriteBackCache(openDiskImage(path), { blockSize: 4096, maxDirtyBytes: 64 * 1024 });
    const expected = new Uint8Array(SIZE);
    const small = new Uint8Array(1000).fill(9);
    cache.write(5000, small);
    expected.set(small, 5000);
    expect(statSync(path).size).toBe(before);
    expect(cache.dirtyBytes).toBe(4096);
    expect(firstDifference(readAll(cache), expected)).toBe(-1);
    cache.flush();
    expect(cache.dirtyBytes).toBe(0);
    expect(statSync(path).size).toBeGreaterThan(before);
    scribble(cache, expected, 14);
    expect(cache.dirtyBytes).toBeLessThanOrEqual(64 * 1024);
    expect(firstDifference(readAll(cache), expected)).toBe(-1);
    cache.close();
    const reopened = openDiskImage(path, { readOnly: true });
    expect(firstDifference(readAll(reopened), expected)).toBe(-1);
    reopened.close();
  });

  it('openVmDisk: writable images write through; read-only ones keep guest writes in memory', () => {
    const path = join(dir, 'vm.qcow2');
    createDiskImage(path, 'qcow2', 1 << 20);
    const data = new Uint8Array(512).fill(0x99);
    const rw = openVmDisk(path, { writable: true, writeBackCache: true });
    expect(rw.format).toBe('cache');
    rw.write(4096, data);
    rw.close(); // flushes
    const ro = openVmDisk(path, { writable: false });
    const got = new Uint8Array(512);
    ro.read(4096, got);
    expect(got).toEqual(data);
    ro.write(4096, new Uint8Array(512).fill(1));
    ro.read(4096, got);
    expect(got[0]).toBe(1);
    ro.close();
    const again = openVmDisk(path, { writable: false, guestWritable: false });
    again.read(4096, got);
    expect(got).toEqual(data);
    expect(() => again.write(0, data)).toThrow(/read-only/);
    again.close();
  });

  it.skipIf(process.getuid?.() === 0)('openVmDisk falls back to a memory overlay for a file without write permission', () => {
    const path = join(dir, 'locked.raw');
    writeRaw(path, new Uint8Array(65536));
    chmodSync(path, 0o444);
    const reasons: string[] = [];
    const image = openVmDisk(path, { writable: true, onReadOnlyFallback: (r) => reasons.push(r) });
    image.write(0, new Uint8Array(512).fill(5));
    image.close();
    expect(reasons[0]).toMatch(/locked\.raw cannot be opened for writing/);
    expect(readFileSync(path)[0]).toBe(0);
  });

  it('detects formats by content, not by name', () => {
    const path = join(dir, 'looks-raw.img');
    createDiskImage(path, 'vdi', 1 << 20);
    expect(openDiskImage(path).format).toBe('vdi');
    const vhd = join(dir, 'fixed-as.img');
    createDiskImage(vhd, 'vhd', 1 << 20, { fixed: true });
    expect(openDiskImage(vhd).format).toBe('vhd');
  });

  it('reads a hand-written VMDK descriptor with FLAT and ZERO extents', () => {
    const flat = sampleDisk(1 << 20, 15);
    writeRaw(join(dir, 'disk-flat.bin'), flat);
    writeFileSync(
      join(dir, 'desc.vmdk'),
      '# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\n' +
        `RW ${(1 << 20) / 512 - 8} FLAT "disk-flat.bin" 8\nRDONLY 16 ZERO\n`,
    );
    const image = openDiskImage(join(dir, 'desc.vmdk'));
    expect(image.size).toBe((1 << 20) - 8 * 512 + 16 * 512);
    const all = readAll(image);
    expect(firstDifference(all.subarray(0, (1 << 20) - 4096), flat.subarray(4096))).toBe(-1);
    expect(all.subarray((1 << 20) - 4096).every((b) => b === 0)).toBe(true);
    const data = new Uint8Array(512).fill(3);
    image.write(512, data);
    expect(() => image.write(image.size - 512, data)).toThrow(/not writable/);
    image.close();
    expect(readFileSync(join(dir, 'disk-flat.bin'))[4096 + 512]).toBe(3);
  });

  it('refuses bad input with errors that name the file and the problem', () => {
    const mk = (name: string, bytes: Uint8Array) => new MemoryImageFile(`/images/${name}`, bytes);
    const q = new MemoryImageFile('/images/q.qcow2', new Uint8Array(0));
    const cases: [string, () => unknown, RegExp][] = [
      ['truncated qcow2', () => openImageFile(mk('t.qcow2', new Uint8Array([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]))), /t\.qcow2: qcow2: header is truncated/],
      ['vdi with bad block map', () => openImageFile(mk('v.vdi', badVdi())), /v\.vdi: vdi: .*(beyond|block map)/],
      ['qcow2 missing backing', () => {
        createQcow2Into(q, true);
        return openImageFile(q);
      }, /q\.qcow2: qcow2: has a backing file/],
      ['unknown format name', () => openImageFile(mk('x', new Uint8Array(512)), { format: 'qed' }), /unknown image format "qed"/],
    ];
    for (const [what, fn, pattern] of cases) {
      let error: unknown;
      try {
        fn();
      } catch (e) {
        error = e;
      }
      expect(error, what).toBeInstanceOf(BlockError);
      expect((error as Error).message, what).toMatch(pattern);
    }
    const unknownFeature = qcow2WithIncompatibleBit(5);
    expect(() => openImageFile(mk('f.qcow2', unknownFeature))).toThrow(DiskFormatError);
    expect(() => openImageFile(mk('f.qcow2', unknownFeature))).toThrow(/unsupported incompatible features: bit 5/);
    expect(() => openImageFile(mk('f.qcow2', qcow2WithIncompatibleBit(4)))).toThrow(/extended L2 entries/);
    expect(() => openDiskImage(join(dir, 'does-not-exist.qcow2'))).toThrow(/cannot open .*does-not-exist\.qcow2/);
  });

  it('qcow2 check finds wrong refcounts and leaked clusters', () => {
    const path = join(dir, 'refs.qcow2');
    createDiskImage(path, 'qcow2', 1 << 20, { clusterSize: 4096 });
    const image = openDiskImage(path);
    image.write(0, new Uint8Array(8192).fill(1));
    image.close();
    const bytes = new Uint8Array(readFileSync(path));
    const v = new DataView(bytes.buffer);
    const block = Number(v.getBigUint64(Number(v.getBigUint64(48)))); // refcount block 0
    const clusters = bytes.length / 4096;
    expect(openImageFile(new MemoryImageFile('/x/refs.qcow2', bytes.slice())).check()).toEqual({ errors: [], leaks: 0, notes: [] });
    const broken = bytes.slice();
    new DataView(broken.buffer).setUint16(block + (clusters - 1) * 2, 0); // the last data cluster
    new DataView(broken.buffer).setUint16(block + (clusters + 3) * 2, 1); // a cluster nobody uses
    const r = openImageFile(new MemoryImageFile('/x/refs.qcow2', broken)).check();
    expect(r.errors).toEqual([`cluster ${clusters - 1} has refcount 0 but 1 reference(s)`]);
    expect(r.leaks).toBe(1);
  });

  it('parses sizes like qemu-img', () => {
    expect(parseSize('512')).toBe(512);
    expect(parseSize('64K')).toBe(65536);
    expect(parseSize('10M')).toBe(10 << 20);
    expect(parseSize('1.5G')).toBe(1.5 * 2 ** 30);
    expect(parseSize('2TiB')).toBe(2 * 2 ** 40);
    expect(() => parseSize('ten')).toThrow(/invalid size/);
  });
});

function createQcow2Into(file: MemoryImageFile, withBacking: boolean): void {
  const dir = tempDir();
  try {
    const p = join(dir.dir, 'x.qcow2');
    writeRaw(join(dir.dir, 'b.raw'), new Uint8Array(1 << 20));
    createDiskImage(p, 'qcow2', 1 << 20, withBacking ? { backingFile: 'b.raw' } : {});
    file.writeAt(0, readFileSync(p));
  } finally {
    dir.cleanup();
  }
}

function qcow2WithIncompatibleBit(bit: number): Uint8Array {
  const f = new MemoryImageFile('/images/f.qcow2', new Uint8Array(0));
  createQcow2Into(f, false);
  const data = f.data.slice();
  const v = new DataView(data.buffer);
  v.setBigUint64(72, 1n << BigInt(bit));
  return data;
}

function badVdi(): Uint8Array {
  const dir = tempDir();
  try {
    const p = join(dir.dir, 'v.vdi');
    createDiskImage(p, 'vdi', 4 << 20);
    const data = new Uint8Array(readFileSync(p));
    new DataView(data.buffer).setUint32(512 + 4, 77, true); // block 1 → data block 77 of 0
    return data;
  } finally {
    dir.cleanup();
  }
}
