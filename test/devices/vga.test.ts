import { describe, expect, it } from 'vitest';
import { applyState, decodeState, encodeState } from '../../core/state/snapshot.js';
import { StateError } from '../../core/state/vmstate.js';
import { MODE_03, MODE_04, MODE_06, MODE_12, MODE_13, egaColour, glyphRow, loadEgaPalette, loadFont, makeRig, rgbaOf, setMode, type Rig } from './vga-helpers.js';

const LIGHT_GREY = rgbaOf(42, 42, 42);
const BLACK = rgbaOf(0, 0, 0);

function textRig(now?: () => number): Rig {
  const rig = makeRig(now ? { now } : {});
  setMode(rig, MODE_03);
  loadEgaPalette(rig);
  loadFont(rig);
  return rig;
}

function putText(rig: Rig, row: number, col: number, bytes: number[], attr = 0x07): void {
  bytes.forEach((b, i) => {
    const cell = 0xb8000 + (row * 80 + col + i) * 2;
    rig.memory.write8(cell, b);
    rig.memory.write8(cell + 1, attr);
  });
}

/** Expected colour of pixel (x, y) inside a 9x16 cell drawn with the synthetic font. */
function glyphPixel(c: number, x: number, y: number, fg: number, bg: number, lineGraphics = true): number {
  const bits = glyphRow(c, y);
  const on = x < 8 ? (bits >> (7 - x)) & 1 : lineGraphics && c >= 0xc0 && c <= 0xdf ? bits & 1 : 0;
  return on ? fg : bg;
}

