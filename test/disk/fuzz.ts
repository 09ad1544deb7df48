// A mutation fuzzer for the image parsers: small valid images (held in memory) get bytes of
// their headers and tables changed; opening, reading, writing and checking them must either
// work or throw a BlockError (DiskFormatError included), never anything else and never hang.
import { BlockError } from '../../core/disk/block.js';
import { MemoryImageFile, openImageFile, type DiskImage } from '../../main/disk/index.js';
import { RawImage } from '../../main/disk/raw.js';
import { rng } from './helpers.js';

export interface FuzzBase {
  name: string;
  bytes: Uint8Array;
  /** Byte ranges [start, end) holding headers and tables: most mutations land there. */
  regions: [number, number][];
}

export interface FuzzReport {
  iterations: number;
  opened: number;
  rejected: number;
  /** Failures that are not BlockErrors, or wrong read-back: must stay empty. */
  failures: string[];
}

const INTERESTING_32 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x200, 0x1000, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff];

function mutate(buf: Uint8Array, base: FuzzBase, next: () => number): void {
  const count = 1 + (next() % 4);
  for (let m = 0; m < count; m++) {
    // 7 in 8 mutations hit the metadata, the rest anywhere.
    let at: number;
    if (next() % 8 === 0) at = next() % buf.length;
    else {
      const [start, end] = base.regions[next() % base.regions.length]!;
      at = Math.min(buf.length - 1, start + (next() % Math.max(1, end - start)));
    }
    switch (next() % 5) {
      case 0:
        buf[at] = next() & 0xff;
        break;
      case 1:
        buf[at]! ^= 1 << (next() % 8);
        break;
      case 2: {
        const v = INTERESTING_32[next() % INTERESTING_32.length]!;
        const p = at & ~3;
        if (p + 4 <= buf.length) new DataView(buf.buffer, buf.byteOffset).setUint32(p, v, next() % 2 === 0);
        break;
      }
      case 3: {
        const p = at & ~7;
        if (p + 8 <= buf.length) new DataView(buf.buffer, buf.byteOffset).setBigUint64(p, BigInt(next()) << BigInt(next() % 40), next() % 2 === 0);
        break;
      }
      default:
        buf[at] = 0;
    }
  }
}

function exercise(image: DiskImage, next: () => number, iteration: number): string | null {
  image.info();
  const size = image.size;
  const sector = new Uint8Array(512);
  if (size >= 512) {
    const sectors = Math.floor(size / 512);
    image.read(0, sector);
    image.read((sectors - 1) * 512, sector);
    for (let i = 0; i < 6; i++) image.read((next() % sectors) * 512, sector);
    const span = new Uint8Array(Math.min(size, 8192));
    image.read((next() % (sectors - span.length / 512 + 1)) * 512, span);
    if (iteration % 8 === 0 && !image.readOnly) {
      const at = (next() % sectors) * 512;
      const data = new Uint8Array(512).fill(1 + (iteration & 0x7f));
      image.write(at, data);
      image.read(at, sector);
      if (sector.some((b, i) => b !== data[i])) return `wrote sector at ${at} but read back different data`;
    }
  }
  if (iteration % 16 === 0) image.check();
  return null;
}

/** Runs `iterations` mutations spread over the bases; deterministic for a seed. */
export function fuzzImages(bases: FuzzBase[], iterations: number, seed: number): FuzzReport {
  const next = rng(seed);
  const report: FuzzReport = { iterations, opened: 0, rejected: 0, failures: [] };
  const backingBytes = new Uint8Array(64 * 1024).fill(0x42);
  const openBacking = () => new RawImage(new MemoryImageFile('/fuzz/backing.raw', backingBytes, true), true);
  // One work buffer per base, refilled each time (the fuzzer should not measure the GC).
  const work = bases.map((b) => new Uint8Array(b.bytes.length));
  for (let i = 0; i < iterations; i++) {
    const base = bases[i % bases.length]!;
    const buf = work[i % bases.length]!;
    buf.set(base.bytes);
    mutate(buf, base, next);
    // Writes may grow the file (into a new buffer), never past 4 MiB: no huge allocations.
    const file = new MemoryImageFile(`/fuzz/${base.name}`, buf, false, 4 << 20);
    let image: DiskImage | null = null;
    try {
      image = openImageFile(file, { readOnly: i % 2 === 1, openBacking });
      report.opened++;
      const problem = exercise(image, next, i);
      if (problem) report.failures.push(`${base.name} #${i}: ${problem}`);
    } catch (e) {
      if (e instanceof BlockError) {
        report.rejected++;
        // A clear error names the file it is about.
        if (!e.message.includes(base.name)) report.failures.push(`${base.name} #${i}: error does not name the file: ${e.message}`);
      } else report.failures.push(`${base.name} #${i}: ${(e as Error)?.stack ?? String(e)}`);
    } finally {
      try {
        image?.close();
      } catch (e) {
        if (!(e instanceof BlockError)) report.failures.push(`${base.name} #${i} close: ${String(e)}`);
      }
    }
    if (report.failures.length >= 5) break;
  }
  return report;
}
