// INT 10h: the video BIOS. Mode set for the standard VGA modes (vga-modes.ts) through our VGA's
// registers; text output, cursor, scrolling and pages; graphics-mode pixels and characters
// (video-graphics.ts); palette, font, configuration calls (video-config.ts); VBE (vbe.ts).
// All state lives in the BIOS data area and the VGA's registers (nothing in TS fields), so it
// survives snapshots.

import { AH, AL, AX, BH, BL, BP, BX, CH, CL, CX, DH, DL, DX, ES, FirmwareContext } from './context.js';
import { buildFont } from './font.js';
import { BIOS_SEGMENT } from './rom.js';
import { VIDEO_ROM } from './video-rom.js';
import { VbeBios } from './vbe.js';
import { VideoConfig } from './video-config.js';
import { GraphicsOps } from './video-graphics.js';
import { VideoState } from './video-state.js';
import { VGA_MODES, VgaIo, defaultDac, textLines, textModeRegs, type VgaMode } from './vga-modes.js';

/** CGA mode-select register values (BDA 65h) per mode 0-7. */
const CGA_MODE_SELECT = [0x2c, 0x28, 0x2d, 0x29, 0x2a, 0x2e, 0x1e, 0x29];

export class VideoBios {
  readonly vga: VgaIo;
  readonly graphics: GraphicsOps;
  readonly config: VideoConfig;
  readonly vbe: VbeBios;
  readonly state: VideoState;

  constructor(private readonly fw: FirmwareContext) {
    this.vga = new VgaIo(fw.machine.io);
    this.graphics = new GraphicsOps(fw, this.vga);
    this.config = new VideoConfig(fw, this);
    this.vbe = new VbeBios(fw, this);
    this.state = new VideoState(fw, this.vga);
  }

  private get mem() { return this.fw.machine.memory; }

  /** POST part of the video BIOS: font vectors, then mode 3. */
  post(): void {
    const mem = this.mem;
    mem.write16(0x1f * 4, VIDEO_ROM.font8x8 + 0x400); mem.write16(0x1f * 4 + 2, BIOS_SEGMENT);
    mem.write16(0x43 * 4, VIDEO_ROM.font8x8); mem.write16(0x43 * 4 + 2, BIOS_SEGMENT);
    this.fw.setBda8(0x89, 0x11); // VGA active, 400-line text
    this.setMode(3);
  }

  /** The current mode (a standard one, or a VBE mode of 8-32 bpp), or undefined. */
  mode(): VgaMode | undefined {
    if (this.vbe.active()) return this.vbe.textMode();
    return VGA_MODES.get(this.fw.bda8(0x49));
  }

  /** Load `count` glyphs of `h` bytes from `src` (a linear address) into character block `block` (plane 2). */
  loadFont(read: (i: number) => number, h: number, count: number, first: number, block: number): void {
    const v = this.vga, mem = this.mem;
    const saved = [v.seqRead(2), v.seqRead(4), v.gcRead(4), v.gcRead(5), v.gcRead(6)];
    v.seq(2, 0x04); v.seq(4, 0x07); v.gc(4, 0x02); v.gc(5, 0x00); v.gc(6, 0x04);
    const base = 0xa0000 + ((block & 3) << 14) + ((block & 4) << 11);
    for (let c = 0; c < count && first + c < 256; c++) {
      for (let y = 0; y < 32; y++) mem.write8(base + (first + c) * 32 + y, y < h ? read(c * h + y) : 0);
    }
    v.seq(2, saved[0]); v.seq(4, saved[1]); v.gc(4, saved[2]); v.gc(5, saved[3]); v.gc(6, saved[4]);
  }

  loadRomFont(h: number, block: number): void {
    const font = buildFont(h);
    this.loadFont((i) => font[i], h, 256, 0, block);
  }

