// What the UI end-to-end tests share: a `perseus web` process started from the CLI, Debian's
// Chromium driven by playwright-core with a throw-away profile, and an up-to-date renderer build.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { REPO_ROOT, requireResource } from '../helpers/shared.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(REPO_ROOT, 'test', 'artifacts');

/** True when Chromium is there (under CI its absence fails the suite). */
export function haveChromium(): boolean {
  return requireResource(`Chromium at ${CHROMIUM} (Debian package chromium)`, existsSync(CHROMIUM));
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * The CLI and the renderer must be built (`npm test` builds first). A renderer build older
 * than its sources is rebuilt here, so the test never drives a stale UI.
 */
export function ensureBuilt(): void {
  if (!existsSync(join(REPO_ROOT, 'dist', 'main', 'cli', 'index.js'))) {
    throw new Error('dist/main/cli/index.js is missing: run `npm run build` first');
  }
  const index = join(REPO_ROOT, 'dist', 'renderer', 'index.html');
  const sources = Math.max(newestMtime(join(REPO_ROOT, 'renderer')), statSync(join(REPO_ROOT, 'vite.renderer.config.ts')).mtimeMs);
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const r = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'vite'), ['build', '--config', 'vite.renderer.config.ts', '--logLevel', 'warn'], {
    cwd: REPO_ROOT, encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`renderer build failed:\n${r.stdout}\n${r.stderr}`);
}

export interface WebServer {
  url: string;
  token: string;
  origin: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Spawns `perseus web --port 0 --data-dir <dir> --json` and reads the address it prints. Without
 * `demo`, a fresh data directory stays empty (--no-demo).
 */
export async function startPerseusWeb(dataDir: string, opts: { demo?: boolean } = {}): Promise<WebServer> {
  const args = ['web', '--port', '0', '--data-dir', dataDir, '--json', ...(opts.demo ? [] : ['--no-demo'])];
  const child = spawn(process.execPath, [join(REPO_ROOT, 'main', 'cli', 'perseus.mjs'), ...args], {
    cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`perseus web printed no address in 20 s; stderr: ${stderr}`)), 20_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) { clearTimeout(timer); resolve(out.slice(0, nl)); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`perseus web exited (${code}): ${stderr}`)); });
  });
  const { url, token } = JSON.parse(line) as { url: string; token: string };
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    url, token, origin: new URL(url).origin, process: child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Chromium with a fresh profile directory, removed again by close(). */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'perseus-e2e-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1200, height: 800 },
    colorScheme: 'light',
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
