// `perseus run` through runCommand: argument handling, --until / --timeout exit codes,
// --screen-text and a valid PNG from --screenshot.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it, vi } from 'vitest';
import { parseRunArgs, runCommand, settingsFromOptions } from '../../main/run/run.js';
import { sharedFile } from '../helpers/shared.js';
import { seabiosAvailable } from './board-helpers.js';

function quiet<T>(fn: () => Promise<T>): Promise<{ result: T; stderr: string }> {
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => { stderr += String(c); return true; });
  return fn().then((result) => { spy.mockRestore(); return { result, stderr }; }, (e) => { spy.mockRestore(); throw e; });
}

describe('perseus run', () => {
  it('parses options into VM settings and rejects bad ones with exit code 2', async () => {
    const s = settingsFromOptions(parseRunArgs(['--fda', 'a.img', '--cdrom', 'x.iso', '--memory', '64', '--nic', 'ne2k-isa']));
    expect(s.bootOrder).toBe('a');
    expect(s.ide.secondaryMaster).toEqual({ kind: 'cdrom', path: 'x.iso' });
    expect(s.memoryMiB).toBe(64);
    expect(s.nic.model).toBe('ne2k-isa');
    expect((await quiet(() => runCommand(['--bogus']))).result).toBe(2);
    expect((await quiet(() => runCommand(['--memory', 'lots']))).result).toBe(2);
    expect((await quiet(() => runCommand(['--hdc', 'a', '--cdrom', 'b']))).result).toBe(2);
    const missing = await quiet(() => runCommand(['--firmware', '/nonexistent/perseus-bios.bin', '--timeout', '5']));
    expect(missing.result).toBe(1);
    expect(missing.stderr).toMatch(/cannot read BIOS image \/nonexistent\/perseus-bios\.bin/);
  });

  it('boots with the project\'s own firmware (--firmware builtin) to a guest marker', async () => {
    const img = sharedFile('guests', 'mikeos-4.6.1.flp');
    if (!img) return;
    const ok = await quiet(() => runCommand(['--fda', img, '--firmware', 'builtin', '--deterministic', '--until', 'Thanks for trying out MikeOS!', '--timeout', '60']));
    expect(ok.result).toBe(0);
  });

  it('--until matches the screen (exit 0), writes text and a PNG; --timeout names what it waited for', async () => {
    if (!seabiosAvailable()) return;
    const img = sharedFile('guests', 'mikeos-4.6.1.flp');
    if (!img) return;
    const dir = mkdtempSync(join(tmpdir(), 'perseus-run-'));
    const png = join(dir, 'shot.png');
    const txt = join(dir, 'screen.txt');
    const ok = await quiet(() => runCommand(['--fda', img, '--deterministic', '--until', 'Thanks for trying out MikeOS!', '--timeout', '60', '--screenshot', png, '--screen-text', txt, '--stats']));
    expect(ok.result).toBe(0);
    expect(ok.stderr).toMatch(/ANCHOR-STAT event=started t_ms=\d+ instr=0/);
    expect(readFileSync(txt, 'utf8')).toContain('Welcome to MikeOS');
    const file = readFileSync(png);
    expect(file.subarray(1, 4).toString()).toBe('PNG');
    const width = file.readUInt32BE(16), height = file.readUInt32BE(20);
    expect([width, height]).toEqual([720, 400]);
    const idatLen = file.readUInt32BE(33);
    const raw = inflateSync(file.subarray(41, 41 + idatLen));
    expect(raw.length).toBe(height * (width * 4 + 1));
    const late = await quiet(() => runCommand(['--fda', img, '--deterministic', '--until', 'NEVER-SHOWN', '--timeout', '2']));
    expect(late.result).toBe(1);
    expect(late.stderr).toContain('waiting for "NEVER-SHOWN"');
  });
});
