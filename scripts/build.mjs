#!/usr/bin/env node
// One build for everything `npm start`, `npx perseus` and the tests need:
//   1. tsc emits main/, core/ and test/tools/ to dist/ (Node ESM),
//   2. scripts/build-firmware.mjs (if present) produces resources/firmware/,
//   3. Vite bundles the Svelte renderer (dist/renderer) and the sandboxed preload (dist/preload).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

function run(label, cmd, args) {
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  if (r.status !== 0) {
    console.error(`build: ${label} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
  if (process.env.PERSEUS_BUILD_VERBOSE) console.error(`build: ${label} ${Date.now() - started} ms`);
}

if (!existsSync(bin('tsc'))) {
  console.error('build: node_modules is missing; run `npm install` first');
  process.exit(1);
}
run('tsc', bin('tsc'), ['-p', 'tsconfig.build.json']);
if (existsSync(join(root, 'scripts', 'build-firmware.mjs'))) {
  run('firmware', process.execPath, [join(root, 'scripts', 'build-firmware.mjs')]);
}
if (existsSync(join(root, 'vite.renderer.config.ts'))) {
  run('renderer', bin('vite'), ['build', '--config', 'vite.renderer.config.ts', '--logLevel', 'warn']);
}
if (existsSync(join(root, 'vite.preload.config.ts'))) {
  run('preload', bin('vite'), ['build', '--config', 'vite.preload.config.ts', '--logLevel', 'warn']);
}
