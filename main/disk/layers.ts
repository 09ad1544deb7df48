// Layers over any image: a non-persistent in-memory overlay ("discard changes at power
// off") and a write-back cache that keeps guest writes in memory until flush().
import { BlockError } from '../../core/disk/block.js';
import { checkRange } from './file.js';
import type { CheckResult, DiskImage, DiskInfo } from './types.js';

const CHUNK = 4096;
/** Granularity of MemoryOverlay's changed data. */
export const MEMORY_OVERLAY_CHUNK = CHUNK;

/** Guest writes land in memory; the image below is never written. */
export class MemoryOverlay implements DiskImage {
  readonly format = 'overlay' as const;
  readonly readOnly = false;
  private readonly chunks = new Map<number, Uint8Array>();
  constructor(readonly base: DiskImage) {}
  get size(): number {
    return this.base.size;
  }
  get path(): string {
    return this.base.path;
  }
  /** Bytes held in memory. */
  get changedBytes(): number {
    return this.chunks.size * CHUNK;
  }
  read(offset: number, buf: Uint8Array): void {
    checkRange(this.path, this.size, offset, buf.length, 'read');
    if (this.chunks.size === 0) return this.base.read(offset, buf);
    for (let done = 0; done < buf.length; ) {
      const pos = offset + done;
      const within = pos % CHUNK;
      const n = Math.min(buf.length - done, CHUNK - within);
      const c = this.chunks.get(Math.floor(pos / CHUNK));
      if (c) buf.set(c.subarray(within, within + n), done);
      else this.base.read(pos, buf.subarray(done, done + n));
      done += n;
    }
  }
  write(offset: number, data: Uint8Array): void {
    checkRange(this.path, this.size, offset, data.length, 'write');
    for (let done = 0; done < data.length; ) {
      const pos = offset + done;
      const index = Math.floor(pos / CHUNK);
      const within = pos % CHUNK;
      const n = Math.min(data.length - done, CHUNK - within);
      let c = this.chunks.get(index);
      if (!c) {
        c = new Uint8Array(CHUNK);
        if (n !== CHUNK) this.base.read(index * CHUNK, c.subarray(0, Math.min(CHUNK, this.size - index * CHUNK)));
        this.chunks.set(index, c);
      }
      c.set(data.subarray(done, done + n), within);
      done += n;
    }
  }
  flush(): void {}
  /** The changed chunks (index → MEMORY_OVERLAY_CHUNK bytes), for saving a run's state. */
  changedChunks(): IterableIterator<[number, Uint8Array]> {
    return this.chunks.entries();
  }
  /** Puts back a chunk saved by changedChunks() (loading a run's state). */
  restoreChunk(index: number, data: Uint8Array): void {
    if (data.length !== CHUNK || index < 0 || index * CHUNK >= this.size) throw new BlockError(`${this.path}: overlay chunk ${index} does not fit the disk`);
    this.chunks.set(index, data.slice());
  }
  /** Forget every change. */
  discard(): void {
    this.chunks.clear();
  }
  info(): DiskInfo {
    const i = this.base.info();
    return { ...i, details: { ...i.details, 'in-memory overlay': true, 'changed bytes': this.changedBytes } };
  }
  check(): CheckResult {
    return this.base.check();
  }
  close(): void {
    this.chunks.clear();
    this.base.close();
  }
}

export interface WriteBackCacheOptions {
  /** Cache block size in bytes (power of two, at least 512). Default 64 KiB. */
  blockSize?: number;
  /** Dirty bytes held before the oldest are written back. Default 32 MiB. */
  maxDirtyBytes?: number;
}

/** Keeps written blocks in memory and writes them to the image on flush() (or when full). */
export class WriteBackCache implements DiskImage {
  readonly format = 'cache' as const;
  private readonly blockSize: number;
  private readonly maxDirty: number;
  /** Dirty blocks in first-written order (Map keeps insertion order). */
  private readonly dirty = new Map<number, Uint8Array>();
  constructor(readonly base: DiskImage, opts: WriteBackCacheOptions = {}) {
    this.blockSize = opts.blockSize ?? 64 * 1024;
    if (this.blockSize < 512 || this.blockSize & (this.blockSize - 1)) throw new BlockError(`cache block size ${this.blockSize} must be a power of two ≥ 512`);
    this.maxDirty = Math.max(this.blockSize, opts.maxDirtyBytes ?? 32 << 20);
  }
  get size(): number {
    return this.base.size;
  }
  get readOnly(): boolean {
    return this.base.readOnly;
  }
  get path(): string {
    return this.base.path;
  }
  get dirtyBytes(): number {
    return this.dirty.size * this.blockSize;
  }
  read(offset: number, buf: Uint8Array): void {
    checkRange(this.path, this.size, offset, buf.length, 'read');
    if (this.dirty.size === 0) return this.base.read(offset, buf);
    const bs = this.blockSize;
    for (let done = 0; done < buf.length; ) {
      const pos = offset + done;
      const within = pos % bs;
      const n = Math.min(buf.length - done, bs - within);
      const b = this.dirty.get(Math.floor(pos / bs));
      if (b) buf.set(b.subarray(within, within + n), done);
      else this.base.read(pos, buf.subarray(done, done + n));
      done += n;
    }
  }
  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockError(`${this.path} is read-only`);
    checkRange(this.path, this.size, offset, data.length, 'write');
    const bs = this.blockSize;
    for (let done = 0; done < data.length; ) {
      const pos = offset + done;
      const index = Math.floor(pos / bs);
      const within = pos % bs;
      const n = Math.min(data.length - done, bs - within);
      let b = this.dirty.get(index);
      if (!b) {
        b = new Uint8Array(Math.min(bs, this.size - index * bs));
        if (n !== b.length) this.base.read(index * bs, b);
        this.dirty.set(index, b);
      }
      b.set(data.subarray(done, done + n), within);
      done += n;
    }
    while (this.dirty.size * bs > this.maxDirty) {
      const [index, b] = this.dirty.entries().next().value!;
      this.base.write(index * bs, b);
      this.dirty.delete(index);
    }
  }
  flush(): void {
    // In block order: sequential writes are kinder to every format and the host.
    const indexes = [...this.dirty.keys()].sort((a, b) => a - b);
    for (const index of indexes) {
      this.base.write(index * this.blockSize, this.dirty.get(index)!);
      this.dirty.delete(index);
    }
    this.base.flush();
  }
  info(): DiskInfo {
    return this.base.info();
  }
  check(): CheckResult {
    return this.base.check();
  }
  close(): void {
    this.flush();
    this.base.close();
  }
}
