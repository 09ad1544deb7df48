// INT 10h in the graphics modes: pixels (AH=0Ch/0Dh), characters drawn from the INT 43h font
// (AH=08h-0Ah/0Eh) and scrolling, for CGA (4-6), planar (0Dh-12h), 256-colour (13h) and VBE
// linear (8-32 bpp, through the LFB) memory layouts. Planar memory is written through the graphics controller the way a
// VGA BIOS does (set/reset, bit mask, latches), so the device's own write logic does the work.

import type { FirmwareContext } from './context.js';
import type { VgaIo, VgaMode } from './vga-modes.js';

export class GraphicsOps {
  constructor(private readonly fw: FirmwareContext, private readonly vga: VgaIo) {}

  private get mem() { return this.fw.machine.memory; }

  /** Bytes per pixel line in the mode's memory (per plane for planar modes). */
  private lineBytes(m: VgaMode): number {
    if (m.kind === 'vbe') return m.pitch ?? 0;
    return m.kind === 'linear8' ? m.width : m.kind === 'cga2' ? m.width >> 2 : m.width >> 3;
  }
  /** Physical address of the byte holding pixel line y at byte offset `byte` on `page`. */
  private lineAddr(m: VgaMode, page: number, y: number, byte: number): number {
    if (m.kind === 'vbe') return (m.lfb ?? 0) + y * (m.pitch ?? 0) + byte;
    const base = m.segment << 4;
    if (m.kind === 'cga1' || m.kind === 'cga2') return base + (y & 1) * 0x2000 + (y >> 1) * this.lineBytes(m) + byte;
    return base + (page % m.pages) * m.pageSize + y * this.lineBytes(m) + byte;
  }

  // ---------------------------------------------------------------- planar helpers

  /** Write mode 0 with set/reset = colour over the bits in `mask` (XOR with colour bit 7). */
  private planarWrite(addr: number, mask: number, colour: number): void {
    const v = this.vga;
    v.gc(3, colour & 0x80 ? 0x18 : 0x00);
    v.gc(0, colour & 0x0f);
    v.gc(8, mask);
    this.mem.read8(addr); // load the latches: unmasked bits keep their value
    this.mem.write8(addr, 0xff);
  }
  private planarBegin(): void {
    const v = this.vga;
    v.seq(2, 0x0f);
    v.gc(5, 0x00);
    v.gc(1, 0x0f);
  }
  private planarEnd(): void {
    const v = this.vga;
    v.gc(0, 0); v.gc(1, 0); v.gc(3, 0); v.gc(8, 0xff); v.gc(5, 0x00);
  }

  // ---------------------------------------------------------------- pixels

  writePixel(m: VgaMode, page: number, x: number, y: number, colour: number): void {
    if (x >= m.width || y >= m.height) return;
    const mem = this.mem;
    switch (m.kind) {
      case 'linear8': mem.write8(this.lineAddr(m, 0, y, x), colour); return;
      case 'cga2': {
        const a = this.lineAddr(m, 0, y, x >> 2), shift = (3 - (x & 3)) * 2;
        const old = mem.read8(a), bits = (colour & 3) << shift;
        mem.write8(a, colour & 0x80 ? old ^ bits : (old & ~(3 << shift)) | bits);
        return;
      }
      case 'cga1': {
        const a = this.lineAddr(m, 0, y, x >> 3), bit = 0x80 >> (x & 7);
        const old = mem.read8(a), bits = colour & 1 ? bit : 0;
        mem.write8(a, colour & 0x80 ? old ^ bits : (old & ~bit) | bits);
        return;
      }
      case 'planar':
        this.planarBegin();
        this.planarWrite(this.lineAddr(m, page, y, x >> 3), 0x80 >> (x & 7), colour);
        this.planarEnd();
        return;
      case 'vbe': this.vbePut(m, x, y, this.vbeColour(m, colour)); return;
      default:
    }
  }

  // ---------------------------------------------------------------- VBE linear modes

