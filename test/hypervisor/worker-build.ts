// The VM worker runs compiled JS (Node 20 cannot run .ts in a worker). Tests compile the
// real vm-worker.ts (and what it imports) into a temporary folder once per test file, so
// they never depend on a stale dist/.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../helpers/shared.js';

const built = new Map<string, URL>();

function compile(kind: string, roots: string[]): URL {
  const cached = built.get(kind);
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), `perseus-${kind}-`));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  // The worker opens the library (better-sqlite3) for snapshots: packages resolve from here.
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const r = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'tsc'), [
    '--ignoreConfig', '--outDir', dir, '--rootDir', REPO_ROOT,
    '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
    '--lib', 'es2023,dom', '--types', 'node', '--skipLibCheck', '--strict',
    ...roots.map((r) => join(REPO_ROOT, r)),
  ], { cwd: REPO_ROOT, encoding: 'utf8' });
  const worker = join(dir, 'main', 'hypervisor', 'vm-worker.js');
  const emitted = roots.every((r) => existsSync(join(dir, r.replace(/\.ts$/, '.js'))));
  // Type errors elsewhere in a tree being edited still emit JS; only missing output is fatal.
  if (r.status !== 0 && !emitted) throw new Error(`compiling ${roots.join(', ')} failed:\n${r.stdout}${r.stderr}`);
  if (r.status !== 0) console.warn(`compiling ${roots.join(', ')} reported errors (output used anyway):\n${r.stdout.slice(0, 2000)}`);
  const url = pathToFileURL(worker);
  built.set(kind, url);
  process.once('exit', () => { try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ } });
  return url;
}

/** The worker alone: its default machine module (main/run/setup.js) is absent. */
export function buildVmWorker(): URL {
  return compile('vm-worker', ['main/hypervisor/vm-worker.ts']);
}

/** The worker with main/run/setup.js and all of core/ beside it: the real PC. */
export function buildVmWorkerWithMachine(): URL {
  return compile('vm-worker-pc', ['main/hypervisor/vm-worker.ts', 'main/run/setup.ts']);
}

export const FAKE_MACHINE = new URL('../fixtures/hypervisor/fake-machine.mjs', import.meta.url);
