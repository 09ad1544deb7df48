// `perseus run`: boot a machine headless.
//
//   perseus run [--fda F] [--fdb F] [--hda F] [--hdb F] [--hdc F] [--hdd F] [--cdrom F]
//     [--boot ORDER] [--boot-menu[=MS]] [--memory MiB] [--cpu MODEL] [--nic ne2k-pci|ne2k-isa|rtl8139|none]
//     [--firmware builtin|seabios|PATH] [--vga-firmware PATH] [--serial stdio|none|file:PATH]
//     [--until TEXT] [--timeout SECONDS] [--type KEYS] [--screenshot FILE.png]
//     [--screen-text FILE] [--deterministic] [--stats] [--writable]
//     [--kernel BZIMAGE [--initrd FILE] [--append CMDLINE]]
//     [--save-state FILE] [--load-state FILE]
//     [--forward tcp|udp:[HOSTADDR:]HOSTPORT:GUESTPORT]... [--capture FILE.pcap] [--mac MAC]
//     [--cable-disconnected]
//
// The NIC (--nic) is on the user-mode NAT: --forward (repeatable) listens on the host's
// 127.0.0.1 (or the address given) and connects to the guest's port; --capture records every
// frame to a pcap file; --cable-disconnected starts with the cable unplugged.
// --save-state writes the machine and its disks' contents (main/snapshot/run-state.ts) when
// the run ends: the instant --until matched, or after --type's text ran until the timeout;
// --load-state continues from such a file instead of powering on (with the same options:
// another machine configuration or changed images are refused).
// --until exits 0 once TEXT is on the text screen or COM1; --timeout (host seconds) exits 1
// naming what was awaited; --type types KEYS ("\n" = Enter) after --until matched, then runs
// until the timeout or power-off; ACPI power-off exits 0. Images are opened read-only with an
// in-memory copy-on-write overlay unless --writable.

import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CPU_MODELS, NIC_MODELS, type CpuModel, type NicModel, type VmSettings } from '../../core/api/contract.js';
import type { Machine, SerialBackend } from '../../core/board/machine.js';
import { PcMachine } from '../../core/board/pc.js';
import { loadRunState, saveRunState } from '../snapshot/run-state.js';
import { encodePng } from './png.js';
import { buildMachine, closeNetwork, machineNetwork, SetupError } from './setup.js';
import { nicExtrasIssues, parseForwardSpec } from '../net/nic-settings.js';
import { resolve as resolvePath } from 'node:path';

const USAGE = `usage: perseus run [--fda F] [--fdb F] [--hda F] [--hdb F] [--hdc F] [--hdd F] [--cdrom F]
  [--boot ORDER] [--boot-menu[=MS]] [--memory MiB] [--cpu MODEL] [--nic ne2k-pci|ne2k-isa|rtl8139|none]
  [--firmware builtin|seabios|PATH] [--vga-firmware PATH] [--serial stdio|none|file:PATH]
  [--until TEXT] [--timeout SECONDS] [--type KEYS] [--screenshot FILE.png]
  [--screen-text FILE] [--deterministic] [--stats] [--writable]
  [--kernel BZIMAGE [--initrd FILE] [--append CMDLINE]]
  [--save-state FILE] [--load-state FILE]
  [--forward tcp|udp:[HOSTADDR:]HOSTPORT:GUESTPORT]... [--capture FILE.pcap] [--mac MAC]
  [--cable-disconnected]
Boot menu: --boot-menu shows "Press F12 for the boot menu" for 3 s (--boot-menu=MS: that
  long, 0-60000); without it an Esc or F12 pressed during POST still opens the built-in BIOS's menu.
CPU models (--cpu): pentium2 (default: Pentium II, family 6, with MMX), pentium-pro (family 6,
  no MMX), pentium (P54C), 486.
Networking (with --nic): the user-mode NAT, guest 10.0.2.15, gateway 10.0.2.2 = host loopback.
  --forward tcp:2222:22   host 127.0.0.1:2222 reaches guest port 22 (repeatable; udp too)
  --capture FILE.pcap     record every frame (tcpdump/Wireshark format)
  --mac 52:54:00:12:34:56 the adapter's MAC address
  --cable-disconnected    start with the network cable unplugged
Speed: hot flat 32-bit code runs as compiled blocks; --stats adds the JIT's counters to the
  guest MIPS; PERSEUS_JIT=0 in the environment runs the CPU as a pure interpreter.
`;

