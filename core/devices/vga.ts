// VGA with the Bochs VBE "DISPI" extension: QEMU's std-vga (PCI 1234:1111, class 0300).
//
// Wiring (the board):
//   const memory = new PhysicalMemory(ramBytes, extra);  // `extra` must leave room for vramBytes
//   const vga = new VgaDevice(memory, io, { vramBytes: 16 << 20 });
//   vga.attach();   // ports 0x3B4/5, 0x3BA, 0x3C0-0x3CF, 0x3D4/5, 0x3DA, 0x1CE/0x1CF (VBE),
//                   // the legacy window 0xA0000-0xBFFFF and the LFB at 0xE0000000
//   PCI: `vga.pciConfig` describes the function. When the guest programs BAR0 (LFB,
//   prefetchable memory, vramBytes) call vga.mapLfb(base), or vga.mapLfb(null) when memory
//   decoding is switched off; BAR2 (4 KiB MMIO: VGA ports at 0x400, DISPI at 0x500, QEMU
//   extended registers at 0x600) likewise goes to vga.mapMmioBar(base | null).
//   Chipset code that maps RAM over 0xA0000-0xBFFFF (SMRAM) calls vga.mapLegacyWindow() to
//   give the window back.
//   Host: vga.updateScreen() and vga.screen() implement Machine.updateScreen()/screen().
//   Options: `now` (ms, e.g. () => clock.now() / 1e6) paces cursor/attribute blink; without it
//   each updateScreen() call counts as one 60 Hz frame. `allocateFramebuffer` lets the host
//   supply the RGBA storage (SharedArrayBuffer views).
//   Port decoding is strict like QEMU: 3B4/3B5/3BA only in mono, 3D4/3D5/3DA only in colour
//   (misc bit 0). SeaBIOS's VGA BIOS writes part of mode 7's set-up through the colour ports
//   after switching to mono, so mode 7 does not come up properly here (QEMU decodes the same way).
//   State: vga is Stateful (section "vga"); VRAM is a declared u8[] field.
//   VGA BIOS: the board loads SeaBIOS's vgabios-stdvga.bin at 0xC0000 (MachineConfig.vgaRom);
//   it programs these registers exactly as on QEMU's std-vga.
//
// VRAM lives in PhysicalMemory's backing store, so the LFB is a plain backing mapping (CPU fast
// path). Its pages are "watched": the first write to a page after a frame reports it through
// memory.onWatchedWrite (attach() chains the previous callback; anyone installing a callback
// later must chain too), marks it dirty and unwatches it until the next updateScreen().
//
// Memory layout follows QEMU: the four planes are interleaved, byte 4*a+p is plane p at plane
// address a. Chain-4 (mode 13h, VBE) then makes VRAM linear, and odd/even (text) puts the
// character of cell i at byte 4*i and its attribute at 4*i+1.

import type { IoBus, PortHandler } from '../bus/io.js';
import type { MmioHandler, PhysicalMemory } from '../bus/memory.js';
import { PAGE_SHIFT, PAGE_SIZE } from '../bus/memory.js';
import type { DirtyRect, ScreenInfo } from '../board/machine.js';
import type { Stateful, VMStateDecl } from '../state/vmstate.js';
import { VgaRenderer } from './vga-render.js';

export const VGA_DEFAULT_VRAM = 16 << 20;
export const VGA_DEFAULT_LFB = 0xe0000000;
export const VGA_MMIO_BAR_SIZE = 0x1000;
export const LEGACY_WINDOW_BASE = 0xa0000;
export const LEGACY_WINDOW_SIZE = 0x20000;

// Bochs DISPI interface.
export const VBE_PORT_INDEX = 0x1ce;
export const VBE_DISPI_ID0 = 0xb0c0;
export const VBE_DISPI_ID5 = 0xb0c5;
export const DISPI_ID = 0;
export const DISPI_XRES = 1;
export const DISPI_YRES = 2;
export const DISPI_BPP = 3;
export const DISPI_ENABLE = 4;
export const DISPI_BANK = 5;
export const DISPI_VIRT_WIDTH = 6;
export const DISPI_VIRT_HEIGHT = 7;
export const DISPI_X_OFFSET = 8;
export const DISPI_Y_OFFSET = 9;
export const DISPI_VIDEO_MEMORY_64K = 10;
const DISPI_REGS = 10;
export const DISPI_ENABLED = 0x01;
export const DISPI_GETCAPS = 0x02;
export const DISPI_8BIT_DAC = 0x20;
export const DISPI_LFB_ENABLED = 0x40;
export const DISPI_NOCLEARMEM = 0x80;
export const VBE_MAX_XRES = 2560;
export const VBE_MAX_YRES = 1600;
export const VBE_MAX_BPP = 32;

// Writable bits per sequencer / graphics controller register (as QEMU masks them).
const SR_MASK = [0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0x00, 0x00, 0xff];
const GR_MASK = [0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff, 0, 0, 0, 0, 0, 0, 0];

