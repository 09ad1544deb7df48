// `npm run bench`, snapshot section: live snapshot take and revert of a running 128 MiB guest
// (FreeDOS 7.22 from ../shared/guests booted to A:\>, one 64 MiB IDE disk), target < 1 s
// each, against QEMU in the same run on the same guest:
//   ours       SnapshotStore.take / revert with the running machine (state file with RAM,
//              deflated, fsynced; qcow2 overlay on the disk; thumbnail; SQLite row)
//   reference  qemu-system-i386 (TCG) `savevm` / `loadvm` through its monitor on stdio: an
//              internal qcow2 snapshot of the same 128 MiB machine (RAM and devices written
//              into the qcow2 disk image), timed from sending the command to the next prompt.
// Both take several snapshots; the median is reported.
//   PERSEUS_BENCH_SNAPSHOT_QEMU   the reference emulator (default qemu-system-i386)
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcMachine } from '../../core/board/pc.js';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import { createDiskImage } from '../../main/disk/index.js';
import { VmLibrary } from '../../main/library/index.js';
import { hostClock, loadFirmware } from '../../main/run/setup.js';
import { SnapshotStore, type LiveVm } from '../../main/snapshot/index.js';
import { sharedPath } from '../helpers/shared.js';

const QEMU = process.env.PERSEUS_BENCH_SNAPSHOT_QEMU ?? 'qemu-system-i386';
const ROUNDS = 5;

interface Timing { takeMs: number; revertMs: number }

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function measureOurs(dir: string, floppyImage: string): Timing {
  const floppy = join(dir, 'fd.img');
  copyFileSync(floppyImage, floppy);
  const hda = join(dir, 'hda.img');
  createDiskImage(hda, 'raw', 64 << 20);
  const lib = VmLibrary.open(join(dir, 'data'));
  try {
    const vm = lib.create({ name: 'bench' });
    lib.setPowerState(vm.id, 'running');
    const store = new SnapshotStore(lib);
    const disks = store.openDisks(vm.id, { primaryMaster: hda });
    const fw = loadFirmware('seabios');
    const machine = new PcMachine({
      memoryMiB: 128, cpuModel: 'pentium2', biosRom: fw.bios, vgaRom: fw.vga, bootOrder: 'a',
      floppy: [new MemoryBlockDevice(new Uint8Array(readFileSync(floppy))), null],
      ide: [{ kind: 'disk', device: disks.primaryMaster! }, null, null, null],
      nic: { model: 'none', backend: null }, serial: [], clock: hostClock(true), deterministic: true, log: () => {},
    });
    const live: LiveVm = { machine, disks };
    bootToPrompt(machine);
    const takes: number[] = [];
    const reverts: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      machine.run(20_000_000);
      let t = performance.now();
      const s = store.take(vm.id, `bench ${i}`, { live });
      takes.push(performance.now() - t);
      machine.run(20_000_000);
      t = performance.now();
      store.revert(vm.id, s.id, { live });
      reverts.push(performance.now() - t);
    }
    for (const d of Object.values(disks)) d.close();
    return { takeMs: median(takes), revertMs: median(reverts) };
  } finally {
    lib.close();
  }
}

function bootToPrompt(m: PcMachine): void {
  while (m.instructionCount < 1e9) {
    m.run(5_000_000);
    m.updateScreen();
    if (m.screen().text.includes('A:\\>')) return;
  }
  throw new Error('FreeDOS did not reach A:\\> in 10^9 instructions');
}

/** QEMU TCG with the same guest: savevm/loadvm through the monitor on stdio. */
async function measureQemu(dir: string, floppyImage: string): Promise<Timing> {
  const fd = join(dir, 'qemu-fd.qcow2');
  const hda = join(dir, 'qemu-hda.qcow2');
  execFileSync('qemu-img', ['convert', '-O', 'qcow2', floppyImage, fd]);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', hda, '64M']);
  const qemu = spawn(QEMU, ['-m', '128', '-display', 'none', '-monitor', 'stdio', '-serial', 'none', '-net', 'none',
    '-drive', `file=${fd},if=floppy,format=qcow2`, '-drive', `file=${hda},if=ide,format=qcow2`, '-boot', 'a'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let exited = false;
  qemu.stdout.on('data', (d: Buffer) => { out += d.toString('latin1'); });
  qemu.stderr.on('data', (d: Buffer) => { out += d.toString('latin1'); });
  qemu.on('exit', () => { exited = true; });
  qemu.on('error', (e) => { exited = true; out += `\n${e.message}`; });
  const prompts = () => out.split('(qemu)').length - 1;
  const waitPrompts = async (n: number, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (prompts() < n) {
      if (exited) throw new Error(`qemu exited; output tail:\n${out.slice(-500)}`);
      if (Date.now() > deadline) throw new Error(`qemu monitor timed out; output tail:\n${out.slice(-500)}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  };
  const command = async (text: string): Promise<number> => {
    const before = prompts();
    const t = performance.now();
    qemu.stdin.write(`${text}\n`);
    await waitPrompts(before + 1, 120_000);
    const ms = performance.now() - t;
    if (/Error|error/.test(out.slice(-300))) throw new Error(`qemu ${text}: ${out.slice(-300)}`);
    return ms;
  };
  try {
    await waitPrompts(1, 30_000);
    // FreeDOS boots in a few seconds under TCG; wait for the guest to settle at its prompt.
    await new Promise((r) => setTimeout(r, 15_000));
    const takes: number[] = [];
    const reverts: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      await new Promise((r) => setTimeout(r, 500));
      takes.push(await command(`savevm bench${i}`));
      await new Promise((r) => setTimeout(r, 500));
      reverts.push(await command(`loadvm bench${i}`));
    }
    return { takeMs: median(takes), revertMs: median(reverts) };
  } finally {
    qemu.kill('SIGKILL');
  }
}

export async function snapshotSection(): Promise<void> {
  console.log('');
  console.log(`snapshot: live take / revert of a running 128 MiB FreeDOS guest, median of ${ROUNDS} (target < 1000 ms each)`);
  const floppy = sharedPath('guests', 'freedos722.img');
  if (!floppy) {
    console.log('snapshot: ../shared/guests/freedos722.img missing: section skipped');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'perseus-bench-snap-'));
  try {
    const ours = measureOurs(dir, floppy);
    console.log(`| perseus        | take ${ours.takeMs.toFixed(0).padStart(6)} ms | revert ${ours.revertMs.toFixed(0).padStart(6)} ms |`);
    let reference: Timing | null = null;
    try {
      reference = await measureQemu(dir, floppy);
    } catch (e) {
      const missing = (e as { code?: string }).code === 'ENOENT';
      console.log(missing ? `snapshot: ${QEMU} or qemu-img not found (apt-get install qemu-system-x86 qemu-utils): no reference figure`
        : `snapshot: the qemu reference failed: ${(e as Error).message}`);
    }
    if (reference) {
      console.log(`| qemu savevm    | take ${reference.takeMs.toFixed(0).padStart(6)} ms | revert ${reference.revertMs.toFixed(0).padStart(6)} ms | (loadvm) reference |`);
      console.log(`snapshot: perseus take = ${(ours.takeMs / reference.takeMs).toFixed(2)}× qemu savevm's time, revert = ${(ours.revertMs / reference.revertMs).toFixed(2)}× qemu loadvm's`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
