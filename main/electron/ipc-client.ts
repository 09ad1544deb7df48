// Renderer side of the Electron IPC transport, used by the preload (which hands the result
// to the page through contextBridge as window.perseus). It imports nothing from Electron:
// the preload passes ipcRenderer in, and the contract test passes a double.

import type { ApiEvent, ApiMethod, ApiParams, ApiResult, PerseusClient } from '../../core/api/contract.js';
import { errorFromWire, toPlainApiError } from '../../core/api/wire.js';
import { CALL_CHANNEL, EVENT_CHANNEL, type IpcReply } from './ipc-channels.js';

/** What of Electron's ipcRenderer this uses. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: any[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: any[]) => void): unknown;
}

/** A PerseusClient over IPC whose calls reject with ApiError (inside the preload's world). */
export function createIpcClient(ipcRenderer: IpcRendererLike): PerseusClient {
  return {
    async call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>> {
      const reply = (await ipcRenderer.invoke(CALL_CHANNEL, method, params)) as IpcReply;
      if (reply.ok) return reply.result as ApiResult<M>;
      throw errorFromWire(reply.error);
    },
    onEvent(listener: (event: ApiEvent) => void): () => void {
      // The IPC event object is not passed on: it gives the page access to ipcRenderer.
      const wrapped = (_event: unknown, apiEvent: ApiEvent) => listener(apiEvent);
      ipcRenderer.on(EVENT_CHANNEL, wrapped);
      return () => { ipcRenderer.removeListener(EVENT_CHANNEL, wrapped); };
    },
  };
}

/**
 * The object the preload exposes as window.perseus. contextBridge copies values between the
 * worlds and keeps only the message of an Error, so calls reject with a PlainApiError
 * ({name:'ApiError', code, message, issues}); `toApiError` from core/api/wire.ts restores it.
 */
export function createBridgedClient(ipcRenderer: IpcRendererLike): PerseusClient {
  const client = createIpcClient(ipcRenderer);
  return {
    call: (method, params) => client.call(method, params).catch((err: unknown) => { throw toPlainApiError(err); }),
    onEvent: (listener) => client.onEvent(listener),
  };
}
