// The recent-images list (migration 004): images inserted into drives, attached or created,
// most recent first. Only the newest RECENT_IMAGES_KEPT per kind are kept.
import type { Database } from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RecentImage } from '../../core/api/contract.js';

export const RECENT_IMAGES_KEPT = 20;
export const RECENT_IMAGE_KINDS: readonly RecentImage['kind'][] = ['floppy', 'cdrom', 'disk'];

/** Record a use of `path` as `kind` now. */
export function addRecentImage(db: Database, path: string, kind: RecentImage['kind'], now = new Date()): void {
  if (!RECENT_IMAGE_KINDS.includes(kind)) throw new Error(`unknown image kind ${JSON.stringify(kind)}`);
  const abs = resolve(path);
  db.transaction(() => {
    db.prepare(`INSERT INTO recent_images (path, kind, last_used_at) VALUES (?, ?, ?)
      ON CONFLICT(path, kind) DO UPDATE SET last_used_at = excluded.last_used_at`).run(abs, kind, now.toISOString());
    db.prepare(`DELETE FROM recent_images WHERE kind = ? AND rowid NOT IN
      (SELECT rowid FROM recent_images WHERE kind = ? ORDER BY last_used_at DESC, rowid DESC LIMIT ?)`).run(kind, kind, RECENT_IMAGES_KEPT);
  })();
}

/** Recent images, most recent first, optionally of one kind; `exists` says whether the file is still there. */
export function listRecentImages(db: Database, kind?: RecentImage['kind']): RecentImage[] {
  const rows = (kind
    ? db.prepare('SELECT path, kind, last_used_at FROM recent_images WHERE kind = ? ORDER BY last_used_at DESC, rowid DESC').all(kind)
    : db.prepare('SELECT path, kind, last_used_at FROM recent_images ORDER BY last_used_at DESC, rowid DESC').all()) as
    { path: string; kind: RecentImage['kind']; last_used_at: string }[];
  return rows.map((r) => ({ path: r.path, kind: r.kind, lastUsedAt: r.last_used_at, exists: existsSync(r.path) }));
}
