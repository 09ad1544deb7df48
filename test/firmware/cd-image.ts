// El Torito CD images built in memory for the firmware tests: a primary volume descriptor
// (sector 16), the boot record (17), the terminator (18), the boot catalog (19) with its
// validation entry and one initial entry, and the boot image from sector 20. No file system
// beyond that (the BIOS does not read one).
import { MemoryBlockDevice } from '../../core/disk/block.js';

export interface CdBootSpec {
  /** Boot media type: 0 no emulation, 1-3 floppy (1.2/1.44/2.88 MB), 4 hard disk. */
  media: number;
  image: Uint8Array;
  /** Load segment (0: the default 07C0h). */
  loadSegment?: number;
  /** Virtual (512-byte) sectors the BIOS loads; default 1 (4 for no emulation). */
  sectorCount?: number;
  /** Boot indicator: 88h bootable (default), 00h not bootable. */
  indicator?: number;
  /** System type byte (the partition type for hard-disk emulation). */
  systemType?: number;
}

const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

export function elToritoCd(spec: CdBootSpec): MemoryBlockDevice {
  const imageSectors = Math.ceil(spec.image.length / 2048);
  const total = 20 + imageSectors + 2;
  const cd = new Uint8Array(total * 2048);
  const put32le = (at: number, v: number) => { cd[at] = v & 0xff; cd[at + 1] = (v >> 8) & 0xff; cd[at + 2] = (v >> 16) & 0xff; cd[at + 3] = v >>> 24; };
  // Primary volume descriptor: type 1, "CD001", version 1, volume space size (both-endian).
  const pvd = 16 * 2048;
  cd[pvd] = 1; cd.set(ascii('CD001'), pvd + 1); cd[pvd + 6] = 1;
  cd.set(ascii('PERSEUS-TEST'.padEnd(32)), pvd + 40);
  put32le(pvd + 80, total);
  cd[pvd + 84] = total >>> 24; cd[pvd + 85] = (total >> 16) & 0xff; cd[pvd + 86] = (total >> 8) & 0xff; cd[pvd + 87] = total & 0xff;
  cd[pvd + 120] = 1; cd[pvd + 123] = 1; cd[pvd + 128] = 0; cd[pvd + 129] = 8; cd[pvd + 130] = 8; // 2048-byte blocks
  // Boot record: type 0, "CD001", version 1, "EL TORITO SPECIFICATION", catalog sector.
  const br = 17 * 2048;
  cd[br] = 0; cd.set(ascii('CD001'), br + 1); cd[br + 6] = 1;
  cd.set(ascii('EL TORITO SPECIFICATION'), br + 7);
  put32le(br + 0x47, 19);
  // Terminator.
  const term = 18 * 2048;
  cd[term] = 0xff; cd.set(ascii('CD001'), term + 1); cd[term + 6] = 1;
  // Boot catalog: validation entry (header 1, platform 0 = 80x86, checksum, 55 AA), then the
  // initial/default entry.
  const cat = 19 * 2048;
  cd[cat] = 0x01; cd[cat + 1] = 0x00;
  cd.set(ascii('PERSEUS'), cat + 4);
  cd[cat + 0x1e] = 0x55; cd[cat + 0x1f] = 0xaa;
  let sum = 0;
  for (let i = 0; i < 32; i += 2) sum += cd[cat + i] | (cd[cat + i + 1] << 8);
  const check = (0x10000 - (sum & 0xffff)) & 0xffff;
  cd[cat + 0x1c] = check & 0xff; cd[cat + 0x1d] = check >> 8;
  const e = cat + 0x20;
  const count = spec.sectorCount ?? (spec.media === 0 ? 4 : 1);
  const seg = spec.loadSegment ?? 0;
  cd.set([spec.indicator ?? 0x88, spec.media, seg & 0xff, seg >> 8, spec.systemType ?? 0, 0, count & 0xff, count >> 8], e);
  put32le(e + 8, 20);
  cd.set(spec.image, 20 * 2048);
  return new MemoryBlockDevice(cd);
}

/**
 * An MBR-partitioned hard-disk image of `cylinders` x `heads` x `sectors` with one partition
 * from the start of cylinder 0 head 1 to the end: `mbrCode` at 0, the partition table, 55AA.
 */
export function partitionedDiskImage(mbrCode: Uint8Array, geo: { cylinders: number; heads: number; sectors: number }, partitionType = 0x06): Uint8Array {
  const { cylinders, heads, sectors } = geo;
  const total = cylinders * heads * sectors;
  const img = new Uint8Array(total * 512);
  img.set(mbrCode);
  const start = sectors; // C/H/S 0/1/1
  const p = 0x1be;
  const chs = (lba: number) => {
    const c = Math.floor(lba / (heads * sectors)), h = Math.floor(lba / sectors) % heads, s = (lba % sectors) + 1;
    return [h, s | ((c >> 2) & 0xc0), c & 0xff];
  };
  img.set([0x80, ...chs(start), partitionType, ...chs(total - 1)], p);
  const le = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];
  img.set([...le(start), ...le(total - start)], p + 8);
  img[510] = 0x55; img[511] = 0xaa;
  return img;
}
