// VHD (Virtual PC / Hyper-V) images: fixed, dynamic and differencing, read-write.
//
// From the "Virtual Hard Disk Image Format Specification": a 512-byte big-endian footer at
// the end of the file (and a copy at the start of dynamic disks), a dynamic disk header with
// the block allocation table (BAT: 32-bit sector offsets, 0xffffffff = absent), and blocks
// that start with a sector bitmap. In a differencing disk a clear bitmap bit means "read the
// parent"; the parent is found through the parent locators. New blocks go where the footer
// was and the footer moves to the new end.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { BlockError } from '../../core/disk/block.js';
import { checkRange, DiskFormatError, readData, readExact, u64, type ImageFile } from './file.js';
import { emptyCheck, type CheckResult, type DiskImage, type DiskInfo, type FormatOpenOptions } from './types.js';

const COOKIE = 'conectix';
const DYN_COOKIE = 'cxsparse';
const TYPE_FIXED = 2;
const TYPE_DYNAMIC = 3;
const TYPE_DIFFERENCING = 4;
const ABSENT = 0xffffffff;
const MAX_BAT_BYTES = 64 << 20;
const VHD_EPOCH_MS = Date.UTC(2000, 0, 1);
/** Creators whose footer size is authoritative (others size the disk by its CHS geometry). */
const CURRENT_SIZE_CREATORS = ['win ', 'qem2', 'd2v ', 'CTXS', 'tap\0', 'prse'];

function ascii(b: Uint8Array): string {
  return String.fromCharCode(...b);
}

function checksum(b: Uint8Array, skipAt: number): number {
  let sum = 0;
  for (let i = 0; i < b.length; i++) if (i < skipAt || i >= skipAt + 4) sum += b[i]!;
  return ~sum >>> 0;
}

export function isVhdFooter(b: Uint8Array): boolean {
  return b.length >= 8 && ascii(b.subarray(0, 8)) === COOKIE;
}

export class VhdImage implements DiskImage {
  readonly format = 'vhd' as const;
  readonly size: number;
  readonly readOnly: boolean;
  private readonly type: number;
  private readonly footer: Uint8Array;
  private footerOffset: number;
  private readonly batOffset: number = 0;
  private readonly blockSize: number = 0;
  private readonly bitmapSize: number = 0;
  private readonly bat = new Uint32Array(0);
  private readonly bitmaps = new Map<number, Uint8Array>();
  readonly parentPath: string | null = null;
  private readonly parent: DiskImage | null = null;
  private readonly creator: string;

