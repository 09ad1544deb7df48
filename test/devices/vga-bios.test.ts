// The VGA BIOS that ships with SeaBIOS (vgabios-stdvga.bin, Debian package "seabios") driving
// this device through the real CPU: POST, INT 10h mode sets, teletype output and a VBE mode.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IoBus } from '../../core/bus/io.js';
import { PhysicalMemory } from '../../core/bus/memory.js';
import { Cpu, REG_ESP } from '../../core/cpu/cpu.js';
import { SEG_CS, SEG_SS } from '../../core/cpu/system/constants.js';
import { VgaDevice } from '../../core/devices/vga.js';
import { requireResource } from '../helpers/shared.js';

const VGABIOS = '/usr/share/seabios/vgabios-stdvga.bin';

/** Real-mode machine with just RAM, the VGA and its BIOS at C000 (shadowed, writable). */
function boot(code: number[]) {
  const memory = new PhysicalMemory(1 << 20, 16 << 20);
  const io = new IoBus();
  const vga = new VgaDevice(memory, io);
  vga.attach();
  memory.mem.set(readFileSync(VGABIOS), 0xc0000);
  memory.mem.set(code, 0x600);
  const cpu = new Cpu(memory, io);
  for (let s = 0; s < 6; s++) cpu.loadSegmentReal(s, 0);
  cpu.loadSegmentReal(SEG_CS, 0);
  cpu.loadSegmentReal(SEG_SS, 0);
  cpu.regs[REG_ESP] = 0x7000;
  cpu.eip = 0x600;
  cpu.updateModes();
  let steps = 0;
  while (!cpu.halted && steps < 400) {
    cpu.run(100_000);
    steps++;
  }
  return { memory, vga, cpu, io };
}

const farCallPost = [0x9a, 0x03, 0x00, 0x00, 0xc0]; // call far C000:0003 (option ROM init)
const int10 = (ax: number, bx = 0) => [0xb8, ax & 0xff, ax >> 8, 0xbb, bx & 0xff, bx >> 8, 0xcd, 0x10];
const teletype = (s: string) => [...s].flatMap((c) => int10(0x0e00 | c.charCodeAt(0), 0x0007));

describe('SeaBIOS vgabios-stdvga on this VGA', () => {
  const available = requireResource(VGABIOS + ' (Debian package seabios)', existsSync(VGABIOS));

  it.runIf(available)('sets text mode 3 and prints through INT 10h teletype', () => {
    const { vga, cpu } = boot([...farCallPost, ...int10(0x0003), ...teletype('Hi VGA\r\nline 2'), 0xf4]);
    expect(cpu.halted).toBe(true);
    vga.updateScreen();
    const s = vga.screen();
    expect(s.mode).toBe('text 80x25');
    expect([s.width, s.height]).toEqual([720, 400]);
    const lines = s.text.split('\n');
    expect(lines[0]).toBe('Hi VGA');
    expect(lines[1]).toBe('line 2');
    // The BIOS loaded its 8x16 font into plane 2: 'H' has lit pixels, the blank cells none.
    let lit = 0;
    const white = s.rgba;
    for (let y = 0; y < 16; y++) for (let x = 0; x < 9; x++) if (white[(y * 720 + x) * 4] > 0x80) lit++;
    expect(lit).toBeGreaterThan(10);
    let litBlank = 0;
    for (let y = 0; y < 16; y++) for (let x = 0; x < 9; x++) if (white[((200 + y) * 720 + 400 + x) * 4] > 0x80) litBlank++;
    expect(litBlank).toBe(0);
  });

  it.runIf(available)('sets modes 13h and 12h and VBE 800x600x32 (mode 0x143 with LFB)', () => {
    // INT 10h AX=0013h, then write pixel colour 4 at (10, 5) through ES=A000
    const pixel13 = [0xb8, 0x00, 0xa0, 0x8e, 0xc0, 0x26, 0xc6, 0x06, 0x0a + 5 * 320 & 0xff, (10 + 5 * 320) >> 8, 0x04];
    const { vga, cpu } = boot([...farCallPost, ...int10(0x0013), ...pixel13, 0xf4]);
    expect(cpu.halted).toBe(true);
    vga.updateScreen();
    expect(vga.screen().mode).toBe('vga 320x200x8');
    const s = vga.screen();
    const o = (5 * 320 + 10) * 4;
    // default VGA palette entry 4 is red (0x2a, 0, 0) → 0xaa, 0, 0
    expect([s.rgba[o], s.rgba[o + 1], s.rgba[o + 2]]).toEqual([0xaa, 0, 0]);

    const m12 = boot([...farCallPost, ...int10(0x0012), 0xf4]);
    m12.vga.updateScreen();
    expect(m12.vga.screen().mode).toBe('vga 640x480x4');
    const m0d = boot([...farCallPost, ...int10(0x000d), 0xf4]);
    m0d.vga.updateScreen();
    expect(m0d.vga.screen().mode).toBe('vga 320x200x4');
    const m04 = boot([...farCallPost, ...int10(0x0004), 0xf4]);
    m04.vga.updateScreen();
    expect(m04.vga.screen().mode).toBe('cga 320x200x2');
    const m01 = boot([...farCallPost, ...int10(0x0001), ...teletype('forty'), 0xf4]);
    m01.vga.updateScreen();
    expect([m01.vga.screen().mode, m01.vga.screen().width, m01.vga.screen().text.split('\n')[0]]).toEqual(['text 40x25', 720, 'forty']);

    const vbe = boot([...farCallPost, ...int10(0x4f02, 0x4143), 0xf4]);
    expect(vbe.cpu.regs[0] & 0xffff).toBe(0x004f);
    vbe.vga.updateScreen();
    expect(vbe.vga.screen().mode).toBe('vbe 800x600x32');
    vbe.memory.write32(0xe0000000 + (100 * 800 + 100) * 4, 0x00ff0000);
    vbe.vga.updateScreen();
    const v = vbe.vga.screen().rgba;
    const p = (100 * 800 + 100) * 4;
    expect([v[p], v[p + 1], v[p + 2], v[p + 3]]).toEqual([0xff, 0, 0, 0xff]);
  });
});
