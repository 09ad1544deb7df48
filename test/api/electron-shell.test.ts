// Pieces of the Electron shell that run without Electron: the remembered window state, the
// IPC bridge's refusal of foreign callers, and menu events reaching the UI.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { MENU_ACTIONS, type ApiEvent } from '../../core/api/contract.js';
import { toApiError } from '../../core/api/wire.js';
import { registerIpc } from '../../main/electron/ipc.js';
import { createBridgedClient } from '../../main/electron/ipc-client.js';
import { DEFAULT_WINDOW_STATE, loadWindowState, saveWindowState, windowStatePath } from '../../main/electron/window-state.js';
import { openAppCore } from '../../main/service/app.js';
import { ipcPair, testHypervisorOptions } from './transports.js';

const dirs: string[] = [];
const tempDir = () => { const d = mkdtempSync(join(tmpdir(), 'perseus-shell-')); dirs.push(d); return d; };
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const DISPLAYS = [{ x: 0, y: 0, width: 1920, height: 1080 }];

describe('window state', () => {
  test('round trip through an atomic write', () => {
    const file = windowStatePath(tempDir());
    const state = { x: 100, y: 50, width: 1400, height: 900, maximized: true, fullScreen: false };
    saveWindowState(file, state);
    expect(loadWindowState(file, DISPLAYS)).toEqual(state);
    expect(readdirSync(join(file, '..'))).toEqual(['window-state.json']); // no temporary file left
  });

  test('missing, corrupt or foreign files give the default', () => {
    const dir = tempDir();
    const file = windowStatePath(dir);
    expect(loadWindowState(file, DISPLAYS)).toEqual(DEFAULT_WINDOW_STATE);
    for (const text of ['{"width": 1400, "hei', 'null', '[]', '{"width":"big","height":3}']) {
      writeFileSync(file, text);
      expect(loadWindowState(file, DISPLAYS), text).toEqual(DEFAULT_WINDOW_STATE);
    }
  });

  test('a position on no display is dropped, tiny sizes are raised to the minimum', () => {
    const file = windowStatePath(tempDir());
    saveWindowState(file, { x: 3000, y: 200, width: 100, height: 100, maximized: false, fullScreen: false });
    const s = loadWindowState(file, DISPLAYS);
    expect(s.x).toBeUndefined();
    expect(s.y).toBeUndefined();
    expect([s.width, s.height]).toEqual([640, 480]);
    // The same position is kept when a second monitor is there.
    expect(loadWindowState(file, [...DISPLAYS, { x: 1920, y: 0, width: 1920, height: 1080 }]).x).toBe(3000);
    expect(existsSync(file)).toBe(true);
  });
});

describe('IPC bridge', () => {
  test('only the app window may call; menu events reach the UI', async () => {
    const dataDir = tempDir();
    const core = openAppCore({ dataDir, transport: 'electron', hypervisor: testHypervisorOptions() });
    try {
      const { ipcMain, ipcRenderer, webContents } = ipcPair();
      // A window that is not one of the targets (e.g. a stray webContents) is refused.
      const unregister = registerIpc({ ipcMain, service: core.service, targets: () => [{ ...webContents, id: 99 }] });
      const stranger = createBridgedClient(ipcRenderer);
      const refused = await stranger.call('listVms', {}).then(() => null, (e: unknown) => toApiError(e));
      expect(refused?.code).toBe('unauthorized');
      unregister();

      const unregister2 = registerIpc({
        ipcMain, service: core.service, targets: () => [webContents],
        allowFrame: (url) => url.startsWith('app://perseus/'), // the double's frame is file://
      });
      const wrongFrame = await stranger.call('listVms', {}).then(() => null, (e: unknown) => toApiError(e));
      expect(wrongFrame?.code).toBe('unauthorized');
      unregister2();

      registerIpc({ ipcMain, service: core.service, targets: () => [webContents] });
      const client = createBridgedClient(ipcRenderer);
      expect(await client.call('listVms', {})).toEqual([]);
      const events: ApiEvent[] = [];
      client.onEvent((e) => events.push(e));
      core.service.emit({ type: 'menu', action: 'open-image', path: '/images/dos.img' });
      core.service.emit({ type: 'menu', action: 'power-on' });
      await new Promise((r) => setTimeout(r, 10));
      expect(events).toEqual([
        { type: 'menu', action: 'open-image', path: '/images/dos.img' },
        { type: 'menu', action: 'power-on' },
      ]);
      expect(MENU_ACTIONS).toContain('take-snapshot');
    } finally {
      await core.close();
    }
  });
});
