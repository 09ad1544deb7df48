// Building a PC from a VM's settings: firmware lookup, ROM loading, image opening, media.
// Shared by `perseus run` (main/run/run.ts) and the hypervisor's VM workers, so both boot
// machines the same way.

import { existsSync, readFileSync, statSync } from 'node:fs';
import type { VmSettings } from '../../core/api/contract.js';
import type { HostClock, IdeAttachment, Machine, MachineConfig, SerialBackend } from '../../core/board/machine.js';
import { PcMachine } from '../../core/board/pc.js';
import { buildBiosRom } from '../../core/firmware/rom.js';
import { attachBuiltinFirmware } from '../../core/firmware/services.js';
import { LinuxBootError, parseBzImage, type LinuxBootFiles } from '../../core/firmware/linux-boot.js';
import type { BlockDevice } from '../../core/disk/block.js';
import { openVmDisk } from '../disk/index.js';
import type { MessagePort } from 'node:worker_threads';
import { openNetwork, type NetworkAttachment } from '../net/attach.js';
import type { PortForward } from '../net/nat.js';
import { natForwards, parseMac } from '../net/nic-settings.js';

import { SEABIOS_DIR, seabiosFiles, seabiosMissing } from './seabios.js';
export { SEABIOS_DIR, SEABIOS_DIR_ENV, seabiosFiles } from './seabios.js';
/** The default locations (tests that need the package check these). */
export const SEABIOS_BIOS = `${SEABIOS_DIR}/bios-256k.bin`;
export const SEABIOS_VGABIOS = `${SEABIOS_DIR}/vgabios-stdvga.bin`;
/** Fixed start time of deterministic runs (the RTC reads this at power-on). */
export const DETERMINISTIC_EPOCH_MS = Date.UTC(2024, 0, 1, 12, 0, 0);

export interface BuildOptions {
  writable: boolean;
  serial?: SerialBackend[];
  deterministic?: boolean;
  log?: (m: string) => void;
  /** VGA BIOS override (`perseus run --vga-firmware`). */
  vgaFirmware?: string;
  /** The VM's port on the app's LAN switch (network mode `lan`). */
  lanPort?: MessagePort | null;
  /** NAT port forwards (host port → guest port), for `nat` networking. */
  forwards?: PortForward[];
  /** The NIC's MAC address (6 bytes); else settings.nic.mac; else the device default. */
  mac?: readonly number[];
  /** Hard disks already opened by the caller (the hypervisor's snapshot-managed disks), by IDE slot. */
  ideDisks?: Partial<Record<(typeof IDE_SLOT_NAMES)[number], BlockDevice>>;
  /** Direct Linux boot (`perseus run --kernel --initrd --append`), built-in firmware only. */
  linuxBoot?: { kernel: string; initrd?: string; append?: string };
}

const IDE_SLOT_NAMES = ['primaryMaster', 'primarySlave', 'secondaryMaster', 'secondarySlave'] as const;

const networkOf = new WeakMap<object, NetworkAttachment>();

/** The host side of a machine's network (NAT, forwards, link switch), if it has one. */
export function machineNetwork(machine: object): NetworkAttachment | null {
  return networkOf.get(machine) ?? null;
}

/** Close the host side of a machine's network (NAT sockets, LAN port). */
export function closeNetwork(machine: object): void {
  networkOf.get(machine)?.close();
  networkOf.delete(machine);
}

export class SetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SetupError';
  }
}

