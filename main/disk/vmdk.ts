// VMDK (VMware) images: monolithic sparse (read-write), streamOptimized (read), and text
// descriptors naming FLAT / SPARSE / ZERO extents (read-write where the extent allows).
//
// From VMware's "Virtual Disk Format 1.1" specification: a sparse extent starts with a
// little-endian header ("KDMV"), a grain directory (GD) of 32-bit sector offsets of grain
// tables (GT), whose 32-bit entries give the sector of each grain (0 = absent, 1 = zeroed).
// streamOptimized extents hold deflate-compressed grains, each behind a 12-byte marker
// (LBA, size), and may keep the real header in a footer near the end of the file.
import { randomBytes } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';
import { BlockError } from '../../core/disk/block.js';
import { checkRange, DiskFormatError, NodeImageFile, readData, readExact, u64, type ImageFile } from './file.js';
import { emptyCheck, type CheckResult, type DiskImage, type DiskInfo, type FormatOpenOptions } from './types.js';

export const VMDK_MAGIC = 0x564d444b; // "KDMV" little-endian
const FLAG_RGD = 1 << 1;
const FLAG_ZERO_GRAIN = 1 << 2;
const FLAG_COMPRESSED = 1 << 16;
const FLAG_MARKERS = 1 << 17;
const GD_AT_END = 0xffffffffffffffffn;
const MAX_GD_BYTES = 32 << 20;
const MAX_DESCRIPTOR = 1 << 20;

/** One sparse extent file ("hosted sparse extent"). */
class SparseExtent {
  readonly sectors: number;
  readonly grainBytes: number;
  readonly compressed: boolean;
  private readonly gtEntries: number;
  private readonly gd: Uint32Array;
  private readonly rgd: Uint32Array | null;
  private readonly zeroGrains: boolean;
  private readonly gtCache = new Map<number, Uint32Array>();
  private end: number;
  /** Recently inflated grains by sector (a guest reads a grain sector by sector). */
  private readonly inflated = new Map<number, Uint8Array>();
  readonly descriptor: string;
  readonly version: number;

  constructor(readonly file: ImageFile) {
    const fail = (problem: string): never => {
      throw new DiskFormatError(file.path, `vmdk: ${problem}`);
    };
    let head = readExact(file, 0, 512, 'vmdk sparse header');
    let h = new DataView(head.buffer);
    if (h.getUint32(0, true) !== VMDK_MAGIC) fail('bad magic');
    this.version = h.getUint32(4, true);
    if (this.version < 1 || this.version > 3) fail(`unsupported version ${this.version}`);
    const descOffset = u64(h, 28, true, file, 'descriptor offset');
    const descSize = u64(h, 36, true, file, 'descriptor size');
    this.descriptor = '';
    if (descOffset !== 0 && descSize !== 0) {
      if (descSize * 512 > MAX_DESCRIPTOR) fail(`embedded descriptor of ${descSize} sectors is too large`);
      this.descriptor = new TextDecoder().decode(readExact(file, descOffset * 512, descSize * 512, 'vmdk descriptor')).replace(/\0.*$/s, '');
    }
    if (h.getBigUint64(56, true) === GD_AT_END) {
      // streamOptimized: the complete header is the footer before the end-of-stream marker.
      if (file.size() < 1536) fail('stream footer is missing');
      head = readExact(file, file.size() - 1024, 512, 'vmdk footer');
      h = new DataView(head.buffer);
      if (h.getUint32(0, true) !== VMDK_MAGIC) fail('bad magic in the stream footer');
      if (h.getBigUint64(56, true) === GD_AT_END) fail('the stream footer has no grain directory');
    }
    const flags = h.getUint32(8, true);
    this.sectors = u64(h, 12, true, file, 'capacity');
    const grain = u64(h, 20, true, file, 'grain size');
    this.gtEntries = h.getUint32(44, true);
    const rgdOffset = u64(h, 48, true, file, 'redundant GD offset');
    const gdOffset = u64(h, 56, true, file, 'GD offset');
    if (grain < 1 || grain > 4096 || grain & (grain - 1)) fail(`grain size ${grain} sectors is invalid`);
    if (this.gtEntries < 1 || this.gtEntries > 65536) fail(`${this.gtEntries} entries per grain table is invalid`);
    if (this.sectors > 2 ** 41) fail(`capacity ${this.sectors} sectors is too large`);
    this.grainBytes = grain * 512;
    this.compressed = (flags & FLAG_COMPRESSED) !== 0;
    if (this.compressed && h.getUint16(77, true) !== 1) fail(`compression algorithm ${h.getUint16(77, true)} is not supported`);
    if (this.compressed && !(flags & FLAG_MARKERS)) fail('compressed grains without markers are not supported');
    this.zeroGrains = (flags & FLAG_ZERO_GRAIN) !== 0 || this.version >= 2;
    const gdEntries = Math.ceil(this.sectors / (this.gtEntries * grain));
    if (gdEntries * 4 > MAX_GD_BYTES) fail(`grain directory of ${gdEntries} entries is too large`);
    this.gd = this.readDirectory(gdOffset, gdEntries, 'grain directory');
    this.rgd = flags & FLAG_RGD && rgdOffset ? this.readDirectory(rgdOffset, gdEntries, 'redundant grain directory') : null;
    this.end = Math.ceil(file.size() / 512) * 512;
  }

