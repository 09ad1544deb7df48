// Issue 6 acceptance 3: save → load → save gives byte-identical state for a booted machine of
// every guest in the shared boot suite (../shared/guests/INDEX.md). Each guest is booted the
// way `perseus run` boots it (its options through settingsFromOptions and buildMachine) to
// its marker, then:
// - in place: saveState → loadState → saveState is identical;
// - into a fresh machine: saveRunState (machine + disk overlay) → loadRunState on a newly
//   built machine → saveRunState gives the identical file contents;
// - both machines then run on for the same number of instructions and are identical again
//   (the state holds everything the machine's future depends on; the builtin firmware keeps
//   its own state in guest memory for that reason).
// A guest is one line in GUESTS.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import type { Machine } from '../../core/board/machine.js';
import { PcMachine } from '../../core/board/pc.js';
import { parseRunArgs, settingsFromOptions } from '../../main/run/run.js';
import { buildMachine } from '../../main/run/setup.js';
import { decodeSnapshotState, loadRunState, saveRunState } from '../../main/snapshot/index.js';
import { sharedFile } from '../helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'perseus-roundtrip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Guest {
  name: string;
  /** `perseus run` options; FILE:name is a file from ../shared/guests, GZ:name one gunzipped. */
  args: string[];
  /** Text on the screen or COM1 that says the guest is up; or a predicate on the machine. */
  until: string | ((m: PcMachine) => boolean);
  /** Instruction budget for the boot. */
  budget: number;
}

/** KolibriOS has no text marker: its desktop is an 800x600 VBE frame with many colours. */
function kolibriDesktop(m: PcMachine): boolean {
  const s = m.screen();
  if (!s.mode.startsWith('vbe 800x600')) return false;
  const seen = new Set<number>();
  const px = new Uint32Array(s.rgba.buffer, s.rgba.byteOffset, s.width * s.height);
  for (let i = 0; i < px.length; i += 97) seen.add(px[i]!);
  return seen.size > 200;
}

const GUESTS: Guest[] = [
  { name: 'freedos722', args: ['--fda', 'FILE:freedos722.img'], until: 'A:\\>', budget: 400e6 },
  { name: 'freedos-boot-1.4MB', args: ['--fda', 'FILE:freedos-boot-1.4MB.img'], until: 'A:\\>', budget: 300e6 },
  { name: 'freedos-boot-720K', args: ['--fda', 'FILE:freedos-boot-720K.img'], until: 'A:\\>', budget: 300e6 },
  { name: 'freedos-boot-360K', args: ['--fda', 'FILE:freedos-boot-360K.img'], until: 'A:\\>', budget: 300e6 },
  { name: 'freedos-boot-160K', args: ['--fda', 'FILE:freedos-boot-160K.img'], until: 'A:\\>', budget: 300e6 },
  { name: 'freedos-hdd', args: ['--hda', 'GZ:freedos-hdd-32m.img.gz'], until: 'FREEDOS-HDD-READY', budget: 600e6 },
  { name: 'mikeos-floppy', args: ['--fda', 'FILE:mikeos-4.6.1.flp'], until: 'Thanks for trying out MikeOS!', budget: 400e6 },
  { name: 'mikeos-cd', args: ['--cdrom', 'FILE:mikeos-4.6.1.iso'], until: 'Thanks for trying out MikeOS!', budget: 400e6 },
  { name: 'kolibri', args: ['--fda', 'FILE:kolibri.img', '--memory', '128'], until: kolibriDesktop, budget: 1500e6 },
  // The Linux guest's round trip is asserted on its one boot in test/guests/linux-seabios-cd.test.ts.
];

/** The guest's options with shared files resolved; null when one is missing (skip). */
function resolveArgs(g: Guest): string[] | null {
  const out: string[] = [];
  for (const a of g.args) {
    const m = /^(FILE|GZ):(.*)$/.exec(a);
    if (!m) {
      out.push(a);
      continue;
    }
    const path = sharedFile('guests', m[2]!);
    if (!path) return null;
    if (m[1] === 'GZ') {
      const tmp = join(dir, `${g.name}.img`);
      writeFileSync(tmp, gunzipSync(readFileSync(path)));
      out.push(tmp);
    } else out.push(path);
  }
  return out;
}

async function build(args: string[]): Promise<PcMachine> {
  const m = await buildMachine(settingsFromOptions(parseRunArgs(args)), { writable: false, deterministic: true });
  if (!(m instanceof PcMachine)) throw new Error('expected a PC');
  return m;
}

function boot(m: PcMachine, g: Guest): boolean {
  let serial = '';
  if (typeof g.until === 'string') {
    const marker = g.until;
    m.serialListeners.push((b) => { serial = (serial + String.fromCharCode(b)).slice(-4096); });
    while (m.instructionCount < g.budget) {
      if (m.run(2_000_000) === 'poweroff') return false;
      if (serial.includes(marker)) return true;
      m.updateScreen();
      if (m.screen().text.includes(marker)) return true;
    }
    return false;
  }
  while (m.instructionCount < g.budget) {
    if (m.run(10_000_000) === 'poweroff') return false;
    m.updateScreen();
    if (g.until(m)) return true;
  }
  return false;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

/** The same slices on both machines (a guest idling in HLT runs few instructions per slice). */
function runSlices(m: Machine, slices: number): void {
  for (let i = 0; i < slices; i++) m.run(100_000);
}

describe('state round trip of every guest in the shared boot suite', () => {
  for (const g of GUESTS) {
    it(`${g.name}: save → load → save is byte-identical`, async () => {
      const args = resolveArgs(g);
      if (!args) return;
      const m = await build(args);
      expect(boot(m, g), `${g.name} reached its marker`).toBe(true);
      m.run(1_000_000);

      const a = m.saveState();
      m.loadState(a);
      expect(same(m.saveState(), a), 'in place').toBe(true);

      const f1 = join(dir, `${g.name}-1.state`);
      const f2 = join(dir, `${g.name}-2.state`);
      saveRunState(m, f1);
      const fresh = await build(args);
      loadRunState(fresh, f1);
      saveRunState(fresh, f2);
      const s1 = decodeSnapshotState(readFileSync(f1));
      expect(same(decodeSnapshotState(readFileSync(f2)), s1), 'through a file into a fresh machine').toBe(true);

      // Both run on alike: the loaded machine lacks nothing the original has.
      runSlices(m, 50);
      runSlices(fresh, 50);
      expect(same(fresh.saveState(), m.saveState()), 'after running on').toBe(true);
    }, 300_000);
  }
});
