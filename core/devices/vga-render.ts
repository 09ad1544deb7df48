// Rendering of the VGA/VBE display into an RGBA framebuffer, with dirty tracking.
//
// Output sizes are the mode's logical resolution: mode 13h is 320x200, mode 12h 640x480,
// text modes are cols*charWidth x rows*charHeight (40-column modes doubled horizontally),
// VBE modes XRES x YRES. Graphics rows are re-rendered only when a VRAM page they read was
// written (or a register changed); text cells are diffed against a shadow of
// (char, attribute, cursor, blink) so cursor moves and blinking cost one cell each.

import type { DirtyRect, ScreenInfo } from '../board/machine.js';
import { CP437 } from './vga-cp437.js';
import type { VgaDevice } from './vga.js';

// DISPI register numbers and flags (as in vga.ts; repeated to keep the import type-only).
const DISPI_XRES = 1;
const DISPI_YRES = 2;
const DISPI_BPP = 3;
const DISPI_ENABLE = 4;
const DISPI_8BIT_DAC = 0x20;

type Kind = 'blank' | 'text' | 'planar' | 'cga' | 'vga256' | 'vbe';

const BLACK = 0xff000000 | 0;
const MAX_WIDTH = 4096;
const MAX_HEIGHT = 2048;
const PAGE_SHIFT = 12;

/** Everything the current mode needs to render; recomputed each frame (cheap). */
class Geometry {
  kind: Kind = 'blank';
  width = 0;
  height = 0;
  mode = 'blank';
  // text
  cols = 0;
  rows = 0;
  charWidth = 9;
  charHeight = 16;
  dotDouble = 1;
  // graphics (plane-quad addressing)
  startQuad = 0;
  rowQuads = 0;
  chars = 0;
  scanlines = 0;
  repeat = 1;
  maxScan = 0;
  doubleScan = false;
  cmsBit = -1;
  srsBit = -1;
  lineCompare = 0x3ff;
  wrapQuads = 0x10000;
  pan = 0;
  // VBE linear
  bpp = 0;
  lineBytes = 0;
  startByte = 0;

  signature(): string {
    return `${this.kind} ${this.width}x${this.height} ${this.charWidth} ${this.charHeight} ${this.bpp}`;
  }
}

export class VgaRenderer {
  width = 0;
  height = 0;
  rgba: Uint8ClampedArray<ArrayBufferLike> = new Uint8ClampedArray(0);
  private pix: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
  private readonly g = new Geometry();
  private signature = '';
  private forceFull = true;
  private frame = 0;
  private readonly palette256 = new Uint32Array(256);
  private readonly palette16 = new Uint32Array(16);
  private textShadow = new Int32Array(0);
  private readonly rects: DirtyRect[] = [];

  constructor(
    private readonly dev: VgaDevice,
    private readonly now?: () => number,
    private readonly allocate?: (bytes: number) => Uint8ClampedArray,
  ) {}

  invalidate(): void {
    this.forceFull = true;
  }

  screen(): ScreenInfo {
    const g = this.g;
    this.computeGeometry(g);
    return { width: this.width, height: this.height, rgba: this.rgba, text: g.kind === 'text' ? this.extractText(g) : '', mode: g.mode };
  }

  update(): DirtyRect[] {
    this.frame = this.now ? Math.floor((this.now() * 60) / 1000) : this.frame + 1;
    const g = this.g;
    const dev = this.dev;
    this.computeGeometry(g);
    const signature = g.signature();
    let full = this.forceFull || dev.displayChanged || signature !== this.signature;
    if (g.width !== this.width || g.height !== this.height) {
      this.resize(g.width, g.height);
      full = true;
    }
    this.signature = signature;
    this.forceFull = false;
    if (full) this.buildPalettes();
    this.rects.length = 0;
    switch (g.kind) {
      case 'blank':
        if (full) {
          this.pix.fill(BLACK);
          this.rects.push({ x: 0, y: 0, w: this.width, h: this.height });
        }
        break;
      case 'text':
        this.renderText(g, full || dev.fontDirty);
        break;
      case 'vbe':
        if (g.bpp === 4) this.renderGraphics(g, full);
        else this.renderVbe(g, full);
        break;
      default:
        this.renderGraphics(g, full);
    }
    return this.rects.slice();
  }

