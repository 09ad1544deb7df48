// The hypervisor: every running VM in its own worker_thread (vm-worker.ts), with a lifecycle
// state machine, a heap limit from the VM's memory setting, and a heartbeat. A crash, an
// exception, running out of heap or a guest that stops answering ends that VM's worker and
// is reported as state 'crashed'; the app and the other VMs carry on.

import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  ApiError,
  type ApiEvent, type InputEvent, type MediaDrive, type ScreenUpdate, type VmPowerState, type VmSettings, type VmStatus,
} from '../../core/api/contract.js';
import type { SnapshotInfo } from '../snapshot/index.js';
import { LanSwitch } from '../net/lan.js';
import type { HostToWorker, WorkerInit, WorkerStatus, WorkerToHost } from './protocol.js';

export interface HypervisorOptions {
  /** The worker script (compiled JS). Defaults to vm-worker.js next to this module in dist/. */
  workerUrl?: URL;
  /** Module exporting buildMachine for the worker (tests use a fake machine); default main/run/setup.js. */
  machineModule?: URL;
  /** Heap for a VM beyond its guest memory, in MiB. */
  heapMarginMiB?: number;
  /** How often the host pings a worker, and how long a worker may stay silent before it counts as hung. */
  heartbeatIntervalMs?: number;
  heartbeatTimeoutMs?: number;
  /** How long buildMachine may take before the VM counts as crashed. */
  startTimeoutMs?: number;
  /** How long one snapshot, revert or suspend may keep the worker busy before it counts as hung. */
  longOpTimeoutMs?: number;
  sliceMs?: number;
  frameIntervalMs?: number;
  statusIntervalMs?: number;
  /** Where per-VM log files go (`<logDir>/<id>.log`); none when unset. */
  logDir?: string | null;
  dataDir?: string | null;
  /** VM workers open their hard disks through main/snapshot (the library in dataDir), for live snapshots. */
  snapshots?: boolean;
}

const DEFAULTS = {
  heapMarginMiB: 256,
  heartbeatIntervalMs: 1000,
  heartbeatTimeoutMs: 5000,
  startTimeoutMs: 60_000,
  longOpTimeoutMs: 300_000,
  sliceMs: 10,
  frameIntervalMs: 16,
  statusIntervalMs: 500,
};

/** The worker script: next to this module when running from dist/, else dist/'s copy. */
export function defaultWorkerUrl(): URL {
  const here = import.meta.url;
  return here.endsWith('.ts')
    ? new URL('../../dist/main/hypervisor/vm-worker.js', here)
    : new URL('./vm-worker.js', here);
}

/** Heap limit of a VM's worker: its guest memory plus a margin for the emulator itself. */
export function heapLimitMiB(memoryMiB: number, marginMiB: number = DEFAULTS.heapMarginMiB): number {
  return Math.ceil(Math.max(1, memoryMiB)) + marginMiB;
}

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void };

class VmHost {
  state: VmPowerState = 'starting';
  error: string | undefined;
  status: WorkerStatus = {
    instructions: 0, mips: 0, diskActivity: false, netActivity: false,
    leds: { numLock: false, capsLock: false, scrollLock: false }, absolutePointer: false,
  };
  framebuffer: SharedArrayBuffer | null = null;
  readonly pending = new Map<number, Pending>();
  nextSeq = 1;
  pingSentAt = 0;
  pingSeq = 0;
  lastHeardAt = Date.now();
  heartbeat: NodeJS.Timeout | null = null;
  /** Resolves when the worker has ended (any way). */
  readonly exited: Promise<void>;
  resolveExited!: () => void;
  /** Resolves when starting ends: running, or ended. */
  readonly started: Promise<void>;
  resolveStarted!: () => void;
  ending = false;
  /** The host terminated a worker that did not end by itself after power-off. */
  terminatedForPowerOff = false;
  /** The worker wrote its state and is ending: its final state is 'suspended', not 'off'. */
  suspending = false;
  /** Snapshot work in progress: the worker is busy and its heartbeat may pause meanwhile. */
  longOps = 0;
  longOpStartedAt = 0;

  constructor(readonly id: string, readonly worker: Worker) {
    this.exited = new Promise((r) => { this.resolveExited = r; });
    this.started = new Promise((r) => { this.resolveStarted = r; });
  }

  send(msg: HostToWorker): void {
    this.worker.postMessage(msg);
  }
}

