// Input events come from the UI over a transport: checked here so that a malformed event is
// an 'invalid' error for the caller and never reaches a running machine.

import type { InputEvent } from '../../core/api/contract.js';

export const MAX_INPUT_EVENTS = 10_000;
export const MAX_TEXT_LENGTH = 65_536;
const COMBOS = new Set(['ctrl-alt-del', 'alt-tab', 'print-screen']);

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const buttons = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 7;

/** Why these events are not acceptable, or null when they all are. */
export function inputEventsProblem(events: unknown): string | null {
  if (!Array.isArray(events)) return 'events must be an array';
  if (events.length > MAX_INPUT_EVENTS) return `too many events in one call (${events.length}, at most ${MAX_INPUT_EVENTS})`;
  for (let i = 0; i < events.length; i++) {
    const problem = inputEventProblem(events[i]);
    if (problem) return `events[${i}]: ${problem}`;
  }
  return null;
}

function inputEventProblem(e: unknown): string | null {
  if (e === null || typeof e !== 'object') return 'not an object';
  const ev = e as Record<string, unknown>;
  switch (ev.type as InputEvent['type']) {
    case 'key':
      if (typeof ev.code !== 'string' || !/^[A-Za-z0-9]{1,32}$/.test(ev.code)) return 'key code must be a KeyboardEvent.code name';
      if (typeof ev.down !== 'boolean') return 'key down must be true or false';
      return null;
    case 'mouse':
      if (![ev.dx, ev.dy, ev.dz].every(finite)) return 'mouse dx, dy and dz must be numbers';
      if (!buttons(ev.buttons)) return 'mouse buttons must be a bit mask 0-7';
      return null;
    case 'mouse-abs':
      if (!finite(ev.x) || !finite(ev.y) || ev.x < 0 || ev.x > 1 || ev.y < 0 || ev.y > 1) return 'mouse-abs x and y must be in 0..1';
      if (ev.dz !== undefined && !(Number.isInteger(ev.dz) && Math.abs(ev.dz as number) <= 127)) return 'mouse-abs dz must be a whole number of wheel steps (-127..127)';
      if (!buttons(ev.buttons)) return 'mouse buttons must be a bit mask 0-7';
      return null;
    case 'text':
      if (typeof ev.text !== 'string') return 'text must be a string';
      if (ev.text.length > MAX_TEXT_LENGTH) return `text is too long (${ev.text.length} characters, at most ${MAX_TEXT_LENGTH})`;
      return null;
    case 'combo':
      if (typeof ev.combo !== 'string' || !(COMBOS.has(ev.combo) || /^ctrl-alt-f([1-9]|1[0-2])$/.test(ev.combo))) return `unknown key combination ${JSON.stringify(ev.combo)}`;
      return null;
    default:
      return `unknown input event type ${JSON.stringify(ev.type)}`;
  }
}
