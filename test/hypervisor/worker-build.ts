// The VM worker runs compiled JS (Node 20 cannot run .ts in a worker). Tests compile the
// real vm-worker.ts (and what it imports) into a temporary folder once per test file, so
// they never depend on a stale dist/.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../helpers/shared.js';

let built: { url: URL; dir: string } | null = null;

export function buildVmWorker(): URL {
  if (built) return built.url;
  const dir = mkdtempSync(join(tmpdir(), 'perseus-vm-worker-'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  const r = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'tsc'), [
    '--ignoreConfig', '--outDir', dir, '--rootDir', REPO_ROOT,
    '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022',
    '--types', 'node', '--skipLibCheck', '--strict',
    join(REPO_ROOT, 'main', 'hypervisor', 'vm-worker.ts'),
  ], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`compiling the VM worker failed:\n${r.stdout}${r.stderr}`);
  built = { url: pathToFileURL(join(dir, 'main', 'hypervisor', 'vm-worker.js')), dir };
  process.once('exit', () => { try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ } });
  return built.url;
}

export const FAKE_MACHINE = new URL('../fixtures/hypervisor/fake-machine.mjs', import.meta.url);
