// `perseus run --save-state FILE` / `--load-state FILE`: a running machine and its disks'
// contents at one instant, in one file, so a slow boot is done once and continued any number
// of times.
//
// Disks: without --writable, `perseus run` opens images read-only under an in-memory overlay;
// the file then holds the overlay's changed chunks, and loading puts them back over the same,
// untouched images, so one state can be loaded again and again. With --writable the guest
// writes into the images themselves; the file holds no disk data and loading refuses once an
// image has changed since the save (its size or modification time differs), because the
// machine's view of that disk would no longer match. CD-ROMs are read-only and not saved.
//
// File: the checked, deflated container of state-file.ts around
//   "PRSRUN01"  magic (8 bytes)
//   u32 header length, header JSON ({ drives: [{ slot, path, size, mtimeMs, overlay, chunks }] })
//   u32 machine state length, machine state (core/state/snapshot.ts)
//   per overlay drive, in header order, `chunks` times: u32 chunk index, MEMORY_OVERLAY_CHUNK bytes
// Everything is checked before the machine or a disk is touched; a damaged file, a state of
// another machine configuration or changed images are refused with a message saying so.
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { BlockDevice } from '../../core/disk/block.js';
import type { Machine, MachineConfig } from '../../core/board/machine.js';
import { MemoryOverlay, MEMORY_OVERLAY_CHUNK } from '../disk/index.js';
import { decodeSnapshotState, encodeSnapshotState, SnapshotError, writeFileAtomic } from './state-file.js';

const RUN_MAGIC = 'PRSRUN01';
const SLOTS = ['floppyA', 'floppyB', 'primaryMaster', 'primarySlave', 'secondaryMaster', 'secondarySlave'] as const;

interface SavedDrive {
  slot: string;
  path: string;
  size: number;
  mtimeMs: number;
  overlay: boolean;
  chunks: number;
}

interface DriveInfo {
  slot: string;
  device: BlockDevice;
}

/** The machine's writable media by slot: floppies and IDE hard disks. */
function machineDrives(machine: Machine): DriveInfo[] {
  const config = (machine as { config?: MachineConfig }).config;
  if (!config) throw new SnapshotError('this machine does not expose its drives; its state cannot be saved with its disks');
  const out: DriveInfo[] = [];
  config.floppy.forEach((d, i) => { if (d) out.push({ slot: SLOTS[i]!, device: d }); });
  config.ide.forEach((a, i) => { if (a?.kind === 'disk' && a.device) out.push({ slot: SLOTS[2 + i]!, device: a.device }); });
  return out;
}

function devicePath(d: BlockDevice): string | null {
  const p = (d as { path?: unknown }).path;
  return typeof p === 'string' ? resolve(p) : null;
}

function identity(path: string): { size: number; mtimeMs: number } {
  const st = statSync(path);
  return { size: st.size, mtimeMs: st.mtimeMs };
}

/** Writes the machine and its disks' current contents to `path` (atomically). */
export function saveRunState(machine: Machine, path: string): void {
  const drives: SavedDrive[] = [];
  const parts: Uint8Array[] = [];
  for (const { slot, device } of machineDrives(machine)) {
    const file = devicePath(device);
    if (!file) throw new SnapshotError(`the disk in ${slot} has no image file; its contents cannot be saved`);
    const overlay = device instanceof MemoryOverlay;
    // A writable image holds the guest's data itself: it must be on disk before we note its time.
    if (!overlay) device.flush();
    let chunks = 0;
    if (overlay) {
      for (const [index, data] of [...device.changedChunks()].sort((a, b) => a[0] - b[0])) {
        const rec = new Uint8Array(4 + MEMORY_OVERLAY_CHUNK);
        new DataView(rec.buffer).setUint32(0, index, true);
        rec.set(data, 4);
        parts.push(rec);
        chunks++;
      }
    }
    drives.push({ slot, path: file, ...identity(file), overlay, chunks });
  }
  const state = machine.saveState({ runState: true });
  const header = new TextEncoder().encode(JSON.stringify({ drives }));
  const total = 8 + 4 + header.length + 4 + state.length + parts.reduce((n, p) => n + p.length, 0);
  const inner = new Uint8Array(total);
  const view = new DataView(inner.buffer);
  inner.set(new TextEncoder().encode(RUN_MAGIC), 0);
  let at = 8;
  view.setUint32(at, header.length, true);
  inner.set(header, at + 4);
  at += 4 + header.length;
  view.setUint32(at, state.length, true);
  inner.set(state, at + 4);
  at += 4 + state.length;
  for (const p of parts) {
    inner.set(p, at);
    at += p.length;
  }
  writeFileAtomic(path, encodeSnapshotState(inner, { level: 1 }));
}

