// One running VM: this script runs in its own worker_thread, builds the machine (core/ through
// main/run/setup.ts's buildMachine) and runs it in time slices, answering the host's messages
// between slices. A guest that never yields (a CPU bug, a runaway loop inside run()) stops
// answering pings; the host then terminates this thread without harming anything else.

import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { DirtyRect, Machine, RunStop } from '../../core/board/machine.js';
import type { BlockDevice } from '../../core/disk/block.js';
import type { HostToWorker, WorkerInit, WorkerToHost } from './protocol.js';
import type { VmLibrary } from '../library/index.js';
import type { LiveDisk, SnapshotStore } from '../snapshot/index.js';
import { changeMedia, closeMedia, currentMedia, type MediaSlots } from './worker-media.js';
import * as snap from './worker-snapshots.js';
import { vmMac } from '../net/nic-settings.js';

const init = workerData as WorkerInit;
const port = parentPort!;

function post(msg: WorkerToHost): void {
  port.postMessage(msg);
}

function log(level: 'info' | 'warn' | 'error', message: string): void {
  post({ type: 'log', level, message });
}

// The machine's own messages (debug ports, device warnings) can come by the thousand: at most
// LOG_BURST per second reach the host, with a count of what was left out.
const LOG_BURST = 50;
let logWindowStart = 0;
let logsInWindow = 0;
let logsDropped = 0;

function machineLog(message: string): void {
  const now = performance.now();
  if (now - logWindowStart >= 1000) {
    if (logsDropped > 0) log('warn', `${logsDropped} more machine messages were not shown`);
    logWindowStart = now;
    logsInWindow = 0;
    logsDropped = 0;
  }
  if (logsInWindow++ < LOG_BURST) log('info', message);
  else logsDropped++;
}

let machine: Machine | null = null;
let state: 'starting' | 'running' | 'paused' | 'off' = 'starting';
let batch = Math.max(1000, init.initialBatch);
let loopScheduled = false;

// Screen: the machine's pixels are copied (dirty rects only) into a SharedArrayBuffer the
// host reads; the next update goes out only after the host acknowledged the previous one, and
// rects accumulate meanwhile.
let framebuffer: SharedArrayBuffer | null = null;
let framebufferSent = false;
let frameWidth = 0;
let frameHeight = 0;
let awaitingAck = false;
let wantFullFrame = true;
let pendingRects: DirtyRect[] = [];
/** When the next screen update is due: a fixed cadence, so slice jitter does not lower the rate. */
let nextFrameAt = 0;

let lastStatusAt = 0;
let lastStatusInstructions = 0;

/** The machine cannot go on: tell the host why and end the thread (exit code 1). */
function fatal(message: string): void {
  if (state === 'off') return;
  state = 'off';
  post({ type: 'fatal', message });
  // Let the message go out before the thread ends.
  setImmediate(() => process.exit(1));
}

/** Image files the guest may write to: floppies and hard disks (CD-ROMs are read-only media). */
/** The file's permission bits allow no writes (running as root we could write it anyway). */
function isReadOnlyFile(path: string): boolean {
  try { return (statSync(path).mode & 0o222) === 0; } catch { return false; }
}

/** The VM's hard-disk images (floppies are protected image by image in buildMachine). */
function hardDiskPaths(settings: WorkerInit['settings']): string[] {
  const paths: (string | null)[] = [];
  for (const drive of Object.values(settings.ide ?? {})) if (drive?.kind === 'disk') paths.push(drive.path);
  return paths.filter((p): p is string => typeof p === 'string' && p !== '');
}

type BuildMachine = (settings: unknown, opts: unknown) => Machine | Promise<Machine>;

/** buildMachine from the machine module, or null after reporting why there is none. */
async function loadBuildMachine(): Promise<BuildMachine | null> {
  const specifier = init.machineModule ?? new URL('../run/setup.js', import.meta.url).href;
  let mod: { buildMachine?: BuildMachine; closeNetwork?: (machine: object) => void; machineNetwork?: typeof machineNetwork };
  try {
    mod = await import(specifier);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes('setup.js')) {
      fatal('no machine can run yet: main/run/setup.js (buildMachine) is not built; the PC platform is still missing');
    } else {
      fatal(`cannot load the machine module: ${(err as Error)?.message ?? String(err)}`);
    }
    return null;
  }
  if (typeof mod.buildMachine !== 'function') {
    fatal('no machine can run yet: main/run/setup.js does not export buildMachine');
    return null;
  }
  closeMachineNetwork = mod.closeNetwork ?? (() => {});
  machineNetwork = mod.machineNetwork ?? (() => null);
  return mod.buildMachine;
}

