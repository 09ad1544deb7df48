#!/usr/bin/env node
// Builds the Perseus BIOS ROM from the repo's sources (core/firmware/rom.ts, compiled by tsc to
// dist/core/firmware/rom.js) into resources/firmware/perseus-bios.bin.
//   node scripts/build-firmware.mjs [OUT_DIR]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(process.argv[2] ?? join(root, 'resources', 'firmware'));
const { buildBiosRom } = await import(pathToFileURL(join(root, 'dist', 'core', 'firmware', 'rom.js')).href);
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'perseus-bios.bin'), buildBiosRom().image);
