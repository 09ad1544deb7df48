// LAN segments: a virtual Ethernet switch joining the NICs of several VMs by segment name.
//
// Each VM runs in its own worker thread, so the switch lives in the main process and talks to
// every VM over a MessagePort:
//
//   main process                                   VM worker thread
//   LanSwitch.connect('lab') ─▶ MessagePort ══ postMessage(frame) ══▶ LanPortBackend(port)
//        (MAC learning, flooding per segment)                          (the NIC's NetworkBackend)
//
// The hypervisor calls `lanSwitch.connect(segment)` and transfers the returned port to the
// worker (in workerData's transferList or a message); the worker wraps it in LanPortBackend
// and gives that to the machine as `nic.backend`. Frames are copied into a fresh ArrayBuffer
// and transferred, so no buffer is shared between threads. The switch learns which port each
// source MAC lives behind, forwards known unicast to that port only, and floods broadcast,
// multicast and unknown unicast to the segment's other ports. Entries age out after 5 min and
// move when a MAC shows up on another port.

import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { NetworkBackend } from '../../core/board/machine.js';

const MAC_AGING_MS = 300_000;
const MAX_FRAME = 65535;
/** Frames waiting in a VM's backend beyond this are dropped (a guest that stopped receiving). */
const MAX_QUEUE = 4096;

interface SwitchPort {
  port: MessagePort;
  segment: string;
  id: number;
}

interface MacEntry {
  port: SwitchPort;
  seen: number;
}

export class LanSwitch {
  private readonly segments = new Map<string, Set<SwitchPort>>();
  private readonly macs = new Map<string, Map<string, MacEntry>>();
  private nextId = 1;
  /** Frames forwarded (per destination port) and dropped, for diagnostics and tests. */
  readonly stats = { forwarded: 0, flooded: 0, dropped: 0 };

  /** A new port on `segment`; hand the returned MessagePort to the VM worker. */
  connect(segment: string): MessagePort {
    const { port1, port2 } = new MessageChannel();
    const sp: SwitchPort = { port: port1, segment, id: this.nextId++ };
    let members = this.segments.get(segment);
    if (!members) {
      members = new Set();
      this.segments.set(segment, members);
      this.macs.set(segment, new Map());
    }
    members.add(sp);
    port1.on('message', (msg: unknown) => this.fromPort(sp, msg));
    port1.on('close', () => this.remove(sp));
    port1.unref();
    return port2;
  }

  /** Segments and how many ports each has. */
  list(): { segment: string; ports: number }[] {
    return [...this.segments].map(([segment, m]) => ({ segment, ports: m.size }));
  }

  close(): void {
    for (const members of this.segments.values()) for (const p of members) p.port.close();
    this.segments.clear();
    this.macs.clear();
  }

  private remove(sp: SwitchPort): void {
    const members = this.segments.get(sp.segment);
    if (!members) return;
    members.delete(sp);
    const table = this.macs.get(sp.segment)!;
    for (const [mac, e] of table) if (e.port === sp) table.delete(mac);
    if (members.size === 0) {
      this.segments.delete(sp.segment);
      this.macs.delete(sp.segment);
    }
  }

  private fromPort(src: SwitchPort, msg: unknown): void {
    const frame = asFrame(msg);
    if (!frame || frame.length < 14 || frame.length > MAX_FRAME) {
      this.stats.dropped++;
      return;
    }
    const members = this.segments.get(src.segment);
    const table = this.macs.get(src.segment);
    if (!members || !table) return;
    const now = Date.now();
    if (!(frame[6] & 1)) table.set(macKey(frame, 6), { port: src, seen: now });
    if (!(frame[0] & 1)) {
      const e = table.get(macKey(frame, 0));
      if (e && now - e.seen < MAC_AGING_MS && members.has(e.port)) {
        if (e.port !== src) {
          deliver(e.port, frame);
          this.stats.forwarded++;
        }
        return;
      }
    }
    this.stats.flooded++;
    for (const p of members) if (p !== src) deliver(p, frame);
  }
}

function deliver(p: SwitchPort, frame: Uint8Array): void {
  const copy = frame.slice();
  try {
    p.port.postMessage(copy, [copy.buffer]);
  } catch {
    // The port is closing: the frame is lost, as on a cable being unplugged.
  }
}

function macKey(f: Uint8Array, o: number): string {
  return `${f[o]}:${f[o + 1]}:${f[o + 2]}:${f[o + 3]}:${f[o + 4]}:${f[o + 5]}`;
}

function asFrame(msg: unknown): Uint8Array | null {
  if (msg instanceof Uint8Array) return msg;
  if (msg instanceof ArrayBuffer) return new Uint8Array(msg);
  return null;
}

/** The VM worker's side of a LAN segment port: the NIC's NetworkBackend. */
export class LanPortBackend implements NetworkBackend {
  /** "Cable connected": while false, frames are neither sent nor received. */
  linkUp = true;
  onFrame: (() => void) | null = null;
  private readonly queue: Uint8Array[] = [];
  private head = 0;
  dropped = 0;

  constructor(private readonly port: MessagePort) {
    port.on('message', (msg: unknown) => {
      const f = asFrame(msg);
      if (!f || !this.linkUp) return;
      if (this.queue.length - this.head >= MAX_QUEUE) {
        this.dropped++;
        return;
      }
      this.queue.push(f);
      this.onFrame?.();
    });
    port.unref();
  }

  send(frame: Uint8Array): void {
    if (!this.linkUp || frame.length > MAX_FRAME) return;
    const copy = frame.slice();
    this.port.postMessage(copy, [copy.buffer]);
  }

  receive(): Uint8Array | null {
    if (!this.linkUp || this.head >= this.queue.length) return null;
    const f = this.queue[this.head];
    this.queue[this.head++] = undefined as unknown as Uint8Array;
    if (this.head > 256 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return f;
  }

  close(): void {
    this.port.close();
  }
}
