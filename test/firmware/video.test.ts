// INT 10h text mode through our VGA: the project's font is in the character generator and the
// screen renders it; teletype scrolls.
import { describe, expect, it } from 'vitest';
import { buildFont, buildFont8x16 } from '../../core/firmware/font.js';
import { builtinPc, runUntilScreen } from './helpers.js';
import { int10, pixel, planeByte, postedPc } from './video-helpers.js';

describe('built-in firmware video', () => {
  it('renders the banner with the built-in 8x16 font (9-dot cells, 720x400)', () => {
    const { m } = builtinPc({ bootOrder: 'a' });
    expect(runUntilScreen(m, 'No bootable device', 2_000_000)).toBeGreaterThan(0);
    const s = m.screen();
    expect([s.width, s.height, s.mode]).toEqual([720, 400, 'text 80x25']);
    const font = buildFont8x16();
    // "Perseus BIOS" on row 0: compare every dot of the first five cells with the glyphs.
    let lit = 0;
    for (let col = 0; col < 5; col++) {
      const ch = 'Perse'.charCodeAt(col);
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 8; x++) {
          const on = (font[ch * 16 + y] >> (7 - x)) & 1;
          const r = s.rgba[(y * s.width + col * 9 + x) * 4];
          expect(r > 100 ? 1 : 0, `'${String.fromCharCode(ch)}' row ${y} dot ${x}`).toBe(on);
          lit += on;
        }
      }
    }
    expect(lit).toBeGreaterThan(100);
  });

  it('font glyphs are distinct for every printable ASCII character', () => {
    const font = buildFont8x16();
    const seen = new Set<string>();
    for (let c = 0x21; c < 0x7f; c++) {
      const g = Array.from(font.subarray(c * 16, c * 16 + 16)).join(',');
      expect(seen.has(g), String.fromCharCode(c)).toBe(false);
      seen.add(g);
    }
  });
});

describe('the BIOS fonts', () => {
  it('every CP437 code 01h-FEh except the space has a glyph in the 8x8, 8x14 and 8x16 fonts', () => {
    for (const h of [8, 14, 16]) {
      const font = buildFont(h);
      for (let c = 1; c < 0xff; c++) {
        if (c === 0x20) continue;
        expect(font.subarray(c * h, c * h + h).some((b) => b !== 0), `h=${h} code ${c.toString(16)}`).toBe(true);
      }
      expect(font.subarray(0, h).every((b) => b === 0)).toBe(true);
      expect(font.subarray(0x20 * h, 0x21 * h).every((b) => b === 0)).toBe(true);
    }
  });

  it('glyphs are pairwise distinct in each font (apart from the deliberately blank 00h/20h/FFh)', () => {
    for (const h of [8, 14, 16]) {
      const font = buildFont(h);
      const seen = new Map<string, number>();
      for (let c = 1; c < 0xff; c++) {
        if (c === 0x20) continue;
        const g = Array.from(font.subarray(c * h, c * h + h)).join(',');
        expect(seen.get(g), `h=${h}: ${c.toString(16)} looks like ${seen.get(g)?.toString(16)}`).toBeUndefined();
        seen.set(g, c);
      }
    }
  });

  it('accented letters are their base letter with marks above: é keeps the rows of e below the accent', () => {
    const f = buildFont(16), e = 0x65, eAcute = 0x82;
    for (let y = 5; y < 16; y++) expect(f[eAcute * 16 + y], `row ${y}`).toBe(f[e * 16 + y]);
    expect(f.subarray(eAcute * 16, eAcute * 16 + 5).some((b) => b !== 0)).toBe(true);
  });

  it('box-drawing lines reach the cell edges so they join, in every height', () => {
    for (const h of [8, 14, 16]) {
      const f = buildFont(h);
      const cross = 0xc5; // single cross
      expect(f[cross * h] & 0x10, `h=${h} top`).toBe(0x10);
      expect(f[cross * h + h - 1] & 0x10, `h=${h} bottom`).toBe(0x10);
      expect(f.subarray(cross * h, cross * h + h).some((b) => b === 0xff), `h=${h} horizontal`).toBe(true);
    }
  });
});