describe('VGA text mode', () => {
  it('renders 80x25 text with a guest-loaded font and extracts it as Unicode', () => {
    const rig = textRig();
    const { vga } = rig;
    rig.crtc(0x0f, 10 * 80 + 40); // cursor away from the cells checked below
    putText(rig, 0, 0, [...'Hello, VGA'].map((c) => c.charCodeAt(0)));
    putText(rig, 2, 3, [0xc9, 0xcd, 0xbb, 0x20, 0xb0, 0xdb, 0x01]);
    putText(rig, 24, 79, [0x20]);
    const rects = vga.updateScreen();
    const s = vga.screen();
    expect(s.mode).toBe('text 80x25');
    expect([s.width, s.height]).toEqual([720, 400]);
    expect(rects).toContainEqual({ x: 0, y: 0, w: 720, h: 16 });
    const lines = s.text.split('\n');
    expect(lines).toHaveLength(25);
    expect(lines[0]).toBe('Hello, VGA');
    expect(lines[1]).toBe('');
    expect(lines[2]).toBe('   ╔═╗ ░█☺');

    // every pixel of the 'H' cell and of the '═' cell (0xCD: 9th column repeats bit 0)
    for (const [c, col, row] of [[0x48, 0, 0], [0xcd, 4, 2], [0x20, 79, 24]] as const) {
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 9; x++) {
          expect(rig.pixel(col * 9 + x, row * 16 + y)).toBe(glyphPixel(c, x, y, LIGHT_GREY, BLACK));
        }
      }
    }
  });

  it('uses attribute colours, 8-dot characters and the attribute palette', () => {
    const rig = textRig();
    putText(rig, 1, 1, [0x41], 0x1e); // yellow on blue
    rig.vga.updateScreen();
    const yellow = rgbaOf(63, 63, 21);
    const blue = rgbaOf(0, 0, 42);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 9; x++) expect(rig.pixel(9 + x, 16 + y)).toBe(glyphPixel(0x41, x, y, yellow, blue));

    // 8-dot clocking: 640 wide, cell at x=8
    rig.seq(1, 0x01);
    rig.vga.updateScreen();
    expect(rig.vga.screen().width).toBe(640);
    for (let x = 0; x < 8; x++) expect(rig.pixel(8 + x, 16 + 3)).toBe(glyphPixel(0x41, x, 3, yellow, blue));

    // remap attribute palette entry 1 to DAC 4 (red)
    rig.in(0x3da);
    rig.out(0x3c0, 0x01);
    rig.out(0x3c0, 0x04);
    rig.out(0x3c0, 0x20);
    rig.vga.updateScreen();
    const red = rgbaOf(42, 0, 0);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 8; x++) expect(rig.pixel(8 + x, 16 + y)).toBe(glyphPixel(0x41, x, y, yellow, red));
  });

  it('draws the cursor shape at the cursor location and blinks it', () => {
    let t = 0;
    const rig = textRig(() => t);
    putText(rig, 3, 10, [0x20]);
    rig.crtc(0x0e, 0);
    rig.crtc(0x0f, 3 * 80 + 10);
    rig.crtc(0x0a, 0x0d);
    rig.crtc(0x0b, 0x0f);
    rig.vga.updateScreen();
    const cx = 10 * 9, cy = 3 * 16;
    const blank = glyphPixel(0x20, 2, 12, LIGHT_GREY, BLACK);
    expect(rig.pixel(cx + 2, cy + 12)).toBe(blank);
    for (let line = 13; line <= 15; line++) expect(rig.pixel(cx + 2, cy + line)).toBe(LIGHT_GREY);

    // blink phase off (8 frames at 60 Hz later): only the cursor cell is redrawn
    t = 150;
    const rects = rig.vga.updateScreen();
    expect(rects).toEqual([{ x: cx, y: cy, w: 9, h: 16 }]);
    expect(rig.pixel(cx + 2, cy + 14)).toBe(glyphPixel(0x20, 2, 14, LIGHT_GREY, BLACK));

    // disabled cursor (CR0A bit 5) stays off in the "on" phase
    t = 300;
    rig.crtc(0x0a, 0x2d);
    rig.vga.updateScreen();
    expect(rig.pixel(cx + 2, cy + 14)).toBe(glyphPixel(0x20, 2, 14, LIGHT_GREY, BLACK));
  });

  it('blinks attribute bit 7 characters and uses bit 7 as background intensity when blink is off', () => {
    let t = 0;
    const rig = textRig(() => t);
    putText(rig, 0, 0, [0xdb], 0x9c); // blinking light red on blue
    rig.vga.updateScreen();
    const red = rgbaOf(63, 21, 21);
    const blue = rgbaOf(0, 0, 42);
    expect(rig.pixel(2, 5)).toBe(glyphPixel(0xdb, 2, 5, red, blue));
    t = 300; // blink off phase (16..31 frames)
    rig.vga.updateScreen();
    for (let y = 0; y < 16; y++) expect(rig.pixel(3, y)).toBe(blue);
    // attribute mode control without blink: background is colour 9 (light blue)
    rig.in(0x3da);
    rig.out(0x3c0, 0x10);
    rig.out(0x3c0, 0x04);
    rig.out(0x3c0, 0x20);
    rig.vga.updateScreen();
    expect(rig.pixel(2, 5)).toBe(glyphPixel(0xdb, 2, 5, red, rgbaOf(21, 21, 63)));
  });

  it('reports only changed cells after the first frame, and nothing when idle', () => {
    const rig = textRig();
    rig.crtc(0x0a, 0x20); // no cursor, so no blink traffic
    rig.vga.updateScreen();
    expect(rig.vga.updateScreen()).toEqual([]);
    putText(rig, 5, 7, [0x41, 0x42]);
    expect(rig.vga.updateScreen()).toEqual([{ x: 63, y: 80, w: 18, h: 16 }]);
    expect(rig.vga.updateScreen()).toEqual([]);
  });

  it('pans text horizontally by the attribute pixel panning register', () => {
    const rig = textRig();
    rig.crtc(0x0a, 0x20);
    putText(rig, 0, 0, [0x41, 0x42]);
    rig.vga.updateScreen();
    const before = [...Array(18).keys()].map((x) => rig.pixel(x, 5));
    rig.in(0x3da);
    rig.out(0x3c0, 0x33); // index 0x13 with palette source on
    rig.out(0x3c0, 0x02); // 9-dot text: shift 3 dots
    rig.vga.updateScreen();
    expect([...Array(15).keys()].map((x) => rig.pixel(x, 5))).toEqual(before.slice(3));
    rig.in(0x3da);
    rig.out(0x3c0, 0x33);
    rig.out(0x3c0, 0x08); // 8 means no shift
    rig.vga.updateScreen();
    expect([...Array(18).keys()].map((x) => rig.pixel(x, 5))).toEqual(before);
  });

  it('honours the start address and a font change redraws everything', () => {
    const rig = textRig();
    putText(rig, 1, 0, [0x58, 0x59]);
    rig.crtc(0x0c, 0);
    rig.crtc(0x0d, 80); // start one row down
    rig.vga.updateScreen();
    expect(rig.vga.screen().text.split('\n')[0]).toBe('XY');
    // rewrite the glyph of 'X' through plane 2
    rig.seq(2, 0x04);
    rig.seq(4, 0x06);
    rig.gfx(5, 0x00);
    rig.gfx(6, 0x04);
    for (let line = 0; line < 16; line++) rig.memory.write8(0xa0000 + 0x58 * 32 + line, 0xff);
    rig.seq(2, 0x03);
    rig.seq(4, 0x02);
    rig.gfx(5, 0x10);
    rig.gfx(6, 0x0e);
    const rects = rig.vga.updateScreen();
    expect(rects.length).toBe(25);
    for (let x = 0; x < 8; x++) expect(rig.pixel(x, 7)).toBe(LIGHT_GREY);
  });
});

