import type { Migration } from './types.js';

// The snapshot tree (main/snapshot). Each row is one node: its machine-state file (NULL for a
// disks-only snapshot, taken while the VM was off) and the disk images it froze, as JSON
// {slot: path of the read-only top image}. snapshot_heads holds each VM's current node (the
// parent of the next snapshot) and the writable top images the VM runs on now.
export const migration003: Migration = {
  version: 3,
  name: 'snapshots',
  up(db) {
    db.exec(`
      CREATE TABLE snapshots (
        id          TEXT PRIMARY KEY NOT NULL,
        vm_id       TEXT NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
        parent_id   TEXT REFERENCES snapshots(id) ON DELETE SET NULL,
        name        TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        created_at  TEXT NOT NULL,
        thumbnail   BLOB,
        state_path  TEXT,
        disks       TEXT NOT NULL DEFAULT '{}'
      ) STRICT;
      CREATE INDEX snapshots_vm ON snapshots(vm_id, created_at);
      CREATE TABLE snapshot_heads (
        vm_id       TEXT PRIMARY KEY NOT NULL REFERENCES vms(id) ON DELETE CASCADE,
        current_id  TEXT REFERENCES snapshots(id) ON DELETE SET NULL,
        disks       TEXT NOT NULL DEFAULT '{}'
      ) STRICT;
    `);
  },
};
