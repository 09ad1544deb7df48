// The web console: loopback bind, the access token (WS close 4401, HTTP 401), Host and Origin
// checks, static files with a strict CSP, and no way out of the renderer folder.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import WebSocket from 'ws';
import { ApiError, WS_CLOSE_UNAUTHORIZED } from '../../core/api/contract.js';
import { connectPerseus } from '../../core/api/connect.js';
import { connectWsClient, tokenFromPageUrl } from '../../core/api/ws-client.js';
import { startWebConsole, type WebConsole } from '../../main/web/server.js';
import { testHypervisorOptions } from './transports.js';

let dataDir: string;
let rendererDir: string;
let web: WebConsole;
let port: number;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'perseus-web-'));
  rendererDir = join(dataDir, 'renderer');
  mkdirSync(join(rendererDir, 'assets'), { recursive: true });
  writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>UI</title><script type="module" src="/assets/app.js"></script>');
  writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log("ui");\n');
  writeFileSync(join(dataDir, 'secret.txt'), 'not for the web');
  web = await startWebConsole({ dataDir, rendererDir, hypervisor: testHypervisorOptions() });
  port = Number(new URL(web.url).port);
});
afterAll(async () => {
  await web?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** A raw HTTP request (fetch would not let us set Host). */
function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Open a raw WebSocket; resolves with the HTTP status of a refused upgrade or the close code. */
function rawSocket(url: string, opts: WebSocket.ClientOptions, first?: string): Promise<{ refusedStatus?: number; closeCode?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, opts);
    ws.on('unexpected-response', (_req, res) => { resolve({ refusedStatus: res.statusCode }); res.resume(); ws.terminate(); });
    ws.on('open', () => { if (first !== undefined) ws.send(first); });
    ws.on('close', (code) => resolve({ closeCode: code }));
    ws.on('error', () => { /* resolved by the handlers above */ });
  });
}

describe('access token', () => {
  test('the page URL is on loopback and carries a 24-byte base64url token', () => {
    expect(new URL(web.url).hostname).toBe('127.0.0.1');
    expect(web.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(tokenFromPageUrl(web.url)).toBe(web.token);
    expect(web.apiUrl).toBe(`ws://127.0.0.1:${port}/api`);
  });

  test('the right token is welcomed', async () => {
    const c = await connectWsClient({ url: web.apiUrl, token: web.token, createSocket: (u) => new WebSocket(u) as never });
    expect(c.info.transport).toBe('web');
    expect(await c.call('listVms', {})).toEqual([]);
    c.close();
  });

  test('a wrong token closes the WebSocket with 4401', async () => {
    const err = await connectWsClient({ url: web.apiUrl, token: 'wrong' + web.token.slice(5), createSocket: (u) => new WebSocket(u) as never })
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('unauthorized');
    const raw = await rawSocket(web.apiUrl, {}, JSON.stringify({ kind: 'hello', token: 'nope' }));
    expect(raw.closeCode).toBe(WS_CLOSE_UNAUTHORIZED);
  });

  test('a request before the hello (no token) closes with 4401 and gets no answer', async () => {
    const raw = await rawSocket(web.apiUrl, {}, JSON.stringify({ kind: 'request', seq: 1, method: 'listVms', params: {} }));
    expect(raw.closeCode).toBe(WS_CLOSE_UNAUTHORIZED);
  });

  test('a wrong token in the API URL is refused with HTTP 401 before the upgrade', async () => {
    expect((await rawSocket(`${web.apiUrl}?token=bad`, {})).refusedStatus).toBe(401);
  });

  test('HTTP requests to /api need the token (401), and are told to upgrade when they have it', async () => {
    expect((await get('/api')).status).toBe(401);
    expect((await get('/api?token=bad')).status).toBe(401);
    expect((await get('/api', { Authorization: `Bearer ${web.token}` })).status).toBe(426);
  });
});

describe('origin and host checks', () => {
  test('a WebSocket from another origin is refused', async () => {
    expect((await rawSocket(web.apiUrl, { origin: 'http://evil.example' })).refusedStatus).toBe(403);
    const same = await rawSocket(web.apiUrl, { origin: `http://127.0.0.1:${port}` }, JSON.stringify({ kind: 'hello', token: 'x' }));
    expect(same.closeCode).toBe(WS_CLOSE_UNAUTHORIZED); // got through to the token check
  });

  test('a foreign Host header (DNS rebinding) is refused on a loopback bind', async () => {
    expect((await get('/', { Host: `evil.example:${port}` })).status).toBe(403);
    expect((await get('/', { Host: `localhost:${port}` })).status).toBe(200);
  });
});

describe('static files', () => {
  test('the renderer is served with a strict CSP', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>UI</title>');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-(inline|eval)/);
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    const js = await get('/assets/app.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toMatch(/text\/javascript/);
  });

  test('nothing outside the renderer folder is reachable', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/..%5csecret.txt']) {
      const r = await get(path);
      expect(r.status, path).toBe(404);
      expect(r.body).not.toContain('not for the web');
    }
    expect((await get('/missing.js')).status).toBe(404);
  });
});

describe('connectPerseus (how a page gets its client)', () => {
  test('in Electron it is window.perseus', async () => {
    const perseus = { call: async () => null, onEvent: () => () => undefined } as never;
    expect(await connectPerseus({ env: { perseus, location: new URL('app://perseus/index.html') } })).toBe(perseus);
  });

  test('in a browser it connects with the token from the URL, keeps it for reloads and hides it', async () => {
    const stored = new Map<string, string>();
    const replaced: string[] = [];
    const env = {
      location: new URL(web.url.replace('/#', '/index.html?view=vm#')),
      history: { replaceState: (_d: unknown, _u: string, url?: string) => { replaced.push(url ?? ''); } },
      sessionStorage: { getItem: (k: string) => stored.get(k) ?? null, setItem: (k: string, v: string) => { stored.set(k, v); } },
    };
    const client = await connectPerseus({ env, createSocket: (u) => new WebSocket(u) as never });
    expect(await client.call('appInfo', {})).toMatchObject({ transport: 'web' });
    expect(replaced).toEqual(['/index.html?view=vm']);
    expect([...stored.values()]).toEqual([web.token]);
    (client as unknown as { close(): void }).close();

    // After the reload the URL has no token; the stored one is used.
    const again = await connectPerseus({ env: { ...env, location: new URL(`http://127.0.0.1:${port}/index.html`) }, createSocket: (u) => new WebSocket(u) as never });
    expect((await again.call('appInfo', {})).transport).toBe('web');
    (again as unknown as { close(): void }).close();

    const none = await connectPerseus({ env: { location: new URL(`http://127.0.0.1:${port}/`) } }).then(() => null, (e: unknown) => e);
    expect((none as ApiError).code).toBe('unauthorized');
  });
});

test('when the server stops, the client learns it and calls fail cleanly', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'perseus-web-stop-'));
  const other = await startWebConsole({ dataDir: dir, rendererDir: join(dir, 'none'), hypervisor: testHypervisorOptions() });
  try {
    const client = await connectWsClient({ url: other.apiUrl, token: other.token, createSocket: (u) => new WebSocket(u) as never });
    expect(await client.call('listVms', {})).toEqual([]);
    await other.close();
    const closed = await client.closed;
    expect(closed.code).toBe(1001);
    const err = await client.call('listVms', {}).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('internal');
  } finally {
    await other.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
