// The CLI tests run the real launcher (node main/cli/perseus.mjs), which loads dist/. `npm test`
// builds first; when running vitest alone this recompiles if a source of the CLI or library
// is newer than its compiled file. tsc emits even when some other, half-written file in the
// tree has type errors, so only the files these tests need are checked afterwards.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../helpers/shared.js';

const SOURCE_DIRS = ['main/cli', 'main/library', 'main/run', 'core/api'];

function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  for (const d of SOURCE_DIRS) if (existsSync(join(REPO_ROOT, d))) walk(join(REPO_ROOT, d));
  return out;
}

function staleFiles(): string[] {
  return sources().filter((src) => {
    const out = join(REPO_ROOT, 'dist', relative(REPO_ROOT, src).replace(/\.ts$/, '.js'));
    return !existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs;
  });
}

const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Makes sure dist/ holds an up-to-date build of the CLI and the library. */
export function ensureBuilt(): void {
  if (staleFiles().length === 0) return;
  // Test files run in parallel processes: one builds, the others wait for it.
  mkdirSync(join(REPO_ROOT, 'dist'), { recursive: true });
  const lock = join(REPO_ROOT, 'dist', '.test-build.lock');
  const started = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() - started > 60_000) {
        try { rmdirSync(lock); } catch { /* someone else removed it */ }
      }
      sleep(100);
    }
  }
  try {
    if (staleFiles().length === 0) return;
    spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
      cwd: REPO_ROOT, stdio: 'ignore',
    });
    const stale = staleFiles();
    if (stale.length > 0) throw new Error(`build failed; still stale: ${stale.map((f) => relative(REPO_ROOT, f)).join(', ')}`);
  } finally {
    rmdirSync(lock);
  }
}
