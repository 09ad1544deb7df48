// VirtualBox VDI images (v1.1 header), dynamic and fixed, read-write.
//
// Layout: a 512-byte little-endian header, a block map of 32-bit entries (one per block,
// 0xffffffff = not allocated, 0xfffffffe = discarded: both read as zeros), then the blocks
// (1 MiB by default) in allocation order. New blocks are appended.
import { randomBytes } from 'node:crypto';
import { BlockError } from '../../core/disk/block.js';
import { checkRange, DiskFormatError, readData, readExact, u64, type ImageFile } from './file.js';
import { emptyCheck, type CheckResult, type DiskImage, type DiskInfo, type FormatOpenOptions } from './types.js';

export const VDI_SIGNATURE = 0xbeda107f;
const VERSION_1_1 = 0x00010001;
const TYPE_DYNAMIC = 1;
const TYPE_FIXED = 2;
const UNALLOCATED = 0xffffffff;
const DISCARDED = 0xfffffffe;
const MAX_BLOCKS = 0x3fffffff;
const MAX_BLOCK_MAP_BYTES = 64 << 20;

export class VdiImage implements DiskImage {
  readonly format = 'vdi' as const;
  readonly size: number;
  readonly readOnly: boolean;
  private readonly type: number;
  private readonly blockSize: number;
  private readonly blocks: number;
  private allocated: number;
  private readonly mapOffset: number;
  private readonly dataOffset: number;
  private readonly map: Uint32Array;

  constructor(private readonly file: ImageFile, opts: FormatOpenOptions) {
    const fail = (problem: string): never => {
      throw new DiskFormatError(file.path, `vdi: ${problem}`);
    };
    if (file.size() < 512) fail('header is truncated');
    const head = readExact(file, 0, 512, 'vdi header');
    const h = new DataView(head.buffer);
    if (h.getUint32(64, true) !== VDI_SIGNATURE) fail('bad signature');
    const version = h.getUint32(68, true);
    if (version !== VERSION_1_1) fail(`unsupported version 0x${version.toString(16)}`);
    this.type = h.getUint32(76, true);
    if (this.type !== TYPE_DYNAMIC && this.type !== TYPE_FIXED) fail(`unsupported image type ${this.type}`);
    this.mapOffset = h.getUint32(340, true);
    this.dataOffset = h.getUint32(344, true);
    if (this.mapOffset % 512 || this.mapOffset < 512) fail(`block map offset ${this.mapOffset} is invalid`);
    if (this.dataOffset % 512) fail(`data offset ${this.dataOffset} is not sector aligned`);
    const sectorSize = h.getUint32(360, true);
    if (sectorSize !== 512) fail(`sector size ${sectorSize} is not supported`);
    this.size = u64(h, 368, true, file, 'disk size');
    this.blockSize = h.getUint32(376, true);
    if (this.blockSize < 4096 || this.blockSize > 64 << 20 || this.blockSize & (this.blockSize - 1)) fail(`block size ${this.blockSize} is not supported`);
    if (h.getUint32(380, true) !== 0) fail('block extra data is not supported');
    this.blocks = h.getUint32(384, true);
    this.allocated = h.getUint32(388, true);
    if (this.blocks > MAX_BLOCKS || this.blocks * 4 > MAX_BLOCK_MAP_BYTES) fail(`${this.blocks} blocks is too many`);
    if (this.size % 512) fail(`disk size ${this.size} is not a multiple of 512`);
    if (this.size > this.blocks * this.blockSize) fail(`disk size ${this.size} exceeds its ${this.blocks} blocks`);
    if (this.allocated > this.blocks) fail(`${this.allocated} allocated blocks of ${this.blocks}`);
    if (this.mapOffset + this.blocks * 4 > this.dataOffset) fail('block map overlaps the data');
    if (this.dataOffset + (this.allocated - 1) * this.blockSize > file.size()) fail(`${this.allocated} allocated blocks do not fit in the file (truncated?)`);
    for (let i = 424; i < 456; i++) if (head[i] !== 0) fail('linked (differencing) VDI images are not supported');
    const raw = readExact(file, this.mapOffset, this.blocks * 4, 'vdi block map');
    this.map = new Uint32Array(this.blocks);
    const mv = new DataView(raw.buffer);
    for (let i = 0; i < this.blocks; i++) {
      const e = mv.getUint32(i * 4, true);
      if (e < DISCARDED && e >= this.allocated) fail(`block ${i} maps to ${e}, beyond the ${this.allocated} allocated blocks`);
      this.map[i] = e;
    }
    this.readOnly = opts.readOnly || file.readOnly;
  }

