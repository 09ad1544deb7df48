// Block storage as the emulated controllers (IDE, ATAPI, floppy) see it.
//
// The interface is synchronous on purpose: the machine runs in its own worker thread, so a
// disk read blocks only that VM's emulation, never the UI. Backends (raw files, qcow2, vmdk,
// vdi, vhd, overlays, caches) live in main/disk and implement this interface; tests use
// in-memory images.

export interface BlockDevice {
  /** Size in bytes (a multiple of 512). */
  readonly size: number;
  readonly readOnly: boolean;
  /** Read `buf.length` bytes at byte `offset` (both multiples of 512 for controllers). */
  read(offset: number, buf: Uint8Array): void;
  /** Write at `offset`; throws BlockError when read-only. */
  write(offset: number, data: Uint8Array): void;
  /** Make written data durable (guest FLUSH CACHE, pause, power off). */
  flush(): void;
}

export class BlockError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BlockError';
  }
}

/** An image held in memory: for tests, the demo guest and CD-ROMs loaded whole. */
export class MemoryBlockDevice implements BlockDevice {
  constructor(readonly data: Uint8Array, readonly readOnly = false) {}
  get size(): number {
    return this.data.length;
  }
  read(offset: number, buf: Uint8Array): void {
    if (offset < 0 || offset + buf.length > this.data.length) throw new BlockError(`read beyond end of image at ${offset}`);
    buf.set(this.data.subarray(offset, offset + buf.length));
  }
  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockError('image is read-only');
    if (offset < 0 || offset + data.length > this.data.length) throw new BlockError(`write beyond end of image at ${offset}`);
    this.data.set(data, offset);
  }
  flush(): void {}
}