describe('VGA registers', () => {
  it('write-protects CR0-CR7 with CR11 bit 7 except the line compare bit', () => {
    const rig = textRig();
    rig.crtc(0x11, 0x8e);
    rig.crtc(0x01, 0x27);
    rig.crtc(0x07, 0x00);
    rig.out(0x3d4, 0x01);
    expect(rig.in(0x3d5)).toBe(0x4f);
    rig.out(0x3d4, 0x07);
    expect(rig.in(0x3d5)).toBe(0x0f); // 0x1f with bit 4 cleared
    rig.crtc(0x11, 0x0e);
    rig.crtc(0x01, 0x27);
    rig.out(0x3d4, 0x01);
    expect(rig.in(0x3d5)).toBe(0x27);
  });

  it('decodes CRTC and status at 3Dx or 3Bx according to the misc register', () => {
    const rig = textRig();
    expect(rig.in(0x3cc)).toBe(0x67);
    expect(rig.in(0x3b4)).toBe(0xff);
    rig.out(0x3b4, 0x0c);
    rig.out(0x3d4, 0x0f);
    expect(rig.in(0x3d4)).toBe(0x0f);
    rig.out(0x3c2, 0x66); // mono addressing
    expect(rig.in(0x3d4)).toBe(0xff);
    rig.out(0x3b4, 0x0c);
    expect(rig.in(0x3b4)).toBe(0x0c);
    const a = rig.in(0x3ba), b = rig.in(0x3ba);
    expect((a ^ b) & 0x09).toBe(0x09); // retrace and display enable toggle for pollers
  });

  it('has an attribute flip-flop reset by reading input status 1', () => {
    const rig = textRig();
    rig.in(0x3da);
    rig.out(0x3c0, 0x05);
    expect(rig.in(0x3c0)).toBe(0); // data phase reads 0 (as QEMU and Bochs)
    rig.out(0x3c0, 0x2a);
    expect(rig.in(0x3c0)).toBe(0x05); // index phase again
    expect(rig.in(0x3c1)).toBe(0x2a);
    rig.out(0x3c0, 0x25); // index 5: the flip-flop now expects data...
    rig.in(0x3da); // ...until input status 1 is read: the next write is an index again
    rig.out(0x3c0, 0x33);
    expect(rig.vga.arIndex).toBe(0x33);
    expect(rig.vga.ar[5]).toBe(0x2a);
  });

  it('auto-increments DAC reads and writes and reports the DAC state', () => {
    const rig = textRig();
    rig.out(0x3c8, 0x10);
    for (const v of [1, 2, 3, 4, 5, 0x46]) rig.out(0x3c9, v);
    expect(rig.in(0x3c8)).toBe(0x12);
    expect(rig.in(0x3c7)).toBe(0);
    rig.out(0x3c7, 0x10);
    expect(rig.in(0x3c7)).toBe(3);
    expect([0, 1, 2, 3, 4, 5].map(() => rig.in(0x3c9))).toEqual([1, 2, 3, 4, 5, 6]);
    rig.out(0x3c6, 0xfe);
    expect(rig.in(0x3c6)).toBe(0xfe);
  });

  it('blanks the display while the attribute palette address source bit is clear', () => {
    const rig = textRig();
    putText(rig, 0, 0, [0xdb]);
    rig.vga.updateScreen();
    expect(glyphPixel(0xdb, 2, 1, LIGHT_GREY, BLACK)).toBe(LIGHT_GREY);
    expect(rig.pixel(2, 1)).toBe(LIGHT_GREY);
    rig.in(0x3da);
    rig.out(0x3c0, 0x00);
    expect(rig.vga.updateScreen()).toEqual([{ x: 0, y: 0, w: 720, h: 400 }]);
    expect(rig.vga.screen().mode).toBe('blank');
    expect(rig.pixel(2, 1)).toBe(BLACK);
  });
});

