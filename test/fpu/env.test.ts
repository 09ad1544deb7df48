// FSTENV/FLDENV/FSAVE/FRSTOR images in the four formats, tag word computation, snapshots.
import { describe, expect, it } from 'vitest';
import { applyState, decodeState, encodeState } from '../../core/state/snapshot.js';
import { M, type Rig, cwFor, exec, fld80, fldcw, hex80, makeRig, st } from './harness.js';

const IMG = 0x400;
const ONE = { se: 0x3fff, hi: 0x80000000, lo: 0 };

/** A machine with known state: 4 values pushed (zero, denormal, NaN, normal), a masked ZE. */
function prepared(): Rig {
  const r = makeRig();
  fldcw(r, cwFor(2, 1, 0x3f));
  fld80(r, { se: 0, hi: 0, lo: 0 });
  fld80(r, { se: 0, hi: 0x40000000, lo: 0 });
  fld80(r, { se: 0x7fff, hi: 0xc0000000, lo: 0 });
  // The last non-control instruction: FLD m80 at cs:ip = 0x1234:0x0010, operand ds:0x0300.
  r.mem.write32(0x300, 0); r.mem.write32(0x304, 0x80000000); r.mem.write16(0x308, 0x3fff);
  exec(r, 0xdb, M(5), 0x300, true, false, { ip: 0x0010, cs: 0x1234, dp: 0x0300, ds: 0x2000, fop: 0 });
  return r;
}

describe('environment images', () => {
  it('32-bit protected mode layout', () => {
    const r = prepared();
    exec(r, 0xd9, M(6), IMG, true, false);
    const m = r.mem;
    expect(m.read16(IMG)).toBe(cwFor(2, 1, 0x3f));
    expect(m.read16(IMG + 4)).toBe(r.fpu.statusWord);
    expect((r.fpu.statusWord >>> 11) & 7).toBe(4);
    // Physical regs 7..4 hold zero(7), denormal(6), NaN(5), normal(4); 3..0 empty.
    expect(m.read16(IMG + 8)).toBe((1 << 14) | (2 << 12) | (2 << 10) | (0 << 8) | 0xff);
    expect(m.read32(IMG + 12)).toBe(0x0010);
    expect(m.read32(IMG + 16)).toBe((0x328 << 16) | 0x1234); // FOP = (DB & 7) << 8 | modrm 28
    expect(m.read32(IMG + 20)).toBe(0x0300);
    expect(m.read16(IMG + 24)).toBe(0x2000);
  });

  it('16-bit protected, 32-bit real and 16-bit real layouts', () => {
    const r = prepared();
    exec(r, 0xd9, M(6), IMG, false, false);
    const m = r.mem;
    expect([m.read16(IMG + 6), m.read16(IMG + 8), m.read16(IMG + 10), m.read16(IMG + 12)]).toEqual([0x0010, 0x1234, 0x0300, 0x2000]);
    // Real mode: linear pointers 0x1234 * 16 + 0x10 = 0x12350, 0x2000 * 16 + 0x300 = 0x20300.
    const q = prepared();
    exec(q, 0xd9, M(6), IMG, true, true);
    expect(q.mem.read16(IMG + 12)).toBe(0x2350);
    expect(q.mem.read32(IMG + 16)).toBe((0x0001 << 12) | 0x328);
    expect(q.mem.read16(IMG + 20)).toBe(0x0300);
    expect(q.mem.read32(IMG + 24)).toBe(0x0002 << 12);
    const s = prepared();
    exec(s, 0xd9, M(6), IMG, false, true);
    expect([s.mem.read16(IMG + 6), s.mem.read16(IMG + 8), s.mem.read16(IMG + 10), s.mem.read16(IMG + 12)])
      .toEqual([0x2350, (1 << 12) | 0x328, 0x0300, 2 << 12]);
  });

  it('FNSTENV masks all exceptions afterwards; FLDENV restores the image exactly', () => {
    for (const [op32, real] of [[true, false], [false, false], [true, true], [false, true]] as const) {
      const r = prepared();
      exec(r, 0xd9, M(6), IMG, op32, real);
      expect(r.fpu.controlWord & 0x3f).toBe(0x3f);
      const size = op32 ? 28 : 14;
      const image = r.mem.bytes.slice(IMG, IMG + size);
      const t = makeRig();
      t.mem.bytes.set(image, IMG);
      exec(t, 0xd9, M(4), IMG, op32, real);
      exec(t, 0xd9, M(6), IMG + 0x100, op32, real);
      const tags = t.mem.read16(IMG + 0x100 + (op32 ? 8 : 4));
      // The tags follow the new unit's registers (all +0 after reset); empty ones match.
      expect(tags & 0xff).toBe(0xff);
      expect([...t.mem.bytes.slice(IMG + 0x100, IMG + 0x100 + size)].filter((_, k) => k !== (op32 ? 8 : 4) && k !== (op32 ? 9 : 5)))
        .toEqual([...image].filter((_, k) => k !== (op32 ? 8 : 4) && k !== (op32 ? 9 : 5)));
    }
  });

  it('FSAVE stores the stack in ST order and reinitializes; FRSTOR brings it all back', () => {
    for (const [op32, real] of [[true, false], [false, false], [true, true], [false, true]] as const) {
      const r = prepared();
      const sw = r.fpu.statusWord, cw = r.fpu.controlWord;
      const regs = [0, 1, 2, 3].map((i) => hex80(st(r, i)));
      exec(r, 0xdd, M(6), IMG, op32, real);
      const size = op32 ? 28 : 14;
      expect(r.fpu.controlWord).toBe(0x037f);
      expect(r.fpu.statusWord).toBe(0);
      expect(r.fpu.fullTagWord).toBe(0xffff);
      for (let i = 0; i < 4; i++) {
        const a = IMG + size + 10 * i;
        expect(hex80({ lo: r.mem.read32(a), hi: r.mem.read32(a + 4), se: r.mem.read16(a + 8) })).toBe(regs[i]);
      }
      exec(r, 0xdd, M(4), IMG, op32, real);
      expect(r.fpu.statusWord).toBe(sw);
      expect(r.fpu.controlWord).toBe(cw);
      expect([0, 1, 2, 3].map((i) => hex80(st(r, i)))).toEqual(regs);
      expect(r.fpu.abridgedTagWord).toBe(0xf0);
    }
  });
});

