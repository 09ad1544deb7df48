// `perseus run --save-state / --load-state`: FreeDOS is booted once, a file written to its
// floppy, the state saved; two later runs continue from it (the file is there, the image is
// untouched), and a state that does not fit is refused with a clear message.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { PcMachine } from '../../core/board/pc.js';
import { StateError } from '../../core/state/vmstate.js';
import { parseRunArgs, runCommand, settingsFromOptions } from '../../main/run/run.js';
import { buildMachine } from '../../main/run/setup.js';
import { decodeSnapshotState, encodeSnapshotState, loadRunState, saveRunState, SnapshotError } from '../../main/snapshot/index.js';
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

  it('400 mutated run states (re-wrapped so the checksum passes) are refused clearly', async () => {
    const src = sharedFile('guests', 'freedos-boot-160K.img');
    if (!src) return;
    const img = join(dir, 'fuzz.img');
    copyFileSync(src, img);
    const settings = settingsFromOptions(parseRunArgs(['--fda', img, '--memory', '4']));
    const m = await buildMachine(settings, { writable: false, deterministic: true });
    m.run(2_000_000);
    const floppy = (m as PcMachine).config.floppy[0]!;
    floppy.write(4096, new Uint8Array(8192).fill(0x42)); // two overlay chunks in the file
    const file = join(dir, 'fuzz.state');
    saveRunState(m, file);
    const inner = decodeSnapshotState(readFileSync(file));
    const target = await buildMachine(settings, { writable: false, deterministic: true });
    const bad = join(dir, 'bad.state');
    let x = 0x1234567;
    const r = (n: number) => {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      return x % n;
    };
    // The drive list and section headers are in the first few hundred bytes; the chunks at the end.
    const spots = [() => r(400), () => r(inner.length), () => inner.length - 1 - r(2 * 4100)];
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const mutated = inner.slice();
      for (let k = 1 + r(4); k > 0; k--) mutated[Math.max(0, spots[i % 3]!())]! ^= 1 << r(8);
      const cut = r(10) === 0 ? mutated.subarray(0, r(mutated.length)) : mutated;
      writeFileSync(bad, encodeSnapshotState(cut));
      try {
        loadRunState(target, bad);
      } catch (e) {
        if (!(e instanceof SnapshotError) && !(e instanceof StateError)) throw new Error(`mutation ${i}: ${(e as Error).stack}`);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(120);
    // The good file still loads into the same machine afterwards.
    loadRunState(target, file);
    const back = new Uint8Array(512);
    (target as PcMachine).config.floppy[0]!.read(4096, back);
    expect(back[0]).toBe(0x42);
  }, 120_000);
});
