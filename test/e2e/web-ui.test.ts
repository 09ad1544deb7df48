// The UI end to end: `perseus web` spawned from the CLI, Debian's Chromium driven by
// playwright-core. Creates a VM through the New VM dialog, edits its memory in the settings
// editor (with a validation message on a bad value), restarts the server on the same data
// directory and finds the edit kept, and checks that a missing or wrong token is refused by
// the page and by the WebSocket. Screenshots (light and dark) go to test/artifacts/.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { connectWsClient, type WebSocketLike } from '../../core/api/ws-client.js';
import { DEMO_GREETING, writeDemoFloppy } from '../../resources/demo/demo-floppy.mjs';
import { requireResource } from '../helpers/shared.js';
import { artifactPath, ensureBuilt, haveChromium, launchBrowser, startPerseusWeb, type WebServer } from './harness.js';

const enabled = haveChromium();

describe.skipIf(!enabled)('web console UI (perseus web + Chromium)', () => {
  let dataDir: string;
  let server: WebServer | null = null;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let context: BrowserContext;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'perseus-e2e-data-'));
    [server, browser] = await Promise.all([startPerseusWeb(dataDir), launchBrowser()]);
    context = browser.context;
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** A second API client (like another window), from Node. */
  function apiClient() {
    return connectWsClient({
      url: `${server!.origin.replace('http', 'ws')}/api`, token: server!.token,
      createSocket: (url) => new WebSocket(url, { origin: server!.origin }) as unknown as WebSocketLike,
    });
  }

  /** Key events the page sent in sendInput requests, as "code down|up". */
  const keysSent = new WeakMap<Page, string[]>();
  /** Other input events the page sent (mouse). */
  const mouseSent = new WeakMap<Page, { type: string; dx: number; dy: number; buttons: number }[]>();

  async function open(url: string): Promise<Page> {
    const page = await context.newPage();
    const keys: string[] = [];
    const mice: { type: string; dx: number; dy: number; buttons: number }[] = [];
    keysSent.set(page, keys);
    mouseSent.set(page, mice);
    page.on('websocket', (ws) => ws.on('framesent', ({ payload }) => {
      if (typeof payload !== 'string' || !payload.includes('"sendInput"')) return;
      const req = JSON.parse(payload) as { params: { events: { type: string; code?: string; down?: boolean }[] } };
      for (const e of req.params.events) {
        if (e.type === 'key') keys.push(`${e.code} ${e.down ? 'down' : 'up'}`);
        else if (e.type === 'mouse') mice.push(e as never);
      }
    }));
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`${m.text()} ${m.location().url}`); });
    await page.goto(url);
    return page;
  }

  test('create a VM in the New VM dialog, see it listed, edit its memory', async () => {
    const page = await open(server!.url);
    await expect.poll(() => page.getByRole('heading', { name: 'Perseus Workstation' }).count()).toBe(1);
    // The token left the address bar once used.
    expect(page.url()).not.toContain('token');
    await page.getByText('No virtual machines yet.').waitFor();

    await page.getByRole('button', { name: 'New VM…' }).click();
    const dialog = page.getByRole('dialog', { name: 'New virtual machine' });
    await dialog.waitFor();
    await dialog.getByLabel('Name').fill('E2E FreeDOS');
    await dialog.getByLabel('Guest operating system').selectOption('dos');
    expect(await dialog.getByLabel('Memory (MiB)', { exact: true }).inputValue()).toBe('32');
    await dialog.getByLabel('Guest operating system').selectOption('win9x');
    expect(await dialog.getByLabel('Memory (MiB)', { exact: true }).inputValue()).toBe('64');
    await dialog.getByLabel('Guest operating system').selectOption('dos');
    // A missing image is refused with the message next to the image field.
    await dialog.getByLabel('Boot or installation image (path)').fill(join(dataDir, 'missing.iso'));
    await dialog.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => dialog.locator('#new-image-err .error-text').count()).toBeGreaterThan(0);
    expect(await dialog.locator('#new-image-err').textContent()).toContain('missing.iso');
    await page.screenshot({ path: artifactPath('new-vm-dialog-light.png') });
    await dialog.getByLabel('Boot or installation image (path)').fill('');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.waitFor({ state: 'detached' });

    const row = page.locator('li[data-vm-name="E2E FreeDOS"]');
    await row.waitFor();
    expect(await row.getByTestId('vm-state').textContent()).toBe('Powered off');
    expect(await row.textContent()).toContain('32 MiB');

    // The new VM is selected and its settings are open.
    await page.getByRole('heading', { name: 'Settings of E2E FreeDOS' }).waitFor();
    const memory = page.getByLabel('Memory (MiB)', { exact: true });
    expect(await memory.inputValue()).toBe('32');
    // Every control on the page has a label (a <label for>, aria-label or its own text).
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => !(el.id && document.querySelector(`label[for="${el.id}"]`)) && !el.getAttribute('aria-label')
        && !(el.tagName === 'BUTTON' && el.textContent!.trim()))
      .map((el) => el.outerHTML));
    expect(unlabelled).toEqual([]);
    // Keyboard: Tab goes from the New VM button to the library and back.
    await page.getByRole('button', { name: 'New VM…' }).focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toMatch(/^vm-row-/);
    await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('New VM…');
    await memory.fill('0');
    await expect.poll(() => page.locator('#s-memory-err').textContent()).toMatch(/Memory must be between \d+ and \d+ MiB, not 0/);
    expect(await memory.getAttribute('aria-invalid')).toBe('true');
    await memory.fill('48');
    await expect.poll(() => page.locator('#s-memory-err').textContent()).toBe('');
    // The boot-menu prompt: validated like every field, stored with the rest.
    const bootMenu = page.getByLabel('Boot menu prompt (ms)');
    expect(await bootMenu.inputValue()).toBe('0');
    await bootMenu.fill('70000');
    await expect.poll(() => page.locator('#s-bootmenu-err').textContent()).toMatch(/from 0 \(no prompt\) to 60000, not 70000/);
    await bootMenu.fill('2500');
    await expect.poll(() => page.locator('#s-bootmenu-err').textContent()).toBe('');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Settings saved.').waitFor();
    await expect.poll(() => row.textContent()).toContain('48 MiB');
    {
      const api = await apiClient();
      try {
        const saved = (await api.call('listVms', {})).find((v) => v.name === 'E2E FreeDOS')!;
        expect(saved.bootMenuDelayMs).toBe(2500);
      } finally {
        api.close();
      }
    }
    await page.screenshot({ path: artifactPath('library-settings-light.png'), fullPage: true });

    await page.emulateMedia({ colorScheme: 'dark' });
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe('rgb(21, 24, 30)');
    await page.screenshot({ path: artifactPath('library-settings-dark.png'), fullPage: true });
    await page.getByRole('tab', { name: 'Console' }).click();
    await page.getByText('E2E FreeDOS is powered off.').waitFor();
    await page.screenshot({ path: artifactPath('console-off-dark.png') });
    await page.close();
    expect(pageErrors).toEqual([]);
  });

  test('the edit survives a restart of perseus web on the same data directory', async () => {
    const before = server!;
    const old = await open(before.url);
    await old.locator('li[data-vm-name="E2E FreeDOS"]').waitFor();
    await before.stop();
    // A page whose server went away says so.
    await old.getByText('The connection to Perseus was closed').waitFor();
    await old.close();
    server = null;
    server = await startPerseusWeb(dataDir);
    expect(server.token).not.toBe(before.token);

    const page = await open(server.url);
    const row = page.locator('li[data-vm-name="E2E FreeDOS"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('48 MiB');
    await row.getByRole('button', { name: 'Edit settings of E2E FreeDOS' }).click();
    expect(await page.getByLabel('Memory (MiB)', { exact: true }).inputValue()).toBe('48');

    // The library is live: a VM another client creates, renames and deletes shows up at once.
    const api = await apiClient();
    try {
      // An unedited settings form follows a change saved elsewhere.
      const mine = (await api.call('listVms', {})).find((v) => v.name === 'E2E FreeDOS')!;
      await api.call('updateVm', { id: mine.id, patch: { notes: 'edited elsewhere' } });
      await expect.poll(() => page.getByLabel('Notes').inputValue()).toBe('edited elsewhere');
      expect(await page.getByRole('button', { name: 'Save' }).isDisabled()).toBe(true);
      const other = await api.call('createVm', { name: 'Made elsewhere', osPreset: 'linux' });
      const otherRow = page.locator('li[data-vm-name="Made elsewhere"]');
      await otherRow.waitFor();
      expect(await otherRow.textContent()).toContain('256 MiB');
      await api.call('updateVm', { id: other.id, patch: { name: 'Renamed elsewhere' } });
      await page.locator('li[data-vm-name="Renamed elsewhere"]').waitFor();
      await api.call('deleteVm', { id: other.id, keepFiles: true });
      await page.locator('li[data-vm-name="Renamed elsewhere"]').waitFor({ state: 'detached' });
    } finally {
      api.close();
    }
    await page.close();
    expect(pageErrors).toEqual([]);
  });

  test('a missing or wrong token is refused by the page and by the WebSocket', async () => {
    const origin = server!.origin;
    for (const [name, url] of [['missing', `${origin}/`], ['wrong', `${origin}/#token=not-the-token`]] as const) {
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      const closes: number[] = [];
      page.on('websocket', (ws) => ws.on('close', () => closes.push(1)));
      await page.goto(url);
      await page.getByRole('heading', { name: 'Access denied' }).waitFor();
      const text = await page.getByRole('alert').textContent();
      if (name === 'missing') expect(text).toContain('no access token');
      else {
        expect(text).toContain('refused the access token');
        await expect.poll(() => closes.length).toBe(1);
      }
      expect(await page.getByRole('heading', { name: 'Perseus Workstation' }).count()).toBe(0);
      await page.screenshot({ path: artifactPath(`access-denied-${name}-light.png`) });
      await page.close();
    }

    // The API itself: a wrong hello token is closed with 4401, /api over HTTP without it is 401.
    const code = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`${origin.replace('http', 'ws')}/api`, { origin });
      ws.on('open', () => ws.send(JSON.stringify({ kind: 'hello', token: 'not-the-token' })));
      ws.on('message', () => reject(new Error('the server answered a wrong token')));
      ws.on('close', (c) => resolve(c));
      ws.on('error', reject);
    });
    expect(code).toBe(4401);
    expect((await fetch(`${origin}/api`)).status).toBe(401);
  });

  // Powers the VM on with SeaBIOS (Debian's package) and watches its screen arrive on the canvas.
  test('console: power on with SeaBIOS, the screen appears on the canvas, the demo guest echoes keys typed on it, keys are released on blur, power off, delete', async (ctx) => {
    if (!requireResource('SeaBIOS (Debian package seabios)', existsSync('/usr/share/seabios/bios-256k.bin'))) return ctx.skip();
    const page = await open(server!.url);
    const row = page.locator('li[data-vm-name="E2E FreeDOS"]');
    await row.getByRole('button', { name: 'Edit settings of E2E FreeDOS' }).click();
    await page.getByLabel('Firmware', { exact: true }).selectOption('seabios');
    // The demo guest (resources/demo): a boot floppy that greets and echoes the keys typed.
    const floppy = writeDemoFloppy(join(dataDir, 'demo.img'));
    await page.getByLabel('Floppy A (image path)').fill(floppy);
    expect(await page.getByLabel('Boot order').inputValue()).toMatch(/^a/);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Settings saved.').waitFor();

    await row.getByRole('button', { name: 'Power on E2E FreeDOS' }).click();
    const stateWithReason = async () => {
      const state = await row.getByTestId('vm-state').textContent();
      return state === 'Crashed' ? `Crashed: ${await row.locator('.crash').textContent()}` : state;
    };
    await expect.poll(stateWithReason, { timeout: 15_000 }).toBe('Running');
    const canvas = page.locator('canvas');
    await canvas.waitFor({ state: 'visible', timeout: 20_000 });
    // The first frame is a real picture: some pixels are lit (SeaBIOS prints its banner).
    await expect.poll(() => canvas.evaluate((c: HTMLCanvasElement) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let lit = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i]! + d[i + 1]! + d[i + 2]! > 96) lit++;
      return lit;
    }), { timeout: 20_000 }).toBeGreaterThan(100);
    const dims = await canvas.evaluate((c: HTMLCanvasElement) => [c.width, c.height]);
    expect(dims[0]).toBeGreaterThanOrEqual(320);
    expect(await page.getByRole('status').filter({ hasText: 'Running' }).count()).toBeGreaterThan(0);
    // Keys typed on the focused canvas go out as sendInput calls (a failing call shows an alert),
    // and are released when the canvas loses focus; the boot messages are the guest's own text.
    const api = await apiClient();
    try {
      const vmId = (await api.call('listVms', {}))[0]!.id;
      const screenText = () => api.call('getScreenText', { id: vmId });
      await expect.poll(screenText, { timeout: 20_000 }).toContain(DEMO_GREETING.trim());
      await canvas.focus();
      expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('CANVAS');
      // Keys held for a moment, as a person types. (Known emulator issue, reported: a key's down
      // and up reaching the i8042 in the same time slice loses every later key.)
      for (const key of ['h', 'i']) {
        await page.keyboard.down(key);
        await page.waitForTimeout(60);
        await page.keyboard.up(key);
        await page.waitForTimeout(60);
      }
      await expect.poll(screenText, { timeout: 20_000, message: `keys sent: ${JSON.stringify(keysSent.get(page))}` })
        .toContain(`${DEMO_GREETING}hi`);
      // Text typed in the toolbar goes in as keystrokes.
      await page.getByLabel('Text to type into the VM').fill(' OK!');
      await page.getByRole('button', { name: 'Type', exact: true }).click();
      await expect.poll(screenText, { timeout: 20_000 }).toContain(`${DEMO_GREETING}hi OK!`);
      await canvas.focus();
      keysSent.get(page)!.length = 0;
    } finally {
      api.close();
    }
    // A click captures the mouse (pointer lock); motion and buttons go in as relative mouse events.
    const box = (await canvas.boundingBox())!;
    await page.mouse.click(box.x + 100, box.y + 100);
    await expect.poll(() => page.evaluate(() => document.pointerLockElement?.tagName ?? null)).toBe('CANVAS');
    await page.getByText('Press Ctrl+Alt to release the mouse').waitFor();
    await page.mouse.move(box.x + 130, box.y + 90);
    await page.mouse.down();
    await page.mouse.up();
    // Motion is merged per frame (and into a button event), so compare totals and the button sequence.
    const summary = () => {
      const mice = mouseSent.get(page)!;
      return `dx ${mice.reduce((t, m) => t + m.dx, 0)} dy ${mice.reduce((t, m) => t + m.dy, 0)} buttons ${mice.map((m) => m.buttons).join('')}`;
    };
    await expect.poll(summary).toMatch(/^dx 30 dy -10 buttons 0*10$/);
    // Ctrl+Alt releases the mouse.
    await page.keyboard.down('ControlLeft');
    await page.keyboard.down('AltLeft');
    await page.keyboard.up('AltLeft');
    await page.keyboard.up('ControlLeft');
    await expect.poll(() => page.evaluate(() => document.pointerLockElement)).toBe(null);
    keysSent.get(page)!.length = 0;

    await page.keyboard.press('Escape');
    await page.keyboard.down('ShiftLeft');
    await page.getByRole('tab', { name: 'Console' }).focus();
    await expect.poll(() => keysSent.get(page)).toEqual(['Escape down', 'Escape up', 'ShiftLeft down', 'ShiftLeft up']);
    await page.keyboard.up('ShiftLeft');
    expect(await page.locator('.console [role="alert"]').count()).toBe(0);
    await canvas.screenshot({ path: artifactPath('console-canvas.png') });
    await page.screenshot({ path: artifactPath('console-running-light.png') });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: artifactPath('console-running-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });

    const toolbar = page.getByRole('toolbar', { name: 'Console controls' });
    await toolbar.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => row.getByTestId('vm-state').textContent()).toBe('Paused');
    await toolbar.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => row.getByTestId('vm-state').textContent()).toBe('Running');
    await toolbar.getByRole('button', { name: 'Power off' }).click();
    await expect.poll(() => row.getByTestId('vm-state').textContent(), { timeout: 15_000 }).toBe('Powered off');
    await page.getByText('E2E FreeDOS is powered off.').waitFor();
    expect(await canvas.isHidden()).toBe(true);

    // Delete asks first, and whether to delete the VM's files; Cancel keeps it.
    await row.getByRole('button', { name: 'Delete E2E FreeDOS' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete “E2E FreeDOS”?' });
    await confirm.waitFor();
    expect(await confirm.getByLabel('Also delete the disk image files this VM owns').isChecked()).toBe(false);
    await page.screenshot({ path: artifactPath('delete-dialog-light.png') });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    expect(await row.count()).toBe(1);
    await row.getByRole('button', { name: 'Delete E2E FreeDOS' }).click();
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    await page.getByText('No virtual machines yet.').waitFor();
    await page.close();
    expect(pageErrors).toEqual([]);
  });
});
