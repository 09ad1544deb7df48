// Bundles the Svelte 5 renderer (renderer/) into dist/renderer. The page is loaded from
// app://perseus/ in Electron and from the web console's HTTP server, so asset URLs are
// relative, and the strict CSP (script-src 'self') forbids inline scripts: Vite emits only
// external module scripts and the module-preload polyfill is off (Chromium has it natively).
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'renderer',
  base: './',
  publicDir: false,
  plugins: [svelte()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    target: 'chrome120',
    sourcemap: true,
    reportCompressedSize: false,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
});