/** 4-bit plane mask → 32-bit mask with 0xFF in each selected plane's byte. */
const MASK16 = (() => {
  const t = new Uint32Array(16);
  for (let i = 0; i < 16; i++) {
    let v = 0;
    for (let p = 0; p < 4; p++) if (i & (1 << p)) v |= 0xff << (8 * p);
    t[i] = v >>> 0;
  }
  return t;
})();

export interface VgaOptions {
  /** Video memory in bytes (power of two, 1-64 MiB). Default 16 MiB. */
  vramBytes?: number;
  /** Where the LFB sits until the guest programs BAR0. Default 0xE0000000. */
  lfbBase?: number;
  /** Milliseconds (virtual or wall time) for cursor/attribute blink; default: one frame per updateScreen(). */
  now?: () => number;
  /**
   * Framebuffer storage for a new screen size (e.g. a SharedArrayBuffer view the UI reads
   * directly); must return exactly `bytes` bytes, 4-byte aligned. Default: a fresh array.
   */
  allocateFramebuffer?: (bytes: number) => Uint8ClampedArray;
}

/** Static PCI identity for the board's PCI bus (config space header type 0). */
export interface VgaPciConfig {
  vendorId: number;
  deviceId: number;
  revision: number;
  /** Class code, subclass, prog-if as 0xCCSSPP. */
  classCode: number;
  subsystemVendorId: number;
  subsystemId: number;
  bars: { index: number; size: number; kind: 'memory'; prefetchable: boolean; purpose: string }[];
}

/** The device's state declaration (VRAM size is part of it, so a mismatch is refused). */
export function vgaStateDecl(vramBytes: number): VMStateDecl {
  return {
    name: 'vga',
    version: 1,
    fields: [
      { name: 'misc', type: 'u8' },
      { name: 'featureControl', type: 'u8' },
      { name: 'vgaEnable', type: 'u8' },
      { name: 'st01', type: 'u8' },
      { name: 'sr', type: 'u8[]', length: 8 },
      { name: 'srIndex', type: 'u8' },
      { name: 'gr', type: 'u8[]', length: 16 },
      { name: 'grIndex', type: 'u8' },
      { name: 'cr', type: 'u8[]', length: 256 },
      { name: 'crIndex', type: 'u8' },
      { name: 'ar', type: 'u8[]', length: 21 },
      { name: 'arIndex', type: 'u8' },
      { name: 'arFlipFlop', type: 'bool' },
      { name: 'dac', type: 'u8[]', length: 768 },
      { name: 'dacReadIndex', type: 'u8' },
      { name: 'dacWriteIndex', type: 'u8' },
      { name: 'dacSubIndex', type: 'u8' },
      { name: 'dacState', type: 'u8' },
      { name: 'dacCache', type: 'u8[]', length: 3 },
      { name: 'dacPelMask', type: 'u8' },
      { name: 'latch', type: 'u32' },
      { name: 'vbeIndex', type: 'u16' },
      { name: 'vbeRegs', type: 'u16[]', length: DISPI_REGS },
      { name: 'vbeLineOffset', type: 'u32' },
      { name: 'vbeStartByte', type: 'u32' },
      { name: 'bankOffset', type: 'u32' },
      { name: 'lfbBase', type: 'u32' },
      { name: 'lfbMapped', type: 'bool' },
      { name: 'mmioBarBase', type: 'u32' },
      { name: 'mmioBarMapped', type: 'bool' },
      { name: 'vram', type: 'u8[]', length: vramBytes },
    ],
  };
}

export class VgaDevice implements Stateful {
  /** Declared state; the VRAM length depends on the configured size. */
  readonly vmstate: VMStateDecl;

  readonly vramBytes: number;
  /** Offset of VRAM inside memory.mem. */
  readonly vramOffset: number;
  /** VRAM as bytes and as plane quads (a view into the machine's backing store). */
  readonly vram: Uint8Array;
  readonly vram32: Uint32Array;
  readonly pciConfig: VgaPciConfig;

  // ---- registers (public for the renderer and tests)
  misc = 0;
  featureControl = 0;
  vgaEnable = 0;
  st01 = 0;
  readonly sr = new Uint8Array(8);
  srIndex = 0;
  readonly gr = new Uint8Array(16);
  grIndex = 0;
  readonly cr = new Uint8Array(256);
  crIndex = 0;
  readonly ar = new Uint8Array(21);
  arIndex = 0;
  arFlipFlop = false;
  /** DAC palette, 256 × (r, g, b); 6-bit values unless the 8-bit DAC is enabled via VBE. */
  readonly dac = new Uint8Array(768);
  dacReadIndex = 0;
  dacWriteIndex = 0;
  dacSubIndex = 0;
  dacState = 0;
  readonly dacCache = new Uint8Array(3);
  dacPelMask = 0xff;
  latch = 0;
  vbeIndex = 0;
  readonly vbeRegs = new Uint16Array(DISPI_REGS);
  vbeLineOffset = 0;
  vbeStartByte = 0;
  bankOffset = 0;
  lfbBase: number;
  lfbMapped = false;
  mmioBarBase = 0;
  mmioBarMapped = false;