  setMode(al: number): boolean {
    const noClear = (al & 0x80) !== 0;
    const spec = VGA_MODES.get(al & 0x7f);
    if (!spec) return false;
    const fw = this.fw, mem = this.mem, v = this.vga;
    this.vbe.disable();
    const { regs, charHeight } = textModeRegs(spec, textLines(fw.bda8(0x89)));
    v.program(regs);
    if (!(fw.bda8(0x89) & 0x08)) {
      v.dacWrite(0, defaultDac(spec.dac));
      if (fw.bda8(0x89) & 0x02) this.config.greySum(0, 256); // AH=12h BL=33h
    }
    if (spec.kind === 'text') this.loadRomFont(charHeight, 0);
    if (!noClear) {
      if (spec.kind === 'text') {
        for (let i = 0; i < 0x4000; i++) mem.write16((spec.segment << 4) + i * 2, 0x0720);
      } else if (spec.kind === 'planar') {
        v.seq(2, 0x0f);
        for (let i = 0; i < 0x10000; i++) mem.write8(0xa0000 + i, 0);
      } else {
        const size = spec.kind === 'linear8' ? 0x10000 : 0x8000;
        for (let i = 0; i < size; i++) mem.write8((spec.segment << 4) + i, 0);
      }
    }
    fw.setBda8(0x49, spec.mode);
    fw.setBda16(0x4a, spec.cols);
    fw.setBda16(0x4c, spec.pageSize);
    fw.setBda16(0x4e, 0);
    for (let p = 0; p < 8; p++) fw.setBda16(0x50 + p * 2, 0);
    fw.setBda8(0x62, 0);
    fw.setBda16(0x63, spec.regs.misc & 1 ? 0x3d4 : 0x3b4);
    fw.setBda8(0x65, spec.mode < 8 ? CGA_MODE_SELECT[spec.mode] : 0);
    fw.setBda8(0x66, spec.mode === 6 ? 0x3f : 0x30);
    fw.setBda8(0x84, spec.rows - 1);
    fw.setBda16(0x85, charHeight);
    fw.setBda8(0x87, 0x60 | (noClear ? 0x80 : 0));
    fw.setBda8(0x88, 0x09);
    fw.setBda8(0x89, fw.bda8(0x89) | 0x01);
    fw.setBda8(0x8a, 0x0b);
    if (spec.kind !== 'text') {
      const font = spec.charHeight === 16 ? VIDEO_ROM.font8x16 : spec.charHeight === 14 ? VIDEO_ROM.font8x14 : VIDEO_ROM.font8x8;
      mem.write16(0x43 * 4, font); mem.write16(0x43 * 4 + 2, BIOS_SEGMENT);
    }
    this.setCursorShape(spec.kind === 'text' ? 0x0607 : 0x2000);
    this.updateCursor();
    return true;
  }

  // ---------------------------------------------------------------- cursor and pages

  private cursor(page: number): [number, number] {
    const v = this.fw.bda16(0x50 + (page & 7) * 2);
    return [v & 0xff, v >> 8];
  }
  private setCursor(page: number, col: number, row: number): void {
    this.fw.setBda16(0x50 + (page & 7) * 2, (row << 8) | col);
    if ((page & 7) === this.fw.bda8(0x62)) this.updateCursor();
  }
  private updateCursor(): void {
    const fw = this.fw;
    const m = this.mode();
    if (!m || m.kind !== 'text') return;
    const page = fw.bda8(0x62);
    const [col, row] = this.cursor(page);
    const pos = ((page * fw.bda16(0x4c)) >> 1) + row * fw.bda16(0x4a) + col;
    this.vga.crtc(0x0e, (pos >> 8) & 0xff);
    this.vga.crtc(0x0f, pos & 0xff);
  }
  /** AH=01h: CGA-style shape in CX, scaled to the character height unless emulation is off. */
  private setCursorShape(cx: number): void {
    const fw = this.fw;
    fw.setBda16(0x60, cx);
    let start = (cx >> 8) & 0x3f, end = cx & 0x1f;
    const h = fw.bda16(0x85);
    if (!(fw.bda8(0x87) & 0x01) && h > 8 && end < 8 && start < 0x20) {
      start = end !== start + 1 ? ((start + 1) * h) / 8 - 1 : ((end + 1) * h) / 8 - 2;
      end = ((end + 1) * h) / 8 - 1;
    }
    this.vga.crtc(0x0a, start | (cx & 0x2000 ? 0x20 : 0));
    this.vga.crtc(0x0b, end);
  }
  private setPage(p: number): void {
    const fw = this.fw, m = this.mode();
    if (!m || p >= m.pages) return;
    fw.setBda8(0x62, p);
    fw.setBda16(0x4e, p * fw.bda16(0x4c));
    const start = m.kind === 'text' ? (p * fw.bda16(0x4c)) >> 1 : p * m.pageSize;
    this.vga.crtc(0x0c, (start >> 8) & 0xff);
    this.vga.crtc(0x0d, start & 0xff);
    this.updateCursor();
  }

