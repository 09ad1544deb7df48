import type { Migration } from './types.js';

// Images the user inserted, attached or created lately (the UI's recent-images list): one row
// per path and kind, with the time of the last use; main/library/recent-images.ts keeps it short.
export const migration004: Migration = {
  version: 4,
  name: 'recent-images',
  up(db) {
    db.exec(`
      CREATE TABLE recent_images (
        path         TEXT NOT NULL,
        kind         TEXT NOT NULL CHECK (kind IN ('floppy', 'cdrom', 'disk')),
        last_used_at TEXT NOT NULL,
        PRIMARY KEY (path, kind)
      ) STRICT;
      CREATE INDEX recent_images_used ON recent_images(last_used_at);
    `);
  },
};
