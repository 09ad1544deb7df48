// The full 105-key (ISO) keyboard the console sends by KeyboardEvent.code: each key's set 1
// make and break bytes as the IBM/Microsoft scan-code tables give them, the set 2 bytes the
// 8042 translates back to the same set 1 bytes, and the special sequences (Pause/Break,
// PrintScreen, AltGr, Windows and menu keys). The expectations below are the published
// tables, written out independently of core/devices/ps2-keymap.ts.
import { describe, expect, test } from 'vitest';
import { KNOWN_CODES, SET2_TO_SET1, scanCodes } from '../../core/devices/ps2-keymap.js';

/** KeyboardEvent.code → set 1 make bytes, row by row of an ISO 105-key keyboard. */
const ISO_105: [string, number[]][] = [
  // Function row (16)
  ['Escape', [0x01]], ['F1', [0x3b]], ['F2', [0x3c]], ['F3', [0x3d]], ['F4', [0x3e]], ['F5', [0x3f]],
  ['F6', [0x40]], ['F7', [0x41]], ['F8', [0x42]], ['F9', [0x43]], ['F10', [0x44]], ['F11', [0x57]],
  ['F12', [0x58]], ['PrintScreen', [0xe0, 0x2a, 0xe0, 0x37]], ['ScrollLock', [0x46]],
  ['Pause', [0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5]],
  // Number row, editing block, keypad top (21)
  ['Backquote', [0x29]], ['Digit1', [0x02]], ['Digit2', [0x03]], ['Digit3', [0x04]], ['Digit4', [0x05]],
  ['Digit5', [0x06]], ['Digit6', [0x07]], ['Digit7', [0x08]], ['Digit8', [0x09]], ['Digit9', [0x0a]],
  ['Digit0', [0x0b]], ['Minus', [0x0c]], ['Equal', [0x0d]], ['Backspace', [0x0e]],
  ['Insert', [0xe0, 0x52]], ['Home', [0xe0, 0x47]], ['PageUp', [0xe0, 0x49]],
  ['NumLock', [0x45]], ['NumpadDivide', [0xe0, 0x35]], ['NumpadMultiply', [0x37]], ['NumpadSubtract', [0x4a]],
  // Top letter row (20)
  ['Tab', [0x0f]], ['KeyQ', [0x10]], ['KeyW', [0x11]], ['KeyE', [0x12]], ['KeyR', [0x13]], ['KeyT', [0x14]],
  ['KeyY', [0x15]], ['KeyU', [0x16]], ['KeyI', [0x17]], ['KeyO', [0x18]], ['KeyP', [0x19]],
  ['BracketLeft', [0x1a]], ['BracketRight', [0x1b]],
  ['Delete', [0xe0, 0x53]], ['End', [0xe0, 0x4f]], ['PageDown', [0xe0, 0x51]],
  ['Numpad7', [0x47]], ['Numpad8', [0x48]], ['Numpad9', [0x49]], ['NumpadAdd', [0x4e]],
  // Home row (17); on ISO boards the key left of Enter reports code Backslash
  ['CapsLock', [0x3a]], ['KeyA', [0x1e]], ['KeyS', [0x1f]], ['KeyD', [0x20]], ['KeyF', [0x21]],
  ['KeyG', [0x22]], ['KeyH', [0x23]], ['KeyJ', [0x24]], ['KeyK', [0x25]], ['KeyL', [0x26]],
  ['Semicolon', [0x27]], ['Quote', [0x28]], ['Backslash', [0x2b]], ['Enter', [0x1c]],
  ['Numpad4', [0x4b]], ['Numpad5', [0x4c]], ['Numpad6', [0x4d]],
  // Bottom letter row (18); IntlBackslash is the ISO key next to the left Shift
  ['ShiftLeft', [0x2a]], ['IntlBackslash', [0x56]], ['KeyZ', [0x2c]], ['KeyX', [0x2d]], ['KeyC', [0x2e]],
  ['KeyV', [0x2f]], ['KeyB', [0x30]], ['KeyN', [0x31]], ['KeyM', [0x32]], ['Comma', [0x33]],
  ['Period', [0x34]], ['Slash', [0x35]], ['ShiftRight', [0x36]], ['ArrowUp', [0xe0, 0x48]],
  ['Numpad1', [0x4f]], ['Numpad2', [0x50]], ['Numpad3', [0x51]], ['NumpadEnter', [0xe0, 0x1c]],
  // Space row (13): AltRight is AltGr, Meta the Windows keys, ContextMenu the menu key
  ['ControlLeft', [0x1d]], ['MetaLeft', [0xe0, 0x5b]], ['AltLeft', [0x38]], ['Space', [0x39]],
  ['AltRight', [0xe0, 0x38]], ['MetaRight', [0xe0, 0x5c]], ['ContextMenu', [0xe0, 0x5d]],
  ['ControlRight', [0xe0, 0x1d]], ['ArrowLeft', [0xe0, 0x4b]], ['ArrowDown', [0xe0, 0x50]],
  ['ArrowRight', [0xe0, 0x4d]], ['Numpad0', [0x52]], ['NumpadDecimal', [0x53]],
];