/** The firmware images for a setting: [BIOS, VGA BIOS or null]. */
export function loadFirmware(setting: VmSettings['firmware'], vgaOverride?: string): { bios: Uint8Array; vga: Uint8Array | null; name: string } {
  let biosPath: string;
  let vgaPath: string | null = null;
  if (setting === 'builtin') {
    // The project's own BIOS: generated from core/firmware (the same bytes the build writes
    // to resources/firmware/perseus-bios.bin); it provides INT 10h itself, so no VGA ROM.
    return { bios: buildBiosRom().image, vga: vgaOverride ? readRom(vgaOverride, 'VGA BIOS') : null, name: 'builtin' };
  } else if (setting === 'seabios') {
    const sea = seabiosFiles();
    biosPath = sea.bios;
    vgaPath = sea.vgabios;
    const missing = seabiosMissing();
    if (missing) throw new SetupError(missing);
    if (!vgaOverride && !existsSync(vgaPath)) {
      throw new SetupError(`SeaBIOS's VGA BIOS not found at ${vgaPath}: install the Debian package "seabios", or use the built-in firmware (--firmware builtin)`);
    }
  } else {
    biosPath = setting.path;
    const sea = seabiosFiles();
    vgaPath = existsSync(sea.vgabios) ? sea.vgabios : null;
  }
  if (vgaOverride) vgaPath = vgaOverride;
  const bios = readRom(biosPath, 'BIOS');
  const vga = vgaPath ? readRom(vgaPath, 'VGA BIOS') : null;
  return { bios, vga, name: typeof setting === 'string' ? setting : setting.path };
}

function readRom(path: string, what: string): Uint8Array {
  let data: Uint8Array;
  try {
    data = new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new SetupError(`cannot read ${what} image ${path}: ${(e as Error).message}`);
  }
  if (data.length === 0) throw new SetupError(`${what} image ${path} is empty`);
  // Pad to a multiple of 4 KiB (ROM images are mapped page by page), aligned at the end.
  if (data.length % 4096) {
    const padded = new Uint8Array(Math.ceil(data.length / 4096) * 4096).fill(0xff);
    if (what === 'BIOS') padded.set(data, padded.length - data.length);
    else padded.set(data, 0);
    data = padded;
  }
  return data;
}

/** The file's permission bits allow no writes (even root, who could, must leave it alone). */
export function isReadOnlyFile(path: string): boolean {
  try {
    return (statSync(path).mode & 0o222) === 0;
  } catch {
    return false;
  }
}

function openImage(path: string, writable: boolean, log: (m: string) => void): BlockDevice {
  if (!existsSync(path)) throw new SetupError(`image not found: ${path}`);
  if (writable && isReadOnlyFile(path)) {
    log(`read-only image ${path}: the guest's writes are discarded at power off (kept in memory)`);
    writable = false;
  }
  try {
    // Any format main/disk knows (raw, qcow2, vmdk, vdi, vhd), detected by content. Read-only
    // opens keep guest writes in a memory overlay.
    return openVmDisk(path, { writable, onReadOnlyFallback: log });
  } catch (e) {
    throw new SetupError(`cannot open image ${path}: ${(e as Error).message}`);
  }
}

export function hostClock(deterministic: boolean): HostClock {
  if (deterministic) {
    return { wallTimeMs: () => DETERMINISTIC_EPOCH_MS, monotonicMs: () => 0 };
  }
  return { wallTimeMs: () => Date.now(), monotonicMs: () => performance.now() };
}