describe('INT 10h standard modes', () => {
  // Renderer view of each mode (decoded by core/devices/vga-render.ts from the registers).
  const expected: [number, string, number, number][] = [
    [0x00, 'text 40x25', 40, 0x30], [0x01, 'text 40x25', 40, 0x30], [0x02, 'text 80x25', 80, 0x30], [0x03, 'text 80x25', 80, 0x30],
    [0x04, 'cga 320x200x2', 40, 0x30], [0x05, 'cga 320x200x2', 40, 0x30], [0x06, 'vga 640x200x1', 80, 0x3f], [0x07, 'text 80x25', 80, 0x30],
    [0x0d, 'vga 320x200x4', 40, 0x20], [0x0e, 'vga 640x200x4', 80, 0x20], [0x0f, 'vga 640x350x2', 80, 0x20],
    [0x10, 'vga 640x350x4', 80, 0x20], [0x11, 'vga 640x480x4', 80, 0x20], [0x12, 'vga 640x480x4', 80, 0x20], [0x13, 'vga 320x200x8', 40, 0x20],
  ];
  it('every mode comes up as the renderer decodes it; AH=0Fh reports it; AL is the IBM mode flag', () => {
    const { m } = postedPc();
    for (const [mode, screen, cols, flag] of expected) {
      const o = int10(m, { ax: mode });
      expect(o.ax & 0xff, `mode ${mode.toString(16)} flag`).toBe(flag);
      m.updateScreen();
      expect(m.screen().mode, `mode ${mode.toString(16)}`).toBe(screen);
      const f = int10(m, { ax: 0x0f00 });
      expect([f.ax & 0xff, f.ax >> 8, f.bx >> 8]).toEqual([mode, cols, 0]);
    }
  });

  it('mode 12h programs the IBM register values and the BIOS data area', () => {
    const { m } = postedPc();
    int10(m, { ax: 0x12 });
    const v = m.vga;
    expect(v.misc).toBe(0xe3);
    expect(Array.from(v.sr.subarray(1, 5))).toEqual([0x01, 0x0f, 0x00, 0x06]);
    expect([v.cr[0x06], v.cr[0x07], v.cr[0x09], v.cr[0x10], v.cr[0x12], v.cr[0x15], v.cr[0x16], v.cr[0x17]]).toEqual([0x0b, 0x3e, 0x40, 0xea, 0xdf, 0xe7, 0x04, 0xe3]);
    expect([v.gr[5], v.gr[6], v.gr[7], v.gr[8]]).toEqual([0x00, 0x05, 0x0f, 0xff]);
    expect([v.ar[0x06], v.ar[0x08], v.ar[0x10], v.ar[0x12]]).toEqual([0x14, 0x38, 0x01, 0x0f]);
    const bda = (o: number) => m.memory.read8(0x400 + o);
    expect([bda(0x49), bda(0x4a), bda(0x84), bda(0x85)]).toEqual([0x12, 80, 29, 16]);
    expect(m.memory.read16(0x44c)).toBe(0xa000);
    // INT 43h: the ROM 8x16 font for 480-line graphics.
    expect([m.memory.read16(0x43 * 4 + 2), m.memory.read16(0x43 * 4)]).toEqual([0xf000, 0x8000]);
  });

  it('AH=12h BL=30h selects 200, 350 or 400 scan lines for the next text mode set', () => {
    const { m } = postedPc();
    for (const [al, h, width, height] of [[1, 14, 720, 350], [0, 8, 640, 200], [2, 16, 720, 400]]) {
      expect(int10(m, { ax: 0x1200 | al, bx: 0x30 }).ax & 0xff).toBe(0x12);
      int10(m, { ax: 0x03 });
      m.updateScreen();
      const s = m.screen();
      expect([s.mode, s.width, s.height], `AL=${al}`).toEqual(['text 80x25', width, height]);
      expect(m.vga.cr[9] & 0x1f).toBe(h - 1);
      expect(m.memory.read16(0x485)).toBe(h);
      // The character generator holds the font of that height.
      expect(planeByte(m, 2, 0x41 * 32 + 5)).toBe(buildFont(h)[0x41 * h + 5]);
    }
    expect(m.vga.misc).toBe(0x67);
  });

  it('mode 7 is set through the monochrome CRTC ports and renders grey text', () => {
    const { m } = postedPc();
    int10(m, { ax: 0x07 });
    expect(m.vga.misc & 1).toBe(0);
    expect(m.memory.read16(0x463)).toBe(0x3b4);
    int10(m, { ax: 0x0e41, bx: 0 });
    m.updateScreen();
    expect(m.screen().text.startsWith('A')).toBe(true);
    // Attribute 07h maps to DAC 08h... shades of grey: a lit dot is grey, not coloured.
    const font = buildFont8x16();
    const y = font.findIndex((b, i) => i >= 0x41 * 16 && b !== 0) - 0x41 * 16;
    const x = 7 - Math.floor(Math.log2(font[0x41 * 16 + y]));
    const c = pixel(m, x, y);
    expect(c >> 16).toBe((c >> 8) & 0xff);
    expect(c >> 16).toBeGreaterThan(0x80);
  });
});