  private resize(width: number, height: number): void {
    this.width = width;
    this.height = height;
    const bytes = width * height * 4;
    const rgba = this.allocate?.(bytes) ?? new Uint8ClampedArray(bytes);
    if (rgba.length !== bytes || rgba.byteOffset % 4 !== 0) throw new Error('vga: framebuffer allocator returned a wrong-sized or unaligned buffer');
    this.rgba = rgba;
    this.pix = new Uint32Array(rgba.buffer, rgba.byteOffset, width * height);
    this.textShadow = new Int32Array(0);
  }

  // ------------------------------------------------------------------ mode decoding

  private computeGeometry(g: Geometry): void {
    const d = this.dev;
    const cr = d.cr;
    g.bpp = 0;
    g.charWidth = 9;
    g.charHeight = 16;
    g.pan = 0;
    if ((d.arIndex & 0x20) === 0 || d.sr[1] & 0x20) return this.blank(g);
    if (d.vbeEnabled) {
      const r = d.vbeRegs;
      g.kind = 'vbe';
      g.bpp = r[DISPI_BPP];
      g.width = Math.min(r[DISPI_XRES], MAX_WIDTH);
      g.height = Math.min(r[DISPI_YRES], MAX_HEIGHT);
      g.lineBytes = d.vbeLineOffset;
      g.startByte = d.vbeStartByte;
      g.mode = `vbe ${g.width}x${g.height}x${g.bpp}`;
      if (g.bpp === 4) {
        // planar VBE: the VGA planar path over the whole VRAM
        g.chars = g.width >>> 3;
        g.rowQuads = d.vbeLineOffset >>> 2;
        g.startQuad = d.vbeStartByte >>> 2;
        g.scanlines = g.height;
        g.repeat = 1;
        g.maxScan = 0;
        g.doubleScan = false;
        g.cmsBit = g.srsBit = -1;
        g.lineCompare = 0xffff;
        g.wrapQuads = d.vram32.length;
      }
      if (g.width === 0 || g.height === 0) return this.blank(g);
      return;
    }
    const vde = (cr[0x12] | ((cr[7] & 0x02) << 7) | ((cr[7] & 0x40) << 3)) + 1;
    const hChars = cr[1] + 1;
    g.startQuad = (cr[0x0c] << 8) | cr[0x0d];
    g.rowQuads = cr[0x13] << 1;
    g.wrapQuads = 0x10000;
    g.lineCompare = cr[0x18] | ((cr[7] & 0x10) << 4) | ((cr[9] & 0x40) << 3);
    g.maxScan = cr[9] & 0x1f;
    g.doubleScan = (cr[9] & 0x80) !== 0;
    g.scanlines = vde;
    if ((d.gr[6] & 1) === 0) {
      // alphanumeric
      g.kind = 'text';
      g.charWidth = d.sr[1] & 1 ? 8 : 9;
      g.dotDouble = d.sr[1] & 8 ? 2 : 1;
      g.charHeight = g.maxScan + 1;
      g.cols = Math.min(hChars, Math.floor(MAX_WIDTH / (g.charWidth * g.dotDouble)));
      g.rows = Math.min(Math.floor(vde / (g.charHeight * (g.doubleScan ? 2 : 1))), Math.floor(MAX_HEIGHT / g.charHeight));
      g.width = g.cols * g.charWidth * g.dotDouble;
      g.height = g.rows * g.charHeight;
      g.mode = `text ${g.cols}x${g.rows}`;
      if (g.rows === 0) return this.blank(g);
      return;
    }
    const shift = (d.gr[5] >> 5) & 3;
    g.kind = shift === 0 ? 'planar' : shift === 1 ? 'cga' : 'vga256';
    const byteMode = (cr[0x17] >> 6) & 1;
    g.cmsBit = cr[0x17] & 1 ? -1 : 12 + byteMode;
    g.srsBit = cr[0x17] & 2 ? -1 : 13 + byteMode;
    // Scanlines that repeat the same memory row collapse into one output row.
    g.repeat = (g.doubleScan ? 2 : 1) * (g.cmsBit < 0 && g.srsBit < 0 ? g.maxScan + 1 : 1);
    g.chars = hChars;
    g.width = Math.min(g.kind === 'vga256' ? hChars * 4 : hChars * 8, MAX_WIDTH);
    g.height = Math.min(Math.floor(vde / g.repeat), MAX_HEIGHT);
    g.startQuad += (cr[8] >> 5) & 3;
    // pixel panning: whole pixels; 256-colour pixels are two dots wide
    g.pan = g.kind === 'vga256' ? (d.ar[0x13] >> 1) & 3 : d.ar[0x13] & 7;
    const planes = d.ar[0x12] & 0xf;
    const depth = g.kind === 'vga256' ? 8 : g.kind === 'cga' ? 2 : ((planes & 1) + ((planes >> 1) & 1) + ((planes >> 2) & 1) + (planes >> 3));
    g.mode = `${g.kind === 'cga' ? 'cga' : 'vga'} ${g.width}x${g.height}x${depth}`;
    if (g.height === 0) this.blank(g);
  }

