import type { Migration } from './types.js';

// The VM table. Settings are one JSON document (VmSettings) so a new setting needs no
// migration: rows written by an older version take the preset default on read.
export const migration001: Migration = {
  version: 1,
  name: 'initial',
  up(db) {
    db.exec(`
      CREATE TABLE vms (
        id          TEXT PRIMARY KEY NOT NULL,
        name        TEXT NOT NULL,
        settings    TEXT NOT NULL,
        state       TEXT NOT NULL DEFAULT 'off',
        created_at  TEXT NOT NULL,
        modified_at TEXT NOT NULL
      ) STRICT;
    `);
  },
};
