// How a UI page gets its PerseusClient, whichever way it was opened: inside the Electron app
// the preload has put one at window.perseus; in a browser (`perseus web`) the page connects to
// the web console's WebSocket with the token from its URL. Pure: browser globals only.

import { ApiError, type PerseusClient } from './contract.js';
import { apiUrlForPage, connectWsClient, tokenFromPageUrl, type WebSocketFactory } from './ws-client.js';

const TOKEN_KEY = 'perseus.token';

/** The parts of `window` this needs (tests pass their own). */
export interface PageEnvironment {
  perseus?: PerseusClient;
  location: { href: string; protocol: string; host: string; pathname: string; search: string; hash: string };
  history?: { replaceState(data: unknown, unused: string, url?: string): void };
  sessionStorage?: { getItem(key: string): string | null; setItem(key: string, value: string): void };
}

export interface ConnectOptions {
  env?: PageEnvironment;
  createSocket?: WebSocketFactory;
}

/**
 * The page's client. In a browser the token is taken from the URL (#token=...), kept in
 * sessionStorage for reloads, and removed from the address bar so it is not shown or shared.
 */
export async function connectPerseus(options: ConnectOptions = {}): Promise<PerseusClient> {
  const env = options.env ?? (globalThis as unknown as PageEnvironment);
  if (env.perseus) return env.perseus;
  const fromUrl = tokenFromPageUrl(env.location.href);
  const token = fromUrl ?? env.sessionStorage?.getItem(TOKEN_KEY) ?? null;
  if (!token) {
    throw new ApiError('unauthorized', 'no access token: open the address `perseus web` printed (it ends in #token=...)');
  }
  if (fromUrl) {
    env.sessionStorage?.setItem(TOKEN_KEY, fromUrl);
    const clean = new URL(env.location.href);
    clean.searchParams.delete('token');
    clean.hash = '';
    env.history?.replaceState(null, '', clean.pathname + clean.search);
  }
  return connectWsClient({
    url: apiUrlForPage(env.location),
    token,
    ...(options.createSocket ? { createSocket: options.createSocket } : {}),
  });
}
