// The video part of the BIOS ROM image (F000 segment): the three fonts, the VBE window
// function and OEM strings, and the INT 10h AH=1Bh static functionality table. rom.ts places
// it; the services return pointers into it.

import { buildFont } from './font.js';

/** Offsets in F000 (0x8000-0xAFFF is the video area; 8x8 lower half also at the IBM address FA6E). */
export const VIDEO_ROM = {
  font8x16: 0x8000, font8x14: 0x9000, font8x8: 0xa000,
  /** 9-dot alternate glyph table (empty: just the 00h terminator). */
  altFont: 0xa800,
  /** Far-callable 4F05h: mov ax,4F05h; int 10h; retf. */
  vbeWindowFunc: 0xa810,
  staticTable: 0xa820,
  vbeStrings: 0xa840,
  font8x8Ibm: 0xfa6e,
} as const;

/** OEM, vendor, product and revision strings of VBE 4F00h. */
export const VBE_OEM_STRINGS = ['Perseus VGA BIOS', 'Perseus', 'Perseus std-vga (1234:1111)', '1.0'];

export function vbeStringOffsets(): number[] {
  const out: number[] = [];
  let at: number = VIDEO_ROM.vbeStrings;
  for (const s of VBE_OEM_STRINGS) { out.push(at); at += s.length + 1; }
  return out;
}

/** Write the video area into the ROM with the layout's `put` (which checks overlaps). */
export function placeVideoRom(put: (offset: number, bytes: number[] | Uint8Array) => void): void {
  put(VIDEO_ROM.font8x16, buildFont(16));
  put(VIDEO_ROM.font8x14, buildFont(14));
  put(VIDEO_ROM.font8x8, buildFont(8));
  put(VIDEO_ROM.font8x8Ibm, buildFont(8).subarray(0, 0x400));
  put(VIDEO_ROM.altFont, [0x00]);
  put(VIDEO_ROM.vbeWindowFunc, [0xb8, 0x05, 0x4f, 0xcd, 0x10, 0xcb]);
  // Modes 0-7, 0Dh-0Fh, 10h-13h; 400-line text; 8 font blocks, 2 active; palette, font,
  // cursor emulation, DAC and colour paging; border colour.
  put(VIDEO_ROM.staticTable, [0xff, 0xe0, 0x0f, 0, 0, 0, 0, 0x04, 0x08, 0x02, 0xfd, 0x04, 0, 0, 0, 0]);
  const strings: number[] = [];
  for (const s of VBE_OEM_STRINGS) strings.push(...[...s].map((c) => c.charCodeAt(0)), 0);
  put(VIDEO_ROM.vbeStrings, strings);
}
