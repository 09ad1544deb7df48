// `npm run bench`: speed figures, each reported as a ratio against a reference engine
// measured in the same run.
//
//   firmware   host time from power-on to the first boot-sector instruction with our BIOS,
//              against SeaBIOS on the same emulated machine.
//   cpu loops  the images of test/tools/cpubench.ts (a real-mode ALU loop, and a 32-bit paged
//              protected-mode SHA-256-style loop resembling the shared W2 workload) run by our
//              interpreter and by v86's interpreter (v86-nojit), each placed as a 64 KiB
//              "BIOS" image at F000:0000 so both start it straight from the reset vector.
//              Ratios are given for wall time and for process CPU time; the machine is
//              shared, so the CPU-time ratio is the steadier one. `npm run bench -- cpu`
//              runs only these.
//   console-fps frames per second the browser UI draws at 800×600 while KolibriOS redraws,
//              against the raw WebSocket screen-update rate in the same run (bench-ui.ts).
//   snapshot   live snapshot take and revert of a running 128 MiB FreeDOS guest against
//              QEMU TCG's savevm/loadvm of the same guest (bench-snapshot.ts).
//
// v86 is a comparison tool, never a run-time dependency: it is installed on demand under
// $PERSEUS_BENCH_DIR (default $TMPDIR/perseus-bench) with `npm install v86@0.5.462`,
// like ../shared/bench/setup-v86.sh does.
//
// The shared Linux benchmark (W1 boot, W2 compute) runs through ../shared/bench/bench.mjs with
// `--custom 'perseus=node main/cli/perseus.mjs run ...'` once the platform boots Linux.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { MachineConfig } from '../../core/board/machine.js';
import { PcMachine } from '../../core/board/pc.js';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import { measurePowerOnToBootSector } from '../../core/firmware/bench.js';
import { hostClock, loadFirmware } from '../../main/run/setup.js';
import { linuxSection } from './bench-linux.js';
import { measureConsoleFps } from './bench-ui.js';
import { networkSection } from './bench-net.js';
import { snapshotSection } from './bench-snapshot.js';
import { cpuTimeMs, type EngineResult, type LoopImage, measureOurs, pm32LoopImage, realModeLoopImage } from './cpubench.js';

const V86_VERSION = process.env.V86_VERSION ?? '0.5.462';
const BENCH_DIR = process.env.PERSEUS_BENCH_DIR ?? join(tmpdir(), 'perseus-bench');
const LOOP_ITERATIONS = Number(process.env.PERSEUS_BENCH_LOOP ?? 20_000_000);
/** The pm32 loop has 22 instructions per iteration: about as many instructions in all. */
const PM32_ITERATIONS = Math.round(LOOP_ITERATIONS * 5 / 22);

function ensureV86(): string | null {
  const dir = join(BENCH_DIR, 'npm');
  const lib = join(dir, 'node_modules', 'v86', 'build', 'libv86.mjs');
  if (existsSync(lib)) return join(dir, 'node_modules', 'v86');
  try {
    mkdirSync(dir, { recursive: true });
    if (!existsSync(join(dir, 'package.json'))) writeFileSync(join(dir, 'package.json'), '{"name":"perseus-bench-v86","private":true}');
    console.error(`bench: installing v86@${V86_VERSION} under ${dir} (reference engine, comparison only)`);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `v86@${V86_VERSION}`], { cwd: dir, stdio: 'inherit' });
  } catch (e) {
    console.error(`bench: could not install v86: ${(e as Error).message}`);
    return null;
  }
  return existsSync(lib) ? join(dir, 'node_modules', 'v86') : null;
}

async function measureV86(v86dir: string, image: LoopImage, jit: boolean): Promise<EngineResult> {
  const { V86 } = await import(pathToFileURL(join(v86dir, 'build', 'libv86.mjs')).href);
  const buffer = image.rom.slice().buffer;
  return new Promise((resolve, reject) => {
    let started = 0, cpuStarted = 0;
    const emu = new V86({
      wasm_path: join(v86dir, 'build', 'v86.wasm'),
      bios: { buffer },
      memory_size: 16 * 1024 * 1024,
      autostart: true,
      disable_jit: !jit,
    });
    const timeout = setTimeout(() => { emu.stop?.(); reject(new Error(`v86 did not finish the ${image.name} in 300 s`)); }, 300_000);
    emu.add_listener('emulator-started', () => {
      started = performance.now();
      cpuStarted = cpuTimeMs();
    });
    emu.add_listener('serial0-output-byte', () => {
      const ms = performance.now() - started;
      const cpuMs = cpuTimeMs() - cpuStarted;
      clearTimeout(timeout);
      emu.stop?.();
      emu.destroy?.();
      resolve({ engine: jit ? 'v86' : 'v86-nojit', ms, cpuMs, instructions: image.instructions, mips: image.instructions / cpuMs / 1000 });
    });
  });
}

