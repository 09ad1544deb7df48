// 10^5 mutated images per format (fixed seeds): clear errors, no crash, hang or huge
// allocation. The images are small and live in memory (MemoryImageFile).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryImageFile, openImageFile } from '../../main/disk/index.js';
import { RawImage } from '../../main/disk/raw.js';
import { createVhd } from '../../main/disk/vhd.js';
import { createVmdk } from '../../main/disk/vmdk.js';
import { fuzzImages, type FuzzBase } from './fuzz.js';
import { haveQemuImg, rng, tempDir, writeRaw } from './helpers.js';

const ITERATIONS = Number(process.env.PERSEUS_DISK_FUZZ_ITERATIONS ?? 100_000);
/** Exploratory runs: PERSEUS_DISK_FUZZ_SEED=n changes every seed (the suite uses the fixed ones). */
const SEED_SALT = Number(process.env.PERSEUS_DISK_FUZZ_SEED ?? 0);

/** Fills an image with a few written stretches so its tables have entries. */
function populate(file: MemoryImageFile, seed: number, openBacking?: () => RawImage): Uint8Array {
  const image = openImageFile(file, openBacking ? { openBacking } : {});
  const next = rng(seed);
  for (let i = 0; i < 12; i++) {
    const len = 512 * (1 + (next() % 8));
    const at = (next() % Math.floor((image.size - len) / 512)) * 512;
    image.write(at, new Uint8Array(len).fill(1 + (next() % 200)));
  }
  image.close();
  return file.data.slice();
}

function memory(name: string): MemoryImageFile {
  return new MemoryImageFile(`/fuzz/${name}`, new Uint8Array(0));
}

const backing = () => new RawImage(new MemoryImageFile('/fuzz/backing.raw', new Uint8Array(64 * 1024).fill(0x42), true), true);

describe('disk image fuzzing: vhd, vmdk', () => {
  let dir: string;
  let cleanup: () => void;
  let qemu = false;
  beforeAll(() => {
    ({ dir, cleanup } = tempDir());
    qemu = haveQemuImg();
  });
  afterAll(() => cleanup());

  /** An image qemu-img makes from a small patterned raw disk, when qemu-img is here. */
  function fromQemu(name: string, args: string[]): FuzzBase[] {
    if (!qemu) return [];
    const raw = new Uint8Array(64 * 1024);
    for (let i = 0; i < raw.length; i += 512) if ((i >> 12) % 3) raw.fill((i >> 9) & 0xff, i, i + 300);
    const src = writeRaw(join(dir, `${name}.raw`), raw);
    execFileSync('qemu-img', ['convert', '-f', 'raw', ...args, src, join(dir, name)]);
    const bytes = new Uint8Array(readFileSync(join(dir, name)));
    return [{ name, bytes, regions: [[0, Math.min(bytes.length, 8192)], [Math.max(0, bytes.length - 2048), bytes.length]] }];
  }

  function run(bases: FuzzBase[], seed: number): void {
    // Every base opens and reads cleanly before mutation (the fuzzer starts from valid images).
    for (const b of bases) openImageFile(new MemoryImageFile(b.name, b.bytes.slice()), { readOnly: true, openBacking: backing }).close();
    const report = fuzzImages(bases, ITERATIONS, seed ^ SEED_SALT);
    expect(report.failures).toEqual([]);
    // The mutations must exercise both paths: plenty of images rejected, plenty still opened.
    expect(report.rejected).toBeGreaterThan(ITERATIONS / 50);
    expect(report.opened).toBeGreaterThan(ITERATIONS / 50);
  }

  it('vhd', () => {
    const bases: FuzzBase[] = [];
    for (const fixed of [false, true]) {
      const f = memory(`${fixed}.vhd`);
      createVhd(f, 60 * 1024, { fixed, blockSize: 4096 });
      const bytes = populate(f, 5);
      bases.push({ name: f.path, bytes, regions: fixed ? [[bytes.length - 512, bytes.length]] : [[0, 2048], [bytes.length - 512, bytes.length]] });
    }
    // (qemu's vpc images are not fuzzed: one allocated block is 2 MiB, too big to copy 10^5 times.)
    run(bases, 0x7bd);
  });

  it('vmdk', () => {
    const f = memory('s.vmdk');
    createVmdk(f, 128 * 1024, 8);
    const bytes = populate(f, 7);
    run([{ name: 's.vmdk', bytes, regions: [[0, 80], [21 * 512, 24 * 512]] }, ...fromQemu('st.vmdk', ['-O', 'vmdk', '-o', 'subformat=streamOptimized'])], 0x3d4);
  });
});
