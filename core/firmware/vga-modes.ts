// Standard VGA modes for the video BIOS: register values (the IBM VGA mode parameter tables,
// as documented in the VGA technical reference), memory layout and default DAC palettes.

/** How a mode stores pixels, which decides how the BIOS draws characters and pixels. */
export type ModeKind = 'text' | 'cga2' | 'cga1' | 'planar' | 'linear8' | 'vbe';
export type DacKind = 'ega' | 'cga' | 'mono' | 'vga256';

export interface VgaRegs {
  misc: number;
  /** Sequencer 1-4 (index 0, reset, is handled by the programmer). */
  seq: number[];
  /** CRTC 0-18h. */
  crtc: number[];
  /** Attribute controller 0-13h. */
  ac: number[];
  /** Graphics controller 0-8. */
  gc: number[];
}

export interface VgaMode {
  mode: number;
  kind: ModeKind;
  /** Text columns / rows (character grid for graphics modes). */
  cols: number;
  rows: number;
  charHeight: number;
  /** Pixels (graphics modes). */
  width: number;
  height: number;
  /** Segment of the mode's memory. */
  segment: number;
  pageSize: number;
  /** Number of display pages. */
  pages: number;
  regs: VgaRegs;
  dac: DacKind;
  /** Bits per pixel as seen by programs (1, 2, 4 or 8; 0 for text; 8-32 for VBE). */
  bpp: number;
  /** VBE modes: linear framebuffer address and bytes per scan line. */
  lfb?: number;
  pitch?: number;
}

const CRTC_TEXT80 = [0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
  0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff];
const CRTC_TEXT40 = [0x2d, 0x27, 0x28, 0x90, 0x2b, 0xa0, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00,
  0x9c, 0x8e, 0x8f, 0x14, 0x1f, 0x96, 0xb9, 0xa3, 0xff];
const CRTC_350 = [0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x83, 0x85, 0x5d, 0x28, 0x0f, 0x63, 0xba, 0xe3, 0xff];
const CRTC_480 = [0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0x0b, 0x3e, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0xea, 0x8c, 0xdf, 0x28, 0x00, 0xe7, 0x04, 0xe3, 0xff];
const AC_TEXT = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
  0x0c, 0x00, 0x0f, 0x08];
const AC_EGA16 = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f,
  0x01, 0x00, 0x0f, 0x00];
const AC_CGA16 = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
  0x01, 0x00, 0x0f, 0x00];
const GC_TEXT = [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x0f, 0xff];
const GC_PLANAR = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x0f, 0xff];

