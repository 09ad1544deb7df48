// The recent-images list (migration 004): most recent first, one row per path and kind, the
// newest RECENT_IMAGES_KEPT per kind kept, and missing files marked.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { addRecentImage, listRecentImages, RECENT_IMAGES_KEPT, VmLibrary } from '../../main/library/index.js';

const dir = mkdtempSync(join(tmpdir(), 'perseus-recent-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('recent images: order, dedup per kind, trimming, existence; bad kinds refused', () => {
  const lib = VmLibrary.open(join(dir, 'data'));
  try {
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    const a = join(dir, 'a.img');
    writeFileSync(a, 'x');
    addRecentImage(lib.db, a, 'floppy', t(1));
    addRecentImage(lib.db, join(dir, 'b.iso'), 'cdrom', t(2));
    addRecentImage(lib.db, a, 'disk', t(3));
    addRecentImage(lib.db, a, 'floppy', t(4)); // used again: moves up, no duplicate
    expect(listRecentImages(lib.db).map((r) => [r.path, r.kind, r.exists])).toEqual([
      [a, 'floppy', true], [a, 'disk', true], [join(dir, 'b.iso'), 'cdrom', false],
    ]);
    expect(listRecentImages(lib.db, 'cdrom')[0]!.lastUsedAt).toBe(t(2).toISOString());
    for (let i = 0; i < RECENT_IMAGES_KEPT + 5; i++) addRecentImage(lib.db, join(dir, `f${i}.img`), 'floppy', t(10 + i));
    const floppies = listRecentImages(lib.db, 'floppy');
    expect(floppies).toHaveLength(RECENT_IMAGES_KEPT);
    expect(floppies[0]!.path).toBe(join(dir, `f${RECENT_IMAGES_KEPT + 4}.img`));
    expect(floppies.some((r) => r.path === a)).toBe(false);
    // Other kinds are not trimmed by floppies.
    expect(listRecentImages(lib.db, 'disk')).toHaveLength(1);
    expect(() => addRecentImage(lib.db, a, 'tape' as never)).toThrow(/unknown image kind/);
  } finally {
    lib.close();
  }
});