  private readDirectory(sector: number, entries: number, what: string): Uint32Array {
    const raw = readExact(this.file, sector * 512, entries * 4, `vmdk ${what}`);
    const v = new DataView(raw.buffer);
    const gd = new Uint32Array(entries);
    for (let i = 0; i < entries; i++) gd[i] = v.getUint32(i * 4, true);
    return gd;
  }

  private table(gtSector: number): Uint32Array {
    let t = this.gtCache.get(gtSector);
    if (t) return t;
    const raw = readExact(this.file, gtSector * 512, this.gtEntries * 4, 'vmdk grain table');
    const v = new DataView(raw.buffer);
    t = new Uint32Array(this.gtEntries);
    for (let i = 0; i < this.gtEntries; i++) t[i] = v.getUint32(i * 4, true);
    if (this.gtCache.size >= 256) this.gtCache.delete(this.gtCache.keys().next().value!);
    this.gtCache.set(gtSector, t);
    return t;
  }

  /** Sector of grain `g`, 0 when absent, 1 when zeroed. */
  private grainEntry(g: number): number {
    const gtSector = this.gd[Math.floor(g / this.gtEntries)]!;
    if (gtSector === 0) return 0;
    return this.table(gtSector)[g % this.gtEntries]!;
  }

  /** Reads within the extent; absent grains come from `absent` (parent or zeros). */
  read(pos: number, out: Uint8Array, absent: (pos: number, out: Uint8Array) => void): void {
    const gb = this.grainBytes;
    for (let done = 0; done < out.length; ) {
      const p = pos + done;
      const within = p % gb;
      const n = Math.min(out.length - done, gb - within);
      const part = out.subarray(done, done + n);
      const g = Math.floor(p / gb);
      const e = this.grainEntry(g);
      if (e === 0) absent(p, part);
      else if (e === 1 && this.zeroGrains) part.fill(0);
      else if (this.compressed) part.set(this.inflateGrain(e, g).subarray(within, within + n));
      else {
        if (e * 512 >= this.file.size()) throw new DiskFormatError(this.file.path, `vmdk: grain ${g} at sector ${e} lies beyond the end of the file`);
        readData(this.file, e * 512 + within, part);
      }
      done += n;
    }
  }

  private inflateGrain(sector: number, g: number): Uint8Array {
    const cached = this.inflated.get(sector);
    if (cached) return cached;
    const marker = readExact(this.file, sector * 512, 12, 'vmdk grain marker');
    const mv = new DataView(marker.buffer);
    const size = mv.getUint32(8, true);
    if (size === 0 || size > this.grainBytes * 2 + 4096) throw new DiskFormatError(this.file.path, `vmdk: compressed grain ${g} has an invalid size ${size}`);
    const input = readExact(this.file, sector * 512 + 12, size, 'vmdk compressed grain');
    let data: Uint8Array;
    try {
      data = inflateSync(input, { maxOutputLength: this.grainBytes });
    } catch (e) {
      throw new DiskFormatError(this.file.path, `vmdk: compressed grain ${g} does not decompress (${(e as Error).message})`);
    }
    const full = new Uint8Array(this.grainBytes);
    full.set(data);
    if (this.inflated.size >= 16) this.inflated.delete(this.inflated.keys().next().value!);
    this.inflated.set(sector, full);
    return full;
  }

