// VBE (INT 10h AX=4Fxxh) of the built-in firmware: info blocks parsed field by field, mode sets
// through the DISPI registers, LFB pixels rendered, windows, scan lines, display start, DAC.
import { describe, expect, it } from 'vitest';
import type { PcMachine } from '../../core/board/pc.js';
import { buildFont } from '../../core/firmware/font.js';
import { int10, pixel, postedPc } from './video-helpers.js';

const BUF = 0x1000; // ES=0, DI=1000h
const rd16 = (m: PcMachine, a: number) => m.memory.read16(a);
const rd32 = (m: PcMachine, a: number) => m.memory.read32(a) >>> 0;
const far = (m: PcMachine, a: number) => (rd16(m, a + 2) << 4) + rd16(m, a);
const str = (m: PcMachine, lin: number) => {
  let s = '';
  for (let c = m.memory.read8(lin); c !== 0 && s.length < 80; c = m.memory.read8(lin + s.length)) s += String.fromCharCode(c);
  return s;
};

/** BAR0 of the std-vga read through PCI configuration mechanism 1, as a guest would. */
function lfbBar(m: PcMachine): number {
  for (let dev = 0; dev < 32; dev++) {
    m.io.out32(0xcf8, (0x80000000 | (dev << 11)) >>> 0);
    if ((m.io.in32(0xcfc) >>> 0) !== 0x11111234) continue;
    m.io.out32(0xcf8, (0x80000000 | (dev << 11) | 0x10) >>> 0);
    return (m.io.in32(0xcfc) & ~0xf) >>> 0;
  }
  return -1;
}

function modeInfo(m: PcMachine, mode: number) {
  const o = int10(m, { ax: 0x4f01, cx: mode, di: BUF });
  const b = BUF;
  return {
    status: o.ax, attributes: rd16(m, b), winA: m.memory.read8(b + 2), granularity: rd16(m, b + 4), winSize: rd16(m, b + 6),
    winSegment: rd16(m, b + 8), winFunc: far(m, b + 0x0c), pitch: rd16(m, b + 0x10), width: rd16(m, b + 0x12), height: rd16(m, b + 0x14),
    planes: m.memory.read8(b + 0x18), bpp: m.memory.read8(b + 0x19), model: m.memory.read8(b + 0x1b), pages: m.memory.read8(b + 0x1d),
    masks: Array.from(m.memory.mem.subarray(b + 0x1f, b + 0x27)), lfb: rd32(m, b + 0x28), linPitch: rd16(m, b + 0x32),
    linMasks: Array.from(m.memory.mem.subarray(b + 0x36, b + 0x3e)),
  };
}