/**
 * Continues `machine` (just built, not yet run, with the same settings) from a file written
 * by saveRunState. Throws SnapshotError / StateError naming the problem, before changing
 * anything, for a damaged file, another machine configuration or changed disk images.
 */
export function loadRunState(machine: Machine, path: string): void {
  let file: Uint8Array;
  try {
    file = readFileSync(path);
  } catch (e) {
    throw new SnapshotError(`cannot read state file ${path}: ${(e as Error).message}`);
  }
  const what = `state file ${path}`;
  const inner = decodeSnapshotState(file, what);
  const magic = new TextDecoder().decode(inner.subarray(0, 8));
  if (magic === 'PRSSTATE') throw new SnapshotError(`${what} is a snapshot's machine state without disks, not a perseus run state (use perseus snapshot revert)`);
  if (magic !== RUN_MAGIC) throw new SnapshotError(`${what} is not a perseus run state (bad inner magic)`);
  const view = new DataView(inner.buffer, inner.byteOffset, inner.byteLength);
  const need = (at: number, n: number, field: string) => {
    if (at + n > inner.length) throw new SnapshotError(`${what} is corrupt (${field} runs past the end)`);
  };
  let at = 8;
  need(at, 4, 'header length');
  const headerLength = view.getUint32(at, true);
  need(at + 4, headerLength, 'header');
  let drives: SavedDrive[];
  try {
    drives = (JSON.parse(new TextDecoder().decode(inner.subarray(at + 4, at + 4 + headerLength))) as { drives: SavedDrive[] }).drives;
    if (!Array.isArray(drives)) throw new Error('no drive list');
  } catch (e) {
    throw new SnapshotError(`${what} is corrupt (header: ${(e as Error).message})`);
  }
  at += 4 + headerLength;
  need(at, 4, 'machine state length');
  const stateLength = view.getUint32(at, true);
  need(at + 4, stateLength, 'machine state');
  const state = inner.subarray(at + 4, at + 4 + stateLength);
  at += 4 + stateLength;

  // The drives must be the same images, unchanged since the save.
  const current = new Map(machineDrives(machine).map((d) => [d.slot, d.device]));
  const restores: [MemoryOverlay, number, Uint8Array][] = [];
  for (const d of drives) {
    const device = current.get(d.slot);
    if (!device) throw new SnapshotError(`${what} was saved with a disk in ${d.slot} (${d.path}); this machine has none there: it is a different machine configuration`);
    const p = devicePath(device);
    if (p !== d.path) throw new SnapshotError(`${what} was saved with ${d.path} in ${d.slot}, not ${p ?? 'this disk'}`);
    let now: { size: number; mtimeMs: number };
    try {
      now = identity(d.path);
    } catch (e) {
      throw new SnapshotError(`${d.path}: ${(e as Error).message}`);
    }
    if (now.size !== d.size || now.mtimeMs !== d.mtimeMs) {
      throw new SnapshotError(`${d.path} has changed since ${what} was saved (size or modification time differ); the saved machine would see other disk contents`);
    }
    if (d.overlay && !(device instanceof MemoryOverlay)) {
      throw new SnapshotError(`${what} keeps guest writes to ${d.path} in the file; load it without --writable`);
    }
    for (let i = 0; i < d.chunks; i++) {
      need(at, 4 + MEMORY_OVERLAY_CHUNK, `${d.slot} disk data`);
      const index = view.getUint32(at, true);
      if (index * MEMORY_OVERLAY_CHUNK >= device.size) throw new SnapshotError(`${what} is corrupt (${d.slot} chunk ${index} lies beyond the disk)`);
      restores.push([device as MemoryOverlay, index, inner.subarray(at + 4, at + 4 + MEMORY_OVERLAY_CHUNK)]);
      at += 4 + MEMORY_OVERLAY_CHUNK;
    }
  }
  if (at !== inner.length) throw new SnapshotError(`${what} is corrupt (${inner.length - at} bytes after the last disk)`);
  for (const slot of current.keys()) {
    if (!drives.some((d) => d.slot === slot)) throw new SnapshotError(`${what} was saved without a disk in ${slot}: it is a different machine configuration`);
  }
  // Validates everything (including the machine configuration) before changing the machine.
  machine.loadState(state);
  for (const [overlay, index, data] of restores) overlay.restoreChunk(index, data);
}
