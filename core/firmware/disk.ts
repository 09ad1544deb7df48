// INT 13h: floppies (drives 00h/01h) and IDE hard disks (80h, 81h...) read and written
// directly on the board's block devices; CHS and the LBA extensions (41h-48h).

import type { BlockDevice } from '../disk/block.js';
import { AH, AL, BX, CH, CL, CX, DH, DI, DL, DS, DX, ES, SI, BL, FirmwareContext } from './context.js';
import { ENTRY } from './rom.js';

export interface DriveGeometry { cylinders: number; heads: number; sectors: number }

/** Floppy geometry from the image size (the standard PC formats). */
export function floppyGeometry(size: number): DriveGeometry {
  const table: [number, number, number, number][] = [
    [163840, 40, 1, 8], [184320, 40, 1, 9], [327680, 40, 2, 8], [368640, 40, 2, 9],
    [737280, 80, 2, 9], [1228800, 80, 2, 15], [1474560, 80, 2, 18], [1720320, 80, 2, 21], [2949120, 80, 2, 36],
  ];
  for (const [s, c, h, spt] of table) if (s === size) return { cylinders: c, heads: h, sectors: spt };
  return { cylinders: Math.max(1, Math.ceil(size / (2 * 18 * 512))), heads: 2, sectors: 18 };
}

/** Hard disk BIOS geometry: 16 heads / 63 sectors while that reaches, else 255 heads. */
export function diskGeometry(size: number): DriveGeometry {
  const sectors = Math.floor(size / 512);
  let heads = 16;
  if (sectors > 1024 * 16 * 63) heads = 255;
  return { cylinders: Math.max(1, Math.min(1024, Math.floor(sectors / (heads * 63)))), heads, sectors: 63 };
}

interface Drive { dev: BlockDevice; geo: DriveGeometry; floppy: boolean; sectorSize: number }

/** Drive number of the CD-ROM booted without emulation (El Torito). */
export const CD_DRIVE = 0xe0;

/** A window of another block device (the floppy image inside a CD for El Torito emulation). */
export class BlockWindow implements BlockDevice {
  readonly readOnly = true;
  constructor(private readonly base: BlockDevice, private readonly offset: number, readonly size: number) {}
  read(offset: number, buf: Uint8Array): void {
    if (offset < 0 || offset + buf.length > this.size) throw new Error('read beyond the emulated image');
    this.base.read(this.offset + offset, buf);
  }
  write(): void { throw new Error('the emulated image is read-only'); }
  flush(): void {}
}

/**
 * El Torito hard-disk emulation (media type 4): the image is an MBR-partitioned disk, and its
 * BIOS geometry comes from the partition table's ending CHS values (heads = largest end head
 * + 1, sectors = largest end sector), its size from the end of the last partition. A reason
 * string when the image cannot be emulated.
 */
export function hardDiskImageLayout(mbr: Uint8Array): { geo: DriveGeometry; sectors: number } | string {
  if (mbr[510] !== 0x55 || mbr[511] !== 0xaa) return 'the hard-disk image has no boot signature';
  let heads = 0, spt = 0, end = 0;
  for (let i = 0; i < 4; i++) {
    const e = mbr.subarray(0x1be + i * 16, 0x1ce + i * 16);
    if (e[4] === 0) continue;
    const start = (e[8] | (e[9] << 8) | (e[10] << 16) | (e[11] << 24)) >>> 0;
    const count = (e[12] | (e[13] << 8) | (e[14] << 16) | (e[15] << 24)) >>> 0;
    if (count === 0) continue;
    heads = Math.max(heads, e[5] + 1);
    spt = Math.max(spt, e[6] & 0x3f);
    end = Math.max(end, start + count);
  }
  if (end === 0) return 'the hard-disk image has no partition';
  if (spt === 0) return 'the hard-disk image\'s partition table has no CHS geometry';
  return { geo: { cylinders: Math.max(1, Math.ceil(end / (heads * spt))), heads, sectors: spt }, sectors: end };
}

/** El Torito boot entry found on a CD. */
export interface CdBootEntry { media: number; loadSegment: number; sectors: number; rba: number }

