// The sandboxed preload: exposes exactly one thing to the page, window.perseus (a
// PerseusClient over IPC; calls reject with plain {name:'ApiError', code, message, issues},
// see createBridgedClient). Bundled by vite.preload.config.ts to dist/preload/preload.cjs,
// since sandboxed preloads cannot be ES modules.

import { contextBridge, ipcRenderer } from 'electron';
import { createBridgedClient } from './ipc-client.js';

const client = createBridgedClient(ipcRenderer);

contextBridge.exposeInMainWorld('perseus', {
  call: (method: string, params: unknown) => client.call(method as never, params as never),
  onEvent: (listener: Parameters<typeof client.onEvent>[0]) => client.onEvent(listener),
});
