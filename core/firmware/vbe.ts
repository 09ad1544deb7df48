// VBE 3.0 (INT 10h AX=4Fxxh) over the Bochs DISPI registers (ports 1CEh/1CFh) of our std-vga,
// with the linear framebuffer at the device's PCI BAR0 (1234:1111). The mode list is built
// from what the video memory holds; nothing is kept in TS fields (the current mode is read
// back from the DISPI registers), so the state survives snapshots.

import { AX, BH, BL, BX, CX, DI, DL, DX, ES, FirmwareContext } from './context.js';
import { BIOS_SEGMENT } from './rom.js';
import { buildEdid } from './vbe-edid.js';
import { VIDEO_ROM, vbeStringOffsets } from './video-rom.js';
import type { VideoBios } from './video.js';
import { MODE13_REGS, VGA_MODES, defaultDac, type VgaMode } from './vga-modes.js';

const DISPI_INDEX = 0x1ce, DISPI_DATA = 0x1cf;
const XRES = 1, YRES = 2, BPP = 3, ENABLE = 4, BANK = 5, VIRT_WIDTH = 6, VIRT_HEIGHT = 7, X_OFFSET = 8, Y_OFFSET = 9, VIDEO_MEMORY_64K = 10;
const ENABLED = 0x01, DAC_8BIT = 0x20, LFB_ENABLED = 0x40, NO_CLEAR = 0x80;
const LFB_DEFAULT = 0xe0000000;

export interface VbeMode { number: number; width: number; height: number; bpp: number }

/**
 * The classic VESA numbers (100h-11Bh), the de-facto Bochs/QEMU numbers for 1600x1200
 * (11Ch-11Fh) and 32 bpp (140h-145h) that guests have hard-coded (KolibriOS keeps its default
 * as 143h), then our own numbers from 150h for 32 bpp at 1600x1200 and the wide/large modes.
 */
export const VBE_MODES: readonly VbeMode[] = (() => {
  const list: VbeMode[] = [];
  const add = (number: number, width: number, height: number, bpp: number) => list.push({ number, width, height, bpp });
  add(0x100, 640, 400, 8); add(0x101, 640, 480, 8); add(0x102, 800, 600, 4); add(0x103, 800, 600, 8);
  add(0x104, 1024, 768, 4); add(0x105, 1024, 768, 8); add(0x106, 1280, 1024, 4); add(0x107, 1280, 1024, 8);
  const classic: [number, number, number][] = [[0x10d, 320, 200], [0x110, 640, 480], [0x113, 800, 600], [0x116, 1024, 768], [0x119, 1280, 1024]];
  for (const [n, w, h] of classic) { add(n, w, h, 15); add(n + 1, w, h, 16); add(n + 2, w, h, 24); }
  [8, 15, 16, 24].forEach((bpp, i) => add(0x11c + i, 1600, 1200, bpp));
  [[320, 200], [640, 400], [640, 480], [800, 600], [1024, 768], [1280, 1024]].forEach(([w, h], i) => add(0x140 + i, w, h, 32));
  let n = 0x150;
  add(n++, 1600, 1200, 32);
  for (const [w, h] of [[1152, 864], [1280, 720], [1280, 800], [1360, 768], [1440, 900], [1600, 900],
    [1680, 1050], [1920, 1080], [1920, 1200]]) {
    for (const bpp of [8, 15, 16, 24, 32]) add(n++, w, h, bpp);
  }
  return list;
})();

const pitchOf = (m: VbeMode) => (m.bpp === 4 ? m.width >> 3 : m.width * ((m.bpp + 7) >> 3));

export class VbeBios {
  constructor(private readonly fw: FirmwareContext, private readonly video: VideoBios) {}

  private get io() { return this.fw.machine.io; }
  private read(i: number): number { this.io.out16(DISPI_INDEX, i); return this.io.in16(DISPI_DATA); }
  private write(i: number, v: number): void { this.io.out16(DISPI_INDEX, i); this.io.out16(DISPI_DATA, v); }

