// Folding one qcow2 layer into the image that sits on it, for deleting a snapshot without
// changing any other snapshot's disk (main/snapshot/store.ts).
//
//   before:  dependent → layer → below...     after:  dependent → below...
//
// 1. Every guest cluster that `layer` holds and `dependent` does not is copied into
//    `dependent`, as `dependent` reads it now (through `layer`). This changes nothing that
//    `dependent` shows, so a crash part-way leaves it correct; repeating it copies nothing.
// 2. `dependent`'s header is pointed at `layer`'s backing file in one write of cluster 0
//    (a SIGKILL cannot split a single pwrite into a regular file), then fsynced.
// Only then may `layer` be deleted.
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { BlockError } from '../../core/disk/block.js';
import { NodeImageFile } from './file.js';
import { openDiskImage } from './image.js';
import { Qcow2Image, QCOW2_MAGIC } from './qcow2.js';

const EXT_END = 0;
const EXT_BACKING_FORMAT = 0xe2792aca;

/** A qcow2 image's own backing file as an absolute path (null for none), and its format. */
export function qcow2Backing(path: string): { path: string | null; format: string | undefined } {
  const image = openDiskImage(path, { readOnly: true });
  try {
    if (!(image instanceof Qcow2Image)) throw new BlockError(`${path} is not a qcow2 image`);
    const name = image.backingFile;
    return { path: name === null ? null : isAbsolute(name) ? name : resolve(dirname(resolve(path)), name), format: image.backingFormat };
  } finally {
    image.close();
  }
}

/**
 * Points a closed qcow2 image at another backing file (absolute path, stored relative to the
 * image's folder) or at none. Only cluster 0 is rewritten, in one write, then fsynced.
 */
export function rebaseQcow2File(path: string, backing: string | null, backingFormat?: string): void {
  const file = new NodeImageFile(resolve(path), false);
  try {
    const fixed = new Uint8Array(Math.min(file.size(), 512));
    file.readAt(0, fixed);
    const fv = new DataView(fixed.buffer);
    if (fixed.length < 72 || fv.getUint32(0) !== QCOW2_MAGIC) throw new BlockError(`${path} is not a qcow2 image`);
    const version = fv.getUint32(4);
    const clusterSize = 2 ** fv.getUint32(20);
    if ((version !== 2 && version !== 3) || clusterSize < 512 || clusterSize > 1 << 21) throw new BlockError(`${path}: unsupported qcow2 header`);
    const head = new Uint8Array(Math.min(file.size(), clusterSize));
    file.readAt(0, head);
    const hv = new DataView(head.buffer);
    const headerLength = version === 3 ? hv.getUint32(100) : 72;
    if (headerLength < 72 || headerLength % 8 || headerLength > head.length) throw new BlockError(`${path}: qcow2 header length ${headerLength} is invalid`);

    // Keep every header extension but the backing format; then ours, the end marker, the name.
    const kept: Uint8Array[] = [];
    for (let at = headerLength, guard = 0; at + 8 <= head.length && guard < 1024; guard++) {
      const type = hv.getUint32(at);
      const len = hv.getUint32(at + 4);
      if (type === EXT_END) break;
      const padded = 8 + Math.ceil(len / 8) * 8;
      if (at + padded > head.length) throw new BlockError(`${path}: qcow2 header extension overruns the header`);
      if (type !== EXT_BACKING_FORMAT) kept.push(head.slice(at, at + padded));
      at += padded;
    }
    const enc = new TextEncoder();
    const name = backing === null ? null : enc.encode(relative(dirname(resolve(path)), backing) || backing);
    const fmt = backing !== null && backingFormat ? enc.encode(backingFormat) : null;
    let size = headerLength + kept.reduce((n, e) => n + e.length, 0) + (fmt ? 8 + Math.ceil(fmt.length / 8) * 8 : 0) + 8;
    const nameAt = size;
    if (name) size += name.length;
    if (name && name.length > 1023) throw new BlockError(`backing file name is too long: ${backing}`);
    if (size > clusterSize) throw new BlockError(`${path}: the new qcow2 header does not fit in cluster 0`);

    const out = new Uint8Array(size);
    const ov = new DataView(out.buffer);
    out.set(head.subarray(0, headerLength));
    let at = headerLength;
    for (const e of kept) {
      out.set(e, at);
      at += e.length;
    }
    if (fmt) {
      ov.setUint32(at, EXT_BACKING_FORMAT);
      ov.setUint32(at + 4, fmt.length);
      out.set(fmt, at + 8);
      at += 8 + Math.ceil(fmt.length / 8) * 8;
    }
    at += 8; // end marker (zeros)
    if (name) out.set(name, nameAt);
    ov.setBigUint64(8, BigInt(name ? nameAt : 0));
    ov.setUint32(16, name ? name.length : 0);
    file.writeAt(0, out);
    file.sync();
  } finally {
    file.close();
  }
}

/**
 * Folds `layer` into `dependent` (both closed qcow2 files; `dependent`'s backing file is
 * `layer`, or already `layer`'s backing after an interrupted fold) so that `dependent` no
 * longer needs `layer` and reads exactly as before. Returns the number of clusters copied.
 */
export function foldLayer(layerPath: string, dependentPath: string): number {
  const below = qcow2Backing(layerPath);
  const current = qcow2Backing(dependentPath).path;
  const layer = openDiskImage(layerPath, { readOnly: true });
  let copied = 0;
  try {
    if (!(layer instanceof Qcow2Image)) throw new BlockError(`${layerPath} is not a qcow2 image`);
    // Already folded (a crash came after the header write): nothing left to do.
    if (current === below.path && current !== resolve(layerPath)) return 0;
    if (current !== resolve(layerPath)) throw new BlockError(`${dependentPath} is backed by ${current ?? 'nothing'}, not by ${layerPath}`);
    const dependent = openDiskImage(dependentPath);
    try {
      if (!(dependent instanceof Qcow2Image)) throw new BlockError(`${dependentPath} is not a qcow2 image`);
      if (dependent.size !== layer.size) throw new BlockError(`${dependentPath} and ${layerPath} differ in size`);
      const cs = dependent.clusterSize;
      const buf = new Uint8Array(cs);
      let last = -1;
      for (const lc of layer.layerClusters()) {
        // The dependent's clusters that overlap this layer cluster (sizes may differ).
        const from = Math.floor((lc * layer.clusterSize) / cs);
        const to = Math.floor((Math.min(layer.size, (lc + 1) * layer.clusterSize) - 1) / cs);
        for (let dc = Math.max(from, last + 1); dc <= to; dc++) {
          last = dc;
          if (dependent.clusterInLayer(dc)) continue;
          const n = Math.min(cs, dependent.size - dc * cs);
          // What the dependent shows there now is the layer's view of it.
          layer.read(dc * cs, buf.subarray(0, n));
          dependent.write(dc * cs, buf.subarray(0, n));
          copied++;
        }
      }
      dependent.flush();
    } finally {
      dependent.close();
    }
  } finally {
    layer.close();
  }
  rebaseQcow2File(dependentPath, below.path, below.format);
  return copied;
}
