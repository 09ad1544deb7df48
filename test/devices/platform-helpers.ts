// Shared helpers for the platform device tests: a controllable clock, IRQ line recorders and
// the save → load → save round trip.
import { expect } from 'vitest';
import { applyState, decodeState, encodeState } from '../../core/state/snapshot.js';
import type { Stateful } from '../../core/state/vmstate.js';
import { VirtualClock } from '../../core/timing/clock.js';

export function testClock(): { clock: VirtualClock; advance(ns: number): void } {
  const clock = new VirtualClock(() => 0);
  return {
    clock,
    advance(ns: number) {
      // Step through deadlines so timers fire in order, like the board's run loop.
      const end = clock.now() + ns;
      for (;;) {
        const next = clock.nextDeadline();
        if (next < 0 || next > end) break;
        clock.advance(next - clock.now());
        clock.runExpired();
      }
      clock.advance(end - clock.now());
      clock.runExpired();
    },
  };
}

export class LineRecorder {
  level = false;
  rises = 0;
  set(level: boolean): void {
    if (level && !this.level) this.rises++;
    this.level = level;
  }
}

/** Save `a`, load into `b`, save `b`: the two files must be byte-identical. */
export function expectRoundTrip(a: Stateful[], b: Stateful[]): void {
  const first = encodeState(a, { t: 1 });
  applyState(b, decodeState(first));
  const second = encodeState(b, { t: 1 });
  expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
}