describe('VGA graphics modes', () => {
  it('mode 13h: chain-4 pixels, direct window mapping and row dirty rectangles', () => {
    const rig = makeRig();
    setMode(rig, MODE_13);
    rig.dac(5, 63, 0, 0);
    rig.dac(200, 0, 32, 63);
    expect(rig.memory.readMap[0xa0000 >>> 12]).toBeGreaterThanOrEqual(0); // backing, no MMIO call
    rig.memory.write8(0xa0000 + 10 * 320 + 20, 5);
    rig.memory.write8(0xa0000 + 199 * 320 + 319, 200);
    const rects = rig.vga.updateScreen();
    const s = rig.vga.screen();
    expect(s.mode).toBe('vga 320x200x8');
    expect([s.width, s.height]).toEqual([320, 200]);
    expect(rects).toEqual([{ x: 0, y: 0, w: 320, h: 200 }]);
    expect(rig.pixel(20, 10)).toBe(rgbaOf(63, 0, 0));
    expect(rig.pixel(319, 199)).toBe(rgbaOf(0, 32, 63));
    expect(rig.pixel(21, 10)).toBe(BLACK);
    expect(rig.memory.read8(0xa0000 + 10 * 320 + 20)).toBe(5);

    rig.memory.write8(0xa0000 + 50 * 320 + 7, 5);
    expect(rig.vga.updateScreen()).toEqual(expect.arrayContaining([expect.objectContaining({ x: 0, w: 320 })]));
    expect(rig.pixel(7, 50)).toBe(rgbaOf(63, 0, 0));
    const rows = rig.vga.updateScreen();
    expect(rows).toEqual([]);
    // a palette change repaints everything
    rig.dac(5, 0, 63, 0);
    expect(rig.vga.updateScreen()).toEqual([{ x: 0, y: 0, w: 320, h: 200 }]);
    expect(rig.pixel(20, 10)).toBe(rgbaOf(0, 63, 0));
  });

  it('mode 13h: start address and line compare split the screen', () => {
    const rig = makeRig();
    setMode(rig, MODE_13);
    rig.dac(1, 63, 63, 63);
    rig.memory.write8(0xa0000 + 0 * 320, 1); // row 0
    rig.memory.write8(0xa0000 + 10 * 320 + 1, 1); // row 10
    rig.crtc(0x0c, 0);
    rig.crtc(0x0c, (10 * 80) >> 8);
    rig.crtc(0x0d, (10 * 80) & 0xff); // start at row 10 (80 quads per row)
    rig.crtc(0x07, 0x0f); // line compare bit 8 = 0
    rig.crtc(0x09, 0x01); // line compare bit 9 = 0
    rig.crtc(0x18, 199); // after scanline 199 (output row 99) restart at address 0
    rig.vga.updateScreen();
    expect(rig.pixel(1, 0)).toBe(rgbaOf(63, 63, 63));
    expect(rig.pixel(0, 0)).toBe(BLACK);
    expect(rig.pixel(0, 100)).toBe(rgbaOf(63, 63, 63));
  });

  it('mode 13h: pixel panning in 2-dot steps, reset below the split in panning mode', () => {
    const rig = makeRig();
    setMode(rig, MODE_13);
    rig.dac(1, 63, 63, 63);
    rig.memory.write8(0xa0000 + 5, 1); // row 0, pixel 5
    rig.crtc(0x07, 0x0f);
    rig.crtc(0x09, 0x01);
    rig.crtc(0x18, 199); // output rows 100+ show memory row 0 again
    rig.in(0x3da);
    rig.out(0x3c0, 0x33);
    rig.out(0x3c0, 0x04); // 4 dots = 2 pixels
    rig.out(0x3c0, 0x30);
    rig.out(0x3c0, 0x61); // mode control with pixel panning mode (bit 5)
    rig.vga.updateScreen();
    expect(rig.pixel(3, 0)).toBe(rgbaOf(63, 63, 63));
    expect(rig.pixel(5, 0)).toBe(BLACK);
    expect(rig.pixel(5, 100)).toBe(rgbaOf(63, 63, 63)); // below the split: not panned
  });

  it('mode X: unchained 256-colour planes', () => {
    const rig = makeRig();
    setMode(rig, MODE_13);
    rig.seq(4, 0x06); // chain-4 off
    rig.crtc(0x14, 0x00);
    rig.crtc(0x17, 0xe3);
    rig.dac(9, 10, 20, 30);
    rig.seq(2, 0x02); // plane 1: pixels 1, 5, 9, ...
    rig.memory.write8(0xa0000 + 3, 9); // plane address 3 → pixel 13
    rig.seq(2, 0x0f);
    rig.vga.updateScreen();
    expect(rig.vga.screen().mode).toBe('vga 320x200x8');
    expect(rig.pixel(13, 0)).toBe(rgbaOf(10, 20, 30));
    expect(rig.pixel(12, 0)).toBe(BLACK);
    expect(rig.memory.readMap[0xa0000 >>> 12]).toBeLessThan(0); // back to the MMIO path
    rig.gfx(4, 1);
    expect(rig.memory.read8(0xa0000 + 3)).toBe(9);
  });

  it('mode 12h: planar write modes 0-3, logical ops, latches and read modes', () => {
    const rig = makeRig();
    setMode(rig, MODE_12);
    loadEgaPalette(rig);
    const { memory, vga } = rig;
    const quad = (addr: number) => vga.vram32[addr] >>> 0;

    // write mode 0 with set/reset on all planes: colour 12 in the leftmost pixel only
    rig.gfx(0, 0x0c);
    rig.gfx(1, 0x0f);
    rig.gfx(8, 0x80);
    memory.read8(0xa0000); // load latches (all zero)
    memory.write8(0xa0000, 0xff);
    expect(quad(0)).toBe(0x80800000);

    // write mode 0 without set/reset: rotate by 1 and XOR with latches, plane 0 only
    rig.gfx(1, 0x00);
    rig.gfx(8, 0xff);
    rig.gfx(3, 0x18 | 1); // XOR, rotate right 1
    rig.seq(2, 0x01);
    memory.read8(0xa0000 + 1); // latches = 0
    memory.write8(0xa0000 + 1, 0x03); // ror 1 → 0x81
    expect(quad(1)).toBe(0x00000081);
    memory.read8(0xa0000 + 1); // latches = quad 1
    memory.write8(0xa0000 + 1, 0x02); // 0x01 ^ 0x81 = 0x80
    expect(quad(1)).toBe(0x00000080);
    rig.gfx(3, 0x08); // AND
    memory.read8(0xa0000 + 1);
    memory.write8(0xa0000 + 1, 0xc0);
    expect(quad(1)).toBe(0x00000080);
    rig.gfx(3, 0x10); // OR
    memory.read8(0xa0000 + 1);
    memory.write8(0xa0000 + 1, 0x01);
    expect(quad(1)).toBe(0x00000081);
    rig.gfx(3, 0x00);
    rig.seq(2, 0x0f);

    // write mode 1: copy latches (quad 0) to address 2
    rig.gfx(5, 0x01);
    memory.read8(0xa0000);
    memory.write8(0xa0000 + 2, 0x00);
    expect(quad(2)).toBe(0x80800000);

    // write mode 2: colour 5 through bit mask 0x0f
    rig.gfx(5, 0x02);
    rig.gfx(8, 0x0f);
    memory.read8(0xa0000 + 3);
    memory.write8(0xa0000 + 3, 0x05);
    expect(quad(3)).toBe(0x000f000f);

    // write mode 3: set/reset colour, bit mask ANDed with the rotated data
    rig.gfx(5, 0x03);
    rig.gfx(0, 0x0a);
    rig.gfx(8, 0xf0);
    memory.read8(0xa0000 + 4);
    memory.write8(0xa0000 + 4, 0x3c);
    expect(quad(4)).toBe(0x30003000);

    // read mode 0 with read map select, read mode 1 colour compare
    rig.gfx(5, 0x00);
    rig.gfx(4, 0x03);
    expect(memory.read8(0xa0000 + 4)).toBe(0x30);
    rig.gfx(4, 0x02);
    expect(memory.read8(0xa0000 + 4)).toBe(0x00);
    rig.gfx(5, 0x08);
    rig.gfx(2, 0x0a); // compare colour 10
    rig.gfx(7, 0x0f);
    expect(memory.read8(0xa0000 + 4)).toBe(0x30);
    rig.gfx(7, 0x00); // colour don't care everywhere: all match
    expect(memory.read8(0xa0000 + 4)).toBe(0xff);
    rig.gfx(5, 0x00);
    rig.gfx(8, 0xff);

    const rects = vga.updateScreen();
    const s = vga.screen();
    expect(s.mode).toBe('vga 640x480x4');
    expect([s.width, s.height]).toEqual([640, 480]);
    expect(rects).toEqual([{ x: 0, y: 0, w: 640, h: 480 }]);
    expect(rig.pixel(0, 0)).toBe(rgbaOf(63, 21, 21)); // colour 12 → attr 0x3c → light red
    expect(rig.pixel(1, 0)).toBe(BLACK);
    expect(rig.pixel(8, 0)).toBe(rgbaOf(0, 0, 42)); // quad 1 bit 7 plane 0 → colour 1, blue
    expect(rig.pixel(15, 0)).toBe(rgbaOf(0, 0, 42));
    expect(rig.pixel(28, 0)).toBe(rgbaOf(42, 0, 42)); // colour 5 magenta
    expect(rig.pixel(34, 0)).toBe(egaColour(0x3a)); // colour 10 (planes 1, 3) → attr 0x3a
    expect(rig.pixel(36, 0)).toBe(BLACK);

    // colour plane enable masks planes out of the picture
    rig.in(0x3da);
    rig.out(0x3c0, 0x12);
    rig.out(0x3c0, 0x01);
    rig.out(0x3c0, 0x20);
    vga.updateScreen();
    expect(rig.pixel(28, 0)).toBe(rgbaOf(0, 0, 42)); // 5 & 1 = 1
    expect(vga.screen().mode).toBe('vga 640x480x1');
  });

  it('mode 04h: CGA 320x200 four colours with odd/even banks', () => {
    const rig = makeRig();
    setMode(rig, MODE_04);
    loadEgaPalette(rig);
    rig.memory.write8(0xb8000, 0xe4); // pixels 3, 2, 1, 0
    rig.memory.write8(0xb8001, 0x1b); // pixels 0, 1, 2, 3
    rig.memory.write8(0xb8000 + 0x2000, 0xc0); // row 1 pixel 0 = 3
    rig.memory.write8(0xb8000 + 80, 0x40); // row 2 pixel 0 = 1
    rig.vga.updateScreen();
    const s = rig.vga.screen();
    expect(s.mode).toBe('cga 320x200x2');
    expect([s.width, s.height]).toEqual([320, 200]);
    const c1 = egaColour(0x13), c2 = egaColour(0x15), c3 = egaColour(0x17);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((x) => rig.pixel(x, 0))).toEqual([c3, c2, c1, BLACK, BLACK, c1, c2, c3]);
    expect(rig.pixel(0, 1)).toBe(c3);
    expect(rig.pixel(0, 2)).toBe(c1);
    expect(rig.pixel(0, 3)).toBe(BLACK);
  });

  it('mode 06h: CGA 640x200 two colours', () => {
    const rig = makeRig();
    setMode(rig, MODE_06);
    loadEgaPalette(rig);
    rig.memory.write8(0xb8000, 0x81);
    rig.memory.write8(0xb8000 + 0x2000 + 1, 0x80); // row 1, pixel 8
    rig.vga.updateScreen();
    const s = rig.vga.screen();
    expect([s.width, s.height]).toEqual([640, 200]);
    const white = egaColour(0x17);
    expect([rig.pixel(0, 0), rig.pixel(1, 0), rig.pixel(7, 0), rig.pixel(8, 1), rig.pixel(8, 0)]).toEqual([white, BLACK, white, white, BLACK]);
  });
});

