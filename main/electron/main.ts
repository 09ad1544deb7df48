// Electron main process: one instance, one window running the renderer from dist/renderer
// through the app:// scheme (strict CSP on every response), the sandboxed preload exposing
// window.perseus, the application menu (its commands reach the UI as 'menu' events), and the
// window's size and position remembered in the data directory. Everything else lives in the
// service, the hypervisor and the library; this file stays thin.

import { readFile } from 'node:fs/promises';
import { join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  app, BrowserWindow, dialog, ipcMain, Menu, protocol, screen, session, shell,
  type MenuItemConstructorOptions,
} from 'electron';
import type { MenuAction } from '../../core/api/contract.js';
import { resolveDataDir } from '../library/index.js';
import { openAppCore, type AppCore } from '../service/app.js';
import { NOT_BUILT_PAGE, contentTypeFor, webConsoleCsp } from '../web/server.js';
import { registerIpc } from './ipc.js';
import { loadWindowState, MIN_WINDOW_SIZE, saveWindowState, windowStatePath, type WindowState } from './window-state.js';

const SCHEME = 'app';
const APP_ORIGIN = `${SCHEME}://perseus`;
const here = fileURLToPath(new URL('.', import.meta.url));
/** dist/main/electron → dist/renderer and dist/preload. */
const RENDERER_DIR = normalize(join(here, '..', '..', 'renderer'));
const PRELOAD = join(here, '..', '..', 'preload', 'preload.cjs');
/** The window icon (Linux and Windows; macOS takes the bundle's). */
const ICON = join(here, '..', '..', '..', 'resources', 'icons', 'icon.png');

function dataDirOption(argv: string[]): string | null {
  const i = argv.indexOf('--data-dir');
  if (i >= 0 && argv[i + 1]) return argv[i + 1]!;
  const eq = argv.find((a) => a.startsWith('--data-dir='));
  return eq ? eq.slice('--data-dir='.length) : null;
}

