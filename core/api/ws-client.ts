// The PerseusClient over a WebSocket (the web console's transport). Pure: it uses the
// browser's WebSocket by default; tests pass the `ws` package's client, which has the same API.
//
// Protocol: the client sends {kind:'hello', token} first; the server answers {kind:'welcome'}
// or closes with 4401. Then JSON requests/replies by sequence number, JSON events, and screen
// updates as binary frames (see wire.ts).

import {
  ApiError, WS_CLOSE_UNAUTHORIZED,
  type ApiEvent, type ApiMethod, type ApiParams, type ApiResult, type AppInfo, type PerseusClient,
  type WireEvent, type WireHello, type WireReply, type WireRequest, type WireWelcome,
} from './contract.js';
import { decodeScreenFrame, errorFromWire, isScreenFrame } from './wire.js';

/** The part of the WebSocket API this client needs (browser WebSocket and `ws` both fit). */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: any) => void) | null;
}

export type WebSocketFactory = (url: string) => WebSocketLike;

export interface WsClient extends PerseusClient {
  readonly info: AppInfo;
  close(): void;
  /** Resolves when the connection has closed (by either side). */
  readonly closed: Promise<{ code: number; reason: string }>;
}

export interface WsClientOptions {
  /** ws:// or wss:// URL of the API endpoint, e.g. ws://127.0.0.1:8080/api. */
  url: string;
  token: string;
  /** Defaults to the global WebSocket (browsers). */
  createSocket?: WebSocketFactory;
}

/** The WebSocket URL of the API for a page served by the web console. */
export function apiUrlForPage(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api`;
}

/** The access token from a page URL's fragment (#token=...) or query (?token=...). */
export function tokenFromPageUrl(href: string): string | null {
  const url = new URL(href);
  const fromHash = new URLSearchParams(url.hash.replace(/^#/, '')).get('token');
  return fromHash ?? url.searchParams.get('token');
}

export function connectWsClient(options: WsClientOptions): Promise<WsClient> {
  const create: WebSocketFactory = options.createSocket
    ?? ((url) => new (globalThis as unknown as { WebSocket: new (u: string) => WebSocketLike }).WebSocket(url));
  const socket = create(options.url);
  socket.binaryType = 'arraybuffer';

  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: unknown) => void }>();
  const listeners = new Set<(event: ApiEvent) => void>();
  let nextSeq = 1;
  let welcomed = false;
  let closedInfo: { code: number; reason: string } | null = null;
  let resolveClosed!: (v: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => { resolveClosed = r; });

  const emit = (event: ApiEvent) => {
    for (const l of [...listeners]) {
      try { l(event); } catch (err) { console.error('perseus: event listener failed', err); }
    }
  };

  return new Promise<WsClient>((resolve, reject) => {
    socket.onopen = () => {
      const hello: WireHello = { kind: 'hello', token: options.token };
      socket.send(JSON.stringify(hello));
    };
    socket.onerror = () => { /* the close event that follows carries the outcome */ };
    socket.onclose = (ev) => {
      closedInfo = { code: ev.code, reason: ev.reason };
      const err = ev.code === WS_CLOSE_UNAUTHORIZED
        ? new ApiError('unauthorized', `the web console refused the access token (${ev.reason || 'unauthorized'})`)
        : new ApiError('internal', `connection closed (${ev.code}${ev.reason ? ': ' + ev.reason : ''})`);
      for (const p of pending.values()) p.reject(err);
      pending.clear();
      if (!welcomed) reject(err);
      resolveClosed(closedInfo);
    };
    socket.onmessage = (ev) => {
      const data = ev.data;
      if (typeof data !== 'string') {
        const bytes = data instanceof ArrayBuffer ? new Uint8Array(data)
          : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : null;
        if (bytes && isScreenFrame(bytes)) emit({ type: 'screen', update: decodeScreenFrame(bytes) });
        return;
      }
      let msg: WireReply | WireEvent | WireWelcome;
      try { msg = JSON.parse(data); } catch { return; }
      if (msg.kind === 'welcome' && !welcomed) {
        welcomed = true;
        resolve(client(msg.info));
      } else if (msg.kind === 'reply') {
        const p = pending.get(msg.seq);
        if (!p) return;
        pending.delete(msg.seq);
        if (msg.ok) p.resolve(msg.result);
        else p.reject(errorFromWire(msg.error));
      } else if (msg.kind === 'event') {
        emit(msg.event);
      }
    };
  });

  function client(info: AppInfo): WsClient {
    return {
      info,
      closed,
      call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>> {
        if (closedInfo) return Promise.reject(new ApiError('internal', 'connection closed'));
        const seq = nextSeq++;
        const req: WireRequest = { kind: 'request', seq, method, params };
        return new Promise<ApiResult<M>>((resolve, reject) => {
          pending.set(seq, { resolve, reject });
          socket.send(JSON.stringify(req));
        });
      },
      onEvent(listener) {
        listeners.add(listener);
        return () => { listeners.delete(listener); };
      },
      close() { socket.close(1000, 'client closed'); },
    };
  }
}
