// Smaller BIOS services: INT 14h serial ports, INT 17h printer ports, INT 1Ah AH=03h/05h RTC
// setters, INT 15h AH=83h (event wait, counted down by the timer tick) and AH=89h (switch to
// protected mode).

import { AH, AL, BH, BL, CF, CH, CL, CS, DH, DL, DS, DX, ES, IF, SI, SP, SS, type FirmwareContext } from './context.js';

/** Baud rate divisors for INT 14h AH=00h bits 7-5: 110 ... 9600 baud. */
const DIVISORS = [1047, 768, 384, 192, 96, 48, 24, 12];
// INT 15h 83h: the user's flag pointer at BDA 98h (as IBM's BIOS keeps it), "83h wait active"
// in BDA A0h bit 1 (bit 0 is INT 15h 86h's, which keeps its deadline at 9Ch) and the deadline
// (virtual microseconds modulo 2^32) in the EBDA, so both survive a snapshot.
const WAIT_PTR = 0x98, WAIT_ACTIVE = 0xa0, EVENT_WAIT = 0x02, EBDA_EVENT_DEADLINE = 0x40;

export class SystemBios {
  constructor(private readonly fw: FirmwareContext) {}

  private rtcWrite(reg: number, v: number): void {
    this.fw.machine.io.out8(0x70, reg);
    this.fw.machine.io.out8(0x71, v);
  }
  private rtcRead(reg: number): number {
    this.fw.machine.io.out8(0x70, reg);
    return this.fw.machine.io.in8(0x71);
  }

  /** INT 1Ah AH=03h (CH:CL:DH BCD time, DL daylight saving) and AH=05h (CH:CL century/year, DH:DL month/day). */
  rtcSet(ah: number): void {
    const fw = this.fw;
    const regB = this.rtcRead(0x0b);
    const bin = (regB & 0x04) !== 0;
    const conv = (bcd: number) => (bin ? (bcd >> 4) * 10 + (bcd & 15) : bcd);
    this.rtcWrite(0x0b, regB | 0x80); // SET: hold updates while writing
    if (ah === 0x03) {
      this.rtcWrite(0x04, conv(fw.r8(CH)));
      this.rtcWrite(0x02, conv(fw.r8(CL)));
      this.rtcWrite(0x00, conv(fw.r8(DH)));
      this.rtcWrite(0x0b, ((regB & ~0x01) | (fw.r8(DL) & 1)) & 0x7f);
    } else {
      this.rtcWrite(0x32, conv(fw.r8(CH)));
      this.rtcWrite(0x09, conv(fw.r8(CL)));
      this.rtcWrite(0x08, conv(fw.r8(DH)));
      this.rtcWrite(0x07, conv(fw.r8(DL)));
      this.rtcWrite(0x0b, regB & 0x7f);
    }
    fw.result(true);
  }

  /** INT 14h: AH=00h init, 01h send, 02h receive, 03h status; DX = port 0-3. */
  int14(): void {
    const fw = this.fw, io = fw.machine.io;
    const port = fw.r16(DX) < 4 ? fw.bda16(fw.r16(DX) * 2) : 0;
    if (!port) { fw.set8(AH, 0x80); fw.setCallerFlag(CF, true); return; }
    const status = () => { fw.set8(AH, io.in8(port + 5)); fw.set8(AL, io.in8(port + 6)); };
    switch (fw.r8(AH)) {
      case 0x00: {
        const p = fw.r8(AL);
        const div = DIVISORS[p >> 5];
        io.out8(port + 3, 0x80);
        io.out8(port, div & 0xff);
        io.out8(port + 1, div >> 8);
        io.out8(port + 3, p & 0x1f); // word length, stop bits, parity
        status();
        break;
      }
      case 0x01: {
        const ch = fw.r8(AL);
        // The UART sends at once here; a full holding register would be a timeout.
        if (io.in8(port + 5) & 0x20) { io.out8(port, ch); fw.set8(AH, io.in8(port + 5)); }
        else fw.set8(AH, io.in8(port + 5) | 0x80);
        break;
      }
      case 0x02: {
        const lsr = io.in8(port + 5);
        if (lsr & 0x01) { fw.set8(AL, io.in8(port)); fw.set8(AH, lsr & 0x1e); }
        else fw.set8(AH, lsr | 0x80); // nothing received: timeout
        break;
      }
      case 0x03: status(); break;
      default: fw.set8(AH, 0x80);
    }
    fw.setCallerFlag(CF, false);
  }

  /** INT 17h: AH=00h print, 01h initialise, 02h status; DX = port 0-2 (none on this board). */
  int17(): void {
    const fw = this.fw, io = fw.machine.io;
    const port = fw.r16(DX) < 3 ? fw.bda16(0x08 + fw.r16(DX) * 2) : 0;
    if (!port) { fw.set8(AH, 0x01); return; } // time-out: no such port
    const status = () => (io.in8(port + 1) & 0xf8) ^ 0x48;
    switch (fw.r8(AH)) {
      case 0x00:
        io.out8(port, fw.r8(AL));
        io.out8(port + 2, 0x0d); // strobe
        io.out8(port + 2, 0x0c);
        fw.set8(AH, status());
        return;
      case 0x01:
        io.out8(port + 2, 0x08); // INIT low
        io.out8(port + 2, 0x0c);
        fw.set8(AH, status());
        return;
      default:
        fw.set8(AH, status());
    }
  }

