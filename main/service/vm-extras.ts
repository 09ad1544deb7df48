// The service's snapshot, suspend, removable-media and disk-creation methods. A running VM's
// snapshots are taken and reverted inside its worker (the hypervisor forwards them); an off
// VM's go straight to main/snapshot here. Every snapshot operation of one VM runs after the
// previous one has finished, so a delete's clean-up never races a take's new files.

import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import {
  ApiError, DISK_IMAGE_FORMATS, MEDIA_DRIVES,
  type ApiEvent, type DiskImageFormat, type MediaDrive, type RecentImage, type SnapshotNode, type SnapshotOperation,
  type VmPowerState, type VmRecord, type VmSettings, type VmStatus,
} from '../../core/api/contract.js';
import { createDiskImage } from '../disk/index.js';
import type { Hypervisor } from '../hypervisor/hypervisor.js';
import { encodeSnapshotState, vmBaseDisks, writeFileAtomic, type SnapshotInfo, type SnapshotStore } from '../snapshot/index.js';

/** Largest blank disk createDisk makes: 2 TiB. */
export const MAX_DISK_MIB = 2 * 1024 * 1024;
/** The file a suspended VM's machine state lives in, inside its own folder. */
export const SUSPEND_STATE_FILE = 'suspended.state';

export interface ExtrasDeps {
  hypervisor: Hypervisor;
  snapshots: SnapshotStore | null;
  /** The VM's own folder (<dataDir>/vms/<id>). */
  vmDir: ((id: string) => string) | null;
  /** Where createDisk puts images given by bare file name (<dataDir>/images). */
  imagesDir: string | null;
  recentImages: { add(path: string, kind: RecentImage['kind']): void; list(kind?: RecentImage['kind']): RecentImage[] } | null;
  setPowerState(id: string, state: VmPowerState): void;
  /** The VM's power state as the hypervisor (or, for a VM not running here, the library) knows it. */
  liveState(id: string): Promise<VmPowerState>;
  updateSettings(id: string, patch: Partial<VmSettings>): Promise<VmRecord>;
  emit(event: ApiEvent): void;
}

const IDE_SLOTS = ['primaryMaster', 'primarySlave', 'secondaryMaster', 'secondarySlave'] as const;

