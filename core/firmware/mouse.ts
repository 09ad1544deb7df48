// INT 15h AH=C2h PS/2 pointing-device services and the IRQ 12 handler (INT 74h) that hands each
// complete packet to the handler a program installed with C207h.
//
// The state lives in the EBDA (so it survives a snapshot like the rest of guest memory):
//   +22h handler offset, +24h handler segment, +26h flags (bit 0 enabled, bit 7 handler set),
//   +27h packet size, +28h bytes received so far, +29h.. packet bytes.
// Commands go to the mouse through the 8042 (D4h) with its interrupts off while the firmware
// polls for the replies; the trap lets virtual time pass while it waits (the 8042 delivers one
// byte per 100 us).
//
// The ROM stub (rom.ts ENTRY.int74): pusha; push ds; push es; out TRAP; [done:] EOI both PICs;
// pop es; pop ds; popa; iret; [int74Return:] add sp,8; jmp done. To call the handler the
// TypeScript side pushes status, X, Y, 0 and a far return to int74Return, then jumps to it.

import { AH, BH, BL, BX, CF, CL, DL, ES, IF, FirmwareContext } from './context.js';
import { BIOS_SEGMENT, ENTRY } from './rom.js';

const EBDA_HANDLER = 0x22, EBDA_FLAGS = 0x26, EBDA_SIZE = 0x27, EBDA_INDEX = 0x28, EBDA_DATA = 0x29;
const FLAG_ENABLED = 0x01, FLAG_HANDLER = 0x80;
const ACK = 0xfa;
const RATES = [10, 20, 40, 60, 80, 100, 200];
const CCB_KBD_INT = 0x01, CCB_AUX_INT = 0x02, CCB_KBD_DISABLE = 0x10, CCB_AUX_DISABLE = 0x20;
const ERR_INVALID_FUNCTION = 1, ERR_INVALID_INPUT = 2, ERR_INTERFACE = 3, ERR_NO_HANDLER = 5;

export class MouseBios {
  constructor(private readonly fw: FirmwareContext) {}

  private ebdaBase(): number { return this.fw.bda16(0x0e) << 4; }
  private e8(o: number): number { return this.fw.machine.memory.read8(this.ebdaBase() + o); }
  private setE8(o: number, v: number): void { this.fw.machine.memory.write8(this.ebdaBase() + o, v & 0xff); }

  /** POST: no handler, 3-byte packets. */
  reset(): void {
    for (let o = EBDA_HANDLER; o < EBDA_DATA + 8; o++) this.setE8(o, 0);
    this.setE8(EBDA_SIZE, 3);
  }

  // ---- 8042 access with virtual time passing while polling

  private readByte(): number {
    const m = this.fw.machine;
    for (let i = 0; i < 40; i++) {
      if (m.io.in8(0x64) & 0x01) return m.io.in8(0x60);
      // Nothing yet: let up to 1 ms of virtual time pass (timers fire, the 8042 refills).
      const now = m.clock.now(), next = m.clock.nextDeadline();
      m.clock.advance(next > now ? Math.min(next - now, 1_000_000) : 1_000_000);
      m.clock.runExpired();
    }
    return -1;
  }

  private readCcb(): number {
    const io = this.fw.machine.io;
    while (io.in8(0x64) & 0x01) io.in8(0x60); // a stale byte would be taken for the reply
    io.out8(0x64, 0x20);
    return Math.max(0, this.readByte());
  }

  private writeCcb(v: number): void {
    this.fw.machine.io.out8(0x64, 0x60);
    this.fw.machine.io.out8(0x60, v);
  }

  /** Send `bytes` to the mouse (each acknowledged), then read `replies` bytes; null on failure. */
  private command(bytes: number[], replies: number): number[] | null {
    const io = this.fw.machine.io;
    const ccb = this.readCcb();
    // Keyboard off and both interrupts off while polling; the aux interface on.
    this.writeCcb((ccb & ~(CCB_KBD_INT | CCB_AUX_INT | CCB_AUX_DISABLE)) | CCB_KBD_DISABLE);
    let out: number[] | null = [];
    for (const b of bytes) {
      io.out8(0x64, 0xd4);
      io.out8(0x60, b);
      if (this.readByte() !== ACK) { out = null; break; }
    }
    for (let i = 0; out && i < replies; i++) {
      const r = this.readByte();
      if (r < 0) out = null;
      else out.push(r);
    }
    this.writeCcb(ccb);
    return out;
  }

  private result(ok: boolean, ah = ok ? 0 : ERR_INTERFACE): void {
    this.fw.set8(AH, ah);
    this.fw.setCallerFlag(CF, !ok);
  }

