// QCOW2 (QEMU copy-on-write v2 and v3), read-write.
//
// Layout facts from the QCOW2 specification (docs/interop/qcow2.txt in QEMU): a big-endian
// header in cluster 0, a two-level table (L1 → L2 → data cluster) mapping guest clusters,
// a two-level refcount structure (refcount table → refcount blocks) counting users of each
// host cluster. New clusters are appended at the end of the file; refcounts are kept exact
// (no lazy refcounts), so an image we wrote passes `qemu-img check`.
import { inflateRawSync } from 'node:zlib';
import { BlockError } from '../../core/disk/block.js';
import { checkRange, DiskFormatError, readData, readExact, u64, type ImageFile } from './file.js';
import { emptyCheck, type CheckResult, type DiskImage, type DiskInfo, type FormatOpenOptions } from './types.js';

export const QCOW2_MAGIC = 0x514649fb;
const COPIED_HI = 0x80000000;
const COMPRESSED_HI = 0x40000000;
const MAX_L1_BYTES = 32 << 20;
const MAX_REFTABLE_BYTES = 8 << 20;
const MAX_VIRTUAL_SIZE = 2 ** 52;
const CACHE_TABLES = 256;

const EXT_END = 0;
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_FEATURE_NAMES = 0x6803f857;

const INCOMPAT_DIRTY = 1n;
const INCOMPAT_CORRUPT = 2n;
const INCOMPAT_COMPRESSION_TYPE = 8n;
const KNOWN_INCOMPAT_NAMES: Record<number, string> = { 0: 'dirty', 1: 'corrupt', 2: 'external data file', 3: 'compression type', 4: 'extended L2 entries' };

/** Offset bits 9..55 of a table entry given as two 32-bit halves. */
function entryOffset(hi: number, lo: number): number {
  return (hi & 0x00ffffff) * 0x100000000 + ((lo & 0xfffffe00) >>> 0);
}

export class Qcow2Image implements DiskImage {
  readonly format = 'qcow2' as const;
  readonly size: number;
  readonly readOnly: boolean;
  readonly version: number;
  readonly clusterBits: number;
  readonly clusterSize: number;
  private readonly l2Entries: number;
  private readonly l1Offset: number;
  private readonly l1Size: number;
  private readonly l1: Uint8Array;
  private readonly l1View: DataView;
  private refTableOffset: number;
  private refTableClusters: number;
  private refTable: Uint8Array;
  private refTableView: DataView;
  private readonly refBits: number;
  private readonly refsPerBlock: number;
  private readonly l2Cache = new Map<number, Uint8Array>();
  private readonly refCache = new Map<number, Uint8Array>();
  private readonly headerLength: number;
  private readonly incompatible: bigint;
  private readonly autoclear: bigint;
  private readonly snapshots: number;
  private readonly snapshotsOffset: number;
  private end: number;
  private lastCompressed = -1;
  private lastCompressedData: Uint8Array | null = null;
  readonly backingFile: string | null;
  readonly backingFormat: string | undefined;
  private readonly backing: DiskImage | null;

