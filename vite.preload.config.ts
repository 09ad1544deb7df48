// Bundles the Electron preload (main/electron/preload.ts and what it imports) into one
// CommonJS file, dist/preload/preload.cjs: sandboxed preloads cannot load ES modules or
// anything but `electron` and a few built-ins, so everything else is inlined.
import { builtinModules } from 'node:module';
import { defineConfig } from 'vite';

export default defineConfig({
  publicDir: false,
  build: {
    outDir: 'dist/preload',
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    sourcemap: true,
    reportCompressedSize: false,
    lib: {
      entry: 'main/electron/preload.ts',
      formats: ['cjs'],
      fileName: () => 'preload.cjs',
    },
    rollupOptions: {
      external: ['electron', ...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
    },
  },
});