  // ---- derived state (not saved)
  /** Per 4 KiB VRAM page: written since the last updateScreen(). */
  readonly dirtyPages: Uint8Array;
  /** Plane 2 (fonts) was written since the last updateScreen(). */
  fontDirty = true;
  /** A register that changes the picture was written. */
  displayChanged = true;
  private attached = false;
  /** Where the LFB / register BAR are mapped right now (-1: nowhere); the saved fields say where they should be. */
  private lfbLive = -1;
  private watchHook: ((backingPage: number) => void) | null = null;
  private mmioBarLive = -1;
  private readonly vramFirstPage: number;
  private readonly renderer: VgaRenderer;

  private readonly windowHandler: MmioHandler = {
    read8: (offset) => this.windowRead(offset),
    write8: (offset, value) => this.windowWrite(offset, value),
  };
  private readonly mmioBarHandler: MmioHandler = {
    read8: (offset) => this.mmioBarRead(offset, 1),
    write8: (offset, value) => this.mmioBarWrite(offset, value, 1),
    read16: (offset) => this.mmioBarRead(offset, 2),
    write16: (offset, value) => this.mmioBarWrite(offset, value, 2),
    read32: (offset) => this.mmioBarRead(offset, 4),
    write32: (offset, value) => this.mmioBarWrite(offset, value, 4),
  };

  constructor(
    readonly memory: PhysicalMemory,
    readonly io: IoBus,
    options: VgaOptions = {},
  ) {
    const vramBytes = options.vramBytes ?? VGA_DEFAULT_VRAM;
    if (vramBytes < 1 << 20 || vramBytes > 64 << 20 || (vramBytes & (vramBytes - 1)) !== 0) {
      throw new Error(`vga: video memory must be a power of two between 1 and 64 MiB, got ${vramBytes} bytes`);
    }
    this.vramBytes = vramBytes;
    this.vmstate = vgaStateDecl(vramBytes);
    this.vramOffset = memory.allocate(vramBytes);
    this.vram = memory.mem.subarray(this.vramOffset, this.vramOffset + vramBytes);
    this.vram32 = new Uint32Array(memory.mem.buffer, memory.mem.byteOffset + this.vramOffset, vramBytes >>> 2);
    this.vramFirstPage = this.vramOffset >>> PAGE_SHIFT;
    this.dirtyPages = new Uint8Array(vramBytes >>> PAGE_SHIFT);
    this.lfbBase = options.lfbBase ?? VGA_DEFAULT_LFB;
    this.pciConfig = {
      vendorId: 0x1234,
      deviceId: 0x1111,
      revision: 0x02,
      classCode: 0x030000,
      subsystemVendorId: 0x1af4,
      subsystemId: 0x1100,
      bars: [
        { index: 0, size: vramBytes, kind: 'memory', prefetchable: true, purpose: 'linear framebuffer' },
        { index: 2, size: VGA_MMIO_BAR_SIZE, kind: 'memory', prefetchable: false, purpose: 'VGA/DISPI registers' },
      ],
    };
    this.renderer = new VgaRenderer(this, options.now, options.allocateFramebuffer);
    this.reset();
  }

  // ------------------------------------------------------------------ wiring

  attach(): void {
    const portHandler = (base: number): PortHandler => ({
      read8: (o) => this.ioRead(base + o),
      write8: (o, v) => this.ioWrite(base + o, v),
    });
    this.io.register('vga', 0x3b4, 2, portHandler(0x3b4));
    this.io.register('vga', 0x3ba, 1, portHandler(0x3ba));
    this.io.register('vga', 0x3c0, 16, portHandler(0x3c0));
    this.io.register('vga', 0x3d4, 2, portHandler(0x3d4));
    this.io.register('vga', 0x3da, 1, portHandler(0x3da));
    // 0x1CE index, 0x1CF data and (as on QEMU/x86) 0x1D0 data; claiming 0x1D0 also lets the
    // bus hand a 16-bit access at 0x1CF to us in one piece.
    this.io.register('vga-vbe', VBE_PORT_INDEX, 3, {
      read8: (o) => (o === 0 ? this.vbeIndex : this.vbeRead()) & 0xff,
      write8: (o, v) => (o === 0 ? (this.vbeIndex = v) : this.vbeWrite(v)),
      read16: (o) => (o === 0 ? this.vbeIndex : this.vbeRead()),
      write16: (o, v) => (o === 0 ? (this.vbeIndex = v) : this.vbeWrite(v)),
    });

    const mem = this.memory;
    mem.watchPage.fill(1, this.vramFirstPage, this.vramFirstPage + this.dirtyPages.length);
    this.installWatchHook();
    this.attached = true;
    this.mapLegacyWindow();
    this.mapLfb(this.lfbBase);
  }