  /** A DISPI mode is on. */
  active(): boolean { return (this.read(ENABLE) & ENABLED) !== 0; }
  /** Leave DISPI (before a standard VGA mode set); the DAC goes back to 6 bits. */
  disable(): void { this.write(ENABLE, 0); }

  private vramBytes(): number { return this.read(VIDEO_MEMORY_64K) * 0x10000; }
  private fits(m: VbeMode): boolean { return pitchOf(m) * m.height <= this.vramBytes(); }
  find(number: number): VbeMode | undefined { return VBE_MODES.find((m) => m.number === number); }

  /** PCI config dword of bus 0 device `dev` function 0. */
  private pci(dev: number, reg: number, value?: number): number {
    const io = this.io;
    io.out32(0xcf8, (0x80000000 | (dev << 11) | reg) >>> 0);
    if (value !== undefined) { io.out32(0xcfc, value); return value; }
    return io.in32(0xcfc) >>> 0;
  }

  /**
   * Where the LFB is: BAR0 of the std-vga. With `assign` (mode set with the LFB bit) an
   * unassigned BAR gets the default address and memory decoding is switched on. The guest's
   * CF8h index is put back afterwards.
   */
  lfbAddress(assign = false): number {
    const io = this.io;
    const savedIndex = io.in32(0xcf8) >>> 0;
    let address = LFB_DEFAULT;
    for (let dev = 0; dev < 32; dev++) {
      if (this.pci(dev, 0) !== 0x11111234) continue;
      let bar = (this.pci(dev, 0x10) & ~0xf) >>> 0;
      if (assign) {
        if (bar === 0) { this.pci(dev, 0x10, LFB_DEFAULT); bar = (this.pci(dev, 0x10) & ~0xf) >>> 0; }
        const cmd = this.pci(dev, 0x04);
        if (!(cmd & 0x02)) this.pci(dev, 0x04, cmd | 0x02);
      }
      if (bar !== 0) address = bar;
      break;
    }
    io.out32(0xcf8, savedIndex);
    return address;
  }

  /** The current VBE mode as a graphics mode for text output and pixels (8-32 bpp), or undefined. */
  textMode(): VgaMode | undefined {
    const m = this.current();
    if (!m || m.bpp < 8) return undefined;
    const pitch = this.read(VIRT_WIDTH) * ((m.bpp + 7) >> 3);
    return {
      mode: 0xff, kind: 'vbe', cols: m.width >> 3, rows: Math.floor(m.height / 16), charHeight: 16,
      width: m.width, height: m.height, segment: 0, pageSize: 0, pages: 1, regs: MODE13_REGS, dac: 'vga256',
      bpp: m.bpp, lfb: this.lfbAddress(), pitch,
    };
  }

  /** The VBE mode the DISPI registers describe (after 4F02h), or undefined. */
  private current(): VbeMode | undefined {
    if (!this.active()) return undefined;
    const w = this.read(XRES), h = this.read(YRES), bpp = this.read(BPP);
    return VBE_MODES.find((m) => m.width === w && m.height === h && m.bpp === bpp);
  }

  private status(ah: number): void { this.fw.set16(AX, (ah << 8) | 0x4f); }

  handle(): void {
    const fw = this.fw;
    switch (fw.r16(AX) & 0xff) {
      case 0x00: return this.controllerInfo();
      case 0x01: return this.modeInfo();
      case 0x02: return this.setMode();
      case 0x03: {
        const m = this.current();
        fw.set16(BX, m ? m.number | (this.read(ENABLE) & LFB_ENABLED ? 0x4000 : 0) : fw.bda8(0x49));
        return this.status(0);
      }
      case 0x04: return this.saveRestore();
      case 0x05: return this.window();
      case 0x06: return this.scanLine();
      case 0x07: return this.displayStart();
      case 0x08: return this.dacWidth();
      case 0x09: return this.paletteData();
      case 0x15: return this.ddc();
      default: fw.set16(AX, 0x0100); // AL != 4Fh: not supported
    }
  }