  write(pos: number, data: Uint8Array, current: (pos: number, out: Uint8Array) => void): void {
    if (this.compressed) throw new BlockError(`${this.file.path}: writing to compressed (streamOptimized) VMDK images is not supported`);
    const gb = this.grainBytes;
    for (let done = 0; done < data.length; ) {
      const p = pos + done;
      const within = p % gb;
      const n = Math.min(data.length - done, gb - within);
      const piece = data.subarray(done, done + n);
      const g = Math.floor(p / gb);
      const gi = Math.floor(g / this.gtEntries);
      const gtSector = this.gd[gi]!;
      if (gtSector === 0) throw new BlockError(`${this.file.path}: vmdk grain table ${gi} is not preallocated; writing is not supported`);
      const e = this.grainEntry(g);
      if (e > 1 || (e === 1 && !this.zeroGrains)) {
        this.file.writeAt(e * 512 + within, piece);
      } else {
        const grain = new Uint8Array(gb);
        if (n !== gb && e === 0) current(g * gb, grain);
        grain.set(piece, within);
        const sector = this.end / 512;
        this.file.writeAt(this.end, grain);
        this.end += gb;
        this.setEntry(gtSector, g % this.gtEntries, sector);
        if (this.rgd && this.rgd[gi]) this.setEntry(this.rgd[gi]!, g % this.gtEntries, sector, false);
      }
      done += n;
    }
  }

  private setEntry(gtSector: number, index: number, sector: number, cached = true): void {
    if (cached) this.table(gtSector)[index] = sector;
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, sector, true);
    this.file.writeAt(gtSector * 512 + index * 4, b);
  }

  check(r: CheckResult): void {
    const seen = new Set<number>();
    for (let gi = 0; gi < this.gd.length; gi++) {
      const gt = this.gd[gi]!;
      if (gt === 0) continue;
      if ((gt * 512 + this.gtEntries * 4) > this.file.size()) {
        r.errors.push(`${this.file.path}: grain table ${gi} lies beyond the end of the file`);
        continue;
      }
      const t = this.table(gt);
      for (let i = 0; i < t.length; i++) {
        const e = t[i]!;
        if (e <= 1) continue;
        if (seen.has(e)) r.errors.push(`${this.file.path}: grain ${gi * this.gtEntries + i} shares sector ${e} with another grain`);
        seen.add(e);
        if (e * 512 >= this.file.size()) r.errors.push(`${this.file.path}: grain ${gi * this.gtEntries + i} lies beyond the end of the file`);
      }
    }
  }
}

interface Extent {
  start: number;
  length: number;
  kind: 'flat' | 'sparse' | 'zero';
  file: ImageFile | null;
  /** Byte offset inside a flat extent file. */
  offset: number;
  sparse: SparseExtent | null;
  writable: boolean;
}

function descriptorValue(text: string, key: string): string | undefined {
  const m = new RegExp(`^\\s*${key}\\s*=\\s*"?([^"\\r\\n]*)"?`, 'mi').exec(text);
  return m?.[1]?.trim();
}

export class VmdkImage implements DiskImage {
  readonly format = 'vmdk' as const;
  readonly size: number;
  readonly readOnly: boolean;
  private readonly extents: Extent[] = [];
  private readonly createType: string;
  private readonly parent: DiskImage | null = null;
  readonly parentPath: string | null = null;
  private readonly version: number;

