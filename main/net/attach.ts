// One VM's network attachment, built from its settings (`nic.network`): the NetworkBackend the
// board's NIC talks to, plus the host-side pieces around it.
//
//   nat  → NatBackend (user-mode NAT, port forwards)
//   lan  → LanPortBackend on the MessagePort the host's LanSwitch gave this VM's worker
//          (`lanSwitch.connect(settings.nic.lanSegment)`, transferred in workerData)
//   none → no backend (the NIC sees no link)
//
// An optional pcap capture wraps the backend. `setLinkUp` is the "cable connected" switch.
// Usage in the VM worker: const net = openNetwork(settings.nic, { lanPort, forwards, capturePath });
// config.nic = { model: settings.nic.model, backend: net.backend }; on power off: net.close().

import { createHash } from 'node:crypto';
import type { MessagePort } from 'node:worker_threads';
import type { NetworkBackend } from '../../core/board/machine.js';
import { LanPortBackend } from './lan.js';
import { NatBackend, type NatOptions, type PortForward } from './nat.js';
import { PcapWriter, captureBackend } from './pcap.js';

export interface NetworkSettings {
  model: string;
  network: 'nat' | 'lan' | 'none';
  lanSegment?: string;
  /** false: the VM starts with its cable unplugged (the guest sees no link). */
  cableConnected?: boolean;
}

export interface NetworkAttachOptions {
  /** The LanSwitch port for `lan` mode. */
  lanPort?: MessagePort | null;
  /** Port forwards for `nat` mode. */
  forwards?: PortForward[];
  /** Write every frame to this pcap file. */
  capturePath?: string;
  nat?: NatOptions;
  log?: (message: string) => void;
}

export interface NetworkAttachment {
  /** What the NIC gets; null without a network. */
  backend: NetworkBackend | null;
  /** The NAT, in `nat` mode. */
  nat: NatBackend | null;
  /** Host ports of the forwards, in the order given (resolves once all listen). */
  forwards: Promise<number[]>;
  setLinkUp(up: boolean): void;
  readonly linkUp: boolean;
  close(): void;
}

export function openNetwork(settings: NetworkSettings, opts: NetworkAttachOptions = {}): NetworkAttachment {
  let inner: (NetworkBackend & { linkUp: boolean }) | null = null;
  let nat: NatBackend | null = null;
  let lan: LanPortBackend | null = null;
  if (settings.model !== 'none' && settings.network === 'nat') {
    nat = new NatBackend({ log: opts.log, ...opts.nat });
    inner = nat;
  } else if (settings.model !== 'none' && settings.network === 'lan') {
    if (!opts.lanPort) throw new Error(`LAN segment "${settings.lanSegment ?? ''}": no switch port was given to this VM`);
    lan = new LanPortBackend(opts.lanPort);
    inner = lan;
  }
  if (inner && settings.cableConnected === false) inner.linkUp = false;
  const forwards = nat && opts.forwards?.length ? Promise.all(opts.forwards.map((f) => nat!.addForward(f))) : Promise.resolve([]);
  // A forward that cannot listen is logged; the VM still runs.
  forwards.catch((e: Error) => opts.log?.(`port forward failed: ${e.message}`));
  let writer: PcapWriter | null = null;
  let backend: NetworkBackend | null = inner;
  if (inner && opts.capturePath) {
    try {
      writer = new PcapWriter(opts.capturePath);
    } catch (e) {
      nat?.close();
      lan?.close();
      throw new Error(`cannot write the capture file ${opts.capturePath}: ${(e as Error).message}`);
    }
    backend = captureBackend(inner, writer);
  }
  return {
    backend,
    nat,
    forwards,
    setLinkUp(up: boolean) {
      if (inner) inner.linkUp = up;
    },
    get linkUp() {
      return inner ? inner.linkUp : false;
    },
    close() {
      nat?.close();
      lan?.close();
      writer?.close();
    },
  };
}

/**
 * A stable MAC address for a VM: 52:54:00 (the locally administered prefix QEMU guests use)
 * and three bytes from a hash of the VM's id, so VMs on one LAN segment do not collide and a
 * VM keeps its address (and its DHCP lease) across power cycles.
 */
export function macForVm(vmId: string): number[] {
  const h = createHash('sha256').update(vmId).digest();
  return [0x52, 0x54, 0x00, h[0], h[1], h[2]];
}