  constructor(private readonly file: ImageFile, opts: FormatOpenOptions) {
    const path = file.path;
    const fail = (problem: string): never => {
      throw new DiskFormatError(path, `qcow2: ${problem}`);
    };
    if (file.size() < 72) fail('header is truncated');
    let head = readExact(file, 0, Math.min(file.size(), 512), 'qcow2 header');
    let h = new DataView(head.buffer);
    if (h.getUint32(0) !== QCOW2_MAGIC) fail('bad magic');
    this.version = h.getUint32(4);
    if (this.version !== 2 && this.version !== 3) fail(`unsupported version ${this.version}`);
    const backingOffset = u64(h, 8, false, file, 'backing file offset');
    const backingSize = h.getUint32(16);
    this.clusterBits = h.getUint32(20);
    if (this.clusterBits < 9 || this.clusterBits > 21) fail(`cluster size 2^${this.clusterBits} is out of range (512 B to 2 MiB)`);
    this.clusterSize = 2 ** this.clusterBits;
    const cs = this.clusterSize;
    head = readExact(file, 0, Math.min(file.size(), cs), 'qcow2 header');
    h = new DataView(head.buffer);
    this.size = u64(h, 24, false, file, 'virtual size');
    if (this.size > MAX_VIRTUAL_SIZE) fail(`virtual size ${this.size} is too large`);
    if (this.size % 512) fail(`virtual size ${this.size} is not a multiple of 512`);
    if (h.getUint32(32) !== 0) fail('encrypted images are not supported');
    this.l1Size = h.getUint32(36);
    this.l1Offset = u64(h, 40, false, file, 'L1 table offset');
    this.refTableOffset = u64(h, 48, false, file, 'refcount table offset');
    this.refTableClusters = h.getUint32(56);
    this.snapshots = h.getUint32(60);
    this.snapshotsOffset = u64(h, 64, false, file, 'snapshot table offset');
    this.l2Entries = cs / 8;
    let refOrder = 4;
    if (this.version === 3) {
      if (head.length < 104) fail('v3 header is truncated');
      this.incompatible = h.getBigUint64(72);
      this.autoclear = h.getBigUint64(88);
      refOrder = h.getUint32(96);
      this.headerLength = h.getUint32(100);
      if (this.headerLength < 104 || this.headerLength % 8 || this.headerLength > Math.min(cs, head.length)) fail(`header length ${this.headerLength} is invalid`);
      if (refOrder > 6) fail(`refcount order ${refOrder} is invalid`);
      const names = this.readFeatureNames(head, fail);
      const unknown = this.incompatible & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_COMPRESSION_TYPE);
      if (unknown) {
        const bits: string[] = [];
        for (let b = 0; b < 64; b++) {
          if (unknown & (1n << BigInt(b))) bits.push(names.get(b) ?? KNOWN_INCOMPAT_NAMES[b] ?? `bit ${b}`);
        }
        fail(`unsupported incompatible features: ${bits.join(', ')}`);
      }
      if (this.incompatible & INCOMPAT_COMPRESSION_TYPE) {
        const type = this.headerLength > 104 ? head[104]! : 0;
        if (type !== 0) fail(`compression type ${type === 1 ? 'zstd' : type} is not supported (only zlib)`);
      }
    } else {
      this.incompatible = 0n;
      this.autoclear = 0n;
      this.headerLength = 72;
    }
    this.refBits = 2 ** refOrder;
    this.refsPerBlock = (cs * 8) / this.refBits;

    // L1 table: must cover the disk, fit the limits and lie inside the file.
    const l2Span = this.l2Entries * cs;
    const l1Needed = Math.ceil(this.size / l2Span);
    if (this.l1Size < l1Needed) fail(`L1 table (${this.l1Size} entries) is too small for the virtual size (needs ${l1Needed})`);
    if (this.l1Size * 8 > MAX_L1_BYTES) fail(`L1 table of ${this.l1Size} entries is too large`);
    if (this.l1Offset % cs) fail(`L1 table offset ${this.l1Offset} is not cluster aligned`);
    this.l1 = this.l1Size ? readExact(file, this.l1Offset, this.l1Size * 8, 'qcow2 L1 table') : new Uint8Array(8);
    this.l1View = new DataView(this.l1.buffer);

    if (this.refTableOffset % cs) fail(`refcount table offset ${this.refTableOffset} is not cluster aligned`);
    if (this.refTableClusters === 0) fail('refcount table has no clusters');
    if (this.refTableClusters * cs > MAX_REFTABLE_BYTES) fail(`refcount table of ${this.refTableClusters} clusters is too large`);
    this.refTable = readExact(file, this.refTableOffset, this.refTableClusters * cs, 'qcow2 refcount table');
    this.refTableView = new DataView(this.refTable.buffer);

    // Backing file name (must lie in the first cluster).
    this.backingFile = null;
    if (backingOffset !== 0) {
      if (backingSize === 0 || backingSize > 1023 || backingOffset + backingSize > cs) fail(`backing file name (offset ${backingOffset}, ${backingSize} bytes) is invalid`);
      this.backingFile = new TextDecoder().decode(readExact(file, backingOffset, backingSize, 'backing file name'));
    }
    this.backingFormat = this.readBackingFormat(head, fail);

