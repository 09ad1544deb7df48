// INT 10h configuration calls: CGA palette (0Bh), palette/DAC (10h), character generator
// (11h), alternate select (12h), display combination (1Ah) and state information (1Bh).

import { AL, BH, BL, BP, CH, CL, CX, DH, DI, DL, DX, ES, FirmwareContext } from './context.js';
import { BIOS_SEGMENT } from './rom.js';
import { VIDEO_ROM } from './video-rom.js';
import type { VideoBios } from './video.js';
import { textLines } from './vga-modes.js';

export class VideoConfig {
  constructor(private readonly fw: FirmwareContext, private readonly video: VideoBios) {}

  private get vga() { return this.video.vga; }
  private get io() { return this.fw.machine.io; }

  /** AH=0Bh: BH=0 background/border colour, BH=1 CGA palette select (modes 4/5). */
  cgaPalette(): void {
    const fw = this.fw, v = this.vga, m = this.video.mode();
    if (!m) return;
    let pal = fw.bda8(0x66);
    if (fw.r8(BH) === 0) pal = (pal & 0xe0) | (fw.r8(BL) & 0x1f);
    else pal = (pal & 0xdf) | (fw.r8(BL) & 1 ? 0x20 : 0);
    fw.setBda8(0x66, pal);
    const bright = pal & 0x10 ? 0x10 : 0;
    if (m.kind === 'text') { v.ac(0x11, (pal & 7) | ((pal & 8) << 1)); return; }
    v.ac(0, (pal & 7) | ((pal & 8) << 1));
    if (m.kind === 'cga2') {
      const base = pal & 0x20 ? 3 : 2; // palette 1: cyan/magenta/white, palette 0: green/red/brown
      for (let i = 1; i < 4; i++) v.ac(i, (base + (i - 1) * 2) | bright);
    }
  }

  /** AH=10h. */
  palette(): void {
    const fw = this.fw, io = this.io, v = this.vga;
    switch (fw.r8(AL)) {
      case 0x00: if (fw.r8(BL) < 16) v.ac(fw.r8(BL), fw.r8(BH)); break;
      case 0x01: v.ac(0x11, fw.r8(BH)); break;
      case 0x02: {
        const p = fw.lin(ES, fw.r16(DX));
        for (let i = 0; i < 16; i++) v.ac(i, fw.read8(p + i));
        v.ac(0x11, fw.read8(p + 16));
        break;
      }
      case 0x03: v.ac(0x10, (v.acRead(0x10) & ~0x08) | (fw.r8(BL) & 1 ? 0x08 : 0)); break;
      case 0x07: if (fw.r8(BL) < 16) fw.set8(BH, v.acRead(fw.r8(BL))); break;
      case 0x08: fw.set8(BH, v.acRead(0x11)); break;
      case 0x09: {
        const p = fw.lin(ES, fw.r16(DX));
        for (let i = 0; i < 16; i++) fw.write8(p + i, v.acRead(i));
        fw.write8(p + 16, v.acRead(0x11));
        break;
      }
      case 0x10: io.out8(0x3c8, fw.r8(BL)); io.out8(0x3c9, fw.r8(DH)); io.out8(0x3c9, fw.r8(CH)); io.out8(0x3c9, fw.r8(CL)); break;
      case 0x12: {
        io.out8(0x3c8, fw.r8(BL));
        const p = fw.lin(ES, fw.r16(DX));
        for (let i = 0; i < fw.r16(CX) * 3; i++) io.out8(0x3c9, fw.read8(p + i));
        break;
      }
      case 0x13:
        if (fw.r8(BL) === 0) v.ac(0x10, (v.acRead(0x10) & 0x7f) | (fw.r8(BH) & 1 ? 0x80 : 0));
        else v.ac(0x14, v.acRead(0x10) & 0x80 ? fw.r8(BH) & 0x0f : (fw.r8(BH) & 3) << 2);
        break;
      case 0x15: io.out8(0x3c7, fw.r8(BL)); fw.set8(DH, io.in8(0x3c9)); fw.set8(CH, io.in8(0x3c9)); fw.set8(CL, io.in8(0x3c9)); break;
      case 0x17: {
        io.out8(0x3c7, fw.r8(BL));
        const p = fw.lin(ES, fw.r16(DX));
        for (let i = 0; i < fw.r16(CX) * 3; i++) fw.write8(p + i, io.in8(0x3c9));
        break;
      }
      case 0x18: io.out8(0x3c6, fw.r8(BL)); break;
      case 0x19: fw.set8(BL, io.in8(0x3c6)); break;
      case 0x1a: {
        const mode = v.acRead(0x10) >> 7, page = v.acRead(0x14);
        fw.set8(BL, mode); fw.set8(BH, mode ? page & 0x0f : page >> 2);
        break;
      }
      case 0x1b: this.greySum(fw.r16(0x03 /* BX */) & 0xff, Math.min(256, fw.r16(CX))); break;
      default: break;
    }
  }

