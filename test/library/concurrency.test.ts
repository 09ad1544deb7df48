// The app, the CLI and the web console may open one library at the same time: processes that
// create a new library together must agree on its schema, and concurrent writers must wait
// for each other (busy timeout) rather than fail.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LATEST_SCHEMA_VERSION, VmLibrary, schemaVersion } from '../../main/library/index.js';
import { ensureBuilt } from '../cli/ensure-built.js';
import { REPO_ROOT } from '../helpers/shared.js';

let dir: string;
beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'perseus-conc-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function child(tag: string, count: number): Promise<{ code: number | null; out: string; err: string }> {
  const url = pathToFileURL(join(REPO_ROOT, 'dist', 'main', 'library', 'index.js')).href;
  const p = spawn(process.execPath, [join(REPO_ROOT, 'test', 'library', 'concurrent-child.mjs'), url, dir, tag, String(count)]);
  let out = '';
  let err = '';
  p.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  p.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  return new Promise((done) => p.on('exit', (code) => done({ code, out, err })));
}

describe('library shared by several processes', () => {
  it('four processes create one new library together and all their writes land', async () => {
    const tags = ['a', 'b', 'c', 'd'];
    const results = await Promise.all(tags.map((t) => child(t, 15)));
    for (const r of results) {
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out.trim().split('\n')).toHaveLength(15);
    }
    const lib = VmLibrary.open(dir);
    expect(schemaVersion(lib.db)).toBe(LATEST_SCHEMA_VERSION);
    expect(lib.db.prepare('SELECT count(*) AS n FROM schema_migrations').get()).toEqual({ n: LATEST_SCHEMA_VERSION });
    const vms = lib.list();
    expect(vms).toHaveLength(60);
    for (const t of tags) for (let i = 0; i < 15; i++) expect(lib.findByName(`${t}-${i}`)?.memoryMiB).toBe(8 + i);
    lib.close();
  });
});
