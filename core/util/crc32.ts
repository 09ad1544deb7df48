// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): state files, PNG chunks, Ethernet FCS.
// Slicing-by-8 (eight tables, eight bytes per step): snapshots checksum the whole RAM, and
// this is several times faster than the byte-at-a-time loop on large buffers.

const CRC_TABLES = (() => {
  const t = new Int32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    for (let k = 1; k < 8; k++) {
      const prev = t[(k - 1) * 256 + n]!;
      t[k * 256 + n] = (prev >>> 8) ^ t[prev & 0xff]!;
    }
  }
  return t;
})();

let native: ((data: Uint8Array, crc: number) => number) | null = null;

/**
 * A host with a native CRC-32 of the same definition (node:zlib's crc32) installs it here;
 * buffers of 4 KiB and more then use it. core/ itself imports nothing from the host.
 */
export function setNativeCrc32(fn: ((data: Uint8Array, crc: number) => number) | null): void {
  native = fn;
}

/** CRC-32 of `data` (continuing from `crc` when given). */
export function crc32(data: Uint8Array, crc = 0): number {
  if (native && data.length >= 4096) return native(data, crc) >>> 0;
  const t = CRC_TABLES;
  let c = ~crc;
  let i = 0;
  const n = data.length;
  for (; i + 8 <= n; i += 8) {
    const a = c ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    c = t[1792 + (a & 0xff)]! ^ t[1536 + ((a >>> 8) & 0xff)]! ^ t[1280 + ((a >>> 16) & 0xff)]! ^ t[1024 + (a >>> 24)]! ^
      t[768 + data[i + 4]!]! ^ t[512 + data[i + 5]!]! ^ t[256 + data[i + 6]!]! ^ t[data[i + 7]!]!;
  }
  for (; i < n; i++) c = t[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
