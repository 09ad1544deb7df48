// `npm run bench`, Linux section: the shared benchmark (../shared/bench/bench.mjs) boots its
// Debian guest under v86's interpreter (v86-nojit, the reference) and under `perseus run` in
// the same run: W1 (firmware → ANCHOR-BOOT-OK) and W2 (32 MiB sha256 in the guest).
//
// The guest is built from Debian packages by ../shared/bench/build-guest.sh (root, apt) into
// $ANCHORS_WORK (default $TMPDIR/perseus-bench); v86 by setup-v86.sh. When either is missing
// the section says how to get it and is skipped: it never downloads anything by itself.
//   PERSEUS_BENCH_LINUX=0          skip the section
//   PERSEUS_BENCH_LINUX_ENGINES    reference engines (default v86-nojit; e.g. v86-nojit,v86,qemu-tcg)
//   PERSEUS_BENCH_FIRMWARE         our firmware for the run (default seabios, like the references)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this file with a package.json (src or dist). */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

interface SummaryRow {
  engine: string;
  workload: string;
  runs?: number;
  failed?: string;
  boot_s?: number[];
  w2_compute_s?: number[];
}

const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};

export function linuxSection(): void {
  const root = repoRoot();
  console.log('');
  console.log('linux: the shared benchmark (../shared/bench), W1 boot and W2 compute, same run');
  if (process.env.PERSEUS_BENCH_LINUX === '0') {
    console.log('linux: skipped (PERSEUS_BENCH_LINUX=0)');
    return;
  }
  const sharedBench = resolve(root, '..', 'shared', 'bench');
  const work = process.env.ANCHORS_WORK ?? join(process.env.TMPDIR ?? '/tmp', 'perseus-bench');
  if (!existsSync(join(sharedBench, 'bench.mjs'))) {
    console.log(`linux: ${sharedBench}/bench.mjs not found: skipped`);
    return;
  }
  if (!existsSync(join(work, 'guest', 'w2.iso')) || !existsSync(join(work, 'npm', 'node_modules', 'v86'))) {
    console.log(`linux: the benchmark guest or v86 is not built under ${work}: run (as root)`);
    console.log(`       bash ${sharedBench}/build-guest.sh && bash ${sharedBench}/setup-v86.sh`);
    return;
  }
  const engines = process.env.PERSEUS_BENCH_LINUX_ENGINES ?? 'v86-nojit';
  const firmware = process.env.PERSEUS_BENCH_FIRMWARE ?? 'seabios';
  const cli = join(root, 'main', 'cli', 'perseus.mjs');
  const ours = `perseus=${process.execPath} ${cli} run --firmware ${firmware} --memory 128 --cdrom {iso} --boot d --serial stdio --stats`;
  const json = join(mkdtempSync(join(tmpdir(), 'perseus-bench-linux-')), 'results.json');
  const r = spawnSync(process.execPath, [
    join(sharedBench, 'bench.mjs'), '--engines', engines, '--workloads', 'w1,w2', '--runs', '1', '--warmup', '0',
    '--timeout', '900', '--json', json, '--custom', ours,
  ], { stdio: 'inherit', env: { ...process.env, ANCHORS_WORK: work } });
  if (r.status !== 0 || !existsSync(json)) {
    console.log(`linux: bench.mjs failed (exit ${r.status ?? r.signal})`);
    return;
  }
  const summary = (JSON.parse(readFileSync(json, 'utf8')) as { summary: SummaryRow[] }).summary;
  const cell = (engine: string, workload: string, key: 'boot_s' | 'w2_compute_s'): number => {
    const row = summary.find((s) => s.engine === engine && s.workload === workload);
    return row && row.runs ? median(row[key] ?? []) : NaN;
  };
  const ref = engines.split(',')[0];
  const figures: [string, string, 'boot_s' | 'w2_compute_s'][] = [['W1 boot', 'w1', 'boot_s'], ['W2 compute', 'w2', 'w2_compute_s']];
  for (const [label, w, key] of figures) {
    const a = cell('perseus', w, key), b = cell(ref, w, key);
    const ratio = Number.isFinite(a) && Number.isFinite(b) ? `${(a / b).toFixed(2)}× ${ref}'s time` : 'no ratio (a run failed)';
    console.log(`linux: ${label}: perseus ${a.toFixed(1)} s, ${ref} ${b.toFixed(1)} s → ${ratio}`);
  }
}