  get path(): string {
    return this.file.path;
  }

  read(offset: number, buf: Uint8Array): void {
    checkRange(this.path, this.size, offset, buf.length, 'read');
    const bs = this.blockSize;
    for (let done = 0; done < buf.length; ) {
      const pos = offset + done;
      const within = pos % bs;
      const n = Math.min(buf.length - done, bs - within);
      const out = buf.subarray(done, done + n);
      const e = this.map[Math.floor(pos / bs)]!;
      if (e >= DISCARDED) out.fill(0);
      else readData(this.file, this.dataOffset + e * bs + within, out);
      done += n;
    }
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockError(`${this.path} is read-only`);
    checkRange(this.path, this.size, offset, data.length, 'write');
    const bs = this.blockSize;
    for (let done = 0; done < data.length; ) {
      const pos = offset + done;
      const within = pos % bs;
      const n = Math.min(data.length - done, bs - within);
      const piece = data.subarray(done, done + n);
      const bi = Math.floor(pos / bs);
      let e = this.map[bi]!;
      if (e >= DISCARDED) {
        e = this.allocated++;
        const block = new Uint8Array(bs);
        block.set(piece, within);
        this.file.writeAt(this.dataOffset + e * bs, block);
        this.map[bi] = e;
        const entry = new Uint8Array(4);
        new DataView(entry.buffer).setUint32(0, e, true);
        this.file.writeAt(this.mapOffset + bi * 4, entry);
        const count = new Uint8Array(4);
        new DataView(count.buffer).setUint32(0, this.allocated, true);
        this.file.writeAt(388, count);
      } else this.file.writeAt(this.dataOffset + e * bs + within, piece);
      done += n;
    }
  }

  flush(): void {
    this.file.sync();
  }

  info(): DiskInfo {
    return {
      format: 'vdi',
      variant: this.type === TYPE_FIXED ? 'vdi fixed' : 'vdi dynamic',
      virtualSize: this.size,
      fileSize: this.file.size(),
      clusterSize: this.blockSize,
      details: { 'allocated blocks': this.allocated, blocks: this.blocks },
    };
  }

  check(): CheckResult {
    const r = emptyCheck();
    const seen = new Uint8Array(this.allocated);
    for (let i = 0; i < this.blocks; i++) {
      const e = this.map[i]!;
      if (e >= DISCARDED) continue;
      if (seen[e]) r.errors.push(`block ${i} shares data block ${e} with another block`);
      seen[e] = 1;
      if (this.dataOffset + (e + 1) * this.blockSize > this.file.size()) r.errors.push(`block ${i} (data block ${e}) lies beyond the end of the file`);
    }
    for (let e = 0; e < this.allocated; e++) if (!seen[e]) r.leaks++;
    return r;
  }

  close(): void {
    this.file.close();
  }
}

export function createVdi(file: ImageFile, size: number, fixed = false, blockSize = 1 << 20): void {
  if (size % 512 || size < 0) throw new BlockError(`vdi size ${size} must be a multiple of 512`);
  const blocks = Math.ceil(size / blockSize);
  const mapBytes = Math.ceil((blocks * 4) / 512) * 512;
  const dataOffset = Math.ceil((512 + mapBytes) / 4096) * 4096;
  const head = new Uint8Array(dataOffset);
  const h = new DataView(head.buffer);
  head.set(new TextEncoder().encode('<<< Perseus Workstation Disk Image >>>\n'));
  h.setUint32(64, VDI_SIGNATURE, true);
  h.setUint32(68, VERSION_1_1, true);
  h.setUint32(72, 0x180, true);
  h.setUint32(76, fixed ? TYPE_FIXED : TYPE_DYNAMIC, true);
  h.setUint32(340, 512, true);
  h.setUint32(344, dataOffset, true);
  h.setUint32(360, 512, true);
  h.setBigUint64(368, BigInt(size), true);
  h.setUint32(376, blockSize, true);
  h.setUint32(384, blocks, true);
  h.setUint32(388, fixed ? blocks : 0, true);
  const uuid = randomBytes(16);
  uuid[6] = (uuid[6]! & 0x0f) | 0x40;
  uuid[8] = (uuid[8]! & 0x3f) | 0x80;
  head.set(uuid, 392);
  for (let i = 0; i < blocks; i++) h.setUint32(512 + i * 4, fixed ? i : UNALLOCATED, true);
  file.truncate(0);
  file.writeAt(0, head);
  if (fixed) file.truncate(dataOffset + blocks * blockSize);
}
