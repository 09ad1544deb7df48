// Main-process side of the Electron IPC transport: one invoke handler dispatching into the
// service, and every service event sent to the window's renderer. Written against the few
// Electron calls it uses, so the contract test can drive it with an in-process double.

import { API_METHODS, type ApiEvent, type ApiMethod, type PerseusService } from '../../core/api/contract.js';
import { errorToWire } from '../../core/api/wire.js';
import { CALL_CHANNEL, EVENT_CHANNEL, type IpcReply } from './ipc-channels.js';

/** What of Electron's ipcMain this uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcInvokeEventLike, ...args: any[]) => Promise<unknown> | unknown): void;
  removeHandler(channel: string): void;
}

export interface IpcInvokeEventLike {
  sender: { id: number };
  senderFrame?: { url: string } | null;
}

/** What of a WebContents this uses. */
export interface WebContentsLike {
  readonly id: number;
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
}

export interface IpcBridgeOptions {
  ipcMain: IpcMainLike;
  service: PerseusService;
  /** The renderers that may call the API and receive its events (the app's windows). */
  targets: () => WebContentsLike[];
  /** Further check of a caller's frame (e.g. its URL is the app's own page). */
  allowFrame?: (url: string) => boolean;
}

/** Connect the service to Electron IPC; returns a function that disconnects it. */
export function registerIpc(opts: IpcBridgeOptions): () => void {
  const { ipcMain, service } = opts;
  ipcMain.handle(CALL_CHANNEL, async (event, method: unknown, params: unknown): Promise<IpcReply> => {
    const trusted = opts.targets().some((wc) => wc.id === event.sender.id)
      && (!opts.allowFrame || (event.senderFrame != null && opts.allowFrame(event.senderFrame.url)));
    if (!trusted) return { ok: false, error: { code: 'unauthorized', message: 'this page may not use the Perseus API' } };
    if (typeof method !== 'string' || !API_METHODS.includes(method as ApiMethod)) {
      return { ok: false, error: { code: 'invalid', message: `unknown method ${JSON.stringify(method)}` } };
    }
    try {
      const result = await service.handle(method as ApiMethod, (params ?? {}) as never);
      return { ok: true, result: result ?? null };
    } catch (err) {
      return { ok: false, error: errorToWire(err) };
    }
  });
  const unsubscribe = service.onEvent((event: ApiEvent) => {
    for (const wc of opts.targets()) {
      if (!wc.isDestroyed()) wc.send(EVENT_CHANNEL, event);
    }
  });
  return () => {
    unsubscribe();
    ipcMain.removeHandler(CALL_CHANNEL);
  };
}