  constructor(private readonly file: ImageFile, opts: FormatOpenOptions) {
    const fail = (problem: string): never => {
      throw new DiskFormatError(file.path, `vmdk: ${problem}`);
    };
    this.readOnly = opts.readOnly || file.readOnly;
    let descriptor: string;
    if (file.size() < 4) fail('file is too short');
    const magic = new DataView(readExact(file, 0, 4, 'vmdk magic').buffer).getUint32(0, true);
    if (magic === VMDK_MAGIC) {
      const sparse = new SparseExtent(file);
      descriptor = sparse.descriptor;
      this.version = sparse.version;
      this.extents.push({ start: 0, length: sparse.sectors * 512, kind: 'sparse', file, offset: 0, sparse, writable: !sparse.compressed });
      this.size = sparse.sectors * 512;
      this.createType = descriptorValue(descriptor, 'createType') ?? (sparse.compressed ? 'streamOptimized' : 'monolithicSparse');
    } else {
      if (file.size() > MAX_DESCRIPTOR) fail('not a VMDK descriptor (file too large for a text descriptor)');
      descriptor = new TextDecoder().decode(readExact(file, 0, file.size(), 'vmdk descriptor'));
      this.version = 0;
      this.createType = descriptorValue(descriptor, 'createType') ?? fail('descriptor has no createType');
      let start = 0;
      const dir = dirname(file.path);
      try {
        for (const line of descriptor.split(/\r?\n/)) {
          const m = /^\s*(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\w+)(?:\s+"([^"]*)"(?:\s+(\d+))?)?/.exec(line);
          if (!m) continue;
          const [, access, sectorsText, type, name, offsetText] = m;
          const length = Number(sectorsText) * 512;
          if (!Number.isSafeInteger(length) || length > 2 ** 52) fail(`extent size ${sectorsText} is invalid`);
          const kind = type!.toUpperCase();
          const writable = access === 'RW' && !this.readOnly;
          if (kind === 'ZERO') {
            this.extents.push({ start, length, kind: 'zero', file: null, offset: 0, sparse: null, writable: false });
          } else if (kind === 'FLAT' || kind === 'VMFS') {
            if (!name) fail(`extent line "${line.trim()}" has no file name`);
            const f = new NodeImageFile(resolve(dir, name!), !writable);
            this.extents.push({ start, length, kind: 'flat', file: f, offset: Number(offsetText ?? 0) * 512, sparse: null, writable });
          } else if (kind === 'SPARSE') {
            if (!name) fail(`extent line "${line.trim()}" has no file name`);
            const f = new NodeImageFile(resolve(dir, name!), !writable);
            try {
              const sparse = new SparseExtent(f);
              this.extents.push({ start, length, kind: 'sparse', file: f, offset: 0, sparse, writable: writable && !sparse.compressed });
            } catch (e) {
              f.close();
              throw e;
            }
          } else fail(`extent type ${kind} is not supported`);
          start += length;
          if (this.extents.length > 4096) fail('too many extents');
        }
      } catch (e) {
        this.closeExtents();
        throw e;
      }
      if (this.extents.length === 0) fail('descriptor names no extents');
      this.size = start;
    }
    // Nothing writable (streamOptimized, read-only extents): say so up front.
    if (!this.readOnly && !this.extents.some((x) => x.writable)) this.readOnly = true;
    const parentCid = descriptorValue(descriptor, 'parentCID');
    const hint = descriptorValue(descriptor, 'parentFileNameHint');
    if (parentCid && parentCid.toLowerCase() !== 'ffffffff' && hint) {
      if (!opts.openBacking) fail(`has a parent disk (${hint}) that cannot be opened here`);
      this.parentPath = hint;
      this.parent = opts.openBacking!(hint, 'vmdk', opts.depth + 1);
    }
  }

  get path(): string {
    return this.file.path;
  }

  private readParent = (pos: number, out: Uint8Array): void => {
    const p = this.parent;
    if (!p || pos >= p.size) {
      out.fill(0);
      return;
    }
    const n = Math.min(out.length, p.size - pos);
    p.read(pos, out.subarray(0, n));
    if (n < out.length) out.fill(0, n);
  };

  private forExtents(offset: number, length: number, each: (x: Extent, within: number, from: number, to: number) => void): void {
    for (const x of this.extents) {
      if (offset + length <= x.start || offset >= x.start + x.length) continue;
      const from = Math.max(offset, x.start);
      const to = Math.min(offset + length, x.start + x.length);
      each(x, from - x.start, from - offset, to - offset);
    }
  }

  read(offset: number, buf: Uint8Array): void {
    checkRange(this.path, this.size, offset, buf.length, 'read');
    this.forExtents(offset, buf.length, (x, within, from, to) => {
      const out = buf.subarray(from, to);
      if (x.kind === 'zero') out.fill(0);
      else if (x.kind === 'flat') readData(x.file!, x.offset + within, out);
      else x.sparse!.read(within, out, (p, o) => this.readParent(x.start + p, o));
    });
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockError(`${this.path} is read-only`);
    checkRange(this.path, this.size, offset, data.length, 'write');
    this.forExtents(offset, data.length, (x, within, from, to) => {
      if (!x.writable) throw new BlockError(`${this.path}: extent at ${x.start} is not writable`);
      const piece = data.subarray(from, to);
      if (x.kind === 'flat') x.file!.writeAt(x.offset + within, piece);
      else x.sparse!.write(within, piece, (p, o) => this.readParent(x.start + p, o));
    });
  }

  flush(): void {
    for (const x of this.extents) x.file?.sync();
  }

  info(): DiskInfo {
    const info: DiskInfo = {
      format: 'vmdk',
      variant: `vmdk ${this.createType}`,
      virtualSize: this.size,
      fileSize: this.file.size(),
      details: { extents: this.extents.length },
    };
    if (this.version) info.details.version = this.version;
    const sparse = this.extents.find((x) => x.sparse)?.sparse;
    if (sparse) info.clusterSize = sparse.grainBytes;
    if (this.parentPath) info.backingFile = this.parentPath;
    return info;
  }

  check(): CheckResult {
    const r = emptyCheck();
    for (const x of this.extents) x.sparse?.check(r);
    return r;
  }

  private closeExtents(): void {
    for (const x of this.extents) if (x.file && x.file !== this.file) x.file.close();
  }

  close(): void {
    this.closeExtents();
    this.file.close();
    this.parent?.close();
  }
}

