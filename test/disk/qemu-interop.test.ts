// Interop with qemu-img: images qemu writes read back byte-identical; images we write pass
// `qemu-img check` and `qemu-img compare`.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convertImage, createDiskImage, createOverlay, openDiskImage, openVmDisk, type ImageFormat } from '../../main/disk/index.js';
import { firstDifference, haveQemuImg, qemuImg, qemuImgStatus, readAll, rng, sampleDisk, tempDir, writeRaw } from './helpers.js';

const SIZE = 5 * 1024 * 1024 + 512 * 3; // not a whole number of clusters or blocks
const enabled = haveQemuImg();

describe.skipIf(!enabled)('qemu-img interop', () => {
  let dir: string;
  let cleanup: () => void;
  let source: Uint8Array;
  let rawPath: string;

  beforeAll(() => {
    ({ dir, cleanup } = tempDir());
    source = sampleDisk(SIZE, 7);
    rawPath = writeRaw(join(dir, 'source.raw'), source);
  });
  afterAll(() => cleanup());

  /** Our reading of `path` must equal `expected`, and anything past it must be zero. */
  function expectContents(path: string, expected: Uint8Array, format: string): void {
    const image = openDiskImage(path, { readOnly: true });
    try {
      expect(image.format).toBe(format);
      expect(image.size).toBeGreaterThanOrEqual(expected.length);
      const got = readAll(image);
      expect(firstDifference(got.subarray(0, expected.length), expected)).toBe(-1);
      expect(got.subarray(expected.length).every((b) => b === 0)).toBe(true);
    } finally {
      image.close();
    }
  }

  const qemuWritten: [string, string, string[], string][] = [
    ['qcow2 v3', 'qcow2', ['-O', 'qcow2'], 'qcow2'],
    ['qcow2 v2 (compat=0.10)', 'qcow2', ['-O', 'qcow2', '-o', 'compat=0.10'], 'qcow2'],
    ['qcow2 compressed', 'qcow2', ['-O', 'qcow2', '-c'], 'qcow2'],
    ['qcow2 4 KiB clusters, 8-bit refcounts', 'qcow2', ['-O', 'qcow2', '-o', 'cluster_size=4096,refcount_bits=8'], 'qcow2'],
    ['vmdk monolithicSparse', 'vmdk', ['-O', 'vmdk'], 'vmdk'],
    ['vmdk streamOptimized', 'vmdk', ['-O', 'vmdk', '-o', 'subformat=streamOptimized'], 'vmdk'],
    ['vmdk monolithicFlat', 'vmdk', ['-O', 'vmdk', '-o', 'subformat=monolithicFlat'], 'vmdk'],
    ['vmdk twoGbMaxExtentSparse', 'vmdk', ['-O', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse'], 'vmdk'],
    ['vdi dynamic', 'vdi', ['-O', 'vdi'], 'vdi'],
    ['vdi static', 'vdi', ['-O', 'vdi', '-o', 'static=on'], 'vdi'],
    ['vpc dynamic', 'vhd', ['-O', 'vpc'], 'vhd'],
    ['vpc fixed', 'vhd', ['-O', 'vpc', '-o', 'subformat=fixed'], 'vhd'],
  ];

  for (const [name, ext, args, format] of qemuWritten) {
    it(`reads ${name} written by qemu-img convert`, () => {
      const out = join(dir, `${name.replace(/\W+/g, '_')}.${ext}`);
      qemuImg('convert', '-f', 'raw', ...args, rawPath, out);
      expectContents(out, source, format);
    });
  }

  it('reads a qcow2 overlay with a raw backing file (relative name) as the modified disk', () => {
    const modified = source.slice();
    const next = rng(99);
    for (let i = 0; i < 40; i++) {
      const at = (next() % (SIZE / 512 - 16)) * 512;
      modified.fill(next() & 0xff, at, at + 512 * (1 + (next() % 16)));
    }
    // Whole clusters zeroed over non-zero backing data become zero clusters (v3 zero flag).
    let zeroed = 0;
    for (let c = 0; c < SIZE / 65536 - 1 && zeroed < 4; c++) {
      if (source.subarray(c * 65536, (c + 1) * 65536).some((b) => b !== 0)) {
        modified.fill(0, c * 65536, (c + 1) * 65536);
        zeroed++;
      }
    }
    const modPath = writeRaw(join(dir, 'modified.raw'), modified);
    // -B: only clusters that differ from the backing file are stored in the overlay.
    qemuImg('convert', '-f', 'raw', '-O', 'qcow2', '-B', 'source.raw', '-F', 'raw', modPath, join(dir, 'overlay.qcow2'));
    const info = openDiskImage(join(dir, 'overlay.qcow2'), { readOnly: true });
    expect(info.info().backingFile).toBe('source.raw');
    expect(info.info().fileSize).toBeLessThan(SIZE);
    info.close();
    expectContents(join(dir, 'overlay.qcow2'), modified, 'qcow2');
    const map = JSON.parse(qemuImg('map', '--output=json', join(dir, 'overlay.qcow2'))) as { zero: boolean; depth: number }[];
    expect(map.some((m) => m.zero && m.depth === 0)).toBe(true);
    // A partial write into a zero cluster keeps the rest of it zero.
    const image = openDiskImage(join(dir, 'overlay.qcow2'));
    const firstZero = map.find((m) => m.zero && m.depth === 0) as unknown as { start: number };
    image.write(firstZero.start + 1024, new Uint8Array(512).fill(0x66));
    modified.fill(0x66, firstZero.start + 1024, firstZero.start + 1536);
    image.close();
    expectContents(join(dir, 'overlay.qcow2'), modified, 'qcow2');
    expect(qemuImgStatus('check', join(dir, 'overlay.qcow2')).status).toBe(0);
    const expPath = writeRaw(join(dir, 'modified2.raw'), modified);
    expect(qemuImgStatus('compare', '-f', 'raw', '-F', 'qcow2', expPath, join(dir, 'overlay.qcow2')).status).toBe(0);
  });

  it('writes into qcow2 images (plain, compressed, with backing) that stay valid for qemu-img check and compare', () => {
    for (const [name, args] of [
      ['w-plain', ['-O', 'qcow2']],
      ['w-compressed', ['-O', 'qcow2', '-c']],
      ['w-v2', ['-O', 'qcow2', '-o', 'compat=0.10']],
      ['w-refcount1', ['-O', 'qcow2', '-o', 'refcount_bits=1,cluster_size=4096']],
      ['w-refcount64', ['-O', 'qcow2', '-o', 'refcount_bits=64,cluster_size=2048']],
      ['w-backing', ['-O', 'qcow2', '-B', 'source.raw', '-F', 'raw']],
    ] as const) {
      const path = join(dir, `${name}.qcow2`);
      const expected = source.slice();
      qemuImg('convert', '-f', 'raw', ...args, rawPath, path);
      const image = openDiskImage(path);
      const next = rng(name.length * 31);
      for (let i = 0; i < 60; i++) {
        const offset = next() % (SIZE - 70000);
        const data = new Uint8Array(1 + (next() % 70000)).fill(next() & 0xff);
        image.write(offset, data);
        expected.set(data, offset);
      }
      image.close();
      expect(qemuImgStatus('check', path).status, qemuImgStatus('check', path).output).toBe(0);
      const expPath = writeRaw(join(dir, `${name}.expected.raw`), expected);
      expectContents(path, expected, 'qcow2');
      const cmp = qemuImgStatus('compare', '-f', 'raw', '-F', 'qcow2', expPath, path);
      expect(cmp.status, `${name}: ${cmp.output}`).toBe(0);
    }
  });

  it('grows the refcount table of a small-cluster qcow2 and qemu-img check still passes', () => {
    const path = join(dir, 'grow.qcow2');
    const size = 64 << 20;
    createDiskImage(path, 'qcow2', size, { clusterSize: 512 });
    const expected = new Uint8Array(size);
    const image = openDiskImage(path);
    const next = rng(5);
    // 512-byte clusters: one refcount table cluster covers 8 MiB of file; write ~12 MiB.
    for (let i = 0; i < 200; i++) {
      const offset = (next() % (size / 512 - 128)) * 512;
      const data = new Uint8Array(64 * 1024);
      for (let j = 0; j < data.length; j += 512) data[j] = next() & 0xff;
      data[data.length - 1] = 1;
      image.write(offset, data);
      expected.set(data, offset);
    }
    image.close();
    const check = qemuImgStatus('check', path);
    expect(check.status, check.output).toBe(0);
    expect(check.output).toMatch(/No errors were found/);
    const info = JSON.parse(qemuImg('info', '--output=json', path)) as { 'virtual-size': number };
    expect(info['virtual-size']).toBe(size);
    const expPath = writeRaw(join(dir, 'grow.expected.raw'), expected);
    expect(qemuImgStatus('compare', '-f', 'raw', '-F', 'qcow2', expPath, path).status).toBe(0);
    const ours = openDiskImage(path, { readOnly: true });
    expect(ours.check()).toEqual({ errors: [], leaks: expect.any(Number), notes: [] });
    ours.close();
  });

  it('a copy-on-write overlay from createOverlay is a qcow2 that qemu-img reads with its backing file', () => {
    const base = writeRaw(join(dir, 'cow-base.raw'), source);
    const overlay = createOverlay(base, join(dir, 'cow.qcow2'));
    const expected = source.slice();
    const patch = new Uint8Array(3000).fill(0xee);
    overlay.write(12345, patch);
    expected.set(patch, 12345);
    overlay.close();
    expect(readFileSync(base).equals(Buffer.from(source))).toBe(true);
    const info = JSON.parse(qemuImg('info', '--output=json', join(dir, 'cow.qcow2'))) as { 'backing-filename': string; 'backing-filename-format': string };
    expect(info['backing-filename']).toBe('cow-base.raw');
    expect(info['backing-filename-format']).toBe('raw');
    expect(qemuImgStatus('check', join(dir, 'cow.qcow2')).status).toBe(0);
    const expPath = writeRaw(join(dir, 'cow.expected.raw'), expected);
    expect(qemuImgStatus('compare', expPath, join(dir, 'cow.qcow2')).status).toBe(0);
  });

  const ours: [ImageFormat, string][] = [
    ['qcow2', 'qcow2'],
    ['vmdk', 'vmdk'],
    ['vdi', 'vdi'],
    ['vhd', 'vpc'],
    ['raw', 'raw'],
  ];
  for (const [format, qemuName] of ours) {
    it(`our convert to ${format} opens in qemu-img with identical contents`, () => {
      const input = openDiskImage(rawPath, { readOnly: true });
      const outPath = join(dir, `ours.${format}`);
      convertImage(input, outPath, format).close();
      input.close();
      const r = qemuImgStatus('compare', '-f', 'raw', '-F', qemuName, rawPath, outPath);
      expect(r.status, r.output).toBe(0);
      if (format === 'qcow2' || format === 'vdi' || format === 'vmdk') {
        const check = qemuImgStatus('check', '-f', qemuName, outPath);
        expect(check.status, check.output).toBe(0);
      }
      expectContents(outPath, source, format);
    });
  }

  for (const [format, qemuName, extra] of [
    ['vdi', 'vdi', []],
    ['vhd', 'vpc', []],
    ['vmdk', 'vmdk', []],
    ['vhd', 'vpc', ['-o', 'subformat=fixed']],
  ] as const) {
    it(`writes into a ${qemuName} ${extra.join(' ')} image from qemu-img, and qemu-img agrees`, () => {
      const path = join(dir, `w-${qemuName}-${extra.length}.${format}`);
      qemuImg('convert', '-f', 'raw', '-O', qemuName, ...extra, rawPath, path);
      const image = openDiskImage(path);
      const expected = new Uint8Array(image.size);
      expected.set(source);
      const next = rng(11);
      for (let i = 0; i < 40; i++) {
        const offset = (next() % ((SIZE - 300000) / 512)) * 512;
        const data = new Uint8Array(512 * (1 + (next() % 500))).fill(1 + (next() % 255));
        image.write(offset, data);
        expected.set(data, offset);
      }
      image.close();
      const expPath = writeRaw(join(dir, `w-${qemuName}.expected.raw`), expected);
      const r = qemuImgStatus('compare', '-f', 'raw', '-F', qemuName, expPath, path);
      expect(r.status, r.output).toBe(0);
      if (qemuName !== 'vpc') {
        const check = qemuImgStatus('check', '-f', qemuName, path);
        expect(check.status, check.output).toBe(0);
      }
      expectContents(path, expected, format);
    });
  }

  it('reads the active layer of a qcow2 with an internal snapshot and refuses to write it', () => {
    const path = join(dir, 'snap.qcow2');
    qemuImg('convert', '-f', 'raw', '-O', 'qcow2', rawPath, path);
    qemuImg('snapshot', '-c', 'first', path);
    // Diverge from the snapshot (copy-on-write of shared clusters), then take another.
    execFileSync('qemu-io', ['-c', 'write -P 0x33 65536 200k', path], { stdio: 'ignore' });
    qemuImg('snapshot', '-c', 'second', path);
    const expected = source.slice();
    expected.fill(0x33, 65536, 65536 + 200 * 1024);
    expectContents(path, expected, 'qcow2');
    const checked = openDiskImage(path, { readOnly: true });
    expect(checked.check()).toEqual({ errors: [], leaks: 0, notes: [] });
    checked.close();
    expect(() => openDiskImage(path)).toThrow(/snap\.qcow2: qcow2: writing to an image with internal snapshots is not supported/);
    const image = openDiskImage(path, { readOnly: true });
    expect(image.info().details['internal snapshots']).toBe(2);
    image.close();
  });

  it('reads a vmdk delta link (parentFileNameHint) and writes into it', () => {
    const base = join(dir, 'vbase.vmdk');
    const child = join(dir, 'vchild.vmdk');
    qemuImg('convert', '-f', 'raw', '-O', 'vmdk', rawPath, base);
    qemuImg('create', '-f', 'vmdk', '-b', 'vbase.vmdk', '-F', 'vmdk', child);
    execFileSync('qemu-io', ['-c', 'write -P 0x44 4096 8k', child], { stdio: 'ignore' });
    const expected = source.slice();
    expected.fill(0x44, 4096, 4096 + 8192);
    expectContents(child, expected, 'vmdk');
    const image = openDiskImage(child);
    expect(image.info().backingFile).toBe('vbase.vmdk');
    const data = new Uint8Array(1024).fill(0x45);
    image.write(200 * 1024 + 512, data);
    expected.set(data, 200 * 1024 + 512);
    image.close();
    const expPath = writeRaw(join(dir, 'vchild.expected.raw'), expected);
    const r = qemuImgStatus('compare', '-f', 'raw', '-F', 'vmdk', expPath, child);
    expect(r.status, r.output).toBe(0);
  });

  it('a streamOptimized vmdk opens read-only; as a VM disk its writes stay in memory', () => {
    const path = join(dir, 'stream-ro.vmdk');
    qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', rawPath, path);
    const before = readFileSync(path);
    const image = openDiskImage(path);
    expect(image.readOnly).toBe(true);
    expect(() => image.write(0, new Uint8Array(512))).toThrow(/read-only/);
    image.close();
    const reasons: string[] = [];
    const vm = openVmDisk(path, { writable: true, onReadOnlyFallback: (r) => reasons.push(r) });
    vm.write(0, new Uint8Array(512).fill(9));
    const got = new Uint8Array(512);
    vm.read(0, got);
    expect(got[0]).toBe(9);
    vm.close();
    expect(reasons[0]).toMatch(/streamOptimized image cannot be written/);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('refuses zstd-compressed qcow2 and names the feature', () => {
    const path = join(dir, 'zstd.qcow2');
    const r = qemuImgStatus('convert', '-f', 'raw', '-O', 'qcow2', '-o', 'compression_type=zstd', rawPath, path);
    if (r.status !== 0) return; // this qemu-img was built without zstd
    expect(() => openDiskImage(path, { readOnly: true })).toThrow(/zstd\.qcow2: qcow2: compression type zstd is not supported/);
  });
});
