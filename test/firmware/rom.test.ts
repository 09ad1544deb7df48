// The ROM image: conventional entry points, and resources/firmware/ holds only what the build
// produces from the repo's sources.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENTRY, ROM_SIZE, TRAP_PORT, buildBiosRom } from '../../core/firmware/rom.js';
import { REPO_ROOT } from '../helpers/shared.js';

describe('Perseus BIOS ROM layout', () => {
  const { image, traps } = buildBiosRom();

  it('is 64 KiB with the reset jump, date and model byte where PC software looks', () => {
    expect(image.length).toBe(ROM_SIZE);
    expect([...image.subarray(0xfff0, 0xfff5)]).toEqual([0xea, 0x5b, 0xe0, 0x00, 0xf0]);
    expect(String.fromCharCode(...image.subarray(0xfff5, 0xfffd))).toMatch(/^\d\d\/\d\d\/\d\d$/);
    expect(image[0xfffe]).toBe(0xfc);
  });

  it('every service entry point traps through the port, and the trap addresses are unique', () => {
    for (const name of ['int10', 'int11', 'int12', 'int13', 'int14', 'int15', 'int16', 'int17', 'int1a', 'int08', 'int09'] as const) {
      const at = ENTRY[name];
      expect([image[at], image[at + 1]], name).toEqual([0xe6, TRAP_PORT]);
      expect(traps.get(at + 2)).toBe(name);
    }
    expect(image[ENTRY.iret]).toBe(0xcf);
    expect(image[ENTRY.int19]).toBe(0xe9); // near jump to the INT 19h stub
    expect(new Set(traps.keys()).size).toBe(traps.size);
  });
});

describe('resources/firmware is build output only', () => {
  it('the build script reproduces every file there byte for byte from the sources', () => {
    const compiled = join(REPO_ROOT, 'dist', 'core', 'firmware', 'rom.js');
    const srcDir = join(REPO_ROOT, 'core', 'firmware');
    const stale = !existsSync(compiled) || readdirSync(srcDir).some((f) => f.endsWith('.ts') && statSync(join(srcDir, f)).mtimeMs > statSync(compiled).mtimeMs);
    if (stale) {
      const r = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT });
      expect(existsSync(compiled), String(r.stderr)).toBe(true);
      // What `npm run build` does after tsc (vitest was run without building first).
      const b = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-firmware.mjs')], { encoding: 'utf8' });
      expect(b.status, b.stderr).toBe(0);
    }
    const out = mkdtempSync(join(tmpdir(), 'perseus-fw-'));
    try {
      const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-firmware.mjs'), out], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const built = readdirSync(out).sort();
      expect(built).toEqual(['perseus-bios.bin']);
      expect(new Uint8Array(readFileSync(join(out, 'perseus-bios.bin')))).toEqual(buildBiosRom().image);
      const dir = join(REPO_ROOT, 'resources', 'firmware');
      if (existsSync(dir)) {
        for (const f of readdirSync(dir)) {
          if (f === '.gitignore') continue;
          expect(built, `unexpected file resources/firmware/${f}`).toContain(f);
          expect(new Uint8Array(readFileSync(join(dir, f))), f).toEqual(new Uint8Array(readFileSync(join(out, f))));
        }
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
