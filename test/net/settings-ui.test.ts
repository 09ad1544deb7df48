// The Settings editor's network section in Chromium against `perseus web`: add, edit and remove
// port forwards (with the validation message next to the table), the MAC and capture fields,
// the cable checkbox while the VM is off (saved with the form) and while it runs (at once,
// through setCableConnected).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { VmLibrary } from '../../main/library/index.js';
import { ensureBuilt, haveChromium, launchBrowser, startPerseusWeb, type WebServer } from '../e2e/harness.js';

const enabled = haveChromium();

describe.skipIf(!enabled)('network settings in the UI', () => {
  let dataDir: string;
  let server: WebServer | null = null;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  let vmId: string;

  beforeAll(async () => {
    ensureBuilt();
    dataDir = mkdtempSync(join(tmpdir(), 'perseus-netui-'));
    const lib = VmLibrary.open(dataDir);
    vmId = lib.create({ name: 'Net VM', osPreset: 'dos', firmware: 'builtin', nic: { model: 'ne2k-pci', network: 'nat' } }).id;
    lib.close();
    [server, browser] = await Promise.all([startPerseusWeb(dataDir), launchBrowser()]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const stored = () => {
    const lib = VmLibrary.open(dataDir);
    try { return lib.get(vmId); } finally { lib.close(); }
  };

  test('forwards table, MAC, capture and cable are edited, validated and saved', async () => {
    const page = await browser.context.newPage();
    page.setDefaultTimeout(20_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server!.url);
    await page.locator('li[data-vm-name="Net VM"]').click();
    await page.getByRole('tab', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Settings of Net VM' }).waitFor();

    await page.getByRole('button', { name: 'Add forward' }).click();
    const hostPort = page.getByLabel('Forward 1 host port');
    expect(await hostPort.inputValue()).toBe('2222');
    expect(await page.getByLabel('Forward 1 guest port').inputValue()).toBe('22');
    await hostPort.fill('70000');
    await expect.poll(() => page.locator('#s-forwards-err').textContent()).toContain('Port forward 1: the host port must be a whole number from 1 to 65535, not 70000');
    await hostPort.fill('8022');
    await page.getByLabel('Forward 1 host address').fill('10.1.2.3');
    await expect.poll(() => page.locator('#s-forwards-err').textContent()).toContain('must be a loopback address');
    await page.getByLabel('Forward 1 host address').fill('');
    await page.getByRole('button', { name: 'Add forward' }).click();
    await page.getByLabel('Forward 2 protocol').selectOption('udp');
    await page.getByLabel('Forward 2 host port').fill('8053');
    await page.getByLabel('Forward 2 guest port').fill('53');
    await page.getByLabel('MAC address').fill('01:02:03:04:05:06');
    await expect.poll(() => page.locator('#s-mac-err').textContent()).toMatch(/multicast/);
    await page.getByLabel('MAC address').fill('52:54:00:01:02:03');
    const capture = join(dataDir, 'net.pcap');
    await page.getByLabel('Packet capture (pcap file)').fill(capture);
    await page.getByLabel('Cable connected').uncheck();
    await expect.poll(() => page.locator('#s-forwards-err').textContent()).toBe('');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Settings saved.').waitFor();
    expect(stored().nic).toEqual({
      model: 'ne2k-pci', network: 'nat', mac: '52:54:00:01:02:03', capture, cableConnected: false,
      forwards: [{ protocol: 'tcp', hostPort: 8022, guestPort: 22 }, { protocol: 'udp', hostPort: 8053, guestPort: 53 }],
    });

    // Remove the first row; clear MAC (automatic again) and capture.
    await page.getByRole('button', { name: 'Remove forward 1' }).click();
    await page.getByLabel('MAC address').fill('');
    await page.getByLabel('Packet capture (pcap file)').fill('');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Settings saved.').waitFor();
    const after = stored().nic;
    expect(after.forwards).toEqual([{ protocol: 'udp', hostPort: 8053, guestPort: 53 }]);
    expect(after.mac).toBeNull(); // automatic: derived from the VM id
    expect(after.capture).toBeNull();

    // Running: the checkbox plugs the cable in at once (no Save), and the settings keep it.
    const row = page.locator('li[data-vm-name="Net VM"]');
    await row.getByRole('button', { name: 'Power on Net VM' }).click();
    await expect.poll(() => row.getByTestId('vm-state').textContent(), { timeout: 30_000 }).toBe('Running');
    await page.getByRole('tab', { name: 'Settings' }).click();
    await page.getByLabel('Cable connected').check();
    await expect.poll(() => stored().nic.cableConnected).toBe(true);
    expect(await page.getByRole('button', { name: 'Save' }).isDisabled()).toBe(true);
    await page.getByLabel('Cable connected').uncheck();
    await expect.poll(() => stored().nic.cableConnected).toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});
