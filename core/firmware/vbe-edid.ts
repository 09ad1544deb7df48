// The EDID 1.3 block VBE/DDC (INT 10h AX=4F15h BL=01h) hands out: a digital flat panel named
// "Perseus VGA" whose preferred mode is 1024x768 at 60 Hz (VESA DMT timing), with the usual
// established and standard timings up to 1920x1200. Values are the EDID 1.3 field encodings.

function chromaticity(): number[] {
  // sRGB primaries and D65 white point as 10-bit fractions.
  const v = [0.64, 0.33, 0.3, 0.6, 0.15, 0.06, 0.3127, 0.329].map((f) => Math.round(f * 1024));
  const lo = (i: number) => v[i] & 3;
  return [
    (lo(0) << 6) | (lo(1) << 4) | (lo(2) << 2) | lo(3),
    (lo(4) << 6) | (lo(5) << 4) | (lo(6) << 2) | lo(7),
    ...v.map((x) => x >> 2),
  ];
}

/** Standard timing: width, aspect (0 16:10, 1 4:3, 2 5:4, 3 16:9), 60 Hz. */
const std = (width: number, aspect: number) => [width / 8 - 31, aspect << 6];

function text13(s: string): number[] {
  const out = [...s].map((c) => c.charCodeAt(0));
  if (out.length < 13) out.push(0x0a);
  while (out.length < 13) out.push(0x20);
  return out;
}

export function buildEdid(): Uint8Array {
  const letters = 'PRS'.split('').map((c) => c.charCodeAt(0) - 64);
  const maker = (letters[0] << 10) | (letters[1] << 5) | letters[2];
  const bytes = [
    0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
    maker >> 8, maker & 0xff, 0x01, 0x00, 0, 0, 0, 0, 1, 2026 - 1990, 1, 3,
    0x80, 40, 30, 120, 0x0e, // digital input, 40x30 cm, gamma 2.2, RGB colour + sRGB + preferred timing
    ...chromaticity(),
    0x21, 0x08, 0x00, // established: 640x480@60, 800x600@60, 1024x768@60
    ...std(1280, 2), ...std(1600, 1), ...std(1920, 3), ...std(1920, 0), ...std(1280, 0), ...std(1440, 0), ...std(1680, 0), ...std(1280, 3),
    // Preferred detailed timing: 1024x768, 65 MHz, H blank 320 (sync 24+136), V blank 38 (sync 3+6), 400x300 mm.
    0x64, 0x19, 0x00, 0x40, 0x41, 0x00, 0x26, 0x30, 0x18, 0x88, 0x36, 0x00, 0x90, 0x2c, 0x11, 0, 0, 0x18,
    // Range limits: 50-75 Hz, 30-80 kHz, 160 MHz.
    0, 0, 0, 0xfd, 0, 50, 75, 30, 80, 16, 0x00, 0x0a, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0, 0, 0, 0xfc, 0, ...text13('Perseus VGA'),
    0, 0, 0, 0x10, 0, ...Array(13).fill(0),
    0, // no extension blocks
  ];
  if (bytes.length !== 127) throw new Error(`edid: ${bytes.length} bytes before the checksum`);
  const sum = bytes.reduce((a, b) => a + b, 0);
  return Uint8Array.from([...bytes, (256 - (sum & 0xff)) & 0xff]);
}
