// Snapshot work inside a VM's worker: the machine lives here, so live take, revert and
// suspend run here too, through main/snapshot's SnapshotStore on this worker's own connection
// to the library database (SQLite WAL lets the main thread read and write beside it).

import type { SnapshotOperation } from '../../core/api/contract.js';
import type { Machine } from '../../core/board/machine.js';
import type { VmRecord } from '../../core/api/contract.js';
import type { VmLibrary } from '../library/index.js';
import type { LiveDisk, SnapshotInfo, SnapshotStore } from '../snapshot/index.js';
import type { WorkerInit } from './protocol.js';

let snapshotModule: typeof import('../snapshot/index.js') | null = null;

export const READ_ONLY_REFUSAL = 'live snapshots are off for this VM: one of its images is read-only (the guest\'s writes are kept in memory only)';

/** main/snapshot, loaded once before the machine is built (suspend and resume need its state-file code). */
export async function loadSnapshotModule(): Promise<void> {
  snapshotModule ??= await import('../snapshot/index.js');
}

export interface SnapshotContext {
  vmId: string;
  machine: Machine;
  store: SnapshotStore | null;
  disks: Record<string, LiveDisk>;
  /** Why live snapshots are impossible for this VM (a read-only image), or null. */
  refusal: string | null;
  progress: (operation: SnapshotOperation, step: string, fraction: number) => void;
}

/**
 * Opens the library and the VM's hard disks as main/snapshot's LiveDisks (the top of each
 * disk's overlay chain once it has snapshots). With `writable` false (a read-only image) no
 * disk is opened here: the machine opens its images itself and live snapshots are refused.
 */
export async function openSnapshotDisks(init: WorkerInit, writable: boolean):
  Promise<{ library: VmLibrary; store: SnapshotStore; disks: Record<string, LiveDisk> }> {
  const { VmLibrary } = await import('../library/index.js');
  await loadSnapshotModule();
  const library = VmLibrary.open(init.dataDir!);
  try {
    const store = new snapshotModule!.SnapshotStore(library);
    if (!writable) return { library, store, disks: {} };
    const disks = store.openDisks(init.id, snapshotModule!.vmBaseDisks({ ide: init.settings.ide } as VmRecord));
    return { library, store, disks };
  } catch (err) {
    library.close();
    throw err;
  }
}

/** True when the VM has IDE hard disks (the disks snapshots cover). */
export function hasHardDisks(init: WorkerInit): boolean {
  return Object.values(init.settings.ide ?? {}).some((d) => d?.kind === 'disk' && !!d.path);
}

function requireStore(ctx: SnapshotContext): SnapshotStore {
  if (!ctx.store) throw new Error('this VM runs without the snapshot store (no library data directory)');
  return ctx.store;
}

export function take(ctx: SnapshotContext, name: string, description: string): SnapshotInfo {
  const store = requireStore(ctx);
  if (ctx.refusal) throw new Error(ctx.refusal);
  ctx.progress('take', 'saving the machine state, memory and disks', 0.1);
  const info = store.take(ctx.vmId, name, { description, live: { machine: ctx.machine, disks: ctx.disks } });
  ctx.progress('take', 'snapshot saved', 1);
  return info;
}

export function revert(ctx: SnapshotContext, snapshotId: string): SnapshotInfo {
  const store = requireStore(ctx);
  if (ctx.refusal) throw new Error(ctx.refusal);
  ctx.progress('revert', 'loading the snapshot\'s machine state and disks', 0.1);
  const { snapshot } = store.revert(ctx.vmId, snapshotId, { live: { machine: ctx.machine, disks: ctx.disks } });
  ctx.progress('revert', 'reverted', 1);
  return snapshot;
}

/** Deletes a node while the machine runs on: main/snapshot folds layers into the live disks too. */
export function remove(ctx: SnapshotContext, snapshotId: string): void {
  const store = requireStore(ctx);
  ctx.progress('delete', 'merging the snapshot\'s disk data', 0.1);
  store.delete(ctx.vmId, snapshotId, { live: { machine: ctx.machine, disks: ctx.disks } });
  ctx.progress('delete', 'deleted', 1);
}

/** Writes the machine state to `path` (crash-safe); the disks are flushed by the caller. */
export function suspend(ctx: SnapshotContext, path: string): void {
  const m = snapshotModule;
  if (!m) throw new Error('this VM runs without the snapshot store (no library data directory)');
  ctx.progress('suspend', 'saving the machine state and memory', 0.1);
  m.writeFileAtomic(path, m.encodeSnapshotState(ctx.machine.saveState({ suspended: new Date().toISOString() })));
  ctx.progress('suspend', 'state saved', 1);
}

/** Loads a state file written by suspend() or a snapshot into a freshly built machine. */
export function loadStateFile(machine: Machine, path: string): void {
  const m = snapshotModule;
  if (!m) throw new Error('resuming needs the snapshot store (no library data directory)');
  machine.loadState(m.readSnapshotState(path));
}
