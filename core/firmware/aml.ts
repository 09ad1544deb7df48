// A tiny ACPI Machine Language encoder: just the opcodes the DSDT in acpi.ts needs (names,
// integers, strings, packages, buffers, scopes, devices, methods returning a value, resource
// templates). Every function returns the encoded bytes; callers concatenate them.
// Encodings from the ACPI specification, section 20 (AML grammar).

export type Aml = number[];

const ZERO_OP = 0x00, ONE_OP = 0x01, ONES_OP = 0xff;
const BYTE_PREFIX = 0x0a, WORD_PREFIX = 0x0b, DWORD_PREFIX = 0x0c, STRING_PREFIX = 0x0d;
const NAME_OP = 0x08, SCOPE_OP = 0x10, BUFFER_OP = 0x11, PACKAGE_OP = 0x12, METHOD_OP = 0x14;
const RETURN_OP = 0xa4, EXT_OP = 0x5b, DEVICE_OP = 0x82;
const DUAL_NAME = 0x2e, MULTI_NAME = 0x2f, ROOT_CHAR = 0x5c, PARENT_CHAR = 0x5e;

/** PkgLength for a body of `bodyLength` bytes (the encoding counts its own bytes). */
export function pkgLength(bodyLength: number): Aml {
  if (bodyLength + 1 < 0x40) return [bodyLength + 1];
  for (let n = 2; n <= 4; n++) {
    const total = bodyLength + n;
    if (total < 1 << (4 + 8 * (n - 1))) {
      const out = [((n - 1) << 6) | (total & 0x0f)];
      for (let i = 1; i < n; i++) out.push((total >> (4 + 8 * (i - 1))) & 0xff);
      return out;
    }
  }
  throw new Error('AML package too large');
}

function nameSeg(seg: string): Aml {
  if (!/^[A-Z_][A-Z0-9_]{0,3}$/.test(seg)) throw new Error(`bad AML name segment "${seg}"`);
  return [...seg.padEnd(4, '_')].map((c) => c.charCodeAt(0));
}

/** A NameString: "\\_SB.PCI0", "^FOO", "_S5". */
export function nameString(path: string): Aml {
  const out: Aml = [];
  let rest = path;
  if (rest.startsWith('\\')) { out.push(ROOT_CHAR); rest = rest.slice(1); }
  while (rest.startsWith('^')) { out.push(PARENT_CHAR); rest = rest.slice(1); }
  const segs = rest ? rest.split('.') : [];
  if (segs.length === 0) out.push(0x00);
  else if (segs.length === 1) out.push(...nameSeg(segs[0]));
  else if (segs.length === 2) out.push(DUAL_NAME, ...nameSeg(segs[0]), ...nameSeg(segs[1]));
  else out.push(MULTI_NAME, segs.length, ...segs.flatMap(nameSeg));
  return out;
}

/** An integer constant in the shortest encoding. */
export function integer(v: number): Aml {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`AML integer out of range: ${v}`);
  if (v === 0) return [ZERO_OP];
  if (v === 1) return [ONE_OP];
  if (v <= 0xff) return [BYTE_PREFIX, v];
  if (v <= 0xffff) return [WORD_PREFIX, v & 0xff, v >> 8];
  return [DWORD_PREFIX, v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];
}

export const ones: Aml = [ONES_OP];

export function string(s: string): Aml {
  return [STRING_PREFIX, ...[...s].map((c) => c.charCodeAt(0) & 0x7f), 0];
}

/** Name(path, object) */
export function name(path: string, value: Aml): Aml {
  return [NAME_OP, ...nameString(path), ...value];
}

/** Package(){ elements } */
export function pkg(elements: Aml[]): Aml {
  if (elements.length > 255) throw new Error('AML package with more than 255 elements');
  const body = [elements.length, ...elements.flat()];
  return [PACKAGE_OP, ...pkgLength(body.length), ...body];
}

/** Buffer(){ bytes } */
export function buffer(bytes: number[]): Aml {
  const body = [...integer(bytes.length), ...bytes];
  return [BUFFER_OP, ...pkgLength(body.length), ...body];
}

export function scope(path: string, body: Aml[]): Aml {
  const inner = [...nameString(path), ...body.flat()];
  return [SCOPE_OP, ...pkgLength(inner.length), ...inner];
}

export function device(path: string, body: Aml[]): Aml {
  const inner = [...nameString(path), ...body.flat()];
  return [EXT_OP, DEVICE_OP, ...pkgLength(inner.length), ...inner];
}

/** Method(name, argCount, NotSerialized) { Return(value) } */
export function methodReturning(path: string, argCount: number, value: Aml): Aml {
  const inner = [...nameString(path), argCount & 7, RETURN_OP, ...value];
  return [METHOD_OP, ...pkgLength(inner.length), ...inner];
}

/** Method(name, argCount) { } (an empty body, e.g. _PIC that needs no action). */
export function emptyMethod(path: string, argCount: number): Aml {
  const inner = [...nameString(path), argCount & 7];
  return [METHOD_OP, ...pkgLength(inner.length), ...inner];
}

/** EISA ID ("PNP0A03") as the 32-bit value EisaId() compiles to. */
export function eisaId(id: string): number {
  if (!/^[A-Z]{3}[0-9A-F]{4}$/.test(id)) throw new Error(`bad EISA id ${id}`);
  const c = (i: number) => id.charCodeAt(i) - 0x40;
  const b0 = (c(0) << 2) | (c(1) >> 3);
  const b1 = ((c(1) & 7) << 5) | c(2);
  const b2 = parseInt(id.slice(3, 5), 16);
  const b3 = parseInt(id.slice(5, 7), 16);
  return (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0;
}

// ---- resource descriptors (ACPI 6.4.2/6.4.3), for _CRS buffers

const le16 = (v: number) => [v & 0xff, (v >> 8) & 0xff];
const le32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];

/** IO(Decode16, min, max, align, length) */
export function ioPort(min: number, max: number, align: number, length: number): number[] {
  return [0x47, 0x01, ...le16(min), ...le16(max), align, length];
}

/** IRQNoFlags(){irq} (edge, active high). */
export function irqNoFlags(irq: number): number[] {
  return [0x22, ...le16(1 << irq)];
}

/** WordBusNumber / WordIO: the 16-bit address space descriptor. */
export function wordSpace(kind: 'bus' | 'io', min: number, max: number): number[] {
  const type = kind === 'bus' ? 2 : 1;
  // General flags: resource producer, min/max fixed; type-specific: I/O "entire range".
  const typeFlags = kind === 'io' ? 0x03 : 0x00;
  return [0x88, ...le16(13), type, 0x0c, typeFlags, ...le16(0), ...le16(min), ...le16(max), ...le16(0), ...le16(max - min + 1)];
}

/** DWordMemory(ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite). */
export function dwordMemory(min: number, max: number): number[] {
  return [0x87, ...le16(23), 0, 0x0c, 0x03, ...le32(0), ...le32(min), ...le32(max), ...le32(0), ...le32((max - min + 1) >>> 0)];
}

/** A resource template: descriptors, the end tag and its checksum byte. */
export function resourceTemplate(descriptors: number[][]): Aml {
  const bytes = [...descriptors.flat(), 0x79];
  const sum = bytes.reduce((a, b) => a + b, 0);
  bytes.push((0x100 - (sum & 0xff)) & 0xff);
  return buffer(bytes);
}
