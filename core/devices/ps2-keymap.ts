// Scan codes of a 105-key PC keyboard by KeyboardEvent.code: set 1 (XT) and set 2 (AT) make
// codes, the 8042's set 2 → set 1 translation derived from them, and text → keystrokes for a
// US layout (Paste as keystrokes, `perseus run --type`).
//
// Codes above 0xFF carry the 0xE0 prefix (0xE048 = E0 48). Break codes: set 1 ORs 0x80 into
// the last byte, set 2 puts F0 before it. Pause and Print Screen have their own sequences.

/** [KeyboardEvent.code, set 1 make, set 2 make] */
const KEYS: [string, number, number][] = [
  ['Escape', 0x01, 0x76],
  ['Digit1', 0x02, 0x16], ['Digit2', 0x03, 0x1e], ['Digit3', 0x04, 0x26], ['Digit4', 0x05, 0x25],
  ['Digit5', 0x06, 0x2e], ['Digit6', 0x07, 0x36], ['Digit7', 0x08, 0x3d], ['Digit8', 0x09, 0x3e],
  ['Digit9', 0x0a, 0x46], ['Digit0', 0x0b, 0x45], ['Minus', 0x0c, 0x4e], ['Equal', 0x0d, 0x55],
  ['Backspace', 0x0e, 0x66], ['Tab', 0x0f, 0x0d],
  ['KeyQ', 0x10, 0x15], ['KeyW', 0x11, 0x1d], ['KeyE', 0x12, 0x24], ['KeyR', 0x13, 0x2d],
  ['KeyT', 0x14, 0x2c], ['KeyY', 0x15, 0x35], ['KeyU', 0x16, 0x3c], ['KeyI', 0x17, 0x43],
  ['KeyO', 0x18, 0x44], ['KeyP', 0x19, 0x4d], ['BracketLeft', 0x1a, 0x54], ['BracketRight', 0x1b, 0x5b],
  ['Enter', 0x1c, 0x5a], ['ControlLeft', 0x1d, 0x14],
  ['KeyA', 0x1e, 0x1c], ['KeyS', 0x1f, 0x1b], ['KeyD', 0x20, 0x23], ['KeyF', 0x21, 0x2b],
  ['KeyG', 0x22, 0x34], ['KeyH', 0x23, 0x33], ['KeyJ', 0x24, 0x3b], ['KeyK', 0x25, 0x42],
  ['KeyL', 0x26, 0x4b], ['Semicolon', 0x27, 0x4c], ['Quote', 0x28, 0x52], ['Backquote', 0x29, 0x0e],
  ['ShiftLeft', 0x2a, 0x12], ['Backslash', 0x2b, 0x5d],
  ['KeyZ', 0x2c, 0x1a], ['KeyX', 0x2d, 0x22], ['KeyC', 0x2e, 0x21], ['KeyV', 0x2f, 0x2a],
  ['KeyB', 0x30, 0x32], ['KeyN', 0x31, 0x31], ['KeyM', 0x32, 0x3a], ['Comma', 0x33, 0x41],
  ['Period', 0x34, 0x49], ['Slash', 0x35, 0x4a], ['ShiftRight', 0x36, 0x59],
  ['NumpadMultiply', 0x37, 0x7c], ['AltLeft', 0x38, 0x11], ['Space', 0x39, 0x29], ['CapsLock', 0x3a, 0x58],
  ['F1', 0x3b, 0x05], ['F2', 0x3c, 0x06], ['F3', 0x3d, 0x04], ['F4', 0x3e, 0x0c], ['F5', 0x3f, 0x03],
  ['F6', 0x40, 0x0b], ['F7', 0x41, 0x83], ['F8', 0x42, 0x0a], ['F9', 0x43, 0x01], ['F10', 0x44, 0x09],
  ['NumLock', 0x45, 0x77], ['ScrollLock', 0x46, 0x7e],
  ['Numpad7', 0x47, 0x6c], ['Numpad8', 0x48, 0x75], ['Numpad9', 0x49, 0x7d], ['NumpadSubtract', 0x4a, 0x7b],
  ['Numpad4', 0x4b, 0x6b], ['Numpad5', 0x4c, 0x73], ['Numpad6', 0x4d, 0x74], ['NumpadAdd', 0x4e, 0x79],
  ['Numpad1', 0x4f, 0x69], ['Numpad2', 0x50, 0x72], ['Numpad3', 0x51, 0x7a], ['Numpad0', 0x52, 0x70],
  ['NumpadDecimal', 0x53, 0x71], ['IntlBackslash', 0x56, 0x61], ['F11', 0x57, 0x78], ['F12', 0x58, 0x07],
  ['IntlRo', 0x73, 0x51], ['IntlYen', 0x7d, 0x6a], ['NumpadComma', 0x7e, 0x6d],
  ['NumpadEnter', 0xe01c, 0xe05a], ['ControlRight', 0xe01d, 0xe014], ['NumpadDivide', 0xe035, 0xe04a],
  ['AltRight', 0xe038, 0xe011], ['Home', 0xe047, 0xe06c], ['ArrowUp', 0xe048, 0xe075],
  ['PageUp', 0xe049, 0xe07d], ['ArrowLeft', 0xe04b, 0xe06b], ['ArrowRight', 0xe04d, 0xe074],
  ['End', 0xe04f, 0xe069], ['ArrowDown', 0xe050, 0xe072], ['PageDown', 0xe051, 0xe07a],
  ['Insert', 0xe052, 0xe070], ['Delete', 0xe053, 0xe071], ['MetaLeft', 0xe05b, 0xe01f],
  ['MetaRight', 0xe05c, 0xe027], ['ContextMenu', 0xe05d, 0xe02f], ['Power', 0xe05e, 0xe037],
  ['Sleep', 0xe05f, 0xe03f], ['WakeUp', 0xe063, 0xe05e],
];

