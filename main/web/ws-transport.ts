// The API over a WebSocket: one connection per browser tab. The first message must be
// {kind:'hello', token}; anything else, or a wrong token, closes with 4401. After the welcome,
// requests dispatch into the service and every service event goes out (screen updates as
// binary frames, see core/api/wire.ts).

import { timingSafeEqual } from 'node:crypto';
import type { WebSocket } from 'ws';
import {
  API_METHODS, WS_CLOSE_UNAUTHORIZED,
  type ApiEvent, type ApiMethod, type AppInfo, type PerseusService,
  type WireEvent, type WireReply, type WireRequest, type WireWelcome,
} from '../../core/api/contract.js';
import { encodeScreenFrame, errorToWire } from '../../core/api/wire.js';

/** Above this much unsent data a client is too slow for screen updates; it gets a full frame later. */
const SCREEN_BACKLOG_BYTES = 8 * 1024 * 1024;
const HELLO_TIMEOUT_MS = 10_000;
/** A connection that does not answer a ping within this time is dead (a sleeping laptop). */
const KEEPALIVE_MS = 30_000;

/** One encoding of a screen update, shared by every connection that sends it. */
const encodedScreens = new WeakMap<object, Uint8Array>();
function encodedScreen(update: Extract<ApiEvent, { type: 'screen' }>['update']): Uint8Array {
  let bytes = encodedScreens.get(update);
  if (!bytes) encodedScreens.set(update, (bytes = encodeScreenFrame(update)));
  return bytes;
}

/** Constant-time token comparison. */
export function tokenMatches(expected: string, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(given, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface WsConnectionOptions {
  service: PerseusService;
  token: string;
  appInfo: () => Promise<AppInfo>;
}

/** Serve the API on one accepted WebSocket. */
export function serveWsConnection(ws: WebSocket, opts: WsConnectionOptions): void {
  let unsubscribe: (() => void) | null = null;
  const staleScreens = new Set<string>();

  const helloTimer = setTimeout(() => ws.close(WS_CLOSE_UNAUTHORIZED, 'no hello'), HELLO_TIMEOUT_MS);
  helloTimer.unref?.();

  let alive = true;
  ws.on('pong', () => { alive = true; });
  const keepalive = setInterval(() => {
    if (!alive) { ws.terminate(); return; }
    alive = false;
    try { ws.ping(); } catch { /* closing */ }
  }, KEEPALIVE_MS);
  keepalive.unref?.();

  ws.on('close', () => {
    clearTimeout(helloTimer);
    clearInterval(keepalive);
    unsubscribe?.();
    unsubscribe = null;
  });
  ws.on('error', () => { /* the close event follows */ });

  const sendJson = (msg: WireReply | WireEvent | WireWelcome) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  };

  const onEvent = (event: ApiEvent) => {
    if (ws.readyState !== ws.OPEN) return;
    if (event.type !== 'screen') { sendJson({ kind: 'event', event }); return; }
    const id = event.update.id;
    if (ws.bufferedAmount > SCREEN_BACKLOG_BYTES) { staleScreens.add(id); return; }
    ws.send(encodedScreen(event.update));
    if (staleScreens.size > 0) {
      // The client missed updates while it was slow: ask for whole frames now that it keeps up.
      for (const stale of staleScreens) void opts.service.handle('requestFullFrame', { id: stale }).catch(() => undefined);
      staleScreens.clear();
    }
  };

  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    let msg: { kind?: unknown; token?: unknown; seq?: unknown; method?: unknown; params?: unknown };
    try {
      msg = JSON.parse(data.toString());
    } catch {
      if (!unsubscribe) ws.close(WS_CLOSE_UNAUTHORIZED, 'expected hello');
      return;
    }
    if (!unsubscribe) {
      if (msg?.kind !== 'hello' || !tokenMatches(opts.token, msg.token)) {
        ws.close(WS_CLOSE_UNAUTHORIZED, 'unauthorized');
        return;
      }
      clearTimeout(helloTimer);
      unsubscribe = opts.service.onEvent(onEvent);
      void opts.appInfo().then((info) => sendJson({ kind: 'welcome', info }), () => ws.close(1011, 'internal error'));
      return;
    }
    if (msg?.kind !== 'request' || typeof msg.seq !== 'number') return;
    const req = msg as WireRequest;
    if (!API_METHODS.includes(req.method as ApiMethod)) {
      sendJson({ kind: 'reply', seq: req.seq, ok: false, error: { code: 'invalid', message: `unknown method ${JSON.stringify(req.method)}` } });
      return;
    }
    opts.service.handle(req.method, (req.params ?? {}) as never).then(
      (result) => sendJson({ kind: 'reply', seq: req.seq, ok: true, result: result ?? null }),
      (err: unknown) => sendJson({ kind: 'reply', seq: req.seq, ok: false, error: errorToWire(err) }),
    );
  });
}
