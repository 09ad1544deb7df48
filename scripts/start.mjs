#!/usr/bin/env node
// `npm start`: build, then launch the desktop app in Electron.
//
// better-sqlite3 is a native module: `npm install` builds it for Node (the CLI, the web
// console and the tests use that build). Electron has its own ABI, so the first start builds a
// second copy of the module for the installed Electron version under
// node_modules/.perseus-electron/<version>/ and hands its path to the library through
// PERSEUS_SQLITE_BINDING. Packaged apps don't need this: electron-builder rebuilds native
// modules for Electron itself.
import { spawnSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  return r.status === 0;
}

if (!run(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root })) process.exit(1);

const electronVersion = JSON.parse(readFileSync(join(root, 'node_modules', 'electron', 'package.json'), 'utf8')).version;
const nativeDir = join(root, 'node_modules', '.perseus-electron', electronVersion, 'better-sqlite3');
const binding = join(nativeDir, 'build', 'Release', 'better_sqlite3.node');
if (!existsSync(binding)) {
  console.error(`start: building better-sqlite3 for Electron ${electronVersion} (first start only)`);
  rmSync(nativeDir, { recursive: true, force: true });
  mkdirSync(nativeDir, { recursive: true });
  cpSync(join(root, 'node_modules', 'better-sqlite3'), nativeDir, {
    recursive: true,
    filter: (src) => !src.includes(`${join('better-sqlite3', 'build')}`),
  });
  const target = ['--runtime=electron', `--target=${electronVersion}`, '--dist-url=https://electronjs.org/headers'];
  const ok =
    run(bin('prebuild-install'), ['--runtime', 'electron', '--target', electronVersion], { cwd: nativeDir }) ||
    run(bin('node-gyp'), ['rebuild', '--release', ...target], { cwd: nativeDir });
  if (!ok || !existsSync(binding)) {
    console.error('start: could not build better-sqlite3 for Electron; see the output above');
    process.exit(1);
  }
}

const child = spawn(bin('electron'), [root, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, PERSEUS_SQLITE_BINDING: binding },
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