describe('VBE controller and mode information', () => {
  it('4F00h fills a VBE 3.0 block: signature, version, OEM strings, memory, and a mode list that 4F01h accepts', () => {
    const { m } = postedPc();
    m.memory.writeBytes(BUF, new TextEncoder().encode('VBE2'));
    const o = int10(m, { ax: 0x4f00, di: BUF });
    expect(o.ax).toBe(0x004f);
    expect(str(m, BUF).slice(0, 4)).toBe('VESA');
    expect(rd16(m, BUF + 4)).toBe(0x0300);
    expect(str(m, far(m, BUF + 6))).toBe('Perseus VGA BIOS');
    expect(rd32(m, BUF + 0x0a) & 1).toBe(1); // DAC switchable
    expect(rd16(m, BUF + 0x12)).toBe(m.vga.vramBytes >> 16);
    expect(str(m, far(m, BUF + 0x16))).toBe('Perseus');
    expect(str(m, far(m, BUF + 0x1a))).toContain('1234:1111');
    const list: number[] = [];
    for (let a = far(m, BUF + 0x0e); rd16(m, a) !== 0xffff && list.length < 200; a += 2) list.push(rd16(m, a));
    for (const n of [0x101, 0x103, 0x105, 0x110, 0x111, 0x112, 0x114, 0x115, 0x117, 0x118, 0x11b, 0x142, 0x143, 0x144]) expect(list).toContain(n);
    const seen = new Set<string>();
    for (const n of list) {
      const i = modeInfo(m, n);
      expect(i.status, `mode ${n.toString(16)}`).toBe(0x004f);
      expect(i.attributes & 0x19, `mode ${n.toString(16)}`).toBe(0x19); // supported, colour, graphics
      expect(i.pitch * i.height).toBeLessThanOrEqual(m.vga.vramBytes); // honest about memory
      seen.add(`${i.width}x${i.height}x${i.bpp}`);
    }
    expect(seen.size).toBe(list.length); // no duplicates
    for (const r of ['640x480x8', '800x600x16', '1024x768x24', '1280x1024x32', '1920x1080x8', '1920x1080x15', '1920x1080x16', '1920x1080x24', '1920x1080x32']) expect(seen).toContain(r);
  });

  it('4F01h for 800x600x32 (143h): geometry, direct-colour masks, window A, and the LFB at the std-vga BAR0', () => {
    const { m } = postedPc();
    m.io.out32(0xcf8, 0x80001008); // a guest's PCI config index survives the call
    const i = modeInfo(m, 0x143);
    expect(m.io.in32(0xcf8) >>> 0).toBe(0x80001008);
    expect(i.status).toBe(0x004f);
    expect(i.attributes).toBe(0x9b); // supported, info, colour, graphics, LFB
    expect([i.winA, i.granularity, i.winSize, i.winSegment]).toEqual([7, 64, 64, 0xa000]);
    expect([i.width, i.height, i.bpp, i.planes, i.model, i.pitch, i.linPitch]).toEqual([800, 600, 32, 1, 6, 3200, 3200]);
    expect(i.masks).toEqual([8, 16, 8, 8, 8, 0, 8, 24]);
    expect(i.linMasks).toEqual(i.masks);
    expect(i.pages).toBe(Math.floor(m.vga.vramBytes / (3200 * 600)) - 1);
    expect(i.lfb).toBe(lfbBar(m));
    expect(i.lfb).not.toBe(0);
    // The window function is a far-callable stub in the ROM that does 4F05h.
    expect(Array.from(m.memory.mem.subarray(i.winFunc, i.winFunc + 6))).toEqual([0xb8, 0x05, 0x4f, 0xcd, 0x10, 0xcb]);
    const m16 = modeInfo(m, 0x111);
    expect([m16.width, m16.height, m16.bpp, m16.pitch]).toEqual([640, 480, 16, 1280]);
    expect(m16.masks.slice(0, 6)).toEqual([5, 11, 6, 5, 5, 0]);
    const m8 = modeInfo(m, 0x101);
    expect([m8.bpp, m8.model]).toEqual([8, 4]);
    expect(modeInfo(m, 0x1ff).status).toBe(0x014f);
  });
});

