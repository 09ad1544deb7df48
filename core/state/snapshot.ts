// The machine-state file format: self-describing, versioned and checksummed.
//
//   offset 0  "PRSSTATE"                    magic (8 bytes)
//          8  u32 format version (FORMAT_VERSION)
//         12  u32 payload length
//         16  u32 CRC-32 of the payload
//         20  payload:
//               u32 meta JSON length, meta JSON (machine fingerprint, times, anything)
//               u32 section count, then per section:
//                 str name, u32 version, u32 field count, then per field:
//                   str name, u8 type tag, u32 byte length, bytes
//                   (tag 12: a u8[] of 64 KiB or more without its all-zero 4 KiB pages)
//   (str = u16 byte length + UTF-8; all integers little-endian)
//
// Loading never trusts a length: every read is bounds-checked and any inconsistency throws a
// StateError naming what is wrong, before any machine object is touched.

import {
  captureFields,
  isArrayType,
  migrateFields,
  restoreFields,
  StateError,
  type FieldType,
  type Stateful,
  type StateValue,
} from './vmstate.js';
import { crc32 } from '../util/crc32.js';

export const STATE_MAGIC = 'PRSSTATE';
export const FORMAT_VERSION = 1;
const HEADER = 20;

const TYPE_TAGS: FieldType[] = ['u8', 'u16', 'u32', 'i32', 'f64', 'bool', 'string', 'u8[]', 'u16[]', 'u32[]', 'i32[]', 'f64[]'];
/**
 * Tag of a large u8[] (RAM, VRAM) stored sparse: u32 length, a bitmap with one bit per 4 KiB
 * page (1 = stored), then the stored pages in order (the last one may be short). All-zero
 * pages are left out, so a 128 MiB guest's mostly empty RAM costs little to save and check.
 */
const SPARSE_U8_TAG = 12;
const SPARSE_MIN = 64 * 1024;
const PAGE = 4096;

function pageIsZero(a: Uint8Array, words: Int32Array | null, start: number, end: number): boolean {
  if (words && end - start === PAGE) {
    for (let i = start >> 2, e = end >> 2; i < e; i++) if (words[i] !== 0) return false;
    return true;
  }
  for (let i = start; i < end; i++) if (a[i] !== 0) return false;
  return true;
}

function encodeSparse(a: Uint8Array): Uint8Array {
  const pages = Math.ceil(a.length / PAGE);
  const mapLength = Math.ceil(pages / 8);
  const words = a.byteOffset % 4 === 0 ? new Int32Array(a.buffer, a.byteOffset, a.length >> 2) : null;
  const stored: number[] = [];
  let bytes = 4 + mapLength;
  for (let p = 0; p < pages; p++) {
    const start = p * PAGE;
    const end = Math.min(a.length, start + PAGE);
    if (pageIsZero(a, words, start, end)) continue;
    stored.push(p);
    bytes += end - start;
  }
  const out = new Uint8Array(bytes);
  new DataView(out.buffer).setUint32(0, a.length, true);
  let at = 4 + mapLength;
  for (const p of stored) {
    out[4 + (p >> 3)]! |= 1 << (p & 7);
    const page = a.subarray(p * PAGE, Math.min(a.length, (p + 1) * PAGE));
    out.set(page, at);
    at += page.length;
  }
  return out;
}

function decodeSparse(b: Uint8Array, where: string): Uint8Array {
  if (b.length < 4) throw new StateError(`state file corrupt: ${where} is too short`);
  const length = new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true);
  const pages = Math.ceil(length / PAGE);
  const mapLength = Math.ceil(pages / 8);
  if (4 + mapLength > b.length) throw new StateError(`state file corrupt: ${where} page map runs past its data`);
  let expected = 4 + mapLength;
  for (let p = 0; p < pages; p++) if (b[4 + (p >> 3)]! & (1 << (p & 7))) expected += Math.min(PAGE, length - p * PAGE);
  if (pages % 8 && b[4 + mapLength - 1]! >> (pages % 8)) throw new StateError(`state file corrupt: ${where} page map marks pages past the end`);
  if (expected !== b.length) throw new StateError(`state file corrupt: ${where} holds ${b.length} bytes, its page map says ${expected}`);
  const out = new Uint8Array(length);
  for (let p = 0, at = 4 + mapLength; p < pages; p++) {
    if (!(b[4 + (p >> 3)]! & (1 << (p & 7)))) continue;
    const n = Math.min(PAGE, length - p * PAGE);
    out.set(b.subarray(at, at + n), p * PAGE);
    at += n;
  }
  return out;
}

export interface SavedSection {
  name: string;
  version: number;
  fields: Map<string, StateValue>;
}

export interface SavedState {
  meta: Record<string, unknown>;
  sections: SavedSection[];
}

export { crc32 };

