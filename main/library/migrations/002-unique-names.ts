import type { Migration } from './types.js';

/** The key under which VM names must be unique: trimmed, case-folded, NFC-normalized. */
export function nameKey(name: string): string {
  return name.trim().normalize('NFC').toLowerCase();
}

// Names become unique case-insensitively, enforced by a unique index rather than only by
// validation, so two processes (the app and the CLI) cannot race to the same name. Rows that
// collide in an existing library are kept and renamed "Name (2)", "Name (3)", ...
export const migration002: Migration = {
  version: 2,
  name: 'unique-names',
  up(db) {
    db.exec('ALTER TABLE vms ADD COLUMN name_key TEXT');
    const rows = db.prepare('SELECT id, name, settings FROM vms ORDER BY created_at, id').all() as
      { id: string; name: string; settings: string }[];
    const used = new Set<string>();
    const write = db.prepare('UPDATE vms SET name = ?, name_key = ?, settings = ? WHERE id = ?');
    for (const row of rows) {
      let name = row.name.trim() || 'Unnamed VM';
      for (let n = 2; used.has(nameKey(name)); n++) name = `${row.name.trim() || 'Unnamed VM'} (${n})`;
      used.add(nameKey(name));
      let settings = row.settings;
      try {
        const parsed = JSON.parse(settings) as Record<string, unknown>;
        parsed.name = name;
        settings = JSON.stringify(parsed);
      } catch {
        // A corrupt settings document stays as it is; reading it reports the problem.
      }
      write.run(name, nameKey(name), settings, row.id);
    }
    db.exec('CREATE UNIQUE INDEX vms_name_key ON vms(name_key)');
  },
};