describe('VBE mode set and framebuffer', () => {
  it('4F02h with the LFB bit: DISPI mode on, LFB pixels render, 4F03h reports it, 4F02h 3 returns to text', () => {
    const { m } = postedPc();
    const lfb = modeInfo(m, 0x143).lfb;
    expect(int10(m, { ax: 0x4f02, bx: 0x4143 }).ax).toBe(0x004f);
    m.updateScreen();
    expect(m.screen().mode).toBe('vbe 800x600x32');
    m.memory.write32(lfb + (20 * 800 + 10) * 4, 0x00ff8040);
    m.updateScreen();
    expect(pixel(m, 10, 20)).toBe(0xff8040);
    expect(pixel(m, 11, 20)).toBe(0);
    expect(int10(m, { ax: 0x4f03 }).bx).toBe(0x4143);
    // Display start: row 100 at the top moves the pixel up.
    expect(int10(m, { ax: 0x4f07, bx: 0, cx: 0, dx: 10 }).ax).toBe(0x004f);
    const ds = int10(m, { ax: 0x4f07, bx: 1 });
    expect([ds.cx, ds.dx]).toEqual([0, 10]);
    m.updateScreen();
    expect(pixel(m, 10, 10)).toBe(0xff8040);
    // Scan line length: 1024 pixels → 4096 bytes; the maximum is what fits the memory.
    const sl = int10(m, { ax: 0x4f06, bx: 0, cx: 1024 });
    expect([sl.ax, sl.bx, sl.cx, sl.dx]).toEqual([0x004f, 4096, 1024, m.vga.vramBytes / 4096]);
    expect(int10(m, { ax: 0x4f06, bx: 1 }).bx).toBe(4096);
    expect(int10(m, { ax: 0x0003 }).ax & 0xff).toBe(0x30);
    m.updateScreen();
    expect(m.screen().mode).toBe('text 80x25');
    expect(int10(m, { ax: 0x4f03 }).bx).toBe(3);
  });

  it('16 and 24 bpp modes render their pixel formats', () => {
    const { m } = postedPc();
    const lfb = modeInfo(m, 0x114).lfb;
    int10(m, { ax: 0x4f02, bx: 0x4114 }); // 800x600x16
    m.memory.write16(lfb + (3 * 800 + 2) * 2, 0xf800); // pure red in 5:6:5
    m.updateScreen();
    expect(m.screen().mode).toBe('vbe 800x600x16');
    expect(pixel(m, 2, 3) >> 16).toBeGreaterThan(0xf0);
    expect(pixel(m, 2, 3) & 0xffff).toBe(0);
    int10(m, { ax: 0x4f02, bx: 0x4112 }); // 640x480x24
    m.memory.writeBytes(lfb + (5 * 640 + 4) * 3, new Uint8Array([0x30, 0x20, 0x10])); // B, G, R
    m.updateScreen();
    expect(m.screen().mode).toBe('vbe 640x480x24');
    expect(pixel(m, 4, 5)).toBe(0x102030);
  });

  it('banked 8 bpp mode: 4F05h moves window A; 4F08h/4F09h give an 8-bit DAC', () => {
    const { m } = postedPc();
    const lfb = modeInfo(m, 0x101).lfb;
    expect(int10(m, { ax: 0x4f02, bx: 0x0101 }).ax).toBe(0x004f);
    expect(int10(m, { ax: 0x4f05, bx: 0x0000, dx: 1 }).ax).toBe(0x004f);
    expect(int10(m, { ax: 0x4f05, bx: 0x0100 }).dx).toBe(1);
    m.memory.write8(0xa0000 + 5, 0x42); // bank 1, offset 5 → byte 10005h of the frame
    expect(m.memory.read8(lfb + 0x10005)).toBe(0x42);
    expect(int10(m, { ax: 0x4f08, bx: 0x0800 }).bx >> 8).toBe(8);
    expect(int10(m, { ax: 0x4f08, bx: 0x0001 }).bx >> 8).toBe(8);
    m.memory.writeBytes(0x2000, new Uint8Array([0x81, 0x82, 0x83, 0])); // blue, green, red, pad
    expect(int10(m, { ax: 0x4f09, bx: 0, cx: 1, dx: 0x42, di: 0x2000 }).ax).toBe(0x004f);
    m.updateScreen();
    const x = 0x10005 % 640, y = Math.floor(0x10005 / 640);
    expect(pixel(m, x, y)).toBe(0x838281);
    expect(int10(m, { ax: 0x4f09, bx: 1, cx: 1, dx: 0x42, di: 0x2100 }).ax).toBe(0x004f);
    expect(Array.from(m.memory.mem.subarray(0x2100, 0x2103))).toEqual([0x81, 0x82, 0x83]);
    // Back to 6 bits.
    expect(int10(m, { ax: 0x4f08, bx: 0x0600 }).bx >> 8).toBe(6);
  });

  it('planar 800x600x4 (102h) without LFB; the LFB bit is refused for it; unknown modes fail', () => {
    const { m } = postedPc();
    expect(int10(m, { ax: 0x4f02, bx: 0x4102 }).ax).toBe(0x014f);
    expect(int10(m, { ax: 0x4f02, bx: 0x0102 }).ax).toBe(0x004f);
    m.updateScreen();
    expect(m.screen().mode).toBe('vbe 800x600x4');
    expect(int10(m, { ax: 0x4f02, bx: 0x4199 }).ax).toBe(0x014f);
    expect(int10(m, { ax: 0x4f0b }).ax & 0xff).not.toBe(0x4f);
  });

  it('4F04h saves and restores the VBE state', () => {
    const { m } = postedPc();
    int10(m, { ax: 0x4f02, bx: 0x4143 });
    expect(int10(m, { ax: 0x4f04, dx: 0x0000, cx: 0x0008 }).bx).toBeGreaterThan(0);
    int10(m, { ax: 0x4f04, dx: 0x0001, cx: 0x0008, bx: 0x3000 });
    int10(m, { ax: 0x4f02, bx: 0x4111 });
    int10(m, { ax: 0x4f04, dx: 0x0002, cx: 0x0008, bx: 0x3000 });
    m.updateScreen();
    expect(m.screen().mode).toBe('vbe 800x600x32');
  });
});

