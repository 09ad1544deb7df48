// The one implementation of PerseusService: library CRUD and validation, VM control through
// the hypervisor, and the event stream. Both transports (Electron IPC, WebSocket) dispatch
// into it; nothing here knows which one is calling.

import { join } from 'node:path';
import {
  API_METHODS, ApiError,
  type ApiEvent, type ApiMethod, type ApiParams, type ApiResult, type AppInfo, type InputEvent,
  type PerseusService, type ValidationIssue, type VmPowerState, type VmRecord, type VmSettings, type VmStatus,
} from '../../core/api/contract.js';
import type { Hypervisor } from '../hypervisor/hypervisor.js';
import type { SnapshotStore } from '../snapshot/index.js';
import { inputEventsProblem } from './input.js';
import { VmExtras, type ExtrasDeps } from './vm-extras.js';

/** What the service needs from the VM library (main/library's VmLibrary fits; sync or async). */
export interface LibraryPort {
  list(): VmRecord[] | Promise<VmRecord[]>;
  get(id: string): VmRecord | null | undefined | Promise<VmRecord | null | undefined>;
  create(partial: Partial<VmSettings> & { name: string }): VmRecord | Promise<VmRecord>;
  update(id: string, patch: Partial<VmSettings>, options?: { allowWhilePoweredOn?: boolean }): VmRecord | Promise<VmRecord>;
  delete(id: string, opts: { keepFiles: boolean }): { deletedFiles: string[] } | Promise<{ deletedFiles: string[] }>;
  validate(settings: Partial<VmSettings>, id?: string): ValidationIssue[] | Promise<ValidationIssue[]>;
  setPowerState(id: string, state: VmPowerState): unknown;
  /** In-process change notifications (VmLibrary has them). */
  onChange?(listener: (change: { type: string; id: string }) => void): () => void;
  /** True when another process changed the library since the last call (polled). */
  hasExternalChanges?(): boolean;
  /** The VM's own folder (suspended state lives there); without it there is no suspend. */
  vmDir?(id: string): string;
}

export interface ServiceOptions {
  library: LibraryPort;
  hypervisor: Hypervisor;
  dataDir: string;
  transport: AppInfo['transport'];
  version?: string;
  /** How often to look for changes other processes (the CLI) made to the library; 0: never. */
  externalChangePollMs?: number;
  /** The snapshot tree (main/snapshot on the same library); without it snapshot methods fail. */
  snapshots?: SnapshotStore | null;
  /** The recent-images list (main/library/recent-images.ts). */
  recentImages?: ExtrasDeps['recentImages'];
}

/** States in which a VM's worker exists. */
const ACTIVE_STATES = new Set<VmPowerState>(['starting', 'running', 'paused', 'stopping']);

export class Service implements PerseusService {
  private readonly listeners = new Set<(event: ApiEvent) => void>();
  private readonly cleanups: (() => void)[] = [];
  private readonly extras: VmExtras;

  constructor(private readonly opts: ServiceOptions) {
    this.extras = new VmExtras({
      hypervisor: opts.hypervisor,
      snapshots: opts.snapshots ?? null,
      vmDir: opts.library.vmDir ? (id) => opts.library.vmDir!(id) : null,
      imagesDir: join(opts.dataDir, 'images'),
      recentImages: opts.recentImages ?? null,
      setPowerState: (id, state) => { void opts.library.setPowerState(id, state); },
      liveState: async (id) => this.withLiveState(await this.record({ id })).state,
      updateSettings: async (id, patch) => {
        const updated = await opts.library.update(id, patch, { allowWhilePoweredOn: true });
        this.changed();
        return this.withLiveState(updated);
      },
      emit: (event) => this.emit(event),
    });
    this.cleanups.push(opts.hypervisor.onEvent((event) => {
      if (event.type === 'vm-state') {
        // The library keeps the state at once (it refuses hardware edits and deletion of a
        // VM that is on, and 'crashed' survives a restart of the UI).
        try {
          const r = opts.library.setPowerState(event.id, event.state);
          if (r instanceof Promise) r.catch(() => undefined);
        } catch { /* the VM may have been deleted meanwhile */ }
      }
      this.emit(event);
    }));
    if (opts.library.onChange) {
      this.cleanups.push(opts.library.onChange((change) => {
        if (change.type !== 'power-state') this.emit({ type: 'library-changed' });
      }));
    }
    const pollMs = opts.externalChangePollMs ?? 1000;
    if (opts.library.hasExternalChanges && pollMs > 0) {
      const timer = setInterval(() => {
        try {
          if (opts.library.hasExternalChanges!()) this.emit({ type: 'library-changed' });
        } catch { /* a closed library: the service is being disposed */ }
      }, pollMs);
      timer.unref?.();
      this.cleanups.push(() => clearInterval(timer));
    }
  }