/** Ends the host side of the machine's network at power off (from the machine module). */
let closeMachineNetwork: (machine: object) => void = () => {};
/** The host side of the machine's network (the cable switch), from the machine module. */
let machineNetwork: (machine: object) => { setLinkUp(up: boolean): void; readonly linkUp: boolean } | null = () => null;

// Snapshots: the library and snapshot store this worker opened (init.snapshots), and the VM's
// hard disks as main/snapshot's LiveDisks, which take/revert repoint at new overlays.
let library: VmLibrary | null = null;
let store: SnapshotStore | null = null;
let liveDisks: Record<string, LiveDisk> = {};
let snapshotRefusal: string | null = null;
/** The removable media the machine holds now (they change while it runs). */
let media: MediaSlots = { fda: null, fdb: null, cdrom: null, cdromIndex: -1 };

async function start(): Promise<void> {
  const build = await loadBuildMachine();
  if (!build) return;
  let ideDisks: Record<string, BlockDevice> | undefined;
  const buildWith = (writable: boolean) => build(init.settings, {
    dataDir: init.dataDir,
    writable,
    deterministic: false,
    log: machineLog,
    // Each VM its own stable MAC (settings, else from its id): VMs on one segment never clash.
    mac: vmMac(init.settings.nic, init.id),
    lanPort: init.lanPort ?? null,
    ...(ideDisks ? { ideDisks } : {}),
  });
  // A file whose permissions say read-only stays unwritten even when we could (running as root).
  // A read-only floppy image does not stop snapshots: buildMachine keeps its writes in memory.
  const readOnlyFiles = hardDiskPaths(init.settings).filter(isReadOnlyFile);
  try {
    await snap.loadSnapshotModule();
    if (init.snapshots && init.dataDir) {
      let opened: Awaited<ReturnType<typeof snap.openSnapshotDisks>>;
      let writable = readOnlyFiles.length === 0;
      try {
        opened = await snap.openSnapshotDisks(init, writable);
      } catch (err) {
        // An image we may not write (other owner, read-only file system): run without live
        // snapshots, with the guest's writes in memory (the fallback below).
        if (!/EACCES|EROFS|EPERM/.test(String((err as Error)?.message))) throw err;
        writable = false;
        opened = await snap.openSnapshotDisks(init, false);
      }
      // Without its hard disks under snapshot control a VM's snapshots would lose the disks.
      if (!writable && snap.hasHardDisks(init)) {
        snapshotRefusal = snap.READ_ONLY_REFUSAL;
        log('warn', snapshotRefusal);
      }
      library = opened.library;
      store = opened.store;
      liveDisks = opened.disks;
      if (Object.keys(liveDisks).length > 0) ideDisks = liveDisks;
    }
    const readOnlyFloppies = [init.settings.floppyA, init.settings.floppyB].filter((p): p is string => !!p && isReadOnlyFile(p));
    if (readOnlyFloppies.length > 0) log('warn', `read-only image ${readOnlyFloppies.join(', ')}: the guest's writes are discarded at power off`);
    if (readOnlyFiles.length > 0) {
      machine = await buildWith(false);
      log('warn', `read-only image ${readOnlyFiles.join(', ')}: the guest's writes are discarded at power off`);
    } else {
      try {
        machine = await buildWith(true);
      } catch (err) {
        // The file could not be opened for writing: run with the guest's writes kept in memory.
        if (!/EACCES|EROFS|EPERM/.test(String((err as Error)?.message))) throw err;
        machine = await buildWith(false);
        log('warn', `an image is read-only (${(err as Error).message}); the guest's writes to it are discarded at power off`);
      }
    }
  } catch (err) {
    for (const d of Object.values(liveDisks)) { try { d.close(); } catch { /* closing anyway */ } }
    fatal(`the machine could not be built: ${(err as Error)?.message ?? String(err)}`);
    return;
  }
  media = currentMedia(machine!, init.settings);
  if (init.loadStatePath) {
    // A suspended VM (or an off VM reverted to a running snapshot) continues from its state.
    try {
      snap.loadStateFile(machine!, init.loadStatePath);
    } catch (err) {
      fatal(`cannot resume the saved machine state: ${(err as Error)?.message ?? String(err)}`);
      return;
    }
    wantFullFrame = true;
  }
  if ((state as string) === 'off') return;
  state = 'running';
  lastStatusAt = performance.now();
  lastStatusInstructions = machine!.instructionCount;
  post({ type: 'state', state: 'running' });
  schedule();
}