class Reader {
  private view: DataView;
  pos = 0;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number, what: string) {
    if (n < 0 || this.pos + n > this.buf.length) throw new StateError(`state file truncated or corrupt (reading ${what})`);
  }
  u8(what: string) { this.need(1, what); return this.buf[this.pos++]; }
  u16(what: string) { this.need(2, what); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  u32(what: string) { this.need(4, what); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  /** A view into the file (no copy): decodeValue and restoreFields copy what they keep. */
  bytes(n: number, what: string) { this.need(n, what); const b = this.buf.subarray(this.pos, this.pos + n); this.pos += n; return b; }
  str(what: string) {
    const n = this.u16(what);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes(n, what));
    } catch (e) {
      if (e instanceof StateError) throw e;
      throw new StateError(`state file corrupt: invalid text in ${what}`);
    }
  }
}

function encodeValue(type: FieldType, v: StateValue): Uint8Array {
  if (isArrayType(type)) {
    // A view: the caller copies it into the output before anything can change it.
    const a = v as Uint8Array;
    return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  }
  switch (type) {
    case 'string': return new TextEncoder().encode(v as string);
    case 'bool': return Uint8Array.of(v ? 1 : 0);
    case 'f64': { const b = new Uint8Array(8); new DataView(b.buffer).setFloat64(0, v as number, true); return b; }
    case 'u8': return Uint8Array.of(v as number);
    case 'u16': { const b = new Uint8Array(2); new DataView(b.buffer).setUint16(0, v as number, true); return b; }
    case 'u32': { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, (v as number) >>> 0, true); return b; }
    case 'i32': { const b = new Uint8Array(4); new DataView(b.buffer).setInt32(0, v as number, true); return b; }
  }
  throw new StateError(`unknown field type ${type}`);
}

function decodeValue(type: FieldType, b: Uint8Array, where: string): StateValue {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fixed = (n: number) => { if (b.length !== n) throw new StateError(`state file corrupt: ${where} has ${b.length} bytes, expected ${n}`); };
  switch (type) {
    case 'string':
      try { return new TextDecoder('utf-8', { fatal: true }).decode(b); } catch { throw new StateError(`state file corrupt: ${where} is not text`); }
    case 'bool': fixed(1); return b[0] !== 0;
    case 'f64': fixed(8); return dv.getFloat64(0, true);
    case 'u8': fixed(1); return b[0];
    case 'u16': fixed(2); return dv.getUint16(0, true);
    case 'u32': fixed(4); return dv.getUint32(0, true);
    case 'i32': fixed(4); return dv.getInt32(0, true);
    case 'u8[]': return b; // a view of the file: restoreFields copies it into the device
  }
  const size = type === 'u16[]' ? 2 : type === 'f64[]' ? 8 : 4;
  if (b.length % size) throw new StateError(`state file corrupt: ${where} length ${b.length} is not a multiple of ${size}`);
  const copy = b.slice().buffer;
  switch (type) {
    case 'u16[]': return new Uint16Array(copy);
    case 'u32[]': return new Uint32Array(copy);
    case 'i32[]': return new Int32Array(copy);
    default: return new Float64Array(copy);
  }
}

/** Serialize the declared state of every part, in order. */
export function encodeState(parts: readonly Stateful[], meta: Record<string, unknown> = {}): Uint8Array {
  // Two passes: gather every field's bytes (arrays as views, no copy), then write them once
  // into an output of the exact size. A 128 MiB guest's RAM is copied exactly once.
  const enc = new TextEncoder();
  const metaBytes = enc.encode(JSON.stringify(meta));
  const pieces: { name: Uint8Array; version: number; fields: { name: Uint8Array; tag: number; data: Uint8Array }[] }[] = [];
  let size = 4 + metaBytes.length + 4;
  const nameBytes = (text: string) => {
    const b = enc.encode(text);
    if (b.length > 0xffff) throw new StateError('state: name too long');
    return b;
  };
  for (const part of parts) {
    const decl = part.vmstate;
    const values = captureFields(part, false);
    const section = { name: nameBytes(decl.name), version: decl.version, fields: [] as { name: Uint8Array; tag: number; data: Uint8Array }[] };
    size += 2 + section.name.length + 4 + 4;
    for (const f of decl.fields) {
      const value = values.get(f.name)!;
      const sparse = f.type === 'u8[]' && (value as Uint8Array).length >= SPARSE_MIN;
      const data = sparse ? encodeSparse(value as Uint8Array) : encodeValue(f.type, value);
      const name = nameBytes(f.name);
      section.fields.push({ name, tag: sparse ? SPARSE_U8_TAG : TYPE_TAGS.indexOf(f.type), data });
      size += 2 + name.length + 1 + 4 + data.length;
    }
    pieces.push(section);
  }
  const out = new Uint8Array(HEADER + size);
  const dv = new DataView(out.buffer);
  let at = HEADER;
  const u16 = (v: number) => { dv.setUint16(at, v, true); at += 2; };
  const u32 = (v: number) => { dv.setUint32(at, v >>> 0, true); at += 4; };
  const bytes = (b: Uint8Array) => { out.set(b, at); at += b.length; };
  u32(metaBytes.length);
  bytes(metaBytes);
  u32(pieces.length);
  for (const sec of pieces) {
    u16(sec.name.length);
    bytes(sec.name);
    u32(sec.version);
    u32(sec.fields.length);
    for (const f of sec.fields) {
      u16(f.name.length);
      bytes(f.name);
      out[at++] = f.tag;
      u32(f.data.length);
      bytes(f.data);
    }
  }
  out.set(enc.encode(STATE_MAGIC), 0);
  dv.setUint32(8, FORMAT_VERSION, true);
  dv.setUint32(12, size, true);
  dv.setUint32(16, crc32(out.subarray(HEADER)), true);
  return out;
}