describe('INT 10h pixels and characters in graphics modes', () => {
  const CGA_RED = 0xaa0000, BRIGHT_CYAN = 0x55ffff, WHITE = 0xffffff, YELLOW = 0xffff55;
  it('AH=0Ch/0Dh write and read pixels in modes 4, 6, 0Dh, 12h and 13h; they render in the right colour', () => {
    const { m } = postedPc();
    const cases: [number, number, number][] = [[0x04, 1, BRIGHT_CYAN], [0x06, 1, WHITE], [0x0d, 4, CGA_RED], [0x12, 4, CGA_RED], [0x13, 4, CGA_RED]];
    for (const [mode, colour, rgb] of cases) {
      int10(m, { ax: mode });
      for (const [x, y] of [[3, 5], [100, 101], [317, 199]]) {
        int10(m, { ax: 0x0c00 | colour, cx: x, dx: y });
        expect(int10(m, { ax: 0x0d00, cx: x, dx: y }).ax & 0xff, `mode ${mode} (${x},${y})`).toBe(colour);
        expect(int10(m, { ax: 0x0d00, cx: x + 1, dx: y }).ax & 0xff).toBe(0);
      }
      m.updateScreen();
      expect(pixel(m, 100, 101), `mode ${mode}`).toBe(rgb);
      expect(pixel(m, 101, 101)).toBe(0);
      // Bit 7: XOR with what is there.
      int10(m, { ax: 0x0c80 | colour, cx: 100, dx: 101 });
      if (mode !== 0x13) expect(int10(m, { ax: 0x0d00, cx: 100, dx: 101 }).ax & 0xff).toBe(0);
    }
  });

  it('teletype draws glyphs from the INT 43h font in modes 12h (8x16), 10h (8x14) and 13h (8x8)', () => {
    const { m } = postedPc();
    for (const [mode, h, colour, rgb] of [[0x12, 16, 0x0e, YELLOW], [0x10, 14, 0x0e, YELLOW], [0x13, 8, 0x0f, WHITE]]) {
      int10(m, { ax: mode });
      int10(m, { ax: 0x0e00 | 0x41, bx: colour }); // 'A' at row 0 col 0
      int10(m, { ax: 0x0e00 | 0x67, bx: colour }); // 'g' at col 1
      m.updateScreen();
      const font = buildFont(h);
      let lit = 0;
      for (const [col, ch] of [[0, 0x41], [1, 0x67]]) {
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < 8; x++) {
            const on = (font[ch * h + y] >> (7 - x)) & 1;
            expect(pixel(m, col * 8 + x, y), `mode ${mode} ${String.fromCharCode(ch)} (${x},${y})`).toBe(on ? rgb : 0);
            lit += on;
          }
        }
      }
      expect(lit).toBeGreaterThan(20);
      // The cursor moved two cells.
      expect(int10(m, { ax: 0x0300 }).dx).toBe(2);
    }
  });

  it('AH=06h scrolls a graphics window up by character rows', () => {
    const { m } = postedPc();
    int10(m, { ax: 0x12 });
    int10(m, { ax: 0x0200, dx: 0x0100 }); // row 1
    int10(m, { ax: 0x0958, bx: 0x0c, cx: 1 }); // 'X', light red
    const before = [...Array(16)].map((_, y) => int10(m, { ax: 0x0d00, cx: 2, dx: 16 + y }).ax & 0xff);
    expect(before.some((c) => c === 0x0c)).toBe(true);
    int10(m, { ax: 0x0601, bx: 0x0100, cx: 0, dx: 0x1d4f });
    const after = [...Array(16)].map((_, y) => int10(m, { ax: 0x0d00, cx: 2, dx: y }).ax & 0xff);
    expect(after).toEqual(before);
    // The freed bottom row is filled with BH's colour.
    expect(int10(m, { ax: 0x0d00, cx: 0, dx: 479 }).ax & 0xff).toBe(1);
  });
});