const TEXT40: VgaRegs = { misc: 0x67, seq: [0x08, 0x03, 0x00, 0x02], crtc: CRTC_TEXT40, ac: AC_TEXT, gc: GC_TEXT };
const TEXT80: VgaRegs = { misc: 0x67, seq: [0x00, 0x03, 0x00, 0x02], crtc: CRTC_TEXT80, ac: AC_TEXT, gc: GC_TEXT };
const MONO80: VgaRegs = {
  misc: 0x66, seq: [0x00, 0x03, 0x00, 0x02],
  crtc: CRTC_TEXT80.map((v, i) => (i === 0x14 ? 0x0f : v)),
  ac: [0x00, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x10, 0x18, 0x18, 0x18, 0x18, 0x18, 0x18, 0x18, 0x0e, 0x00, 0x0f, 0x08],
  gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0a, 0x0f, 0xff],
};
const CGA4: VgaRegs = {
  misc: 0x63, seq: [0x09, 0x03, 0x00, 0x02],
  crtc: [0x2d, 0x27, 0x28, 0x90, 0x2b, 0x80, 0xbf, 0x1f, 0x00, 0xc1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x9c, 0x8e, 0x8f, 0x14, 0x00, 0x96, 0xb9, 0xa2, 0xff],
  ac: [0x00, 0x13, 0x15, 0x17, 0x02, 0x04, 0x06, 0x07, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x01, 0x00, 0x03, 0x00],
  gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x0f, 0x0f, 0xff],
};
const CGA6: VgaRegs = {
  misc: 0x63, seq: [0x01, 0x01, 0x00, 0x06],
  crtc: [0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0xc1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x9c, 0x8e, 0x8f, 0x28, 0x00, 0x96, 0xb9, 0xc2, 0xff],
  ac: [0x00, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x17, 0x01, 0x00, 0x01, 0x00],
  gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x0f, 0xff],
};
const EGA320: VgaRegs = {
  misc: 0x63, seq: [0x09, 0x0f, 0x00, 0x06],
  crtc: [0x2d, 0x27, 0x28, 0x90, 0x2b, 0x80, 0xbf, 0x1f, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x9c, 0x8e, 0x8f, 0x14, 0x00, 0x96, 0xb9, 0xe3, 0xff],
  ac: AC_CGA16, gc: GC_PLANAR,
};
const EGA640x200: VgaRegs = {
  misc: 0x63, seq: [0x01, 0x0f, 0x00, 0x06],
  crtc: [0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x9c, 0x8e, 0x8f, 0x28, 0x00, 0x96, 0xb9, 0xe3, 0xff],
  ac: AC_CGA16, gc: GC_PLANAR,
};
const EGAMONO: VgaRegs = {
  misc: 0xa2, seq: [0x01, 0x0f, 0x00, 0x06], crtc: CRTC_350,
  ac: [0x00, 0x08, 0x00, 0x00, 0x18, 0x18, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x0b, 0x00, 0x05, 0x00],
  gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x05, 0xff],
};
const EGA350: VgaRegs = { misc: 0xa3, seq: [0x01, 0x0f, 0x00, 0x06], crtc: CRTC_350, ac: AC_EGA16, gc: GC_PLANAR };
const VGA2: VgaRegs = {
  misc: 0xe3, seq: [0x01, 0x0f, 0x00, 0x06], crtc: CRTC_480.map((v, i) => (i === 0x17 ? 0xc3 : v)),
  ac: [0x00, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x01, 0x00, 0x0f, 0x00],
  gc: GC_PLANAR,
};
const VGA16: VgaRegs = { misc: 0xe3, seq: [0x01, 0x0f, 0x00, 0x06], crtc: CRTC_480, ac: AC_EGA16, gc: GC_PLANAR };
export const MODE13_REGS: VgaRegs = {
  misc: 0x63, seq: [0x01, 0x0f, 0x00, 0x0e],
  crtc: [0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00, 0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x9c, 0x8e, 0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff],
  ac: [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x41, 0x00, 0x0f, 0x00],
  gc: [0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x05, 0x0f, 0xff],
};

function m(mode: number, kind: ModeKind, cols: number, rows: number, charHeight: number, width: number, height: number,
  segment: number, pageSize: number, pages: number, regs: VgaRegs, dac: DacKind, bpp: number): VgaMode {
  return { mode, kind, cols, rows, charHeight, width, height, segment, pageSize, pages, regs, dac, bpp };
}

export const VGA_MODES: ReadonlyMap<number, VgaMode> = new Map([
  m(0x00, 'text', 40, 25, 16, 360, 400, 0xb800, 0x0800, 8, TEXT40, 'ega', 0),
  m(0x01, 'text', 40, 25, 16, 360, 400, 0xb800, 0x0800, 8, TEXT40, 'ega', 0),
  m(0x02, 'text', 80, 25, 16, 720, 400, 0xb800, 0x1000, 8, TEXT80, 'ega', 0),
  m(0x03, 'text', 80, 25, 16, 720, 400, 0xb800, 0x1000, 8, TEXT80, 'ega', 0),
  m(0x04, 'cga2', 40, 25, 8, 320, 200, 0xb800, 0x4000, 1, CGA4, 'cga', 2),
  m(0x05, 'cga2', 40, 25, 8, 320, 200, 0xb800, 0x4000, 1, CGA4, 'cga', 2),
  m(0x06, 'cga1', 80, 25, 8, 640, 200, 0xb800, 0x4000, 1, CGA6, 'cga', 1),
  m(0x07, 'text', 80, 25, 16, 720, 400, 0xb000, 0x1000, 8, MONO80, 'mono', 0),
  m(0x0d, 'planar', 40, 25, 8, 320, 200, 0xa000, 0x2000, 8, EGA320, 'cga', 4),
  m(0x0e, 'planar', 80, 25, 8, 640, 200, 0xa000, 0x4000, 4, EGA640x200, 'cga', 4),
  m(0x0f, 'planar', 80, 25, 14, 640, 350, 0xa000, 0x8000, 2, EGAMONO, 'mono', 1),
  m(0x10, 'planar', 80, 25, 14, 640, 350, 0xa000, 0x8000, 2, EGA350, 'ega', 4),
  m(0x11, 'planar', 80, 30, 16, 640, 480, 0xa000, 0xa000, 1, VGA2, 'ega', 1),
  m(0x12, 'planar', 80, 30, 16, 640, 480, 0xa000, 0xa000, 1, VGA16, 'ega', 4),
  m(0x13, 'linear8', 40, 25, 8, 320, 200, 0xa000, 0xfa00, 1, MODE13_REGS, 'vga256', 8),
].map((x) => [x.mode, x]));

