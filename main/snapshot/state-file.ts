// The snapshot machine-state file: the machine's own state file (core/state/snapshot.ts:
// CPU, devices, RAM) deflated, in a small checked container.
//
//   offset 0  "PRSSNAPZ"        magic (8 bytes)
//          8  u32 container version (1)
//         12  u32 length of the state file once inflated
//         16  u32 CRC-32 of the deflated bytes
//         20  u32 length of the deflated bytes
//         24  deflated bytes (node:zlib deflate)
//
// Reading checks the magic, version, lengths and CRC before inflating, and inflates with an
// output limit, so a truncated or corrupt file is refused with a SnapshotError naming the
// problem; the inner file is checked again by Machine.loadState.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { deflateSync, inflateSync } from 'node:zlib';
import { crc32 } from '../../core/state/snapshot.js';

export const SNAPSHOT_MAGIC = 'PRSSNAPZ';
const VERSION = 1;
const HEADER = 24;
/** Refuse to inflate anything claiming to be larger than this (RAM limit plus room). */
const MAX_STATE_BYTES = 4 * 1024 * 1024 * 1024 - 1;

export class SnapshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotError';
  }
}

/** `level`: deflate level, 1 (fastest) to 9; snapshots use 1: RAM is mostly zero or noise. */
export function encodeSnapshotState(state: Uint8Array, opts: { level?: number } = {}): Uint8Array {
  const packed = deflateSync(state, { level: opts.level ?? 1 });
  const out = new Uint8Array(HEADER + packed.length);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(SNAPSHOT_MAGIC), 0);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, state.length, true);
  view.setUint32(16, crc32(packed), true);
  view.setUint32(20, packed.length, true);
  out.set(packed, HEADER);
  return out;
}

export function decodeSnapshotState(file: Uint8Array, what = 'snapshot state file'): Uint8Array {
  if (file.length < HEADER) throw new SnapshotError(`${what} is truncated (${file.length} bytes, header needs ${HEADER})`);
  const magic = new TextDecoder().decode(file.subarray(0, 8));
  if (magic !== SNAPSHOT_MAGIC) throw new SnapshotError(`${what} is not a Perseus snapshot (bad magic)`);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const version = view.getUint32(8, true);
  if (version !== VERSION) throw new SnapshotError(`${what} has unsupported version ${version}`);
  const rawLength = view.getUint32(12, true);
  const crc = view.getUint32(16, true);
  const packedLength = view.getUint32(20, true);
  if (HEADER + packedLength !== file.length) {
    throw new SnapshotError(`${what} is ${HEADER + packedLength > file.length ? 'truncated' : 'followed by extra bytes'} ` +
      `(expected ${HEADER + packedLength} bytes, found ${file.length})`);
  }
  if (rawLength > MAX_STATE_BYTES) throw new SnapshotError(`${what} claims an impossible size`);
  const packed = file.subarray(HEADER);
  if (crc32(packed) !== crc) throw new SnapshotError(`${what} is corrupt (checksum mismatch)`);
  let state: Uint8Array;
  try {
    state = inflateSync(packed, { maxOutputLength: Math.max(1, rawLength) });
  } catch (e) {
    throw new SnapshotError(`${what} is corrupt (${(e as Error).message})`);
  }
  if (state.length !== rawLength) throw new SnapshotError(`${what} is corrupt (inflated to ${state.length} bytes, expected ${rawLength})`);
  return new Uint8Array(state.buffer, state.byteOffset, state.length);
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
