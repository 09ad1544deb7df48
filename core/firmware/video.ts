// INT 10h, text-mode part: modes 2/3 (80x25 colour), 7 (mono) set through our VGA's registers,
// teletype, cursor, scrolling, character read/write, string write, mode 13h register set.
// Register values are the standard VGA mode tables (IBM VGA technical reference).

import { buildFont8x16 } from './font.js';
import { AH, AL, AX, BH, BL, BP, BX, CH, CL, CX, DH, DL, DX, ES, FirmwareContext } from './context.js';

const MODE3 = {
  misc: 0x67,
  seq: [0x03, 0x00, 0x03, 0x00, 0x02],
  crtc: [0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
    0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff],
  gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff],
  ac: [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
    0x0c, 0x00, 0x0f, 0x08, 0x00],
};
const MODE13 = {
  misc: 0x63,
  seq: [0x03, 0x01, 0x0f, 0x00, 0x0e],
  crtc: [0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x9c, 0x0e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff],
  gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff],
  ac: [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x41, 0x00, 0x0f, 0x00, 0x00],
};

const TEXT_BASE = 0xb8000;
const COLS = 80;
const ROWS = 25;

const FONT = buildFont8x16();

export class VideoBios {
  constructor(private readonly fw: FirmwareContext) {}

  /** Load the 8x16 font into plane 2 (character generator), then restore text-mode access. */
  private loadFont(): void {
    const io = this.io;
    const seq = (i: number, v: number) => { io.out8(0x3c4, i); io.out8(0x3c5, v); };
    const gc = (i: number, v: number) => { io.out8(0x3ce, i); io.out8(0x3cf, v); };
    seq(2, 0x04); seq(4, 0x07); gc(4, 0x02); gc(5, 0x00); gc(6, 0x04);
    for (let ch = 0; ch < 256; ch++) {
      for (let y = 0; y < 32; y++) this.mem.write8(0xa0000 + ch * 32 + y, y < 16 ? FONT[ch * 16 + y] : 0);
    }
    seq(2, 0x03); seq(4, 0x02); gc(4, 0x00); gc(5, 0x10); gc(6, 0x0e);
  }

  private get io() { return this.fw.machine.io; }
  private get mem() { return this.fw.machine.memory; }

  private programRegisters(t: typeof MODE3): void {
    const io = this.io;
    io.out8(0x3c2, t.misc);
    for (let i = 0; i < t.seq.length; i++) { io.out8(0x3c4, i); io.out8(0x3c5, t.seq[i]); }
    io.out8(0x3d4, 0x11); io.out8(0x3d5, 0); // unlock CRTC 0-7
    for (let i = 0; i < t.crtc.length; i++) { io.out8(0x3d4, i); io.out8(0x3d5, t.crtc[i]); }
    for (let i = 0; i < t.gc.length; i++) { io.out8(0x3ce, i); io.out8(0x3cf, t.gc[i]); }
    io.in8(0x3da);
    for (let i = 0; i < t.ac.length; i++) { io.out8(0x3c0, i); io.out8(0x3c0, t.ac[i]); }
    io.out8(0x3c0, 0x20); // palette address source: video on
  }

  /** The 64-entry EGA palette in the DAC (rgbRGB bits), then the rest a grey ramp. */
  private loadDac(mode13: boolean): void {
    const io = this.io;
    io.out8(0x3c8, 0);
    for (let i = 0; i < 256; i++) {
      let r: number, g: number, b: number;
      if (!mode13 ? i < 64 : i < 16) {
        const e = mode13 ? [0, 1, 2, 3, 4, 5, 0x14, 7, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f][i] : i;
        r = ((e >> 2) & 1) * 42 + ((e >> 5) & 1) * 21;
        g = ((e >> 1) & 1) * 42 + ((e >> 4) & 1) * 21;
        b = (e & 1) * 42 + ((e >> 3) & 1) * 21;
      } else {
        r = g = b = (i * 63 / 255) | 0;
      }
      io.out8(0x3c9, r); io.out8(0x3c9, g); io.out8(0x3c9, b);
    }
  }