/** Build (and power on) a machine from a library VM's settings. */
export async function buildMachine(settings: VmSettings, opts: BuildOptions): Promise<PcMachine | Machine> {
  const log = opts.log ?? (() => {});
  const fw = loadFirmware(settings.firmware, opts.vgaFirmware);
  const floppy: [BlockDevice | null, BlockDevice | null] = [
    settings.floppyA ? openImage(settings.floppyA, opts.writable, log) : null,
    settings.floppyB ? openImage(settings.floppyB, opts.writable, log) : null,
  ];
  const slots = ['primaryMaster', 'primarySlave', 'secondaryMaster', 'secondarySlave'] as const;
  const ide = slots.map((slot): IdeAttachment | null => {
    const d = settings.ide[slot];
    if (!d) return null;
    if (d.kind === 'cdrom') {
      // CD-ROMs are read-only media.
      if (d.path && !existsSync(d.path)) throw new SetupError(`image not found: ${d.path}`);
      return { kind: 'cdrom', device: d.path ? openVmDisk(d.path, { writable: false, guestWritable: false }) : null };
    }
    const given = opts.ideDisks?.[slot];
    if (given) return { kind: 'disk', device: given };
    if (!d.path) throw new SetupError(`IDE ${slot}: a hard disk needs an image`);
    // Non-persistent: guest writes stay in a memory overlay and vanish at power off.
    if (d.mode === 'nonpersistent') return { kind: 'disk', device: openImage(d.path, false, log) };
    return { kind: 'disk', device: openImage(d.path, opts.writable, log) };
  }) as MachineConfig['ide'];
  let network: NetworkAttachment | null = null;
  if (settings.nic.model !== 'none' && settings.nic.network !== 'none') {
    if (settings.nic.network === 'lan' && !opts.lanPort) {
      log(`LAN segment "${settings.nic.lanSegment ?? ''}" is joined only by VMs the app runs: the cable is unplugged here`);
    } else {
      // Forwards, capture and cable come from the settings (nic.forwards, nic.capture,
      // nic.cableConnected); `opts.forwards` adds to them (tests and tools).
      const forwards = [...natForwards(settings.nic), ...(opts.forwards ?? [])];
      try {
        network = openNetwork(settings.nic, { lanPort: opts.lanPort ?? null, forwards, capturePath: settings.nic.capture ?? undefined, log });
      } catch (e) {
        throw new SetupError((e as Error).message);
      }
    }
  }
  const config: MachineConfig = {
    memoryMiB: settings.memoryMiB,
    cpuModel: settings.cpuModel,
    biosRom: fw.bios,
    vgaRom: fw.vga,
    bootOrder: settings.bootOrder,
    bootMenuWaitMs: settings.bootMenuDelayMs ?? 0,
    floppy,
    ide,
    nic: { model: settings.nic.model, backend: network?.backend ?? null, mac: opts.mac ?? (typeof settings.nic.mac === 'string' ? parseMac(settings.nic.mac) ?? undefined : undefined) },
    serial: opts.serial ?? [],
    clock: hostClock(opts.deterministic ?? false),
    deterministic: opts.deterministic ?? false,
    jit: process.env.PERSEUS_JIT !== '0',
    log,
  };
  const linux = opts.linuxBoot ? readLinuxBoot(opts.linuxBoot, fw.name) : null;
  try {
    const machine = new PcMachine(config);
    if (fw.name === 'builtin') attachBuiltinFirmware(machine).setDirectLinuxBoot(linux);
    // The host side of the network (NAT sockets, LAN port) ends with the machine: hosts call
    // closeNetwork(machine) at power off.
    if (network) networkOf.set(machine, network);
    return machine;
  } catch (e) {
    network?.close();
    throw new SetupError(`cannot build the machine: ${(e as Error).message}`);
  }
}

/** The kernel, initrd and command line of a direct Linux boot, checked before the machine runs. */
function readLinuxBoot(spec: NonNullable<BuildOptions['linuxBoot']>, firmware: string): LinuxBootFiles {
  if (firmware !== 'builtin') throw new SetupError('--kernel needs the built-in firmware (--firmware builtin)');
  const read = (path: string, what: string) => {
    if (!existsSync(path)) throw new SetupError(`${what} not found: ${path}`);
    return new Uint8Array(readFileSync(path));
  };
  const kernel = read(spec.kernel, 'kernel');
  try {
    parseBzImage(kernel);
  } catch (e) {
    if (e instanceof LinuxBootError) throw new SetupError(`${spec.kernel}: ${e.message}`);
    throw e;
  }
  return { kernel, initrd: spec.initrd ? read(spec.initrd, 'initrd') : null, cmdline: spec.append ?? '' };
}