describe('VGA memory map select', () => {
  it('decodes 128K at A0000, 32K at B0000 and 32K at B8000, open bus elsewhere', () => {
    const rig = makeRig();
    setMode(rig, MODE_12); // planar, sequential: address = plane offset
    rig.seq(2, 0x01);
    rig.gfx(4, 0x00);
    const { memory, vga } = rig;
    rig.gfx(6, 0x01); // map 0: A0000-BFFFF
    memory.write8(0xb0010, 0x5a);
    expect(vga.vram32[0x10010] & 0xff).toBe(0x5a);
    expect(memory.read8(0xb0010)).toBe(0x5a);
    rig.gfx(6, 0x09); // map 2: B0000-B7FFF
    expect(memory.read8(0xa0000)).toBe(0xff);
    expect(memory.read8(0xb8000)).toBe(0xff);
    memory.write8(0xb0004, 0x33);
    expect(vga.vram32[4] & 0xff).toBe(0x33);
    memory.write8(0xa0004, 0x77); // not decoded: dropped
    expect(vga.vram32[4] & 0xff).toBe(0x33);
    rig.gfx(6, 0x0d); // map 3: B8000-BFFFF
    expect(memory.read8(0xb8004)).toBe(0x33);
    expect(memory.read8(0xb0004)).toBe(0xff);
  });
});