function schedule(delayMs = 0): void {
  if (loopScheduled || state !== 'running') return;
  loopScheduled = true;
  if (delayMs > 0) setTimeout(step, delayMs);
  else setImmediate(step);
}

/** One time slice: run the guest for about sliceMs, then screen and status, then yield. */
function step(): void {
  loopScheduled = false;
  if (state !== 'running' || !machine) return;
  const m = machine;
  const sliceStart = performance.now();
  let stop: RunStop = 'budget';
  let idleMs = -1;
  try {
    for (;;) {
      const t0 = performance.now();
      stop = m.run(batch);
      const took = performance.now() - t0;
      // Aim for run() calls of about a quarter slice so a slice ends close to sliceMs.
      if (stop === 'budget') {
        if (took < init.sliceMs / 8) batch = Math.min(batch * 2, 50_000_000);
        else if (took > init.sliceMs / 2) batch = Math.max(1000, batch >> 1);
      }
      if (stop === 'poweroff' || m.poweredOff) { powerOff('the guest powered off'); return; }
      if (stop === 'reset') { log('info', 'the guest reset the machine'); wantFullFrame = true; }
      if (stop === 'halted') { idleMs = idleWait(m); break; }
      if (stop === 'breakpoint') break;
      if (performance.now() - sliceStart >= init.sliceMs) break;
    }
  } catch (err) {
    // An exception inside the machine is a crash of this VM only: report and end the thread.
    const e = err as Error;
    fatal(`the machine failed: ${e?.stack ?? String(err)}`);
    return;
  }
  const now = performance.now();
  if (now >= nextFrameAt) {
    // Slices end every ~10 ms: keeping the cadence (rather than "16 ms after the last frame",
    // which waits for the second slice after it) delivers the full frame rate.
    nextFrameAt = Math.max(nextFrameAt + init.frameIntervalMs, now - init.frameIntervalMs / 2);
    collectScreen();
  }
  if (now - lastStatusAt >= init.statusIntervalMs) sendStatus(now);
  // A halted guest waits for an interrupt: give the host CPU back until its next timer.
  schedule(idleMs);
}

/** How long to sleep after run() returned 'halted': the machine's hint, 1..10 ms. */
function idleWait(m: Machine): number {
  const hint = (m as Machine & { idleWaitMs?: () => number }).idleWaitMs?.();
  if (typeof hint !== 'number' || !Number.isFinite(hint)) return 1;
  return Math.min(10, Math.max(1, Math.round(hint)));
}

