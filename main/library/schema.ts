// Applying migrations: `PRAGMA user_version` holds the schema version, `schema_migrations`
// records when each step ran. Each step runs in its own IMMEDIATE transaction and re-reads
// the version inside it, so two processes opening a new library at once cannot both apply it.
import type { Database } from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations/index.js';

export const LATEST_SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Brings the database to `target` (default: the latest); returns the versions applied. */
export function migrate(db: Database, target = LATEST_SCHEMA_VERSION, migrations: readonly Migration[] = MIGRATIONS): number[] {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list is broken: entry ${i} has version ${m.version}`);
  });
  const current = schemaVersion(db);
  if (current > migrations.length) {
    throw new Error(
      `library.db has schema version ${current}, but this version of Perseus knows only up to ${migrations.length}; ` +
      'it was written by a newer Perseus. Update Perseus, or use another data directory (--data-dir).',
    );
  }
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version > target) break;
    const step = db.transaction(() => {
      if (schemaVersion(db) >= m.version) return false;
      db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version    INTEGER PRIMARY KEY NOT NULL,
        name       TEXT NOT NULL,
        applied_at TEXT NOT NULL
      ) STRICT`);
      m.up(db);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
        .run(m.version, m.name, new Date().toISOString());
      db.pragma(`user_version = ${m.version}`);
      return true;
    });
    if (step.immediate()) applied.push(m.version);
  }
  return applied;
}
