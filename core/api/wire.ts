// Encoding shared by the transports: errors as plain data, and screen updates as one binary
// frame (a JSON header and the rectangles' pixels back to back) so pixels never go through JSON.
// Pure: runs in main, in the browser and in tests.

import { ApiError, type ApiErrorCode, type ScreenUpdate, type WireReply } from './contract.js';

const ERROR_CODES: readonly ApiErrorCode[] = ['not-found', 'invalid', 'conflict', 'bad-state', 'unauthorized', 'internal'];

/** Any thrown value as the wire's error object (non-ApiErrors become 'internal'). */
export function errorToWire(err: unknown): Extract<WireReply, { ok: false }>['error'] {
  if (err instanceof ApiError) {
    return err.issues.length > 0
      ? { code: err.code, message: err.message, issues: err.issues }
      : { code: err.code, message: err.message };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'internal', message };
}

/** The wire's error object back as an ApiError (unknown codes become 'internal'). */
export function errorFromWire(e: { code?: unknown; message?: unknown; issues?: unknown } | null | undefined): ApiError {
  const code = ERROR_CODES.includes(e?.code as ApiErrorCode) ? (e!.code as ApiErrorCode) : 'internal';
  const message = typeof e?.message === 'string' ? e.message : 'unknown error';
  const issues = Array.isArray(e?.issues) ? (e!.issues as ApiError['issues']) : [];
  return new ApiError(code, message, issues);
}

// Screen frame layout (little endian):
//   u32 magic "PSCR", u32 header length N, N bytes UTF-8 JSON header, pad to 4, pixels.
// The header is {id, width, height, full, rects: [[x, y, w, h], ...]}; pixels are each
// rect's RGBA rows in order, w*h*4 bytes per rect.
const SCREEN_MAGIC = 0x52435350; // "PSCR"

export function encodeScreenFrame(update: ScreenUpdate): Uint8Array {
  const header = new TextEncoder().encode(JSON.stringify({
    id: update.id,
    width: update.width,
    height: update.height,
    full: update.full,
    rects: update.rects.map((r) => [r.x, r.y, r.w, r.h]),
  }));
  const pixelStart = (8 + header.length + 3) & ~3;
  let total = pixelStart;
  for (const r of update.rects) total += r.w * r.h * 4;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, SCREEN_MAGIC, true);
  view.setUint32(4, header.length, true);
  out.set(header, 8);
  let at = pixelStart;
  for (const r of update.rects) {
    const size = r.w * r.h * 4;
    if (r.rgba.length !== size) throw new Error(`screen rect ${r.w}x${r.h} has ${r.rgba.length} bytes, expected ${size}`);
    out.set(r.rgba, at);
    at += size;
  }
  return out;
}

/** True when the bytes start like a screen frame. */
export function isScreenFrame(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(0, true) === SCREEN_MAGIC;
}

/** Decodes a frame; the rects' pixels are views into `bytes`. Throws on a malformed frame. */
export function decodeScreenFrame(bytes: Uint8Array): ScreenUpdate {
  if (!isScreenFrame(bytes)) throw new Error('not a screen frame');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(4, true);
  if (8 + headerLength > bytes.length) throw new Error('screen frame header truncated');
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))) as {
    id: string; width: number; height: number; full: boolean; rects: [number, number, number, number][];
  };
  let at = (8 + headerLength + 3) & ~3;
  const rects: ScreenUpdate['rects'] = [];
  for (const [x, y, w, h] of header.rects) {
    const size = w * h * 4;
    if (at + size > bytes.length) throw new Error('screen frame pixels truncated');
    rects.push({ x, y, w, h, rgba: bytes.subarray(at, at + size) });
    at += size;
  }
  return { id: header.id, width: header.width, height: header.height, full: header.full, rects };
}

/**
 * An ApiError as plain data. Electron's contextBridge copies an Error with its message only,
 * so window.perseus (the preload) rejects with this shape instead; `toApiError` turns it back.
 */
export interface PlainApiError {
  name: 'ApiError';
  code: ApiErrorCode;
  message: string;
  issues: ApiError['issues'];
}

export function toPlainApiError(err: unknown): PlainApiError {
  const e = err instanceof ApiError ? err : errorFromWire(errorToWire(err));
  return { name: 'ApiError', code: e.code, message: e.message, issues: e.issues };
}

/**
 * Whatever a PerseusClient call rejected with, as an ApiError: an ApiError as is, the plain
 * shape from the Electron preload, or anything else as 'internal'. UIs catch with this.
 */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err !== null && typeof err === 'object' && 'code' in err && 'message' in err) {
    return errorFromWire(err as { code: unknown; message: unknown; issues?: unknown });
  }
  return new ApiError('internal', err instanceof Error ? err.message : String(err));
}
