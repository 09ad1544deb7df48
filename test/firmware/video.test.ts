// INT 10h text mode through our VGA: the project's font is in the character generator and the
// screen renders it; teletype scrolls.
import { describe, expect, it } from 'vitest';
import { buildFont8x16 } from '../../core/firmware/font.js';
import { builtinPc, runUntilScreen } from './helpers.js';

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