    this.readOnly = opts.readOnly || file.readOnly;
    if (!this.readOnly) {
      if (this.incompatible & INCOMPAT_CORRUPT) fail('the image is marked corrupt; open it read-only or repair it (qemu-img check -r all)');
      if (this.incompatible & INCOMPAT_DIRTY) fail('the image is marked dirty (lazy refcounts); open it read-only or repair it (qemu-img check -r all)');
      if (this.snapshots > 0) fail('writing to an image with internal snapshots is not supported; open it read-only');
    }
    this.end = Math.ceil(file.size() / cs) * cs;

    this.backing = null;
    if (this.backingFile !== null) {
      if (!opts.openBacking) fail(`has a backing file (${this.backingFile}) that cannot be opened here`);
      this.backing = opts.openBacking!(this.backingFile, this.backingFormat, opts.depth + 1);
    }
    if (!this.readOnly && this.autoclear !== 0n) {
      // Features we do not maintain (bitmaps, ...) must be invalidated before we write.
      const z = new Uint8Array(8);
      file.writeAt(88, z);
    }
  }

  /** Header extensions start after the header and end at the end marker (bounded by cluster 0). */
  private *extensions(head: Uint8Array, fail: (p: string) => never): Generator<[number, Uint8Array]> {
    const view = new DataView(head.buffer);
    let at = this.headerLength;
    for (let guard = 0; guard < 1024; guard++) {
      if (at + 8 > head.length) return;
      const type = view.getUint32(at);
      const len = view.getUint32(at + 4);
      if (type === EXT_END) return;
      if (at + 8 + len > head.length) fail(`header extension 0x${type.toString(16)} overruns the header`);
      yield [type, head.subarray(at + 8, at + 8 + len)];
      at += 8 + Math.ceil(len / 8) * 8;
    }
  }

  private readFeatureNames(head: Uint8Array, fail: (p: string) => never): Map<number, string> {
    const names = new Map<number, string>();
    for (const [type, data] of this.extensions(head, fail)) {
      if (type !== EXT_FEATURE_NAMES) continue;
      for (let i = 0; i + 48 <= data.length; i += 48) {
        if (data[i] !== 0) continue; // 0 = incompatible
        const name = new TextDecoder().decode(data.subarray(i + 2, i + 48)).replace(/\0.*$/s, '');
        names.set(data[i + 1]!, name);
      }
    }
    return names;
  }

  private readBackingFormat(head: Uint8Array, fail: (p: string) => never): string | undefined {
    for (const [type, data] of this.extensions(head, fail)) {
      if (type === EXT_BACKING_FORMAT) return new TextDecoder().decode(data);
    }
    return undefined;
  }

  get path(): string {
    return this.file.path;
  }

  private corrupt(problem: string): never {
    throw new DiskFormatError(this.file.path, `qcow2: ${problem}`);
  }

  private loadTable(cache: Map<number, Uint8Array>, offset: number, what: string): Uint8Array {
    let t = cache.get(offset);
    if (t) return t;
    if (offset % this.clusterSize) this.corrupt(`${what} offset ${offset} is not cluster aligned`);
    t = readExact(this.file, offset, this.clusterSize, `qcow2 ${what}`);
    if (cache.size >= CACHE_TABLES) cache.delete(cache.keys().next().value!);
    cache.set(offset, t);
    return t;
  }

  read(offset: number, buf: Uint8Array): void {
    checkRange(this.path, this.size, offset, buf.length, 'read');
    const cs = this.clusterSize;
    for (let done = 0; done < buf.length; ) {
      const pos = offset + done;
      const within = pos % cs;
      const n = Math.min(buf.length - done, cs - within);
      this.readCluster(Math.floor(pos / cs), within, buf.subarray(done, done + n));
      done += n;
    }
  }

  private readCluster(ci: number, within: number, out: Uint8Array): void {
    const cs = this.clusterSize;
    const l1i = Math.floor(ci / this.l2Entries);
    const l2Offset = entryOffset(this.l1View.getUint32(l1i * 8), this.l1View.getUint32(l1i * 8 + 4));
    if (l2Offset === 0) return this.readBacking(ci * cs + within, out);
    const l2 = this.loadTable(this.l2Cache, l2Offset, 'L2 table');
    const at = (ci % this.l2Entries) * 8;
    const hi = (l2[at]! << 24) | (l2[at + 1]! << 16) | (l2[at + 2]! << 8) | l2[at + 3]!;
    const lo = ((l2[at + 4]! << 24) | (l2[at + 5]! << 16) | (l2[at + 6]! << 8) | l2[at + 7]!) >>> 0;
    if (hi & COMPRESSED_HI) {
      const data = this.decompress(hi, lo);
      out.set(data.subarray(within, within + out.length));
      return;
    }
    if (this.version === 3 && lo & 1) {
      out.fill(0);
      return;
    }
    const host = entryOffset(hi, lo);
    if (host === 0) return this.readBacking(ci * cs + within, out);
    if (host % cs) this.corrupt(`data cluster offset ${host} is not cluster aligned`);
    if (host >= this.file.size()) this.corrupt(`data cluster at ${host} lies beyond the end of the file`);
    readData(this.file, host + within, out);
  }

  /**
   * Whether guest cluster `ci` has an entry in this image's own tables (data, compressed or a
   * zero flag), i.e. reads of it do not fall through to the backing file.
   */
  clusterInLayer(ci: number): boolean {
    const l1i = Math.floor(ci / this.l2Entries);
    if (l1i >= this.l1Size) return false;
    const l2Offset = entryOffset(this.l1View.getUint32(l1i * 8), this.l1View.getUint32(l1i * 8 + 4));
    if (l2Offset === 0) return false;
    const l2 = this.loadTable(this.l2Cache, l2Offset, 'L2 table');
    const v = new DataView(l2.buffer, l2.byteOffset, l2.length);
    const at = (ci % this.l2Entries) * 8;
    const hi = v.getUint32(at);
    const lo = v.getUint32(at + 4);
    if (hi & COMPRESSED_HI) return true;
    if (this.version === 3 && lo & 1) return true;
    return entryOffset(hi, lo) !== 0;
  }

  /** Guest clusters that have an entry in this image's own tables, in order. */
  *layerClusters(): Generator<number> {
    const total = Math.ceil(this.size / this.clusterSize);
    for (let l1i = 0; l1i < this.l1Size; l1i++) {
      if (entryOffset(this.l1View.getUint32(l1i * 8), this.l1View.getUint32(l1i * 8 + 4)) === 0) continue;
      const first = l1i * this.l2Entries;
      for (let ci = first; ci < Math.min(total, first + this.l2Entries); ci++) if (this.clusterInLayer(ci)) yield ci;
    }
  }

  private readBacking(pos: number, out: Uint8Array): void {
    const b = this.backing;
    if (!b || pos >= b.size) {
      out.fill(0);
      return;
    }
    const n = Math.min(out.length, b.size - pos);
    b.read(pos, out.subarray(0, n));
    if (n < out.length) out.fill(0, n);
  }

  private compressedRange(hi: number, lo: number): [number, number] {
    const x = 62 - (this.clusterBits - 8);
    const v = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    const offset = Number(v & ((1n << BigInt(x)) - 1n));
    const sectors = Number((v >> BigInt(x)) & ((1n << BigInt(62 - x)) - 1n)) + 1;
    return [offset, sectors * 512 - (offset % 512)];
  }

  private decompress(hi: number, lo: number): Uint8Array {
    const [offset, length] = this.compressedRange(hi, lo);
    if (offset === this.lastCompressed && this.lastCompressedData) return this.lastCompressedData;
    if (offset >= this.file.size()) this.corrupt(`compressed cluster at ${offset} lies beyond the end of the file`);
    const input = new Uint8Array(Math.min(length, this.file.size() - offset));
    this.file.readAt(offset, input);
    let data: Uint8Array;
    try {
      data = inflateRawSync(input, { maxOutputLength: this.clusterSize, finishFlush: 2 /* Z_SYNC_FLUSH */ });
    } catch (e) {
      this.corrupt(`compressed cluster at ${offset} does not decompress (${(e as Error).message})`);
    }
    if (data.length < this.clusterSize) this.corrupt(`compressed cluster at ${offset} decompresses to ${data.length} bytes, not ${this.clusterSize}`);
    this.lastCompressed = offset;
    this.lastCompressedData = data;
    return data;
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockError(`${this.path} is read-only`);
    checkRange(this.path, this.size, offset, data.length, 'write');
    const cs = this.clusterSize;
    for (let done = 0; done < data.length; ) {
      const pos = offset + done;
      const within = pos % cs;
      const n = Math.min(data.length - done, cs - within);
      this.writeCluster(Math.floor(pos / cs), within, data.subarray(done, done + n));
      done += n;
    }
  }

  private writeCluster(ci: number, within: number, piece: Uint8Array): void {
    const cs = this.clusterSize;
    const l1i = Math.floor(ci / this.l2Entries);
    let l2Offset = entryOffset(this.l1View.getUint32(l1i * 8), this.l1View.getUint32(l1i * 8 + 4));
    if (l2Offset === 0) {
      l2Offset = this.allocate(1);
      this.file.writeAt(l2Offset, new Uint8Array(cs));
      this.l2Cache.set(l2Offset, new Uint8Array(cs));
      setEntry(this.l1View, l1i * 8, l2Offset, COPIED_HI);
      this.file.writeAt(this.l1Offset + l1i * 8, this.l1.subarray(l1i * 8, l1i * 8 + 8));
    }
    const l2 = this.loadTable(this.l2Cache, l2Offset, 'L2 table');
    const view = new DataView(l2.buffer, l2.byteOffset, l2.length);
    const at = (ci % this.l2Entries) * 8;
    const hi = view.getUint32(at);
    const lo = view.getUint32(at + 4);
    const host = hi & COMPRESSED_HI ? 0 : entryOffset(hi, lo);
    const zeroFlag = this.version === 3 && !(hi & COMPRESSED_HI) && (lo & 1) === 1;
    if (host !== 0 && !zeroFlag) {
      if (host % cs) this.corrupt(`data cluster offset ${host} is not cluster aligned`);
      this.file.writeAt(host + within, piece);
      return;
    }
    // A new cluster: its current contents (backing, zeros, compressed data) merged with the write.
    const full = new Uint8Array(cs);
    if (piece.length !== cs) {
      if (!zeroFlag) this.readCluster(ci, 0, full);
      full.set(piece, within);
    } else full.set(piece);
    let target = host;
    if (target === 0) target = this.allocate(1);
    this.file.writeAt(target, full);
    if (hi & COMPRESSED_HI) {
      const [coff, clen] = this.compressedRange(hi, lo);
      for (let c = Math.floor(coff / cs); c <= Math.floor((coff + clen - 1) / cs); c++) this.addRefcount(c, -1);
      if (coff === this.lastCompressed) this.lastCompressed = -1;
    }
    setEntry(view, at, target, COPIED_HI);
    this.file.writeAt(l2Offset + at, l2.subarray(at, at + 8));
  }

  /** Appends `n` clusters at the end of the file, refcount 1 each. */
  private allocate(n: number): number {
    const offset = this.end;
    this.end += n * this.clusterSize;
    for (let i = 0; i < n; i++) this.setRefcount(offset / this.clusterSize + i, 1);
    return offset;
  }

  private refBlockFor(ci: number, create: boolean): [Uint8Array, number] | null {
    const bi = Math.floor(ci / this.refsPerBlock);
    if (bi >= this.refTable.length / 8) {
      if (!create) return null;
      this.growRefTable(bi);
    }
    let blockOffset = entryOffset(this.refTableView.getUint32(bi * 8), this.refTableView.getUint32(bi * 8 + 4));
    if (blockOffset === 0) {
      if (!create) return null;
      blockOffset = this.end;
      this.end += this.clusterSize;
      this.file.writeAt(blockOffset, new Uint8Array(this.clusterSize));
      this.refCache.set(blockOffset, new Uint8Array(this.clusterSize));
      setEntry(this.refTableView, bi * 8, blockOffset, 0);
      this.file.writeAt(this.refTableOffset + bi * 8, this.refTable.subarray(bi * 8, bi * 8 + 8));
      this.setRefcount(blockOffset / this.clusterSize, 1);
    }
    return [this.loadTable(this.refCache, blockOffset, 'refcount block'), blockOffset];
  }

  /** The stored refcount of host cluster `ci` (0 when no block covers it). */
  refcount(ci: number): number {
    const found = this.refBlockFor(ci, false);
    if (!found) return 0;
    const [block] = found;
    const idx = ci % this.refsPerBlock;
    const bits = this.refBits;
    if (bits < 8) return (block[(idx * bits) >> 3]! >> ((idx * bits) & 7)) & ((1 << bits) - 1);
    const bytes = bits / 8;
    let v = 0;
    for (let i = 0; i < bytes; i++) v = v * 256 + block[idx * bytes + i]!;
    return v;
  }

  private setRefcount(ci: number, value: number): void {
    const [block, blockOffset] = this.refBlockFor(ci, true)!;
    const idx = ci % this.refsPerBlock;
    const bits = this.refBits;
    if (value < 0 || value >= 2 ** bits) this.corrupt(`refcount of cluster ${ci} would overflow ${bits} bits`);
    let from: number;
    let to: number;
    if (bits < 8) {
      from = (idx * bits) >> 3;
      to = from + 1;
      const shift = (idx * bits) & 7;
      const mask = ((1 << bits) - 1) << shift;
      block[from] = (block[from]! & ~mask) | (value << shift);
    } else {
      const bytes = bits / 8;
      from = idx * bytes;
      to = from + bytes;
      let v = value;
      for (let i = bytes - 1; i >= 0; i--) {
        block[from + i] = v % 256;
        v = Math.floor(v / 256);
      }
    }
    this.file.writeAt(blockOffset + from, block.subarray(from, to));
  }

  private addRefcount(ci: number, delta: number): void {
    this.setRefcount(ci, Math.max(0, this.refcount(ci) + delta));
  }

  /** Moves the refcount table to a bigger place at the end of the file. */
  private growRefTable(neededIndex: number): void {
    const cs = this.clusterSize;
    const oldEntries = this.refTable.length / 8;
    const entries = Math.max(neededIndex + 2, oldEntries * 2);
    const clusters = Math.ceil((entries * 8) / cs);
    if (clusters * cs > MAX_REFTABLE_BYTES) throw new BlockError(`${this.path}: qcow2 refcount table would exceed ${MAX_REFTABLE_BYTES} bytes`);
    const offset = this.end;
    this.end += clusters * cs;
    const table = new Uint8Array(clusters * cs);
    table.set(this.refTable);
    this.file.writeAt(offset, table);
    const oldOffset = this.refTableOffset;
    const oldClusters = this.refTableClusters;
    const hdr = new Uint8Array(12);
    const hv = new DataView(hdr.buffer);
    hv.setBigUint64(0, BigInt(offset));
    hv.setUint32(8, clusters);
    this.file.writeAt(48, hdr);
    this.refTable = table;
    this.refTableView = new DataView(table.buffer);
    this.refTableOffset = offset;
    this.refTableClusters = clusters;
    for (let i = 0; i < clusters; i++) this.setRefcount(offset / cs + i, 1);
    for (let i = 0; i < oldClusters; i++) this.setRefcount(oldOffset / cs + i, 0);
  }

  flush(): void {
    this.file.sync();
  }

  info(): DiskInfo {
    const details: Record<string, string | number | boolean> = {
      compat: this.version === 3 ? '1.1' : '0.10',
      'refcount bits': this.refBits,
      'internal snapshots': this.snapshots,
    };
    if (this.incompatible & INCOMPAT_DIRTY) details.dirty = true;
    if (this.incompatible & INCOMPAT_CORRUPT) details.corrupt = true;
    const info: DiskInfo = {
      format: 'qcow2',
      variant: `qcow2 v${this.version}`,
      virtualSize: this.size,
      fileSize: this.file.size(),
      clusterSize: this.clusterSize,
      details,
    };
    if (this.backingFile !== null) info.backingFile = this.backingFile;
    if (this.backingFormat !== undefined) info.backingFormat = this.backingFormat;
    return info;
  }

  /** Recounts every host cluster's users from the tables and compares with the refcounts. */
  check(): CheckResult {
    const r = emptyCheck();
    const cs = this.clusterSize;
    const fileClusters = Math.ceil(this.file.size() / cs);
    if (fileClusters > 1 << 26) {
      r.notes.push('image too large for a full refcount check');
      return r;
    }
    const expected = new Uint32Array(fileClusters + 1);
    const mark = (offset: number, length: number, what: string): boolean => {
      if (offset + length > fileClusters * cs) {
        r.errors.push(`${what} at ${offset} lies beyond the end of the file`);
        return false;
      }
      for (let c = Math.floor(offset / cs); c <= Math.floor((offset + length - 1) / cs); c++) expected[c]!++;
      return true;
    };
    mark(0, cs, 'header');
    if (this.l1Size) mark(this.l1Offset, this.l1Size * 8, 'L1 table');
    mark(this.refTableOffset, this.refTableClusters * cs, 'refcount table');
    for (let bi = 0; bi < this.refTable.length / 8; bi++) {
      const off = entryOffset(this.refTableView.getUint32(bi * 8), this.refTableView.getUint32(bi * 8 + 4));
      if (off === 0) continue;
      if (off % cs) r.errors.push(`refcount block ${bi} at ${off} is not cluster aligned`);
      else mark(off, cs, `refcount block ${bi}`);
    }
    // As qemu counts: an L2 table once per L1 entry naming it, and its data clusters once
    // per such L1 entry too (a snapshot holds a reference to both).
    const walkL1 = (l1: DataView, entries: number, label: string): void => {
      for (let l1i = 0; l1i < entries; l1i++) {
        const l2Offset = entryOffset(l1.getUint32(l1i * 8), l1.getUint32(l1i * 8 + 4));
        if (l2Offset === 0) continue;
        if (l2Offset % cs) {
          r.errors.push(`${label} L2 table ${l1i} at ${l2Offset} is not cluster aligned`);
          continue;
        }
        if (!mark(l2Offset, cs, `${label} L2 table ${l1i}`)) continue;
        const l2 = readExact(this.file, l2Offset, cs, 'qcow2 L2 table');
        const v = new DataView(l2.buffer);
        for (let i = 0; i < this.l2Entries; i++) {
          const hi = v.getUint32(i * 8);
          const lo = v.getUint32(i * 8 + 4);
          if (hi & COMPRESSED_HI) {
            const [off, len] = this.compressedRange(hi, lo);
            mark(off, Math.max(1, len), `compressed cluster ${l1i}:${i}`);
            continue;
          }
          const host = entryOffset(hi, lo);
          if (host === 0) continue;
          if (host % cs) r.errors.push(`data cluster ${l1i}:${i} at ${host} is not cluster aligned`);
          else mark(host, cs, `data cluster ${l1i}:${i}`);
        }
      }
    };
    walkL1(this.l1View, this.l1Size, 'active');
    if (this.snapshots > 0) {
      if (this.snapshots > 65536 || this.snapshotsOffset % cs) {
        r.errors.push(`snapshot table (${this.snapshots} entries at ${this.snapshotsOffset}) is invalid`);
        return r;
      }
      let at = this.snapshotsOffset;
      for (let n = 0; n < this.snapshots; n++) {
        if (at + 40 > this.file.size()) {
          r.errors.push(`snapshot ${n} lies beyond the end of the file`);
          return r;
        }
        const e = new DataView(readExact(this.file, at, 40, 'qcow2 snapshot').buffer);
        const l1Offset = Number(e.getBigUint64(0));
        const l1Size = e.getUint32(8);
        const length = 40 + e.getUint32(36) + e.getUint16(12) + e.getUint16(14);
        const label = `snapshot ${n}`;
        if (l1Size * 8 > MAX_L1_BYTES || l1Offset % cs || l1Offset + l1Size * 8 > this.file.size()) r.errors.push(`${label}: L1 table (${l1Size} entries at ${l1Offset}) is invalid`);
        else if (l1Size > 0) {
          mark(l1Offset, l1Size * 8, `${label} L1 table`);
          walkL1(new DataView(readExact(this.file, l1Offset, l1Size * 8, 'qcow2 snapshot L1 table').buffer), l1Size, label);
        }
        at += Math.ceil(length / 8) * 8;
      }
      mark(this.snapshotsOffset, Math.max(1, at - this.snapshotsOffset), 'snapshot table');
    }
    for (let c = 0; c < fileClusters; c++) {
      const stored = this.refcount(c);
      const want = expected[c]!;
      if (stored < want) r.errors.push(`cluster ${c} has refcount ${stored} but ${want} reference(s)`);
      else if (stored > want) {
        if (want === 0) r.leaks++;
        else r.errors.push(`cluster ${c} has refcount ${stored} but ${want} reference(s)`);
      }
    }
    // Refcounts past the end of the file are leaks (only blocks that exist are read).
    for (let bi = 0; bi < this.refTable.length / 8; bi++) {
      if (!this.refTableView.getUint32(bi * 8) && !this.refTableView.getUint32(bi * 8 + 4)) continue;
      for (let c = Math.max(bi * this.refsPerBlock, fileClusters); c < (bi + 1) * this.refsPerBlock; c++) if (this.refcount(c) > 0) r.leaks++;
    }
    return r;
  }

  close(): void {
    this.file.close();
    this.backing?.close();
  }
}