/** Writes an empty monolithic sparse VMDK (64 KiB grains by default, preallocated grain tables). */
export function createVmdk(file: ImageFile, size: number, grain = 128): void {
  if (size % 512 || size < 0) throw new BlockError(`vmdk size ${size} must be a multiple of 512`);
  if (grain < 1 || grain > 4096 || grain & (grain - 1)) throw new BlockError(`vmdk grain of ${grain} sectors is invalid`);
  const sectors = size / 512;
  const gtEntries = 512;
  const gdEntries = Math.max(1, Math.ceil(sectors / (gtEntries * grain)));
  const gdSectors = Math.ceil((gdEntries * 4) / 512);
  const gtSectors = (gtEntries * 4) / 512;
  const descOffset = 1;
  const descSectors = 20;
  const gdOffset = descOffset + descSectors;
  const overhead = Math.ceil((gdOffset + gdSectors + gdEntries * gtSectors) / grain) * grain;
  const cylinders = Math.min(16383, Math.max(1, Math.floor(sectors / (16 * 63))));
  const cid = randomBytes(4).toString('hex');
  const descriptor = `# Disk DescriptorFile
version=1
CID=${cid}
parentCID=ffffffff
createType="monolithicSparse"

# Extent description
RW ${sectors} SPARSE "${basename(file.path)}"

# The Disk Data Base
#DDB

ddb.virtualHWVersion = "4"
ddb.geometry.cylinders = "${cylinders}"
ddb.geometry.heads = "16"
ddb.geometry.sectors = "63"
ddb.adapterType = "ide"
`;
  const meta = new Uint8Array(overhead * 512);
  const h = new DataView(meta.buffer);
  h.setUint32(0, VMDK_MAGIC, true);
  h.setUint32(4, 1, true);
  h.setUint32(8, 1, true); // valid newline detection
  h.setBigUint64(12, BigInt(sectors), true);
  h.setBigUint64(20, BigInt(grain), true);
  h.setBigUint64(28, BigInt(descOffset), true);
  h.setBigUint64(36, BigInt(descSectors), true);
  h.setUint32(44, gtEntries, true);
  h.setBigUint64(56, BigInt(gdOffset), true);
  h.setBigUint64(64, BigInt(overhead), true);
  meta.set([0x0a, 0x20, 0x0d, 0x0a], 73);
  meta.set(new TextEncoder().encode(descriptor), descOffset * 512);
  for (let i = 0; i < gdEntries; i++) h.setUint32(gdOffset * 512 + i * 4, gdOffset + gdSectors + i * gtSectors, true);
  file.truncate(0);
  file.writeAt(0, meta);
}
