// Direct Linux boot (`perseus run --kernel --initrd --append`): the boot protocol layout, the
// errors for bad input, and the ACCEPTANCE test of issue 5 point 3: the kernel and initrd of
// ../shared/guests/linux-shell-i686.iso boot to LINUX-GUEST-READY on COM1, and `poweroff -f`
// on the serial shell powers the machine off through ACPI S5 (\_S5 + PM1a_CNT).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SerialBackend } from '../../core/board/machine.js';
import { PcMachine } from '../../core/board/pc.js';
import { LinuxBootError, parseBzImage, planLinuxBoot } from '../../core/firmware/linux-boot.js';
import { parseRunArgs, settingsFromOptions } from '../../main/run/run.js';
import { buildMachine, SetupError } from '../../main/run/setup.js';
import { readIsoFile } from '../helpers/iso9660.js';
import { sharedFile } from '../helpers/shared.js';
import { builtinPc, runUntilScreen } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'perseus-linux-boot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** vmlinuz and initrd.gz from the shared Linux CD, written to the temp dir (null: skip). */
function linuxFiles(): { kernel: string; initrd: string } | null {
  const iso = sharedFile('guests', 'linux-shell-i686.iso');
  if (!iso) return null;
  const kernel = join(dir, 'vmlinuz'), initrd = join(dir, 'initrd.gz');
  writeFileSync(kernel, readIsoFile(iso, 'isolinux/vmlinuz'));
  writeFileSync(initrd, readIsoFile(iso, 'isolinux/initrd.gz'));
  return { kernel, initrd };
}

function settings(kernel: string, extra: string[] = []) {
  return settingsFromOptions(parseRunArgs(['--kernel', kernel, '--memory', '128', ...extra]));
}

describe('direct Linux boot: layout and errors', () => {
  it('lays out setup, command line, kernel and initrd by the boot protocol', async () => {
    const files = linuxFiles();
    if (!files) return;
    const { readFileSync } = await import('node:fs');
    const kernel = new Uint8Array(readFileSync(files.kernel));
    const initrd = new Uint8Array(readFileSync(files.initrd));
    const hdr = parseBzImage(kernel);
    expect(hdr.protocol).toBeGreaterThanOrEqual(0x0202);
    const ramTop = 128 * 1048576 - 0x10000;
    const plan = planLinuxBoot({ kernel, initrd, cmdline: 'console=ttyS0' }, ramTop);
    const setup = plan.writes.find((w) => w.address === plan.segment << 4)!.bytes;
    expect(setup.length).toBe((hdr.setupSects + 1) * 512);
    expect(setup[0x210]).toBe(0xff); // type_of_loader
    expect(setup[0x211] & 0x81).toBe(0x81); // LOADED_HIGH | CAN_USE_HEAP
    const dv = new DataView(setup.buffer, setup.byteOffset);
    const cmdAddr = dv.getUint32(0x228, true);
    const cmd = plan.writes.find((w) => w.address === cmdAddr)!.bytes;
    expect(new TextDecoder().decode(cmd)).toBe('console=ttyS0\0');
    expect((plan.segment << 4) + dv.getUint16(0x224, true) + 0x200).toBeLessThanOrEqual(cmdAddr);
    const rdAddr = dv.getUint32(0x218, true);
    expect(dv.getUint32(0x21c, true)).toBe(initrd.length);
    expect(rdAddr % 4096).toBe(0);
    expect(rdAddr + initrd.length).toBeLessThanOrEqual(Math.min(ramTop, hdr.initrdAddrMax + 1));
    expect(plan.writes.find((w) => w.address === 0x100000)!.bytes.length).toBe(kernel.length - setup.length);
    expect(rdAddr).toBeGreaterThanOrEqual(0x100000 + Math.max(kernel.length - setup.length, hdr.initSize));
  });

  it('refuses a missing kernel, a file that is not a bzImage, --initrd without --kernel and another firmware', async () => {
    const build = (kernel: string, extra: string[] = []) => buildMachine(settings(kernel, extra), { writable: false, linuxBoot: { kernel } });
    await expect(build(join(dir, 'nope'))).rejects.toThrow(/kernel not found/);
    const junk = join(dir, 'junk.bin');
    writeFileSync(junk, new Uint8Array(8192).fill(0x90));
    await expect(build(junk)).rejects.toThrow(SetupError);
    await expect(build(junk)).rejects.toThrow(/not a Linux bzImage/);
    expect(() => settingsFromOptions(parseRunArgs(['--initrd', junk]))).toThrow(/need --kernel/);
    expect(() => planLinuxBoot({ kernel: new Uint8Array(4096), initrd: null, cmdline: '' }, 1 << 27)).toThrow(LinuxBootError);
    const files = linuxFiles();
    if (files) await expect(build(files.kernel, ['--firmware', 'seabios'])).rejects.toThrow(/built-in firmware/);
  });
});

