// Intel 8254 programmable interval timer (ports 0x40-0x43) and the system control port B
// (0x61: speaker gate, speaker data, refresh toggle, OUT2).
//
// Wiring: io.register('pit', 0x40, 4, pit); io.register('port61', 0x61, 1, pit.port61);
// new Pit(clock, irq0Line). Channel 0 drives IRQ 0, channel 1 is the (unused) refresh
// counter, channel 2 the speaker, gated by port 0x61 bit 0.
//
// Counters are computed from virtual time, not ticked: each channel remembers when its count
// was loaded and derives the current count and OUT from the elapsed 1.193182 MHz ticks. OUT of
// channel 0 follows the datasheet waveforms for all six modes and is pushed to the IRQ line at
// each transition through a timer.

import type { PortHandler } from '../bus/io.js';
import type { IrqLine } from '../bus/irq.js';
import type { Timer, VirtualClock } from '../timing/clock.js';
import { NS_PER_SEC } from '../timing/clock.js';
import type { Stateful, VMStateDecl } from '../state/vmstate.js';

export const PIT_HZ = 1_193_182;

const RW_LATCH = 0;
const RW_LSB = 1;
const RW_MSB = 2;
const RW_WORD = 3;

export class PitChannel {
  /** Reload value as written (0 means 65536, or 10000 in BCD). */
  reload = 0;
  /** Effective count (1..65536). */
  count = 0x10000;
  /** Virtual ns at which counting started. */
  loadTime = 0;
  mode = 0;
  rwMode = RW_WORD;
  bcd = false;
  gate = true;
  /** Counting has started (modes 1/5 wait for a gate edge; all modes wait for a count). */
  armed = false;
  /** Ticks elapsed when the gate froze the counter (modes 0/2/3/4 with gate low), -1 if not frozen. */
  frozenTicks = -1;
  /** Write state: next byte is the MSB of a word. */
  writeMsbNext = false;
  /** Read state: next byte is the MSB of a word. */
  readMsbNext = false;
  latchedCount = -1;
  latchedMsbNext = false;
  latchedStatus = -1;
  nullCount = true;
  /** Last OUT level pushed to the IRQ line. */
  outLevel = false;
  /** Deadline of the next OUT transition (virtual ns), -1 if none. */
  nextTransition = -1;
  writeLsb = 0;

  static readonly fields = [
    { name: 'reload', type: 'u32' }, { name: 'count', type: 'u32' }, { name: 'loadTime', type: 'f64' },
    { name: 'mode', type: 'u8' }, { name: 'rwMode', type: 'u8' }, { name: 'bcd', type: 'bool' },
    { name: 'gate', type: 'bool' }, { name: 'armed', type: 'bool' }, { name: 'frozenTicks', type: 'f64' },
    { name: 'writeMsbNext', type: 'bool' }, { name: 'readMsbNext', type: 'bool' },
    { name: 'latchedCount', type: 'i32' }, { name: 'latchedMsbNext', type: 'bool' },
    { name: 'latchedStatus', type: 'i32' }, { name: 'nullCount', type: 'bool' },
    { name: 'outLevel', type: 'bool' }, { name: 'nextTransition', type: 'f64' }, { name: 'writeLsb', type: 'u8' },
  ] as const;

  /** Ticks since counting started. */
  ticks(now: number): number {
    if (!this.armed) return 0;
    if (this.frozenTicks >= 0) return this.frozenTicks;
    return Math.floor(((now - this.loadTime) * PIT_HZ) / NS_PER_SEC);
  }

  /** Current counter value (what a latch would capture), in binary. */
  counter(now: number): number {
    if (!this.armed) return this.reload === 0 ? 0 : this.reload & 0xffff;
    const d = this.ticks(now);
    const n = this.count;
    switch (this.mode) {
      case 2: return n - (d % n);
      case 3: return n - ((2 * d) % n);
      default: return (n - d) & 0xffff; // 0, 1, 4, 5: count down and wrap
    }
  }

  out(now: number): boolean {
    const n = this.count;
    switch (this.mode) {
      case 0: return this.armed && this.ticks(now) >= n;
      case 1: return !this.armed || this.ticks(now) >= n;
      case 2:
        if (!this.armed || !this.gate) return true;
        return this.ticks(now) % n !== n - 1;
      case 3:
        if (!this.armed || !this.gate) return true;
        return this.ticks(now) % n < ((n + 1) >> 1);
      default: // 4, 5: one-tick low strobe when the count expires
        return !this.armed || this.ticks(now) !== n;
    }
  }

  /** Tick count of the next OUT change after `d` elapsed ticks, or -1. */
  nextChangeTick(d: number): number {
    if (!this.armed || this.frozenTicks >= 0) return -1;
    const n = this.count;
    switch (this.mode) {
      case 0:
      case 1:
        return d < n ? n : -1;
      case 2: {
        const base = d - (d % n);
        return d % n < n - 1 ? base + n - 1 : base + n;
      }
      case 3: {
        const base = d - (d % n);
        const half = (n + 1) >> 1;
        return d % n < half ? base + half : base + n;
      }
      default:
        return d < n ? n : d === n ? n + 1 : -1;
    }
  }
}

