// Physical address space of the emulated PC.
//
// All guest-visible storage (RAM, firmware ROM, video memory) lives in one backing
// Uint8Array `mem`. The 4 GiB physical space is cut into 4 KiB pages; two Int32Array maps
// say where a page reads from and where it writes to:
//   entry >= 0         : index of a 4 KiB page inside `mem` (fast path, no call)
//   entry == PAGE_NONE : reads give 0xFF, writes are dropped (open bus / ROM writes)
//   entry <= MMIO_BASE : a device handler, id = MMIO_BASE - entry
// The CPU reads `readMap`/`writeMap`/`mem` directly on its hot path; everything else
// (DMA, firmware loaders, devices) uses the methods below.

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_COUNT = 1 << 20;
export const PAGE_NONE = -1;
export const MMIO_BASE = -2;

/** A device window in physical memory. Offsets are relative to the window's base. */
export interface MmioHandler {
  read8(offset: number): number;
  write8(offset: number, value: number): void;
  /** Optional wide accessors; when absent the bus splits the access into bytes (little-endian). */
  read16?(offset: number): number;
  write16?(offset: number, value: number): void;
  read32?(offset: number): number;
  write32?(offset: number, value: number): void;
}

interface MmioRegion {
  name: string;
  base: number;
  size: number;
  handler: MmioHandler;
}

export class PhysicalMemory {
  /** Backing store: RAM first, then any regions allocated with allocate(). */
  readonly mem: Uint8Array;
  readonly ramSize: number;
  readonly readMap = new Int32Array(PAGE_COUNT);
  readonly writeMap = new Int32Array(PAGE_COUNT);
  /** Per backing page (index into mem): 1 = writes must call onDirty (code cache, video memory). */
  readonly watchPage: Uint8Array;
  /** Called when a watched backing page is written; set by the CPU (code cache) and devices. */
  onWatchedWrite: (backingPage: number) => void = () => {};
  /** Address mask applied by the CPU for the A20 gate: 0xFFFFFFFF or 0xFFEFFFFF. */
  a20Mask = 0xffffffff | 0;
  onA20Change: (enabled: boolean) => void = () => {};

  private readonly regions: MmioRegion[] = [];
  private nextBacking: number;

  constructor(ramSize: number, extraBacking = 0) {
    if (ramSize % PAGE_SIZE !== 0) throw new Error('RAM size must be a multiple of 4 KiB');
    this.ramSize = ramSize;
    this.mem = new Uint8Array(ramSize + extraBacking);
    this.watchPage = new Uint8Array(this.mem.length >>> PAGE_SHIFT);
    this.nextBacking = ramSize;
    this.readMap.fill(PAGE_NONE);
    this.writeMap.fill(PAGE_NONE);
    this.mapBacking(0, ramSize, 0, true);
  }

  get a20Enabled(): boolean {
    return this.a20Mask === (0xffffffff | 0);
  }

  setA20(enabled: boolean): void {
    const mask = enabled ? 0xffffffff | 0 : 0xffefffff | 0;
    if (mask === this.a20Mask) return;
    this.a20Mask = mask;
    this.onA20Change(enabled);
  }

