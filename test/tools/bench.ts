// `npm run bench`: speed figures, each reported as a ratio against a reference engine
// measured in the same run.
//
//   firmware   host time from power-on to the first boot-sector instruction with our BIOS,
//              against SeaBIOS on the same emulated machine.
//   cpu-loop   a CPU-bound real-mode loop (ALU, INC/DEC, a taken branch: 5 instructions per
//              iteration) run by our interpreter and by v86's interpreter (v86-nojit) on the
//              same code, placed as a 64 KiB "BIOS" image at F000:0000 so both start it
//              straight from the reset vector.
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
import { Cpu } from '../../core/cpu/cpu.js';
import { IoBus } from '../../core/bus/io.js';
import { PhysicalMemory } from '../../core/bus/memory.js';
import type { MachineConfig } from '../../core/board/machine.js';
import { PcMachine } from '../../core/board/pc.js';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import { measurePowerOnToBootSector } from '../../core/firmware/bench.js';
import { hostClock, loadFirmware } from '../../main/run/setup.js';
import { linuxSection } from './bench-linux.js';

const V86_VERSION = process.env.V86_VERSION ?? '0.5.462';
const BENCH_DIR = process.env.PERSEUS_BENCH_DIR ?? join(tmpdir(), 'perseus-bench');
const LOOP_ITERATIONS = Number(process.env.PERSEUS_BENCH_LOOP ?? 20_000_000);
const INSTRUCTIONS_PER_ITERATION = 5;

/** The benchmark guest: a 64 KiB image whose reset vector jumps to a counted ALU loop. */
export function buildLoopImage(iterations: number): Uint8Array {
  const rom = new Uint8Array(0x10000);
  const code = [
    0x66, 0xb9, iterations & 0xff, (iterations >>> 8) & 0xff, (iterations >>> 16) & 0xff, iterations >>> 24, // mov ecx, N
    0x66, 0x31, 0xc0, // xor eax, eax
    0x66, 0xbb, 0x01, 0x00, 0x00, 0x00, // mov ebx, 1
    // loop:
    0x66, 0x01, 0xd8, // add eax, ebx
    0x66, 0x31, 0xc2, // xor edx, eax
    0x66, 0x43, // inc ebx
    0x66, 0x49, // dec ecx
    0x75, 0xf4, // jnz loop (-12)
    0xba, 0xf8, 0x03, // mov dx, 0x3f8
    0xb0, 0x44, // mov al, 'D'
    0xee, // out dx, al
    0xfa, 0xf4, // cli; hlt
    0xeb, 0xfc, // jmp $-2 (stay halted)
  ];
  rom.set(code, 0);
  rom.set([0xea, 0x00, 0x00, 0x00, 0xf0], 0xfff0); // jmp far F000:0000
  return rom;
}

interface EngineResult {
  engine: string;
  ms: number;
  instructions: number;
  mips: number;
}

export function measureOurs(image: Uint8Array, iterations: number): EngineResult {
  const memory = new PhysicalMemory(2 * 1024 * 1024, 0x10000);
  memory.mem.set(image, 0xf0000);
  memory.mapBacking(0xffff0000, 0x10000, 0xf0000, false); // the reset alias below 4 GiB
  const io = new IoBus();
  let done = false;
  io.register('bench-uart', 0x3f8, 1, { write8: () => { done = true; } });
  const cpu = new Cpu(memory, io);
  cpu.reset();
  const started = performance.now();
  let executed = 0;
  while (!done) {
    executed += cpu.run(1_000_000);
    if (cpu.halted && !done) throw new Error('bench guest halted before finishing its loop');
  }
  const ms = performance.now() - started;
  const expected = iterations * INSTRUCTIONS_PER_ITERATION;
  if (executed < expected) throw new Error(`bench guest ran ${executed} instructions, expected at least ${expected}`);
  return { engine: 'perseus', ms, instructions: executed, mips: executed / ms / 1000 };
}

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

async function measureV86(v86dir: string, image: Uint8Array, iterations: number, jit: boolean): Promise<EngineResult> {
  const { V86 } = await import(pathToFileURL(join(v86dir, 'build', 'libv86.mjs')).href);
  const buffer = image.slice().buffer;
  return new Promise((resolve, reject) => {
    let started = 0;
    const emu = new V86({
      wasm_path: join(v86dir, 'build', 'v86.wasm'),
      bios: { buffer },
      memory_size: 16 * 1024 * 1024,
      autostart: true,
      disable_jit: !jit,
    });
    const timeout = setTimeout(() => { emu.stop?.(); reject(new Error('v86 did not finish the loop in 300 s')); }, 300_000);
    emu.add_listener('emulator-started', () => {
      started = performance.now();
    });
    emu.add_listener('serial0-output-byte', () => {
      const ms = performance.now() - started;
      const instructions = iterations * INSTRUCTIONS_PER_ITERATION;
      clearTimeout(timeout);
      emu.stop?.();
      emu.destroy?.();
      resolve({ engine: jit ? 'v86' : 'v86-nojit', ms, instructions, mips: instructions / ms / 1000 });
    });
  });
}

function row(r: EngineResult, reference?: EngineResult): string {
  const ratio = reference ? ` | ${(r.ms / reference.ms).toFixed(2)}× ${reference.engine}'s time` : ' | reference';
  return `| ${r.engine.padEnd(10)} | ${r.ms.toFixed(0).padStart(7)} ms | ${r.mips.toFixed(1).padStart(7)} MIPS${ratio} |`;
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
  const image = buildLoopImage(LOOP_ITERATIONS);
  console.log(`cpu-loop: ${LOOP_ITERATIONS} iterations × ${INSTRUCTIONS_PER_ITERATION} instructions`);
  const results: EngineResult[] = [];
  const v86dir = ensureV86();
  let reference: EngineResult | undefined;
  if (v86dir) {
    reference = await measureV86(v86dir, image, LOOP_ITERATIONS, false);
    results.push(reference);
  } else {
    console.log('cpu-loop: v86 unavailable: no reference figure, ratios omitted');
  }
  // Warm-up run of ours on a short loop so the figure is steady-state, like v86's compiled wasm.
  measureOurs(buildLoopImage(1_000_000), 1_000_000);
  const ours = measureOurs(image, LOOP_ITERATIONS);
  results.push(ours);
  if (v86dir) results.push(await measureV86(v86dir, image, LOOP_ITERATIONS, true));
  console.log('| engine     |    time    |   speed      | ratio |');
  for (const r of results) console.log(row(r, r === reference ? undefined : reference));
  if (reference) {
    console.log(`cpu-loop: perseus time = ${(ours.ms / reference.ms).toFixed(2)}× v86-nojit's (target ≤ 1.0)`);
  }
  firmwareSection();
  linuxSection();
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then((code) => process.exit(code), (e) => {
    console.error(`bench: ${(e as Error).stack ?? e}`);
    process.exit(1);
  });
}
