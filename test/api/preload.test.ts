// The preload as Electron loads it: vite.preload.config.ts bundles it into one CommonJS file
// that may require nothing but `electron`. The bundle is built into a temporary folder and run
// in a fresh context with an ipcRenderer double and a recording contextBridge.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { PerseusClient } from '../../core/api/contract.js';
import { toApiError } from '../../core/api/wire.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { openAppCore, type AppCore } from '../../main/service/app.js';
import { registerIpc } from '../../main/electron/ipc.js';
import { ipcPair, testHypervisorOptions } from './transports.js';

let outDir: string;
let bundle: string;
let dataDir: string;
let core: AppCore;

beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'perseus-preload-'));
  dataDir = mkdtempSync(join(tmpdir(), 'perseus-preload-data-'));
  const r = spawnSync(join(REPO_ROOT, 'node_modules', '.bin', 'vite'),
    ['build', '--config', 'vite.preload.config.ts', '--outDir', outDir, '--logLevel', 'warn'],
    { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`vite build of the preload failed:\n${r.stdout}${r.stderr}`);
  bundle = readFileSync(join(outDir, 'preload.cjs'), 'utf8');
  core = openAppCore({ dataDir, transport: 'electron', hypervisor: testHypervisorOptions() });
});
afterAll(async () => {
  await core?.close();
  rmSync(outDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

test('the bundle is CommonJS and requires only electron', () => {
  expect(bundle).not.toMatch(/^\s*(import|export)\s/m);
  const required = [...bundle.matchAll(/require\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
  expect([...new Set(required)]).toEqual(['electron']);
});

test('it exposes exactly window.perseus, a working client over IPC', async () => {
  const { ipcMain, ipcRenderer, webContents } = ipcPair();
  registerIpc({ ipcMain, service: core.service, targets: () => [webContents] });
  const exposed = new Map<string, unknown>();
  const electron = {
    ipcRenderer,
    contextBridge: { exposeInMainWorld: (key: string, api: unknown) => { exposed.set(key, api); } },
  };
  const sandboxRequire = (name: string) => {
    if (name === 'electron') return electron;
    throw new Error(`a sandboxed preload cannot require ${name}`);
  };
  const module = { exports: {} };
  runInNewContext(bundle, { require: sandboxRequire, module, exports: module.exports, console });
  expect([...exposed.keys()]).toEqual(['perseus']);
  const perseus = exposed.get('perseus') as PerseusClient;
  expect(Object.keys(perseus).sort()).toEqual(['call', 'onEvent']);

  expect((await perseus.call('appInfo', {})).transport).toBe('electron');
  const created = await perseus.call('createVm', { name: 'via preload' });
  expect(created.name).toBe('via preload');
  const err = await perseus.call('getVm', { id: 'nope' }).then(() => null, (e: unknown) => structuredClone(e));
  expect(toApiError(err).code).toBe('not-found');

  const events: unknown[] = [];
  const off = perseus.onEvent((e) => events.push(e));
  core.service.emit({ type: 'menu', action: 'about' });
  await new Promise((r) => setTimeout(r, 10));
  off();
  core.service.emit({ type: 'menu', action: 'new-vm' });
  await new Promise((r) => setTimeout(r, 10));
  expect(events).toEqual([{ type: 'menu', action: 'about' }]);
});