export class Pit implements PortHandler, Stateful {
  readonly vmstate: VMStateDecl;
  readonly channels = [new PitChannel(), new PitChannel(), new PitChannel()];
  /** Port 0x61 bits 0-3 as written (gate 2, speaker data, parity/IOCHK enables). */
  portB = 0;
  private readonly timer: Timer;
  readonly port61: PortHandler;
  /** Speaker state observers (the host may beep); called with (enabled, frequencyHz). */
  onSpeaker: (on: boolean, hz: number) => void = () => {};

  constructor(private readonly clock: VirtualClock, private readonly irq0: IrqLine) {
    const fields: { name: string; type: 'u8' }[] = [{ name: 'portB', type: 'u8' }];
    this.vmstate = { name: 'pit', version: 1, fields: [...fields, ...this.channelFieldDecls()] };
    this.timer = clock.createTimer('pit', (now) => this.channel0Transition(now));
    this.port61 = {
      read8: () => this.readPortB(),
      write8: (_o, v) => this.writePortB(v),
    };
    // The declared fields of the channels are exposed as flat properties (ch0_mode, ...).
    for (let i = 0; i < 3; i++) {
      const ch = this.channels[i] as unknown as Record<string, unknown>;
      for (const f of PitChannel.fields) {
        Object.defineProperty(this, `ch${i}_${f.name}`, {
          get: () => ch[f.name],
          set: (v) => { ch[f.name] = v; },
          enumerable: false,
        });
      }
    }
    this.reset();
  }

  private channelFieldDecls() {
    const out: { name: string; type: (typeof PitChannel.fields)[number]['type'] }[] = [];
    for (let i = 0; i < 3; i++) for (const f of PitChannel.fields) out.push({ name: `ch${i}_${f.name}`, type: f.type });
    return out;
  }

  reset(): void {
    for (let i = 0; i < 3; i++) {
      const c = new PitChannel();
      c.gate = i !== 2;
      Object.assign(this.channels[i], c);
    }
    this.portB = 0;
    this.timer.cancel();
    this.irq0.set(false);
  }

  postLoad(): void {
    const c = this.channels[0];
    if (c.nextTransition >= 0) this.timer.set(c.nextTransition);
    else this.timer.cancel();
    this.irq0.set(c.outLevel);
  }

  private now(): number {
    return this.clock.now();
  }

  private channel0Transition(now: number): void {
    this.updateChannel0(now);
  }

  /** Push OUT0 to IRQ 0 and schedule the next transition. */
  private updateChannel0(now: number): void {
    const c = this.channels[0];
    const out = c.out(now);
    if (out !== c.outLevel) {
      c.outLevel = out;
      this.irq0.set(out);
    }
    const d = c.ticks(now);
    const next = c.nextChangeTick(d);
    if (next < 0) {
      c.nextTransition = -1;
      this.timer.cancel();
      return;
    }
    let t = c.loadTime + Math.ceil((next * NS_PER_SEC) / PIT_HZ);
    if (t <= now) t = now + 1;
    c.nextTransition = t;
    this.timer.set(t);
  }

  private loadCount(i: number, value: number): void {
    const c = this.channels[i];
    c.reload = value;
    let n = value;
    if (c.bcd) n = fromBcd16(value);
    if (n === 0) n = c.bcd ? 10000 : 0x10000;
    c.count = n;
    c.nullCount = false;
    const now = this.now();
    // Modes 1 and 5 wait for a gate rising edge; the others start counting now (gate permitting).
    if (c.mode === 1 || c.mode === 5) {
      if (!c.armed) {
        if (i === 0) this.updateChannel0(now);
        return;
      }
      // A new count in a running one-shot takes effect at the next trigger.
      return;
    }
    // Periodic modes would pick a new count up at the end of the current period; restarting
    // now is close enough and keeps the waveform simple.
    c.armed = true;
    c.loadTime = now;
    c.frozenTicks = c.gate ? -1 : 0;
    if (i === 0) this.updateChannel0(now);
  }

  read8(offset: number): number {
    if (offset === 3) return 0xff;
    const c = this.channels[offset];
    if (c.latchedStatus >= 0) {
      const s = c.latchedStatus;
      c.latchedStatus = -1;
      return s;
    }
    let value: number;
    let msb: boolean;
    if (c.latchedCount >= 0) {
      msb = c.rwMode === RW_MSB || (c.rwMode === RW_WORD && c.latchedMsbNext);
      value = c.latchedCount;
      if (c.rwMode === RW_WORD && !c.latchedMsbNext) c.latchedMsbNext = true;
      else c.latchedCount = -1;
    } else {
      value = this.displayCount(c, c.counter(this.now()));
      msb = c.rwMode === RW_MSB || (c.rwMode === RW_WORD && c.readMsbNext);
      if (c.rwMode === RW_WORD) c.readMsbNext = !c.readMsbNext;
    }
    return msb ? (value >> 8) & 0xff : value & 0xff;
  }

