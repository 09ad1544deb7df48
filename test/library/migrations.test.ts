import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LATEST_SCHEMA_VERSION, MIGRATIONS, VmLibrary, migrate, schemaVersion, type Migration } from '../../main/library/index.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'perseus-mig-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A library.db as version 1 of the schema left it, with rows written the v1 way. */
function makeV1Database(rows: { id: string; name: string; settings: object; state?: string }[]): string {
  const path = join(dir, 'library.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  expect(migrate(db, 1)).toEqual([1]);
  const insert = db.prepare('INSERT INTO vms (id, name, settings, state, created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?)');
  rows.forEach((r, i) => insert.run(r.id, r.name, JSON.stringify(r.settings), r.state ?? 'off', `2026-01-0${i + 1}T00:00:00.000Z`, '2026-02-01T00:00:00.000Z'));
  db.close();
  return path;
}

const ID1 = '11111111-1111-4111-8111-111111111111';
const ID2 = '22222222-2222-4222-8222-222222222222';
const ID3 = '33333333-3333-4333-8333-333333333333';

describe('schema migrations', () => {
  it('a new library is created at the latest version, each step recorded', () => {
    const lib = VmLibrary.open(dir);
    expect(schemaVersion(lib.db)).toBe(LATEST_SCHEMA_VERSION);
    const steps = lib.db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    expect(steps).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
    lib.close();
  });

  it('upgrading a v1 database keeps every VM and its settings', () => {
    const dos = { name: 'DOS', osPreset: 'dos', memoryMiB: 16, cpuModel: '486', bootOrder: 'ac', notes: 'kept' };
    makeV1Database([
      { id: ID1, name: 'DOS', settings: dos, state: 'suspended' },
      { id: ID2, name: 'Linux', settings: { name: 'Linux', osPreset: 'linux', memoryMiB: 512 } },
    ]);
    const lib = VmLibrary.open(dir);
    expect(schemaVersion(lib.db)).toBe(LATEST_SCHEMA_VERSION);
    const vms = lib.list();
    expect(vms.map((v) => [v.id, v.name, v.memoryMiB, v.state])).toEqual([[ID1, 'DOS', 16, 'suspended'], [ID2, 'Linux', 512, 'off']]);
    const d = lib.get(ID1);
    expect([d.cpuModel, d.bootOrder, d.notes, d.createdAt]).toEqual(['486', 'ac', 'kept', '2026-01-01T00:00:00.000Z']);
    // Settings v1 never stored take the preset's defaults.
    expect(d.nic).toEqual({ model: 'ne2k-isa', network: 'nat' });
    // And the upgraded library works: names are now unique case-insensitively.
    expect(() => lib.create({ name: 'dos' })).toThrow(/already named/);
    lib.close();
  });

  it('v2 renames names that collide ignoring case instead of dropping rows', () => {
    makeV1Database([
      { id: ID1, name: 'Win98', settings: { name: 'Win98', osPreset: 'win9x' } },
      { id: ID2, name: 'WIN98 ', settings: { name: 'WIN98 ', osPreset: 'win9x' } },
      { id: ID3, name: 'win98', settings: { name: 'win98', osPreset: 'win9x' } },
    ]);
    const lib = VmLibrary.open(dir);
    expect([ID1, ID2, ID3].map((id) => lib.get(id).name)).toEqual(['Win98', 'WIN98 (2)', 'win98 (3)']);
    lib.close();
  });

  it('a failing migration rolls back completely and leaves the version unchanged', () => {
    const db = new Database(join(dir, 'library.db'));
    const broken: Migration = {
      version: MIGRATIONS.length + 1,
      name: 'broken',
      up(d) {
        d.exec('CREATE TABLE half (x INTEGER)');
        throw new Error('disk on fire');
      },
    };
    expect(() => migrate(db, broken.version, [...MIGRATIONS, broken])).toThrow('disk on fire');
    expect(schemaVersion(db)).toBe(LATEST_SCHEMA_VERSION);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'half'").get()).toBeUndefined();
    expect((db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v).toBe(LATEST_SCHEMA_VERSION);
    db.close();
  });

  it('refuses a database from a newer Perseus with a clear message', () => {
    const db = new Database(join(dir, 'library.db'));
    migrate(db);
    db.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 5}`);
    db.close();
    expect(() => VmLibrary.open(dir)).toThrow(`library.db has schema version ${LATEST_SCHEMA_VERSION + 5}, but this version of Perseus knows only up to ${LATEST_SCHEMA_VERSION}`);
  });

  it('opening an up-to-date library applies nothing', () => {
    VmLibrary.open(dir).close();
    const db = new Database(join(dir, 'library.db'));
    expect(migrate(db)).toEqual([]);
    db.close();
  });
});