describe('INT 10h text and pixels in VBE modes', () => {
  it('teletype draws 8x16 glyphs through the LFB in 800x600x32; AH=06h scrolls; AH=08h reads a character back', () => {
    const { m } = postedPc();
    int10(m, { ax: 0x4f02, bx: 0x4143 });
    int10(m, { ax: 0x0e41, bx: 0x0e }); // 'A', yellow
    m.updateScreen();
    const font = buildFont(16);
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 8; x++) expect(pixel(m, x, y), `(${x},${y})`).toBe((font[0x41 * 16 + y] >> (7 - x)) & 1 ? 0xffff55 : 0);
    }
    expect(int10(m, { ax: 0x0300 }).dx).toBe(1);
    int10(m, { ax: 0x0200, dx: 0x0103 }); // row 1, col 3
    int10(m, { ax: 0x0958, bx: 0x0f, cx: 1 }); // 'X'
    int10(m, { ax: 0x0601, bx: 0, cx: 0, dx: 0x2463 });
    int10(m, { ax: 0x0200, dx: 0x0003 });
    expect(int10(m, { ax: 0x0800 }).ax & 0xff).toBe(0x58);
    // Row 1 now holds what was on row 2: nothing (a blank cell matches glyph 00h first, as on IBM's BIOS).
    int10(m, { ax: 0x0200, dx: 0x0103 });
    expect(int10(m, { ax: 0x0800 }).ax & 0xff).toBe(0);
  });

  it('AH=0Ch/0Dh in the 8 bpp VBE mode write the LFB byte at y * pitch + x', () => {
    const { m } = postedPc();
    const lfb = modeInfo(m, 0x101).lfb;
    int10(m, { ax: 0x4f02, bx: 0x4101 });
    int10(m, { ax: 0x0c42, cx: 630, dx: 470 });
    expect(m.memory.read8(lfb + 470 * 640 + 630)).toBe(0x42);
    expect(int10(m, { ax: 0x0d00, cx: 630, dx: 470 }).ax & 0xff).toBe(0x42);
  });
});

describe('AH=08h in standard graphics modes', () => {
  it('recognises a drawn character from its glyph in mode 12h and mode 13h', () => {
    const { m } = postedPc();
    for (const mode of [0x12, 0x13]) {
      int10(m, { ax: mode });
      int10(m, { ax: 0x0200, dx: 0x0205 });
      int10(m, { ax: 0x0951, bx: 0x0b, cx: 1 }); // 'Q'
      expect(int10(m, { ax: 0x0800 }).ax & 0xff, `mode ${mode}`).toBe(0x51);
      int10(m, { ax: 0x0200, dx: 0x0206 });
      expect(int10(m, { ax: 0x0800 }).ax & 0xff).toBe(0);
    }
  });
});

describe('VBE/DDC', () => {
  it('4F15h reports DDC2 and returns a valid EDID 1.3 block describing a 1024x768 preferred mode', () => {
    const { m } = postedPc();
    const caps = int10(m, { ax: 0x4f15, bx: 0, cx: 0 });
    expect([caps.ax, caps.bx & 3]).toEqual([0x004f, 2]);
    expect(int10(m, { ax: 0x4f15, bx: 1, cx: 0, dx: 0, di: 0x2000 }).ax).toBe(0x004f);
    const e = m.memory.mem.subarray(0x2000, 0x2080);
    expect(Array.from(e.subarray(0, 8))).toEqual([0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]);
    expect(e.reduce((a, b) => a + b, 0) & 0xff).toBe(0);
    const maker = (e[8] << 8) | e[9];
    expect(String.fromCharCode(64 + ((maker >> 10) & 31), 64 + ((maker >> 5) & 31), 64 + (maker & 31))).toBe('PRS');
    expect([e[0x12], e[0x13]]).toEqual([1, 3]);
    // Detailed timing 1: pixel clock and active sizes.
    const d = 0x36;
    expect((e[d] | (e[d + 1] << 8)) * 10_000).toBe(65_000_000);
    expect(e[d + 2] | ((e[d + 4] >> 4) << 8)).toBe(1024);
    expect(e[d + 5] | ((e[d + 7] >> 4) << 8)).toBe(768);
    // A monitor-name descriptor.
    const names = [0x48, 0x5a, 0x6c].filter((o) => e[o + 3] === 0xfc).map((o) => String.fromCharCode(...e.subarray(o + 5, o + 18)).trim());
    expect(names).toEqual(['Perseus VGA']);
    expect(int10(m, { ax: 0x4f15, bx: 1, cx: 0, dx: 1, di: 0x2000 }).ax).toBe(0x014f);
  });
});
