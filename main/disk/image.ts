// Opening, creating and converting disk images of any supported format.
import { existsSync, unlinkSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { BlockError } from '../../core/disk/block.js';
import { DiskFormatError, isZero, NodeImageFile, type ImageFile } from './file.js';
import { MemoryOverlay, WriteBackCache } from './layers.js';
import { createQcow2, Qcow2Image, QCOW2_MAGIC } from './qcow2.js';
import { createRaw, RawImage } from './raw.js';
import { MAX_BACKING_DEPTH, type CheckResult, type DiskFormat, type DiskImage, type FormatOpenOptions, type OpenBacking } from './types.js';
import { createVdi, VdiImage, VDI_SIGNATURE } from './vdi.js';
import { createVhd, isVhdFooter, readVhdFooter, VhdImage } from './vhd.js';
import { createVmdk, VmdkImage, VMDK_MAGIC } from './vmdk.js';

export type ImageFormat = 'raw' | 'qcow2' | 'vmdk' | 'vdi' | 'vhd';
export const IMAGE_FORMATS: readonly ImageFormat[] = ['raw', 'qcow2', 'vmdk', 'vdi', 'vhd'];

/** Format names as qemu-img spells them, mapped to ours. */
export function normalizeFormat(name: string): ImageFormat | null {
  const n = name.toLowerCase();
  if (n === 'vpc') return 'vhd';
  if (n === 'img' || n === 'iso') return 'raw';
  return (IMAGE_FORMATS as readonly string[]).includes(n) ? (n as ImageFormat) : null;
}

/** The format of an image file, judged by its contents. */
export function detectFormat(file: ImageFile): ImageFormat {
  const size = file.size();
  const head = new Uint8Array(Math.min(size, 1024));
  file.readAt(0, head);
  const v = new DataView(head.buffer);
  if (head.length >= 4 && v.getUint32(0) === QCOW2_MAGIC) return 'qcow2';
  if (head.length >= 4 && v.getUint32(0, true) === VMDK_MAGIC) return 'vmdk';
  if (head.length >= 68 && v.getUint32(64, true) === VDI_SIGNATURE) return 'vdi';
  if (isVhdFooter(head)) return 'vhd';
  if (size >= 512 && size % 512 === 0) {
    const tail = new Uint8Array(8);
    file.readAt(size - 512, tail);
    if (isVhdFooter(tail)) return 'vhd';
  }
  if (size < 1 << 20 && head.length > 0 && (head[0] === 0x23 || head[0] === 0x0a || head[0] === 0x0d || (head[0]! >= 0x20 && head[0]! < 0x7f))) {
    const text = new TextDecoder().decode(head);
    if (/^#\s*Disk DescriptorFile/i.test(text) || (/^\s*createType\s*=/m.test(text) && /^\s*(RW|RDONLY)\s+\d+\s+\w+/m.test(text))) return 'vmdk';
  }
  return 'raw';
}

export interface OpenDiskOptions {
  readOnly?: boolean;
  /** Skip probing and open as this format (backing format, `-f`). */
  format?: string;
  /** Opens backing files; default: files on disk, read-only, relative to the image's folder. */
  openBacking?: OpenBacking;
}

/** Opens an image already wrapped as an ImageFile (real file or memory). */
export function openImageFile(file: ImageFile, opts: OpenDiskOptions & { depth?: number } = {}): DiskImage {
  const fmt = opts.format ? normalizeFormat(opts.format) : detectFormat(file);
  if (!fmt) throw new DiskFormatError(file.path, `unknown image format "${opts.format}"`);
  const o: FormatOpenOptions = { readOnly: opts.readOnly ?? false, depth: opts.depth ?? 0 };
  if (opts.openBacking) o.openBacking = opts.openBacking;
  if (o.depth > MAX_BACKING_DEPTH) throw new DiskFormatError(file.path, `backing chain is deeper than ${MAX_BACKING_DEPTH} images (a loop?)`);
  switch (fmt) {
    case 'raw':
      return new RawImage(file, o.readOnly);
    case 'qcow2':
      return new Qcow2Image(file, o);
    case 'vmdk':
      return new VmdkImage(file, o);
    case 'vdi':
      return new VdiImage(file, o);
    case 'vhd':
      return new VhdImage(file, o);
  }
}

/** Backing files on disk: relative names are resolved against the child image's folder. */
function backingOpener(childPath: string): OpenBacking {
  return (name, formatHint, depth) => {
    const path = isAbsolute(name) ? name : resolve(dirname(childPath), name);
    if (!existsSync(path)) throw new DiskFormatError(childPath, `backing file ${name} not found (looked for ${path})`);
    const fmt = formatHint ? normalizeFormat(formatHint) : null;
    return openAt(path, { readOnly: true, ...(fmt ? { format: fmt } : {}) }, depth);
  };
}

function openAt(path: string, opts: OpenDiskOptions, depth: number): DiskImage {
  if (depth > MAX_BACKING_DEPTH) throw new DiskFormatError(path, `backing chain is deeper than ${MAX_BACKING_DEPTH} images (a loop?)`);
  const readOnly = opts.readOnly ?? false;
  const file = new NodeImageFile(path, readOnly);
  try {
    return openImageFile(file, { ...opts, readOnly, depth, openBacking: opts.openBacking ?? backingOpener(path) });
  } catch (e) {
    file.close();
    throw e;
  }
}

/**
 * Opens a disk image of any supported format, detected by content. Backing files and
 * parents open read-only. Errors are BlockError / DiskFormatError naming the file.
 */
export function openDiskImage(path: string, opts: OpenDiskOptions = {}): DiskImage {
  return openAt(resolve(path), opts, 0);
}

export interface CreateOptions {
  /** qcow2 only: a backing file (stored as given; relative names are relative to the new image). */
  backingFile?: string;
  backingFormat?: string;
  /** vdi, vhd: allocate everything now. */
  fixed?: boolean;
  /** qcow2: cluster size in bytes. */
  clusterSize?: number;
}

/** Creates an empty image; returns its virtual size (vhd rounds up to CHS geometry). */
export function createDiskImage(path: string, format: ImageFormat, size: number, opts: CreateOptions = {}): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new BlockError(`invalid size ${size}`);
  size = Math.ceil(size / 512) * 512;
  if (opts.backingFile && format !== 'qcow2') throw new BlockError(`backing files are supported for qcow2 only (not ${format})`);
  let backingSize = -1;
  if (opts.backingFile) {
    const bpath = isAbsolute(opts.backingFile) ? opts.backingFile : resolve(dirname(resolve(path)), opts.backingFile);
    const b = openDiskImage(bpath, { readOnly: true, ...(opts.backingFormat ? { format: opts.backingFormat } : {}) });
    backingSize = b.size;
    opts = { ...opts, backingFormat: opts.backingFormat ? normalizeFormat(opts.backingFormat) ?? opts.backingFormat : b.format === 'vhd' ? 'vpc' : b.format };
    b.close();
    if (size === 0) size = backingSize;
  }
  const file = new NodeImageFile(resolve(path), false, true);
  let result = size;
  try {
    switch (format) {
      case 'raw':
        createRaw(file, size);
        break;
      case 'qcow2': {
        const o: Parameters<typeof createQcow2>[2] = {};
        if (opts.clusterSize) o.clusterBits = Math.log2(opts.clusterSize);
        if (opts.clusterSize && !Number.isInteger(o.clusterBits)) throw new BlockError(`cluster size ${opts.clusterSize} is not a power of two`);
        if (opts.backingFile) o.backingFile = opts.backingFile;
        if (opts.backingFormat) o.backingFormat = opts.backingFormat;
        createQcow2(file, size, o);
        break;
      }
      case 'vmdk':
        createVmdk(file, size);
        break;
      case 'vdi':
        createVdi(file, size, opts.fixed ?? false);
        break;
      case 'vhd':
        result = createVhd(file, size, { fixed: opts.fixed ?? false });
        break;
    }
  } catch (e) {
    file.close();
    try {
      unlinkSync(resolve(path));
    } catch {
      // nothing to clean up
    }
    throw e;
  } finally {
    file.close();
  }
  return result;
}

/**
 * A persistent copy-on-write overlay: a new qcow2 at `overlayPath` whose backing file is
 * `basePath` (stored relative to the overlay's folder). Returns it opened read-write.
 */
export function createOverlay(basePath: string, overlayPath: string): DiskImage {
  const base = resolve(basePath);
  const overlay = resolve(overlayPath);
  const b = openDiskImage(base, { readOnly: true });
  const size = b.size;
  const fmt = b.format === 'vhd' ? 'vpc' : b.format;
  b.close();
  createDiskImage(overlay, 'qcow2', size, { backingFile: relative(dirname(overlay), base) || base, backingFormat: fmt });
  return openDiskImage(overlay);
}

/** Creates a VHD differencing disk whose parent is `parentPath`. */
export function createVhdDifferencing(parentPath: string, childPath: string): DiskImage {
  const parent = resolve(parentPath);
  const pf = new NodeImageFile(parent, true);
  let footer: Uint8Array;
  try {
    footer = readVhdFooter(pf);
  } finally {
    pf.close();
  }
  const image = openDiskImage(parent, { readOnly: true });
  const file = new NodeImageFile(resolve(childPath), false, true);
  try {
    createVhd(file, image.size, { parent: { path: parent, image, footer } });
  } finally {
    file.close();
    image.close();
  }
  return openDiskImage(childPath);
}

/** A non-persistent overlay: guest writes stay in memory and vanish at close. */
export function openWithMemoryOverlay(path: string): MemoryOverlay {
  return new MemoryOverlay(openDiskImage(path, { readOnly: true }));
}

export { MemoryOverlay, WriteBackCache };

export type Progress = (done: number, total: number) => void;

/** Copies every byte of `input` into a new image; all-zero chunks are left unallocated. */
export function convertImage(input: DiskImage, outPath: string, format: ImageFormat, onProgress?: Progress, opts: CreateOptions = {}): DiskImage {
  createDiskImage(outPath, format, input.size, opts);
  const out = openDiskImage(outPath, { format });
  try {
    const chunk = new Uint8Array(1 << 20);
    for (let pos = 0; pos < input.size; pos += chunk.length) {
      const n = Math.min(chunk.length, input.size - pos);
      const part = chunk.subarray(0, n);
      input.read(pos, part);
      if (!isZero(part)) out.write(pos, part);
      onProgress?.(pos + n, input.size);
    }
    out.flush();
  } catch (e) {
    out.close();
    throw e;
  }
  return out;
}

export function checkImage(image: DiskImage): CheckResult {
  return image.check();
}

/** Parses sizes like qemu-img: 4096, 512K, 10M, 2G, 1T (powers of 1024), optional "B"/"iB". */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtpe]?)(i?b)?$/i.exec(text.trim());
  if (!m) throw new BlockError(`invalid size "${text}" (examples: 512M, 10G, 1048576)`);
  const units = ['', 'k', 'm', 'g', 't', 'p', 'e'];
  const size = Number(m[1]) * 1024 ** units.indexOf(m[2]!.toLowerCase());
  if (!Number.isSafeInteger(Math.round(size))) throw new BlockError(`size "${text}" is too large`);
  return Math.round(size);
}