  /** Grey-scale summing of `count` DAC entries from `first`: 30% red, 59% green, 11% blue. */
  greySum(first: number, count: number): void {
    const rgb = new Uint8Array(3);
    for (let i = 0; i < count; i++) {
      this.vga.dacRead((first + i) & 0xff, rgb);
      const g = Math.min(63, Math.round(rgb[0] * 0.3 + rgb[1] * 0.59 + rgb[2] * 0.11));
      this.vga.dacWrite((first + i) & 0xff, [g, g, g]);
    }
  }

  /** ROM font table offset (in F000) for a character height. */
  private romFont(h: number): number {
    return h === 16 ? VIDEO_ROM.font8x16 : h === 14 ? VIDEO_ROM.font8x14 : VIDEO_ROM.font8x8;
  }

  /** Text mode after a font load with "recalculate" (AL=1xh): rows, CRTC max scan line, cursor. */
  private recalcText(h: number): void {
    const fw = this.fw, v = this.vga;
    const mode = this.video.mode();
    if (!mode || mode.kind !== 'text') return;
    const lines = textLines(fw.bda8(0x89));
    const rows = Math.floor(lines / h); // the mode's scan lines, not the last font's
    v.crtc(0x09, (v.crtcRead(0x09) & 0xe0) | (h - 1));
    const end = rows * h * (lines === 200 ? 2 : 1) - 1; // 200-line modes are double-scanned
    v.crtc(0x12, end & 0xff);
    fw.setBda8(0x84, rows - 1);
    fw.setBda16(0x85, h);
    fw.setBda16(0x4c, ((rows * fw.bda16(0x4a) * 2) + 0xff) & ~0xff);
    v.crtc(0x0a, h - 3); v.crtc(0x0b, h - 2);
  }

  /** Rows for the graphics font calls (AL=21h-24h): BL=0 → DL, 1 → 14, 2 → 25, 3 → 43. */
  private graphicsRows(): number {
    const bl = this.fw.r8(BL);
    return bl === 0 ? this.fw.r8(DL) : [0, 14, 25, 43][bl & 3];
  }

  private setInt43(seg: number, off: number, h: number): void {
    const mem = this.fw.machine.memory, fw = this.fw;
    mem.write16(0x43 * 4, off); mem.write16(0x43 * 4 + 2, seg);
    fw.setBda16(0x85, h);
    const rows = this.graphicsRows();
    if (rows > 0) fw.setBda8(0x84, rows - 1);
  }

  /** AH=11h: the character generator. */
  font(): void {
    const fw = this.fw, v = this.video;
    const al = fw.r8(AL);
    switch (al) {
      case 0x00: case 0x10: {
        const src = fw.lin(ES, fw.r16(BP)), h = fw.r8(BH) || 16;
        v.loadFont((i) => fw.read8(src + i), h, fw.r16(CX), fw.r16(DX) & 0xff, fw.r8(BL));
        if (al === 0x10) this.recalcText(h);
        return;
      }
      case 0x01: case 0x11: v.loadRomFont(14, fw.r8(BL)); if (al === 0x11) this.recalcText(14); return;
      case 0x02: case 0x12: v.loadRomFont(8, fw.r8(BL)); if (al === 0x12) this.recalcText(8); return;
      case 0x04: case 0x14: v.loadRomFont(16, fw.r8(BL)); if (al === 0x14) this.recalcText(16); return;
      case 0x03: this.vga.seq(3, fw.r8(BL)); return;
      case 0x20: {
        const mem = fw.machine.memory;
        mem.write16(0x1f * 4, fw.r16(BP)); mem.write16(0x1f * 4 + 2, fw.seg(ES));
        return;
      }
      case 0x21: this.setInt43(fw.seg(ES), fw.r16(BP), fw.r16(CX)); return;
      case 0x22: this.setInt43(BIOS_SEGMENT, VIDEO_ROM.font8x14, 14); return;
      case 0x23: this.setInt43(BIOS_SEGMENT, VIDEO_ROM.font8x8, 8); return;
      case 0x24: this.setInt43(BIOS_SEGMENT, VIDEO_ROM.font8x16, 16); return;
      case 0x30: {
        const mem = fw.machine.memory;
        const vec = (n: number): [number, number] => [mem.read16(n * 4 + 2), mem.read16(n * 4)];
        const table: Record<number, [number, number]> = {
          0: vec(0x1f), 1: vec(0x43),
          2: [BIOS_SEGMENT, this.romFont(14)], 3: [BIOS_SEGMENT, VIDEO_ROM.font8x8],
          4: [BIOS_SEGMENT, VIDEO_ROM.font8x8 + 0x400], 5: [BIOS_SEGMENT, VIDEO_ROM.altFont],
          6: [BIOS_SEGMENT, this.romFont(16)], 7: [BIOS_SEGMENT, VIDEO_ROM.altFont],
        };
        const [seg, off] = table[fw.r8(BH)] ?? [0, 0];
        fw.cpu.loadSegmentReal(ES, seg);
        fw.set16(BP, off);
        fw.set16(CX, fw.bda16(0x85));
        fw.set8(DL, fw.bda8(0x84));
        return;
      }
      default:
    }
  }

