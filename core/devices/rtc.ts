// Motorola MC146818 real-time clock and its CMOS NVRAM (index 0x70, bit 7 = NMI mask; data 0x71).
//
// Wiring: io.register('rtc', 0x70, 2, rtc); new Rtc(clock, irq8Line, startEpochMs). The board
// fills the NVRAM (memory size, equipment, drives, boot order) with the set*() helpers before
// the firmware runs.
//
// The time registers are kept in the NVRAM array and advanced once per virtual second by a
// timer, exactly like the chip's update cycle: BCD or binary (register B bit 2), 12 or 24 hour
// (bit 1), with the update-in-progress window, update-ended / alarm / periodic interrupts on
// IRQ 8 through register C. The start time comes from the host clock (UTC); with a virtual
// host clock in deterministic runs the whole sequence is reproducible.

import type { PortHandler } from '../bus/io.js';
import type { IrqLine } from '../bus/irq.js';
import type { Timer, VirtualClock } from '../timing/clock.js';
import type { Stateful, VMStateDecl } from '../state/vmstate.js';

export const CMOS_SHUTDOWN = 0x0f;
export const CMOS_FLOPPY_TYPES = 0x10;
export const CMOS_DISK_TYPES = 0x12;
export const CMOS_EQUIPMENT = 0x14;
export const CMOS_CENTURY = 0x32;

const REG_A = 0x0a, REG_B = 0x0b, REG_C = 0x0c, REG_D = 0x0d;
const B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_DM_BINARY = 0x04, B_24H = 0x02;
const C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10;
const UIP_NS = 244_000;
const SECOND = 1_000_000_000;

export class Rtc implements PortHandler, Stateful {
  readonly vmstate: VMStateDecl = {
    name: 'rtc',
    version: 1,
    fields: [
      { name: 'cmos', type: 'u8[]', length: 128 },
      { name: 'index', type: 'u8' },
      { name: 'nmiDisabled', type: 'bool' },
      { name: 'nextUpdate', type: 'f64' },
      { name: 'nextPeriodic', type: 'f64' },
    ],
  };
  readonly cmos = new Uint8Array(128);
  index = 0;
  nmiDisabled = true;
  /** Virtual ns of the next update cycle (end of the current second), -1 when stopped. */
  nextUpdate = -1;
  nextPeriodic = -1;
  private readonly updateTimer: Timer;
  private readonly periodicTimer: Timer;

  constructor(private readonly clock: VirtualClock, private readonly irq: IrqLine, startEpochMs: number) {
    this.updateTimer = clock.createTimer('rtc-update', (now) => this.updateCycle(now));
    this.periodicTimer = clock.createTimer('rtc-periodic', (now) => this.periodicTick(now));
    this.cmos[REG_A] = 0x26; // 32.768 kHz time base, 1024 Hz periodic rate
    this.cmos[REG_B] = B_24H;
    this.cmos[REG_D] = 0x80; // valid RAM and time
    this.setTime(startEpochMs);
    this.scheduleUpdate(clock.now() + SECOND - (startEpochMs % 1000) * 1e6);
  }

  /** Device reset (the RESET pin clears the interrupt enables and flags, not the time). */
  reset(): void {
    this.cmos[REG_B] &= ~(B_PIE | B_AIE | B_UIE | 0x08);
    this.cmos[REG_C] = 0;
    this.irq.set(false);
    this.updatePeriodic();
  }

  postLoad(): void {
    if (this.nextUpdate >= 0) this.updateTimer.set(this.nextUpdate);
    else this.updateTimer.cancel();
    if (this.nextPeriodic >= 0) this.periodicTimer.set(this.nextPeriodic);
    else this.periodicTimer.cancel();
    this.irq.set((this.cmos[REG_C] & C_IRQF) !== 0);
  }

  // ---- NVRAM helpers for the board

  /** Set the clock registers from a Unix time in ms (UTC). */
  setTime(epochMs: number): void {
    const d = new Date(epochMs);
    this.writeTimeFields({
      sec: d.getUTCSeconds(), min: d.getUTCMinutes(), hour: d.getUTCHours(), wday: d.getUTCDay() + 1,
      mday: d.getUTCDate(), month: d.getUTCMonth() + 1, year: d.getUTCFullYear(),
    });
  }

  /** The clock registers as a Unix time in ms (UTC). */
  getTime(): number {
    const t = this.readTimeFields();
    return Date.UTC(t.year, t.month - 1, t.mday, t.hour, t.min, t.sec);
  }

