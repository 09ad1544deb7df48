// Raw disk images as BlockDevices: synchronous file I/O (the machine runs in its own worker).
//
// Read-only images are opened read-only on disk and given a copy-on-write overlay in memory,
// so the guest can still write (the changes vanish when the machine goes away). --writable
// opens the file read-write and writes through.

import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { BlockError, type BlockDevice } from '../../core/disk/block.js';

const CHUNK = 4096;

export class RawFileBlockDevice implements BlockDevice {
  readonly size: number;
  readonly readOnly: boolean;
  private fd: number;
  /** Copy-on-write chunks (only when the file is opened read-only but guest writes are allowed). */
  private readonly overlay: Map<number, Uint8Array> | null;

  /**
   * @param writable write through to the file
   * @param guestWritable when not writable: allow guest writes into an in-memory overlay
   */
  constructor(readonly path: string, writable: boolean, guestWritable = true) {
    this.fd = openSync(path, writable ? 'r+' : 'r');
    const st = fstatSync(this.fd);
    if (!st.isFile() && !st.isBlockDevice()) {
      closeSync(this.fd);
      throw new BlockError(`${path}: not a regular file`);
    }
    // Controllers work in 512-byte sectors: a trailing partial sector is not addressable.
    this.size = Math.floor(st.size / 512) * 512;
    this.readOnly = !writable && !guestWritable;
    this.overlay = writable ? null : new Map();
  }

  read(offset: number, buf: Uint8Array): void {
    if (offset < 0 || offset + buf.length > this.size) throw new BlockError(`read beyond end of ${this.path} at ${offset}`);
    if (!this.overlay || this.overlay.size === 0) {
      this.readFile(offset, buf);
      return;
    }
    for (let done = 0; done < buf.length; ) {
      const pos = offset + done;
      const chunk = Math.floor(pos / CHUNK);
      const within = pos - chunk * CHUNK;
      const n = Math.min(buf.length - done, CHUNK - within);
      const over = this.overlay.get(chunk);
      if (over) buf.set(over.subarray(within, within + n), done);
      else this.readFile(pos, buf.subarray(done, done + n));
      done += n;
    }
  }

  private readFile(offset: number, buf: Uint8Array): void {
    let done = 0;
    while (done < buf.length) {
      const n = readSync(this.fd, buf, done, buf.length - done, offset + done);
      if (n <= 0) {
        buf.fill(0, done);
        return;
      }
      done += n;
    }
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockError(`${this.path} is read-only`);
    if (offset < 0 || offset + data.length > this.size) throw new BlockError(`write beyond end of ${this.path} at ${offset}`);
    if (!this.overlay) {
      let done = 0;
      while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, offset + done);
      return;
    }
    for (let done = 0; done < data.length; ) {
      const pos = offset + done;
      const chunk = Math.floor(pos / CHUNK);
      const within = pos - chunk * CHUNK;
      const n = Math.min(data.length - done, CHUNK - within);
      let over = this.overlay.get(chunk);
      if (!over) {
        over = new Uint8Array(CHUNK);
        this.readFile(chunk * CHUNK, over.subarray(0, Math.min(CHUNK, this.size - chunk * CHUNK)));
        this.overlay.set(chunk, over);
      }
      over.set(data.subarray(done, done + n), within);
      done += n;
    }
  }

  flush(): void {
    if (!this.overlay && this.fd >= 0) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