  /** AH=12h: alternate select. */
  alternateSelect(): void {
    const fw = this.fw;
    switch (fw.r8(BL)) {
      case 0x10:
        fw.set8(BH, fw.bda16(0x63) === 0x3b4 ? 1 : 0);
        fw.set8(BL, 3); // 256 KiB
        fw.set8(CH, 0);
        fw.set8(CL, fw.bda8(0x88) & 0x0f);
        return;
      case 0x30: { // text-mode scan lines for the next mode set: AL=0 200, 1 350, 2 400
        const al = fw.r8(AL);
        if (al > 2) return;
        fw.setBda8(0x89, (fw.bda8(0x89) & 0x6f) | [0x80, 0x00, 0x10][al]);
        fw.set8(AL, 0x12);
        return;
      }
      case 0x31: // default palette loading on mode set: AL=0 enable, 1 disable
        fw.setBda8(0x89, (fw.bda8(0x89) & ~0x08) | (fw.r8(AL) & 1 ? 0x08 : 0));
        fw.set8(AL, 0x12);
        return;
      case 0x33: // grey-scale summing on mode set
        fw.setBda8(0x89, (fw.bda8(0x89) & ~0x02) | (fw.r8(AL) & 1 ? 0 : 0x02));
        fw.set8(AL, 0x12);
        return;
      case 0x34: // cursor emulation: AL=0 on, 1 off
        fw.setBda8(0x87, (fw.bda8(0x87) & ~0x01) | (fw.r8(AL) & 1));
        fw.set8(AL, 0x12);
        return;
      case 0x36: // screen on (AL=0) / off (AL=1)
        this.vga.seq(1, (this.vga.seqRead(1) & ~0x20) | (fw.r8(AL) & 1 ? 0x20 : 0));
        fw.set8(AL, 0x12);
        return;
      case 0x32: case 0x35:
        fw.set8(AL, 0x12);
        return;
      default:
    }
  }

  /** AH=1Ah: display combination code (VGA with colour analog display; no alternate). */
  displayCombination(): void {
    const fw = this.fw;
    if (fw.r8(AL) > 1) return;
    if (fw.r8(AL) === 0) fw.set16(0x03 /* BX */, fw.bda16(0x63) === 0x3b4 ? 0x0007 : 0x0008);
    fw.set8(AL, 0x1a);
  }

  /** AH=1Bh BX=0: the 64-byte state information block at ES:DI. */
  stateInfo(): void {
    const fw = this.fw;
    if (fw.r16(0x03 /* BX */) !== 0) return;
    const p = fw.lin(ES, fw.r16(DI));
    fw.write16(p, VIDEO_ROM.staticTable); fw.write16(p + 2, BIOS_SEGMENT);
    for (let i = 0; i < 30; i++) fw.write8(p + 4 + i, fw.bda8(0x49 + i));
    const m = this.video.mode();
    fw.write8(p + 0x22, fw.bda8(0x84) + 1);
    fw.write16(p + 0x23, fw.bda16(0x85));
    fw.write8(p + 0x25, fw.bda16(0x63) === 0x3b4 ? 7 : 8);
    fw.write8(p + 0x26, 0);
    const colours = !m ? 0 : m.kind === 'text' ? (m.dac === 'mono' ? 0 : 16) : 1 << m.bpp;
    fw.write16(p + 0x27, colours);
    fw.write8(p + 0x29, m ? m.pages : 1);
    const lines = m?.kind === 'text' ? textLines(fw.bda8(0x89)) : m?.height ?? 0;
    fw.write8(p + 0x2a, lines >= 480 ? 3 : lines >= 400 ? 2 : lines >= 350 ? 1 : 0);
    const sr3 = this.vga.seqRead(3);
    fw.write8(p + 0x2b, (sr3 & 3) | ((sr3 >> 2) & 4));
    fw.write8(p + 0x2c, ((sr3 >> 2) & 3) | ((sr3 >> 3) & 4));
    fw.write8(p + 0x2d, 0x21); // all modes on all displays, 400-line... (bit 0), no blink override
    for (let i = 0x2e; i < 0x31; i++) fw.write8(p + i, 0);
    fw.write8(p + 0x31, 3); // 256 KiB
    fw.write8(p + 0x32, 0);
    for (let i = 0x33; i < 0x40; i++) fw.write8(p + i, 0);
    fw.set8(AL, 0x1b);
  }
}
