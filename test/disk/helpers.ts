// Shared helpers for the disk tests: deterministic data, temp folders, qemu-img.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireResource } from '../helpers/shared.js';

/** xorshift32: the same bytes on every run. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/**
 * A raw disk's contents with structure worth testing: random clusters, all-zero stretches,
 * repeated patterns (compress well) and a short non-zero tail sector.
 */
export function sampleDisk(size: number, seed = 1): Uint8Array {
  const data = new Uint8Array(size);
  const next = rng(seed);
  for (let pos = 0; pos < size; pos += 65536) {
    const kind = next() % 4;
    const end = Math.min(size, pos + 65536);
    if (kind === 0) continue; // zeros
    if (kind === 1) {
      for (let i = pos; i < end; i++) data[i] = (i * 7) & 0xff;
    } else if (kind === 2) {
      for (let i = pos; i < end; i += 4) new DataView(data.buffer).setUint32(i, next());
    } else {
      // Mostly zero with a few written sectors.
      for (let i = pos; i < end; i += 4096) if (next() % 3 === 0) data.fill(next() & 0xff, i, i + 512);
    }
  }
  data.fill(0x5a, size - 512, size - 500);
  return data;
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'perseus-disk-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeRaw(path: string, data: Uint8Array): string {
  writeFileSync(path, data);
  return path;
}

export function haveQemuImg(): boolean {
  const found = ['/usr/bin/qemu-img', '/usr/local/bin/qemu-img'].some((p) => existsSync(p)) || spawnSync('qemu-img', ['--version']).status === 0;
  return requireResource('qemu-img (Debian package qemu-utils)', found);
}

export function qemuImg(...args: string[]): string {
  return execFileSync('qemu-img', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs qemu-img and returns its exit status and output instead of throwing. */
export function qemuImgStatus(...args: string[]): { status: number; output: string } {
  const r = spawnSync('qemu-img', args, { encoding: 'utf8' });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

export function readAll(image: { size: number; read(offset: number, buf: Uint8Array): void }): Uint8Array {
  const buf = new Uint8Array(image.size);
  image.read(0, buf);
  return buf;
}

/** Index of the first differing byte, or -1. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