// app:// must be registered before the app is ready: a standard, secure origin for the UI.
protocol.registerSchemesAsPrivileged([
  { scheme: SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let core: AppCore | null = null;
  let win: BrowserWindow | null = null;
  let quitting = false;

  app.on('second-instance', () => {
    if (!win) return;
    if (win.isMinimized()) win.restore();
    win.focus();
  });

  const sendMenu = (action: MenuAction, path?: string) => {
    core?.service.emit(path === undefined ? { type: 'menu', action } : { type: 'menu', action, path });
  };

  app.whenReady().then(async () => {
    const dataDir = resolveDataDir({ option: dataDirOption(process.argv) });
    core = openAppCore({ dataDir, transport: 'electron', firstRunDemo: true });
    installSecurity();
    serveRenderer();
    registerIpc({
      ipcMain,
      service: core.service,
      targets: () => (win && !win.isDestroyed() ? [win.webContents] : []),
      allowFrame: (url) => url.startsWith(`${APP_ORIGIN}/`),
    });
    Menu.setApplicationMenu(buildMenu());
    win = createWindow(dataDir);
  }).catch((err: unknown) => {
    dialog.showErrorBox('Perseus Workstation could not start', err instanceof Error ? err.message : String(err));
    app.exit(1);
  });

  app.on('window-all-closed', () => app.quit());

  // Power off every VM (flushing disks) and close the library before the process ends.
  app.on('before-quit', (event) => {
    if (quitting || !core) return;
    event.preventDefault();
    quitting = true;
    void core.close().finally(() => app.quit());
  });

  function installSecurity(): void {
    const ses = session.defaultSession;
    const csp = webConsoleCsp();
    ses.webRequest.onHeadersReceived((details, callback) => {
      callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
    });
    // Mouse capture and fullscreen for the VM display; nothing else.
    const allowed = new Set(['pointerLock', 'fullscreen', 'keyboardLock', 'clipboard-sanitized-write']);
    ses.setPermissionRequestHandler((_wc, permission, callback) => callback(allowed.has(permission)));
    ses.setPermissionCheckHandler((_wc, permission) => allowed.has(permission));
    app.on('web-contents-created', (_e, contents) => {
      contents.on('will-navigate', (event, url) => {
        if (!url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault();
      });
      contents.setWindowOpenHandler(({ url }) => {
        if (/^https?:\/\//.test(url)) void shell.openExternal(url);
        return { action: 'deny' };
      });
      contents.on('will-attach-webview', (event) => event.preventDefault());
    });
  }

  function serveRenderer(): void {
    const csp = webConsoleCsp();
    protocol.handle(SCHEME, async (request) => {
      const url = new URL(request.url);
      let rel = decodeURIComponent(url.pathname);
      if (rel.endsWith('/')) rel += 'index.html';
      const file = normalize(join(RENDERER_DIR, rel));
      const headers = { 'Content-Security-Policy': csp, 'X-Content-Type-Options': 'nosniff' };
      if (url.host !== 'perseus' || !file.startsWith(RENDERER_DIR + sep)) {
        return new Response('not found', { status: 404, headers });
      }
      try {
        const body = await readFile(file);
        return new Response(body, { status: 200, headers: { ...headers, 'Content-Type': contentTypeFor(file) } });
      } catch {
        if (rel === '/index.html') {
          return new Response(NOT_BUILT_PAGE, { status: 200, headers: { ...headers, 'Content-Type': 'text/html; charset=utf-8' } });
        }
        return new Response('not found', { status: 404, headers });
      }
    });
  }

  function createWindow(dataDir: string): BrowserWindow {
    const stateFile = windowStatePath(dataDir);
    const state = loadWindowState(stateFile, screen.getAllDisplays().map((d) => d.workArea));
    const w = new BrowserWindow({
      ...(state.x !== undefined && state.y !== undefined ? { x: state.x, y: state.y } : {}),
      width: state.width,
      height: state.height,
      minWidth: MIN_WINDOW_SIZE.width,
      minHeight: MIN_WINDOW_SIZE.height,
      title: 'Perseus Workstation',
      icon: ICON,
      show: false,
      backgroundColor: '#1e1e1e',
      webPreferences: {
        preload: PRELOAD,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        webSecurity: true,
        webviewTag: false,
        spellcheck: false,
      },
    });
    if (state.maximized) w.maximize();
    if (state.fullScreen) w.setFullScreen(true);
    w.once('ready-to-show', () => w.show());

    // Remember the normal (unmaximized) bounds; write after moves settle and on close.
    let saveTimer: NodeJS.Timeout | null = null;
    const save = () => {
      if (w.isDestroyed()) return;
      const b = w.getNormalBounds();
      const next: WindowState = { x: b.x, y: b.y, width: b.width, height: b.height, maximized: w.isMaximized(), fullScreen: w.isFullScreen() };
      try { saveWindowState(stateFile, next); } catch (err) { console.error('perseus: cannot save the window state', err); }
    };
    const saveSoon = () => {
      if (saveTimer) clearTimeout(saveTimer);
      saveTimer = setTimeout(save, 500);
    };
    for (const ev of ['resize', 'move', 'maximize', 'unmaximize', 'enter-full-screen', 'leave-full-screen'] as const) {
      w.on(ev as 'resize', saveSoon);
    }
    w.on('close', () => { if (saveTimer) clearTimeout(saveTimer); save(); });
    w.on('closed', () => { if (win === w) win = null; });

    void w.loadURL(`${APP_ORIGIN}/index.html`);
    return w;
  }

  function buildMenu(): Menu {
    const item = (label: string, action: MenuAction, accelerator?: string): MenuItemConstructorOptions =>
      ({ label, ...(accelerator ? { accelerator } : {}), click: () => sendMenu(action) });
    const template: MenuItemConstructorOptions[] = [
      {
        label: 'File',
        submenu: [
          item('New VM…', 'new-vm', 'CmdOrCtrl+N'),
          {
            label: 'Open Image…',
            accelerator: 'CmdOrCtrl+O',
            click: async () => {
              const opts = {
                title: 'Open a disk, CD-ROM or floppy image',
                properties: ['openFile'] as ('openFile')[],
                filters: [
                  { name: 'Disk images', extensions: ['img', 'ima', 'iso', 'qcow2', 'vmdk', 'vhd', 'vdi', 'raw'] },
                  { name: 'All files', extensions: ['*'] },
                ],
              };
              const r = win ? await dialog.showOpenDialog(win, opts) : await dialog.showOpenDialog(opts);
              if (!r.canceled && r.filePaths[0]) sendMenu('open-image', r.filePaths[0]);
            },
          },
          { type: 'separator' },
          { label: 'Quit', role: 'quit' },
        ],
      },
      {
        label: 'VM',
        submenu: [
          item('Power On', 'power-on', 'CmdOrCtrl+B'),
          item('Power Off', 'power-off', 'CmdOrCtrl+E'),
          item('Reset', 'reset', 'CmdOrCtrl+R'),
          item('Pause', 'pause', 'CmdOrCtrl+P'),
          { type: 'separator' },
          item('Take Snapshot…', 'take-snapshot', 'CmdOrCtrl+M'),
        ],
      },
      {
        label: 'View',
        submenu: [
          {
            label: 'Fullscreen',
            accelerator: process.platform === 'darwin' ? 'Ctrl+Cmd+F' : 'F11',
            click: () => {
              if (win) win.setFullScreen(!win.isFullScreen());
              sendMenu('fullscreen');
            },
          },
          {
            label: 'Scale',
            submenu: [
              item('Fit Window', 'scale-fit'),
              item('100%', 'scale-1x'),
              item('200%', 'scale-2x'),
            ],
          },
          ...(app.isPackaged ? [] : [{ type: 'separator' as const }, { label: 'Developer Tools', role: 'toggleDevTools' as const }]),
        ],
      },
      {
        label: 'Help',
        submenu: [item('About Perseus Workstation', 'about')],
      },
    ];
    return Menu.buildFromTemplate(template);
  }
}
