// Channel names of the Electron IPC transport, shared by main (ipc.ts) and the preload.

/** ipcRenderer.invoke(CALL_CHANNEL, method, params) → IpcReply. */
export const CALL_CHANNEL = 'perseus:call';
/** webContents.send(EVENT_CHANNEL, ApiEvent). */
export const EVENT_CHANNEL = 'perseus:event';

/**
 * Electron turns an exception thrown by an ipcMain handler into a generic Error in the
 * renderer (the code and issues are lost), so the handler answers with a result or an error
 * object instead, and the client rethrows it as an ApiError.
 */
export type IpcReply =
  | { ok: true; result: unknown }
  | { ok: false; error: { code: string; message: string; issues?: { field: string; message: string }[] } };
