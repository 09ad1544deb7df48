// The renderer's entry: get the PerseusClient (window.perseus in Electron, the WebSocket with
// the page's token in a browser) and mount the app. A refused token shows the access page.
import { mount } from 'svelte';
import { connectPerseus } from '../../core/api/connect.js';
import { toApiError } from '../../core/api/wire.js';
import App from './App.svelte';

async function start(): Promise<void> {
  const target = document.getElementById('app')!;
  try {
    const client = await connectPerseus();
    mount(App, { target, props: { client, connectError: null } });
  } catch (err) {
    const e = toApiError(err);
    mount(App, { target, props: { client: null, connectError: { code: e.code, message: e.message } } });
  }
}

void start();