  setMode(mode: number): void {
    const noClear = (mode & 0x80) !== 0;
    mode &= 0x7f;
    const fw = this.fw;
    if (mode === 0x13) {
      this.programRegisters(MODE13);
      this.loadDac(true);
      if (!noClear) for (let i = 0; i < 0x10000; i++) this.mem.write8(0xa0000 + i, 0);
      fw.setBda16(0x4a, 40);
      fw.setBda16(0x4c, 0xfa00);
    } else {
      // Every other mode falls back to 80x25 colour text (graphics modes other than 13h are
      // not implemented yet).
      this.programRegisters(MODE3);
      this.loadDac(false);
      this.loadFont();
      if (!noClear) for (let i = 0; i < 0x4000; i++) this.mem.write16(TEXT_BASE + i * 2, 0x0720);
      fw.setBda16(0x4a, COLS);
      fw.setBda16(0x4c, 0x1000);
      if (mode !== 2 && mode !== 3 && mode !== 7 && mode !== 0 && mode !== 1) mode = 3;
    }
    fw.setBda8(0x49, mode);
    fw.setBda16(0x4e, 0);
    for (let p = 0; p < 8; p++) fw.setBda16(0x50 + p * 2, 0);
    fw.setBda16(0x60, 0x0d0e);
    fw.setBda8(0x62, 0);
    fw.setBda16(0x63, 0x3d4);
    fw.setBda8(0x65, 0x29);
    fw.setBda8(0x66, 0x30);
    fw.setBda8(0x84, ROWS - 1);
    fw.setBda16(0x85, 16);
    fw.setBda8(0x87, 0x60);
    fw.setBda8(0x88, 0x09);
    fw.setBda8(0x89, 0x11);
    fw.setBda8(0x8a, 0x0b);
    this.updateCursor();
  }

  private get isText(): boolean { return this.fw.bda8(0x49) !== 0x13; }
  private cursor(page: number): [number, number] {
    const v = this.fw.bda16(0x50 + (page & 7) * 2);
    return [v & 0xff, v >> 8];
  }
  private setCursor(page: number, col: number, row: number): void {
    this.fw.setBda16(0x50 + (page & 7) * 2, (row << 8) | col);
    if ((page & 7) === this.fw.bda8(0x62)) this.updateCursor();
  }
  private updateCursor(): void {
    const page = this.fw.bda8(0x62);
    const [col, row] = this.cursor(page);
    const pos = page * 0x800 + row * COLS + col;
    this.io.out8(0x3d4, 0x0e); this.io.out8(0x3d5, pos >> 8);
    this.io.out8(0x3d4, 0x0f); this.io.out8(0x3d5, pos & 0xff);
  }
  private cellAddr(page: number, col: number, row: number): number {
    return TEXT_BASE + (page & 7) * 0x1000 + (row * COLS + col) * 2;
  }

  private scroll(up: boolean, lines: number, attr: number, top: number, left: number, bottom: number, right: number, page: number): void {
    if (!this.isText) return;
    bottom = Math.min(bottom, ROWS - 1); right = Math.min(right, COLS - 1);
    if (top > bottom || left > right) return;
    const height = bottom - top + 1;
    if (lines === 0 || lines > height) lines = height;
    const blank = (attr << 8) | 0x20;
    for (let i = 0; i < height; i++) {
      const row = up ? top + i : bottom - i;
      const src = up ? row + lines : row - lines;
      for (let c = left; c <= right; c++) {
        const v = (up ? src <= bottom : src >= top) ? this.mem.read16(this.cellAddr(page, c, src)) : blank;
        this.mem.write16(this.cellAddr(page, c, row), v);
      }
    }
  }

  /** Teletype output (also used by POST messages). */
  teletype(ch: number, page = this.fw.bda8(0x62), attr = -1): void {
    let [col, row] = this.cursor(page);
    if (ch === 7) return;
    if (ch === 8) { if (col > 0) col--; }
    else if (ch === 13) col = 0;
    else if (ch === 10) row++;
    else {
      if (this.isText) {
        const a = this.cellAddr(page, col, row);
        this.mem.write8(a, ch);
        if (attr >= 0) this.mem.write8(a + 1, attr);
      }
      col++;
      if (col >= COLS) { col = 0; row++; }
    }
    if (row >= ROWS) {
      const a = this.mem.read8(this.cellAddr(page, COLS - 1, ROWS - 1) + 1);
      this.scroll(true, 1, a || 0x07, 0, 0, ROWS - 1, COLS - 1, page);
      row = ROWS - 1;
    }
    this.setCursor(page, col, row);
  }

  print(text: string): void {
    for (const c of text) this.teletype(c === '\n' ? 10 : c.charCodeAt(0) & 0xff);
  }