/** 6-bit RGB triples of the default DAC for a mode kind (256 entries). */
export function defaultDac(kind: DacKind): Uint8Array {
  const dac = new Uint8Array(768);
  const cga = (c: number): [number, number, number] => {
    // CGA colours: bit 0 blue, 1 green, 2 red, 3 intensity; colour 6 is brown, not dark yellow.
    const i = c & 8 ? 21 : 0;
    const g = c === 6 ? 21 : (c & 2 ? 42 : 0) + i;
    return [(c & 4 ? 42 : 0) + i, g, (c & 1 ? 42 : 0) + i];
  };
  for (let i = 0; i < 256; i++) {
    let rgb: [number, number, number] = [0, 0, 0];
    if (kind === 'ega' && i < 64) {
      // rgbRGB: bits 0-2 the 2/3 components, bits 3-5 the 1/3 components.
      rgb = [((i >> 2) & 1) * 42 + ((i >> 5) & 1) * 21, ((i >> 1) & 1) * 42 + ((i >> 4) & 1) * 21, (i & 1) * 42 + ((i >> 3) & 1) * 21];
    } else if (kind === 'cga' && i < 64) {
      rgb = cga((i & 7) | (i & 0x10 ? 8 : 0));
    } else if (kind === 'mono' && i < 64) {
      const v = (i & 0x08 ? 42 : 0) + (i & 0x10 ? 21 : 0);
      rgb = [v, v, v];
    } else if (kind === 'vga256') {
      rgb = vga256(i, cga);
    }
    dac.set(rgb, i * 3);
  }
  return dac;
}

/** The default 256-colour palette: CGA colours, a grey ramp, then hue wheels at 3 intensities × 3 saturations. */
function vga256(i: number, cga: (c: number) => [number, number, number]): [number, number, number] {
  if (i < 16) return cga(i);
  if (i < 32) { const v = Math.round(((i - 16) * 63) / 15); return [v, v, v]; }
  if (i >= 248) return [0, 0, 0];
  const k = i - 32;
  const block = Math.floor(k / 24);
  const hue = k % 24;
  const high = [63, 28, 16][Math.floor(block / 3)];
  const low = Math.round(high * [0, 0.5, 0.72][block % 3]);
  // Walk the colour wheel: blue → magenta → red → yellow → green → cyan → blue, 4 steps per edge.
  const edge = Math.floor(hue / 4), t = (hue % 4) / 4;
  const up = Math.round(low + (high - low) * t), down = Math.round(high - (high - low) * t);
  const rgb: [number, number, number][] = [
    [up, low, high], [high, low, down], [high, up, low], [down, high, low], [low, high, up], [low, down, high],
  ];
  return rgb[edge];
}