  private nowUs(): number { return Math.floor(this.fw.machine.clock.now() / 1000) >>> 0; }
  private deadlineAddr(): number { return (this.fw.bda16(0x0e) << 4) + EBDA_EVENT_DEADLINE; }

  /** INT 15h AH=83h: AL=00h set bit 7 of ES:BX after CX:DX microseconds; AL=01h cancel. */
  eventWait(): void {
    const fw = this.fw;
    const active = fw.bda8(WAIT_ACTIVE);
    if (fw.r8(AL) === 0x01) { fw.setBda8(WAIT_ACTIVE, active & ~EVENT_WAIT); fw.result(true); return; }
    if (fw.r8(AL) !== 0x00) { fw.result(false, 0x86); return; }
    if (active & EVENT_WAIT) { fw.result(false, 0x80); return; } // one wait at a time
    fw.setBda16(WAIT_PTR, fw.r16(3 /* BX */));
    fw.setBda16(WAIT_PTR + 2, fw.seg(ES));
    fw.machine.memory.write32(this.deadlineAddr(), (this.nowUs() + ((fw.r16(1 /* CX */) << 16) | fw.r16(DX))) | 0);
    fw.setBda8(WAIT_ACTIVE, active | EVENT_WAIT);
    fw.result(true);
  }

  /** Called on every timer tick: post the event wait's flag once its time has come. */
  tick(): void {
    const fw = this.fw;
    if (!(fw.bda8(WAIT_ACTIVE) & EVENT_WAIT)) return;
    if (((fw.machine.memory.read32(this.deadlineAddr()) - this.nowUs()) | 0) > 0) return;
    fw.setBda8(WAIT_ACTIVE, fw.bda8(WAIT_ACTIVE) & ~EVENT_WAIT);
    const flag = ((fw.bda16(WAIT_PTR + 2) << 4) + fw.bda16(WAIT_PTR)) >>> 0;
    fw.machine.memory.write8(flag, fw.machine.memory.read8(flag) | 0x80);
  }

  /**
   * INT 15h AH=89h: ES:SI = GDT (1: the GDT, 2: the IDT, 3: DS, 4: ES, 5: SS, 6: CS, 7: for
   * the BIOS), BL/BH = the PICs' new vector bases. Returns in protected mode at the caller's
   * return address with CS=30h, DS=18h, ES=20h, SS=28h, interrupts off.
   */
  switchToProtectedMode(): void {
    const fw = this.fw, cpu = fw.cpu, m = fw.machine;
    const gdt = fw.lin(ES, fw.r16(SI));
    // Descriptor 7: the BIOS code segment (F0000, 64 KiB, execute/read).
    const d7 = [0xff, 0xff, 0x00, 0x00, 0x0f, 0x9b, 0x00, 0x00];
    d7.forEach((b, i) => fw.write8(gdt + 0x38 + i, b));
    const io = m.io;
    io.out8(0x20, 0x11); io.out8(0x21, fw.r8(BL)); io.out8(0x21, 0x04); io.out8(0x21, 0x01);
    io.out8(0xa0, 0x11); io.out8(0xa1, fw.r8(BH)); io.out8(0xa1, 0x02); io.out8(0xa1, 0x01);
    io.out8(0x21, 0xff); io.out8(0xa1, 0xff);
    m.memory.setA20(true);
    const desc = (sel: number) => {
      const a = gdt + sel;
      const lo = fw.read32(a), hi = fw.read32(a + 4);
      let limit = (lo & 0xffff) | (hi & 0x000f0000);
      if (hi & 0x00800000) limit = ((limit << 12) | 0xfff) >>> 0;
      const base = ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
      return { base, limit, flags: ((hi >> 8) & 0xff) | (((hi >> 20) & 0x0f) << 12) };
    };
    const gdtDesc = desc(0x08), idtDesc = desc(0x10);
    cpu.gdtrBase = gdtDesc.base; cpu.gdtrLimit = gdtDesc.limit & 0xffff;
    cpu.idtrBase = idtDesc.base; cpu.idtrLimit = idtDesc.limit & 0xffff;
    // The caller's return address from the INT 15h frame (IP, CS, FLAGS), then drop the frame.
    const frame = fw.lin(SS, fw.r16(SP));
    const retIp = fw.read16(frame);
    fw.set16(SP, (fw.r16(SP) + 6) & 0xffff);
    cpu.cr0 |= 1;
    cpu.cpl = 0;
    for (const [seg, sel] of [[DS, 0x18], [ES, 0x20], [SS, 0x28], [CS, 0x30]] as const) {
      const d = desc(sel);
      cpu.setSegment(seg, sel, d.base, d.limit, d.flags);
    }
    cpu.materializeFlags();
    cpu.flags &= ~(IF | CF);
    cpu.updateModes();
    cpu.eip = retIp;
    fw.set8(AH, 0);
  }
}