  /** 4F00h: the controller information block at ES:DI (512 bytes for a 'VBE2' request). */
  private controllerInfo(): void {
    const fw = this.fw;
    if ((this.read(0) & 0xfff0) !== 0xb0c0) return this.status(1); // no Bochs DISPI interface
    const p = fw.lin(ES, fw.r16(DI));
    const vbe2 = fw.read32(p) === 0x32454256; // 'VBE2'
    for (let i = 0; i < (vbe2 ? 512 : 256); i++) fw.write8(p + i, 0);
    [0x56, 0x45, 0x53, 0x41].forEach((b, i) => fw.write8(p + i, b)); // 'VESA'
    fw.write16(p + 4, 0x0300);
    const [oem, vendor, product, rev] = vbeStringOffsets();
    const far = (at: number, off: number) => { fw.write16(at, off); fw.write16(at + 2, BIOS_SEGMENT); };
    far(p + 6, oem);
    fw.write32(p + 0x0a, 0x00000001); // DAC switchable to 8 bits
    // Mode list in the block's reserved area (as the VBE 3.0 spec allows), only modes that fit.
    const listOff = fw.r16(DI) + 0x22;
    fw.write16(p + 0x0e, listOff); fw.write16(p + 0x10, fw.seg(ES));
    let at = p + 0x22;
    for (const m of VBE_MODES) if (this.fits(m) && at < p + 0xfe) { fw.write16(at, m.number); at += 2; } // stay in the 256 bytes
    fw.write16(at, 0xffff);
    fw.write16(p + 0x12, this.read(VIDEO_MEMORY_64K));
    fw.write16(p + 0x14, 0x0100);
    far(p + 0x16, vendor); far(p + 0x1a, product); far(p + 0x1e, rev);
    this.status(0);
  }

  /** 4F01h: the mode information block at ES:DI. */
  private modeInfo(): void {
    const fw = this.fw;
    const m = this.find(fw.r16(CX) & 0x1ff);
    if (!m) return this.status(1);
    const p = fw.lin(ES, fw.r16(DI));
    for (let i = 0; i < 256; i++) fw.write8(p + i, 0);
    const pitch = pitchOf(m), planar = m.bpp === 4;
    const pages = Math.max(1, Math.min(256, Math.floor(this.vramBytes() / (pitch * m.height))));
    // supported | optional info | colour | graphics | (LFB unless planar)
    fw.write16(p, (this.fits(m) ? 0x01 : 0) | 0x02 | 0x08 | 0x10 | (planar ? 0 : 0x80));
    fw.write8(p + 2, 0x07); fw.write8(p + 3, 0);
    fw.write16(p + 4, 64); fw.write16(p + 6, 64);
    fw.write16(p + 8, 0xa000); fw.write16(p + 0x0a, 0);
    fw.write16(p + 0x0c, VIDEO_ROM.vbeWindowFunc); fw.write16(p + 0x0e, BIOS_SEGMENT);
    fw.write16(p + 0x10, pitch);
    fw.write16(p + 0x12, m.width); fw.write16(p + 0x14, m.height);
    fw.write8(p + 0x16, 8); fw.write8(p + 0x17, 16);
    fw.write8(p + 0x18, planar ? 4 : 1);
    fw.write8(p + 0x19, m.bpp);
    fw.write8(p + 0x1a, 1);
    fw.write8(p + 0x1b, planar ? 3 : m.bpp === 8 ? 4 : 6); // planar, packed pixel, direct colour
    fw.write8(p + 0x1c, 0);
    fw.write8(p + 0x1d, pages - 1);
    fw.write8(p + 0x1e, 1);
    // [red size, pos, green size, pos, blue size, pos, reserved size, pos]
    const masks: Record<number, number[]> = {
      15: [5, 10, 5, 5, 5, 0, 1, 15], 16: [5, 11, 6, 5, 5, 0, 0, 0],
      24: [8, 16, 8, 8, 8, 0, 0, 0], 32: [8, 16, 8, 8, 8, 0, 8, 24],
    };
    const mask = masks[m.bpp];
    if (mask) {
      mask.forEach((v, i) => { fw.write8(p + 0x1f + i, v); fw.write8(p + 0x36 + i, v); });
      fw.write8(p + 0x27, m.bpp === 32 || m.bpp === 15 ? 0x02 : 0); // reserved bits usable
    }
    if (!planar) fw.write32(p + 0x28, this.lfbAddress());
    fw.write16(p + 0x32, pitch);
    fw.write8(p + 0x34, pages - 1);
    fw.write8(p + 0x35, pages - 1);
    fw.write32(p + 0x3e, 0);
    this.status(0);
  }

