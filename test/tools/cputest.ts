// CPU vector runner CLI:
//   node dist/test/tools/cputest.js ss286 DIR [filter]
//   node dist/test/tools/cputest.js hwalu DIR [filter]
// Prints per-file counts, the first failures of failing files, and ends with "N passed, M failed".
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import {
  HwaluMachine, readRevocations, runHwaluFile, runSs286File, Ss286Machine, ss286Excluded, type FileResult, type Ss286Metadata,
} from '../cpu/vectors.js';

function main(argv: string[]): number {
  const [kind, dir, filter] = argv;
  if ((kind !== 'ss286' && kind !== 'hwalu') || !dir) {
    console.error('usage: cputest ss286|hwalu DIR [filter]');
    return 2;
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl.gz') && (!filter || f.startsWith(filter))).sort();
  let passed = 0, failed = 0, skipped = 0, excluded = 0;
  const report = (r: FileResult, extra = ''): void => {
    passed += r.passed;
    failed += r.failed;
    skipped += r.skipped;
    console.log(`${r.file.padEnd(14)} ${String(r.passed).padStart(5)} passed ${String(r.failed).padStart(5)} failed${r.skipped ? ` ${r.skipped} revoked` : ''}${extra}`);
    for (const f of r.failures) console.log(`    ${f}`);
  };
  if (kind === 'ss286') {
    const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8')) as Ss286Metadata;
    const revoked = readRevocations(join(dir, 'revocation_list.txt'));
    const machine = new Ss286Machine();
    for (const f of files) {
      const r = runSs286File(join(dir, f), meta, revoked, Infinity, machine);
      const why = ss286Excluded(r.file);
      if (why) {
        excluded += r.passed + r.failed;
        console.log(`${r.file.padEnd(14)} excluded (${why}): ${r.passed} would pass, ${r.failed} would fail`);
        continue;
      }
      excluded += r.excluded ?? 0;
      report(r, r.excluded ? ` (${r.excluded} excluded)` : '');
    }
    if (excluded) console.log(`${excluded} tests excluded by the P6-vs-286 list`);
  } else {
    const machine = new HwaluMachine();
    let exact = 0;
    for (const f of files) {
      const r = runHwaluFile(join(dir, f), Infinity, machine);
      exact += r.exact;
      report(r, ` (${r.exact} exact incl. undefined bits)`);
    }
    console.log(`${exact} vectors also match every undefined bit`);
  }
  if (skipped) console.log(`${skipped} revoked tests skipped`);
  console.log(`${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