function setEntry(view: DataView, at: number, offset: number, flagsHi: number): void {
  view.setUint32(at, (flagsHi | Math.floor(offset / 0x100000000)) >>> 0);
  view.setUint32(at + 4, offset % 0x100000000 >>> 0);
}

export interface Qcow2CreateOptions {
  clusterBits?: number;
  backingFile?: string;
  backingFormat?: string;
}

/** Writes an empty qcow2 v3 image (16-bit refcounts) into an empty file. */
export function createQcow2(file: ImageFile, size: number, opts: Qcow2CreateOptions = {}): void {
  const bits = opts.clusterBits ?? 16;
  if (bits < 9 || bits > 21) throw new BlockError(`qcow2 cluster size must be 512 B to 2 MiB`);
  if (size % 512 || size < 0 || size > MAX_VIRTUAL_SIZE) throw new BlockError(`qcow2 size ${size} must be a multiple of 512`);
  const cs = 2 ** bits;
  const l1Entries = Math.ceil(size / ((cs / 8) * cs));
  const l1Clusters = Math.max(1, Math.ceil((l1Entries * 8) / cs));
  const perBlock = (cs * 8) / 16;
  let tableClusters = 1;
  let blocks = 1;
  for (let guard = 0; guard < 64; guard++) {
    const total = 1 + tableClusters + blocks + l1Clusters;
    const needBlocks = Math.ceil(total / perBlock);
    const needTable = Math.ceil((needBlocks * 8) / cs);
    if (needBlocks <= blocks && needTable <= tableClusters) break;
    blocks = Math.max(blocks, needBlocks);
    tableClusters = Math.max(tableClusters, needTable);
  }
  const tableAt = cs;
  const blocksAt = tableAt + tableClusters * cs;
  const l1At = blocksAt + blocks * cs;
  const total = 1 + tableClusters + blocks + l1Clusters;

  const header = new Uint8Array(cs);
  const h = new DataView(header.buffer);
  h.setUint32(0, QCOW2_MAGIC);
  h.setUint32(4, 3);
  h.setUint32(20, bits);
  h.setBigUint64(24, BigInt(size));
  h.setUint32(36, l1Entries);
  h.setBigUint64(40, BigInt(l1At));
  h.setBigUint64(48, BigInt(tableAt));
  h.setUint32(56, tableClusters);
  h.setUint32(96, 4);
  h.setUint32(100, 104);
  let at = 104;
  const enc = new TextEncoder();
  if (opts.backingFormat) {
    const fmt = enc.encode(opts.backingFormat);
    h.setUint32(at, EXT_BACKING_FORMAT);
    h.setUint32(at + 4, fmt.length);
    header.set(fmt, at + 8);
    at += 8 + Math.ceil(fmt.length / 8) * 8;
  }
  at += 8; // end-of-extensions marker (zeros)
  if (opts.backingFile) {
    const name = enc.encode(opts.backingFile);
    if (name.length > 1023 || at + name.length > cs) throw new BlockError(`backing file name is too long: ${opts.backingFile}`);
    header.set(name, at);
    h.setBigUint64(8, BigInt(at));
    h.setUint32(16, name.length);
  }
  const meta = new Uint8Array(total * cs);
  meta.set(header);
  const mv = new DataView(meta.buffer);
  for (let b = 0; b < blocks; b++) mv.setBigUint64(tableAt + b * 8, BigInt(blocksAt + b * cs));
  for (let c = 0; c < total; c++) mv.setUint16(blocksAt + c * 2, 1);
  file.truncate(0);
  file.writeAt(0, meta);
}
