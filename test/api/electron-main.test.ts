// main/electron/main.ts cannot run here (no Electron binary), so it is loaded against a
// recording double of the `electron` module: what it asks of Electron is checked — the
// single-instance lock, the window's security settings, the CSP, the app:// file server,
// permissions, navigation, and that menu commands reach the UI as 'menu' events.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import type { ApiEvent } from '../../core/api/contract.js';
import { loadWindowState, windowStatePath } from '../../main/electron/window-state.js';

type Listener = (...args: any[]) => unknown;

const fake = vi.hoisted(() => {
  const appListeners = new Map<string, Listener[]>();
  const state = {
    lockRequested: 0,
    quitCalls: 0,
    privileged: [] as unknown[],
    protocolHandler: null as null | ((req: { url: string }) => Promise<Response>),
    headersListener: null as null | Listener,
    permissionHandler: null as null | Listener,
    windows: [] as any[],
    menu: null as any,
    ipcHandlers: new Map<string, Listener>(),
    sent: [] as { channel: string; args: unknown[] }[],
    appListeners,
  };
  class BrowserWindow {
    readonly listeners = new Map<string, Listener[]>();
    readonly webContents = {
      id: 7,
      send: (channel: string, ...args: unknown[]) => { state.sent.push({ channel, args }); },
      isDestroyed: () => false,
    };
    loadedUrl = '';
    fullScreen = false;
    constructor(readonly options: any) { state.windows.push(this); }
    maximize() {}
    setFullScreen(v: boolean) { this.fullScreen = v; }
    isFullScreen() { return this.fullScreen; }
    isMaximized() { return false; }
    isMinimized() { return false; }
    isDestroyed() { return false; }
    restore() {}
    focus() {}
    getNormalBounds() { return { x: 10, y: 20, width: 1000, height: 700 }; }
    once(ev: string, l: Listener) { this.on(ev, l); }
    on(ev: string, l: Listener) { this.listeners.set(ev, [...(this.listeners.get(ev) ?? []), l]); }
    loadURL(url: string) { this.loadedUrl = url; return Promise.resolve(); }
  }
  const electron = {
    app: {
      isPackaged: false,
      requestSingleInstanceLock: () => { state.lockRequested++; return true; },
      on: (ev: string, l: Listener) => { appListeners.set(ev, [...(appListeners.get(ev) ?? []), l]); },
      whenReady: () => Promise.resolve(),
      quit: () => { state.quitCalls++; },
      exit: () => {},
    },
    BrowserWindow,
    dialog: { showErrorBox: () => {}, showOpenDialog: async () => ({ canceled: false, filePaths: ['/images/freedos.img'] }) },
    ipcMain: {
      handle: (channel: string, l: Listener) => { state.ipcHandlers.set(channel, l); },
      removeHandler: (channel: string) => { state.ipcHandlers.delete(channel); },
    },
    Menu: { setApplicationMenu: (m: unknown) => { state.menu = m; }, buildFromTemplate: (t: unknown) => t },
    protocol: {
      registerSchemesAsPrivileged: (s: unknown[]) => { state.privileged.push(...s); },
      handle: (_scheme: string, h: any) => { state.protocolHandler = h; },
    },
    screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
    session: {
      defaultSession: {
        webRequest: { onHeadersReceived: (l: Listener) => { state.headersListener = l; } },
        setPermissionRequestHandler: (h: Listener) => { state.permissionHandler = h; },
        setPermissionCheckHandler: () => {},
      },
    },
    shell: { openExternal: async () => {} },
  };
  return { state, electron };
});

vi.mock('electron', () => fake.electron);

const { state } = fake;
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'perseus-electron-'));
  process.env.PERSEUS_DATA_DIR = dataDir;
  await import('../../main/electron/main.js');
  // whenReady() resolved: let its continuation run.
  for (let i = 0; i < 20 && state.windows.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
});

afterAll(async () => {
  // Quit: before-quit closes the app core once, then quits for real.
  for (const l of state.appListeners.get('before-quit') ?? []) l({ preventDefault: () => {} });
  await new Promise((r) => setTimeout(r, 50));
  delete process.env.PERSEUS_DATA_DIR;
  rmSync(dataDir, { recursive: true, force: true });
});