function row(r: EngineResult, reference?: EngineResult): string {
  const ratio = reference
    ? ` | ${(r.cpuMs / reference.cpuMs).toFixed(2)}× (wall ${(r.ms / reference.ms).toFixed(2)}×) ${reference.engine}'s time`
    : ' | reference';
  return `| ${r.engine.padEnd(10)} | ${r.cpuMs.toFixed(0).padStart(7)} ms | ${r.ms.toFixed(0).padStart(7)} ms | ${r.mips.toFixed(1).padStart(7)} MIPS${ratio} |`;
}

/** One loop image on v86-nojit, ours and v86 (JIT); prints the table and our ratio. */
async function loopSection(v86dir: string | null, image: LoopImage, warmUp: LoopImage): Promise<void> {
  console.log('');
  console.log(`${image.name}: ${image.instructions} instructions`);
  const results: EngineResult[] = [];
  let reference: EngineResult | undefined;
  if (v86dir) {
    reference = await measureV86(v86dir, image, false);
    results.push(reference);
  } else {
    console.log(`${image.name}: v86 unavailable: no reference figure, ratios omitted`);
  }
  // Warm-up run of ours on a short loop so the figure is steady-state, like v86's compiled wasm.
  measureOurs(warmUp);
  const ours = measureOurs(image);
  results.push(ours);
  if (v86dir) results.push(await measureV86(v86dir, image, true));
  console.log('| engine     | CPU time   | wall time  | speed (CPU)  | ratio |');
  for (const r of results) console.log(row(r, r === reference ? undefined : reference));
  if (reference) {
    console.log(`${image.name}: perseus time = ${(ours.cpuMs / reference.cpuMs).toFixed(2)}× v86-nojit's CPU time, ` +
      `${(ours.ms / reference.ms).toFixed(2)}× its wall time (target ≤ 1.0)`);
  }
}

/** A 1.44 MB floppy whose boot sector just halts: enough to time power-on → boot sector. */
function bootFloppyConfig(): MachineConfig {
  const image = new Uint8Array(1474560);
  image.set([0xfa, 0xf4, 0xeb, 0xfd], 0); // cli; hlt; jmp $-1
  image[510] = 0x55;
  image[511] = 0xaa;
  return {
    memoryMiB: 32, cpuModel: 'pentium2', biosRom: new Uint8Array(0), vgaRom: null, bootOrder: 'a',
    floppy: [new MemoryBlockDevice(image, true), null], ide: [null, null, null, null],
    nic: { model: 'none', backend: null }, serial: [], clock: hostClock(true), deterministic: true, log: () => {},
  };
}

/** The same measurement with SeaBIOS (the reference firmware), in 1000-instruction steps. */
function measureSeabiosToBootSector(): { hostMs: number; instructions: number } | null {
  let fw;
  try { fw = loadFirmware('seabios'); } catch { return null; }
  const started = performance.now();
  const m = new PcMachine({ ...bootFloppyConfig(), biosRom: fw.bios, vgaRom: fw.vga });
  while (m.instructionCount < 2e9 && !m.poweredOff) {
    m.run(1000);
    if (m.cpu.segSel[1] === 0 && m.cpu.eip >= 0x7c00 && m.cpu.eip < 0x7c10) {
      return { hostMs: performance.now() - started, instructions: m.instructionCount };
    }
  }
  return null;
}

function firmwareSection(): void {
  const ours = measurePowerOnToBootSector(bootFloppyConfig());
  const reference = measureSeabiosToBootSector();
  console.log('');
  console.log('power-on → first boot-sector instruction (host time, same machine model, floppy boot)');
  console.log(`| perseus builtin | ${ours.hostMs.toFixed(1).padStart(8)} ms | ${ours.instructions} instructions | target < 200 ms |`);
  if (reference) {
    console.log(`| SeaBIOS         | ${reference.hostMs.toFixed(1).padStart(8)} ms | ${reference.instructions} instructions | reference |`);
    console.log(`firmware: builtin time = ${(ours.hostMs / reference.hostMs).toFixed(3)}× SeaBIOS's on our machine`);
  } else {
    console.log('firmware: SeaBIOS not installed (apt-get install seabios): no reference figure');
  }
}

async function main(): Promise<number> {
  const v86dir = ensureV86();
  await loopSection(v86dir, realModeLoopImage(LOOP_ITERATIONS), realModeLoopImage(1_000_000));
  await loopSection(v86dir, pm32LoopImage(PM32_ITERATIONS), pm32LoopImage(200_000));
  if (process.argv[2] === 'cpu') return 0; // `npm run bench -- cpu`: the CPU loops only
  firmwareSection();
  linuxSection();
  try {
    await measureConsoleFps();
  } catch (e) {
    console.log(`console-fps: failed: ${(e as Error).message}`);
  }
  await networkSection();
  await snapshotSection();
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then((code) => process.exit(code), (e) => {
    console.error(`bench: ${(e as Error).stack ?? e}`);
    process.exit(1);
  });
}