/** Parse the El Torito boot record and the initial entry; a reason string when not bootable. */
export function readElTorito(cd: BlockDevice): CdBootEntry | string {
  if (cd.size < 18 * 2048) return 'the disc is too small';
  const vd = new Uint8Array(2048);
  cd.read(17 * 2048, vd);
  const id = String.fromCharCode(...vd.subarray(1, 6));
  const sys = String.fromCharCode(...vd.subarray(7, 30));
  if (vd[0] !== 0 || id !== 'CD001' || sys !== 'EL TORITO SPECIFICATION') return 'no El Torito boot record';
  const catalog = (vd[0x47] | (vd[0x48] << 8) | (vd[0x49] << 16) | (vd[0x4a] << 24)) >>> 0;
  if ((catalog + 1) * 2048 > cd.size) return 'the boot catalog is outside the disc';
  const cat = new Uint8Array(2048);
  cd.read(catalog * 2048, cat);
  if (cat[0] !== 0x01 || cat[0x1e] !== 0x55 || cat[0x1f] !== 0xaa) return 'the boot catalog is invalid';
  const e = cat.subarray(0x20, 0x40);
  if (e[0] !== 0x88) return 'the boot entry is not bootable';
  return {
    media: e[1] & 0x0f,
    loadSegment: (e[2] | (e[3] << 8)) || 0x07c0,
    sectors: e[6] | (e[7] << 8),
    rba: (e[8] | (e[9] << 8) | (e[10] << 16) | (e[11] << 24)) >>> 0,
  };
}

/** What an El Torito boot put in place: at most one of the three is set. */
interface CdEmulation {
  entry: CdBootEntry;
  /** Floppy emulation: drive 00h reads this window of the CD. */
  floppy: BlockDevice | null;
  /** Hard-disk emulation: drive 80h is this window of the CD (the IDE disks move up one). */
  disk: { dev: BlockDevice; geo: DriveGeometry } | null;
  /** No emulation: drive E0h is this CD with 2048-byte sectors. */
  cd: BlockDevice | null;
}

/** Floppy image sizes of El Torito media types 1-3. */
const EMULATED_FLOPPY_BYTES = [0, 1228800, 1474560, 2949120];
/** EBDA bytes 68h-6Bh: "ET", media type + 1, CD index (the emulation in force, for saved states). */
const EBDA_ELTORITO = 0x68;

/** The drives a CD boot entry makes (the image windows), or why the disc cannot boot. */
function emulationFor(cd: BlockDevice, entry: CdBootEntry): CdEmulation | string {
  const none = { entry, floppy: null, disk: null, cd: null };
  if (entry.media === 0) {
    const bytes = Math.max(1, entry.sectors) * 512;
    if (entry.rba * 2048 + bytes > cd.size || bytes > 0x80000) return 'the boot image is outside the disc';
    return { ...none, cd };
  }
  if (entry.media >= 1 && entry.media <= 3) {
    const size = EMULATED_FLOPPY_BYTES[entry.media];
    if (entry.rba * 2048 + size > cd.size) return 'the floppy image is outside the disc';
    return { ...none, floppy: new BlockWindow(cd, entry.rba * 2048, size) };
  }
  if (entry.media === 4) {
    if (entry.rba * 2048 + 512 > cd.size) return 'the hard-disk image is outside the disc';
    const mbr = new Uint8Array(512);
    cd.read(entry.rba * 2048, mbr);
    const layout = hardDiskImageLayout(mbr);
    if (typeof layout === 'string') return layout;
    const bytes = layout.sectors * 512;
    if (entry.rba * 2048 + bytes > cd.size) return 'the hard-disk image is outside the disc';
    const load = Math.max(1, entry.sectors) * 512;
    if (load > bytes || (entry.loadSegment << 4) + load > 0xa0000) return 'the boot entry loads more than the hard-disk image';
    return { ...none, disk: { dev: new BlockWindow(cd, entry.rba * 2048, bytes), geo: layout.geo } };
  }
  return `unknown boot media type ${entry.media}`;
}

export class DiskBios {
  /**
   * The El Torito emulation in force. The EBDA marker is the truth (it is in every saved
   * state); this is its cache, rebuilt from the CD when the marker changes (a restored state,
   * a reverted snapshot).
   */
  private emu: CdEmulation | null = null;
  private emuKey = 0;
  constructor(private readonly fw: FirmwareContext) {}