  /** INT 15h AH=C2h. */
  handle(): void {
    const fw = this.fw;
    const al = fw.r8(0), bh = fw.r8(BH);
    switch (al) {
      case 0x00: {
        if (bh > 1) return this.result(false, ERR_INVALID_INPUT);
        if (bh === 1 && !(this.e8(EBDA_FLAGS) & FLAG_HANDLER)) return this.result(false, ERR_NO_HANDLER);
        const ok = this.command([bh ? 0xf4 : 0xf5], 0) !== null;
        if (ok) {
          this.setE8(EBDA_INDEX, 0);
          this.setE8(EBDA_FLAGS, bh ? this.e8(EBDA_FLAGS) | FLAG_ENABLED : this.e8(EBDA_FLAGS) & ~FLAG_ENABLED);
          // Mouse bytes now raise IRQ 12 (or stop doing so).
          const ccb = this.readCcb();
          this.writeCcb(bh ? (ccb | CCB_AUX_INT) & ~CCB_AUX_DISABLE : ccb & ~CCB_AUX_INT);
        }
        return this.result(ok);
      }
      case 0x01: case 0x05: {
        if (al === 0x05) {
          if (bh < 1 || bh > 8) return this.result(false, ERR_INVALID_INPUT);
          this.setE8(EBDA_SIZE, bh);
        }
        this.setE8(EBDA_INDEX, 0);
        this.setE8(EBDA_FLAGS, this.e8(EBDA_FLAGS) & ~FLAG_ENABLED);
        const r = this.command([0xff], 2);
        if (!r) return this.result(false);
        fw.set8(BL, r[0]); // AAh: self-test passed
        fw.set8(BH, r[1]); // device ID
        return this.result(true);
      }
      case 0x02:
        if (bh >= RATES.length) return this.result(false, ERR_INVALID_INPUT);
        return this.result(this.command([0xf3, RATES[bh]], 0) !== null);
      case 0x03:
        if (bh > 3) return this.result(false, ERR_INVALID_INPUT);
        return this.result(this.command([0xe8, bh], 0) !== null);
      case 0x04: {
        const r = this.command([0xf2], 1);
        if (r) fw.set8(BH, r[0]);
        return this.result(r !== null);
      }
      case 0x06: {
        if (bh === 0) {
          const r = this.command([0xe9], 3);
          if (r) { fw.set8(BL, r[0]); fw.set8(CL, r[1]); fw.set8(DL, r[2]); }
          return this.result(r !== null);
        }
        if (bh === 1 || bh === 2) return this.result(this.command([bh === 1 ? 0xe6 : 0xe7], 0) !== null);
        return this.result(false, ERR_INVALID_INPUT);
      }
      case 0x07: {
        const seg = fw.seg(ES), off = fw.r16(BX);
        this.fw.machine.memory.write16(this.ebdaBase() + EBDA_HANDLER, off);
        this.fw.machine.memory.write16(this.ebdaBase() + EBDA_HANDLER + 2, seg);
        const flags = this.e8(EBDA_FLAGS);
        this.setE8(EBDA_FLAGS, seg | off ? flags | FLAG_HANDLER : flags & ~(FLAG_HANDLER | FLAG_ENABLED));
        return this.result(true);
      }
      default:
        return this.result(false, ERR_INVALID_FUNCTION);
    }
  }

  /** IRQ 12: collect a byte; with a full packet and an enabled handler, call it. */
  irq(): void {
    const fw = this.fw, m = fw.machine;
    if ((m.io.in8(0x64) & 0x21) !== 0x21) return;
    const byte = m.io.in8(0x60);
    const flags = this.e8(EBDA_FLAGS);
    let index = this.e8(EBDA_INDEX);
    const size = this.e8(EBDA_SIZE) || 3;
    if (index === 0 && !(byte & 0x08)) return; // out of step: wait for a first byte
    this.setE8(EBDA_DATA + index, byte);
    index++;
    if (index < size) { this.setE8(EBDA_INDEX, index); return; }
    this.setE8(EBDA_INDEX, 0);
    if ((flags & (FLAG_ENABLED | FLAG_HANDLER)) !== (FLAG_ENABLED | FLAG_HANDLER)) return;
    const cpu = fw.cpu;
    cpu.push16(this.e8(EBDA_DATA)); // status
    cpu.push16(size > 1 ? this.e8(EBDA_DATA + 1) : 0); // X
    cpu.push16(size > 2 ? this.e8(EBDA_DATA + 2) : 0); // Y
    cpu.push16(0); // Z
    cpu.push16(BIOS_SEGMENT);
    cpu.push16(ENTRY.int74Return);
    const base = this.ebdaBase() + EBDA_HANDLER;
    cpu.materializeFlags();
    cpu.flags |= IF;
    fw.jumpReal(m.memory.read16(base + 2), m.memory.read16(base));
  }
}
