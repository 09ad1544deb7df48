// A child process writes to the library in a loop and is killed with SIGKILL at random moments
// (sometimes before it opened the library, sometimes mid-migration, mostly mid-write). After
// every kill the database must open, pass PRAGMA integrity_check, and hold every change the
// child reported as committed.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VmLibrary } from '../../main/library/index.js';
import { ensureBuilt } from '../cli/ensure-built.js';
import { REPO_ROOT } from '../helpers/shared.js';

const KILLS = 20;
let dir: string;

beforeAll(() => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'perseus-crash-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface RunResult {
  lines: string[];
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the child until it has reported `killAfter` commits (plus a random delay), then SIGKILLs it. */
function runChild(run: number, killAfter: number, extraDelayMs: number): Promise<RunResult> {
  const libraryUrl = pathToFileURL(join(REPO_ROOT, 'dist', 'main', 'library', 'index.js')).href;
  const child = spawn(process.execPath, [join(REPO_ROOT, 'test', 'library', 'crash-child.mjs'), libraryUrl, dir, String(run)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  let killing = false;
  const kill = () => {
    if (killing) return;
    killing = true;
    setTimeout(() => child.kill('SIGKILL'), extraDelayMs);
  };
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      if (line.startsWith('created') || line.startsWith('updated')) lines.push(line);
      if (lines.length >= killAfter) kill();
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (c: string) => { stderr += c; });
  if (killAfter === 0) kill();
  return new Promise((done) => child.on('exit', (_code, signal) => done({ lines, signal, stderr })));
}

describe('library crash safety', () => {
  it(`keeps every reported commit across ${KILLS} SIGKILLs`, async () => {
    const expectedVms = new Map<string, string>(); // name -> id
    let lastCounter: [number, number] | null = null; // [run, seq] of the last reported update
    let killedMidWrite = 0;
    for (let run = 0; run < KILLS; run++) {
      // Mostly kill during the write loop; every fifth run kill right away (startup, migration).
      const killAfter = run % 5 === 0 ? 0 : 1 + Math.floor(Math.random() * 60);
      const result = await runChild(run, killAfter, Math.floor(Math.random() * 4));
      expect(result.stderr).toBe('');
      expect(result.signal).toBe('SIGKILL');
      if (result.lines.length > 0) killedMidWrite++;
      for (const line of result.lines) {
        const [kind, a, b] = line.split(' ');
        if (kind === 'created') expectedVms.set(a!, b!);
        else {
          const [r, s] = a!.split(':').map(Number);
          lastCounter = [r!, s!];
        }
      }

      const lib = VmLibrary.open(dir);
      try {
        expect(lib.db.pragma('integrity_check', { simple: true })).toBe('ok');
        expect(lib.db.pragma('foreign_key_check')).toEqual([]);
        for (const [name, id] of expectedVms) expect(lib.findByName(name)?.id, `VM ${name} after run ${run}`).toBe(id);
        if (lastCounter) {
          // The child may have committed one more update than it reported, never fewer.
          const [r, s] = lib.findByName('counter')!.notes.split(':').map(Number);
          expect(r! > lastCounter[0] || (r === lastCounter[0] && s! >= lastCounter[1]), `counter ${r}:${s} vs reported ${lastCounter}`).toBe(true);
        }
      } finally {
        lib.close();
      }
    }
    expect(killedMidWrite).toBeGreaterThanOrEqual(KILLS - KILLS / 5 - 1);
    expect(expectedVms.size).toBeGreaterThan(0);
  });
});