  private displayCount(c: PitChannel, v: number): number {
    v &= 0xffff;
    if (c.bcd) v = toBcd16(v % 10000);
    return v;
  }

  private status(c: PitChannel, now: number): number {
    return (c.out(now) ? 0x80 : 0) | (c.nullCount ? 0x40 : 0) | (c.rwMode << 4) | (c.mode << 1) | (c.bcd ? 1 : 0);
  }

  private latch(c: PitChannel, now: number): void {
    if (c.latchedCount >= 0) return; // a latch holds until read
    c.latchedCount = this.displayCount(c, c.counter(now));
    c.latchedMsbNext = false;
  }

  write8(offset: number, value: number): void {
    const now = this.now();
    if (offset === 3) {
      const sel = value >> 6;
      if (sel === 3) {
        // Read-back: bit 5 = 0 latches counts, bit 4 = 0 latches status, bits 1-3 select.
        for (let i = 0; i < 3; i++) {
          if (!(value & (2 << i))) continue;
          const c = this.channels[i];
          if (!(value & 0x20)) this.latch(c, now);
          if (!(value & 0x10) && c.latchedStatus < 0) c.latchedStatus = this.status(c, now);
        }
        return;
      }
      const c = this.channels[sel];
      const rw = (value >> 4) & 3;
      if (rw === RW_LATCH) {
        this.latch(c, now);
        return;
      }
      c.rwMode = rw;
      let mode = (value >> 1) & 7;
      if (mode > 5) mode -= 4;
      c.mode = mode;
      c.bcd = (value & 1) !== 0;
      c.writeMsbNext = false;
      c.readMsbNext = false;
      c.latchedCount = -1;
      c.nullCount = true;
      // Writing the control word stops the counter until a new count is written; OUT goes to
      // its initial level (low in mode 0, high otherwise).
      c.armed = false;
      c.frozenTicks = -1;
      if (sel === 0) this.updateChannel0(now);
      return;
    }
    const c = this.channels[offset];
    switch (c.rwMode) {
      case RW_LSB:
        this.loadCount(offset, value & 0xff);
        break;
      case RW_MSB:
        this.loadCount(offset, (value & 0xff) << 8);
        break;
      default:
        if (!c.writeMsbNext) {
          c.writeLsb = value & 0xff;
          c.writeMsbNext = true;
          if (c.mode === 0) {
            // Mode 0: writing the first byte stops the count (OUT stays low).
            c.armed = false;
            if (offset === 0) this.updateChannel0(now);
          }
        } else {
          c.writeMsbNext = false;
          this.loadCount(offset, c.writeLsb | ((value & 0xff) << 8));
        }
    }
    if (offset === 2) this.speakerChanged();
  }

  setGate(i: number, gate: boolean): void {
    const c = this.channels[i];
    if (c.gate === gate) return;
    const now = this.now();
    c.gate = gate;
    if (gate) {
      if (c.mode === 1 || c.mode === 5) {
        // Rising edge triggers the one-shot once a count was written.
        if (!c.nullCount) {
          c.armed = true;
          c.loadTime = now;
          c.frozenTicks = -1;
        }
      } else if (c.mode === 2 || c.mode === 3) {
        // Rising edge reloads the count.
        if (c.armed) {
          c.loadTime = now;
          c.frozenTicks = -1;
        }
      } else if (c.armed && c.frozenTicks >= 0) {
        // Resume counting where it stopped.
        c.loadTime = now - Math.floor((c.frozenTicks * NS_PER_SEC) / PIT_HZ);
        c.frozenTicks = -1;
      }
    } else if (c.armed && c.mode !== 1 && c.mode !== 5) {
      c.frozenTicks = c.ticks(now);
    }
    if (i === 0) this.updateChannel0(now);
  }

  private readPortB(): number {
    const now = this.now();
    // Refresh request toggles every 15.085 us; OUT2 in bit 5.
    const refresh = Math.floor(now / 15085) & 1;
    return (this.portB & 0x0f) | (refresh ? 0x10 : 0) | (this.channels[2].out(now) ? 0x20 : 0);
  }

  private writePortB(value: number): void {
    this.portB = value & 0x0f;
    this.setGate(2, (value & 1) !== 0);
    this.speakerChanged();
  }

  private speakerChanged(): void {
    const c = this.channels[2];
    const on = (this.portB & 3) === 3 && c.mode === 3 && c.armed;
    this.onSpeaker(on, on ? PIT_HZ / c.count : 0);
  }
}

function fromBcd16(v: number): number {
  return ((v >> 12) & 0xf) * 1000 + ((v >> 8) & 0xf) * 100 + ((v >> 4) & 0xf) * 10 + (v & 0xf);
}

function toBcd16(v: number): number {
  return ((Math.floor(v / 1000) % 10) << 12) | ((Math.floor(v / 100) % 10) << 8) | ((Math.floor(v / 10) % 10) << 4) | (v % 10);
}