  /** Reserve `size` bytes of backing store (ROM images, video memory). Returns its offset in mem. */
  allocate(size: number): number {
    const rounded = (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    if (this.nextBacking + rounded > this.mem.length) {
      throw new Error(`physical memory: backing store exhausted allocating ${size} bytes`);
    }
    const offset = this.nextBacking;
    this.nextBacking += rounded;
    return offset;
  }

  /** Map [base, base+size) to backing store at `offset`. Read-only when !writable (ROM). */
  mapBacking(base: number, size: number, offset: number, writable: boolean): void {
    const first = base >>> PAGE_SHIFT;
    const count = size >>> PAGE_SHIFT;
    const firstBacking = offset >>> PAGE_SHIFT;
    for (let i = 0; i < count; i++) {
      this.readMap[first + i] = firstBacking + i;
      this.writeMap[first + i] = writable ? firstBacking + i : PAGE_NONE;
    }
  }

  /** Make a range open bus (reads 0xFF, writes dropped). */
  unmap(base: number, size: number): void {
    const first = base >>> PAGE_SHIFT;
    const count = size >>> PAGE_SHIFT;
    for (let i = 0; i < count; i++) {
      this.readMap[first + i] = PAGE_NONE;
      this.writeMap[first + i] = PAGE_NONE;
    }
  }

  /** Map a device window; base and size are page aligned. Replaces what was there. */
  mapMmio(name: string, base: number, size: number, handler: MmioHandler): void {
    if ((base | size) & (PAGE_SIZE - 1)) throw new Error(`mmio ${name}: base and size must be 4 KiB aligned`);
    let id = this.regions.findIndex((r) => r.handler === handler && r.base === base);
    if (id < 0) {
      id = this.regions.length;
      this.regions.push({ name, base: base >>> 0, size, handler });
    }
    const first = base >>> PAGE_SHIFT;
    const count = size >>> PAGE_SHIFT;
    for (let i = 0; i < count; i++) {
      this.readMap[first + i] = MMIO_BASE - id;
      this.writeMap[first + i] = MMIO_BASE - id;
    }
  }

  /** The handler id for an entry <= MMIO_BASE, for the CPU's slow path. */
  mmioRegion(entry: number): MmioRegion {
    return this.regions[MMIO_BASE - entry];
  }

  // ---- slow-path accessors (devices, DMA, loaders, and the CPU when a page is not plain RAM)

  read8(addr: number): number {
    addr >>>= 0;
    const e = this.readMap[addr >>> PAGE_SHIFT];
    if (e >= 0) return this.mem[(e << PAGE_SHIFT) | (addr & (PAGE_SIZE - 1))];
    if (e === PAGE_NONE) return 0xff;
    const r = this.regions[MMIO_BASE - e];
    return r.handler.read8(addr - r.base) & 0xff;
  }

  write8(addr: number, value: number): void {
    addr >>>= 0;
    const e = this.writeMap[addr >>> PAGE_SHIFT];
    if (e >= 0) {
      this.mem[(e << PAGE_SHIFT) | (addr & (PAGE_SIZE - 1))] = value;
      if (this.watchPage[e]) this.onWatchedWrite(e);
      return;
    }
    if (e === PAGE_NONE) return;
    const r = this.regions[MMIO_BASE - e];
    r.handler.write8(addr - r.base, value & 0xff);
  }

  read16(addr: number): number {
    addr >>>= 0;
    const e = this.readMap[addr >>> PAGE_SHIFT];
    if (e <= MMIO_BASE && (addr & 0xfff) <= 0xffe) {
      const r = this.regions[MMIO_BASE - e];
      if (r.handler.read16) return r.handler.read16(addr - r.base) & 0xffff;
    }
    return this.read8(addr) | (this.read8(addr + 1) << 8);
  }

  write16(addr: number, value: number): void {
    addr >>>= 0;
    const e = this.writeMap[addr >>> PAGE_SHIFT];
    if (e <= MMIO_BASE && (addr & 0xfff) <= 0xffe) {
      const r = this.regions[MMIO_BASE - e];
      if (r.handler.write16) return r.handler.write16(addr - r.base, value & 0xffff);
    }
    this.write8(addr, value);
    this.write8(addr + 1, value >>> 8);
  }

  read32(addr: number): number {
    addr >>>= 0;
    const e = this.readMap[addr >>> PAGE_SHIFT];
    if (e <= MMIO_BASE && (addr & 0xfff) <= 0xffc) {
      const r = this.regions[MMIO_BASE - e];
      if (r.handler.read32) return r.handler.read32(addr - r.base) | 0;
    }
    return (this.read16(addr) | (this.read16(addr + 2) << 16)) | 0;
  }

  write32(addr: number, value: number): void {
    addr >>>= 0;
    const e = this.writeMap[addr >>> PAGE_SHIFT];
    if (e <= MMIO_BASE && (addr & 0xfff) <= 0xffc) {
      const r = this.regions[MMIO_BASE - e];
      if (r.handler.write32) return r.handler.write32(addr - r.base, value | 0);
    }
    this.write16(addr, value & 0xffff);
    this.write16(addr + 2, value >>> 16);
  }

  /** Copy guest memory out (DMA to a device). */
  readBytes(addr: number, out: Uint8Array): void {
    for (let i = 0; i < out.length; ) {
      const a = (addr + i) >>> 0;
      const e = this.readMap[a >>> PAGE_SHIFT];
      const inPage = Math.min(out.length - i, PAGE_SIZE - (a & (PAGE_SIZE - 1)));
      if (e >= 0) {
        const src = (e << PAGE_SHIFT) | (a & (PAGE_SIZE - 1));
        out.set(this.mem.subarray(src, src + inPage), i);
      } else {
        for (let j = 0; j < inPage; j++) out[i + j] = this.read8(a + j);
      }
      i += inPage;
    }
  }

  /** Copy into guest memory (DMA from a device, firmware loading). Honours ROM and watches. */
  writeBytes(addr: number, data: Uint8Array): void {
    for (let i = 0; i < data.length; ) {
      const a = (addr + i) >>> 0;
      const e = this.writeMap[a >>> PAGE_SHIFT];
      const inPage = Math.min(data.length - i, PAGE_SIZE - (a & (PAGE_SIZE - 1)));
      if (e >= 0) {
        this.mem.set(data.subarray(i, i + inPage), (e << PAGE_SHIFT) | (a & (PAGE_SIZE - 1)));
        if (this.watchPage[e]) this.onWatchedWrite(e);
      } else {
        for (let j = 0; j < inPage; j++) this.write8(a + j, data[i + j]);
      }
      i += inPage;
    }
  }
}