  private blank(g: Geometry): void {
    g.kind = 'blank';
    g.mode = 'blank';
    g.width = this.width || 640;
    g.height = this.height || 480;
  }

  // ------------------------------------------------------------------ palettes

  private buildPalettes(): void {
    const d = this.dev;
    const dac = d.dac;
    const eightBit = (d.vbeRegs[DISPI_ENABLE] & DISPI_8BIT_DAC) !== 0;
    for (let i = 0; i < 256; i++) {
      const j = (i & d.dacPelMask) * 3;
      let r = dac[j], gr = dac[j + 1], b = dac[j + 2];
      if (!eightBit) {
        r = ((r & 0x3f) << 2) | ((r & 0x3f) >> 4);
        gr = ((gr & 0x3f) << 2) | ((gr & 0x3f) >> 4);
        b = ((b & 0x3f) << 2) | ((b & 0x3f) >> 4);
      }
      this.palette256[i] = (0xff000000 | (b << 16) | (gr << 8) | r) >>> 0;
    }
    const ar = d.ar;
    for (let i = 0; i < 16; i++) {
      const v = ar[0x10] & 0x80 ? ((ar[0x14] & 0xf) << 4) | (ar[i] & 0xf) : ((ar[0x14] & 0xc) << 4) | (ar[i] & 0x3f);
      this.palette16[i] = this.palette256[v];
    }
  }

  // ------------------------------------------------------------------ text

