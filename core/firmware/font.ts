// The BIOS fonts (8x8, 8x14, 8x16), drawn for this project: every glyph is a 5x7 dot-matrix
// design (one hex byte per row, bit 4 = leftmost dot): printable ASCII here, the rest of CP437 in
// font-cp437.ts. The cell fonts scale the 7 rows vertically (8x16: doubled; 8x14: doubled but the
// middle row; 8x8: as drawn). CP437 box drawing, blocks and shades are generated per cell height
// from their line/area descriptions, so they join between cells.

import { cp437Glyphs } from './font-cp437.js';

const ASCII_5X7 = [
  '00000000000000', '04040404040004', '0a0a0000000000', '0a0a1f0a1f0a0a', '040f140e051e04', '18190204081303',
  '0c12140815120d', '04040000000000', '02040808080402', '08040202020408', '0004150e150400', '0004041f040400',
  '000000000c0408', '0000001f000000', '00000000000c0c', '00010204081000', '0e111315191 10e'.replace(' ', ''), '040c040404040e',
  '0e110102040 81f'.replace(' ', ''), '1f020402011 10e'.replace(' ', ''), '02060a121f0202', '1f101e0101110e', '0608101e11110e', '1f010204080808',
  '0e11110e11110e', '0e11110f01020c', '000c0c000c0c00', '000c0c000c0408', '02040810080402', '00001f001f0000',
  '08040201020408', '0e110102040004', '0e11010d15150e', '0e11111f111111', '1e11111e11111e', '0e11101010110e',
  '1c121111111 21c'.replace(' ', ''), '1f10101e10101f', '1f10101e101010', '0e111017111 10f'.replace(' ', ''), '1111111f111111', '0e04040404040e',
  '0702020202120c', '11121418141211', '1010101010101f', '111b1515111111', '11111915131111', '0e11111111110e',
  '1e11111e101010', '0e11111115120d', '1e11111e141211', '0f10100e01011e', '1f040404040404', '1111111111110e',
  '1111111111 0a04'.replace(' ', ''), '11111115151 50a'.replace(' ', ''), '11110a040a1111', '1111110a040404', '1f01020408101f', '0e08080808080e',
  '00100804020100', '0e02020202020e', '040a1100000000', '0000000000001f', '08040000000000', '00000e010f110f',
  '10101619111 11e'.replace(' ', ''), '00000e1010110e', '01010d1311110f', '00000e111f100e', '0609081c080808', '000f11110f010e',
  '10101619111111', '04000c0404040e', '020006020212 0c'.replace(' ', ''), '10101214181412', '0c04040404040e', '00001a15151111',
  '00001619111111', '00000e1111110e', '00001e111e1010', '00000d130f0101', '00001619101010', '00000e100e011e',
  '08081c08080906', '0000111111130d', '0000111111 0a04'.replace(' ', ''), '00001111151 50a'.replace(' ', ''), '0000110a040a11', '000011110f010e',
  '00001f0204081f', '02040408040402', '04040404040404', '08040402040408', '00000815020000',
];


// CP437 0xB3-0xDA: [up, down, left, right], 0 none, 1 single, 2 double line.
const BOX: number[][] = [
  [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 2, 0], [2, 2, 1, 0], [0, 2, 1, 0], [0, 1, 2, 0], [2, 2, 2, 0], [2, 2, 0, 0],
  [0, 2, 2, 0], [2, 0, 2, 0], [2, 0, 1, 0], [1, 0, 2, 0], [0, 1, 1, 0], [1, 0, 0, 1], [1, 0, 1, 1], [0, 1, 1, 1],
  [1, 1, 0, 1], [0, 0, 1, 1], [1, 1, 1, 1], [1, 1, 0, 2], [2, 2, 0, 1], [2, 0, 0, 2], [0, 2, 0, 2], [2, 0, 2, 2],
  [0, 2, 2, 2], [2, 2, 0, 2], [0, 0, 2, 2], [2, 2, 2, 2], [1, 0, 2, 2], [2, 0, 1, 1], [0, 1, 2, 2], [0, 2, 1, 1],
  [2, 0, 0, 1], [1, 0, 0, 2], [0, 1, 0, 2], [0, 2, 0, 1], [2, 2, 1, 1], [1, 1, 2, 2], [1, 0, 1, 0], [0, 1, 0, 1],
];

function boxGlyph(g: Uint8Array, h: number, [up, down, left, right]: number[]): void {
  const mid = (h >> 1) - 1; // the single horizontal line
  const vCols = (style: number) => (style === 2 ? 0x28 : 0x10); // columns 2,4 or 3
  const hRows = (style: number) => (style === 2 ? [mid - 1, mid + 2] : [mid]);
  for (let y = 0; y < h; y++) {
    if (up && y <= mid + 1) g[y] |= vCols(up);
    if (down && y >= mid) g[y] |= vCols(down);
  }
  if (left) for (const y of hRows(left)) g[y] |= 0xf8;
  if (right) for (const y of hRows(right)) g[y] |= 0x1f;
}

/** Source row (0-6) of each cell row, -1 for blank, per cell height. */
function rowMap(h: number): number[] {
  if (h === 16) return [-1, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, -1];
  if (h === 14) return [-1, 0, 0, 1, 1, 2, 2, 3, 4, 4, 5, 5, 6, 6];
  if (h === 8) return [0, 1, 2, 3, 4, 5, 6, -1];
  throw new Error(`font: no ${h}-row cell`);
}

function designs(): Map<number, string> {
  const all = new Map<number, string>();
  ASCII_5X7.forEach((hex, i) => all.set(0x20 + i, hex));
  for (const [code, hex] of cp437Glyphs((c) => ASCII_5X7[c.charCodeAt(0) - 0x20])) all.set(code, hex);
  return all;
}

const cache = new Map<number, Uint8Array>();

/** 256 glyphs x `h` rows (h = 8, 14 or 16), one byte per row, bit 7 = leftmost dot. */
export function buildFont(h: number): Uint8Array {
  const hit = cache.get(h);
  if (hit) return hit;
  const font = new Uint8Array(256 * h);
  const map = rowMap(h);
  for (const [code, hex] of designs()) {
    if (!/^[0-9a-f]{14}$/.test(hex)) throw new Error(`font: glyph ${code.toString(16)} malformed`);
    for (let y = 0; y < h; y++) {
      const r = map[y];
      if (r >= 0) font[code * h + y] = parseInt(hex.slice(r * 2, r * 2 + 2), 16) << 2;
    }
  }
  BOX.forEach((b, i) => boxGlyph(font.subarray((0xb3 + i) * h, (0xb4 + i) * h), h, b));
  const half = h >> 1;
  for (let y = 0; y < h; y++) {
    font[0xb0 * h + y] = y & 1 ? 0x22 : 0x88;
    font[0xb1 * h + y] = y & 1 ? 0x55 : 0xaa;
    font[0xb2 * h + y] = y & 1 ? 0xdd : 0x77;
    font[0xdb * h + y] = 0xff;
    font[0xdc * h + y] = y >= half ? 0xff : 0;
    font[0xdd * h + y] = 0xf0;
    font[0xde * h + y] = 0x0f;
    font[0xdf * h + y] = y < half ? 0xff : 0;
    font[0xfe * h + y] = y >= h >> 2 && y < h - (h >> 2) ? 0x7e : 0;
  }
  cache.set(h, font);
  return font;
}

export const buildFont8x16 = (): Uint8Array => buildFont(16);
export const buildFont8x14 = (): Uint8Array => buildFont(14);
export const buildFont8x8 = (): Uint8Array => buildFont(8);