export class Hypervisor {
  private readonly vms = new Map<string, VmHost>();
  /** Final states (off/crashed) of VMs whose workers have ended, with the error if any. */
  private readonly ended = new Map<string, { state: VmPowerState; error?: string; status: WorkerStatus }>();
  private readonly listeners = new Set<(event: ApiEvent) => void>();
  /** The LAN segments joining this hypervisor's VMs (a port per VM in `lan` mode). */
  private readonly lan = new LanSwitch();
  private readonly o: Required<Omit<HypervisorOptions, 'workerUrl' | 'machineModule' | 'logDir' | 'dataDir' | 'snapshots'>> & HypervisorOptions;

  constructor(options: HypervisorOptions = {}) {
    this.o = { ...DEFAULTS, ...options };
  }

  onEvent(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => { this.listeners.delete(listener); };
  }

  private emit(event: ApiEvent): void {
    for (const l of [...this.listeners]) {
      try { l(event); } catch (err) { console.error('perseus: hypervisor listener failed', err); }
    }
  }

  /** True while the VM has a worker (starting, running, paused or stopping). */
  isActive(id: string): boolean {
    return this.vms.has(id);
  }

  /** The state the hypervisor knows for this VM, or null when it never ran here. */
  knownState(id: string): VmPowerState | null {
    return this.vms.get(id)?.state ?? this.ended.get(id)?.state ?? null;
  }

  /** Drop what is remembered about a VM that is not running (it was deleted). */
  forget(id: string): void {
    if (!this.vms.has(id)) this.ended.delete(id);
  }

  status(id: string): VmStatus {
    const vm = this.vms.get(id);
    if (vm) return this.statusOf(vm);
    const end = this.ended.get(id);
    const status: VmStatus = {
      id, state: end?.state ?? 'off', mips: 0, instructions: end?.status.instructions ?? 0,
      diskActivity: false, netActivity: false,
      leds: end?.status.leds ?? { numLock: false, capsLock: false, scrollLock: false },
    };
    if (end?.error) status.error = end.error;
    return status;
  }

  private statusOf(vm: VmHost): VmStatus {
    const s: VmStatus = {
      id: vm.id,
      state: vm.state,
      mips: vm.state === 'running' ? vm.status.mips : 0,
      instructions: vm.status.instructions,
      diskActivity: vm.status.diskActivity,
      netActivity: vm.status.netActivity,
      leds: { ...vm.status.leds },
      absolutePointer: vm.status.absolutePointer,
    };
    if (vm.error) s.error = vm.error;
    return s;
  }

  /** Start a VM; resolves once it runs, or with state 'crashed' and the error when it cannot. */
  async powerOn(id: string, settings: VmSettings, opts: { loadStatePath?: string | null } = {}): Promise<VmStatus> {
    const existing = this.vms.get(id);
    // A crashed VM's worker may still be ending: wait for it, then start afresh.
    if (existing?.state === 'crashed') await existing.exited;
    const current = this.vms.get(id);
    if (current) throw new ApiError('bad-state', `the VM is already ${current.state}`);
    const init: WorkerInit = {
      id,
      settings,
      machineModule: this.o.machineModule?.href ?? null,
      initialBatch: 10_000,
      sliceMs: this.o.sliceMs,
      frameIntervalMs: this.o.frameIntervalMs,
      statusIntervalMs: this.o.statusIntervalMs,
      dataDir: this.o.dataDir ?? null,
      snapshots: this.o.snapshots ?? false,
      loadStatePath: opts.loadStatePath ?? null,
      // LAN segments: the VMs this hypervisor runs on one segment name share a switch.
      lanPort: settings.nic?.model !== 'none' && settings.nic?.network === 'lan' && settings.nic.lanSegment ? this.lan.connect(settings.nic.lanSegment) : null,
    };
    const limit = heapLimitMiB(settings.memoryMiB, this.o.heapMarginMiB);
    let worker: Worker;
    try {
      worker = new Worker(this.o.workerUrl ?? defaultWorkerUrl(), {
        workerData: init,
        transferList: init.lanPort ? [init.lanPort] : [],
        name: `vm-${id}`,
        resourceLimits: { maxOldGenerationSizeMb: limit, maxYoungGenerationSizeMb: 32, stackSizeMb: 8 },
        stdout: false,
        stderr: false,
      });
    } catch (err) {
      init.lanPort?.close();
      throw new ApiError('internal', `cannot start a VM worker: ${(err as Error).message}`);
    }
    const vm = new VmHost(id, worker);
    this.vms.set(id, vm);
    this.ended.delete(id);
    this.setState(vm, 'starting');
    this.log(id, 'info', `powering on (heap limit ${limit} MiB)`);

    worker.on('message', (msg: WorkerToHost) => this.onMessage(vm, msg));
    worker.on('error', (err: Error & { code?: string }) => {
      const what = err.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? `the VM ran out of its ${limit} MiB heap (${err.message})`
        : `the VM worker failed: ${err.stack ?? err.message}`;
      this.crash(vm, what);
    });
    worker.on('messageerror', (err) => this.crash(vm, `bad message from the VM worker: ${err.message}`));
    worker.on('exit', (code) => this.onExit(vm, code));

    vm.heartbeat = setInterval(() => this.checkHeartbeat(vm), Math.max(10, Math.min(this.o.heartbeatIntervalMs, this.o.heartbeatTimeoutMs / 2)));
    vm.heartbeat.unref?.();
    await vm.started;
    return this.status(id);
  }