  private renderText(g: Geometry, full: boolean): void {
    const d = this.dev;
    const vram = d.vram;
    const cr = d.cr;
    const cells = g.cols * g.rows;
    // Horizontal pixel panning (9-dot: 8 means none, 0-7 shift 1-8 dots); redraw all when set.
    const panReg = d.ar[0x13] & 0x0f;
    const shift = (g.charWidth === 9 ? (panReg >= 8 ? 0 : panReg + 1) : panReg & 7) * g.dotDouble;
    if (shift) full = true;
    if (this.textShadow.length !== cells) {
      this.textShadow = new Int32Array(cells);
      full = true;
    }
    const shadow = this.textShadow;
    const sr3 = d.sr[3];
    const fontB = ((((sr3 >> 4) & 1) | ((sr3 << 1) & 6)) * 8192) << 2;
    const fontA = ((((sr3 >> 5) & 1) | ((sr3 >> 1) & 6)) * 8192) << 2;
    const blinkEnabled = (d.ar[0x10] & 0x08) !== 0;
    const lineGraphics = g.charWidth === 9 && (d.ar[0x10] & 0x04) !== 0;
    const mono = (d.misc & 1) === 0;
    const underline = cr[0x14] & 0x1f;
    const cursorQuad = ((cr[0x0e] << 8) | cr[0x0f]) & 0xffff;
    const cursorOn = (cr[0x0a] & 0x20) === 0 && ((this.frame >> 3) & 1) === 0;
    let cursorStart = cr[0x0a] & 0x1f;
    let cursorEnd = cr[0x0b] & 0x1f;
    if (cursorEnd > g.charHeight - 1) cursorEnd = g.charHeight - 1;
    if (cursorStart > cursorEnd) cursorStart = 32; // VGA: no cursor when start > end
    const blinkVisible = ((this.frame >> 4) & 1) === 0;
    const cellW = g.charWidth * g.dotDouble;
    const pix = this.pix;
    const stride = this.width;
    const pal = this.palette16;

    for (let row = 0; row < g.rows; row++) {
      let minCol = -1;
      let maxCol = -1;
      const rowQuad = g.startQuad + row * g.rowQuads;
      for (let col = 0; col < g.cols; col++) {
        const quad = (rowQuad + col) & 0xffff;
        const ch = vram[quad << 2];
        const attr = vram[(quad << 2) | 1];
        const cursorHere = cursorOn && quad === cursorQuad ? 1 : 0;
        const hidden = blinkEnabled && attr & 0x80 && !blinkVisible ? 1 : 0;
        const key = ch | (attr << 8) | (cursorHere << 16) | (hidden << 17) | (1 << 18);
        const cell = row * g.cols + col;
        if (!full && shadow[cell] === key) continue;
        shadow[cell] = key;
        if (minCol < 0) minCol = col;
        maxCol = col;

        const bg = pal[blinkEnabled ? (attr >> 4) & 7 : attr >> 4];
        const fg = hidden ? bg : pal[attr & 0xf];
        const glyph = (attr & 0x08 ? fontA : fontB) + ((ch * 32) << 2) + 2;
        const dup9 = lineGraphics && ch >= 0xc0 && ch <= 0xdf;
        const underlined = mono && (attr & 0x77) === 0x01;
        let out = row * g.charHeight * stride + col * cellW;
        for (let line = 0; line < g.charHeight; line++, out += stride) {
          let bits = vram[glyph + (line << 2)] << 1;
          if (dup9) bits |= bits >> 1 & 1;
          if ((cursorHere && line >= cursorStart && line <= cursorEnd) || (underlined && line === underline && !hidden)) bits = 0x1ff;
          // bits: 9 columns, MSB first (bit 8 = column 0; bit 0 = the 9th column)
          let x = out;
          if (g.dotDouble === 1) {
            for (let c = 0; c < g.charWidth; c++) pix[x++] = (bits >> (8 - c)) & 1 ? fg : bg;
          } else {
            for (let c = 0; c < g.charWidth; c++) {
              const colour = (bits >> (8 - c)) & 1 ? fg : bg;
              pix[x++] = colour;
              pix[x++] = colour;
            }
          }
        }
      }
      if (minCol >= 0) {
        this.rects.push({ x: minCol * cellW, y: row * g.charHeight, w: (maxCol - minCol + 1) * cellW, h: g.charHeight });
      }
    }
    if (shift) {
      for (let y = 0, o = 0; y < this.height; y++, o += stride) {
        pix.copyWithin(o, o + shift, o + stride);
        pix.fill(BLACK, o + stride - shift, o + stride);
      }
    }
  }

  private extractText(g: Geometry): string {
    const vram = this.dev.vram;
    const lines: string[] = [];
    for (let row = 0; row < g.rows; row++) {
      let line = '';
      const rowQuad = g.startQuad + row * g.rowQuads;
      for (let col = 0; col < g.cols; col++) line += CP437[vram[((rowQuad + col) & 0xffff) << 2]];
      lines.push(line.trimEnd());
    }
    return lines.join('\n');
  }

  // ------------------------------------------------------------------ planar, CGA, 256-colour