  /**
   * Chain our handler in front of memory.onWatchedWrite. If someone replaced the callback
   * later without chaining, updateScreen() notices, re-installs it and repaints everything.
   */
  private installWatchHook(): void {
    const mem = this.memory;
    const previous = mem.onWatchedWrite;
    const first = this.vramFirstPage;
    const count = this.dirtyPages.length;
    const dirty = this.dirtyPages;
    const watch = mem.watchPage;
    this.watchHook = (page) => {
      const rel = page - first;
      if (rel >= 0 && rel < count) {
        dirty[rel] = 1;
        watch[page] = 0; // stay quiet until the next frame re-arms it
      } else {
        previous(page);
      }
    };
    mem.onWatchedWrite = this.watchHook;
  }

  /** Map (or move) the linear framebuffer; null removes it (BAR disabled). */
  mapLfb(base: number | null): void {
    this.lfbMapped = base !== null;
    if (base !== null) this.lfbBase = base >>> 0;
    this.applyBarMappings();
  }

  /** Map (or move) the 4 KiB register BAR (QEMU std-vga BAR2); null removes it. */
  mapMmioBar(base: number | null): void {
    this.mmioBarMapped = base !== null;
    if (base !== null) this.mmioBarBase = base >>> 0;
    this.applyBarMappings();
  }

  /** Make the live LFB / register BAR mappings match lfbBase/lfbMapped and mmioBar*. */
  private applyBarMappings(): void {
    if (!this.attached) return;
    const mem = this.memory;
    if (this.lfbLive >= 0) mem.unmap(this.lfbLive, this.vramBytes);
    if (this.mmioBarLive >= 0) mem.unmap(this.mmioBarLive, VGA_MMIO_BAR_SIZE);
    this.lfbLive = this.mmioBarLive = -1;
    if (this.lfbMapped) {
      mem.mapBacking(this.lfbBase, this.vramBytes, this.vramOffset, true);
      this.lfbLive = this.lfbBase;
    }
    if (this.mmioBarMapped) {
      mem.mapMmio('vga-regs', this.mmioBarBase, VGA_MMIO_BAR_SIZE, this.mmioBarHandler);
      this.mmioBarLive = this.mmioBarBase;
    }
  }

  /**
   * Install the 0xA0000-0xBFFFF window. In chain-4 with all planes writable (mode 13h, VBE
   * banked modes) the selected part maps straight to VRAM backing store: QEMU does the same
   * and its chain-4 path ignores the write modes too.
   */
  mapLegacyWindow(): void {
    if (!this.attached) return;
    const mem = this.memory;
    mem.mapMmio('vga-window', LEGACY_WINDOW_BASE, LEGACY_WINDOW_SIZE, this.windowHandler);
    if (!this.chain4() || (this.writePlanes() & 0xf) !== 0xf) return;
    let start = 0;
    let size = 0x20000;
    let vramAt = 0;
    switch ((this.gr[6] >> 2) & 3) {
      case 1: size = 0x10000; vramAt = this.bankOffset; break;
      case 2: start = 0x10000; size = 0x8000; break;
      case 3: start = 0x18000; size = 0x8000; break;
    }
    if (vramAt + size > this.vramBytes) return;
    mem.mapBacking(LEGACY_WINDOW_BASE + start, size, this.vramOffset + vramAt, true);
  }

  reset(): void {
    this.misc = 0;
    this.featureControl = 0;
    this.vgaEnable = 0;
    this.st01 = 0;
    this.sr.fill(0);
    this.gr.fill(0);
    this.cr.fill(0);
    this.ar.fill(0);
    this.srIndex = this.grIndex = this.crIndex = this.arIndex = 0;
    this.arFlipFlop = false;
    this.dacReadIndex = this.dacWriteIndex = this.dacSubIndex = this.dacState = 0;
    this.dacCache.fill(0);
    this.dacPelMask = 0xff;
    this.latch = 0;
    this.vbeIndex = 0;
    this.vbeRegs.fill(0);
    this.vbeRegs[DISPI_ID] = VBE_DISPI_ID5;
    this.vbeLineOffset = 0;
    this.vbeStartByte = 0;
    this.bankOffset = 0;
    this.displayChanged = true;
    this.fontDirty = true;
    this.mapLegacyWindow();
  }

  postLoad(): void {
    this.vbeRegs[DISPI_BANK] &= this.bankMask();
    this.bankOffset = Math.min(this.bankOffset, this.vramBytes - 0x10000) & ~0xffff;
    this.displayChanged = true;
    this.fontDirty = true;
    this.dirtyPages.fill(1);
    this.mapLegacyWindow();
    this.applyBarMappings();
    this.renderer.invalidate();
  }

