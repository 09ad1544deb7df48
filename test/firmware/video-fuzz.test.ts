// Bad guest input to INT 10h: random functions and registers never throw or hang the host, and
// the BIOS still works afterwards.
import { describe, expect, it } from 'vitest';
import { int10, postedPc } from './video-helpers.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s;
  };
}

describe('INT 10h with random registers', () => {
  it('200 random calls (all AH, VBE subfunctions, odd modes and sizes) return, and mode 3 still works after', () => {
    const { m } = postedPc();
    const next = rng(0x5eed);
    const ahs = [...Array(0x1d).keys(), 0x4f];
    for (let i = 0; i < 200; i++) {
      const ah = ahs[next() % ahs.length];
      const al = ah === 0x4f ? next() % 0x0c : ah === 0x00 ? [0x03, 0x12, 0x13, 0x04, 0x0d, 0x7f, 0x87][next() % 7] : next() & 0xff;
      const bx = ah === 0x4f && al === 0x02 ? [0x4143, 0x0101, 0x4102, 0xc1ff, 0x0003, 0x4150][next() % 6] : next() & 0xffff;
      const regs = { ax: (ah << 8) | al, bx, cx: next() & 0xffff, dx: next() & 0xffff, bp: 0x2000 + (next() & 0x0fff), di: 0x2000 + (next() & 0x0fff), es: 0 };
      expect(() => int10(m, regs), `call ${i}: ${JSON.stringify(regs)}`).not.toThrow();
      if (i % 10 === 0) m.updateScreen();
    }
    // The IVT entries the BIOS owns still point into its ROM.
    expect(m.memory.read16(0x10 * 4 + 2)).toBe(0xf000);
    int10(m, { ax: 0x0003 });
    int10(m, { ax: 0x1114, bx: 0 });
    int10(m, { ax: 0x0e4f, bx: 0 });
    int10(m, { ax: 0x0e4b, bx: 0 });
    m.updateScreen();
    expect(m.screen().mode).toBe('text 80x25');
    expect(m.screen().text).toContain('OK');
  });
});
