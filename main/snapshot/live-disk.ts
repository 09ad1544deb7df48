// A disk the running machine holds on to while snapshots swap the image under it: the
// controllers keep one BlockDevice for their life, and take/revert point it at a new
// copy-on-write overlay without rebuilding the machine.
import type { BlockDevice } from '../../core/disk/block.js';
import type { DiskImage } from '../disk/index.js';

export class LiveDisk implements BlockDevice {
  constructor(private image: DiskImage) {}

  get size(): number {
    return this.image.size;
  }
  get readOnly(): boolean {
    return this.image.readOnly;
  }
  /** The image the machine writes to now (the top of the overlay chain). */
  get path(): string {
    return this.image.path;
  }
  read(offset: number, buf: Uint8Array): void {
    this.image.read(offset, buf);
  }
  write(offset: number, data: Uint8Array): void {
    this.image.write(offset, data);
  }
  flush(): void {
    this.image.flush();
  }
  /** Point at `next`; returns the image it replaced (the caller closes it). */
  swap(next: DiskImage): DiskImage {
    if (next.size !== this.image.size) throw new Error(`snapshot disk size changed (${this.image.size} → ${next.size})`);
    const old = this.image;
    this.image = next;
    return old;
  }
  close(): void {
    this.image.close();
  }
}