  // ------------------------------------------------------------------ host side

  /** Render what changed; returns the changed rectangles (empty when nothing changed). */
  updateScreen(): DirtyRect[] {
    if (this.attached && this.memory.onWatchedWrite !== this.watchHook) {
      // Our write hook was replaced: LFB writes may have gone unseen.
      this.installWatchHook();
      this.dirtyPages.fill(1);
    }
    const rects = this.renderer.update();
    // Re-arm the watch on every page written during this frame.
    const dirty = this.dirtyPages;
    const watch = this.memory.watchPage;
    const first = this.vramFirstPage;
    for (let i = 0; i < dirty.length; i++) {
      if (dirty[i]) {
        dirty[i] = 0;
        if (this.attached) watch[first + i] = 1;
      }
    }
    this.fontDirty = false;
    this.displayChanged = false;
    return rects;
  }

  screen(): ScreenInfo {
    return this.renderer.screen();
  }

  // ------------------------------------------------------------------ derived register views

  get vbeEnabled(): boolean {
    return (this.vbeRegs[DISPI_ENABLE] & DISPI_ENABLED) !== 0;
  }

  /** Chain-4 addressing in effect (VBE modes above 4 bpp force it, as QEMU's sr_vbe does). */
  chain4(): boolean {
    if (this.vbeEnabled && this.vbeRegs[DISPI_BPP] !== 4) return true;
    return (this.sr[4] & 0x08) !== 0;
  }

  private writePlanes(): number {
    if (this.vbeEnabled && this.vbeRegs[DISPI_BPP] !== 4) return 0xf;
    return this.sr[2];
  }

  private bankMask(): number {
    return (this.vramBytes >>> 16) - 1;
  }

  // ------------------------------------------------------------------ legacy window

  /** Window offset (0..0x1FFFF) → address in the plane/chain-4 address space, or -1. */
  private decode(offset: number): number {
    switch ((this.gr[6] >> 2) & 3) {
      case 0: return offset;
      case 1: return offset < 0x10000 ? offset + this.bankOffset : -1;
      case 2: return offset >= 0x10000 && offset < 0x18000 ? offset - 0x10000 : -1;
      default: return offset >= 0x18000 ? offset - 0x18000 : -1;
    }
  }

  windowRead(offset: number): number {
    const addr = this.decode(offset);
    if (addr < 0) return 0xff;
    if (this.chain4()) return addr < this.vramBytes ? this.vram[addr] : 0xff;
    if (this.gr[5] & 0x10) {
      // odd/even: A0 selects plane 0/1 (or 2/3 with read map bit 1)
      const index = ((addr & ~1) << 1) | (this.gr[4] & 2) | (addr & 1);
      return index < this.vramBytes ? this.vram[index] : 0xff;
    }
    if (addr >= this.vram32.length) return 0xff;
    const latch = this.vram32[addr];
    this.latch = latch;
    if ((this.gr[5] & 0x08) === 0) return (latch >>> ((this.gr[4] & 3) << 3)) & 0xff;
    // read mode 1: colour compare over the planes selected by colour don't care
    let diff = (latch ^ MASK16[this.gr[2] & 0xf]) & MASK16[this.gr[7] & 0xf];
    diff |= diff >>> 16;
    diff |= diff >>> 8;
    return ~diff & 0xff;
  }

  windowWrite(offset: number, value: number): void {
    const addr = this.decode(offset);
    if (addr < 0) return;
    value &= 0xff;
    if (this.chain4()) {
      if (addr >= this.vramBytes || (this.writePlanes() & (1 << (addr & 3))) === 0) return;
      this.vram[addr] = value;
      this.dirtyPages[addr >>> PAGE_SHIFT] = 1;
      if ((addr & 3) === 2) this.fontDirty = true;
      return;
    }
    if ((this.sr[4] & 0x04) === 0) {
      // odd/even (text modes, CGA): A0 selects plane 0/1 (2/3 with read map bit 1)
      const plane = (this.gr[4] & 2) | (addr & 1);
      if ((this.sr[2] & (1 << plane)) === 0) return;
      const index = ((addr & ~1) << 1) | plane;
      if (index >= this.vramBytes) return;
      this.vram[index] = value;
      this.dirtyPages[index >>> PAGE_SHIFT] = 1;
      if (plane === 2) this.fontDirty = true;
      return;
    }
    if (addr >= this.vram32.length) return;
    const gr = this.gr;
    let data: number;
    let bitMask: number;
    switch (gr[5] & 3) {
      case 0: {
        const rot = gr[3] & 7;
        let v = ((value >>> rot) | (value << (8 - rot))) & 0xff;
        v = (v * 0x01010101) >>> 0;
        const setMask = MASK16[gr[1] & 0xf];
        data = ((v & ~setMask) | (MASK16[gr[0] & 0xf] & setMask)) >>> 0;
        bitMask = gr[8];
        break;
      }
      case 1:
        this.storeQuad(addr, this.latch);
        return;
      case 2:
        data = MASK16[value & 0xf];
        bitMask = gr[8];
        break;
      default: {
        const rot = gr[3] & 7;
        const v = ((value >>> rot) | (value << (8 - rot))) & 0xff;
        bitMask = gr[8] & v;
        data = MASK16[gr[0] & 0xf];
        break;
      }
    }
    switch ((gr[3] >> 3) & 3) {
      case 1: data &= this.latch; break;
      case 2: data |= this.latch; break;
      case 3: data ^= this.latch; break;
    }
    const m = (bitMask * 0x01010101) >>> 0;
    this.storeQuad(addr, ((data & m) | (this.latch & ~m)) >>> 0);
  }

