// Messages between the hypervisor (main thread) and a VM worker. Pure types and constants:
// the worker imports nothing from the host and vice versa.

import type { MessagePort } from 'node:worker_threads';
import type { InputEvent, MediaDrive, SnapshotOperation, VmSettings } from '../../core/api/contract.js';

/** workerData of a VM worker. */
export interface WorkerInit {
  id: string;
  settings: VmSettings;
  /** URL (href) of the module exporting buildMachine; defaults to main/run/setup.js next to the worker. */
  machineModule: string | null;
  /** Guest instructions per run() call to start with; adapted to keep slices near sliceMs. */
  initialBatch: number;
  /** Longest stretch the worker runs the guest without looking at its messages. */
  sliceMs: number;
  /** Minimum time between screen updates. */
  frameIntervalMs: number;
  /** Time between status messages. */
  statusIntervalMs: number;
  /** Data directory (for relative image paths and the machine's own files). */
  dataDir: string | null;
  /**
   * Open the VM's hard disks through main/snapshot (the library in dataDir), so that live
   * snapshots can be taken and reverted in this worker. False for machines without a library.
   */
  snapshots: boolean;
  /** A machine-state file (main/snapshot container) to continue from: a suspended VM resuming. */
  loadStatePath: string | null;
  /** The VM's port on the hypervisor's LAN switch (network mode `lan`), transferred with workerData. */
  lanPort?: MessagePort | null;
}

/** Commands with a sequence number are answered with a 'reply' of the same seq. */
export type HostToWorker =
  | { type: 'ping'; seq: number }
  | { type: 'pause'; seq: number }
  | { type: 'resume'; seq: number }
  | { type: 'reset'; seq: number }
  | { type: 'power-button'; seq: number }
  | { type: 'power-off'; seq: number }
  | { type: 'screen-text'; seq: number }
  /** Live snapshot as a child of the current node; replies with main/snapshot's SnapshotInfo. */
  | { type: 'snapshot-take'; seq: number; name: string; description: string }
  /** Continue from a snapshot (machine state and disks); replies with its SnapshotInfo. */
  | { type: 'snapshot-revert'; seq: number; snapshotId: string }
  /** Delete a node; its disk layers fold into their dependents, the running disks included. */
  | { type: 'snapshot-delete'; seq: number; snapshotId: string }
  /** Write the machine state to `path`, reply, then power off (the VM is suspended). */
  | { type: 'suspend'; seq: number; path: string }
  /** Insert an image into (path) or eject (null) a removable drive. */
  | { type: 'change-media'; seq: number; drive: MediaDrive; path: string | null }
  /** Plug (true) or unplug the network cable; replies with the link state now seen by the guest. */
  | { type: 'set-cable'; seq: number; connected: boolean }
  | { type: 'input'; events: InputEvent[] }
  | { type: 'full-frame' }
  /** The host has read the last screen message; the worker may send the next one. */
  | { type: 'screen-ack' };

export interface WorkerStatus {
  instructions: number;
  mips: number;
  diskActivity: boolean;
  netActivity: boolean;
  leds: { numLock: boolean; capsLock: boolean; scrollLock: boolean };
  absolutePointer: boolean;
}

export type WorkerToHost =
  | { type: 'pong'; seq: number }
  | { type: 'reply'; seq: number; result?: unknown; error?: string }
  /** The machine's state as the worker runs it. */
  | { type: 'state'; state: 'running' | 'paused' | 'off'; reason?: string }
  | ({ type: 'status' } & WorkerStatus)
  /**
   * Changed rectangles [x, y, w, h] of the frame in `framebuffer` (width*height RGBA8888 from
   * offset 0). The buffer is sent again only when it was replaced (first frame, larger mode).
   */
  | { type: 'screen'; width: number; height: number; full: boolean; rects: number[]; framebuffer?: SharedArrayBuffer }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  /** A step of a long snapshot operation (the host forwards it as a snapshot-progress event). */
  | { type: 'progress'; operation: SnapshotOperation; step: string; fraction: number }
  /** The machine cannot run (missing platform, bad image, exception): the worker exits next. */
  | { type: 'fatal'; message: string };
