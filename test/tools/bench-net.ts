// `npm run bench`, network section: guest→host TCP throughput through the user-mode NAT.
//
// The shared Linux guest (../shared/guests/linux-shell-i686.iso, NE2000-PCI) gets its address
// with `udhcpc`, then sends `dd if=/dev/zero bs=1M count=N | nc 10.0.2.2 PORT` to a sink on the
// host's 127.0.0.1. The sink times the bytes from the first to the connection's end. The
// reference is the same guest and command under QEMU's TCG with its user-mode network
// (slirp, where 10.0.2.2 is the host's loopback too), measured in the same run.
//   PERSEUS_BENCH_NET=0        skip the section
//   PERSEUS_BENCH_NET_MB       megabytes sent (default 16)
//   PERSEUS_BENCH_NET_QEMU     the reference emulator (default qemu-system-i386)
// Linux boots in several minutes under our emulator (about 7e9 instructions).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LINUX_ISO, LinuxGuest } from '../guests/linux-guest.js';
import { SEABIOS_BIOS } from '../../main/run/setup.js';

const MEGABYTES = Number(process.env.PERSEUS_BENCH_NET_MB ?? 16);
const QEMU = process.env.PERSEUS_BENCH_NET_QEMU ?? 'qemu-system-i386';
const BOOT_TIMEOUT_MS = 30 * 60_000;
const SEND_TIMEOUT_MS = 20 * 60_000;

interface Transfer {
  bytes: number;
  /** From the first byte to the end of the connection, host time. */
  seconds: number;
}