  constructor(private readonly file: ImageFile, opts: FormatOpenOptions) {
    const fail = (problem: string): never => {
      throw new DiskFormatError(file.path, `vhd: ${problem}`);
    };
    if (file.size() < 512) fail('file is too short for a footer');
    this.footerOffset = Math.floor(file.size() / 512) * 512 - 512;
    let footer = readExact(file, this.footerOffset, 512, 'vhd footer');
    if (!isVhdFooter(footer)) {
      // A damaged or missing trailing footer: dynamic disks keep a copy at the start.
      const copy = readExact(file, 0, 512, 'vhd footer copy');
      if (!isVhdFooter(copy)) fail('no footer (cookie "conectix") at the end or start of the file');
      footer = copy;
      this.footerOffset = Math.floor(file.size() / 512) * 512;
    }
    this.footer = footer;
    const f = new DataView(footer.buffer);
    if (checksum(footer, 64) !== f.getUint32(64)) fail('footer checksum mismatch');
    this.type = f.getUint32(60);
    if (this.type !== TYPE_FIXED && this.type !== TYPE_DYNAMIC && this.type !== TYPE_DIFFERENCING) fail(`unsupported disk type ${this.type}`);
    this.creator = ascii(footer.subarray(28, 32));
    const currentSize = u64(f, 48, false, file, 'current size');
    const cyl = f.getUint16(56);
    const heads = footer[58]!;
    const spt = footer[59]!;
    const chsSize = cyl * heads * spt * 512;
    const maxChs = cyl === 65535 && heads === 16 && spt === 255;
    let size = CURRENT_SIZE_CREATORS.includes(this.creator) || maxChs || chsSize === 0 ? currentSize : Math.min(chsSize, currentSize);
    size = Math.floor(size / 512) * 512;
    this.readOnly = opts.readOnly || file.readOnly;

    if (this.type === TYPE_FIXED) {
      if (size > this.footerOffset) fail(`disk size ${size} exceeds the data in the file (${this.footerOffset} bytes)`);
      this.size = size;
      return;
    }
    const dynOffset = u64(f, 16, false, file, 'dynamic header offset');
    const dyn = readExact(file, dynOffset, 1024, 'vhd dynamic disk header');
    const d = new DataView(dyn.buffer);
    if (ascii(dyn.subarray(0, 8)) !== DYN_COOKIE) fail('bad dynamic disk header cookie');
    if (checksum(dyn, 36) !== d.getUint32(36)) fail('dynamic disk header checksum mismatch');
    this.batOffset = u64(d, 16, false, file, 'BAT offset');
    const entries = d.getUint32(28);
    this.blockSize = d.getUint32(32);
    if (this.blockSize < 4096 || this.blockSize > 256 << 20 || this.blockSize & (this.blockSize - 1)) fail(`block size ${this.blockSize} is not supported`);
    if (entries * 4 > MAX_BAT_BYTES) fail(`BAT of ${entries} entries is too large`);
    if (entries * this.blockSize < size) fail(`BAT (${entries} blocks) does not cover the disk size ${size}`);
    this.size = size;
    this.bitmapSize = Math.ceil(this.blockSize / 512 / 8 / 512) * 512;
    const raw = readExact(file, this.batOffset, entries * 4, 'vhd BAT');
    const bv = new DataView(raw.buffer);
    this.bat = new Uint32Array(entries);
    for (let i = 0; i < entries; i++) this.bat[i] = bv.getUint32(i * 4);

    if (this.type === TYPE_DIFFERENCING) {
      const found = this.findParent(dyn);
      if (!found) fail('the parent disk cannot be found (no parent locator names an existing file)');
      this.parentPath = found;
      if (!opts.openBacking) fail(`has a parent disk (${found}) that cannot be opened here`);
      this.parent = opts.openBacking!(found!, 'vhd', opts.depth + 1);
    }
  }