describe('direct Linux boot: POST hands over to the kernel', () => {
  it('loads kernel and initrd below the ACPI tables and the real-mode setup runs on the BIOS services', async () => {
    const files = linuxFiles();
    if (!files) return;
    const { readFileSync } = await import('node:fs');
    const kernel = new Uint8Array(readFileSync(files.kernel));
    const initrd = new Uint8Array(readFileSync(files.initrd));
    const { m, fw } = builtinPc({ memoryMiB: 64 });
    fw.setDirectLinuxBoot({ kernel, initrd, cmdline: 'console=ttyS0' });
    // The setup code prints through INT 10h and probes EDD through INT 13h before it enters
    // protected mode and the decompressor.
    expect(runUntilScreen(m, 'Probing EDD', 30_000_000)).toBeGreaterThan(0);
    expect(m.screen().text).toContain('Booting the Linux kernel...');
    const rdAddr = m.memory.read32(0x10218) >>> 0, rdSize = m.memory.read32(0x1021c) >>> 0;
    expect(rdSize).toBe(initrd.length);
    expect(rdAddr + rdSize).toBeLessThanOrEqual(Math.min(...fw.tables!.e820.map((e) => e[0])));
    for (const i of [0, 1, 4096, rdSize - 1]) expect(m.memory.read8(rdAddr + i)).toBe(initrd[i]);
    expect(m.memory.read8(0x10210)).toBe(0xff);
  });
});

describe('ACCEPTANCE (issue 5.3): direct Linux boot of the shared Linux CD kernel', () => {
  it('reaches LINUX-GUEST-READY on COM1, then `poweroff -f` powers off through ACPI S5', async () => {
    const files = linuxFiles();
    if (!files) return;
    let out = '';
    const input: Uint8Array[] = [];
    const serial: SerialBackend = { write: (d) => { out += Buffer.from(d).toString('latin1'); }, poll: () => input.shift() ?? null };
    const m = await buildMachine(settings(files.kernel), {
      writable: false, deterministic: true, serial: [serial],
      linuxBoot: { kernel: files.kernel, initrd: files.initrd, append: 'console=ttyS0' },
    });
    expect(m).toBeInstanceOf(PcMachine);
    const pc = m as PcMachine;
    const deadline = Date.now() + 20 * 60_000;
    let typed = false;
    let stop = '';
    while (Date.now() < deadline) {
      stop = pc.run(5_000_000);
      if (stop === 'poweroff') break;
      // The busybox prompt follows the marker (ash may add a cursor-position query after it).
      if (!typed && out.includes('LINUX-GUEST-READY') && out.slice(out.indexOf('LINUX-GUEST-READY')).includes('/ # ')) {
        typed = true;
        input.push(new TextEncoder().encode('poweroff -f\n'));
      }
    }
    expect(out, out.slice(-3000)).toContain('LINUX-GUEST-READY');
    expect(out).toContain('ACPI: PM: (supports S0 S5)');
    expect(typed).toBe(true);
    expect(stop).toBe('poweroff');
    expect(pc.poweredOff).toBe(true);
  }, 21 * 60_000);
});