export const PAUSE_SET1 = [0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5];
export const PAUSE_SET2 = [0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77];

const BY_CODE = new Map<string, { set1: number; set2: number }>(KEYS.map(([c, s1, s2]) => [c, { set1: s1, set2: s2 }]));

/** Every KeyboardEvent.code the keyboard knows (incl. Pause and PrintScreen). */
export const KNOWN_CODES: readonly string[] = [...KEYS.map((k) => k[0]), 'Pause', 'PrintScreen'];

/** Set 2 byte → set 1 byte, as the 8042's translation does (built from the table above). */
export const SET2_TO_SET1 = (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) t[i] = i; // unknown bytes pass unchanged
  for (const [, s1, s2] of KEYS) t[s2 & 0xff] = s1 & 0xff;
  t[0x12] = 0x2a;
  t[0x7c] = 0x37;
  return t;
})();

function bytes(code: number): number[] {
  return code > 0xff ? [0xe0, code & 0xff] : [code];
}

/** Scan code bytes for a key event in scan set 1 or 2 (set 3 shares set 2's main block). */
export function scanCodes(code: string, down: boolean, set: 1 | 2 | 3): number[] | null {
  if (code === 'Pause') return down ? (set === 1 ? PAUSE_SET1 : PAUSE_SET2) : [];
  if (code === 'PrintScreen') {
    if (set === 1) return down ? [0xe0, 0x2a, 0xe0, 0x37] : [0xe0, 0xb7, 0xe0, 0xaa];
    return down ? [0xe0, 0x12, 0xe0, 0x7c] : [0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12];
  }
  const k = BY_CODE.get(code);
  if (!k) return null;
  if (set === 1) {
    const b = bytes(k.set1);
    if (!down) b[b.length - 1] |= 0x80;
    return b;
  }
  if (set === 3) {
    // Set 3 has no E0 prefixes and uses F0 for breaks; the main block matches set 2.
    const c = k.set2 & 0xff;
    return down ? [c] : [0xf0, c];
  }
  const b = bytes(k.set2);
  if (!down) b.splice(b.length - 1, 0, 0xf0);
  return b;
}

/** A character typed on a US keyboard: the key and whether Shift is held. */
export function keyForChar(ch: string): { code: string; shift: boolean } | null {
  if (ch >= 'a' && ch <= 'z') return { code: `Key${ch.toUpperCase()}`, shift: false };
  if (ch >= 'A' && ch <= 'Z') return { code: `Key${ch}`, shift: true };
  if (ch >= '0' && ch <= '9') return { code: `Digit${ch}`, shift: false };
  const plain: Record<string, string> = {
    ' ': 'Space', '\n': 'Enter', '\r': 'Enter', '\t': 'Tab', '-': 'Minus', '=': 'Equal', '[': 'BracketLeft',
    ']': 'BracketRight', ';': 'Semicolon', "'": 'Quote', '`': 'Backquote', '\\': 'Backslash', ',': 'Comma',
    '.': 'Period', '/': 'Slash', '\b': 'Backspace', '\x1b': 'Escape',
  };
  if (plain[ch]) return { code: plain[ch], shift: false };
  const shifted: Record<string, string> = {
    '!': 'Digit1', '@': 'Digit2', '#': 'Digit3', '$': 'Digit4', '%': 'Digit5', '^': 'Digit6', '&': 'Digit7',
    '*': 'Digit8', '(': 'Digit9', ')': 'Digit0', '_': 'Minus', '+': 'Equal', '{': 'BracketLeft',
    '}': 'BracketRight', ':': 'Semicolon', '"': 'Quote', '~': 'Backquote', '|': 'Backslash', '<': 'Comma',
    '>': 'Period', '?': 'Slash',
  };
  if (shifted[ch]) return { code: shifted[ch], shift: true };
  return null;
}
