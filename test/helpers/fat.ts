// A minimal FAT12/16 root-directory reader for tests: which files a disk image's first
// partition (or a floppy without a partition table) holds, read through any BlockDevice-like
// reader, so tests can check a guest's writes by reading the image itself.

export interface SectorReader {
  read(offset: number, buf: Uint8Array): void;
}

/** Names ("NAME.EXT") in the root directory of the FAT volume at `partitionLba`. */
export function fatRootNames(disk: SectorReader, partitionLba: number): string[] {
  const base = partitionLba * 512;
  const boot = new Uint8Array(512);
  disk.read(base, boot);
  const v = new DataView(boot.buffer);
  const bytesPerSector = v.getUint16(11, true);
  const reserved = v.getUint16(14, true);
  const fats = boot[16]!;
  const rootEntries = v.getUint16(17, true);
  const fatSectors = v.getUint16(22, true);
  if (bytesPerSector !== 512 || fats === 0 || rootEntries === 0 || fatSectors === 0) {
    throw new Error(`no FAT12/16 volume at LBA ${partitionLba}`);
  }
  const rootStart = base + (reserved + fats * fatSectors) * 512;
  const root = new Uint8Array(Math.ceil((rootEntries * 32) / 512) * 512);
  disk.read(rootStart, root);
  const names: string[] = [];
  for (let i = 0; i < rootEntries; i++) {
    const e = root.subarray(i * 32, i * 32 + 32);
    if (e[0] === 0) break;
    if (e[0] === 0xe5 || (e[11]! & 0x08) !== 0 || e[11] === 0x0f) continue; // deleted, volume label, LFN
    const name = String.fromCharCode(...e.subarray(0, 8)).trimEnd();
    const ext = String.fromCharCode(...e.subarray(8, 11)).trimEnd();
    names.push(ext ? `${name}.${ext}` : name);
  }
  return names;
}

/** LBA of the first partition in an MBR. */
export function firstPartitionLba(disk: SectorReader): number {
  const mbr = new Uint8Array(512);
  disk.read(0, mbr);
  if (mbr[510] !== 0x55 || mbr[511] !== 0xaa) throw new Error('no MBR signature');
  return new DataView(mbr.buffer).getUint32(446 + 8, true);
}
