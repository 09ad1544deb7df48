// Hardware-captured vectors: ss286 (real mode, 80286) and hwalu (ALU results of a real CPU).
// Both sets run completely (about 10 s); the cputest CLI prints the per-file detail.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireResource, sharedPath } from '../helpers/shared.js';
import {
  HwaluMachine, readRevocations, runHwaluFile, runSs286File, Ss286Machine, ss286Excluded, SS286_EXCLUSIONS, type Ss286Metadata,
} from './vectors.js';

const ss286Dir = sharedPath('cputests', 'ss286');
const hwaluDir = sharedPath('cputests', 'hwalu');

describe('ss286 real-mode vectors', () => {
  it('pass at least 99.5% of the non-revoked, non-excluded tests', (ctx) => {
    if (!requireResource('../shared/cputests/ss286', ss286Dir !== null)) return ctx.skip();
    const dir = ss286Dir!;
    const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')) as Ss286Metadata;
    const revoked = readRevocations(join(dir, 'revocation_list.txt'));
    const machine = new Ss286Machine();
    let passed = 0, failed = 0, excluded = 0;
    const bad: string[] = [];
    const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl.gz'));
    expect(files.length).toBe(325);
    for (const f of files) {
      if (ss286Excluded(f.replace('.jsonl.gz', ''))) continue;
      const r = runSs286File(join(dir, f), meta, revoked, Infinity, machine);
      passed += r.passed;
      failed += r.failed;
      excluded += r.excluded ?? 0;
      if (r.failed) bad.push(`${r.file}: ${r.failures[0]}`);
    }
    const rate = passed / (passed + failed);
    if (rate < 0.995) console.log(bad.slice(0, 20).join('\n'));
    expect(passed + failed).toBeGreaterThan(300_000);
    expect(rate).toBeGreaterThanOrEqual(0.995);
    // Exclusions must stay a small, explained minority.
    expect(excluded).toBeLessThan(12_000);
    expect(SS286_EXCLUSIONS.every((e) => e.reason.length > 10)).toBe(true);
  });
});

describe('hwalu ALU vectors', () => {
  it('match every defined result and flag bit', (ctx) => {
    if (!requireResource('../shared/cputests/hwalu', hwaluDir !== null)) return ctx.skip();
    const dir = hwaluDir!;
    const machine = new HwaluMachine();
    let passed = 0, failed = 0;
    const bad: string[] = [];
    const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl.gz'));
    expect(files.length).toBe(183);
    for (const f of files) {
      const r = runHwaluFile(join(dir, f), Infinity, machine);
      passed += r.passed;
      failed += r.failed;
      if (r.failed) bad.push(`${r.file}: ${r.failures[0]}`);
    }
    expect(bad).toEqual([]);
    expect(failed).toBe(0);
    expect(passed).toBe(366_000);
  });
});