  /** Write a plane quad through the sequencer's map mask. */
  private storeQuad(addr: number, data: number): void {
    const planes = this.sr[2] & 0xf;
    const mask = MASK16[planes];
    this.vram32[addr] = ((this.vram32[addr] & ~mask) | (data & mask)) >>> 0;
    this.dirtyPages[(addr << 2) >>> PAGE_SHIFT] = 1;
    if (planes & 4) this.fontDirty = true;
  }

  // ------------------------------------------------------------------ VGA ports

  /** True when a 3Bx/3Dx port is not decoded under the misc register's I/O address select. */
  private portInactive(port: number): boolean {
    const group = port & 0x3f0;
    return this.misc & 1 ? group === 0x3b0 : group === 0x3d0;
  }

  ioRead(port: number): number {
    if (this.portInactive(port)) return 0xff;
    switch (port) {
      case 0x3c0:
        return this.arFlipFlop ? 0 : this.arIndex;
      case 0x3c1: {
        const i = this.arIndex & 0x1f;
        return i < 21 ? this.ar[i] : 0;
      }
      case 0x3c2:
        return 0; // input status 0: no switch sense, no pending retrace interrupt
      case 0x3c3:
        return this.vgaEnable;
      case 0x3c4:
        return this.srIndex;
      case 0x3c5:
        return this.sr[this.srIndex];
      case 0x3c6:
        return this.dacPelMask;
      case 0x3c7:
        return this.dacState;
      case 0x3c8:
        return this.dacWriteIndex;
      case 0x3c9: {
        const v = this.dac[this.dacReadIndex * 3 + this.dacSubIndex];
        if (++this.dacSubIndex === 3) {
          this.dacSubIndex = 0;
          this.dacReadIndex = (this.dacReadIndex + 1) & 0xff;
        }
        return v;
      }
      case 0x3ca:
        return this.featureControl;
      case 0x3cc:
        return this.misc;
      case 0x3ce:
        return this.grIndex;
      case 0x3cf:
        return this.gr[this.grIndex];
      case 0x3b4:
      case 0x3d4:
        return this.crIndex;
      case 0x3b5:
      case 0x3d5:
        return this.cr[this.crIndex];
      case 0x3ba:
      case 0x3da:
        // Display-enable and vertical-retrace toggle on every read so polling loops finish
        // (QEMU's default "dumb" retrace); the read also resets the attribute flip-flop.
        this.st01 ^= 0x09;
        this.arFlipFlop = false;
        return this.st01;
      default:
        return 0xff;
    }
  }