  /** 4F02h: BX = mode | 4000h (linear framebuffer) | 8000h (keep memory). */
  private setMode(): void {
    const fw = this.fw;
    const bx = fw.r16(BX);
    const number = bx & 0x1ff, lfb = (bx & 0x4000) !== 0, noClear = (bx & 0x8000) !== 0;
    if (number < 0x100) {
      if (!this.video.setMode((number & 0x7f) | (noClear ? 0x80 : 0))) return this.status(1);
      return this.status(0);
    }
    const m = this.find(number);
    if (!m || !this.fits(m) || (lfb && m.bpp === 4)) return this.status(1);
    if (lfb) this.lfbAddress(true);
    const v = this.video.vga;
    this.disable();
    // The legacy VGA side as in a graphics mode: 16-colour planar for 4 bpp, mode 13h otherwise.
    const planarRegs = VGA_MODES.get(0x12)!.regs;
    v.program(m.bpp === 4 ? planarRegs : MODE13_REGS);
    v.dacWrite(0, defaultDac(m.bpp === 4 ? 'ega' : 'vga256'));
    this.write(BPP, m.bpp);
    this.write(XRES, m.width);
    this.write(YRES, m.height);
    this.write(BANK, 0);
    this.write(ENABLE, ENABLED | (lfb ? LFB_ENABLED : 0) | (noClear ? NO_CLEAR : 0));
    fw.setBda8(0x87, (fw.bda8(0x87) & 0x7f) | (noClear ? 0x80 : 0));
    // Text output in the mode: 8x16 cells from the ROM font, page 0, cursor home.
    fw.setBda16(0x4a, m.width >> 3);
    fw.setBda8(0x84, Math.floor(m.height / 16) - 1);
    fw.setBda16(0x85, 16);
    fw.setBda8(0x62, 0);
    for (let p = 0; p < 8; p++) fw.setBda16(0x50 + p * 2, 0);
    fw.machine.memory.write16(0x43 * 4, VIDEO_ROM.font8x16); fw.machine.memory.write16(0x43 * 4 + 2, BIOS_SEGMENT);
    this.status(0);
  }

  /** 4F04h: save/restore state (DL=0 size, 1 save, 2 restore at ES:BX; CX bit 3 = the DISPI mode). */
  private saveRestore(): void {
    const fw = this.fw, st = this.video.state, cx = fw.r16(CX), at = fw.lin(ES, fw.r16(BX));
    switch (fw.r8(DL)) {
      case 0x00: fw.set16(BX, st.blocks(cx, true)); return this.status(0);
      case 0x01: st.save(cx, true, at); return this.status(0);
      case 0x02: st.restore(cx, true, at); return this.status(0);
      default: return this.status(1);
    }
  }

  /** 4F05h: BH=0 set window A position DX (64 KiB units), BH=1 get it. */
  private window(): void {
    const fw = this.fw;
    if (fw.r8(BL) !== 0) return this.status(1);
    if (fw.r8(BH) === 0) {
      this.write(BANK, fw.r16(DX));
      return this.status(this.read(BANK) === fw.r16(DX) ? 0 : 1);
    }
    if (fw.r8(BH) === 1) { fw.set16(DX, this.read(BANK)); return this.status(0); }
    this.status(1);
  }