  private bytesPerPixel(m: VgaMode): number { return (m.bpp + 7) >> 3; }
  /** A colour index as a pixel value: the index itself at 8 bpp, else its DAC colour packed. */
  vbeColour(m: VgaMode, index: number): number {
    if (m.bpp <= 8) return index & 0xff;
    const io = this.fw.machine.io;
    io.out8(0x3c7, index & 0xff);
    const eightBit = this.vga.dac8();
    const c = () => { const v = io.in8(0x3c9); return eightBit ? v : (v << 2) | (v >> 4); };
    const r = c(), g = c(), b = c();
    if (m.bpp === 15) return ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);
    if (m.bpp === 16) return ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3);
    return (r << 16) | (g << 8) | b;
  }
  private vbePut(m: VgaMode, x: number, y: number, value: number): void {
    const a = this.lineAddr(m, 0, y, x * this.bytesPerPixel(m));
    for (let i = 0; i < this.bytesPerPixel(m); i++) this.mem.write8(a + i, (value >>> (8 * i)) & 0xff);
  }

  readPixel(m: VgaMode, page: number, x: number, y: number): number {
    if (x >= m.width || y >= m.height) return 0;
    const mem = this.mem;
    switch (m.kind) {
      case 'linear8': return mem.read8(this.lineAddr(m, 0, y, x));
      case 'cga2': return (mem.read8(this.lineAddr(m, 0, y, x >> 2)) >> ((3 - (x & 3)) * 2)) & 3;
      case 'cga1': return (mem.read8(this.lineAddr(m, 0, y, x >> 3)) >> (7 - (x & 7))) & 1;
      case 'vbe': return mem.read8(this.lineAddr(m, 0, y, x * this.bytesPerPixel(m)));
      case 'planar': {
        const a = this.lineAddr(m, page, y, x >> 3);
        let v = 0;
        for (let p = 0; p < 4; p++) {
          this.vga.gc(4, p);
          v |= ((mem.read8(a) >> (7 - (x & 7))) & 1) << p;
        }
        this.vga.gc(4, 0);
        return v;
      }
      default: return 0;
    }
  }

  // ---------------------------------------------------------------- characters

  /**
   * Draw character `ch` at text cell (col, row) from the font at linear address `font`
   * (`h` bytes per glyph). Foreground `attr` (bit 7: XOR, except in 256-colour mode), background 0.
   */
  drawChar(m: VgaMode, page: number, col: number, row: number, ch: number, attr: number, font: number, h: number): void {
    if (col >= m.cols || row * h + h > m.height) return;
    const mem = this.mem, fw = this.fw;
    if (m.kind === 'planar') this.planarBegin();
    const fg = m.kind === 'vbe' ? this.vbeColour(m, attr) : 0;
    for (let y = 0; y < h; y++) {
      const bits = fw.read8(font + ch * h + y);
      const py = row * h + y;
      switch (m.kind) {
        case 'planar': {
          const a = this.lineAddr(m, page, py, col);
          if (attr & 0x80) { this.planarWrite(a, bits, attr); break; }
          this.planarWrite(a, 0xff, 0);
          this.planarWrite(a, bits, attr);
          break;
        }
        case 'linear8': {
          const a = this.lineAddr(m, 0, py, col * 8);
          for (let x = 0; x < 8; x++) mem.write8(a + x, (bits << x) & 0x80 ? attr : 0);
          break;
        }
        case 'cga2': {
          // each dot → 2 bits of colour; one glyph row is two bytes
          let word = 0;
          for (let x = 0; x < 8; x++) if ((bits << x) & 0x80) word |= (attr & 3) << ((7 - x) * 2);
          const a = this.lineAddr(m, 0, py, col * 2);
          if (attr & 0x80) word ^= (mem.read8(a) << 8) | mem.read8(a + 1);
          mem.write8(a, word >> 8); mem.write8(a + 1, word & 0xff);
          break;
        }
        case 'cga1': {
          const a = this.lineAddr(m, 0, py, col);
          const v = attr & 1 ? bits : 0;
          mem.write8(a, attr & 0x80 ? mem.read8(a) ^ v : v);
          break;
        }
        case 'vbe':
          for (let x = 0; x < 8; x++) this.vbePut(m, col * 8 + x, py, (bits << x) & 0x80 ? fg : 0);
          break;
        default:
      }
    }
    if (m.kind === 'planar') this.planarEnd();
  }

  // ---------------------------------------------------------------- scrolling

  /** Scroll a character window by `lines` rows (0 = clear); blank rows get colour `fill`. */
  scroll(m: VgaMode, page: number, up: boolean, lines: number, fill: number, top: number, left: number,
    bottom: number, right: number, h: number): void {
    const rows = Math.floor(m.height / h);
    bottom = Math.min(bottom, rows - 1); right = Math.min(right, m.cols - 1);
    if (top > bottom || left > right) return;
    const height = bottom - top + 1;
    if (lines === 0 || lines > height) lines = height;
    const perChar = m.kind === 'vbe' ? 8 * this.bytesPerPixel(m) : m.kind === 'linear8' ? 8 : m.kind === 'cga2' ? 2 : 1;
    const first = left * perChar, count = (right - left + 1) * perChar;
    if (m.kind === 'vbe') return this.scrollLinear(m, up, lines, fill, top, bottom, first, count, h);
    const planar = m.kind === 'planar';
    const mem = this.mem, v = this.vga;
    if (planar) { v.seq(2, 0x0f); v.gc(8, 0xff); }
    for (let i = 0; i < height; i++) {
      const row = up ? top + i : bottom - i;
      const src = up ? row + lines : row - lines;
      const copy = up ? src <= bottom : src >= top;
      for (let y = 0; y < h; y++) {
        const dst = this.lineAddr(m, page, row * h + y, first);
        if (copy) {
          const from = this.lineAddr(m, page, src * h + y, first);
          if (planar) v.gc(5, 0x01); // write mode 1: latches → memory, all planes at once
          for (let b = 0; b < count; b++) {
            const val = mem.read8(from + b);
            mem.write8(dst + b, val);
          }
        } else {
          let byte = 0;
          if (planar) { v.gc(5, 0x00); v.gc(1, 0x0f); v.gc(0, fill & 0x0f); }
          else if (m.kind === 'cga2') byte = (fill & 3) * 0x55;
          else if (m.kind === 'cga1') byte = fill & 1 ? 0xff : 0;
          else byte = fill;
          for (let b = 0; b < count; b++) mem.write8(dst + b, byte);
        }
      }
    }
    if (planar) this.planarEnd();
  }

  /** VBE scrolling: whole byte runs through the LFB (backing memory, so bulk copies). */
  private scrollLinear(m: VgaMode, up: boolean, lines: number, fill: number, top: number, bottom: number,
    first: number, count: number, h: number): void {
    const mem = this.mem;
    const height = bottom - top + 1;
    const line = new Uint8Array(count);
    const blank = new Uint8Array(count);
    const bpp = this.bytesPerPixel(m), value = this.vbeColour(m, fill);
    for (let i = 0; i < count; i++) blank[i] = (value >>> (8 * (i % bpp))) & 0xff;
    for (let i = 0; i < height; i++) {
      const row = up ? top + i : bottom - i;
      const src = up ? row + lines : row - lines;
      const copy = up ? src <= bottom : src >= top;
      for (let y = 0; y < h; y++) {
        if (copy) mem.readBytes(this.lineAddr(m, 0, src * h + y, first), line);
        mem.writeBytes(this.lineAddr(m, 0, row * h + y, first), copy ? line : blank);
      }
    }
  }

  /** AH=08h in graphics modes: the character whose glyph matches the cell's lit pixels, or 0. */
  readChar(m: VgaMode, page: number, col: number, row: number, font: number, h: number): number {
    if (col >= m.cols || row * h + h > m.height) return 0;
    const rows = new Uint8Array(h);
    for (let y = 0; y < h; y++) {
      let bits = 0;
      for (let x = 0; x < 8; x++) if (this.readPixel(m, page, col * 8 + x, row * h + y) !== 0) bits |= 0x80 >> x;
      rows[y] = bits;
    }
    for (let ch = 0; ch < 256; ch++) {
      let y = 0;
      while (y < h && this.fw.read8(font + ch * h + y) === rows[y]) y++;
      if (y === h) return ch;
    }
    return 0;
  }
}