  private markerAddr(): number { return (this.fw.bda16(0x0e) << 4) + EBDA_ELTORITO; }
  private markerKey(): number {
    const mem = this.fw.machine.memory, a = this.markerAddr();
    if (mem.read8(a) !== 0x45 || mem.read8(a + 1) !== 0x54) return 0;
    return (mem.read8(a + 2) | (mem.read8(a + 3) << 8)) || 0;
  }
  /** The emulation of the EBDA marker (rebuilt from the CD when the cache is stale). */
  private get emulation(): CdEmulation | null {
    const key = this.markerKey();
    if (key !== this.emuKey) {
      this.emuKey = key;
      this.emu = null;
      const cd = key ? this.cdroms()[key >> 8] : undefined;
      if (cd) {
        try {
          const entry = readElTorito(cd);
          if (typeof entry !== 'string' && entry.media + 1 === (key & 0xff)) {
            const e = emulationFor(cd, entry);
            if (typeof e !== 'string') this.emu = e;
          }
        } catch {
          this.emu = null;
        }
      }
    }
    return this.emu;
  }
  get emulatedFloppy(): BlockDevice | null { return this.emulation?.floppy ?? null; }
  get emulatedDisk(): { dev: BlockDevice; geo: DriveGeometry } | null { return this.emulation?.disk ?? null; }
  get bootCd(): BlockDevice | null { return this.emulation?.cd ?? null; }
  get bootCdEntry(): CdBootEntry | null { return this.emulation?.entry ?? null; }

  /** Put a CD's boot entry in force (EBDA marker written); null, or why it cannot boot. */
  startCdBoot(cd: BlockDevice, entry: CdBootEntry): string | null {
    const e = emulationFor(cd, entry);
    if (typeof e === 'string') return e;
    const index = this.cdroms().indexOf(cd);
    const mem = this.fw.machine.memory, a = this.markerAddr();
    mem.write8(a, 0x45); mem.write8(a + 1, 0x54); mem.write8(a + 2, entry.media + 1); mem.write8(a + 3, index);
    this.emuKey = this.markerKey();
    this.emu = e;
    return null;
  }

  /** End the emulation (4B00h, a boot that failed after all). */
  endEmulation(): void {
    const a = this.markerAddr();
    for (let i = 0; i < 4; i++) this.fw.machine.memory.write8(a + i, 0);
    this.emuKey = 0;
    this.emu = null;
  }

  /** At POST: forget the cache (POST clears the EBDA, marker included, itself). */
  forgetEmulation(): void {
    this.emuKey = -1;
    this.emu = null;
  }

  cdroms(): BlockDevice[] {
    return this.fw.machine.config.ide.filter((a) => a?.kind === 'cdrom' && a.device).map((a) => a!.device!);
  }

  floppies(): BlockDevice[] {
    const [a, b] = this.fw.machine.config.floppy;
    return [this.emulatedFloppy ?? a, b].filter((f): f is BlockDevice => f !== null);
  }
  hardDisks(): BlockDevice[] {
    return this.fw.machine.config.ide.filter((a) => a?.kind === 'disk' && a.device).map((a) => a!.device!);
  }
  /** Number of fixed drives from 80h up (an emulated hard disk included): BDA 40:75, AH=08h's DL. */
  fixedDriveCount(): number {
    return this.hardDisks().length + (this.emulatedDisk ? 1 : 0);
  }

  drive(dl: number): Drive | null {
    if (dl < 0x80) {
      const f = dl === 0 && this.emulatedFloppy ? this.emulatedFloppy : this.fw.machine.config.floppy[dl];
      return f ? { dev: f, geo: floppyGeometry(f.size), floppy: true, sectorSize: 512 } : null;
    }
    if (dl === CD_DRIVE && this.bootCd) return { dev: this.bootCd, geo: { cylinders: 1, heads: 1, sectors: 1 }, floppy: false, sectorSize: 2048 };
    const emu = this.emulatedDisk;
    if (emu && dl === 0x80) return { dev: emu.dev, geo: emu.geo, floppy: false, sectorSize: 512 };
    const d = this.hardDisks()[dl - 0x80 - (emu ? 1 : 0)];
    return d ? { dev: d, geo: diskGeometry(d.size), floppy: false, sectorSize: 512 } : null;
  }