  // ---------------------------------------------------------------- text

  private cellAddr(m: VgaMode, page: number, col: number, row: number): number {
    const fw = this.fw;
    return (m.segment << 4) + (page & 7) * fw.bda16(0x4c) + (row * fw.bda16(0x4a) + col) * 2;
  }
  private rows(): number { return this.fw.bda8(0x84) + 1; }
  private charHeight(): number { return this.fw.bda16(0x85) || 8; }
  /** Linear address of the graphics font (INT 43h). */
  private graphicsFont(): number {
    return ((this.mem.read16(0x43 * 4 + 2) << 4) + this.mem.read16(0x43 * 4)) >>> 0;
  }

  private scroll(up: boolean, lines: number, attr: number, top: number, left: number, bottom: number, right: number, page: number): void {
    const m = this.mode();
    if (!m) return;
    if (m.kind !== 'text') {
      this.graphics.scroll(m, page, up, lines, attr, top, left, bottom, right, this.charHeight());
      return;
    }
    const cols = this.fw.bda16(0x4a), rows = this.rows();
    bottom = Math.min(bottom, rows - 1); right = Math.min(right, cols - 1);
    if (top > bottom || left > right) return;
    const height = bottom - top + 1;
    if (lines === 0 || lines > height) lines = height;
    const blank = (attr << 8) | 0x20;
    for (let i = 0; i < height; i++) {
      const row = up ? top + i : bottom - i;
      const src = up ? row + lines : row - lines;
      const copy = up ? src <= bottom : src >= top;
      for (let c = left; c <= right; c++) {
        this.mem.write16(this.cellAddr(m, page, c, row), copy ? this.mem.read16(this.cellAddr(m, page, c, src)) : blank);
      }
    }
  }

  /** Put a character at the cursor of `page` (text: char and optionally attribute; graphics: drawn). */
  private putChar(m: VgaMode, page: number, col: number, row: number, ch: number, attr: number): void {
    if (m.kind === 'text') {
      const a = this.cellAddr(m, page, col, row);
      this.mem.write8(a, ch);
      if (attr >= 0) this.mem.write8(a + 1, attr);
    } else {
      this.graphics.drawChar(m, page, col, row, ch, attr < 0 ? 0x0f : attr, this.graphicsFont(), this.charHeight());
    }
  }

  /** Teletype output (also used by POST messages). */
  teletype(ch: number, page = this.fw.bda8(0x62), attr = -1): void {
    const cols = this.fw.bda16(0x4a), rows = this.rows();
    let [col, row] = this.cursor(page);
    if (ch === 7) return;
    if (ch === 8) { if (col > 0) col--; }
    else if (ch === 13) col = 0;
    else if (ch === 10) row++;
    else {
      const m = this.mode();
      if (m) this.putChar(m, page, col, row, ch, attr);
      col++;
      if (col >= cols) { col = 0; row++; }
    }
    if (row >= rows) {
      const m = this.mode();
      let fill = 0;
      if (m?.kind === 'text') fill = this.mem.read8(this.cellAddr(m, page, cols - 1, rows - 1) + 1) || 0x07;
      this.scroll(true, 1, fill, 0, 0, rows - 1, cols - 1, page);
      row = rows - 1;
    }
    this.setCursor(page, col, row);
  }

  print(text: string): void {
    for (const c of text) this.teletype(c === '\n' ? 10 : c.charCodeAt(0) & 0xff);
  }