  /** Candidate parent paths from the locators (relative first) and the parent's name. */
  private findParent(dyn: Uint8Array): string | null {
    const d = new DataView(dyn.buffer);
    const dir = dirname(this.file.path);
    const candidates: string[] = [];
    for (let i = 0; i < 8; i++) {
      const at = 576 + i * 24;
      const code = ascii(dyn.subarray(at, at + 4));
      const length = d.getUint32(at + 8);
      const offset = Number(d.getBigUint64(at + 16));
      if (code === '\0\0\0\0' || length === 0 || length > 4096 || !Number.isSafeInteger(offset)) continue;
      if (offset + length > this.file.size()) continue;
      const data = readExact(this.file, offset, length, 'vhd parent locator');
      let name: string;
      if (code === 'W2ru' || code === 'W2ku') name = new TextDecoder('utf-16le').decode(data);
      else if (code === 'MacX') {
        try {
          name = decodeURIComponent(new TextDecoder().decode(data).replace(/^file:\/\/(localhost)?/, ''));
        } catch {
          continue; // not a valid file URL
        }
      }
      else continue;
      name = name.replace(/\0+$/, '').replace(/\\/g, '/').replace(/^\.\//, '');
      if (code === 'W2ru') candidates.unshift(resolve(dir, name));
      else candidates.push(resolve(dir, name));
    }
    const unicode = new TextDecoder('utf-16be').decode(dyn.subarray(64, 576)).replace(/\0.*$/s, '');
    if (unicode) candidates.push(resolve(dir, basename(unicode.replace(/\\/g, '/'))));
    return candidates.find((c) => this.parentExists(c)) ?? null;
  }

  private parentExists(path: string): boolean {
    return path !== this.file.path && existsSync(path);
  }

  get path(): string {
    return this.file.path;
  }

  private bitmap(e: number): Uint8Array {
    let b = this.bitmaps.get(e);
    if (!b) {
      b = readExact(this.file, e * 512, this.bitmapSize, 'vhd block bitmap');
      if (this.bitmaps.size >= 256) this.bitmaps.delete(this.bitmaps.keys().next().value!);
      this.bitmaps.set(e, b);
    }
    return b;
  }

  read(offset: number, buf: Uint8Array): void {
    checkRange(this.path, this.size, offset, buf.length, 'read');
    if (this.type === TYPE_FIXED) return readData(this.file, offset, buf);
    const bs = this.blockSize;
    for (let done = 0; done < buf.length; ) {
      const pos = offset + done;
      const within = pos % bs;
      const n = Math.min(buf.length - done, bs - within);
      const out = buf.subarray(done, done + n);
      const e = this.bat[Math.floor(pos / bs)]!;
      if (e === ABSENT) this.readParent(pos, out);
      else if (e * 512 >= this.footerOffset) throw new DiskFormatError(this.file.path, `vhd: block ${Math.floor(pos / bs)} at sector ${e} lies beyond the data`);
      else if (this.type === TYPE_DYNAMIC) readData(this.file, e * 512 + this.bitmapSize + within, out);
      else this.readDifferencing(e, pos, within, out);
      done += n;
    }
  }

  private readDifferencing(e: number, pos: number, within: number, out: Uint8Array): void {
    const bitmap = this.bitmap(e);
    for (let done = 0; done < out.length; ) {
      const sector = Math.floor((within + done) / 512);
      const present = (bitmap[sector >> 3]! >> (7 - (sector & 7))) & 1;
      // A run of sectors with the same bit.
      let end = done + (512 - ((within + done) % 512));
      while (end < out.length && ((bitmap[(sector + Math.floor((end - done) / 512)) >> 3]! >> (7 - ((sector + Math.floor((end - done) / 512)) & 7))) & 1) === present) end += 512;
      end = Math.min(end, out.length);
      const part = out.subarray(done, end);
      if (present) readData(this.file, e * 512 + this.bitmapSize + within + done, part);
      else this.readParent(pos + done, part);
      done = end;
    }
  }

  private readParent(pos: number, out: Uint8Array): void {
    const p = this.parent;
    if (!p || pos >= p.size) {
      out.fill(0);
      return;
    }
    const n = Math.min(out.length, p.size - pos);
    p.read(pos, out.subarray(0, n));
    if (n < out.length) out.fill(0, n);
  }

  write(offset: number, data: Uint8Array): void {
    if (this.readOnly) throw new BlockError(`${this.path} is read-only`);
    checkRange(this.path, this.size, offset, data.length, 'write');
    if (this.type === TYPE_FIXED) return this.file.writeAt(offset, data);
    if (offset % 512 || data.length % 512) {
      // Whole sectors only (bitmap granularity): merge with the current contents.
      const start = Math.floor(offset / 512) * 512;
      const end = Math.ceil((offset + data.length) / 512) * 512;
      const merged = new Uint8Array(end - start);
      this.read(start, merged);
      merged.set(data, offset - start);
      return this.write(start, merged);
    }
    const bs = this.blockSize;
    for (let done = 0; done < data.length; ) {
      const pos = offset + done;
      const within = pos % bs;
      const n = Math.min(data.length - done, bs - within);
      const piece = data.subarray(done, done + n);
      const bi = Math.floor(pos / bs);
      let e = this.bat[bi]!;
      if (e === ABSENT) {
        e = this.footerOffset / 512;
        const block = new Uint8Array(this.bitmapSize + bs);
        block.fill(0xff, 0, this.bitmapSize);
        const contents = block.subarray(this.bitmapSize);
        // Differencing: the block takes over the parent's data, so every bit can be set.
        if (this.type === TYPE_DIFFERENCING) this.readParent(bi * bs, contents.subarray(0, Math.min(bs, this.size - bi * bs)));
        contents.set(piece, within);
        this.file.writeAt(e * 512, block);
        this.footerOffset = e * 512 + block.length;
        this.file.writeAt(this.footerOffset, this.footer);
        this.bat[bi] = e;
        const entry = new Uint8Array(4);
        new DataView(entry.buffer).setUint32(0, e);
        this.file.writeAt(this.batOffset + bi * 4, entry);
      } else {
        this.file.writeAt(e * 512 + this.bitmapSize + within, piece);
        if (this.type === TYPE_DIFFERENCING) this.markPresent(e, within, n);
      }
      done += n;
    }
  }

  private markPresent(e: number, within: number, length: number): void {
    const bitmap = this.bitmap(e);
    const first = within / 512;
    const last = (within + length) / 512 - 1;
    let changed = false;
    for (let s = first; s <= last; s++) {
      const bit = 1 << (7 - (s & 7));
      if (!(bitmap[s >> 3]! & bit)) {
        bitmap[s >> 3]! |= bit;
        changed = true;
      }
    }
    if (changed) this.file.writeAt(e * 512 + (first >> 3), bitmap.subarray(first >> 3, (last >> 3) + 1));
  }

  flush(): void {
    this.file.sync();
  }

  info(): DiskInfo {
    const names = { [TYPE_FIXED]: 'fixed', [TYPE_DYNAMIC]: 'dynamic', [TYPE_DIFFERENCING]: 'differencing' } as Record<number, string>;
    const info: DiskInfo = {
      format: 'vhd',
      variant: `vhd ${names[this.type]}`,
      virtualSize: this.size,
      fileSize: this.file.size(),
      details: { creator: this.creator.replace(/\0/g, '') },
    };
    if (this.type !== TYPE_FIXED) info.clusterSize = this.blockSize;
    if (this.parentPath) info.backingFile = this.parentPath;
    return info;
  }

  check(): CheckResult {
    const r = emptyCheck();
    if (this.type === TYPE_FIXED) return r;
    const seen = new Set<number>();
    for (let i = 0; i < this.bat.length; i++) {
      const e = this.bat[i]!;
      if (e === ABSENT) continue;
      if (seen.has(e)) r.errors.push(`block ${i} shares its data with another block`);
      seen.add(e);
      if (e * 512 + this.bitmapSize + this.blockSize > this.footerOffset) r.errors.push(`block ${i} at sector ${e} runs past the footer`);
    }
    return r;
  }

  close(): void {
    this.file.close();
    this.parent?.close();
  }
}

/** CHS geometry per the VHD specification's algorithm (Appendix: CHS calculation). */
export function vhdGeometry(totalSectors: number): [number, number, number] {
  const sectors = Math.min(totalSectors, 65535 * 16 * 255);
  let spt: number;
  let heads: number;
  let cylTimesHeads: number;
  if (sectors >= 65535 * 16 * 63) {
    spt = 255;
    heads = 16;
    cylTimesHeads = Math.floor(sectors / spt);
  } else {
    spt = 17;
    cylTimesHeads = Math.floor(sectors / spt);
    heads = Math.max(4, Math.floor((cylTimesHeads + 1023) / 1024));
    if (cylTimesHeads >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cylTimesHeads = Math.floor(sectors / spt);
    }
    if (cylTimesHeads >= heads * 1024) {
      spt = 63;
      heads = 16;
      cylTimesHeads = Math.floor(sectors / spt);
    }
  }
  return [Math.floor(cylTimesHeads / heads), heads, spt];
}

/** The size a new VHD gets: rounded up to whole CHS geometry (as Virtual PC and QEMU do). */
export function vhdRoundedSize(size: number): { size: number; chs: [number, number, number] } {
  const total = Math.ceil(size / 512);
  if (total >= 65535 * 16 * 255) return { size: total * 512, chs: [65535, 16, 255] };
  for (let i = 0; i < 100000; i++) {
    const chs = vhdGeometry(total + i);
    if (chs[0] * chs[1] * chs[2] >= total) return { size: chs[0] * chs[1] * chs[2] * 512, chs };
  }
  return { size: total * 512, chs: vhdGeometry(total) };
}

function makeFooter(size: number, chs: [number, number, number], type: number, dataOffset: bigint): Uint8Array {
  const footer = new Uint8Array(512);
  const f = new DataView(footer.buffer);
  footer.set(new TextEncoder().encode(COOKIE));
  f.setUint32(8, 2);
  f.setUint32(12, 0x00010000);
  f.setBigUint64(16, dataOffset);
  f.setUint32(24, Math.max(0, Math.floor((Date.now() - VHD_EPOCH_MS) / 1000)));
  footer.set(new TextEncoder().encode('prse'), 28);
  f.setUint32(32, 0x00010000);
  footer.set(new TextEncoder().encode('Wi2k'), 36);
  f.setBigUint64(40, BigInt(size));
  f.setBigUint64(48, BigInt(size));
  f.setUint16(56, chs[0]);
  footer[58] = chs[1];
  footer[59] = chs[2];
  f.setUint32(60, type);
  footer.set(randomBytes(16), 68);
  f.setUint32(64, checksum(footer, 64));
  return footer;
}

export interface VhdCreateOptions {
  fixed?: boolean;
  blockSize?: number;
  /** Makes a differencing disk of this parent (a .vhd file). */
  parent?: { path: string; image: DiskImage; footer: Uint8Array };
}

/** Reads a VHD's footer (for linking a differencing child to it). */
export function readVhdFooter(file: ImageFile): Uint8Array {
  const at = Math.floor(file.size() / 512) * 512 - 512;
  const footer = readExact(file, Math.max(0, at), 512, 'vhd footer');
  if (!isVhdFooter(footer)) throw new DiskFormatError(file.path, 'vhd: no footer');
  return footer;
}

/** Writes a new VHD. Returns its virtual size (the request rounded up to CHS geometry). */
export function createVhd(file: ImageFile, requested: number, opts: VhdCreateOptions = {}): number {
  let { size, chs } = vhdRoundedSize(requested);
  if (opts.parent) {
    size = opts.parent.image.size;
    chs = vhdRoundedSize(size).chs;
  }
  file.truncate(0);
  if (opts.fixed && !opts.parent) {
    file.truncate(size);
    file.writeAt(size, makeFooter(size, chs, TYPE_FIXED, 0xffffffffffffffffn));
    return size;
  }
  const blockSize = opts.blockSize ?? 2 << 20;
  const entries = Math.ceil(size / blockSize);
  const batBytes = Math.ceil((entries * 4) / 512) * 512;
  const type = opts.parent ? TYPE_DIFFERENCING : TYPE_DYNAMIC;
  const footer = makeFooter(size, chs, type, 512n);
  const dyn = new Uint8Array(1024);
  const d = new DataView(dyn.buffer);
  dyn.set(new TextEncoder().encode(DYN_COOKIE));
  d.setBigUint64(8, 0xffffffffffffffffn);
  d.setBigUint64(16, 1536n);
  d.setUint32(24, 0x00010000);
  d.setUint32(28, entries);
  d.setUint32(32, blockSize);
  let end = 1536 + batBytes;
  const locators: [number, Uint8Array][] = [];
  if (opts.parent) {
    const pf = opts.parent.footer;
    dyn.set(pf.subarray(68, 84), 40); // parent unique id
    d.setUint32(56, new DataView(pf.buffer, pf.byteOffset).getUint32(24));
    const name = basename(opts.parent.path);
    for (let i = 0; i < name.length && i < 256; i++) d.setUint16(64 + i * 2, name.charCodeAt(i));
    const rel = relative(dirname(file.path), opts.parent.path).replace(/\//g, '\\');
    const entries2: [string, string][] = [['W2ru', rel.startsWith('.') ? rel : `.\\${rel}`], ['W2ku', resolve(opts.parent.path)]];
    entries2.forEach(([code, text], i) => {
      const data = new Uint8Array(text.length * 2);
      for (let c = 0; c < text.length; c++) new DataView(data.buffer).setUint16(c * 2, text.charCodeAt(c), true);
      const at = 576 + i * 24;
      dyn.set(new TextEncoder().encode(code), at);
      const space = Math.ceil(data.length / 512) * 512;
      d.setUint32(at + 4, space);
      d.setUint32(at + 8, data.length);
      d.setBigUint64(at + 16, BigInt(end));
      locators.push([end, data]);
      end += space;
    });
  }
  d.setUint32(36, checksum(dyn, 36));
  const bat = new Uint8Array(batBytes).fill(0xff);
  file.writeAt(0, footer);
  file.writeAt(512, dyn);
  file.writeAt(1536, bat);
  for (const [at, data] of locators) file.writeAt(at, data);
  file.writeAt(end, footer);
  return size;
}