  /** The text screen as a string (tests and logs). */
  handle(): void {
    const fw = this.fw;
    const ah = fw.r8(AH);
    switch (ah) {
      case 0x00: this.setMode(fw.r8(AL)); fw.set8(AL, fw.bda8(0x49) === 0x13 ? 0x20 : 0x30); break;
      case 0x01: fw.setBda16(0x60, fw.r16(CX));
        this.io.out8(0x3d4, 0x0a); this.io.out8(0x3d5, fw.r8(CH));
        this.io.out8(0x3d4, 0x0b); this.io.out8(0x3d5, fw.r8(CL));
        break;
      case 0x02: this.setCursor(fw.r8(BH), fw.r8(DL), fw.r8(DH)); break;
      case 0x03: { const [c, r] = this.cursor(fw.r8(BH)); fw.set16(DX, (r << 8) | c); fw.set16(CX, fw.bda16(0x60)); break; }
      case 0x04: fw.set8(AH, 0); break;
      case 0x05: {
        const p = fw.r8(AL) & 7;
        fw.setBda8(0x62, p);
        fw.setBda16(0x4e, p * 0x1000);
        this.io.out8(0x3d4, 0x0c); this.io.out8(0x3d5, (p * 0x800) >> 8);
        this.io.out8(0x3d4, 0x0d); this.io.out8(0x3d5, 0);
        this.updateCursor();
        break;
      }
      case 0x06: case 0x07:
        this.scroll(ah === 0x06, fw.r8(AL), fw.r8(BH), fw.r8(CH), fw.r8(CL), fw.r8(DH), fw.r8(DL), fw.bda8(0x62));
        break;
      case 0x08: {
        const [c, r] = this.cursor(fw.r8(BH));
        fw.set16(AX, this.isText ? this.mem.read16(this.cellAddr(fw.r8(BH), c, r)) : 0);
        break;
      }
      case 0x09: case 0x0a: {
        const page = fw.r8(BH);
        const [c, r] = this.cursor(page);
        if (!this.isText) break;
        let n = fw.r16(CX);
        let a = this.cellAddr(page, c, r);
        const end = TEXT_BASE + (page & 7) * 0x1000 + COLS * ROWS * 2;
        while (n-- > 0 && a < end) {
          this.mem.write8(a, fw.r8(AL));
          if (ah === 0x09) this.mem.write8(a + 1, fw.r8(BL));
          a += 2;
        }
        break;
      }
      case 0x0b: case 0x0c: case 0x0d: break;
      case 0x0e: this.teletype(fw.r8(AL)); break;
      case 0x0f: fw.set8(AL, fw.bda8(0x49)); fw.set8(AH, fw.bda16(0x4a)); fw.set8(BH, fw.bda8(0x62)); break;
      case 0x10: this.palette(); break;
      case 0x11:
        if (fw.r8(AL) === 0x30) { fw.set16(CX, 16); fw.set8(DL, ROWS - 1); fw.set16(BP, 0); }
        break;
      case 0x12:
        if (fw.r8(BL) === 0x10) { fw.set8(BH, 0); fw.set8(BL, 3); fw.set16(CX, 0x0009); }
        break;
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
      case 0x1a: if (fw.r8(AL) === 0) { fw.set8(AL, 0x1a); fw.set16(BX, 0x0008); } break;
      default: break; // unsupported: return unchanged (VBE 4Fxxh reports "not supported" by AL!=4F)
    }
  }

  private palette(): void {
    const fw = this.fw, io = this.io;
    switch (fw.r8(AL)) {
      case 0x10: io.out8(0x3c8, fw.r8(BL)); io.out8(0x3c9, fw.r8(DH)); io.out8(0x3c9, fw.r8(CH)); io.out8(0x3c9, fw.r8(CL)); break;
      case 0x12: {
        io.out8(0x3c8, fw.r8(BL));
        const p = fw.lin(ES, fw.r16(DX));
        for (let i = 0; i < fw.r16(CX) * 3; i++) io.out8(0x3c9, fw.read8(p + i));
        break;
      }
      case 0x15: io.out8(0x3c7, fw.r8(BL)); fw.set8(DH, io.in8(0x3c9)); fw.set8(CH, io.in8(0x3c9)); fw.set8(CL, io.in8(0x3c9)); break;
      case 0x17: {
        io.out8(0x3c7, fw.r8(BL));
        const p = fw.lin(ES, fw.r16(DX));
        for (let i = 0; i < fw.r16(CX) * 3; i++) fw.write8(p + i, io.in8(0x3c9));
        break;
      }
      default: break;
    }
  }
}