/** Port-level access to the VGA registers (what the BIOS programs; no device internals). */
export class VgaIo {
  constructor(private readonly io: {
    in8(port: number): number; out8(port: number, v: number): void; in16(port: number): number; out16(port: number, v: number): void;
  }) {}
  seq(i: number, v: number): void { this.io.out8(0x3c4, i); this.io.out8(0x3c5, v); }
  seqRead(i: number): number { this.io.out8(0x3c4, i); return this.io.in8(0x3c5); }
  gc(i: number, v: number): void { this.io.out8(0x3ce, i); this.io.out8(0x3cf, v); }
  gcRead(i: number): number { this.io.out8(0x3ce, i); return this.io.in8(0x3cf); }
  /** CRTC index port for the current I/O address select (misc bit 0). */
  get crtcPort(): number { return this.io.in8(0x3cc) & 1 ? 0x3d4 : 0x3b4; }
  crtc(i: number, v: number): void { const p = this.crtcPort; this.io.out8(p, i); this.io.out8(p + 1, v); }
  crtcRead(i: number): number { const p = this.crtcPort; this.io.out8(p, i); return this.io.in8(p + 1); }
  /** Attribute register write; leaves the palette address source on (video enabled). */
  ac(i: number, v: number): void {
    this.io.in8(this.crtcPort + 6);
    this.io.out8(0x3c0, i); this.io.out8(0x3c0, v);
    this.io.out8(0x3c0, 0x20);
  }
  acRead(i: number): number {
    this.io.in8(this.crtcPort + 6);
    this.io.out8(0x3c0, i);
    const v = this.io.in8(0x3c1);
    this.io.in8(this.crtcPort + 6);
    this.io.out8(0x3c0, 0x20);
    return v;
  }
  dacWrite(first: number, rgb: ArrayLike<number>, count = rgb.length / 3): void {
    this.io.out8(0x3c8, first);
    for (let i = 0; i < count * 3; i++) this.io.out8(0x3c9, rgb[i]);
  }
  dacRead(first: number, out: Uint8Array): void {
    this.io.out8(0x3c7, first);
    for (let i = 0; i < out.length; i++) out[i] = this.io.in8(0x3c9);
  }

  /** The DAC takes 8-bit values (VBE 4F08h set it in the DISPI enable register). */
  dac8(): boolean {
    this.io.out16(0x1ce, 4);
    return (this.io.in16(0x1cf) & 0x20) !== 0;
  }

  /** Program a whole mode (sequencer held in reset meanwhile). */
  program(t: VgaRegs): void {
    const io = this.io;
    this.seq(0, 0x01);
    io.out8(0x3c2, t.misc);
    for (let i = 0; i < t.seq.length; i++) this.seq(i + 1, t.seq[i]);
    this.seq(0, 0x03);
    this.crtc(0x11, 0); // unlock CRTC 0-7
    for (let i = 0; i < t.crtc.length; i++) this.crtc(i, t.crtc[i]);
    for (let i = 0; i < t.gc.length; i++) this.gc(i, t.gc[i]);
    io.in8(this.crtcPort + 6);
    for (let i = 0; i < t.ac.length; i++) { io.out8(0x3c0, i); io.out8(0x3c0, t.ac[i]); }
    if (t.ac.length <= 0x14) { io.out8(0x3c0, 0x14); io.out8(0x3c0, 0); }
    io.out8(0x3c0, 0x20);
    io.out8(0x3c6, 0xff);
  }
}

/** Scan lines of the text modes, chosen by INT 10h AH=12h BL=30h (BDA 89h: bit 7 200, bit 4 400, neither 350). */
export function textLines(flags89: number): 200 | 350 | 400 {
  return flags89 & 0x80 ? 200 : flags89 & 0x10 ? 400 : 350;
}

/** A text mode's registers and character height for 200, 350 or 400 scan lines. */
export function textModeRegs(spec: VgaMode, lines: 200 | 350 | 400): { regs: VgaRegs; charHeight: number } {
  if (spec.kind !== 'text' || lines === 400 || (lines === 200 && spec.mode === 7)) return { regs: spec.regs, charHeight: spec.charHeight };
  const crtc = spec.regs.crtc.slice();
  if (lines === 350) {
    // EGA timing: 350 displayed lines, 8x14 characters, 9-dot (28 MHz) clock.
    [crtc[0x09], crtc[0x0a], crtc[0x0b], crtc[0x10], crtc[0x11], crtc[0x12], crtc[0x15], crtc[0x16]] = [0x4d, 0x0b, 0x0c, 0x83, 0x85, 0x5d, 0x63, 0xba];
    return { regs: { ...spec.regs, misc: (spec.regs.misc & 0x3f) | 0x80, crtc }, charHeight: 14 };
  }
  // CGA emulation: 8x8 characters, each scan line drawn twice, 8-dot (25 MHz) clock.
  [crtc[0x09], crtc[0x0a], crtc[0x0b]] = [0xc7, 0x06, 0x07];
  const seq = spec.regs.seq.slice();
  seq[0] |= 0x01;
  return { regs: { ...spec.regs, misc: spec.regs.misc & ~0x0c, seq, crtc }, charHeight: 8 };
}