/** Parse and verify a state file without touching any machine object. */
export function decodeState(file: Uint8Array): SavedState {
  if (file.length < HEADER) throw new StateError('not a Perseus state file: too short');
  const magic = new TextDecoder().decode(file.subarray(0, 8));
  if (magic !== STATE_MAGIC) throw new StateError('not a Perseus state file: bad magic');
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== FORMAT_VERSION) throw new StateError(`state file format ${version} is not supported (expected ${FORMAT_VERSION})`);
  const length = dv.getUint32(12, true);
  if (HEADER + length !== file.length) {
    throw new StateError(`state file truncated or padded: payload is ${file.length - HEADER} bytes, header says ${length}`);
  }
  const payload = file.subarray(HEADER);
  if (crc32(payload) !== dv.getUint32(16, true)) throw new StateError('state file corrupt: checksum mismatch');

  const r = new Reader(payload);
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(new TextDecoder().decode(r.bytes(r.u32('meta length'), 'meta')));
  } catch (e) {
    if (e instanceof StateError) throw e;
    throw new StateError('state file corrupt: metadata is not JSON');
  }
  const count = r.u32('section count');
  const sections: SavedSection[] = [];
  for (let s = 0; s < count; s++) {
    const name = r.str('section name');
    const sv = r.u32(`${name} version`);
    const nfields = r.u32(`${name} field count`);
    const fields = new Map<string, StateValue>();
    for (let i = 0; i < nfields; i++) {
      const fname = r.str(`${name} field name`);
      const tag = r.u8(`${name}.${fname} type`);
      if (tag === SPARSE_U8_TAG) {
        const len = r.u32(`${name}.${fname} length`);
        fields.set(fname, decodeSparse(r.bytes(len, `${name}.${fname}`), `${name}.${fname}`));
        continue;
      }
      const type = TYPE_TAGS[tag];
      if (!type) throw new StateError(`state file corrupt: ${name}.${fname} has unknown type tag ${tag}`);
      const len = r.u32(`${name}.${fname} length`);
      fields.set(fname, decodeValue(type, r.bytes(len, `${name}.${fname}`), `${name}.${fname}`));
    }
    sections.push({ name, version: sv, fields });
  }
  if (r.pos !== payload.length) throw new StateError('state file corrupt: trailing bytes after the last section');
  return { meta, sections };
}

/**
 * Load a decoded state into `parts`. Every section is matched by name and migrated first; only
 * when all of them validate are the objects written, so a bad file leaves the machine as it was.
 */
export function applyState(parts: readonly Stateful[], saved: SavedState): void {
  const byName = new Map(saved.sections.map((s) => [s.name, s]));
  const plan: [Stateful, Map<string, StateValue>][] = [];
  for (const part of parts) {
    const sec = byName.get(part.vmstate.name);
    if (!sec) throw new StateError(`state has no section for "${part.vmstate.name}": it was saved from a different machine configuration`);
    const fields = new Map(sec.fields);
    migrateFields(part.vmstate, sec.version, fields);
    for (const f of part.vmstate.fields) {
      const v = fields.get(f.name);
      if (v === undefined) throw new StateError(`${part.vmstate.name}: saved state lacks field "${f.name}"`);
      if (isArrayType(f.type) && f.length !== undefined && (v as Uint8Array).length !== f.length) {
        throw new StateError(`${part.vmstate.name}.${f.name}: saved length ${(v as Uint8Array).length}, expected ${f.length}`);
      }
    }
    plan.push([part, fields]);
  }
  const extra = saved.sections.filter((s) => !parts.some((p) => p.vmstate.name === s.name));
  if (extra.length) {
    throw new StateError(`state has sections this machine lacks (${extra.map((s) => s.name).join(', ')}): it was saved from a different machine configuration`);
  }
  for (const [part, fields] of plan) restoreFields(part, fields);
}