function collectScreen(): void {
  const m = machine;
  if (!m) return;
  let rects: DirtyRect[];
  try { rects = m.updateScreen(); } catch (err) { fatal(`the display failed: ${(err as Error)?.stack ?? String(err)}`); return; }
  const screen = m.screen();
  const { width, height } = screen;
  if (width <= 0 || height <= 0) return;
  const bytes = width * height * 4;
  if (width !== frameWidth || height !== frameHeight) {
    frameWidth = width;
    frameHeight = height;
    wantFullFrame = true;
  }
  if (!framebuffer || framebuffer.byteLength < bytes) {
    framebuffer = new SharedArrayBuffer(Math.max(bytes, 1024 * 768 * 4));
    framebufferSent = false;
    wantFullFrame = true;
  }
  if (wantFullFrame) {
    pendingRects = [{ x: 0, y: 0, w: width, h: height }];
  } else if (rects.length > 0) {
    for (const r of rects) {
      const x = Math.max(0, r.x), y = Math.max(0, r.y);
      const w = Math.min(width, r.x + r.w) - x, h = Math.min(height, r.y + r.h) - y;
      if (w > 0 && h > 0) pendingRects.push({ x, y, w, h });
    }
    if (pendingRects.length > 32) pendingRects = [boundingBox(pendingRects)];
  }
  if (awaitingAck || pendingRects.length === 0) return;
  const dst = new Uint8Array(framebuffer, 0, bytes);
  const src = screen.rgba;
  const stride = width * 4;
  const full = wantFullFrame;
  if (full) dst.set(src.subarray(0, bytes));
  else {
    for (const r of pendingRects) {
      for (let row = r.y; row < r.y + r.h; row++) {
        const at = row * stride + r.x * 4;
        dst.set(src.subarray(at, at + r.w * 4), at);
      }
    }
  }
  const flat: number[] = [];
  for (const r of pendingRects) flat.push(r.x, r.y, r.w, r.h);
  post({
    type: 'screen', width, height, full, rects: flat,
    ...(framebufferSent ? {} : { framebuffer }),
  });
  framebufferSent = true;
  wantFullFrame = false;
  pendingRects = [];
  awaitingAck = true;
}

