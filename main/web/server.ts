// `perseus web`: the same UI in any browser. Serves the built renderer (dist/renderer) with a
// strict CSP and the API over a WebSocket at /api. Binds to loopback by default; a random
// access token, carried in the page URL's fragment (#token=...), must be presented by every
// API connection (see ws-transport.ts), and an /api request with a wrong token gets HTTP 401.

import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import type { AppInfo } from '../../core/api/contract.js';
import type { HypervisorOptions } from '../hypervisor/hypervisor.js';
import { openAppCore, type AppCore } from '../service/app.js';
import { serveWsConnection, tokenMatches } from './ws-transport.js';

export interface WebConsoleOptions {
  /** Interface to bind; loopback unless the user asks otherwise. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  dataDir: string;
  /** Folder of the built UI; defaults to dist/renderer. */
  rendererDir?: string;
  /** A fixed token (tests); normally a random one. */
  token?: string;
  hypervisor?: HypervisorOptions;
  /** A fresh data directory gets the demo VM, powered on (`perseus web` does this unless --no-demo). */
  firstRunDemo?: boolean;
}

export interface WebConsole {
  /** The page URL including the token, e.g. http://127.0.0.1:8080/#token=... */
  url: string;
  token: string;
  /** ws:// URL of the API (present the token in the hello message). */
  apiUrl: string;
  core: AppCore;
  /** Stops serving, powers off the VMs it runs, closes the library. */
  close(): Promise<void>;
}

/** dist/renderer, from source (vitest) and from dist/ alike. */
export function defaultRendererDir(): string {
  const here = import.meta.url;
  return fileURLToPath(here.endsWith('.ts') ? new URL('../../dist/renderer/', here) : new URL('../../renderer/', here));
}

/** A new access token: 24 random bytes, base64url. */
export function newAccessToken(): string {
  return randomBytes(24).toString('base64url');
}

/** The Content-Security-Policy of the web console's pages. */
export function webConsoleCsp(): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    // Svelte sets element styles at run time; no inline <script> is ever allowed.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** Content-Type of a static file by its extension. */
export function contentTypeFor(file: string): string {
  return MIME[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** Shown when dist/renderer has no index.html. */
export const NOT_BUILT_PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>Perseus Workstation</title></head>
<body><h1>Perseus Workstation</h1><p>The user interface is not built yet: run <code>npm run build</code>.
The API is available over a WebSocket at <code>/api</code>.</p></body></html>`;

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function startWebConsole(options: WebConsoleOptions): Promise<WebConsole> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? newAccessToken();
  const rendererDir = resolve(options.rendererDir ?? defaultRendererDir());
  const core = openAppCore({
    dataDir: options.dataDir, transport: 'web', firstRunDemo: options.firstRunDemo ?? false,
    ...(options.hypervisor ? { hypervisor: options.hypervisor } : {}),
  });
  const appInfo = () => core.service.handle('appInfo', {}) as Promise<AppInfo>;
  const loopbackOnly = LOOPBACK.has(host);
  const csp = webConsoleCsp();

  const server = createServer((req, res) => {
    void handleHttp(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 16 * 1024 * 1024 });

  /** Refuse Host headers other than ours on a loopback bind (DNS rebinding). */
  function hostAllowed(req: IncomingMessage): boolean {
    if (!loopbackOnly) return true;
    const h = req.headers.host;
    if (!h) return false;
    const name = h.startsWith('[') ? h.slice(1, h.indexOf(']')) : h.split(':')[0]!;
    return LOOPBACK.has(name);
  }

  async function handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const baseHeaders = {
      'Content-Security-Policy': csp,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      'Cross-Origin-Opener-Policy': 'same-origin',
    };
    if (!hostAllowed(req)) { res.writeHead(403, baseHeaders).end('forbidden host'); return; }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      const given = bearer ?? url.searchParams.get('token');
      if (!tokenMatches(token, given)) { res.writeHead(401, baseHeaders).end('unauthorized'); return; }
      res.writeHead(426, { ...baseHeaders, Upgrade: 'websocket' }).end('use a WebSocket');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405, { ...baseHeaders, Allow: 'GET, HEAD' }).end(); return; }
    let rel: string;
    try { rel = decodeURIComponent(url.pathname); } catch { res.writeHead(400, baseHeaders).end(); return; }
    if (rel.endsWith('/')) rel += 'index.html';
    const file = normalize(join(rendererDir, rel));
    if (!file.startsWith(rendererDir + sep) || rel.includes('\0')) { res.writeHead(404, baseHeaders).end('not found'); return; }
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) {
      if (rel === '/index.html') {
        res.writeHead(200, { ...baseHeaders, 'Content-Type': MIME['.html']!, 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : NOT_BUILT_PAGE);
        return;
      }
      res.writeHead(404, baseHeaders).end('not found');
      return;
    }
    res.writeHead(200, {
      ...baseHeaders,
      'Content-Type': contentTypeFor(file),
      'Content-Length': info.size,
      'Cache-Control': rel === '/index.html' ? 'no-store' : 'no-cache',
    });
    if (req.method === 'HEAD') { res.end(); return; }
    createReadStream(file).pipe(res);
  }

  server.on('upgrade', (req, socket, head) => {
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/api') return refuse(404, 'Not Found');
    if (!hostAllowed(req)) return refuse(403, 'Forbidden');
    // A page from another site may not drive the API (the token also prevents it).
    const origin = req.headers.origin;
    if (origin !== undefined) {
      let originHost: string | null = null;
      try { originHost = new URL(origin).host; } catch { /* malformed */ }
      if (originHost !== req.headers.host) return refuse(403, 'Forbidden');
    }
    // The token normally comes in the hello message; one given in the URL must be right.
    const queryToken = url.searchParams.get('token');
    if (queryToken !== null && !tokenMatches(token, queryToken)) return refuse(401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => serveWsConnection(ws, { service: core.service, token, appInfo }));
  });

  try {
    await new Promise<void>((resolveListen, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => { server.off('error', reject); resolveListen(); });
    });
  } catch (err) {
    await core.close();
    throw err;
  }
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  const origin = `http://${urlHost}:${address.port}`;

  let closing: Promise<void> | null = null;
  return {
    url: `${origin}/#token=${token}`,
    token,
    apiUrl: `ws://${urlHost}:${address.port}/api`,
    core,
    close() {
      closing ??= (async () => {
        for (const client of wss.clients) client.close(1001, 'server closing');
        wss.close();
        const closed = new Promise<void>((r) => server.close(() => r()));
        server.closeAllConnections();
        await closed;
        await core.close();
      })();
      return closing;
    },
  };
}