describe('Electron main process', () => {
  test('one instance; app:// registered as a secure standard scheme', () => {
    expect(state.lockRequested).toBe(1);
    expect(state.privileged).toEqual([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
    expect(state.appListeners.has('second-instance')).toBe(true);
  });

  test('the window is isolated and sandboxed, with the bundled preload, loading app://perseus', () => {
    expect(state.windows).toHaveLength(1);
    const w = state.windows[0];
    expect(w.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false });
    expect(w.options.webPreferences.preload).toMatch(/dist\/preload\/preload\.cjs$|preload[\\/]preload\.cjs$/);
    expect(w.loadedUrl).toBe('app://perseus/index.html');
  });

  test('every response gets the strict CSP; only display permissions are granted', () => {
    let headers: any = null;
    state.headersListener!({ responseHeaders: { 'X-Other': ['1'] } }, (r: any) => { headers = r.responseHeaders; });
    expect(headers['X-Other']).toEqual(['1']);
    expect(headers['Content-Security-Policy'][0]).toMatch(/default-src 'self'.*script-src 'self'/);
    const answer = (permission: string) => {
      let granted: boolean | null = null;
      state.permissionHandler!({}, permission, (g: boolean) => { granted = g; });
      return granted;
    };
    expect(answer('pointerLock')).toBe(true);
    expect(answer('fullscreen')).toBe(true);
    for (const p of ['media', 'geolocation', 'notifications', 'openExternal']) expect(answer(p), p).toBe(false);
  });

  test('app:// serves the renderer with the CSP and nothing outside it', async () => {
    const page = await state.protocolHandler!({ url: 'app://perseus/index.html' });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/object-src 'none'/);
    expect(await page.text()).toMatch(/Perseus Workstation/);
    for (const url of ['app://perseus/%2e%2e/package.json', 'app://perseus/..%2f..%2fpackage.json', 'app://other/index.html']) {
      expect((await state.protocolHandler!({ url })).status, url).toBe(404);
    }
  });

  test('navigation away from the app and new windows are blocked', () => {
    const contentsListeners = new Map<string, Listener>();
    let openHandler: Listener | null = null;
    const contents = {
      on: (ev: string, l: Listener) => { contentsListeners.set(ev, l); },
      setWindowOpenHandler: (h: Listener) => { openHandler = h; },
    };
    for (const l of state.appListeners.get('web-contents-created') ?? []) l({}, contents);
    let prevented = 0;
    contentsListeners.get('will-navigate')!({ preventDefault: () => { prevented++; } }, 'https://evil.example/');
    contentsListeners.get('will-navigate')!({ preventDefault: () => { prevented++; } }, 'app://perseus/index.html#vm');
    expect(prevented).toBe(1);
    expect(openHandler!({ url: 'https://example.org/' })).toEqual({ action: 'deny' });
  });

  test('the menu has the commands, and they reach the UI as menu events over IPC', async () => {
    const labels = (items: any[]): string[] => items.flatMap((i) => [i.label, ...(i.submenu ? labels(i.submenu) : [])]).filter(Boolean);
    const all = labels(state.menu);
    for (const l of ['File', 'New VM…', 'Open Image…', 'Quit', 'VM', 'Power On', 'Power Off', 'Reset', 'Pause', 'Take Snapshot…', 'View', 'Fullscreen', 'Scale', 'Help', 'About Perseus Workstation']) {
      expect(all, l).toContain(l);
    }
    const find = (items: any[], label: string): any =>
      items.map((i) => (i.label === label ? i : i.submenu ? find(i.submenu, label) : null)).find(Boolean);
    state.sent.length = 0;
    find(state.menu, 'Power On').click();
    await find(state.menu, 'Open Image…').click();
    find(state.menu, 'Fullscreen').click();
    const events = state.sent.filter((s) => s.channel === 'perseus:event').map((s) => s.args[0] as ApiEvent);
    expect(events).toEqual([
      { type: 'menu', action: 'power-on' },
      { type: 'menu', action: 'open-image', path: '/images/freedos.img' },
      { type: 'menu', action: 'fullscreen' },
    ]);
    expect(state.windows[0].fullScreen).toBe(true);
  });

  test('closing the window remembers its bounds in the data dir', () => {
    const w = state.windows[0];
    for (const l of w.listeners.get('close') ?? []) l();
    expect(loadWindowState(windowStatePath(dataDir), [{ x: 0, y: 0, width: 1920, height: 1080 }]))
      .toEqual({ x: 10, y: 20, width: 1000, height: 700, maximized: false, fullScreen: true });
  });

  test('the IPC handler serves the API to the window (and the library is in the data dir)', async () => {
    const handler = state.ipcHandlers.get('perseus:call')!;
    const reply = await handler({ sender: { id: 7 }, senderFrame: { url: 'app://perseus/index.html' } }, 'appInfo', {});
    expect(reply).toMatchObject({ ok: true, result: { transport: 'electron', dataDir } });
    const foreign = await handler({ sender: { id: 7 }, senderFrame: { url: 'https://evil.example/' } }, 'listVms', {});
    expect(foreign).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
  });
});
