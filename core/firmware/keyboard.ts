// IRQ 1 (INT 09h: scan code set 1 → BIOS key words in the BDA ring buffer) and INT 16h.

import { AH, AL, AX, CH, CL, ZF, FirmwareContext } from './context.js';

// Scan codes 0x00-0x39: unshifted and shifted ASCII ('\0' = none).
const NORMAL = '\0\x1b1234567890-=\b\tqwertyuiop[]\r\0asdfghjkl;\'`\0\\zxcvbnm,./\0*\0 ';
const SHIFTED = '\0\x1b!@#$%^&*()_+\b\0QWERTYUIOP{}\r\0ASDFGHJKL:"~\0|ZXCVBNM<>?\0*\0 ';
const KEYPAD = '789-456+1230.';

// INT 16h's idle detector lives in our EBDA (not in TypeScript fields), so a machine saved
// while a guest polls the keyboard continues exactly like the original.
const EBDA_EMPTY_POLLS = 0x3e0, EBDA_IDLED = 0x3e1;

export class KeyboardBios {
  constructor(private readonly fw: FirmwareContext) {}

  private ebda(o: number): number { return (this.fw.bda16(0x0e) << 4) + o; }
  private get emptyPolls(): number { return this.fw.machine.memory.read8(this.ebda(EBDA_EMPTY_POLLS)); }
  private set emptyPolls(v: number) { this.fw.machine.memory.write8(this.ebda(EBDA_EMPTY_POLLS), v); }
  private get idled(): boolean { return this.fw.machine.memory.read8(this.ebda(EBDA_IDLED)) !== 0; }
  private set idled(v: boolean) { this.fw.machine.memory.write8(this.ebda(EBDA_IDLED), v ? 1 : 0); }

  private push(word: number): void {
    const fw = this.fw;
    const start = fw.bda16(0x80) || 0x1e, end = fw.bda16(0x82) || 0x3e;
    const tail = fw.bda16(0x1c);
    let next = tail + 2;
    if (next >= end) next = start;
    if (next === fw.bda16(0x1a)) return; // full
    fw.setBda16(tail, word);
    fw.setBda16(0x1c, next);
  }

  /** IRQ 1. */
  irq(): void {
    const fw = this.fw;
    const sc = fw.machine.io.in8(0x60);
    this.scancode(sc);
    fw.machine.io.out8(0x20, 0x20);
  }

  scancode(sc: number): void {
    const fw = this.fw;
    let flags = fw.bda8(0x17);
    const ext = (fw.bda8(0x96) & 0x02) !== 0;
    fw.setBda8(0x96, fw.bda8(0x96) & ~0x02);
    if (sc === 0xe0) { fw.setBda8(0x96, fw.bda8(0x96) | 0x02); return; }
    if (sc === 0xfa || sc === 0xfe || sc === 0x00 || sc === 0xff || sc === 0xe1) return;
    const release = (sc & 0x80) !== 0;
    const code = sc & 0x7f;
    const bit = code === 0x2a ? 0x02 : code === 0x36 ? 0x01 : code === 0x1d ? 0x04 : code === 0x38 ? 0x08 : 0;
    if (bit) {
      if (!(ext && (code === 0x2a || code === 0x36))) flags = release ? flags & ~bit : flags | bit;
      fw.setBda8(0x17, flags);
      return;
    }
    if (release) return;
    const toggle = code === 0x3a ? 0x40 : code === 0x45 ? 0x20 : code === 0x46 ? 0x10 : 0;
    if (toggle) { fw.setBda8(0x17, flags ^ toggle); return; }
    const shift = (flags & 0x03) !== 0, ctrl = (flags & 0x04) !== 0, alt = (flags & 0x08) !== 0;
    if (ctrl && alt && code === 0x53) {
      // Ctrl+Alt+Del: warm boot, as IBM's BIOS does (flag 1234h at 40:72, then a CPU reset,
      // here through the 8042's reset line).
      fw.setBda16(0x72, 0x1234);
      fw.machine.io.out8(0x64, 0xfe);
      return;
    }
    let ascii = 0;
    let scan = code;
    if (ext) {
      if (code === 0x1c) ascii = 0x0d;
      else if (code === 0x35) ascii = 0x2f;
      else ascii = 0xe0;
    } else if (code < NORMAL.length) {
      const ch = (shift ? SHIFTED : NORMAL).charCodeAt(code);
      ascii = ch;
      const isLetter = (ch | 0x20) >= 0x61 && (ch | 0x20) <= 0x7a;
      if (isLetter && (flags & 0x40)) ascii ^= 0x20;
      if (ctrl && isLetter) ascii = ch & 0x1f;
      if (alt) ascii = 0;
      if (code === 0x0f && shift) ascii = 0;
    } else if (code >= 0x3b && code <= 0x44) {
      scan = shift ? code + 0x19 : ctrl ? code + 0x23 : alt ? code + 0x2d : code;
    } else if (code === 0x57 || code === 0x58) {
      scan = code + 0x2e + (shift ? 2 : ctrl ? 4 : alt ? 6 : 0);
    } else if (code >= 0x47 && code <= 0x53) {
      const numlock = (flags & 0x20) !== 0;
      if (numlock !== shift) ascii = KEYPAD.charCodeAt(code - 0x47);
      else if (code === 0x4a || code === 0x4e) ascii = KEYPAD.charCodeAt(code - 0x47);
    } else {
      return;
    }
    this.push((scan << 8) | ascii);
  }

  private peek(): number {
    const fw = this.fw;
    const head = fw.bda16(0x1a);
    return head === fw.bda16(0x1c) ? -1 : fw.bda16(head);
  }
  private take(): void {
    const fw = this.fw;
    const start = fw.bda16(0x80) || 0x1e, end = fw.bda16(0x82) || 0x3e;
    let head = fw.bda16(0x1a) + 2;
    if (head >= end) head = start;
    fw.setBda16(0x1a, head);
  }
  private static legacy(w: number): number {
    const ascii = w & 0xff, scan = w >> 8;
    if (ascii === 0xe0) return scan << 8;
    if (scan === 0xe0) return (0x1c << 8) | ascii;
    return w;
  }

  handle(): void {
    const fw = this.fw;
    const ah = fw.r8(AH);
    switch (ah) {
      case 0x00: case 0x10: {
        const w = this.peek();
        if (w < 0) { fw.setRetry(true); return; }
        this.take();
        fw.set16(AX, ah === 0x00 ? KeyboardBios.legacy(w) : w);
        return;
      }
      case 0x01: case 0x11: {
        const w = this.peek();
        // A guest polling an empty buffer in a loop (boot menus with a timeout): after a few
        // polls, wait for the next interrupt once, so idle time can pass without spinning.
        if (w < 0 && !this.idled && ++this.emptyPolls >= 16) {
          this.idled = true;
          this.emptyPolls = 0;
          fw.setRetry(true);
          return;
        }
        this.idled = false;
        if (w >= 0) this.emptyPolls = 0;
        fw.setCallerFlag(ZF, w < 0);
        if (w >= 0) fw.set16(AX, ah === 0x01 ? KeyboardBios.legacy(w) : w);
        return;
      }
      case 0x02: fw.set8(AL, fw.bda8(0x17)); return;
      case 0x12: fw.set8(AL, fw.bda8(0x17)); fw.set8(AH, fw.bda8(0x18)); return;
      case 0x05: {
        const before = fw.bda16(0x1c);
        this.push((fw.r8(CH) << 8) | fw.r8(CL));
        fw.set8(AL, fw.bda16(0x1c) === before ? 1 : 0);
        return;
      }
      default: return;
    }
  }
}