  async powerOff(id: string): Promise<VmStatus> {
    const vm = this.require(id, ['starting', 'running', 'paused', 'stopping']);
    if (!vm.ending) {
      vm.ending = true;
      this.setState(vm, 'stopping');
      if (vm.state === 'stopping') {
        // Ask the worker to close the machine (flushes disks); a worker that does not end soon is terminated.
        vm.send({ type: 'power-off', seq: vm.nextSeq++ });
        const timer = setTimeout(() => { vm.terminatedForPowerOff = true; void vm.worker.terminate(); }, 2000);
        void vm.exited.then(() => clearTimeout(timer));
      }
    }
    await vm.exited;
    return this.status(id);
  }

  /** ACPI power button: the guest decides; the VM goes off when the guest powers down. */
  async shutdown(id: string): Promise<VmStatus> {
    const vm = this.require(id, ['running']);
    await this.command(vm, 'power-button');
    return this.status(id);
  }

  async reset(id: string): Promise<VmStatus> {
    const vm = this.require(id, ['running', 'paused']);
    await this.command(vm, 'reset');
    return this.status(id);
  }

  async pause(id: string): Promise<VmStatus> {
    const vm = this.require(id, ['running']);
    await this.command(vm, 'pause');
    return this.status(id);
  }

  async resume(id: string): Promise<VmStatus> {
    const vm = this.require(id, ['paused']);
    await this.command(vm, 'resume');
    return this.status(id);
  }

  /** A live snapshot of a running or paused VM (main/snapshot, inside its worker). */
  async takeSnapshot(id: string, name: string, description: string): Promise<SnapshotInfo> {
    const vm = this.require(id, ['running', 'paused']);
    return await this.longRequest(vm, { type: 'snapshot-take', seq: 0, name, description }) as SnapshotInfo;
  }

  /** A running or paused VM continues from a snapshot's machine state and disks. */
  async revertSnapshot(id: string, snapshotId: string): Promise<SnapshotInfo> {
    const vm = this.require(id, ['running', 'paused']);
    const info = await this.longRequest(vm, { type: 'snapshot-revert', seq: 0, snapshotId }) as SnapshotInfo;
    vm.send({ type: 'full-frame' });
    return info;
  }

  /** Delete a snapshot of a running or paused VM inside its worker (its live disks may take the node's data). */
  async deleteSnapshot(id: string, snapshotId: string): Promise<void> {
    const vm = this.require(id, ['running', 'paused']);
    await this.longRequest(vm, { type: 'snapshot-delete', seq: 0, snapshotId });
  }

  /** Write the machine state to `statePath` and end the worker; the VM's state becomes 'suspended'. */
  async suspend(id: string, statePath: string): Promise<VmStatus> {
    const vm = this.require(id, ['running', 'paused']);
    vm.suspending = true;
    try {
      await this.longRequest(vm, { type: 'suspend', seq: 0, path: statePath });
    } catch (err) {
      vm.suspending = false;
      throw err;
    }
    await vm.exited;
    return this.status(id);
  }

  /** Insert (path) or eject (null) removable media in a running or paused VM. */
  async changeMedia(id: string, drive: MediaDrive, path: string | null): Promise<void> {
    const vm = this.require(id, ['running', 'paused']);
    await this.request(vm, { type: 'change-media', seq: 0, drive, path });
  }

