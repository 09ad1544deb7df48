// The transports' shared encoding: screen frames and errors.
import { describe, expect, test } from 'vitest';
import { ApiError, type ScreenUpdate } from '../../core/api/contract.js';
import { decodeScreenFrame, encodeScreenFrame, errorFromWire, errorToWire, isScreenFrame, toApiError, toPlainApiError } from '../../core/api/wire.js';

function pixels(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

describe('screen frames', () => {
  const update: ScreenUpdate = {
    id: 'vm-1', width: 640, height: 480, full: false,
    rects: [
      { x: 0, y: 0, w: 3, h: 2, rgba: pixels(3 * 2 * 4, 1) },
      { x: 100, y: 50, w: 5, h: 1, rgba: pixels(5 * 4, 7) },
    ],
  };

  test('round trip keeps the header and every pixel', () => {
    const bytes = encodeScreenFrame(update);
    expect(isScreenFrame(bytes)).toBe(true);
    const back = decodeScreenFrame(bytes);
    expect({ ...back, rects: back.rects.map((r) => ({ ...r, rgba: [...r.rgba] })) })
      .toEqual({ ...update, rects: update.rects.map((r) => ({ ...r, rgba: [...r.rgba] })) });
  });

  test('a frame at an odd offset in a larger buffer decodes', () => {
    const bytes = encodeScreenFrame(update);
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    expect(decodeScreenFrame(big.subarray(3)).rects[1]!.rgba[0]).toBe(update.rects[1]!.rgba[0]);
  });

  test('malformed input is refused, not misread', () => {
    const bytes = encodeScreenFrame(update);
    expect(() => decodeScreenFrame(bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/);
    expect(() => decodeScreenFrame(bytes.subarray(0, 12))).toThrow(/truncated/);
    expect(() => decodeScreenFrame(new TextEncoder().encode('{"kind":"event"}'))).toThrow(/not a screen frame/);
    expect(isScreenFrame(new Uint8Array(3))).toBe(false);
    expect(() => encodeScreenFrame({ ...update, rects: [{ x: 0, y: 0, w: 2, h: 2, rgba: new Uint8Array(3) }] })).toThrow(/expected 16/);
  });
});

describe('errors', () => {
  test('ApiErrors survive the wire with code and issues; others become internal', () => {
    const e = new ApiError('invalid', 'bad memory', [{ field: 'memoryMiB', message: 'too small' }]);
    const back = errorFromWire(JSON.parse(JSON.stringify(errorToWire(e))));
    expect(back).toBeInstanceOf(ApiError);
    expect([back.code, back.message, back.issues]).toEqual(['invalid', 'bad memory', [{ field: 'memoryMiB', message: 'too small' }]]);
    expect(errorToWire(new TypeError('boom'))).toEqual({ code: 'internal', message: 'boom' });
    expect(errorFromWire({ code: 'made-up', message: 5 })).toMatchObject({ code: 'internal', message: 'unknown error' });
  });

  test('toApiError restores the plain shape the Electron preload rejects with', () => {
    const plain = structuredClone(toPlainApiError(new ApiError('bad-state', 'VM is off')));
    expect(plain).toEqual({ name: 'ApiError', code: 'bad-state', message: 'VM is off', issues: [] });
    const back = toApiError(plain);
    expect(back).toBeInstanceOf(ApiError);
    expect(back.code).toBe('bad-state');
    expect(toApiError(new Error('x')).code).toBe('internal');
    expect(toApiError('text').message).toBe('text');
  });
});