  ioWrite(port: number, value: number): void {
    if (this.portInactive(port)) return;
    value &= 0xff;
    switch (port) {
      case 0x3c0:
        if (!this.arFlipFlop) {
          this.arIndex = value & 0x3f;
        } else {
          const i = this.arIndex & 0x1f;
          if (i < 16) this.ar[i] = value & 0x3f;
          else if (i === 0x10) this.ar[i] = value & ~0x10;
          else if (i === 0x11) this.ar[i] = value;
          else if (i === 0x12) this.ar[i] = value & 0x3f;
          else if (i === 0x13 || i === 0x14) this.ar[i] = value & 0x0f;
        }
        this.arFlipFlop = !this.arFlipFlop;
        this.displayChanged = true;
        return;
      case 0x3c2:
        this.misc = value;
        this.displayChanged = true;
        return;
      case 0x3c3:
        this.vgaEnable = value & 1;
        return;
      case 0x3c4:
        this.srIndex = value & 7;
        return;
      case 0x3c5:
        this.sr[this.srIndex] = value & SR_MASK[this.srIndex];
        if (this.srIndex === 2 || this.srIndex === 4) this.mapLegacyWindow();
        else this.displayChanged = true;
        return;
      case 0x3c6:
        this.dacPelMask = value;
        this.displayChanged = true;
        return;
      case 0x3c7:
        this.dacReadIndex = value;
        this.dacSubIndex = 0;
        this.dacState = 3;
        return;
      case 0x3c8:
        this.dacWriteIndex = value;
        this.dacSubIndex = 0;
        this.dacState = 0;
        return;
      case 0x3c9:
        this.dacCache[this.dacSubIndex] = this.vbeRegs[DISPI_ENABLE] & DISPI_8BIT_DAC ? value : value & 0x3f;
        if (++this.dacSubIndex === 3) {
          this.dac.set(this.dacCache, this.dacWriteIndex * 3);
          this.dacSubIndex = 0;
          this.dacWriteIndex = (this.dacWriteIndex + 1) & 0xff;
          this.displayChanged = true;
        }
        return;
      case 0x3ce:
        this.grIndex = value & 0x0f;
        return;
      case 0x3cf:
        this.gr[this.grIndex] = value & GR_MASK[this.grIndex];
        if (this.grIndex === 5 || this.grIndex === 6) {
          this.displayChanged = true;
          this.mapLegacyWindow();
        }
        return;
      case 0x3b4:
      case 0x3d4:
        this.crIndex = value;
        return;
      case 0x3b5:
      case 0x3d5: {
        const i = this.crIndex;
        // CR11 bit 7 write-protects CR0-CR7, except the line compare bit 8 in CR7.
        if (this.cr[0x11] & 0x80 && i <= 7) {
          if (i === 7) this.cr[7] = (this.cr[7] & ~0x10) | (value & 0x10);
        } else {
          this.cr[i] = value;
        }
        // Cursor shape/location only matter to text rendering, which diffs cells itself.
        if (i !== 0x0a && i !== 0x0b && i !== 0x0e && i !== 0x0f) this.displayChanged = true;
        return;
      }
      case 0x3ba:
      case 0x3da:
        this.featureControl = value & 0x10;
        return;
    }
  }

  // ------------------------------------------------------------------ Bochs VBE (DISPI)

  vbeRead(): number {
    const i = this.vbeIndex;
    if (i < DISPI_REGS) {
      if (this.vbeRegs[DISPI_ENABLE] & DISPI_GETCAPS) {
        if (i === DISPI_XRES) return VBE_MAX_XRES;
        if (i === DISPI_YRES) return VBE_MAX_YRES;
        if (i === DISPI_BPP) return VBE_MAX_BPP;
      }
      return this.vbeRegs[i];
    }
    if (i === DISPI_VIDEO_MEMORY_64K) return this.vramBytes >>> 16;
    return 0;
  }

  vbeWrite(value: number): void {
    value &= 0xffff;
    const r = this.vbeRegs;
    switch (this.vbeIndex) {
      case DISPI_ID:
        if (value >= VBE_DISPI_ID0 && value <= VBE_DISPI_ID5) r[DISPI_ID] = value;
        return;
      case DISPI_XRES:
      case DISPI_YRES:
      case DISPI_BPP:
      case DISPI_VIRT_WIDTH:
      case DISPI_X_OFFSET:
      case DISPI_Y_OFFSET:
        r[this.vbeIndex] = value;
        this.vbeFixup();
        this.vbeUpdateVgaRegs();
        this.displayChanged = true;
        return;
      case DISPI_BANK:
        r[DISPI_BANK] = value & this.bankMask();
        this.bankOffset = r[DISPI_BANK] << 16;
        this.mapLegacyWindow();
        return;
      case DISPI_ENABLE: {
        const wasEnabled = this.vbeEnabled;
        if (value & DISPI_ENABLED && !wasEnabled) {
          r[DISPI_VIRT_WIDTH] = 0;
          r[DISPI_X_OFFSET] = 0;
          r[DISPI_Y_OFFSET] = 0;
          r[DISPI_ENABLE] |= DISPI_ENABLED;
          this.vbeFixup();
          this.vbeUpdateVgaRegs();
          if ((value & DISPI_NOCLEARMEM) === 0) {
            const end = Math.min(this.vramBytes, r[DISPI_YRES] * this.vbeLineOffset);
            this.vram.fill(0, 0, end);
            this.dirtyPages.fill(1, 0, (end + PAGE_SIZE - 1) >>> PAGE_SHIFT);
          }
        } else if ((value & DISPI_ENABLED) === 0) {
          this.bankOffset = 0;
        }
        r[DISPI_ENABLE] = value;
        this.displayChanged = true;
        this.mapLegacyWindow();
        return;
      }
      default:
        return; // VIRT_HEIGHT and VIDEO_MEMORY_64K are read-only
    }
  }

  /** Bytes per pixel-row unit for a DISPI depth (4 bpp is planar: half a byte). */
  private vbeBits(): number {
    const bpp = this.vbeRegs[DISPI_BPP];
    return bpp === 15 ? 16 : bpp;
  }

