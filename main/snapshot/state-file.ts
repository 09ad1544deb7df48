// The snapshot machine-state file: the machine's own state file (core/state/snapshot.ts:
// CPU, devices, RAM) in a small checked container, all-zero 4 KiB pages left out (a guest's
// RAM is mostly zero) and the rest deflated.
//
//   offset 0  "PRSSNAPZ"        magic (8 bytes)
//          8  u32 container version (2; version 1 files, without the page map, still load)
//         12  u32 length of the state file once restored
//         16  u32 CRC-32 of bytes 8..15 followed by bytes 24..end
//         20  u32 length of bytes 24..end
//         24  page map: one bit per 4 KiB page of the state (1 = stored), then the deflated
//             stored pages in order (node:zlib deflate; the last page may be short)
//
// Reading checks the magic, version, lengths and CRC before inflating, and inflates with an
// output limit, so a truncated or corrupt file is refused with a SnapshotError naming the
// problem; the inner file is checked again by Machine.loadState.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import * as zlib from 'node:zlib';
import { deflateSync, inflateSync } from 'node:zlib';
import { crc32 } from '../../core/state/snapshot.js';
import { setNativeCrc32 } from '../../core/util/crc32.js';

// Snapshots checksum the whole RAM: use zlib's native CRC-32 where Node has it (20.15+).
const nativeCrc = (zlib as unknown as { crc32?: (data: Uint8Array, value: number) => number }).crc32;
if (typeof nativeCrc === 'function') setNativeCrc32((data, value) => nativeCrc(data, value));

export const SNAPSHOT_MAGIC = 'PRSSNAPZ';
const VERSION = 2;
const HEADER = 24;
const PAGE = 4096;
/** Refuse to restore anything claiming to be larger than this (RAM limit plus room). */
const MAX_STATE_BYTES = 4 * 1024 * 1024 * 1024 - 1;

export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

function pageIsZero(state: Uint8Array, words: Int32Array | null, start: number, end: number): boolean {
  if (words) {
    for (let i = start >> 2, e = end >> 2; i < e; i++) if (words[i] !== 0) return false;
    for (let i = end & ~3; i < end; i++) if (state[i] !== 0) return false;
    return true;
  }
  for (let i = start; i < end; i++) if (state[i] !== 0) return false;
  return true;
}

/** `level`: deflate level, 1 (fastest, the default) to 9. */
export function encodeSnapshotState(state: Uint8Array, opts: { level?: number } = {}): Uint8Array {
  const pages = Math.ceil(state.length / PAGE);
  const map = new Uint8Array(Math.ceil(pages / 8));
  const words = state.byteOffset % 4 === 0 ? new Int32Array(state.buffer, state.byteOffset, state.length >> 2) : null;
  const stored: Uint8Array[] = [];
  for (let p = 0; p < pages; p++) {
    const start = p * PAGE;
    const end = Math.min(state.length, start + PAGE);
    if (pageIsZero(state, words, start, end)) continue;
    map[p >> 3]! |= 1 << (p & 7);
    stored.push(state.subarray(start, end));
  }
  const packed = deflateSync(Buffer.concat(stored), { level: opts.level ?? 1 });
  const out = new Uint8Array(HEADER + map.length + packed.length);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(SNAPSHOT_MAGIC), 0);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, state.length, true);
  view.setUint32(20, map.length + packed.length, true);
  out.set(map, HEADER);
  out.set(packed, HEADER + map.length);
  view.setUint32(16, crc32(out.subarray(HEADER), crc32(out.subarray(8, 16))), true);
  return out;
}

function inflateChecked(packed: Uint8Array, expected: number, what: string): Uint8Array {
  let data: Uint8Array;
  try {
    data = inflateSync(packed, { maxOutputLength: Math.max(1, expected) });
  } catch (e) {
    throw new SnapshotError(`${what} is corrupt (${(e as Error).message})`);
  }
  if (data.length !== expected) throw new SnapshotError(`${what} is corrupt (inflated to ${data.length} bytes, expected ${expected})`);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

export function decodeSnapshotState(file: Uint8Array, what = 'snapshot state file'): Uint8Array {
  if (file.length < HEADER) throw new SnapshotError(`${what} is truncated (${file.length} bytes, header needs ${HEADER})`);
  const magic = new TextDecoder().decode(file.subarray(0, 8));
  if (magic !== SNAPSHOT_MAGIC) throw new SnapshotError(`${what} is not a Perseus snapshot (bad magic)`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const version = view.getUint32(8, true);
  if (version !== 1 && version !== VERSION) throw new SnapshotError(`${what} has unsupported version ${version}`);
  const rawLength = view.getUint32(12, true);
  const crc = view.getUint32(16, true);
  const bodyLength = view.getUint32(20, true);
  if (HEADER + bodyLength !== file.length) {
    throw new SnapshotError(`${what} is ${HEADER + bodyLength > file.length ? 'truncated' : 'followed by extra bytes'} ` +
      `(expected ${HEADER + bodyLength} bytes, found ${file.length})`);
  }
  if (rawLength > MAX_STATE_BYTES) throw new SnapshotError(`${what} claims an impossible size`);
  const body = file.subarray(HEADER);
  if (version === 1) {
    if (crc32(body) !== crc) throw new SnapshotError(`${what} is corrupt (checksum mismatch)`);
    return inflateChecked(body, rawLength, what);
  }
  if (crc32(body, crc32(file.subarray(8, 16))) !== crc) throw new SnapshotError(`${what} is corrupt (checksum mismatch)`);
  const pages = Math.ceil(rawLength / PAGE);
  const mapLength = Math.ceil(pages / 8);
  if (mapLength > body.length) throw new SnapshotError(`${what} is corrupt (page map runs past the end)`);
  const map = body.subarray(0, mapLength);
  let storedBytes = 0;
  for (let p = 0; p < pages; p++) if (map[p >> 3]! & (1 << (p & 7))) storedBytes += Math.min(PAGE, rawLength - p * PAGE);
  if (pages % 8 && map[mapLength - 1]! >> (pages % 8)) throw new SnapshotError(`${what} is corrupt (page map marks pages past the end)`);
  const data = inflateChecked(body.subarray(mapLength), storedBytes, what);
  const state = new Uint8Array(rawLength);
  for (let p = 0, at = 0; p < pages; p++) {
    if (!(map[p >> 3]! & (1 << (p & 7)))) continue;
    const n = Math.min(PAGE, rawLength - p * PAGE);
    state.set(data.subarray(at, at + n), p * PAGE);
    at += n;
  }
  return state;
}

export function readSnapshotState(path: string): Uint8Array {
  let file: Uint8Array;
  try {
    file = readFileSync(path);
  } catch (e) {
    throw new SnapshotError(`cannot read snapshot state file ${path}: ${(e as Error).message}`);
  }
  return decodeSnapshotState(file, `snapshot state file ${path}`);
}

/** Crash-safe write: temp file in the same folder, fsync, rename over, fsync the folder. */
export function writeFileAtomic(path: string, data: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(tmp, 'w', 0o644);
  try {
    let done = 0;
    while (done < data.length) done += writeSync(fd, data, done, data.length - done);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  try {
    const dfd = openSync(dirname(path), 'r');
    try { fsyncSync(dfd); } finally { closeSync(dfd); }
  } catch {
    // Folders cannot be opened for fsync on every platform (Windows); the rename stands.
  }
}