  setMemorySize(ramBytes: number): void {
    const KiB = 1024, MiB = 1024 * 1024;
    this.cmos[0x15] = 640 & 0xff; // base memory in KiB
    this.cmos[0x16] = 640 >> 8;
    const extKb = Math.min(0xffff, Math.max(0, Math.floor((Math.min(ramBytes, 0xffffffff) - MiB) / KiB)));
    this.cmos[0x17] = this.cmos[0x30] = extKb & 0xff;
    this.cmos[0x18] = this.cmos[0x31] = extKb >> 8;
    const above16 = Math.min(0xffff, Math.max(0, Math.floor((Math.min(ramBytes, 0xe0000000) - 16 * MiB) / (64 * KiB))));
    this.cmos[0x34] = above16 & 0xff;
    this.cmos[0x35] = above16 >> 8;
    // Memory above 4 GiB in 64 KiB units: none on this machine.
    this.cmos[0x5b] = this.cmos[0x5c] = this.cmos[0x5d] = 0;
  }

  /** CMOS 0x10: high nibble drive A, low nibble drive B (0 none, 1 360K, 2 1.2M, 3 720K, 4 1.44M, 5 2.88M). */
  setFloppyTypes(a: number, b: number): void {
    this.cmos[CMOS_FLOPPY_TYPES] = ((a & 0xf) << 4) | (b & 0xf);
  }

  setEquipment(value: number): void {
    this.cmos[CMOS_EQUIPMENT] = value;
  }

  /** Write a raw NVRAM byte (checksum regions are the firmware's business). */
  setByte(index: number, value: number): void {
    this.cmos[index & 0x7f] = value;
  }

  // ---- ports

  read8(offset: number): number {
    if ((offset & 1) === 0) return 0xff;
    const i = this.index;
    switch (i) {
      case REG_A: {
        let v = this.cmos[REG_A] & 0x7f;
        const now = this.clock.now();
        if (this.nextUpdate >= 0 && !(this.cmos[REG_B] & B_SET) && this.nextUpdate - now <= UIP_NS) v |= 0x80;
        return v;
      }
      case REG_C: {
        const v = this.cmos[REG_C];
        this.cmos[REG_C] = 0;
        if (v & C_IRQF) this.irq.set(false);
        return v;
      }
      case REG_D:
        return 0x80;
      default:
        return this.cmos[i];
    }
  }

  write8(offset: number, value: number): void {
    if ((offset & 1) === 0) {
      this.index = value & 0x7f;
      this.nmiDisabled = (value & 0x80) !== 0;
      return;
    }
    const i = this.index;
    switch (i) {
      case REG_A: {
        const oldDiv = (this.cmos[REG_A] >> 4) & 7;
        this.cmos[REG_A] = value & 0x7f;
        const div = (value >> 4) & 7;
        if (div !== 2) {
          // Divider held in reset (or a test time base): no updates.
          this.nextUpdate = -1;
          this.updateTimer.cancel();
        } else if (oldDiv !== 2) {
          // Leaving divider reset: the first update comes half a second later.
          this.scheduleUpdate(this.clock.now() + SECOND / 2);
        }
        this.updatePeriodic();
        break;
      }
      case REG_B: {
        let v = value;
        if (v & B_SET) v &= ~B_UIE; // SET clears UIE
        this.cmos[REG_B] = v;
        this.updateIrq();
        this.updatePeriodic();
        break;
      }
      case REG_C:
      case REG_D:
        break; // read-only
      default:
        this.cmos[i] = value;
    }
  }

  // ---- time keeping

  private bcd(): boolean {
    return (this.cmos[REG_B] & B_DM_BINARY) === 0;
  }

  private fromReg(v: number): number {
    return this.bcd() ? ((v >> 4) & 0xf) * 10 + (v & 0xf) : v;
  }

  private toReg(v: number): number {
    return this.bcd() ? ((Math.floor(v / 10) % 10) << 4) | (v % 10) : v;
  }

  private readHour(reg: number): number {
    const raw = this.cmos[reg];
    if (this.cmos[REG_B] & B_24H) return this.fromReg(raw);
    const h = this.fromReg(raw & 0x7f) % 12;
    return raw & 0x80 ? h + 12 : h;
  }

