// Video state save/restore for INT 10h AH=1Ch and VBE 4F04h. CX selects the parts: bit 0 the
// VGA registers, bit 1 the BIOS data area's video fields and font vectors, bit 2 the DAC, bit 3
// (VBE only) the DISPI mode. The buffer layout is ours (the calls only promise that restore
// reads what save wrote): the parts in that order, each a fixed size.

import type { FirmwareContext } from './context.js';
import type { VgaIo, VgaRegs } from './vga-modes.js';

const HW_BYTES = 1 + 4 + 25 + 9 + 21; // misc, sequencer 1-4, CRTC 0-18h, GC 0-8, AC 0-14h
const BDA_RANGES: [number, number][] = [[0x49, 30], [0x84, 7]];
const BDA_BYTES = 37 + 8; // + INT 1Fh and INT 43h vectors
const DAC_BYTES = 1 + 768;
const DISPI_REGS = [3, 1, 2, 6, 8, 9, 5, 4]; // bpp, xres, yres, virtual width, x/y offset, bank, enable (last)
const DISPI_BYTES = DISPI_REGS.length * 2;

export class VideoState {
  constructor(private readonly fw: FirmwareContext, private readonly vga: VgaIo) {}

  private parts(cx: number, vbe: boolean): [number, number][] {
    const sizes = [HW_BYTES, BDA_BYTES, DAC_BYTES, vbe ? DISPI_BYTES : 0];
    const out: [number, number][] = [];
    for (let bit = 0; bit < 4; bit++) if (cx & (1 << bit) && sizes[bit]) out.push([bit, sizes[bit]]);
    return out;
  }

  /** Buffer size in 64-byte blocks. */
  blocks(cx: number, vbe: boolean): number {
    const bytes = this.parts(cx, vbe).reduce((n, [, size]) => n + size, 0);
    return Math.max(1, Math.ceil(bytes / 64));
  }

  save(cx: number, vbe: boolean, at: number): void {
    const fw = this.fw, v = this.vga, io = fw.machine.io, mem = fw.machine.memory;
    for (const [part, size] of this.parts(cx, vbe)) {
      const bytes: number[] = [];
      if (part === 0) {
        bytes.push(io.in8(0x3cc));
        for (let i = 1; i <= 4; i++) bytes.push(v.seqRead(i));
        for (let i = 0; i < 25; i++) bytes.push(v.crtcRead(i));
        for (let i = 0; i < 9; i++) bytes.push(v.gcRead(i));
        for (let i = 0; i < 21; i++) bytes.push(v.acRead(i));
      } else if (part === 1) {
        for (const [off, n] of BDA_RANGES) for (let i = 0; i < n; i++) bytes.push(fw.bda8(off + i));
        for (let i = 0; i < 4; i++) bytes.push(mem.read8(0x1f * 4 + i));
        for (let i = 0; i < 4; i++) bytes.push(mem.read8(0x43 * 4 + i));
      } else if (part === 2) {
        bytes.push(io.in8(0x3c6));
        const dac = new Uint8Array(768);
        v.dacRead(0, dac);
        bytes.push(...dac);
      } else {
        for (const r of DISPI_REGS) { io.out16(0x1ce, r); const x = io.in16(0x1cf); bytes.push(x & 0xff, x >> 8); }
      }
      for (let i = 0; i < size; i++) fw.write8(at + i, bytes[i]);
      at += size;
    }
  }

  restore(cx: number, vbe: boolean, at: number): void {
    const fw = this.fw, v = this.vga, io = fw.machine.io, mem = fw.machine.memory;
    for (const [part, size] of this.parts(cx, vbe)) {
      const b = (i: number) => fw.read8(at + i);
      if (part === 0) {
        const regs: VgaRegs = {
          misc: b(0), seq: [b(1), b(2), b(3), b(4)],
          crtc: [...Array(25)].map((_, i) => b(5 + i)), gc: [...Array(9)].map((_, i) => b(30 + i)),
          ac: [...Array(21)].map((_, i) => b(39 + i)),
        };
        v.program(regs);
      } else if (part === 1) {
        let k = 0;
        for (const [off, n] of BDA_RANGES) for (let i = 0; i < n; i++) fw.setBda8(off + i, b(k++));
        for (let i = 0; i < 4; i++) mem.write8(0x1f * 4 + i, b(k++));
        for (let i = 0; i < 4; i++) mem.write8(0x43 * 4 + i, b(k++));
      } else if (part === 2) {
        io.out8(0x3c6, b(0));
        v.dacWrite(0, [...Array(768)].map((_, i) => b(1 + i)));
      } else {
        const val = DISPI_REGS.map((_, i) => b(i * 2) | (b(i * 2 + 1) << 8));
        io.out16(0x1ce, 4); io.out16(0x1cf, 0);
        DISPI_REGS.forEach((r, i) => {
          if (r === 4) return;
          io.out16(0x1ce, r); io.out16(0x1cf, val[i]);
        });
        // Enable last, keeping the memory; offsets and virtual width are reset by enabling, so again after.
        io.out16(0x1ce, 4); io.out16(0x1cf, val[7] & 0x01 ? val[7] | 0x80 : val[7]);
        for (const i of [3, 4, 5]) { io.out16(0x1ce, DISPI_REGS[i]); io.out16(0x1cf, val[i]); }
      }
      at += size;
    }
  }
}
