// Driving the shared Linux guest (../shared/guests/linux-shell-i686.iso) in-process: a machine
// built exactly as `perseus run` builds it (main/run/setup.ts), COM1 scripted like a terminal,
// and the event loop given a turn between slices so the NAT's host sockets make progress.
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import type { SerialBackend } from '../../core/board/machine.js';
import type { PcMachine } from '../../core/board/pc.js';
import type { PortForward } from '../../main/net/nat.js';
import { parseRunArgs, settingsFromOptions } from '../../main/run/run.js';
import { buildMachine, closeNetwork, machineNetwork } from '../../main/run/setup.js';
import { sharedFile } from '../helpers/shared.js';

export const LINUX_ISO = 'linux-shell-i686.iso';
export const LINUX_MARKER = 'LINUX-GUEST-READY';
/** The kernel boot takes about 7e9 guest instructions; this leaves room on a loaded machine. */
export const LINUX_BOOT_MS = 20 * 60_000;

export interface LinuxGuestOptions {
  firmware: 'seabios' | 'builtin';
  /** Boot the ISO from the CD-ROM drive, or attach it as the primary IDE hard disk. */
  from: 'cd' | 'ide';
  nic?: 'ne2k-pci' | 'rtl8139' | 'none';
  forwards?: PortForward[];
  mac?: number[];
  /** Join this LAN switch port instead of the NAT. */
  lanPort?: MessagePort;
  /** Extra `perseus run` arguments (e.g. --kernel). */
  extraArgs?: string[];
}

/** The ISO path, or null when ../shared is missing (sharedFile fails under CI). */
export function linuxIso(): string | null {
  return sharedFile('guests', LINUX_ISO);
}

export class LinuxGuest {
  private out = '';
  private readonly input: Uint8Array[] = [];
  /** Where the next `expect` starts looking in the serial output. */
  private mark = 0;
  machine!: PcMachine;
  poweredOff = false;

  static async start(iso: string, o: LinuxGuestOptions): Promise<LinuxGuest> {
    const g = new LinuxGuest();
    const args = ['--firmware', o.firmware, '--memory', '128', '--nic', o.nic ?? 'none'];
    if (o.from === 'cd') args.push('--cdrom', iso, '--boot', 'd');
    else {
      // The guest may write to its disk: give it a private copy.
      const copy = join(mkdtempSync(join(tmpdir(), 'perseus-linux-')), 'linux.img');
      copyFileSync(iso, copy);
      args.push('--hda', copy, '--boot', 'c');
    }
    args.push(...(o.extraArgs ?? []));
    const settings = settingsFromOptions(parseRunArgs(args));
    if (o.lanPort) settings.nic = { ...settings.nic, network: 'lan', lanSegment: 'test' };
    const serial: SerialBackend = {
      write: (d) => { for (const b of d) g.out += String.fromCharCode(b); },
      poll: () => g.input.shift() ?? null,
    };
    g.machine = (await buildMachine(settings, { writable: false, serial: [serial], forwards: o.forwards, mac: o.mac, lanPort: o.lanPort ?? null })) as PcMachine;
    return g;
  }

  /** Everything COM1 has printed. */
  get serialText(): string {
    return this.out;
  }

  /** Run until `pattern` appears on COM1 after the last match; returns the text up to it. */
  async expect(pattern: string | RegExp, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.out.slice(this.mark);
      const m = typeof pattern === 'string' ? (rest.includes(pattern) ? { index: rest.indexOf(pattern), 0: pattern } : null) : pattern.exec(rest);
      if (m) {
        const end = this.mark + m.index + m[0].length;
        const text = this.out.slice(this.mark, end);
        this.mark = end;
        return text;
      }
      if (this.poweredOff) throw new Error(`guest powered off before ${String(pattern)}; serial tail:\n${this.out.slice(-1500)}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(pattern)}; serial tail:\n${this.out.slice(-1500)}`);
      await this.slice();
    }
  }

  /** Run the machine for a moment and let host I/O (sockets, timers) through. */
  async slice(): Promise<void> {
    const stop = this.machine.run(2_000_000);
    if (stop === 'poweroff') this.poweredOff = true;
    await new Promise((r) => (stop === 'halted' ? setTimeout(r, 1) : setImmediate(r)));
  }

  /** Let the guest run (and the host answer) for `ms` of host time. */
  async runFor(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while (Date.now() < end && !this.poweredOff) await this.slice();
  }

  /** Type a line on COM1. */
  send(line: string): void {
    this.input.push(new TextEncoder().encode(`${line}\n`));
  }

  /**
   * Run a shell command and return its output: the command is wrapped in markers so prompt and
   * echo never confuse the match.
   */
  async sh(command: string, timeoutMs = 120_000): Promise<string> {
    const tag = `T${Math.random().toString(36).slice(2, 8)}`;
    this.send(`echo ${tag}-BEGIN; ${command}; echo ${tag}-END $?`);
    await this.expect(`\n${tag}-BEGIN`, timeoutMs);
    // The command's own echo shows "END $?", so only a status in digits is the real end (output
    // without a final newline runs straight into it).
    const text = await this.expect(new RegExp(`${tag}-END (\\d+)`), timeoutMs);
    return text.replace(new RegExp(`\\r?\\n?${tag}-END \\d+$`), '').replace(/^\r?\n/, '').replace(/\r/g, '');
  }

  async bootToShell(): Promise<void> {
    await this.expect(LINUX_MARKER, LINUX_BOOT_MS);
    await this.expect('# ', 120_000);
  }

  /** The text screen (VGA text mode). */
  screenText(): string {
    this.machine.updateScreen();
    return this.machine.screen().text;
  }

  get network() {
    return machineNetwork(this.machine);
  }

  close(): void {
    closeNetwork(this.machine);
  }
}
