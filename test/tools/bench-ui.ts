// `npm run bench`, section console-fps: frames the browser UI draws per second at 800×600
// while KolibriOS redraws (its cursor chased in circles by mouse input), against the raw
// WebSocket screen-update rate the server sends to a plain Node client in the same run.
//
// Needs Debian's chromium, SeaBIOS (KolibriOS's VBE modes) and ../shared/guests/kolibri.img;
// without them the section says what is missing and reports nothing.
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import { connectWsClient, type WebSocketLike } from '../../core/api/ws-client.js';
import { startWebConsole } from '../../main/web/server.js';

const CHROMIUM = '/usr/bin/chromium';
const SEABIOS = '/usr/share/seabios/bios-256k.bin';
const MEASURE_MS = Number(process.env.PERSEUS_BENCH_FPS_MS ?? 5000);

function kolibriImage(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  // From test/tools (vitest) or dist/test/tools (npm run bench): the repo is 2 or 3 levels up.
  for (const up of ['../..', '../../..']) {
    const shared = process.env.PERSEUS_SHARED_DIR ?? resolve(here, up, '..', 'shared');
    const p = join(shared, 'guests', 'kolibri.img');
    if (existsSync(p)) return p;
  }
  return null;
}

export interface ConsoleFps { browserFps: number; wsFps: number; ratio: number; width: number; height: number }

export async function measureConsoleFps(log: (line: string) => void = console.log): Promise<ConsoleFps | null> {
  const source = kolibriImage();
  const missing = [!existsSync(CHROMIUM) && 'chromium', !existsSync(SEABIOS) && 'seabios', !source && '../shared/guests/kolibri.img'].filter(Boolean);
  if (missing.length) { log(`console-fps: skipped, missing ${missing.join(', ')}`); return null; }
  const dataDir = mkdtempSync(join(tmpdir(), 'perseus-bench-fps-'));
  const image = join(dataDir, 'kolibri.img');
  copyFileSync(source!, image);
  const web = await startWebConsole({ dataDir, port: 0 });
  const origin = new URL(web.url).origin;
  const api = await connectWsClient({
    url: web.apiUrl, token: web.token,
    createSocket: (url) => new WebSocket(url, { origin }) as unknown as WebSocketLike,
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const vm = await api.call('createVm', {
      name: 'Bench Kolibri', osPreset: 'other', floppyA: image, bootOrder: 'a', firmware: 'seabios', nic: { model: 'none', network: 'none' },
    });
    let wsFrames = 0;
    let mode = '';
    api.onEvent((e) => {
      if (e.type !== 'screen' || e.update.id !== vm.id) return;
      wsFrames++;
      mode = `${e.update.width}x${e.update.height}`;
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(web.url);
    await page.locator(`li[data-vm-name="Bench Kolibri"]`).getByRole('button', { name: 'Power on Bench Kolibri' }).click();
    // Boot to the desktop: 800×600 and settled (no updates for a second).
    const deadline = Date.now() + 120_000;
    while (mode !== '800x600' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    if (mode !== '800x600') throw new Error(`KolibriOS did not reach 800x600 (mode ${mode || 'none'})`);
    await page.locator('canvas').waitFor({ state: 'visible' });
    await new Promise((r) => setTimeout(r, 8000));

    // Chase the cursor around a circle at ~125 Hz so every frame has something new to show.
    let t = 0;
    const mover = setInterval(() => {
      t++;
      const a = t / 8;
      void api.call('sendInput', { id: vm.id, events: [{ type: 'mouse', dx: Math.round(Math.cos(a) * 12), dy: Math.round(Math.sin(a) * 12), dz: 0, buttons: 0 }] }).catch(() => {});
    }, 8);
    await new Promise((r) => setTimeout(r, 1000));
    const browser0 = await page.evaluate(() => (window as { __perseusFrames?: number }).__perseusFrames ?? 0);
    const ws0 = wsFrames;
    const started = performance.now();
    await new Promise((r) => setTimeout(r, MEASURE_MS));
    const browser1 = await page.evaluate(() => (window as { __perseusFrames?: number }).__perseusFrames ?? 0);
    const ws1 = wsFrames;
    const seconds = (performance.now() - started) / 1000;
    clearInterval(mover);
    const browserFps = (browser1 - browser0) / seconds;
    const wsFps = (ws1 - ws0) / seconds;
    const result = { browserFps, wsFps, ratio: wsFps > 0 ? browserFps / wsFps : 0, width: 800, height: 600 };
    log('');
    log(`console-fps: screen updates per second at ${mode} while KolibriOS redraws (cursor in motion), ${seconds.toFixed(1)} s`);
    log(`| browser UI (canvas draws)  | ${browserFps.toFixed(1).padStart(6)} fps | target ≥ 60 |`);
    log(`| raw WebSocket (Node client) | ${wsFps.toFixed(1).padStart(6)} fps | reference |`);
    log(`console-fps: browser = ${result.ratio.toFixed(2)}× the raw WebSocket rate`);
    await api.call('powerOff', { id: vm.id }).catch(() => {});
    return result;
  } finally {
    await browser.close();
    api.close();
    await web.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