  /** 4F06h: logical scan line length (BL=0 set pixels, 1 get, 2 set bytes, 3 get maximum). */
  private scanLine(): void {
    const fw = this.fw;
    const m = this.current();
    if (!m) return this.status(3);
    const bytesPerPixel = m.bpp === 4 ? 0.125 : (m.bpp + 7) >> 3;
    const bl = fw.r8(BL);
    if (bl === 0) this.write(VIRT_WIDTH, fw.r16(CX));
    else if (bl === 2) this.write(VIRT_WIDTH, Math.floor(fw.r16(CX) / bytesPerPixel));
    else if (bl !== 1 && bl !== 3) return this.status(1);
    let pixels = this.read(VIRT_WIDTH);
    if (bl === 3) pixels = Math.min(8192, Math.floor(this.vramBytes() / m.height / bytesPerPixel)) & ~7;
    const bytes = Math.ceil(pixels * bytesPerPixel);
    fw.set16(BX, bytes);
    fw.set16(CX, pixels);
    fw.set16(DX, bl === 3 ? m.height : this.read(VIRT_HEIGHT));
    this.status(0);
  }

  /** 4F07h: display start (BL=0/80h set CX,DX; 1 get; 2/82h set from the byte address in ECX). */
  private displayStart(): void {
    const fw = this.fw;
    const m = this.current();
    if (!m) return this.status(3);
    const bl = fw.r8(BL) & 0x7f;
    if (bl === 0) { this.write(X_OFFSET, fw.r16(CX)); this.write(Y_OFFSET, fw.r16(DX)); return this.status(0); }
    if (bl === 1) { fw.set8(BH, 0); fw.set16(CX, this.read(X_OFFSET)); fw.set16(DX, this.read(Y_OFFSET)); return this.status(0); }
    if (bl === 2) {
      const pitch = Math.ceil(this.read(VIRT_WIDTH) * (m.bpp === 4 ? 0.125 : (m.bpp + 7) >> 3));
      const addr = fw.r32(CX);
      this.write(X_OFFSET, Math.floor((addr % pitch) / (m.bpp === 4 ? 0.125 : (m.bpp + 7) >> 3)));
      this.write(Y_OFFSET, Math.floor(addr / pitch));
      return this.status(0);
    }
    this.status(1);
  }

  /** 4F08h: DAC width (BL=0 set BH bits, 1 get). */
  private dacWidth(): void {
    const fw = this.fw;
    const bl = fw.r8(BL);
    if (bl === 0) {
      const e = this.read(ENABLE);
      this.write(ENABLE, fw.r8(BH) >= 8 ? e | DAC_8BIT : e & ~DAC_8BIT);
    } else if (bl !== 1) return this.status(1);
    fw.set8(BH, this.read(ENABLE) & DAC_8BIT ? 8 : 6);
    this.status(0);
  }

  /** 4F15h: VBE/DDC. BL=0 capabilities (DDC2, no transfer delay), BL=1 read EDID block DX to ES:DI. */
  private ddc(): void {
    const fw = this.fw;
    if (fw.r16(CX) !== 0) return this.status(1); // only controller 0
    if (fw.r8(BL) === 0) { fw.set16(BX, 0x0002); return this.status(0); }
    if (fw.r8(BL) !== 1 || fw.r16(DX) !== 0) return this.status(1);
    fw.writeBytes(fw.lin(ES, fw.r16(DI)), buildEdid());
    this.status(0);
  }

  /** 4F09h: palette data (BL=0/80h set, 1 get) as blue, green, red, pad at ES:DI; CX entries from DX. */
  private paletteData(): void {
    const fw = this.fw, io = this.io;
    const bl = fw.r8(BL) & 0x7f;
    const first = fw.r16(DX), count = fw.r16(CX);
    if (first + count > 256 || (bl !== 0 && bl !== 1)) return this.status(1);
    const p = fw.lin(ES, fw.r16(DI));
    if (bl === 0) {
      io.out8(0x3c8, first);
      for (let i = 0; i < count; i++) {
        io.out8(0x3c9, fw.read8(p + i * 4 + 2)); io.out8(0x3c9, fw.read8(p + i * 4 + 1)); io.out8(0x3c9, fw.read8(p + i * 4));
      }
    } else {
      io.out8(0x3c7, first);
      for (let i = 0; i < count; i++) {
        const r = io.in8(0x3c9), g = io.in8(0x3c9), b = io.in8(0x3c9);
        fw.write8(p + i * 4, b); fw.write8(p + i * 4 + 1, g); fw.write8(p + i * 4 + 2, r); fw.write8(p + i * 4 + 3, 0);
      }
    }
    this.status(0);
  }
}