function boundingBox(rects: DirtyRect[]): DirtyRect {
  let x0 = Infinity, y0 = Infinity, x1 = 0, y1 = 0;
  for (const r of rects) {
    x0 = Math.min(x0, r.x); y0 = Math.min(y0, r.y);
    x1 = Math.max(x1, r.x + r.w); y1 = Math.max(y1, r.y + r.h);
  }
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

function sendStatus(now: number): void {
  const m = machine;
  if (!m) return;
  const instructions = m.instructionCount;
  const seconds = (now - lastStatusAt) / 1000;
  const mips = state === 'running' && seconds > 0 ? (instructions - lastStatusInstructions) / seconds / 1e6 : 0;
  lastStatusAt = now;
  lastStatusInstructions = instructions;
  let s: ReturnType<Machine['status']>;
  try { s = m.status(); } catch { s = { leds: { numLock: false, capsLock: false, scrollLock: false }, diskActivity: false, netActivity: false }; }
  post({ type: 'status', instructions, mips, diskActivity: s.diskActivity, netActivity: s.netActivity, leds: s.leds, absolutePointer: s.absolutePointer === true });
}

function powerOff(reason: string): void {
  if (state === 'off') return;
  state = 'off';
  if (machine) sendStatus(performance.now());
  flushImages(true);
  if (machine) closeMachineNetwork(machine);
  try { library?.close(); } catch { /* the thread ends anyway */ }
  post({ type: 'state', state: 'off', reason });
  setImmediate(() => process.exit(0));
}

/** Make the machine's images durable (pause, power off); `close` also closes them. */
function flushImages(close: boolean): void {
  const m = machine as (Machine & {
    close?: () => void;
    config?: { floppy?: (BlockDeviceLike | null)[]; ide?: ({ device: BlockDeviceLike | null } | null)[] };
  }) | null;
  if (!m) return;
  try {
    if (close && typeof m.close === 'function') { m.close(); closeMedia(media); return; }
    // The removable drives hold what `media` says (the boot-time devices may be ejected and closed).
    const devices = new Set<BlockDeviceLike | null>([media.fda, media.fdb, media.cdrom]);
    (m.config?.ide ?? []).forEach((a, i) => { if (i !== media.cdromIndex) devices.add(a?.device ?? null); });
    for (const d of devices) {
      if (!d) continue;
      try {
        d.flush?.();
        if (close) d.close?.();
      } catch (err) {
        log('warn', `flushing the machine's images: ${(err as Error)?.message ?? String(err)}`);
      }
    }
  } catch (err) {
    log('warn', `flushing the machine's images: ${(err as Error)?.message ?? String(err)}`);
  }
}

interface BlockDeviceLike { flush?: () => void; close?: () => void }

port.on('message', (msg: HostToWorker) => {
  try {
    handle(msg);
  } catch (err) {
    fatal(`the machine failed: ${(err as Error)?.stack ?? String(err)}`);
  }
});

function reply(seq: number, result?: unknown, error?: string): void {
  post(error === undefined ? { type: 'reply', seq, result } : { type: 'reply', seq, error });
}

function handle(msg: HostToWorker): void {
  switch (msg.type) {
    case 'ping':
      post({ type: 'pong', seq: msg.seq });
      return;
    case 'screen-ack':
      awaitingAck = false;
      return;
    case 'full-frame':
      wantFullFrame = true;
      if (state === 'paused') { awaitingAck = false; collectScreen(); }
      return;
    case 'input':
      if (!machine || (state !== 'running' && state !== 'paused')) return;
      for (const e of msg.events) {
        try { machine.input(e); } catch (err) { log('warn', `input ${JSON.stringify(e).slice(0, 80)} failed: ${(err as Error)?.message ?? String(err)}`); }
      }
      return;
    case 'pause':
      if (state !== 'running') return reply(msg.seq, undefined, `cannot pause in state ${state}`);
      state = 'paused';
      flushImages(false);
      sendStatus(performance.now());
      post({ type: 'state', state: 'paused' });
      return reply(msg.seq, true);
    case 'resume':
      if (state !== 'paused') return reply(msg.seq, undefined, `cannot resume in state ${state}`);
      state = 'running';
      lastStatusAt = performance.now();
      lastStatusInstructions = machine?.instructionCount ?? 0;
      post({ type: 'state', state: 'running' });
      schedule();
      return reply(msg.seq, true);
    case 'reset':
      if (!machine) return reply(msg.seq, undefined, `cannot reset in state ${state}`);
      machine.reset();
      wantFullFrame = true;
      if (state === 'paused') {
        state = 'running';
        post({ type: 'state', state: 'running' });
        schedule();
      }
      return reply(msg.seq, true);
    case 'power-button':
      if (!machine) return reply(msg.seq, undefined, `cannot press the power button in state ${state}`);
      machine.powerButton();
      return reply(msg.seq, true);
    case 'power-off':
      reply(msg.seq, true);
      powerOff('powered off');
      return;
    case 'screen-text':
      return reply(msg.seq, machine ? machine.screen().text : '');
    case 'snapshot-take':
    case 'snapshot-revert':
    case 'snapshot-delete':
    case 'suspend': {
      // These run between slices, so the guest is stopped while they work; a running VM
      // simply carries on with the next slice.
      if (!machine || (state !== 'running' && state !== 'paused')) return reply(msg.seq, undefined, `not possible in state ${state}`);
      const ctx: snap.SnapshotContext = {
        vmId: init.id, machine, store, disks: liveDisks, refusal: snapshotRefusal,
        progress: (operation, step, fraction) => post({ type: 'progress', operation, step, fraction }),
      };
      try {
        if (msg.type === 'snapshot-take') {
          flushImages(false);
          const info = snap.take(ctx, msg.name, msg.description);
          // The thumbnail consumed the screen's dirty rectangles: send the whole frame next.
          wantFullFrame = true;
          return reply(msg.seq, info);
        }
        if (msg.type === 'snapshot-delete') {
          snap.remove(ctx, msg.snapshotId);
          return reply(msg.seq, true);
        }
        if (msg.type === 'snapshot-revert') {
          const info = snap.revert(ctx, msg.snapshotId);
          wantFullFrame = true;
          lastStatusInstructions = machine.instructionCount;
          return reply(msg.seq, info);
        }
        flushImages(false);
        snap.suspend(ctx, msg.path);
      } catch (err) {
        return reply(msg.seq, undefined, (err as Error)?.message ?? String(err));
      }
      reply(msg.seq, true);
      powerOff('suspended to disk');
      return;
    }
    case 'set-cable': {
      // The cable switch: replies with the link state the guest now sees (false without a network).
      const net = machine ? machineNetwork(machine) : null;
      net?.setLinkUp(msg.connected);
      return reply(msg.seq, net ? net.linkUp : false);
    }
    case 'change-media':
      if (!machine) return reply(msg.seq, undefined, `cannot change media in state ${state}`);
      try {
        changeMedia(machine, init.settings, media, msg.drive, msg.path, machineLog);
      } catch (err) {
        return reply(msg.seq, undefined, (err as Error)?.message ?? String(err));
      }
      return reply(msg.seq, true);
  }
}

void start();