export type { DiskFormat, DiskImage };

export interface VmDiskOptions {
  /** Open the file read-write and write through (the VM's own disks). */
  writable: boolean;
  /** When not writable: allow guest writes into a memory overlay (lost at close). Default true. */
  guestWritable?: boolean;
  /** Called when a writable image had to be opened read-only (permissions, read-only media). */
  onReadOnlyFallback?: (reason: string) => void;
  /** Keep guest writes in a write-back cache until the guest (or pause, power off) flushes. */
  writeBackCache?: boolean;
}

/**
 * An image as a VM uses it, the drop-in for main/run's RawFileBlockDevice: any format,
 * read-write when asked and possible, otherwise read-only under a memory overlay.
 */
export function openVmDisk(path: string, opts: VmDiskOptions): DiskImage {
  if (opts.writable) {
    try {
      const image = openDiskImage(path);
      if (!image.readOnly) return opts.writeBackCache ? new WriteBackCache(image) : image;
      opts.onReadOnlyFallback?.(`${path}: this ${image.info().variant} image cannot be written; guest writes are kept in memory`);
      return opts.guestWritable === false ? image : new MemoryOverlay(image);
    } catch (e) {
      const code = ((e as { cause?: { code?: string } }).cause?.code ?? '') || /EACCES|EPERM|EROFS/.exec((e as Error).message)?.[0];
      if (!code || !/EACCES|EPERM|EROFS/.test(code)) throw e;
      opts.onReadOnlyFallback?.(`${path} cannot be opened for writing (${code}); guest writes are kept in memory`);
    }
  }
  const image = openDiskImage(path, { readOnly: true });
  return opts.guestWritable === false ? image : new MemoryOverlay(image);
}