  /** Clamp the DISPI registers to what the VRAM and the limits allow (as QEMU does). */
  private vbeFixup(): void {
    const r = this.vbeRegs;
    if (!this.vbeEnabled) return;
    switch (r[DISPI_BPP]) {
      case 4: case 8: case 15: case 16: case 24: case 32: break;
      default: r[DISPI_BPP] = 8;
    }
    const bits = this.vbeBits();
    r[DISPI_XRES] &= ~7;
    if (r[DISPI_XRES] === 0) r[DISPI_XRES] = 8;
    if (r[DISPI_XRES] > VBE_MAX_XRES) r[DISPI_XRES] = VBE_MAX_XRES;
    r[DISPI_VIRT_WIDTH] &= ~7;
    if (r[DISPI_VIRT_WIDTH] > VBE_MAX_XRES) r[DISPI_VIRT_WIDTH] = VBE_MAX_XRES;
    if (r[DISPI_VIRT_WIDTH] < r[DISPI_XRES]) r[DISPI_VIRT_WIDTH] = r[DISPI_XRES];
    const lineLength = (r[DISPI_VIRT_WIDTH] * bits) >>> 3;
    const maxY = Math.min(0xffff, Math.floor(this.vramBytes / lineLength));
    if (r[DISPI_YRES] === 0) r[DISPI_YRES] = 1;
    if (r[DISPI_YRES] > VBE_MAX_YRES) r[DISPI_YRES] = VBE_MAX_YRES;
    if (r[DISPI_YRES] > maxY) r[DISPI_YRES] = maxY;
    if (r[DISPI_X_OFFSET] > VBE_MAX_XRES) r[DISPI_X_OFFSET] = VBE_MAX_XRES;
    if (r[DISPI_Y_OFFSET] > VBE_MAX_YRES) r[DISPI_Y_OFFSET] = VBE_MAX_YRES;
    let start = ((r[DISPI_X_OFFSET] * bits) >>> 3) + r[DISPI_Y_OFFSET] * lineLength;
    if (start + r[DISPI_YRES] * lineLength > this.vramBytes) {
      r[DISPI_X_OFFSET] = 0;
      r[DISPI_Y_OFFSET] = 0;
      start = 0;
    }
    r[DISPI_VIRT_HEIGHT] = maxY;
    this.vbeLineOffset = lineLength;
    this.vbeStartByte = start & ~3;
  }

  /** Reflect a DISPI mode in the VGA registers the way QEMU does (graphics, 64K window at A000). */
  private vbeUpdateVgaRegs(): void {
    if (!this.vbeEnabled) return;
    const r = this.vbeRegs;
    this.gr[6] = (this.gr[6] & ~0x0c) | 0x05;
    this.cr[0x17] |= 3;
    this.cr[0x13] = (this.vbeLineOffset >>> 3) & 0xff;
    this.cr[0x01] = ((r[DISPI_XRES] >>> 3) - 1) & 0xff;
    const h = r[DISPI_YRES] - 1;
    this.cr[0x12] = h & 0xff;
    this.cr[0x07] = (this.cr[0x07] & ~0x42) | ((h >> 7) & 0x02) | ((h >> 3) & 0x40);
    this.cr[0x18] = 0xff;
    this.cr[0x07] |= 0x10;
    this.cr[0x09] |= 0x40;
    this.cr[0x09] &= ~0x9f;
    const shiftControl = r[DISPI_BPP] === 4 ? 0 : 2;
    this.gr[5] = (this.gr[5] & ~0x60) | (shiftControl << 5);
    this.mapLegacyWindow();
  }

  // ------------------------------------------------------------------ PCI BAR2 registers

  private mmioBarRead(offset: number, size: number): number {
    if (offset >= 0x400 && offset < 0x420) {
      let v = 0;
      for (let i = 0; i < size; i++) v |= this.ioRead(0x3c0 + offset - 0x400 + i) << (8 * i);
      return v >>> 0;
    }
    if (offset >= 0x500 && offset < 0x500 + 2 * (DISPI_VIDEO_MEMORY_64K + 1) && size === 2) {
      const saved = this.vbeIndex;
      this.vbeIndex = (offset - 0x500) >>> 1;
      const v = this.vbeRead();
      this.vbeIndex = saved;
      return v;
    }
    if (offset === 0x600 && size === 4) return 8; // QEMU extended register block size
    if (offset === 0x604 && size === 4) return 0x1e1e1e1e; // framebuffer is little-endian
    return 0;
  }

  private mmioBarWrite(offset: number, value: number, size: number): void {
    if (offset >= 0x400 && offset < 0x420) {
      for (let i = 0; i < size; i++) this.ioWrite(0x3c0 + offset - 0x400 + i, (value >>> (8 * i)) & 0xff);
      return;
    }
    if (offset >= 0x500 && offset < 0x500 + 2 * DISPI_REGS && size === 2) {
      const saved = this.vbeIndex;
      this.vbeIndex = (offset - 0x500) >>> 1;
      this.vbeWrite(value);
      this.vbeIndex = saved;
    }
  }
}
