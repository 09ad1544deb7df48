// Virtual time of the emulated PC and the timer queue devices use.
//
// Virtual time (nanoseconds since power-on, a float64) is derived from the CPU's executed
// instruction count at a fixed nominal rate (NOMINAL_IPS), plus "skipped" time: when the guest
// halts, time jumps to the next timer deadline, and in interactive runs the host adds time when
// the emulation lags behind the wall clock (catchUp). So deterministic runs depend only on the
// instruction stream, and interactive guests still see a wall clock that keeps pace.
//
// Devices read `now()` at any moment (it is exact within a CPU slice because it reads the
// live instruction counter) and arm timers with absolute deadlines. Timers are not saved
// themselves: each device saves its own deadline fields and re-arms in postLoad.

import type { Stateful, VMStateDecl } from '../state/vmstate.js';

/** Nominal guest speed for the instruction→time mapping: 50 MIPS, 20 ns per instruction. */
export const NOMINAL_IPS = 50_000_000;
export const NS_PER_SEC = 1_000_000_000;

export type TimerCallback = (nowNs: number) => void;

export class Timer {
  /** Absolute deadline in virtual ns, or -1 when not armed. */
  deadline = -1;
  constructor(
    readonly name: string,
    private readonly queue: VirtualClock,
    readonly callback: TimerCallback,
  ) {}
  /** Arm (or re-arm) at an absolute virtual time. */
  set(deadlineNs: number): void {
    this.deadline = deadlineNs;
    this.queue.timerChanged();
  }
  /** Arm `delayNs` after now. */
  setIn(delayNs: number): void {
    this.set(this.queue.now() + Math.max(0, delayNs));
  }
  cancel(): void {
    if (this.deadline < 0) return;
    this.deadline = -1;
    this.queue.timerChanged();
  }
  get armed(): boolean {
    return this.deadline >= 0;
  }
}

export class VirtualClock implements Stateful {
  static readonly decl: VMStateDecl = {
    name: 'clock',
    version: 1,
    fields: [
      { name: 'baseNs', type: 'f64' },
      { name: 'baseInstructions', type: 'f64' },
    ],
  };
  readonly vmstate = VirtualClock.decl;
  readonly nsPerInstruction: number;
  /** Virtual ns at `baseInstructions` executed instructions. */
  baseNs = 0;
  baseInstructions = 0;
  private readonly timers: Timer[] = [];
  private cachedNext = -1;
  private nextValid = false;

  /** `instructions` returns the CPU's live executed-instruction count. */
  constructor(private instructions: () => number, ips = NOMINAL_IPS) {
    this.nsPerInstruction = NS_PER_SEC / ips;
  }

  setInstructionSource(instructions: () => number): void {
    const now = this.now();
    this.instructions = instructions;
    this.rebase(now);
  }

  /** Current virtual time in ns. */
  now(): number {
    return this.baseNs + (this.instructions() - this.baseInstructions) * this.nsPerInstruction;
  }

  /** Add time without instructions (idle skip, catch-up with the host). */
  advance(deltaNs: number): void {
    if (deltaNs > 0) this.baseNs += deltaNs;
  }

  /** Re-anchor after the instruction source changed or was reset. */
  rebase(nowNs: number): void {
    this.baseNs = nowNs;
    this.baseInstructions = this.instructions();
  }

  createTimer(name: string, callback: TimerCallback): Timer {
    const t = new Timer(name, this, callback);
    this.timers.push(t);
    return t;
  }

  timerChanged(): void {
    this.nextValid = false;
  }

  /** Earliest armed deadline, or -1. */
  nextDeadline(): number {
    if (this.nextValid) return this.cachedNext;
    let best = -1;
    for (const t of this.timers) {
      if (t.deadline >= 0 && (best < 0 || t.deadline < best)) best = t.deadline;
    }
    this.cachedNext = best;
    this.nextValid = true;
    return best;
  }

  /** Instructions until the next deadline (at least 1), or `max` when none is sooner. */
  instructionsUntilDeadline(max: number): number {
    const next = this.nextDeadline();
    if (next < 0) return max;
    const n = Math.ceil((next - this.now()) / this.nsPerInstruction);
    return n < 1 ? 1 : n > max ? max : n;
  }

  /** Fire every timer whose deadline has passed (in deadline order); returns how many fired. */
  runExpired(): number {
    let fired = 0;
    // Bounded: a misbehaving device that re-arms in the past cannot loop forever here.
    for (let guard = 0; guard < 1000; guard++) {
      const next = this.nextDeadline();
      if (next < 0) break;
      const now = this.now();
      if (next > now) break;
      let due: Timer | null = null;
      for (const t of this.timers) {
        if (t.deadline >= 0 && t.deadline <= now && (due === null || t.deadline < due.deadline)) due = t;
      }
      if (!due) break;
      due.deadline = -1;
      this.nextValid = false;
      due.callback(now);
      fired++;
    }
    return fired;
  }

  /** Power-on: time 0, all timers disarmed. */
  reset(): void {
    for (const t of this.timers) t.deadline = -1;
    this.nextValid = false;
    this.rebase(0);
  }
}