/** A TCP sink on 127.0.0.1: resolves with the first connection's byte count and duration. */
async function openSink(): Promise<{ port: number; transfer: Promise<Transfer>; close(): void }> {
  let done!: (t: Transfer) => void;
  const transfer = new Promise<Transfer>((r) => { done = r; });
  const server = net.createServer((sock) => {
    let bytes = 0;
    let first = 0;
    sock.on('data', (d) => {
      if (bytes === 0) first = performance.now();
      bytes += d.length;
    });
    sock.on('end', () => {
      done({ bytes, seconds: (performance.now() - first) / 1000 });
      sock.end();
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { port: (server.address() as net.AddressInfo).port, transfer, close: () => server.close() };
}

const sendCommand = (port: number) => `dd if=/dev/zero bs=1M count=${MEGABYTES} 2>/dev/null | nc 10.0.2.2 ${port}`;

/** Our emulator, in this process (the NAT's sockets turn between slices). */
async function measureOurs(iso: string): Promise<Transfer> {
  const firmware = existsSync(SEABIOS_BIOS) ? 'seabios' : 'builtin';
  const guest = await LinuxGuest.start(iso, { firmware, from: 'cd', nic: 'ne2k-pci' });
  const sink = await openSink();
  try {
    const t0 = performance.now();
    await guest.bootToShell();
    console.log(`net: perseus (${firmware}) booted Linux in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    const lease = await guest.sh('udhcpc -i eth0 -n -q', 120_000);
    if (!/10\.0\.2\.15/.test(lease)) throw new Error(`udhcpc got no 10.0.2.15 lease: ${lease.slice(-300)}`);
    await guest.sh(sendCommand(sink.port), SEND_TIMEOUT_MS);
    return await withTimeout(sink.transfer, 30_000, 'the sink never saw the connection end');
  } finally {
    sink.close();
    guest.close();
  }
}

/** QEMU TCG with slirp, scripted over its serial console on stdio. */
async function measureQemu(iso: string): Promise<Transfer> {
  const sink = await openSink();
  const qemu: ChildProcess = spawn(QEMU, [
    '-accel', 'tcg', '-m', '128', '-nic', 'user,model=ne2k_pci', '-cdrom', iso, '-boot', 'd',
    '-serial', 'stdio', '-display', 'none', '-monitor', 'none', '-no-reboot',
  ], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let mark = 0;
  let exited = false;
  qemu.stdout!.on('data', (d: Buffer) => { out += d.toString('latin1'); });
  qemu.stderr!.on('data', (d: Buffer) => { out += d.toString('latin1'); });
  qemu.on('exit', () => { exited = true; });
  const expect = async (pattern: string | RegExp, timeoutMs: number): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = out.slice(mark);
      const m = typeof pattern === 'string' ? (rest.includes(pattern) ? { index: rest.indexOf(pattern), 0: pattern } : null) : pattern.exec(rest);
      if (m) {
        const text = rest.slice(0, m.index + m[0].length);
        mark += m.index + m[0].length;
        return text;
      }
      if (exited) throw new Error(`qemu exited before ${String(pattern)}; output tail:\n${out.slice(-800)}`);
      if (Date.now() > deadline) throw new Error(`qemu: timed out waiting for ${String(pattern)}; output tail:\n${out.slice(-800)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const sh = async (command: string, timeoutMs: number): Promise<string> => {
    const tag = `T${Math.random().toString(36).slice(2, 8)}`;
    qemu.stdin!.write(`echo ${tag}-BEGIN; ${command}; echo ${tag}-END $?\n`);
    await expect(`\n${tag}-BEGIN`, timeoutMs);
    return expect(new RegExp(`\\n${tag}-END (\\d+)`), timeoutMs);
  };
  try {
    const t0 = performance.now();
    await expect('LINUX-GUEST-READY', BOOT_TIMEOUT_MS);
    await expect('# ', 120_000);
    console.log(`net: qemu-tcg booted Linux in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    const lease = await sh('udhcpc -i eth0 -n -q', 120_000);
    if (!/10\.0\.2\.15/.test(lease)) throw new Error(`udhcpc got no 10.0.2.15 lease under qemu: ${lease.slice(-300)}`);
    await sh(sendCommand(sink.port), SEND_TIMEOUT_MS);
    return await withTimeout(sink.transfer, 30_000, 'the sink never saw the connection end');
  } finally {
    sink.close();
    qemu.kill('SIGKILL');
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(what)), ms); })]).finally(() => clearTimeout(timer));
}

/** The shared ISO: $PERSEUS_SHARED_DIR, else ../shared beside the repository (this file runs from dist/). */
function linuxIsoPath(): string | null {
  let root = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(root, 'package.json')) && dirname(root) !== root) root = dirname(root);
  const p = join(process.env.PERSEUS_SHARED_DIR ?? resolve(root, '..', 'shared'), 'guests', LINUX_ISO);
  return existsSync(p) ? p : null;
}

const mbps = (t: Transfer) => t.bytes / 1e6 / t.seconds;

function report(name: string, t: Transfer): void {
  const expected = MEGABYTES * 1024 * 1024;
  const note = t.bytes === expected ? '' : `  (INCOMPLETE: ${t.bytes} of ${expected} bytes)`;
  console.log(`| ${name.padEnd(22)} | ${(t.bytes / 1048576).toFixed(1).padStart(6)} MiB | ${t.seconds.toFixed(2).padStart(8)} s | ${mbps(t).toFixed(3).padStart(8)} MB/s |${note}`);
}

export async function networkSection(): Promise<void> {
  console.log('');
  console.log(`## net: guest→host TCP throughput (Linux guest, NE2000-PCI, user-mode NAT, ${MEGABYTES} MiB through nc)`);
  if (process.env.PERSEUS_BENCH_NET === '0') {
    console.log('net: skipped (PERSEUS_BENCH_NET=0)');
    return;
  }
  const iso = linuxIsoPath();
  if (!iso) {
    console.log('net: skipped: ../shared/guests/linux-shell-i686.iso is missing (set PERSEUS_SHARED_DIR to the shared folder)');
    return;
  }
  const haveQemu = spawnSync(QEMU, ['--version'], { encoding: 'utf8' }).status === 0;
  let reference: Transfer | null = null;
  if (!haveQemu) {
    console.log(`net: ${QEMU} not found (apt-get install qemu-system-x86): no reference figure`);
  } else {
    try {
      reference = await measureQemu(iso);
    } catch (e) {
      console.log(`net: the qemu reference failed: ${(e as Error).message}`);
    }
  }
  let ours: Transfer | null = null;
  try {
    ours = await measureOurs(iso);
  } catch (e) {
    console.log(`net: perseus failed: ${(e as Error).message}`);
  }
  console.log('| engine                 |   sent     |   time     |  throughput   |');
  if (ours) report('perseus (NE2000-PCI)', ours);
  if (reference) report('qemu-tcg (ne2k_pci)', reference);
  if (ours && reference) console.log(`net: perseus guest→host throughput = ${(mbps(ours) / mbps(reference)).toFixed(3)}× qemu-tcg's`);
}