describe('INT 10h palette, configuration and font calls', () => {
  it('AH=10h sets and reads palette registers and DAC entries', () => {
    const { m } = postedPc();
    int10(m, { ax: 0x1000, bx: 0x2a05 });
    expect(m.vga.ar[5]).toBe(0x2a);
    expect(int10(m, { ax: 0x1007, bx: 0x0005 }).bx >> 8).toBe(0x2a);
    int10(m, { ax: 0x1010, bx: 0x40, dx: 0x1100, cx: 0x2233 });
    expect(Array.from(m.vga.dac.subarray(0x40 * 3, 0x40 * 3 + 3))).toEqual([0x11, 0x22, 0x33]);
    const o = int10(m, { ax: 0x1015, bx: 0x40 });
    expect([o.dx >> 8, o.cx >> 8, o.cx & 0xff]).toEqual([0x11, 0x22, 0x33]);
    // Block write from ES:DX then block read back elsewhere.
    m.memory.writeBytes(0x600, new Uint8Array([1, 2, 3, 4, 5, 6]));
    int10(m, { ax: 0x1012, bx: 0x80, cx: 2, dx: 0x600 });
    int10(m, { ax: 0x1017, bx: 0x80, cx: 2, dx: 0x700 });
    expect(Array.from(m.memory.mem.subarray(0x700, 0x706))).toEqual([1, 2, 3, 4, 5, 6]);
    // Blink/intensity toggle (AC 10h bit 3).
    int10(m, { ax: 0x1003, bx: 0 });
    expect(m.vga.ar[0x10] & 0x08).toBe(0);
    int10(m, { ax: 0x1003, bx: 1 });
    expect(m.vga.ar[0x10] & 0x08).toBe(0x08);
  });

  it('AH=12h BL=31h keeps the DAC across a mode set; BL=33h turns the default palette grey', () => {
    const { m } = postedPc();
    int10(m, { ax: 0x1010, bx: 0x01, dx: 0x0500, cx: 0x0607 });
    expect(int10(m, { ax: 0x1201, bx: 0x31 }).ax & 0xff).toBe(0x12);
    int10(m, { ax: 0x03 });
    expect(Array.from(m.vga.dac.subarray(3, 6))).toEqual([5, 6, 7]);
    int10(m, { ax: 0x1200, bx: 0x31 });
    int10(m, { ax: 0x1200, bx: 0x33 });
    int10(m, { ax: 0x03 });
    const red = Array.from(m.vga.dac.subarray(4 * 3, 4 * 3 + 3)); // colour 4: red 2Ah
    expect(red).toEqual([13, 13, 13]);
    int10(m, { ax: 0x1201, bx: 0x33 });
    int10(m, { ax: 0x03 });
    expect(Array.from(m.vga.dac.subarray(4 * 3, 4 * 3 + 3))).toEqual([42, 0, 0]);
  });

  it('AH=1Ah, AH=12h BL=10h and AH=1Bh describe a colour VGA with 256 KiB', () => {
    const { m } = postedPc();
    const d = int10(m, { ax: 0x1a00 });
    expect([d.ax & 0xff, d.bx]).toEqual([0x1a, 0x0008]);
    const e = int10(m, { ax: 0x1200, bx: 0x0010 });
    expect([e.bx >> 8, e.bx & 0xff]).toEqual([0, 3]);
    const s = int10(m, { ax: 0x1b00, bx: 0, di: 0x800 });
    expect(s.ax & 0xff).toBe(0x1b);
    const mem = m.memory;
    expect(mem.read8(0x804)).toBe(3); // current mode
    expect(mem.read8(0x822)).toBe(25); // rows
    expect(mem.read16(0x823)).toBe(16);
    expect(mem.read8(0x825)).toBe(8);
    const table = (mem.read16(0x802) << 4) + mem.read16(0x800);
    expect(mem.read8(table)).toBe(0xff); // modes 0-7
    expect(mem.read8(table + 2) & 0x08).toBe(0x08); // mode 13h
  });

  it('AH=1Ch saves registers, BIOS data and DAC, and restores them after a mode change', () => {
    const { m } = postedPc();
    int10(m, { ax: 0x12 });
    int10(m, { ax: 0x1010, bx: 0x05, dx: 0x0100, cx: 0x0203 });
    int10(m, { ax: 0x1000, bx: 0x3f02 });
    const blocks = int10(m, { ax: 0x1c00, cx: 7 });
    expect(blocks.ax & 0xff).toBe(0x1c);
    expect(blocks.bx).toBeGreaterThan(0);
    expect(int10(m, { ax: 0x1c01, cx: 7, bx: 0x3000 }).ax & 0xff).toBe(0x1c);
    expect(m.memory.read8(0x3000 + blocks.bx * 64)).toBe(0); // stays inside the size it announced
    int10(m, { ax: 0x03 });
    expect(m.vga.misc).toBe(0x67);
    int10(m, { ax: 0x1c02, cx: 7, bx: 0x3000 });
    expect([m.vga.misc, m.vga.gr[6], m.vga.cr[0x12], m.vga.ar[2], m.vga.sr[4]]).toEqual([0xe3, 0x05, 0xdf, 0x3f, 0x06]);
    expect(Array.from(m.vga.dac.subarray(15, 18))).toEqual([1, 2, 3]);
    expect(m.memory.read8(0x449)).toBe(0x12);
    m.updateScreen();
    expect(m.screen().mode).toBe('vga 640x480x4');
  });

  it('AX=1130h returns the ROM font tables, whose bytes are the built fonts', () => {
    const { m } = postedPc();
    for (const [bh, h, offset] of [[2, 14, 0], [3, 8, 0], [4, 8, 0x400], [6, 16, 0]]) {
      const o = int10(m, { ax: 0x1130, bx: bh << 8 });
      expect(o.cx).toBe(16);
      expect(o.dx & 0xff).toBe(24);
      const lin = (o.es << 4) + o.bp;
      const expectedFont = buildFont(h).subarray(offset, offset + 128 * h);
      expect(Array.from(m.memory.mem.subarray(lin, lin + expectedFont.length)), `BH=${bh}`).toEqual(Array.from(expectedFont));
    }
    // INT 1Fh: the upper half of the 8x8 font.
    const up = int10(m, { ax: 0x1130, bx: 0x0000 });
    expect((up.es << 4) + up.bp).toBe(0xf0000 + 0xa000 + 0x400);
  });

  it('AX=1112h/1111h/1114h load the ROM fonts into plane 2 and change the rows', () => {
    const { m } = postedPc();
    for (const [al, h, rows] of [[0x12, 8, 50], [0x11, 14, 28], [0x14, 16, 25]]) {
      int10(m, { ax: 0x1100 | al, bx: 0 });
      const font = buildFont(h);
      for (const ch of [0x41, 0x82, 0xc9, 0xe1]) {
        for (let y = 0; y < 32; y++) expect(planeByte(m, 2, ch * 32 + y), `h=${h} ch=${ch.toString(16)} y=${y}`).toBe(y < h ? font[ch * h + y] : 0);
      }
      m.updateScreen();
      expect(m.screen().mode).toBe(`text 80x${rows}`);
      expect(m.memory.read8(0x484)).toBe(rows - 1);
      expect(m.vga.cr[9] & 0x1f).toBe(h - 1);
    }
  });

  it('AX=1100h loads a user glyph into a font block; AX=1103h selects the block', () => {
    const { m } = postedPc();
    const glyph = [0xff, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0x81, 0xff];
    m.memory.writeBytes(0x600, new Uint8Array(glyph));
    int10(m, { ax: 0x1100, bx: 0x1001, cx: 1, dx: 0x41, bp: 0x600 }); // block 1
    for (let y = 0; y < 16; y++) expect(planeByte(m, 2, 0x4000 + 0x41 * 32 + y)).toBe(glyph[y]);
    // Block 0 still has the ROM 'A'.
    expect(planeByte(m, 2, 0x41 * 32 + 3)).toBe(buildFont8x16()[0x41 * 16 + 3]);
    int10(m, { ax: 0x1103, bx: 0x05 }); // SR3: block 1 for both attribute sets
    expect(m.vga.sr[3]).toBe(0x05);
    int10(m, { ax: 0x0200, dx: 0 });
    int10(m, { ax: 0x0941, bx: 0x07, cx: 1 });
    m.updateScreen();
    expect(pixel(m, 0, 0)).not.toBe(0); // the box's top-left corner is lit
    expect(pixel(m, 3, 5)).toBe(0);
  });

  it('AX=1123h/1122h/1124h point INT 43h at the ROM fonts with the row count from BL', () => {
    const { m } = postedPc();
    int10(m, { ax: 0x12 });
    for (const [al, off, h] of [[0x23, 0xa000, 8], [0x22, 0x9000, 14], [0x24, 0x8000, 16]]) {
      int10(m, { ax: 0x1100 | al, bx: 0x0002 });
      expect(m.memory.read16(0x43 * 4)).toBe(off);
      expect(m.memory.read16(0x485)).toBe(h);
      expect(m.memory.read8(0x484)).toBe(24);
    }
  });
});