  private toHourReg(h: number): number {
    if (this.cmos[REG_B] & B_24H) return this.toReg(h);
    const pm = h >= 12;
    const h12 = h % 12 === 0 ? 12 : h % 12;
    return this.toReg(h12) | (pm ? 0x80 : 0);
  }

  private readTimeFields() {
    const century = this.fromReg(this.cmos[CMOS_CENTURY]) || 20;
    return {
      sec: this.fromReg(this.cmos[0]) % 60, min: this.fromReg(this.cmos[2]) % 60, hour: this.readHour(4) % 24,
      wday: this.fromReg(this.cmos[6]), mday: this.fromReg(this.cmos[7]), month: this.fromReg(this.cmos[8]),
      year: century * 100 + (this.fromReg(this.cmos[9]) % 100),
    };
  }

  private writeTimeFields(t: { sec: number; min: number; hour: number; wday: number; mday: number; month: number; year: number }): void {
    this.cmos[0] = this.toReg(t.sec);
    this.cmos[2] = this.toReg(t.min);
    this.cmos[4] = this.toHourReg(t.hour);
    this.cmos[6] = this.toReg(t.wday);
    this.cmos[7] = this.toReg(t.mday);
    this.cmos[8] = this.toReg(t.month);
    this.cmos[9] = this.toReg(t.year % 100);
    this.cmos[CMOS_CENTURY] = this.toReg(Math.floor(t.year / 100) % 100);
  }

  private scheduleUpdate(at: number): void {
    this.nextUpdate = at;
    this.updateTimer.set(at);
  }

  private updateCycle(now: number): void {
    this.scheduleUpdate(this.nextUpdate + SECOND > now ? this.nextUpdate + SECOND : now + SECOND);
    if (this.cmos[REG_B] & B_SET) return;
    const t = this.readTimeFields();
    // Advance one second with calendar carry (the chip handles leap years, not DST here).
    let { sec, min, hour, wday, mday, month, year } = t;
    if (++sec >= 60) {
      sec = 0;
      if (++min >= 60) {
        min = 0;
        if (++hour >= 24) {
          hour = 0;
          wday = (wday % 7) + 1;
          const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
          if (++mday > days) {
            mday = 1;
            if (++month > 12) {
              month = 1;
              year++;
            }
          }
        }
      }
    }
    this.writeTimeFields({ sec, min, hour, wday, mday, month, year });
    let flags = C_UF;
    const match = (alarm: number, value: number) => (alarm & 0xc0) === 0xc0 || alarm === value;
    if (match(this.cmos[1], this.cmos[0]) && match(this.cmos[3], this.cmos[2]) && match(this.cmos[5], this.cmos[4])) flags |= C_AF;
    this.cmos[REG_C] |= flags;
    this.updateIrq();
  }

  private periodNs(): number {
    const rs = this.cmos[REG_A] & 0xf;
    if (rs === 0 || ((this.cmos[REG_A] >> 4) & 7) !== 2) return 0;
    const cycles = rs <= 2 ? 1 << (rs + 6) : 1 << (rs - 1);
    return (cycles * SECOND) / 32768;
  }

  private updatePeriodic(): void {
    const period = this.periodNs();
    if (!(this.cmos[REG_B] & B_PIE) || period === 0) {
      this.nextPeriodic = -1;
      this.periodicTimer.cancel();
      return;
    }
    if (this.nextPeriodic < 0) {
      this.nextPeriodic = this.clock.now() + period;
      this.periodicTimer.set(this.nextPeriodic);
    }
  }

  private periodicTick(now: number): void {
    const period = this.periodNs();
    this.cmos[REG_C] |= C_PF;
    this.updateIrq();
    if (period === 0 || !(this.cmos[REG_B] & B_PIE)) {
      this.nextPeriodic = -1;
      return;
    }
    let next = this.nextPeriodic + period;
    if (next <= now) next = now + period; // lost ticks are coalesced
    this.nextPeriodic = next;
    this.periodicTimer.set(next);
  }

  private updateIrq(): void {
    const c = this.cmos[REG_C];
    const b = this.cmos[REG_B];
    const pending = (c & b & (C_PF | C_AF | C_UF)) !== 0;
    if (pending && !(c & C_IRQF)) {
      this.cmos[REG_C] |= C_IRQF;
      this.irq.set(true);
    } else if (!pending && (c & C_IRQF)) {
      this.cmos[REG_C] &= ~C_IRQF;
      this.irq.set(false);
    }
  }
}