describe('Bochs VBE', () => {
  it('identifies itself and reports capabilities and memory', () => {
    const rig = makeRig();
    expect(rig.dispiRead(0)).toBe(0xb0c5);
    rig.dispi(0, 0xb0c0);
    expect(rig.dispiRead(0)).toBe(0xb0c0);
    rig.dispi(0, 0x1234);
    expect(rig.dispiRead(0)).toBe(0xb0c0);
    expect(rig.dispiRead(10)).toBe(256);
    rig.dispi(4, 0x02);
    expect([rig.dispiRead(1), rig.dispiRead(2), rig.dispiRead(3)]).toEqual([2560, 1600, 32]);
    rig.dispi(4, 0x00);
    expect(rig.dispiRead(1)).toBe(0);
  });

  it('sets 800x600x32 with the LFB, renders pixels and reports dirty rows', () => {
    const rig = makeRig();
    setMode(rig, MODE_03);
    rig.vga.updateScreen();
    rig.dispi(4, 0);
    rig.dispi(1, 800);
    rig.dispi(2, 600);
    rig.dispi(3, 32);
    rig.dispi(4, 0x41);
    expect(rig.dispiRead(6)).toBe(800);
    expect(rig.dispiRead(7)).toBe(Math.floor((16 << 20) / 3200));
    const lfb = 0xe0000000;
    rig.memory.write32(lfb + (123 * 800 + 456) * 4, 0x00ff8010);
    rig.memory.write32(lfb + (599 * 800 + 799) * 4, 0x000000ff);
    let rects = rig.vga.updateScreen();
    const s = rig.vga.screen();
    expect(s.mode).toBe('vbe 800x600x32');
    expect([s.width, s.height, s.text]).toEqual([800, 600, '']);
    expect(rects).toEqual([{ x: 0, y: 0, w: 800, h: 600 }]);
    expect(rig.pixel(456, 123)).toBe(0xff8010ff);
    expect(rig.pixel(799, 599)).toBe(0x0000ffff);
    expect(rig.pixel(0, 0)).toBe(0x000000ff);

    expect(rig.vga.updateScreen()).toEqual([]);
    rig.memory.write32(lfb + (300 * 800 + 10) * 4, 0x00123456);
    rects = rig.vga.updateScreen();
    // one 4 KiB page spans rows 299-300 (3200 bytes per row): only rows touching it are redrawn
    expect(rects.length).toBe(1);
    expect(rects[0].y).toBeLessThanOrEqual(300);
    expect(rects[0].y + rects[0].h).toBeGreaterThan(300);
    expect(rects[0].h).toBeLessThanOrEqual(3);
    expect(rig.pixel(10, 300)).toBe(0x123456ff);
    // the page is watched again: the next write is seen too
    rig.memory.write32(lfb + (300 * 800 + 11) * 4, 0x00abcdef);
    expect(rig.vga.updateScreen().length).toBe(1);
    expect(rig.pixel(11, 300)).toBe(0xabcdefff);

    // someone replacing memory.onWatchedWrite without chaining: detected, hook restored
    let seen = 0;
    rig.memory.onWatchedWrite = () => { seen++; };
    rig.memory.write32(lfb + (500 * 800 + 1) * 4, 0x00010203);
    rects = rig.vga.updateScreen();
    expect(rects).toEqual([{ x: 0, y: 0, w: 800, h: 600 }]);
    expect(rig.pixel(1, 500)).toBe(0x010203ff);
    expect(seen).toBeGreaterThan(0);
    rig.memory.write32(lfb + (501 * 800 + 1) * 4, 0x00040506);
    expect(rig.vga.updateScreen()).toHaveLength(1);
    expect(rig.pixel(1, 501)).toBe(0x040506ff);

    // moving the BAR moves the LFB
    rig.vga.mapLfb(0xf0000000);
    expect(rig.memory.read32(0xf0000000 + (300 * 800 + 11) * 4)).toBe(0x00abcdef);
    expect(rig.memory.read8(lfb)).toBe(0xff);
  });

  it('banked window, 16/15/24/8 bpp, display start offsets and 8-bit DAC', () => {
    const rig = makeRig();
    setMode(rig, MODE_03);
    rig.dispi(1, 640);
    rig.dispi(2, 480);
    rig.dispi(3, 16);
    rig.dispi(4, 0x01); // banked only
    expect(rig.vga.gr[6] & 0x0c).toBe(0x04); // 64K window at A0000
    rig.dispi(5, 1);
    // 640*2 bytes per row: byte 65536 is row 51, x 128
    rig.memory.write16(0xa0000, 0xf800); // red in 5-6-5
    expect(rig.vga.vram[65537]).toBe(0xf8);
    rig.vga.updateScreen();
    expect(rig.vga.screen().mode).toBe('vbe 640x480x16');
    expect(rig.pixel(128, 51)).toBe(0xff0000ff);

    rig.dispi(3, 15); // 0xf800 in 5-5-5 is red 30 of 31
    rig.vga.updateScreen();
    expect(rig.pixel(128, 51)).toBe(0xf70000ff);

    rig.dispi(3, 24);
    rig.vga.vram.set([0x11, 0x22, 0x33], 3 * 5);
    rig.vga.updateScreen();
    expect(rig.pixel(5, 0)).toBe(0x332211ff);

    rig.dispi(3, 8);
    rig.dac(7, 63, 0, 63);
    rig.vga.vram[2] = 7;
    rig.vga.updateScreen();
    expect(rig.pixel(2, 0)).toBe(rgbaOf(63, 0, 63));
    // display start: y offset 1 shows row 1 at the top
    rig.vga.vram[640 + 3] = 7;
    rig.dispi(9, 1);
    rig.vga.updateScreen();
    expect(rig.pixel(3, 0)).toBe(rgbaOf(63, 0, 63));
    // 8-bit DAC
    rig.dispi(4, 0x21);
    rig.dac(7, 0x80, 0x40, 0x20);
    rig.vga.updateScreen();
    expect(rig.pixel(3, 0)).toBe(0x804020ff);
    // disabling VBE returns to the VGA text mode and resets the bank
    rig.dispi(4, 0);
    expect(rig.vga.bankOffset).toBe(0);
  });

  it('clears video memory on enable unless NOCLEARMEM is set', () => {
    const rig = makeRig();
    rig.vga.vram.fill(0x11, 0, 640 * 480);
    rig.dispi(1, 640);
    rig.dispi(2, 480);
    rig.dispi(3, 8);
    rig.dispi(4, 0x81); // enabled, keep memory
    expect(rig.vga.vram[1000]).toBe(0x11);
    rig.dispi(4, 0x00);
    rig.dispi(4, 0x01);
    expect(rig.vga.vram[1000]).toBe(0);
    expect(rig.vga.vram[640 * 480]).toBe(0);
  });

  it('exposes VGA ports and DISPI registers through the MMIO BAR like QEMU std-vga', () => {
    const rig = makeRig();
    rig.vga.mapMmioBar(0xfebf0000);
    const bar = 0xfebf0000;
    expect(rig.memory.read16(bar + 0x500)).toBe(0xb0c5);
    rig.memory.write16(bar + 0x502, 1024);
    rig.memory.write16(bar + 0x504, 768);
    rig.memory.write16(bar + 0x506, 32);
    rig.memory.write16(bar + 0x508, 0x41);
    expect(rig.dispiRead(1)).toBe(1024);
    expect(rig.memory.read16(bar + 0x514)).toBe(256);
    rig.memory.write8(bar + 0x400, 0x20); // 0x3C0: palette address source (QEMU maps 3C0-3DF at 0x400)
    rig.memory.write8(bar + 0x408, 0x01); // 0x3C8
    for (const v of [0x3f, 0x20, 0x10]) rig.memory.write8(bar + 0x409, v);
    expect([...rig.vga.dac.subarray(3, 6)]).toEqual([0x3f, 0x20, 0x10]);
    expect(rig.memory.read32(bar + 0x604)).toBe(0x1e1e1e1e);
    rig.vga.updateScreen();
    expect(rig.vga.screen().mode).toBe('vbe 1024x768x32');
    rig.vga.mapMmioBar(null);
    expect(rig.memory.read16(bar + 0x500)).toBe(0xffff);
  });

  it('renders into framebuffers from the host allocator when one is given', () => {
    const buffers: Uint8ClampedArray[] = [];
    const rig = makeRig({ allocateFramebuffer: (bytes) => { const b = new Uint8ClampedArray(new SharedArrayBuffer(bytes)); buffers.push(b); return b; } });
    rig.dispi(1, 320);
    rig.dispi(2, 200);
    rig.dispi(3, 32);
    rig.dispi(4, 0x41);
    rig.out(0x3c0, 0x20);
    rig.memory.write32(0xe0000000 + 4 * 7, 0x00332211);
    rig.vga.updateScreen();
    const s = rig.vga.screen();
    expect(s.rgba).toBe(buffers[buffers.length - 1]);
    expect(s.rgba.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(rig.pixel(7, 0)).toBe(0x332211ff);
  });

  it('clamps unsupported values the way QEMU does', () => {
    const rig = makeRig({ vramBytes: 1 << 20 });
    rig.dispi(1, 1283);
    rig.dispi(2, 1024);
    rig.dispi(3, 13);
    rig.dispi(4, 0x41);
    expect(rig.dispiRead(3)).toBe(8);
    expect(rig.dispiRead(1)).toBe(1280);
    expect(rig.dispiRead(2)).toBe(819); // 1 MiB / 1280
    rig.dispi(5, 0xffff);
    expect(rig.dispiRead(5)).toBe(15);
  });
});

describe('VGA robustness', () => {
  it('survives a guest writing random registers and memory (bounded screen, valid rects, state round trip)', () => {
    const rig = makeRig({ vramBytes: 1 << 20 });
    let seed = 0x12345678;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const kinds = new Set<string>();
    const ports = [0x3b4, 0x3b5, 0x3ba, 0x3c0, 0x3c2, 0x3c4, 0x3c5, 0x3c5, 0x3c6, 0x3c7, 0x3c8, 0x3c9, 0x3ce, 0x3cf, 0x3cf, 0x3d4, 0x3d5, 0x3d5, 0x3da];
    for (let i = 0; i < 30000; i++) {
      const op = rand(10);
      if (op < 5) rig.out(ports[rand(ports.length)], rand(256));
      else if (op === 5) rig.in(ports[rand(ports.length)]);
      else if (op === 6) rig.dispi(rand(12), rand(4) === 0 ? rand(0x10000) : [0, 0x41, 0x01, 640, 480, 8, 32, 3, 0xc1][rand(9)]);
      else if (op === 7) rig.memory.write8(0xa0000 + rand(0x20000), rand(256));
      else if (op === 8) rig.memory.read8(0xa0000 + rand(0x20000));
      else rig.memory.write32(0xe0000000 + rand(1 << 20), rand(0x10000) * 0x10001);
      if (i % 300 === 0) {
        // keep the picture on (palette source) and mostly in VGA modes so every renderer runs
        if (rand(3) !== 0) rig.dispi(4, 0);
        rig.in(0x3da);
        rig.out(0x3c0, 0x20 | rand(0x20));
        const rects = rig.vga.updateScreen();
        const s = rig.vga.screen();
        kinds.add(s.mode.split(' ')[0]);
        expect(s.width).toBeGreaterThan(0);
        expect(s.height).toBeGreaterThan(0);
        expect(s.width).toBeLessThanOrEqual(4096);
        expect(s.height).toBeLessThanOrEqual(2048);
        expect(s.rgba.length).toBe(s.width * s.height * 4);
        for (const r of rects) {
          expect(r.x >= 0 && r.y >= 0 && r.w > 0 && r.h > 0).toBe(true);
          expect(r.x + r.w).toBeLessThanOrEqual(s.width);
          expect(r.y + r.h).toBeLessThanOrEqual(s.height);
        }
      }
    }
    expect(kinds.size).toBeGreaterThanOrEqual(3); // the fuzz reached several renderers
    const file = encodeState([rig.vga]);
    const other = makeRig({ vramBytes: 1 << 20 });
    applyState([other.vga], decodeState(file));
    expect(Buffer.from(encodeState([other.vga])).equals(Buffer.from(file))).toBe(true);
  });
});

describe('VGA state', () => {
  it('save → load → save is byte-identical and restores the picture', () => {
    const rig = textRig();
    putText(rig, 4, 4, [...'State!'].map((c) => c.charCodeAt(0)), 0x1f);
    rig.crtc(0x0f, 4 * 80 + 9);
    rig.in(0x3da);
    rig.out(0x3c0, 0x31); // leave the flip-flop in the data phase
    rig.vga.updateScreen();
    const first = encodeState([rig.vga], { test: 1 });

    const other = makeRig();
    applyState([other.vga], decodeState(first));
    const second = encodeState([other.vga], { test: 1 });
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
    other.vga.updateScreen();
    rig.vga.updateScreen();
    expect(other.vga.screen().text).toBe(rig.vga.screen().text);
    expect(other.vga.screen().text.split('\n')[4]).toBe('    State!');
    expect(Buffer.from(other.vga.screen().rgba).equals(Buffer.from(rig.vga.screen().rgba))).toBe(true);
    // the flip-flop survived: the next 3C0 write is data for index 0x11
    other.out(0x3c0, 0x05);
    expect(other.vga.ar[0x11]).toBe(0x05);
  });

  it('restores VBE mode, bank mapping and the LFB base', () => {
    const rig = makeRig();
    setMode(rig, MODE_03);
    rig.dispi(1, 320);
    rig.dispi(2, 200);
    rig.dispi(3, 32);
    rig.dispi(4, 0x41);
    rig.dispi(5, 2);
    rig.vga.mapLfb(0xd0000000);
    rig.memory.write32(0xd0000000 + 4 * 10, 0x00445566);
    const file = encodeState([rig.vga]);
    const other = makeRig();
    applyState([other.vga], decodeState(file));
    expect(other.memory.read32(0xd0000000 + 4 * 10)).toBe(0x00445566);
    other.memory.write8(0xa0000, 0x99);
    expect(other.vga.vram[2 << 16]).toBe(0x99);
    other.vga.updateScreen();
    expect(other.vga.screen().mode).toBe('vbe 320x200x32');
    expect(other.pixel(10, 0)).toBe(0x445566ff);
    expect(other.memory.read8(0xe0000000)).toBe(0xff); // the old LFB mapping is gone
  });

  it('refuses a state saved with a different VRAM size', () => {
    const small = makeRig({ vramBytes: 1 << 20 });
    const file = encodeState([small.vga]);
    const big = makeRig();
    expect(() => applyState([big.vga], decodeState(file))).toThrow(StateError);
  });
});
