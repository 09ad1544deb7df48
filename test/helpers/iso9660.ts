// Reading files out of an ISO 9660 image for tests (e.g. the kernel and initrd of a Linux CD):
// the primary volume descriptor's root directory, walked by name. Names compare without the
// ";1" version and a trailing dot, case-insensitively.
import { closeSync, openSync, readSync } from 'node:fs';

const SECTOR = 2048;

function readAt(fd: number, offset: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, b, done, length - done, offset + done);
    if (n === 0) throw new Error('ISO image ends early');
    done += n;
  }
  return b;
}

interface DirEntry { name: string; extent: number; size: number; dir: boolean }

function readDir(fd: number, extent: number, size: number): DirEntry[] {
  const data = readAt(fd, extent * SECTOR, size);
  const out: DirEntry[] = [];
  for (let i = 0; i < data.length; ) {
    const len = data[i];
    if (len === 0) { i = (Math.floor(i / SECTOR) + 1) * SECTOR; continue; } // records do not cross sectors
    const nameLen = data[i + 32];
    const raw = data.subarray(i + 33, i + 33 + nameLen);
    if (!(nameLen === 1 && raw[0] <= 1)) {
      const name = raw.toString('latin1').replace(/;\d+$/, '').replace(/\.$/, '').toLowerCase();
      out.push({ name, extent: data.readUInt32LE(i + 2), size: data.readUInt32LE(i + 10), dir: (data[i + 25] & 2) !== 0 });
    }
    i += len;
  }
  return out;
}

/** The contents of `path` ("isolinux/vmlinuz") inside the ISO image file. */
export function readIsoFile(isoPath: string, path: string): Uint8Array {
  const fd = openSync(isoPath, 'r');
  try {
    const pvd = readAt(fd, 16 * SECTOR, SECTOR);
    if (pvd[0] !== 1 || pvd.toString('latin1', 1, 6) !== 'CD001') throw new Error(`${isoPath}: no ISO 9660 primary volume descriptor`);
    let entry: DirEntry = { name: '', extent: pvd.readUInt32LE(156 + 2), size: pvd.readUInt32LE(156 + 10), dir: true };
    for (const part of path.toLowerCase().split('/').filter(Boolean)) {
      if (!entry.dir) throw new Error(`${path}: ${entry.name} is not a directory`);
      const next = readDir(fd, entry.extent, entry.size).find((e) => e.name === part);
      if (!next) throw new Error(`${path}: no "${part}" in the image`);
      entry = next;
    }
    return new Uint8Array(readAt(fd, entry.extent * SECTOR, entry.size));
  } finally {
    closeSync(fd);
  }
}
