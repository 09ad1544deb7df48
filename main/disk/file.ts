// The host file under a disk image, behind a small synchronous interface so the format code
// runs the same on a real file (VM workers, the CLI) and on a buffer in memory (fuzzing).
import { closeSync, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { BlockError } from '../../core/disk/block.js';

/** A disk image file that is malformed: names the file and what is wrong with it. */
export class DiskFormatError extends BlockError {
  constructor(readonly path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = 'DiskFormatError';
  }
}

export interface ImageFile {
  readonly path: string;
  readonly readOnly: boolean;
  size(): number;
  /** Reads up to buf.length bytes; returns how many were read (short at end of file). */
  readAt(offset: number, buf: Uint8Array): number;
  writeAt(offset: number, data: Uint8Array): void;
  truncate(size: number): void;
  sync(): void;
  close(): void;
}

export class NodeImageFile implements ImageFile {
  private fd: number;
  private length: number;
  constructor(readonly path: string, readonly readOnly: boolean, create = false) {
    try {
      this.fd = openSync(path, create ? 'w+' : readOnly ? 'r' : 'r+');
    } catch (e) {
      throw new BlockError(`cannot open ${path}: ${(e as Error).message}`);
    }
    const st = fstatSync(this.fd);
    if (!st.isFile() && !st.isBlockDevice()) {
      closeSync(this.fd);
      throw new BlockError(`${path}: not a regular file`);
    }
    this.length = st.size;
  }
  size(): number {
    return this.length;
  }
  readAt(offset: number, buf: Uint8Array): number {
    let done = 0;
    while (done < buf.length) {
      const n = readSync(this.fd, buf, done, buf.length - done, offset + done);
      if (n <= 0) break;
      done += n;
    }
    return done;
  }
  writeAt(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockError(`${this.path} is read-only`);
    let done = 0;
    while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, offset + done);
    if (offset + data.length > this.length) this.length = offset + data.length;
  }
  truncate(size: number): void {
    if (this.readOnly) throw new BlockError(`${this.path} is read-only`);
    ftruncateSync(this.fd, size);
    this.length = size;
  }
  sync(): void {
    if (!this.readOnly && this.fd >= 0) fsyncSync(this.fd);
  }
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** A file held in memory (tests, fuzzing). Grows on write like a sparse file. */
export class MemoryImageFile implements ImageFile {
  private buf: Uint8Array;
  private length: number;
  /** @param maxSize the file refuses to grow beyond this (fuzzing keeps it small) */
  constructor(readonly path: string, data: Uint8Array, readonly readOnly = false, private readonly maxSize = 1 << 30) {
    this.buf = data;
    this.length = data.length;
  }
  get data(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
  size(): number {
    return this.length;
  }
  readAt(offset: number, buf: Uint8Array): number {
    if (offset >= this.length) return 0;
    const n = Math.min(buf.length, this.length - offset);
    buf.set(this.buf.subarray(offset, offset + n));
    return n;
  }
  writeAt(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockError(`${this.path} is read-only`);
    this.ensure(offset + data.length);
    this.buf.set(data, offset);
    if (offset + data.length > this.length) this.length = offset + data.length;
  }
  truncate(size: number): void {
    if (this.readOnly) throw new BlockError(`${this.path} is read-only`);
    this.ensure(size);
    if (size < this.length) this.buf.fill(0, size, this.length);
    this.length = size;
  }
  private ensure(size: number): void {
    if (size > this.maxSize) throw new BlockError(`${this.path}: in-memory file would grow beyond ${this.maxSize} bytes`);
    if (size <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(size, this.buf.length * 2));
    grown.set(this.buf.subarray(0, this.length));
    this.buf = grown;
  }
  sync(): void {}
  close(): void {}
}

/** Reads exactly `length` bytes of metadata, or explains that the file is too short. */
export function readExact(file: ImageFile, offset: number, length: number, what: string): Uint8Array {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new DiskFormatError(file.path, `${what} has an impossible offset ${offset}`);
  if (offset + length > file.size()) {
    throw new DiskFormatError(file.path, `${what} at offset ${offset} (${length} bytes) lies beyond the end of the file (${file.size()} bytes): truncated or corrupt`);
  }
  const buf = new Uint8Array(length);
  file.readAt(offset, buf);
  return buf;
}

/** Reads data bytes; the part beyond the end of the file reads as zeros (sparse tail). */
export function readData(file: ImageFile, offset: number, buf: Uint8Array): void {
  const n = file.readAt(offset, buf);
  if (n < buf.length) buf.fill(0, n);
}

export function u64(view: DataView, at: number, little: boolean, file: ImageFile, what: string): number {
  const v = view.getBigUint64(at, little);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DiskFormatError(file.path, `${what} is out of range (${v})`);
  return Number(v);
}

export function isZero(buf: Uint8Array): boolean {
  // Word-wise when aligned: convert spends most of its time here.
  if (buf.byteOffset % 4 === 0 && buf.length % 4 === 0) {
    const w = new Uint32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
    return true;
  }
  for (let i = 0; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

export function checkRange(path: string, size: number, offset: number, length: number, op: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > size) {
    throw new BlockError(`${op} beyond end of ${path} at ${offset} (+${length}, size ${size})`);
  }
}
