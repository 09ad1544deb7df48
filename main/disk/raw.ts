// Raw images (.img, .iso, flat extents): the file is the disk.
import { BlockError } from '../../core/disk/block.js';
import { checkRange, readData, type ImageFile } from './file.js';
import { emptyCheck, type CheckResult, type DiskImage, type DiskInfo } from './types.js';

export class RawImage implements DiskImage {
  readonly format = 'raw' as const;
  readonly size: number;
  readonly readOnly: boolean;
  constructor(private readonly file: ImageFile, readOnly: boolean) {
    // Controllers work in 512-byte sectors: a trailing partial sector is not addressable.
    this.size = Math.floor(file.size() / 512) * 512;
    this.readOnly = readOnly || file.readOnly;
  }
  get path(): string {
    return this.file.path;
  }
  read(offset: number, buf: Uint8Array): void {
    checkRange(this.path, this.size, offset, buf.length, 'read');
    readData(this.file, offset, buf);
  }
  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockError(`${this.path} is read-only`);
    checkRange(this.path, this.size, offset, data.length, 'write');
    this.file.writeAt(offset, data);
  }
  flush(): void {
    this.file.sync();
  }
  info(): DiskInfo {
    return { format: 'raw', variant: 'raw', virtualSize: this.size, fileSize: this.file.size(), details: {} };
  }
  check(): CheckResult {
    const r = emptyCheck();
    r.notes.push('raw images have no metadata to check');
    return r;
  }
  close(): void {
    this.file.close();
  }
}

export function createRaw(file: ImageFile, size: number): void {
  file.truncate(size);
}
