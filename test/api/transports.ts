// The two transports of the API, set up for tests against a real library in a temporary data
// directory and the real hypervisor (compiled worker, fake machine):
//   - WebSocket: the real web console server and core/api/ws-client.ts over the `ws` package;
//   - Electron IPC: main/electron/ipc.ts and the preload's bridged client, connected by an
//     in-process ipcMain/ipcRenderer double that copies every value with structuredClone, as
//     Electron's IPC and contextBridge do (an Error crossing them would lose its code).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import type { ApiEvent, PerseusClient } from '../../core/api/contract.js';
import { connectWsClient } from '../../core/api/ws-client.js';
import type { HypervisorOptions } from '../../main/hypervisor/hypervisor.js';
import { registerIpc, type IpcInvokeEventLike, type IpcMainLike, type WebContentsLike } from '../../main/electron/ipc.js';
import { createBridgedClient, type IpcRendererLike } from '../../main/electron/ipc-client.js';
import { openAppCore } from '../../main/service/app.js';
import { startWebConsole } from '../../main/web/server.js';
import { FAKE_MACHINE, buildVmWorker } from '../hypervisor/worker-build.js';

export interface TransportHarness {
  name: 'web' | 'electron';
  client: PerseusClient;
  dataDir: string;
  close(): Promise<void>;
}

export function testHypervisorOptions(): HypervisorOptions {
  return {
    workerUrl: buildVmWorker(),
    machineModule: FAKE_MACHINE,
    heartbeatIntervalMs: 200,
    heartbeatTimeoutMs: 2000,
    statusIntervalMs: 40,
    frameIntervalMs: 10,
  };
}

function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'perseus-api-'));
}

export async function webTransport(): Promise<TransportHarness> {
  const dataDir = tempDataDir();
  const web = await startWebConsole({ dataDir, hypervisor: testHypervisorOptions(), rendererDir: join(dataDir, 'no-renderer') });
  const client = await connectWsClient({ url: web.apiUrl, token: web.token, createSocket: (u) => new WebSocket(u) as never });
  return {
    name: 'web',
    client,
    dataDir,
    async close() {
      client.close();
      await web.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** An in-process pair of ipcMain and ipcRenderer for one window. */
export function ipcPair(): { ipcMain: IpcMainLike; ipcRenderer: IpcRendererLike; webContents: WebContentsLike } {
  const handlers = new Map<string, (event: IpcInvokeEventLike, ...args: any[]) => unknown>();
  const rendererListeners = new Map<string, Set<(event: unknown, ...args: any[]) => void>>();
  const clone = <T>(v: T): T => structuredClone(v);
  const webContents: WebContentsLike = {
    id: 1,
    isDestroyed: () => false,
    send(channel, ...args) {
      const copied = clone(args);
      queueMicrotask(() => {
        for (const l of rendererListeners.get(channel) ?? []) l({ sender: 'ipcRenderer' }, ...copied);
      });
    },
  };
  const ipcMain: IpcMainLike = {
    handle(channel, listener) {
      if (handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
      handlers.set(channel, listener);
    },
    removeHandler(channel) { handlers.delete(channel); },
  };
  const ipcRenderer: IpcRendererLike = {
    async invoke(channel, ...args) {
      const h = handlers.get(channel);
      if (!h) throw new Error(`No handler registered for '${channel}'`);
      // Electron rejects with a generic Error when a handler throws; replies are copied.
      return clone(await h({ sender: { id: webContents.id }, senderFrame: { url: 'file:///app/index.html' } }, ...clone(args)));
    },
    on(channel, listener) {
      let set = rendererListeners.get(channel);
      if (!set) rendererListeners.set(channel, (set = new Set()));
      set.add(listener);
    },
    removeListener(channel, listener) { rendererListeners.get(channel)?.delete(listener); },
  };
  return { ipcMain, ipcRenderer, webContents };
}

/** What the page sees of window.perseus: contextBridge copies results, rejections and events. */
function throughContextBridge(client: PerseusClient): PerseusClient {
  return {
    call: (method, params) => client.call(method, structuredClone(params)).then(
      (r) => structuredClone(r),
      (e: unknown) => { throw structuredClone(e); },
    ),
    onEvent: (listener) => client.onEvent((event: ApiEvent) => listener(structuredClone(event))),
  };
}

export async function electronTransport(): Promise<TransportHarness> {
  const dataDir = tempDataDir();
  const core = openAppCore({ dataDir, transport: 'electron', hypervisor: testHypervisorOptions() });
  const { ipcMain, ipcRenderer, webContents } = ipcPair();
  const unregister = registerIpc({
    ipcMain,
    service: core.service,
    targets: () => [webContents],
    allowFrame: (url) => url.startsWith('file://'),
  });
  const client = throughContextBridge(createBridgedClient(ipcRenderer));
  return {
    name: 'electron',
    client,
    dataDir,
    async close() {
      unregister();
      await core.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