  /** True when any VRAM page under plane quads [quad, quad+count) (wrapping) was written. */
  private quadsDirty(quad: number, count: number, wrapQuads: number): boolean {
    const dirty = this.dev.dirtyPages;
    const start = quad % wrapQuads;
    const end = start + count;
    const firstEnd = Math.min(end, wrapQuads);
    for (let p = (start << 2) >>> PAGE_SHIFT, last = ((firstEnd << 2) - 1) >>> PAGE_SHIFT; p <= last; p++) if (dirty[p]) return true;
    if (end > wrapQuads) {
      for (let p = 0, last = (((end - wrapQuads) << 2) - 1) >>> PAGE_SHIFT; p <= last; p++) if (dirty[p]) return true;
    }
    return false;
  }

  private renderGraphics(g: Geometry, full: boolean): void {
    const quadsPerRow = g.chars + (g.pan ? 1 : 0);
    const panAfterSplit = this.dev.ar[0x10] & 0x20 ? 0 : g.pan; // pixel panning mode
    let pan = g.pan;
    let rowAddr = g.startQuad;
    let rowScan = 0;
    let doublePhase = 0;
    let outRow = 0;
    let runStart = -1;
    for (let line = 0; line < g.scanlines && outRow < g.height; line++) {
      if (line % g.repeat === 0) {
        let addr = rowAddr;
        if (g.cmsBit >= 0) addr = (addr & ~(1 << g.cmsBit)) | ((rowScan & 1) << g.cmsBit);
        if (g.srsBit >= 0) addr = (addr & ~(1 << g.srsBit)) | (((rowScan >> 1) & 1) << g.srsBit);
        if (full || this.quadsDirty(addr, quadsPerRow, g.wrapQuads)) {
          if (g.kind === 'vga256') this.row256(g, outRow, addr, pan);
          else if (g.kind === 'cga') this.rowCga(g, outRow, addr, pan);
          else this.rowPlanar(g, outRow, addr, pan);
          if (runStart < 0) runStart = outRow;
        } else if (runStart >= 0) {
          this.rects.push({ x: 0, y: runStart, w: this.width, h: outRow - runStart });
          runStart = -1;
        }
        outRow++;
      }
      if (line === g.lineCompare) {
        pan = panAfterSplit;
        rowAddr = 0;
        rowScan = 0;
        doublePhase = 0;
        continue;
      }
      if (g.doubleScan && (doublePhase ^= 1)) continue;
      if (rowScan >= g.maxScan) {
        rowScan = 0;
        rowAddr += g.rowQuads;
      } else {
        rowScan++;
      }
    }
    if (runStart >= 0) this.rects.push({ x: 0, y: runStart, w: this.width, h: outRow - runStart });
  }

  private rowPlanar(g: Geometry, outRow: number, addr: number, pan: number): void {
    const vram32 = this.dev.vram32;
    const pix = this.pix;
    const pal = this.palette16;
    const planeMask = this.dev.ar[0x12] & 0xf;
    const width = this.width;
    const base = outRow * width;
    const wrap = g.wrapQuads;
    let x = -pan;
    for (let q = 0; x < width; q++) {
      const v = vram32[(addr + q) % wrap];
      for (let bit = 7; bit >= 0; bit--, x++) {
        if (x < 0 || x >= width) continue;
        const index = ((v >>> bit) & 1) | ((v >>> (bit + 7)) & 2) | ((v >>> (bit + 14)) & 4) | ((v >>> (bit + 21)) & 8);
        pix[base + x] = pal[index & planeMask];
      }
    }
  }

  private rowCga(g: Geometry, outRow: number, addr: number, pan: number): void {
    const vram32 = this.dev.vram32;
    const pix = this.pix;
    const pal = this.palette16;
    const planeMask = this.dev.ar[0x12] & 0xf;
    const width = this.width;
    const base = outRow * width;
    const wrap = g.wrapQuads;
    let x = -pan;
    for (let q = 0; x < width; q++) {
      const v = vram32[(addr + q) % wrap];
      // even bytes (plane 0, high bits from plane 2) then odd bytes (plane 1 / plane 3)
      for (let half = 0; half < 2; half++) {
        const lo = (v >>> (8 * half)) & 0xff;
        const hi = (v >>> (8 * half + 16)) & 0xff;
        for (let shift = 6; shift >= 0; shift -= 2, x++) {
          if (x < 0 || x >= width) continue;
          const index = ((lo >> shift) & 3) | (((hi >> shift) & 3) << 2);
          pix[base + x] = pal[index & planeMask];
        }
      }
    }
  }