export class VmExtras {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly d: ExtrasDeps) {}

  /** Runs `fn` alone among the VM's snapshot operations (power on uses it too). */
  exclusive<T>(id: string, fn: () => Promise<T>): Promise<T> {
    return this.serial(id, fn);
  }

  /** Adds the images named in (a patch of) a VM's settings to the recent list; best effort. */
  rememberImages(settings: Partial<VmSettings>): void {
    const recent = this.d.recentImages;
    if (!recent || settings === null || typeof settings !== 'object') return;
    const add = (path: unknown, kind: RecentImage['kind']) => {
      if (typeof path !== 'string' || path === '') return;
      try { recent.add(path, kind); } catch { /* the list is a convenience */ }
    };
    add(settings.floppyA, 'floppy');
    add(settings.floppyB, 'floppy');
    for (const d of Object.values(settings.ide ?? {})) {
      if (d && typeof d === 'object') add(d.path, d.kind === 'cdrom' ? 'cdrom' : 'disk');
    }
  }

  /** Runs `fn` after the VM's previous snapshot operation. */
  private serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(id) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    const tail = next.catch(() => undefined);
    this.queues.set(id, tail);
    void tail.then(() => { if (this.queues.get(id) === tail) this.queues.delete(id); });
    return next;
  }

  private store(): SnapshotStore {
    if (!this.d.snapshots) throw new ApiError('internal', 'snapshots need the VM library (this service has none)');
    return this.d.snapshots;
  }

  /** Path of the VM's suspended machine state. */
  suspendPath(id: string): string {
    if (!this.d.vmDir) throw new ApiError('internal', 'suspend needs the VM library (this service has none)');
    return join(this.d.vmDir(id), SUSPEND_STATE_FILE);
  }

  /** The suspended state to resume from at power on, or null (a stale file is removed). */
  resumeStateFor(vm: VmRecord, state: VmPowerState): string | null {
    if (!this.d.vmDir) return null;
    const path = this.suspendPath(vm.id);
    if (state === 'suspended' && existsSync(path)) return path;
    if (state === 'suspended') {
      this.d.emit({ type: 'log', id: vm.id, level: 'warn', message: `the saved state of "${vm.name}" is missing (${path}); it starts afresh` });
    }
    if (existsSync(path)) rmSync(path, { force: true });
    return null;
  }

  /** Power on from the saved state with resume progress events around it (a crash is the error). */
  async resume(vm: VmRecord, fn: () => Promise<VmStatus>): Promise<VmStatus> {
    const progress = (fraction: number, step: string, done: boolean, error?: string) => this.d.emit({
      type: 'snapshot-progress', id: vm.id, operation: 'resume', step, fraction, done, ...(error !== undefined ? { error } : {}),
    });
    progress(0, 'loading the saved machine state', false);
    let status: VmStatus;
    try {
      status = await fn();
    } catch (err) {
      progress(1, 'failed', true, err instanceof Error ? err.message : String(err));
      throw err;
    }
    if (status.state === 'running') progress(1, 'done', true);
    else progress(1, 'failed', true, status.error ?? `the VM is ${status.state}`);
    return status;
  }

  /** After a resumed VM runs, its saved state is spent: the guest has moved on from it. */
  resumed(id: string): void {
    rmSync(this.suspendPath(id), { force: true });
  }

  /** Power off a suspended VM: the saved state is discarded. */
  discardSuspended(id: string): void {
    rmSync(this.suspendPath(id), { force: true });
    this.d.hypervisor.forget(id);
    this.d.setPowerState(id, 'off');
  }

  private node(vmId: string, info: Pick<SnapshotInfo, 'id'>): SnapshotNode {
    const found = this.store().list(vmId).find((s) => s.id === info.id);
    if (!found) throw new ApiError('not-found', `no snapshot ${info.id}`);
    return this.toNode(found);
  }

  private toNode(s: SnapshotInfo): SnapshotNode {
    const png = s.hasThumbnail ? this.store().thumbnail(s.id) : null;
    return {
      id: s.id,
      parentId: s.parentId,
      name: s.name,
      description: s.description,
      createdAt: s.createdAt,
      thumbnail: png ? `data:image/png;base64,${Buffer.from(png).toString('base64')}` : null,
      isCurrent: s.current,
      hasState: s.hasState,
    };
  }

  listSnapshots(vm: VmRecord): SnapshotNode[] {
    return this.store().list(vm.id).map((s) => this.toNode(s));
  }

  /** Runs one snapshot operation with progress events around it and snapshots-changed after. */
  private async operation<T>(vm: VmRecord, op: SnapshotOperation, step: string, fn: () => Promise<T>, changed = true): Promise<T> {
    this.d.emit({ type: 'snapshot-progress', id: vm.id, operation: op, step, fraction: 0, done: false });
    try {
      const result = await fn();
      this.d.emit({ type: 'snapshot-progress', id: vm.id, operation: op, step: 'done', fraction: 1, done: true });
      return result;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.d.emit({ type: 'snapshot-progress', id: vm.id, operation: op, step: 'failed', fraction: 1, done: true, error: message });
      throw err instanceof ApiError ? err : new ApiError('bad-state', message);
    } finally {
      if (changed) this.d.emit({ type: 'snapshots-changed', id: vm.id });
    }
  }

  takeSnapshot(vm: VmRecord, name: unknown, description: unknown): Promise<SnapshotNode> {
    if (typeof name !== 'string' || name.trim() === '') throw new ApiError('invalid', 'takeSnapshot: a snapshot needs a name', [{ field: 'name', message: 'required' }]);
    if (description !== undefined && typeof description !== 'string') throw new ApiError('invalid', 'takeSnapshot: description must be text');
    const store = this.store();
    return this.serial(vm.id, () => this.operation(vm, 'take', 'saving', async () => {
      const state = await this.d.liveState(vm.id);
      if (state === 'running' || state === 'paused') {
        return this.node(vm.id, await this.d.hypervisor.takeSnapshot(vm.id, name, description ?? ''));
      }
      if (state === 'off' || state === 'crashed') {
        return this.toNode(store.take(vm.id, name, { description: description ?? '', baseDisks: vmBaseDisks(vm) }));
      }
      throw new ApiError('bad-state', `cannot take a snapshot while "${vm.name}" is ${state}` +
        (state === 'suspended' ? '; power it on or off first' : ''));
    }));
  }

  revertSnapshot(vm: VmRecord, snapshotId: unknown): Promise<VmPowerState> {
    if (typeof snapshotId !== 'string' || snapshotId === '') throw new ApiError('invalid', 'revertSnapshot: snapshotId is required');
    const store = this.store();
    return this.serial(vm.id, () => this.operation(vm, 'revert', 'restoring', async () => {
      const snap = store.resolve(vm.id, snapshotId);
      const state = await this.d.liveState(vm.id);
      if (state === 'running' || state === 'paused') {
        if (!snap.hasState) {
          throw new ApiError('bad-state', `snapshot "${snap.name}" holds no machine state (taken while the VM was off); power the VM off to revert to it`);
        }
        await this.d.hypervisor.revertSnapshot(vm.id, snap.id);
        return state;
      }
      if (state !== 'off' && state !== 'crashed' && state !== 'suspended') {
        throw new ApiError('bad-state', `cannot revert while "${vm.name}" is ${state}`);
      }
      // An off VM: the disks follow the snapshot now; a snapshot with machine state leaves the
      // VM suspended at that instant, so the next power on continues from it (as VMware does).
      const { state: saved } = store.revert(vm.id, snap.id);
      const path = this.suspendPath(vm.id);
      this.d.hypervisor.forget(vm.id);
      if (saved) {
        writeFileAtomic(path, encodeSnapshotState(saved));
        this.d.setPowerState(vm.id, 'suspended');
        return 'suspended';
      }
      rmSync(path, { force: true });
      this.d.setPowerState(vm.id, 'off');
      return 'off';
    }));
  }

  deleteSnapshot(vm: VmRecord, snapshotId: unknown): Promise<null> {
    if (typeof snapshotId !== 'string' || snapshotId === '') throw new ApiError('invalid', 'deleteSnapshot: snapshotId is required');
    const store = this.store();
    return this.serial(vm.id, () => this.operation(vm, 'delete', 'deleting', async () => {
      const snap = store.resolve(vm.id, snapshotId);
      const state = await this.d.liveState(vm.id);
      // A running VM's worker deletes, so that data folded into its open disks is reopened there.
      if (state === 'running' || state === 'paused') await this.d.hypervisor.deleteSnapshot(vm.id, snap.id);
      else if (state === 'starting' || state === 'stopping') throw new ApiError('bad-state', `"${vm.name}" is ${state}; try again in a moment`);
      else store.delete(vm.id, snap.id);
      return null;
    }));
  }

  renameSnapshot(vm: VmRecord, snapshotId: unknown, name: unknown, description: unknown): Promise<SnapshotNode> {
    if (typeof snapshotId !== 'string' || snapshotId === '') throw new ApiError('invalid', 'renameSnapshot: snapshotId is required');
    if (typeof name !== 'string' || name.trim() === '') throw new ApiError('invalid', 'renameSnapshot: a snapshot needs a name', [{ field: 'name', message: 'required' }]);
    if (description !== undefined && typeof description !== 'string') throw new ApiError('invalid', 'renameSnapshot: description must be text');
    const store = this.store();
    return this.serial(vm.id, async () => {
      const info = store.rename(vm.id, store.resolve(vm.id, snapshotId).id, name, description as string | undefined);
      this.d.emit({ type: 'snapshots-changed', id: vm.id });
      return this.toNode(info);
    });
  }

  suspend(vm: VmRecord): Promise<void> {
    const path = this.suspendPath(vm.id);
    return this.serial(vm.id, () => this.operation(vm, 'suspend', 'saving', async () => {
      const state = await this.d.liveState(vm.id);
      if (state !== 'running' && state !== 'paused') throw new ApiError('bad-state', `cannot suspend "${vm.name}" while it is ${state}`);
      await this.d.hypervisor.suspend(vm.id, path);
    }, false));
  }

  /** Insert (path) or eject (null) removable media; the settings and recent list follow. */
  async changeMedia(vm: VmRecord, state: VmPowerState, drive: unknown, path: string | null): Promise<VmRecord> {
    if (typeof drive !== 'string' || !MEDIA_DRIVES.includes(drive as MediaDrive)) {
      throw new ApiError('invalid', `drive must be one of ${MEDIA_DRIVES.join(', ')}`, [{ field: 'drive', message: 'unknown drive' }]);
    }
    const d = drive as MediaDrive;
    if (path !== null) {
      path = checkImagePath(path);
      // One image in two drives would be written through two caches: refuse.
      const other = [d !== 'fda' ? vm.floppyA : null, d !== 'fdb' ? vm.floppyB : null,
        ...IDE_SLOTS.map((slot) => vm.ide[slot]?.kind === 'disk' ? vm.ide[slot]!.path : null)]
        .find((p) => p && resolve(p) === path);
      if (other) throw new ApiError('conflict', `${path} is already in another drive of "${vm.name}"`, [{ field: 'path', message: 'in use' }]);
    }
    const cdSlot = IDE_SLOTS.find((slot) => vm.ide[slot]?.kind === 'cdrom');
    if (d === 'cdrom' && !cdSlot) throw new ApiError('invalid', `"${vm.name}" has no CD-ROM drive; add one in its settings`);
    const patch: Partial<VmSettings> = d === 'fda' ? { floppyA: path } : d === 'fdb' ? { floppyB: path }
      : { ide: { [cdSlot!]: { kind: 'cdrom', path } } as VmSettings['ide'] };
    if (state === 'running' || state === 'paused') await this.d.hypervisor.changeMedia(vm.id, d, path);
    else if (state === 'starting' || state === 'stopping') throw new ApiError('bad-state', `"${vm.name}" is ${state}; try again in a moment`);
    const updated = await this.d.updateSettings(vm.id, patch);
    if (path !== null) this.d.recentImages?.add(path, d === 'cdrom' ? 'cdrom' : 'floppy');
    return updated;
  }

  listRecentImages(kind: unknown): RecentImage[] {
    if (kind !== undefined && kind !== 'floppy' && kind !== 'cdrom' && kind !== 'disk') throw new ApiError('invalid', 'kind must be floppy, cdrom or disk');
    return this.d.recentImages?.list(kind as RecentImage['kind'] | undefined) ?? [];
  }

  createDisk(p: { path?: unknown; sizeMiB?: unknown; format?: unknown }): { path: string; format: DiskImageFormat; sizeBytes: number } {
    if (typeof p.path !== 'string' || p.path === '') {
      throw new ApiError('invalid', 'createDisk: path is required', [{ field: 'path', message: 'required' }]);
    }
    let target = p.path;
    if (!isAbsolute(target)) {
      // A bare file name goes to the app's images folder; anything else relative is ambiguous.
      if (!this.d.imagesDir || basename(target) !== target || target === '.' || target === '..' || /[\\/]/.test(target)) {
        throw new ApiError('invalid', 'createDisk: path must be an absolute file path or a bare file name', [{ field: 'path', message: 'absolute path or file name required' }]);
      }
      mkdirSync(this.d.imagesDir, { recursive: true });
      target = join(this.d.imagesDir, target);
    }
    if (typeof p.format !== 'string' || !DISK_IMAGE_FORMATS.includes(p.format as DiskImageFormat)) {
      throw new ApiError('invalid', `createDisk: format must be one of ${DISK_IMAGE_FORMATS.join(', ')}`, [{ field: 'format', message: 'unknown format' }]);
    }
    const size = p.sizeMiB;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > MAX_DISK_MIB) {
      throw new ApiError('invalid', `createDisk: sizeMiB must be a whole number from 1 to ${MAX_DISK_MIB}`, [{ field: 'sizeMiB', message: 'out of range' }]);
    }
    const path = resolve(target);
    if (existsSync(path)) throw new ApiError('conflict', `${path} already exists; choose another name`);
    let sizeBytes: number;
    try {
      sizeBytes = createDiskImage(path, p.format as DiskImageFormat, size * 1024 * 1024);
    } catch (err) {
      throw new ApiError('invalid', `cannot create ${path}: ${(err as Error).message}`);
    }
    this.d.recentImages?.add(path, 'disk');
    return { path, format: p.format as DiskImageFormat, sizeBytes };
  }
}

/** An existing regular file, as an absolute path; otherwise a clear 'invalid' error. */
function checkImagePath(path: unknown): string {
  if (typeof path !== 'string' || path === '') throw new ApiError('invalid', 'path must name an image file', [{ field: 'path', message: 'required' }]);
  const abs = resolve(path);
  let st;
  try {
    st = statSync(abs);
  } catch {
    throw new ApiError('invalid', `image not found: ${abs}`, [{ field: 'path', message: 'not found' }]);
  }
  if (!st.isFile()) throw new ApiError('invalid', `${abs} is not a file`, [{ field: 'path', message: 'not a file' }]);
  if (st.size === 0) throw new ApiError('invalid', `${abs} is empty; it is not a disk image`, [{ field: 'path', message: 'empty file' }]);
  return abs;
}