/** Set 1 break: the make's last byte with bit 7 set (PrintScreen's two halves in reverse). */
function set1Break(code: string, make: number[]): number[] {
  if (code === 'PrintScreen') return [0xe0, 0xb7, 0xe0, 0xaa];
  const b = [...make];
  b[b.length - 1]! |= 0x80;
  return b;
}

/** What the 8042's translation makes of a set 2 stream: F0 xx becomes xx|0x80. */
function translate(set2: number[]): number[] {
  const out: number[] = [];
  let breakNext = false;
  for (const b of set2) {
    if (b === 0xf0) { breakNext = true; continue; }
    const t = b === 0xe0 || b === 0xe1 ? b : SET2_TO_SET1[b]!;
    out.push(breakNext ? t | 0x80 : t);
    breakNext = false;
  }
  return out;
}

describe('PS/2 scan codes of a 105-key keyboard', () => {
  test('the table lists 105 distinct keys, all of which the keyboard knows', () => {
    expect(ISO_105).toHaveLength(105);
    expect(new Set(ISO_105.map(([c]) => c)).size).toBe(105);
    for (const [code] of ISO_105) expect(KNOWN_CODES, code).toContain(code);
  });

  test.each(ISO_105)('%s: set 1 make and break', (code, make) => {
    expect(scanCodes(code, true, 1)).toEqual(make);
    // Pause has no break code: its make sequence already contains both halves.
    expect(scanCodes(code, false, 1)).toEqual(code === 'Pause' ? [] : set1Break(code, make));
  });

  test.each(ISO_105)('%s: set 2 bytes translate back to set 1 through the 8042', (code, make) => {
    const down = scanCodes(code, true, 2)!;
    expect(translate(down)).toEqual(make);
    if (code === 'Pause') {
      expect(down).toEqual([0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77]);
      expect(scanCodes(code, false, 2)).toEqual([]);
      return;
    }
    const up = scanCodes(code, false, 2)!;
    expect(up).toContain(0xf0);
    expect(translate(up)).toEqual(set1Break(code, make));
  });

  test('no two keys share a make code', () => {
    const seen = new Map<string, string>();
    for (const [code] of ISO_105) {
      for (const set of [1, 2] as const) {
        const key = `${set}:${scanCodes(code, true, set)!.join(',')}`;
        expect(seen.get(key), `${code} and ${seen.get(key)}`).toBeUndefined();
        seen.set(key, code);
      }
    }
  });

  test('an unknown code is refused, not guessed', () => {
    expect(scanCodes('Fn', true, 1)).toBeNull();
    expect(scanCodes('KeyÄ', true, 2)).toBeNull();
  });
});