  private row256(g: Geometry, outRow: number, addr: number, pan: number): void {
    const vram32 = this.dev.vram32;
    const pix = this.pix;
    const pal = this.palette256;
    const width = this.width;
    const wrap = g.wrapQuads;
    const base = outRow * width;
    if (pan === 0) {
      let o = base;
      for (let q = 0, x = 0; x < width; q++, x += 4) {
        const v = vram32[(addr + q) % wrap];
        pix[o++] = pal[v & 0xff];
        pix[o++] = pal[(v >>> 8) & 0xff];
        pix[o++] = pal[(v >>> 16) & 0xff];
        pix[o++] = pal[v >>> 24];
      }
      return;
    }
    for (let x = 0; x < width; x++) {
      const i = x + pan;
      pix[base + x] = pal[(vram32[(addr + (i >> 2)) % wrap] >>> ((i & 3) << 3)) & 0xff];
    }
  }

  // ------------------------------------------------------------------ VBE linear modes

  private renderVbe(g: Geometry, full: boolean): void {
    const d = this.dev;
    const vram = d.vram;
    const dirty = d.dirtyPages;
    const pix = this.pix;
    const width = this.width;
    const bytesPerPixel = (g.bpp + 7) >>> 3;
    const rowBytes = width * bytesPerPixel;
    const pal = this.palette256;
    let runStart = -1;
    for (let y = 0; y < this.height; y++) {
      const start = g.startByte + y * g.lineBytes;
      let changed = full;
      if (start + rowBytes > vram.length) {
        changed = false;
      } else if (!changed) {
        for (let p = start >>> PAGE_SHIFT, last = (start + rowBytes - 1) >>> PAGE_SHIFT; p <= last; p++) {
          if (dirty[p]) {
            changed = true;
            break;
          }
        }
      }
      if (!changed) {
        if (runStart >= 0) {
          this.rects.push({ x: 0, y: runStart, w: width, h: y - runStart });
          runStart = -1;
        }
        continue;
      }
      if (runStart < 0) runStart = y;
      let o = y * width;
      if (start + rowBytes > vram.length) {
        pix.fill(BLACK, o, o + width);
        continue;
      }
      let i = start;
      switch (g.bpp) {
        case 8:
          for (let x = 0; x < width; x++) pix[o++] = pal[vram[i++]];
          break;
        case 15:
          for (let x = 0; x < width; x++, i += 2) {
            const v = vram[i] | (vram[i + 1] << 8);
            const r = (v >> 10) & 31, gg = (v >> 5) & 31, b = v & 31;
            pix[o++] = (0xff000000 | (((b << 3) | (b >> 2)) << 16) | (((gg << 3) | (gg >> 2)) << 8) | ((r << 3) | (r >> 2))) >>> 0;
          }
          break;
        case 16:
          for (let x = 0; x < width; x++, i += 2) {
            const v = vram[i] | (vram[i + 1] << 8);
            const r = (v >> 11) & 31, gg = (v >> 5) & 63, b = v & 31;
            pix[o++] = (0xff000000 | (((b << 3) | (b >> 2)) << 16) | (((gg << 2) | (gg >> 4)) << 8) | ((r << 3) | (r >> 2))) >>> 0;
          }
          break;
        case 24:
          for (let x = 0; x < width; x++, i += 3) pix[o++] = (0xff000000 | (vram[i] << 16) | (vram[i + 1] << 8) | vram[i + 2]) >>> 0;
          break;
        default: {
          // 32 bpp: B, G, R, X in memory
          const v32 = d.vram32;
          for (let x = 0, q = i >>> 2; x < width; x++, q++) {
            const v = v32[q];
            pix[o++] = (0xff000000 | ((v & 0xff) << 16) | (v & 0xff00) | ((v >>> 16) & 0xff)) >>> 0;
          }
        }
      }
    }
    if (runStart >= 0) this.rects.push({ x: 0, y: runStart, w: width, h: this.height - runStart });
  }
}