  /** Plug or unplug a running or paused VM's network cable; resolves to the guest's link state. */
  async setCableConnected(id: string, connected: boolean): Promise<boolean> {
    const vm = this.require(id, ['running', 'paused']);
    return (await this.request(vm, { type: 'set-cable', seq: 0, connected })) === true;
  }

  sendInput(id: string, events: InputEvent[]): void {
    const vm = this.require(id, ['running', 'paused']);
    if (events.length > 0) vm.send({ type: 'input', events });
  }

  async screenText(id: string): Promise<string> {
    const vm = this.require(id, ['running', 'paused']);
    return String(await this.command(vm, 'screen-text'));
  }

  requestFullFrame(id: string): void {
    const vm = this.require(id, ['running', 'paused']);
    vm.send({ type: 'full-frame' });
  }

  /** Power off every VM (app quit). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.vms.keys()].map((id) => this.powerOff(id).catch(() => undefined)));
  }

  private require(id: string, states: VmPowerState[]): VmHost {
    const vm = this.vms.get(id);
    const state = vm?.state ?? this.ended.get(id)?.state ?? 'off';
    if (!vm || !states.includes(state)) {
      throw new ApiError('bad-state', `not possible while the VM is ${state} (needs ${states.join(' or ')})`);
    }
    return vm;
  }

  /** A request answered by a reply (seq is filled in here). */
  private request(vm: VmHost, msg: Extract<HostToWorker, { seq: number }>): Promise<unknown> {
    const seq = vm.nextSeq++;
    return new Promise((resolve, reject) => {
      vm.pending.set(seq, { resolve, reject });
      vm.send({ ...msg, seq });
    });
  }

  /** A request that may keep the worker busy for seconds (saving RAM): no heartbeat meanwhile. */
  private async longRequest(vm: VmHost, msg: Extract<HostToWorker, { seq: number }>): Promise<unknown> {
    if (vm.longOps++ === 0) vm.longOpStartedAt = Date.now();
    try {
      return await this.request(vm, msg);
    } finally {
      vm.longOps--;
      vm.lastHeardAt = Date.now();
      vm.pingSentAt = 0;
    }
  }

  private command(vm: VmHost, type: 'pause' | 'resume' | 'reset' | 'power-button' | 'screen-text'): Promise<unknown> {
    const seq = vm.nextSeq++;
    return new Promise((resolve, reject) => {
      vm.pending.set(seq, { resolve, reject });
      vm.send({ type, seq });
    });
  }

  private onMessage(vm: VmHost, msg: WorkerToHost): void {
    vm.lastHeardAt = Date.now();
    switch (msg.type) {
      case 'pong':
        if (msg.seq === vm.pingSeq) vm.pingSentAt = 0;
        return;
      case 'reply': {
        const p = vm.pending.get(msg.seq);
        if (!p) return;
        vm.pending.delete(msg.seq);
        if (msg.error !== undefined) p.reject(new ApiError('bad-state', msg.error));
        else p.resolve(msg.result);
        return;
      }
      case 'state':
        if (vm.ending && msg.state !== 'off') return;
        if (msg.state === 'off') {
          if (msg.reason) this.log(vm.id, 'info', msg.reason);
          vm.ending = true;
          this.setState(vm, 'stopping');
          return; // 'off' is set when the thread has ended
        }
        this.setState(vm, msg.state);
        if (msg.state === 'running') vm.resolveStarted();
        return;
      case 'status': {
        const { type: _t, ...status } = msg;
        vm.status = status;
        this.emit({ type: 'vm-status', status: this.statusOf(vm) });
        return;
      }
      case 'screen':
        this.onScreen(vm, msg);
        return;
      case 'log':
        this.log(vm.id, msg.level, msg.message);
        return;
      case 'fatal':
        this.crash(vm, msg.message);
        return;
      case 'progress':
        this.emit({ type: 'snapshot-progress', id: vm.id, operation: msg.operation, step: msg.step, fraction: msg.fraction, done: false });
        return;
    }
  }

  private onScreen(vm: VmHost, msg: Extract<WorkerToHost, { type: 'screen' }>): void {
    if (msg.framebuffer) vm.framebuffer = msg.framebuffer;
    const fb = vm.framebuffer;
    if (!fb) return;
    const src = new Uint8Array(fb);
    const stride = msg.width * 4;
    const rects: ScreenUpdate['rects'] = [];
    for (let i = 0; i + 3 < msg.rects.length; i += 4) {
      const x = msg.rects[i]!, y = msg.rects[i + 1]!, w = msg.rects[i + 2]!, h = msg.rects[i + 3]!;
      const rgba = new Uint8Array(w * h * 4);
      for (let row = 0; row < h; row++) {
        const at = (y + row) * stride + x * 4;
        rgba.set(src.subarray(at, at + w * 4), row * w * 4);
      }
      rects.push({ x, y, w, h, rgba });
    }
    vm.send({ type: 'screen-ack' });
    this.emit({ type: 'screen', update: { id: vm.id, width: msg.width, height: msg.height, full: msg.full, rects } });
  }

