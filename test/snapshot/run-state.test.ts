// `perseus run --save-state / --load-state`: FreeDOS is booted once, a file written to its
// floppy, the state saved; two later runs continue from it (the file is there, the image is
// untouched), and a state that does not fit is refused with a clear message.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { runCommand } from '../../main/run/run.js';
import { sharedFile } from '../helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'perseus-runstate-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; err: string }> {
  let err = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  try {
    return { code: await runCommand(args), err };
  } finally {
    spy.mockRestore();
  }
}

describe('perseus run --save-state / --load-state', () => {
  it('boots once, continues twice from the saved state, refuses what does not fit', async () => {
    const src = sharedFile('guests', 'freedos722.img');
    if (!src) return;
    const img = join(dir, 'freedos.img');
    copyFileSync(src, img);
    const hash = () => createHash('sha256').update(readFileSync(img)).digest('hex');
    const before = hash();
    const state = join(dir, 'booted.state');
    const screen = join(dir, 'screen.txt');

    // Boot, then write a file on A: and save the state at exit.
    const first = await run(['--fda', img, '--deterministic', '--until', 'A:\\>', '--type', 'echo saved>KEPT.TXT\\n', '--timeout', '8', '--save-state', state]);
    expect(first.err).not.toMatch(/cannot/);
    expect(first.code).toBe(0);
    expect(hash()).toBe(before); // read-only image: the write is in the state file

    for (const round of [1, 2]) {
      const t0 = performance.now();
      const next = await run(['--fda', img, '--deterministic', '--load-state', state, '--until', 'A:\\>', '--type', 'type KEPT.TXT\\n', '--timeout', '4', '--screen-text', screen]);
      expect(next.err, `round ${round}`).toBe('');
      expect(next.code).toBe(0);
      expect(performance.now() - t0).toBeLessThan(15_000);
      // The screen continues from the saved one and the file written before the save is there.
      expect(readFileSync(screen, 'utf8')).toMatch(/A:\\>type KEPT\.TXT\s+saved/);
      expect(hash()).toBe(before);
    }

    // Another machine configuration: refused, naming the reason.
    const other = await run(['--fda', img, '--memory', '64', '--load-state', state, '--timeout', '1']);
    expect(other.code).toBe(1);
    expect(other.err).toMatch(/different machine configuration/);
    // A damaged file.
    const damaged = join(dir, 'damaged.state');
    const good = readFileSync(state);
    writeFileSync(damaged, good.subarray(0, good.length - 100));
    const bad = await run(['--fda', img, '--load-state', damaged, '--timeout', '1']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/truncated/);
    // The image changed since the save: its contents would not match the saved machine.
    utimesSync(img, new Date(), new Date(Date.now() + 5000));
    const changed = await run(['--fda', img, '--load-state', state, '--timeout', '1']);
    expect(changed.code).toBe(1);
    expect(changed.err).toMatch(/has changed since/);
  }, 120_000);
});
