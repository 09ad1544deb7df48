#!/usr/bin/env node
// Draws the Perseus Workstation icon (a monitor showing a constellation on a blue tile) and
// writes it as PNGs in the sizes electron-builder uses, plus an SVG of the same design.
// Run: node resources/icons/make-icons.mjs   (the outputs are committed)
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));

// The design in a 0..1 square.
const STARS = [[0.36, 0.30], [0.46, 0.36], [0.55, 0.33], [0.62, 0.42], [0.50, 0.48], [0.42, 0.55]];
const LINKS = [[0, 1], [1, 2], [2, 3], [1, 4], [4, 5]];

function inRoundRect(x, y, x0, y0, x1, y1, r) {
  if (x < x0 || x > x1 || y < y0 || y > y1) return false;
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

function segmentDistance(px, py, [ax, ay], [bx, by]) {
  const dx = bx - ax, dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - ax - t * dx, py - ay - t * dy);
}

/** Colour [r, g, b, a] of the point (x, y) in the unit square. */
function shade(x, y) {
  if (!inRoundRect(x, y, 0.04, 0.04, 0.96, 0.96, 0.18)) return [0, 0, 0, 0];
  let c = [30 + 40 * y, 60 + 50 * y, 140 + 60 * (1 - y), 255]; // tile: blue gradient
  // Monitor: bezel, screen, neck and foot.
  if (inRoundRect(x, y, 0.17, 0.17, 0.83, 0.68, 0.04)) c = [225, 230, 238, 255];
  if (inRoundRect(x, y, 0.22, 0.22, 0.78, 0.63, 0.02)) {
    c = [12, 18, 40, 255];
    for (const [a, b] of LINKS) if (segmentDistance(x, y, STARS[a], STARS[b]) < 0.006) c = [120, 150, 220, 255];
    for (const [sx, sy] of STARS) if (Math.hypot(x - sx, y - sy) < 0.018) c = [255, 240, 180, 255];
  }
  if (x > 0.45 && x < 0.55 && y >= 0.68 && y < 0.76) c = [200, 206, 216, 255];
  if (inRoundRect(x, y, 0.32, 0.76, 0.68, 0.81, 0.02)) c = [225, 230, 238, 255];
  if (Math.hypot(x - 0.76, y - 0.655) < 0.012) c = [90, 220, 120, 255]; // power light
  return c;
}

function render(size) {
  const rgba = new Uint8Array(size * size * 4);
  const n = 4; // 4x4 supersampling for smooth edges
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const [cr, cg, cb, ca] = shade((px + (sx + 0.5) / n) / size, (py + (sy + 0.5) / n) / size);
          r += cr * ca; g += cg * ca; b += cb * ca; a += ca;
        }
      }
      const at = (py * size + px) * 4;
      rgba[at] = a ? Math.round(r / a) : 0;
      rgba[at + 1] = a ? Math.round(g / a) : 0;
      rgba[at + 2] = a ? Math.round(b / a) : 0;
      rgba[at + 3] = Math.round(a / (n * n));
    }
  }
  return rgba;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, i) => {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

function png(size) {
  const rgba = render(size);
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    Buffer.from(rgba.buffer, y * size * 4, size * 4).copy(raw, y * (size * 4 + 1) + 1);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function svg() {
  const p = (v) => (v * 512).toFixed(1);
  const lines = LINKS.map(([a, b]) => `<line x1="${p(STARS[a][0])}" y1="${p(STARS[a][1])}" x2="${p(STARS[b][0])}" y2="${p(STARS[b][1])}" stroke="#7896dc" stroke-width="6"/>`).join('');
  const stars = STARS.map(([x, y]) => `<circle cx="${p(x)}" cy="${p(y)}" r="9" fill="#fff0b4"/>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512" width="512" height="512">
<defs><linearGradient id="tile" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#1e3cc8"/><stop offset="1" stop-color="#466e8c"/></linearGradient></defs>
<rect x="20" y="20" width="472" height="472" rx="92" fill="url(#tile)"/>
<rect x="87" y="87" width="338" height="261" rx="20" fill="#e1e6ee"/>
<rect x="113" y="113" width="286" height="209" rx="10" fill="#0c1228"/>${lines}${stars}
<rect x="230" y="348" width="52" height="41" fill="#c8ced8"/>
<rect x="164" y="389" width="184" height="26" rx="10" fill="#e1e6ee"/>
<circle cx="389" cy="335" r="6" fill="#5adc78"/>
</svg>
`;
}

writeFileSync(join(here, 'icon.png'), png(512));
writeFileSync(join(here, '512x512.png'), png(512));
writeFileSync(join(here, '256x256.png'), png(256));
writeFileSync(join(here, 'icon.svg'), svg());
console.log('icons written to', here);