  onEvent(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  /** Publish an event to every subscriber (also used for menu events by the Electron shell). */
  emit(event: ApiEvent): void {
    for (const l of [...this.listeners]) {
      try { l(event); } catch (err) { console.error('perseus: event listener failed', err); }
    }
  }

  dispose(): void {
    for (const c of this.cleanups.splice(0)) c();
    this.listeners.clear();
  }

  /** Changes made through the service when the library has no change notifications. */
  private changed(): void {
    if (!this.opts.library.onChange) this.emit({ type: 'library-changed' });
  }

  async handle<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>> {
    if (!API_METHODS.includes(method)) throw new ApiError('invalid', `unknown method ${JSON.stringify(method)}`);
    if (params === null || typeof params !== 'object' || Array.isArray(params)) {
      throw new ApiError('invalid', `${method}: params must be an object`);
    }
    try {
      return (await this.dispatch(method, params as any)) as ApiResult<M>;
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError('internal', `${method}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async dispatch(method: ApiMethod, p: any): Promise<unknown> {
    const { library, hypervisor } = this.opts;
    switch (method) {
      case 'appInfo':
        return {
          name: 'Perseus Workstation',
          version: this.opts.version ?? '0.0.0',
          dataDir: this.opts.dataDir,
          transport: this.opts.transport,
        } satisfies AppInfo;
      case 'listVms':
        return (await library.list()).map((vm) => this.withLiveState(vm));
      case 'getVm':
        return this.withLiveState(await this.record(p));
      case 'createVm': {
        if (typeof p.name !== 'string') throw new ApiError('invalid', 'createVm: name is required', [{ field: 'name', message: 'required' }]);
        const vm = await library.create(p);
        this.changed();
        this.extras.rememberImages(vm);
        return vm;
      }
      case 'updateVm': {
        const vm = await this.record(p);
        const patch = p.patch;
        if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw new ApiError('invalid', 'updateVm: patch must be an object');
        // The library refuses hardware changes while the VM is on (it knows the state from us).
        const updated = await library.update(vm.id, patch);
        this.changed();
        this.extras.rememberImages(patch);
        return this.withLiveState(updated);
      }
      case 'deleteVm': {
        const vm = await this.record(p);
        if (hypervisor.isActive(vm.id)) throw new ApiError('bad-state', `power off "${vm.name}" before deleting it`);
        hypervisor.forget(vm.id);
        const result = await library.delete(vm.id, { keepFiles: p.keepFiles !== false });
        this.changed();
        return result;
      }
      case 'validateSettings': {
        if (p.settings === null || typeof p.settings !== 'object') throw new ApiError('invalid', 'validateSettings: settings must be an object');
        return library.validate(p.settings, typeof p.id === 'string' ? p.id : undefined);
      }
      case 'powerOn': return this.extras.exclusive((await this.record(p)).id, async () => {
        // After any snapshot operation of this VM (an off VM's revert may be writing its state).
        const vm = await this.record(p);
        const issues = await library.validate(settingsOf(vm), vm.id);
        if (issues.length > 0) {
          throw new ApiError('invalid', `"${vm.name}" cannot start: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`, issues);
        }
        // A suspended VM continues from its saved state; the file is spent once it runs.
        const resumeFrom = this.extras.resumeStateFor(vm, this.withLiveState(vm).state);
        if (!resumeFrom) return hypervisor.powerOn(vm.id, settingsOf(vm));
        return this.extras.resume(vm, async () => {
          const status = await hypervisor.powerOn(vm.id, settingsOf(vm), { loadStatePath: resumeFrom });
          if (status.state === 'running') this.extras.resumed(vm.id);
          return status;
        });
      });
      case 'powerOff': {
        const vm = await this.record(p);
        if (!hypervisor.isActive(vm.id) && this.withLiveState(vm).state === 'suspended') {
          // Powering off a suspended VM discards its saved state.
          this.extras.discardSuspended(vm.id);
          return this.statusOf(await this.record(p));
        }
        return hypervisor.powerOff(vm.id);
      }
      case 'shutdown':
        return hypervisor.shutdown((await this.record(p)).id);
      case 'reset':
        return hypervisor.reset((await this.record(p)).id);
      case 'pause':
        return hypervisor.pause((await this.record(p)).id);
      case 'resume':
        return hypervisor.resume((await this.record(p)).id);
      case 'getStatus':
        return this.statusOf(await this.record(p));
      case 'sendInput': {
        const vm = await this.record(p);
        const problem = inputEventsProblem(p.events);
        if (problem) throw new ApiError('invalid', `sendInput: ${problem}`);
        hypervisor.sendInput(vm.id, p.events as InputEvent[]);
        return null;
      }
      case 'getScreenText':
        return hypervisor.screenText((await this.record(p)).id);
      case 'requestFullFrame':
        hypervisor.requestFullFrame((await this.record(p)).id);
        return null;
      case 'listSnapshots':
        return this.extras.listSnapshots(await this.record(p));
      case 'takeSnapshot':
        return this.extras.takeSnapshot(await this.record(p), p.name, p.description);
      case 'revertSnapshot': {
        const vm = await this.record(p);
        await this.extras.revertSnapshot(vm, p.snapshotId);
        return this.statusOf(await this.record(p));
      }
      case 'deleteSnapshot':
        return this.extras.deleteSnapshot(await this.record(p), p.snapshotId);
      case 'renameSnapshot':
        return this.extras.renameSnapshot(await this.record(p), p.snapshotId, p.name, p.description);
      case 'suspend': {
        const vm = await this.record(p);
        await this.extras.suspend(vm);
        return this.statusOf(await this.record(p));
      }
      case 'insertMedia': {
        const vm = await this.record(p);
        return this.extras.changeMedia(vm, this.withLiveState(vm).state, p.drive, p.path ?? '');
      }
      case 'ejectMedia': {
        const vm = await this.record(p);
        return this.extras.changeMedia(vm, this.withLiveState(vm).state, p.drive, null);
      }
      case 'listRecentImages':
        return this.extras.listRecentImages(p.kind);
      case 'createDisk':
        return this.extras.createDisk(p);
      case 'setCableConnected': {
        // Running or paused: the guest sees the link change at once; the settings keep it.
        const vm = await this.record(p);
        if (typeof p.connected !== 'boolean') throw new ApiError('invalid', 'setCableConnected: connected must be true or false', [{ field: 'connected', message: 'true or false' }]);
        const state = this.withLiveState(vm).state;
        if (state === 'starting' || state === 'stopping') throw new ApiError('bad-state', `"${vm.name}" is ${state}; try again in a moment`);
        if (state === 'running' || state === 'paused') await hypervisor.setCableConnected(vm.id, p.connected);
        const updated = await library.update(vm.id, { nic: { cableConnected: p.connected } as VmSettings['nic'] }, { allowWhilePoweredOn: true });
        this.changed();
        return this.withLiveState(updated);
      }
    }
  }

  private async record(p: { id?: unknown }): Promise<VmRecord> {
    if (typeof p.id !== 'string' || p.id === '') throw new ApiError('invalid', 'id is required');
    let vm: VmRecord | null | undefined;
    try {
      vm = await this.opts.library.get(p.id);
    } catch (err) {
      if (err instanceof ApiError) throw err;
      vm = null;
    }
    if (!vm) throw new ApiError('not-found', `no VM with id ${JSON.stringify(p.id)}`);
    return vm;
  }

  /** The hypervisor knows the truth about VMs it runs; the library about the rest. */
  private withLiveState(vm: VmRecord): VmRecord {
    const live = this.opts.hypervisor.knownState(vm.id);
    if (live) return { ...vm, state: live };
    // A state stored by an app that ended while the VM ran is stale: nothing runs it now.
    return ACTIVE_STATES.has(vm.state) ? { ...vm, state: 'off' } : vm;
  }

  private statusOf(vm: VmRecord): VmStatus {
    const status = this.opts.hypervisor.status(vm.id);
    if (this.opts.hypervisor.knownState(vm.id)) return status;
    return { ...status, state: this.withLiveState(vm).state };
  }
}

function settingsOf(vm: VmRecord): VmSettings {
  const { id: _id, createdAt: _c, modifiedAt: _m, state: _s, ...settings } = vm;
  return settings;
}
