// Every schema migration, in order. To change the schema, add a file NNN-what.ts exporting
// a Migration with the next version and append it here; never edit a released migration.
import { migration001 } from './001-initial.js';
import { migration002 } from './002-unique-names.js';
import { migration003 } from './003-snapshots.js';
import { migration004 } from './004-recent-images.js';
import type { Migration } from './types.js';

export type { Migration } from './types.js';
export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003, migration004];