  private status(dl: number, code: number): void {
    if (dl < 0x80) this.fw.setBda8(0x41, code); else this.fw.setBda8(0x74, code);
    this.fw.result(code === 0, code);
  }

  /** Read or write `count` sectors at LBA to/from linear address; returns a BIOS status. */
  private transfer(d: Drive, write: boolean, lba: number, count: number, lin: number): number {
    const ss = d.sectorSize;
    const total = Math.floor(d.dev.size / ss);
    if (lba + count > total) return 0x04;
    const buf = new Uint8Array(count * ss);
    try {
      if (write) {
        if (d.dev.readOnly) return 0x03;
        this.fw.readBytes(lin, buf);
        d.dev.write(lba * ss, buf);
      } else {
        d.dev.read(lba * ss, buf);
        this.fw.writeBytes(lin, buf);
      }
    } catch {
      return write ? 0x03 : 0x20;
    }
    return 0;
  }

  /** Read sector 0 of a drive into memory (boot). null when the read failed. */
  readBootSector(dl: number, lin: number): boolean {
    const d = this.drive(dl);
    return d !== null && this.transfer(d, false, 0, 1, lin) === 0;
  }

  handle(): void {
    const fw = this.fw;
    const ah = fw.r8(AH), dl = fw.r8(DL);
    const d = this.drive(dl);
    switch (ah) {
      case 0x00: case 0x0d: case 0x10: case 0x11: case 0x0c: case 0x09: case 0x14:
        return this.status(dl, d ? 0 : 0x01);
      case 0x01: {
        const s = dl < 0x80 ? fw.bda8(0x41) : fw.bda8(0x74);
        fw.set8(AL, s);
        fw.result(s === 0, 0);
        fw.set8(AL, s);
        return;
      }
      case 0x02: case 0x03: case 0x04: {
        if (!d) return this.status(dl, 0x01);
        const count = fw.r8(AL);
        const cyl = fw.r8(CH) | ((fw.r8(CL) & 0xc0) << 2);
        const sec = fw.r8(CL) & 0x3f, head = fw.r8(DH);
        const g = d.geo;
        if (count === 0 || sec === 0 || sec > g.sectors || head >= g.heads || cyl >= (d.floppy ? g.cylinders : 65536)) {
          fw.set8(AL, 0);
          return this.status(dl, d.floppy && sec > g.sectors ? 0x04 : 0x01);
        }
        const lba = (cyl * g.heads + head) * g.sectors + sec - 1;
        const code = ah === 0x04 ? (lba + count <= d.dev.size / 512 ? 0 : 0x04) : this.transfer(d, ah === 0x03, lba, count, fw.lin(ES, fw.r16(BX)));
        fw.set8(AL, code === 0 ? count : 0);
        return this.status(dl, code);
      }
      case 0x05: return this.status(dl, d ? 0 : 0x01);
      case 0x08: {
        if (!d) {
          if (dl < 0x80) { fw.set16(CX, 0); fw.set16(DX, this.floppies().length); fw.set8(BL, 0); return this.status(dl, 0); }
          return this.status(dl, 0x01);
        }
        const g = d.geo;
        const maxCyl = g.cylinders - 1;
        fw.set8(CH, maxCyl & 0xff);
        fw.set8(CL, (g.sectors & 0x3f) | ((maxCyl >> 2) & 0xc0));
        fw.set8(DH, g.heads - 1);
        if (d.floppy) {
          fw.set8(DL, this.floppies().length);
          fw.set8(BL, this.cmosFloppyType(dl));
          fw.set16(DI, ENTRY.diskParams);
          fw.cpu.loadSegmentReal(ES, 0xf000);
        } else {
          fw.set8(DL, this.fixedDriveCount());
        }
        fw.set8(AL, 0);
        return this.status(dl, 0);
      }
      case 0x15: {
        if (!d) { fw.set8(AH, 0); fw.setCallerFlag(1, false); return; }
        if (d.floppy) { fw.set8(AH, 0x02); fw.setCallerFlag(1, false); return; }
        const n = Math.floor(d.dev.size / 512);
        fw.set16(CX, n >>> 16); fw.set16(DX, n & 0xffff);
        fw.set8(AH, 0x03); fw.setCallerFlag(1, false);
        return;
      }
      case 0x16: {
        // Change line: the FDC's DIR bit 7 (set when a medium was inserted or removed). A real
        // BIOS's seek clears it; this BIOS does no seeks, so reporting the change clears it.
        const fdc = this.fw.machine.fdc;
        if (d?.floppy && dl < 2 && fdc.diskChanged[dl]) {
          fdc.diskChanged[dl] = 0;
          return this.status(dl, 0x06);
        }
        return this.status(dl, d ? 0 : 0x80);
      }
      case 0x17: case 0x18: return this.status(dl, d ? 0 : 0x80);
      case 0x41:
        if (!d || d.floppy || fw.r16(BX) !== 0x55aa) return this.status(dl, 0x01);
        // (CD drive E0h answers too: isolinux reads its files through 42h.)
        fw.set16(BX, 0xaa55); fw.set8(AH, 0x30); fw.set16(CX, 0x0001 | 0x0004);
        fw.setCallerFlag(1, false);
        return;
      case 0x42: case 0x43: case 0x44: case 0x47: {
        if (!d) return this.status(dl, 0x01);
        const p = fw.lin(DS, fw.r16(SI));
        const count = fw.read16(p + 2);
        const off = fw.read16(p + 4), seg = fw.read16(p + 6);
        const lba = fw.read32(p + 8) + fw.read32(p + 12) * 0x100000000;
        if (ah === 0x44 || ah === 0x47) return this.status(dl, lba + count <= d.dev.size / d.sectorSize ? 0 : 0x04);
        const code = count === 0 ? 0 : this.transfer(d, ah === 0x43, lba, count, ((seg << 4) + off) >>> 0);
        if (code) fw.write16(p + 2, 0);
        return this.status(dl, code);
      }
      case 0x4b: {
        // El Torito: terminate emulation / return status (AL=00h/01h): the specification
        // packet into DS:SI. Bytes 10h-12h are what AH=08h returns in CH, CL and DH for the
        // emulated drive (zero without emulation).
        const e = this.bootCdEntry;
        if (!e || (fw.r8(AL) !== 0 && fw.r8(AL) !== 1)) return this.status(dl, 0x01);
        const p = fw.lin(DS, fw.r16(SI));
        const emuDrive = e.media === 0 ? CD_DRIVE : e.media === 4 ? 0x80 : 0x00;
        const g = e.media === 0 ? null : this.drive(emuDrive)?.geo ?? null;
        const maxCyl = g ? g.cylinders - 1 : 0;
        fw.write8(p, 0x13); fw.write8(p + 1, e.media); fw.write8(p + 2, emuDrive);
        fw.write8(p + 3, 0); fw.write32(p + 4, e.rba); fw.write16(p + 8, 0); fw.write16(p + 10, 0);
        fw.write16(p + 12, e.loadSegment); fw.write16(p + 14, e.sectors);
        fw.write8(p + 16, maxCyl & 0xff); fw.write8(p + 17, g ? (g.sectors & 0x3f) | ((maxCyl >> 2) & 0xc0) : 0);
        fw.write8(p + 18, g ? g.heads - 1 : 0);
        if (fw.r8(AL) === 0 && e.media !== 0) {
          this.endEmulation();
          if (e.media === 4) fw.setBda8(0x75, this.fixedDriveCount());
        }
        return this.status(dl, 0);
      }
      case 0x48: {
        if (!d) return this.status(dl, 0x01);
        const p = fw.lin(DS, fw.r16(SI));
        const n = Math.floor(d.dev.size / d.sectorSize);
        fw.write16(p, 0x1a);
        fw.write16(p + 2, 0x0002);
        fw.write32(p + 4, d.geo.cylinders); fw.write32(p + 8, d.geo.heads); fw.write32(p + 12, d.geo.sectors);
        fw.write32(p + 16, n >>> 0); fw.write32(p + 20, Math.floor(n / 0x100000000));
        fw.write16(p + 24, d.sectorSize);
        return this.status(dl, 0);
      }
      default: return this.status(dl, 0x01);
    }
  }

  private cmosFloppyType(dl: number): number {
    const io = this.fw.machine.io;
    io.out8(0x70, 0x10);
    const v = io.in8(0x71);
    return dl === 0 ? v >> 4 : v & 0x0f;
  }
}