  private checkHeartbeat(vm: VmHost): void {
    if (!this.vms.has(vm.id) || vm.state === 'crashed') return;
    const now = Date.now();
    if (vm.longOps > 0) {
      // Saving a big guest's RAM may take a while; only a very long silence counts as a hang.
      if (now - vm.longOpStartedAt > this.o.longOpTimeoutMs) {
        this.crash(vm, `the VM did not finish its snapshot work within ${(this.o.longOpTimeoutMs / 1000).toFixed(0)} s; its worker was stopped`);
      }
      return;
    }
    if (vm.state === 'starting') {
      // Building a machine may block the worker a while (reading images): only the start timeout applies.
      if (now - vm.lastHeardAt > this.o.startTimeoutMs) {
        this.crash(vm, `the VM did not start within ${(this.o.startTimeoutMs / 1000).toFixed(1)} s`);
      }
      return;
    }
    if (vm.pingSentAt !== 0 && now - vm.pingSentAt > this.o.heartbeatTimeoutMs) {
      this.crash(vm, `the VM stopped responding (no heartbeat for ${(this.o.heartbeatTimeoutMs / 1000).toFixed(1)} s); its worker was stopped`);
      return;
    }
    if (vm.pingSentAt === 0 && now - vm.lastHeardAt >= this.o.heartbeatIntervalMs) {
      vm.pingSeq = vm.nextSeq++;
      vm.pingSentAt = now;
      vm.send({ type: 'ping', seq: vm.pingSeq });
    }
  }

  /** The VM failed: report once, stop its worker; state stays 'crashed'. */
  private crash(vm: VmHost, message: string): void {
    if (vm.state === 'crashed') return;
    vm.error = message;
    this.log(vm.id, 'error', `crashed: ${message}`);
    this.setState(vm, 'crashed');
    void vm.worker.terminate();
  }

  private onExit(vm: VmHost, code: number): void {
    if (vm.heartbeat) clearInterval(vm.heartbeat);
    if (vm.state !== 'crashed' && !(vm.ending && (code === 0 || vm.terminatedForPowerOff))) {
      this.crash(vm, `the VM worker ended unexpectedly (exit code ${code})`);
    }
    const final: VmPowerState = vm.state === 'crashed' ? 'crashed' : vm.suspending ? 'suspended' : 'off';
    const err = new ApiError('bad-state', final === 'crashed' ? `the VM crashed: ${vm.error}` : `the VM is ${final}`);
    for (const p of vm.pending.values()) p.reject(err);
    vm.pending.clear();
    this.vms.delete(vm.id);
    this.ended.set(vm.id, { state: final, ...(vm.error ? { error: vm.error } : {}), status: vm.status });
    if (final !== 'crashed') {
      vm.state = final;
      this.emit({ type: 'vm-state', id: vm.id, state: final });
      this.log(vm.id, 'info', final === 'suspended' ? 'suspended' : 'powered off');
    }
    vm.resolveStarted();
    vm.resolveExited();
  }

  private setState(vm: VmHost, state: VmPowerState): void {
    if (vm.state === state && state !== 'starting') return;
    if (vm.state === 'crashed') return;
    vm.state = state;
    const event: ApiEvent = state === 'crashed' && vm.error
      ? { type: 'vm-state', id: vm.id, state, error: vm.error }
      : { type: 'vm-state', id: vm.id, state };
    this.emit(event);
    if (state === 'crashed') vm.resolveStarted();
  }

  private log(id: string, level: 'info' | 'warn' | 'error', message: string): void {
    this.emit({ type: 'log', id, level, message });
    if (level === 'error') console.error(`perseus: VM ${id}: ${message}`);
    const dir = this.o.logDir;
    if (dir) {
      const line = `${new Date().toISOString()} ${level} ${message}\n`;
      void mkdir(dir, { recursive: true })
        .then(() => appendFile(join(dir, `${id}.log`), line))
        .catch(() => { /* logging must never take the app down */ });
    }
  }
}