describe('FXSAVE / FXRSTOR image (x87 part)', () => {
  it('stores the legacy layout and restores it without reinitializing', () => {
    const r = prepared();
    r.fpu.fxsave(IMG);
    const m = r.mem;
    expect(m.read16(IMG)).toBe(r.fpu.controlWord);
    expect(m.read16(IMG + 2)).toBe(r.fpu.statusWord);
    expect(m.read8(IMG + 4)).toBe(0xf0); // physical registers 4..7 in use
    expect(m.read16(IMG + 6)).toBe(0x328);
    expect([m.read32(IMG + 8), m.read16(IMG + 12), m.read32(IMG + 16), m.read16(IMG + 20)]).toEqual([0x10, 0x1234, 0x300, 0x2000]);
    expect(hex80({ lo: m.read32(IMG + 32), hi: m.read32(IMG + 36), se: m.read16(IMG + 40) })).toBe(hex80(st(r, 0)));
    expect(r.fpu.fullTagWord).not.toBe(0xffff); // not reinitialized
    const t = makeRig();
    t.mem.bytes.set(r.mem.bytes.subarray(IMG, IMG + 160), IMG);
    t.fpu.fxrstor(IMG);
    expect(t.fpu.statusWord).toBe(r.fpu.statusWord);
    expect(t.fpu.controlWord).toBe(r.fpu.controlWord);
    expect(t.fpu.fullTagWord).toBe(r.fpu.fullTagWord);
    for (let i = 0; i < 8; i++) expect(hex80(st(t, i))).toBe(hex80(st(r, i)));
  });
});

describe('snapshot state', () => {
  it('round-trips registers, words, pointers through the state file', () => {
    const r = prepared();
    exec(r, 0xdb, M(5), 0x300);
    const file = encodeState([r.fpu]);
    const t = makeRig();
    fld80(t, ONE);
    applyState([t.fpu], decodeState(file));
    for (let i = 0; i < 8; i++) expect(hex80(st(t, i))).toBe(hex80(st(r, i)));
    expect(t.fpu.statusWord).toBe(r.fpu.statusWord);
    expect(t.fpu.controlWord).toBe(r.fpu.controlWord);
    expect(t.fpu.fullTagWord).toBe(r.fpu.fullTagWord);
    expect([t.fpu.fip, t.fpu.fcs, t.fpu.fdp, t.fpu.fds, t.fpu.fop]).toEqual([r.fpu.fip, r.fpu.fcs, r.fpu.fdp, r.fpu.fds, r.fpu.fop]);
    // The loaded precision and rounding control are live: 1/3 at 53 bits rounding down.
    t.mem.write32(0x500, 3);
    exec(t, 0xda, M(6), 0x500); // FIDIV m32int
    expect(hex80(st(t, 0))).toBe('3ffd:aaaaaaaaaaaaa800');
  });
});