  handle(): void {
    const fw = this.fw;
    const ah = fw.r8(AH);
    switch (ah) {
      case 0x00: {
        const mode = fw.r8(AL) & 0x7f;
        if (this.setMode(fw.r8(AL))) fw.set8(AL, mode > 7 ? 0x20 : mode === 6 ? 0x3f : 0x30);
        break;
      }
      case 0x01: this.setCursorShape(fw.r16(CX)); break;
      case 0x02: this.setCursor(fw.r8(BH), fw.r8(DL), fw.r8(DH)); break;
      case 0x03: { const [c, r] = this.cursor(fw.r8(BH)); fw.set16(DX, (r << 8) | c); fw.set16(CX, fw.bda16(0x60)); break; }
      case 0x04: fw.set8(AH, 0); break; // no light pen
      case 0x05: this.setPage(fw.r8(AL) & 7); break;
      case 0x06: case 0x07:
        this.scroll(ah === 0x06, fw.r8(AL), fw.r8(BH), fw.r8(CH), fw.r8(CL), fw.r8(DH), fw.r8(DL), fw.bda8(0x62));
        break;
      case 0x08: {
        const m = this.mode();
        const [c, r] = this.cursor(fw.r8(BH));
        if (!m) fw.set16(AX, 0);
        else if (m.kind === 'text') fw.set16(AX, this.mem.read16(this.cellAddr(m, fw.r8(BH), c, r)));
        else fw.set16(AX, this.graphics.readChar(m, fw.r8(BH) % m.pages, c, r, this.graphicsFont(), this.charHeight()));
        break;
      }
      case 0x09: case 0x0a: {
        const m = this.mode();
        if (!m) break;
        const page = m.kind === 'text' ? fw.r8(BH) : fw.r8(BH) % m.pages;
        let [c, r] = this.cursor(page);
        const cols = fw.bda16(0x4a), rows = this.rows();
        // 0Ah keeps the attribute in text modes; graphics modes always need a colour.
        const attr = ah === 0x09 || m.kind !== 'text' ? fw.r8(BL) : -1;
        for (let n = fw.r16(CX); n > 0 && r < rows; n--) {
          this.putChar(m, page, c, r, fw.r8(AL), attr);
          if (++c >= cols) { c = 0; r++; }
        }
        break;
      }
      case 0x0b: this.config.cgaPalette(); break;
      case 0x0c: { const m = this.mode(); if (m && m.kind !== 'text') this.graphics.writePixel(m, fw.r8(BH), fw.r16(CX), fw.r16(DX), fw.r8(AL)); break; }
      case 0x0d: { const m = this.mode(); fw.set8(AL, m && m.kind !== 'text' ? this.graphics.readPixel(m, fw.r8(BH), fw.r16(CX), fw.r16(DX)) : 0); break; }
      case 0x0e: {
        const m = this.mode();
        this.teletype(fw.r8(AL), fw.bda8(0x62), m && m.kind !== 'text' ? fw.r8(BL) : -1);
        break;
      }
      case 0x0f: fw.set8(AL, fw.bda8(0x49) | (fw.bda8(0x87) & 0x80)); fw.set8(AH, fw.bda16(0x4a)); fw.set8(BH, fw.bda8(0x62)); break;
      case 0x10: this.config.palette(); break;
      case 0x11: this.config.font(); break;
      case 0x12: this.config.alternateSelect(); break;
      case 0x13: {
        const al = fw.r8(AL), page = fw.r8(BH);
        const [oc, or] = this.cursor(page);
        this.setCursor(page, fw.r8(DL), fw.r8(DH));
        let p = fw.lin(ES, fw.r16(BP));
        for (let n = fw.r16(CX); n > 0; n--) {
          const ch = fw.read8(p++);
          let attr = fw.r8(BL);
          if (al & 2) attr = fw.read8(p++);
          this.teletype(ch, page, ch === 7 || ch === 8 || ch === 10 || ch === 13 ? -1 : attr);
        }
        if (!(al & 1)) this.setCursor(page, oc, or);
        break;
      }
      case 0x1a: this.config.displayCombination(); break;
      case 0x1b: this.config.stateInfo(); break;
      case 0x1c: {
        const al = fw.r8(AL), cx = fw.r16(CX), at = fw.lin(ES, fw.r16(BX));
        if (al === 0) fw.set16(BX, this.state.blocks(cx, false));
        else if (al === 1) this.state.save(cx, false, at);
        else if (al === 2) this.state.restore(cx, false, at);
        else break;
        fw.set8(AL, 0x1c);
        break;
      }
      case 0x4f: this.vbe.handle(); break;
      default: break; // unsupported: registers unchanged
    }
  }
}
