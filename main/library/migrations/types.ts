import type { Database } from 'better-sqlite3';

/**
 * One schema step. `up` runs inside a transaction together with the version bump, so a
 * migration is applied completely or not at all. Versions are consecutive from 1.
 */
export interface Migration {
  version: number;
  name: string;
  up(db: Database): void;
}