/** The boot-menu prompt of a bare --boot-menu (ms). */
export const DEFAULT_BOOT_MENU_MS = 3000;
const VALUE_OPTS = ['boot-menu', 'fda', 'fdb', 'hda', 'hdb', 'hdc', 'hdd', 'cdrom', 'boot', 'memory', 'cpu', 'nic', 'firmware', 'vga-firmware', 'serial', 'until', 'timeout', 'type', 'screenshot', 'screen-text', 'kernel', 'initrd', 'append', 'save-state', 'load-state', 'capture', 'mac'] as const;
const FLAG_OPTS = ['deterministic', 'stats', 'writable', 'help', 'cable-disconnected'] as const;
/** Options that may be given several times. */
const LIST_OPTS = ['forward'] as const;
type ListOpt = (typeof LIST_OPTS)[number];
type ValueOpt = (typeof VALUE_OPTS)[number];
type FlagOpt = (typeof FLAG_OPTS)[number];

export interface RunOptions {
  values: Partial<Record<ValueOpt, string>>;
  flags: Partial<Record<FlagOpt, boolean>>;
  lists?: Partial<Record<ListOpt, string[]>>;
}

class UsageError extends Error {}

export function parseRunArgs(args: string[]): RunOptions {
  const out: RunOptions = { values: {}, flags: {}, lists: {} };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument "${a}"`);
    let name = a.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    if (name === 'boot-menu' && value === undefined) {
      // The value is optional and only given with "=": --boot-menu, --boot-menu=5000.
      out.values['boot-menu'] = String(DEFAULT_BOOT_MENU_MS);
    } else if ((FLAG_OPTS as readonly string[]).includes(name)) {
      if (value !== undefined) throw new UsageError(`--${name} takes no value`);
      out.flags[name as FlagOpt] = true;
    } else if ((VALUE_OPTS as readonly string[]).includes(name)) {
      if (value === undefined) {
        if (i + 1 >= args.length) throw new UsageError(`--${name} needs a value`);
        value = args[++i];
      }
      out.values[name as ValueOpt] = value;
    } else if ((LIST_OPTS as readonly string[]).includes(name)) {
      if (value === undefined) {
        if (i + 1 >= args.length) throw new UsageError(`--${name} needs a value`);
        value = args[++i];
      }
      (out.lists![name as ListOpt] ??= []).push(value);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return out;
}

/** VM settings for the options (the same shape the library stores). */
export function settingsFromOptions(o: RunOptions): VmSettings {
  const v = o.values;
  if (v.hdc && v.cdrom) throw new UsageError('--hdc and --cdrom both use the secondary master');
  if ((v.initrd !== undefined || v.append !== undefined) && v.kernel === undefined) throw new UsageError('--initrd and --append need --kernel');
  const memoryMiB = v.memory === undefined ? 128 : Number(v.memory);
  if (!Number.isInteger(memoryMiB) || memoryMiB < 1 || memoryMiB > 2048) throw new UsageError('--memory must be 1-2048 (MiB)');
  const cpu = (v.cpu ?? 'pentium2') as CpuModel;
  if (!CPU_MODELS.includes(cpu)) throw new UsageError(`--cpu must be one of ${CPU_MODELS.join(', ')}`);
  const nic = (v.nic ?? 'none') as NicModel;
  if (!NIC_MODELS.includes(nic)) throw new UsageError('--nic must be ne2k-pci, ne2k-isa, rtl8139 or none');
  let firmware: VmSettings['firmware'] = 'builtin';
  if (v.firmware === 'builtin' || v.firmware === 'seabios') firmware = v.firmware;
  else if (v.firmware) firmware = { path: v.firmware };
  let bootMenuDelayMs: number | undefined;
  if (v['boot-menu'] !== undefined) {
    bootMenuDelayMs = /^\d+$/.test(v['boot-menu']) ? Number(v['boot-menu']) : NaN;
    if (!(bootMenuDelayMs >= 0 && bootMenuDelayMs <= 60_000)) throw new UsageError('--boot-menu=MS takes milliseconds 0-60000 (a bare --boot-menu: 3000)');
  }
  let boot = v.boot?.toLowerCase();
  if (boot !== undefined && !/^[acd]+$/.test(boot)) throw new UsageError('--boot takes letters a (floppy), c (disk), d (CD-ROM)');
  if (!boot) boot = v.fda ? 'a' : v.hda ? 'c' : v.cdrom ? 'd' : 'cad';
  const disk = (path: string | undefined) => (path ? { kind: 'disk' as const, path } : null);
  return {
    name: 'perseus-run',
    osPreset: 'other',
    memoryMiB,
    cpuModel: cpu,
    firmware,
    bootOrder: boot,
    ...(bootMenuDelayMs !== undefined ? { bootMenuDelayMs } : {}),
    floppyA: v.fda ?? null,
    floppyB: v.fdb ?? null,
    ide: {
      primaryMaster: disk(v.hda),
      primarySlave: disk(v.hdb),
      secondaryMaster: v.cdrom ? { kind: 'cdrom', path: v.cdrom } : disk(v.hdc),
      secondarySlave: disk(v.hdd),
    },
    // A NIC is on the user-mode NAT (guest 10.0.2.15, gateway 10.0.2.2 = host loopback).
    nic: nicFromOptions(o, nic),
    display: { adapter: 'std-vga', vramMiB: 16 },
    notes: '',
  };
}

/** The NIC settings for --nic, --forward, --capture, --mac, --cable-disconnected. */
function nicFromOptions(o: RunOptions, model: NicModel): VmSettings['nic'] {
  const v = o.values;
  const nic: VmSettings['nic'] = { model, network: model === 'none' ? 'none' : 'nat' };
  const forwardSpecs = o.lists?.forward ?? [];
  const extras = forwardSpecs.length > 0 || v.capture !== undefined || v.mac !== undefined || o.flags['cable-disconnected'];
  if (extras && model === 'none') throw new UsageError('--forward, --capture, --mac and --cable-disconnected need a network adapter: add --nic ne2k-pci (or ne2k-isa, rtl8139)');
  if (forwardSpecs.length > 0) {
    try {
      nic.forwards = forwardSpecs.map(parseForwardSpec);
    } catch (e) {
      throw new UsageError(`--forward: ${(e as Error).message}`);
    }
  }
  if (v.capture !== undefined) nic.capture = resolvePath(v.capture);
  if (v.mac !== undefined) nic.mac = v.mac;
  if (o.flags['cable-disconnected']) nic.cableConnected = false;
  const issues = nicExtrasIssues(nic as unknown as Record<string, unknown>);
  if (issues.length > 0) throw new UsageError(issues.map((i) => i.message).join('; '));
  return nic;
}

/** COM1 backend for --serial. */
function serialBackend(spec: string): { backend: SerialBackend | null; close(): void } {
  if (spec === 'none') return { backend: null, close() {} };
  if (spec === 'stdio') {
    const pending: Uint8Array[] = [];
    const onData = (d: Buffer) => pending.push(new Uint8Array(d));
    const stdin = process.stdin;
    const raw = stdin.isTTY === true;
    if (raw) stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
    return {
      backend: {
        write: (data) => { process.stdout.write(data); },
        poll: () => pending.shift() ?? null,
      },
      close() {
        stdin.off('data', onData);
        if (raw) stdin.setRawMode(false);
        stdin.pause();
      },
    };
  }
  if (spec.startsWith('file:')) {
    const fd = openSync(spec.slice(5), 'w');
    return {
      backend: { write: (data) => { writeSync(fd, data); }, poll: () => null },
      close() { closeSync(fd); },
    };
  }
  throw new UsageError('--serial must be stdio, none or file:PATH');
}

export async function runCommand(args: string[]): Promise<number> {
  let opts: RunOptions;
  let settings: VmSettings;
  try {
    opts = parseRunArgs(args);
    if (opts.flags.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    settings = settingsFromOptions(opts);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`perseus run: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  const v = opts.values;
  const timeoutS = v.timeout === undefined ? Infinity : Number(v.timeout);
  if (!(timeoutS > 0)) {
    process.stderr.write('perseus run: --timeout must be a positive number of seconds\n');
    return 2;
  }
  let serial: ReturnType<typeof serialBackend>;
  try {
    serial = serialBackend(v.serial ?? 'none');
  } catch (e) {
    process.stderr.write(`perseus run: ${(e as Error).message}\n`);
    return 2;
  }
  const stats = opts.flags.stats === true;
  const t0 = performance.now();
  const stat = (event: string, instr: number) => {
    if (stats) process.stderr.write(`ANCHOR-STAT event=${event} t_ms=${Math.round(performance.now() - t0)} instr=${instr}\n`);
  };
  let machine: Machine;
  try {
    machine = await buildMachine(settings, {
      writable: opts.flags.writable === true,
      serial: serial.backend ? [serial.backend] : [],
      deterministic: opts.flags.deterministic === true,
      vgaFirmware: v['vga-firmware'],
      // Direct Linux boot: the firmware loads the kernel after POST instead of a boot sector.
      linuxBoot: v.kernel !== undefined ? { kernel: v.kernel, initrd: v.initrd, append: v.append } : undefined,
      log: (m) => { if (process.env.PERSEUS_DEBUG) process.stderr.write(`${m}\n`); },
    });
  } catch (e) {
    serial.close();
    if (e instanceof SetupError) {
      process.stderr.write(`perseus run: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  if ((stats || process.env.PERSEUS_JIT_STATS === '1') && machine instanceof PcMachine) machine.cpu.jit.collectStats = true;
  try {
    // A forward that cannot listen (port in use) fails the run: the user asked for it.
    await machineNetwork(machine)?.forwards;
  } catch (e) {
    serial.close();
    closeNetwork(machine);
    process.stderr.write(`perseus run: port forward failed: ${(e as Error).message}\n`);
    return 1;
  }
  const statePath = v['save-state'];
  const saver = { saved: false, failed: false, save() {
    if (!statePath || this.saved) return;
    this.saved = true;
    try {
      saveRunState(machine, statePath);
    } catch (e) {
      this.failed = true;
      process.stderr.write(`perseus run: cannot save the state: ${(e as Error).message}\n`);
    }
  } };
  try {
    if (v['load-state']) {
      try {
        loadRunState(machine, v['load-state']);
      } catch (e) {
        process.stderr.write(`perseus run: cannot load ${v['load-state']}: ${(e as Error).message}\n`);
        return 1;
      }
    }
    const code = await runLoop(machine, opts, timeoutS, stat, t0);
    saver.save();
    return saver.failed ? 1 : code;
  } finally {
    serial.close();
    closeNetwork(machine);
    finishOutputs(machine, opts);
    if (stats) {
      const secs = (performance.now() - t0) / 1000;
      process.stderr.write(`perseus run: ${machine.instructionCount} instructions in ${secs.toFixed(2)} s, ${(machine.instructionCount / secs / 1e6).toFixed(1)} MIPS\n`);
    }
    if ((stats || process.env.PERSEUS_JIT_STATS === '1') && machine instanceof PcMachine) {
      process.stderr.write(`${machine.cpu.jitEnabled ? machine.cpu.jit.summary() : 'jit: off'}\n`);
    }
  }
}

async function runLoop(machine: Machine, opts: RunOptions, timeoutS: number, stat: (e: string, i: number) => void, t0: number): Promise<number> {
  const v = opts.values;
  const until = v.until;
  const typeText = v.type?.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
  let serialText = '';
  let serialLine = '';
  let matched = until === undefined;
  let typed = false;
  if (machine instanceof PcMachine) {
    machine.serialListeners.push((b) => {
      const ch = String.fromCharCode(b);
      if (until !== undefined && !matched) {
        serialText = (serialText + ch).slice(-Math.max(4096, until.length * 2));
      }
      if (b === 0x0a) {
        const line = serialLine.replace(/\r$/, '');
        if (line.startsWith('ANCHOR-')) stat(line.split(/\s/)[0], machine.instructionCount);
        serialLine = '';
      } else if (serialLine.length < 4096) {
        serialLine += ch;
      }
    });
  }
  stat('started', 0);
  const deadline = t0 + timeoutS * 1000;
  let lastScreenCheck = 0;
  for (;;) {
    const r = machine.run(2_000_000);
    const now = performance.now();
    if (!matched && until !== undefined) {
      if (serialText.includes(until)) matched = true;
      else if (now - lastScreenCheck > 200) {
        lastScreenCheck = now;
        machine.updateScreen();
        if (machine.screen().text.includes(until)) matched = true;
      }
      if (matched && typeText === undefined) return 0;
    }
    if (matched && typeText !== undefined && !typed) {
      machine.input({ type: 'text', text: typeText });
      typed = true;
    }
    if (r === 'poweroff') return 0;
    if (r === 'halted') {
      const wait = machine instanceof PcMachine ? machine.idleWaitMs() : 1;
      if (wait <= 0 && opts.flags.deterministic) {
        process.stderr.write('perseus run: the machine halted with nothing left to wake it\n');
        return matched ? 0 : 1;
      }
      await sleep(Math.min(10, Math.max(1, wait)));
    } else {
      // Let stdin and signals through now and then.
      await new Promise((res) => setImmediate(res));
    }
    if (performance.now() >= deadline) {
      if (!matched) {
        process.stderr.write(`perseus run: timed out after ${timeoutS} s waiting for "${until}" on the screen or COM1\n`);
        return 1;
      }
      return 0;
    }
  }
}

function finishOutputs(machine: Machine, opts: RunOptions): void {
  const v = opts.values;
  if (!v.screenshot && !v['screen-text']) return;
  machine.updateScreen();
  const s = machine.screen();
  if (v.screenshot) writeFileSync(v.screenshot, encodePng(s.width, s.height, s.rgba));
  if (v['screen-text']) writeFileSync(v['screen-text'], s.text);
}
