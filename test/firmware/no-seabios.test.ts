// The built-in firmware needs nothing from the seabios package: with the SeaBIOS directory
// pointed at an empty one (PERSEUS_SEABIOS_DIR), `perseus run --firmware builtin` boots the
// shared FreeDOS floppy to its prompt, and `--firmware seabios` fails with a message that
// says what to install or choose instead. Needs ../shared/guests/freedos-boot-1.4MB.img
// (fails loudly in CI when missing).
import { describe, expect, it, vi } from 'vitest';
import { runCommand } from '../../main/run/run.js';
import { buildMachine, loadFirmware, SetupError } from '../../main/run/setup.js';
import type { PcMachine } from '../../core/board/pc.js';
import { sharedFile } from '../helpers/shared.js';
import { assertSeabiosHidden, hideSeabios } from './no-seabios.js';

const dir = hideSeabios();

async function quiet<T>(fn: () => Promise<T>): Promise<{ result: T; stderr: string }> {
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => { stderr += String(c); return true; });
  try {
    return { result: await fn(), stderr };
  } finally {
    spy.mockRestore();
  }
}

describe('without the seabios package', () => {
  it('the SeaBIOS lookup really finds nothing', () => {
    assertSeabiosHidden(dir);
    expect(() => loadFirmware('seabios')).toThrow(SetupError);
    expect(() => loadFirmware('seabios')).toThrow(`SeaBIOS not found at ${dir}/bios-256k.bin: install the Debian package "seabios", or use the built-in firmware (--firmware builtin)`);
  });

  it('perseus run --firmware builtin boots the FreeDOS floppy to A:\\>', async () => {
    const img = sharedFile('guests', 'freedos-boot-1.4MB.img');
    if (!img) return;
    const run = await quiet(() => runCommand(['--fda', img, '--firmware', 'builtin', '--deterministic', '--until', 'A:\\>', '--timeout', '300']));
    expect(run.stderr).not.toMatch(/SeaBIOS/i);
    expect(run.result).toBe(0);
  }, 320_000);

  it('a VM with a ROM file path as firmware still builds (no VGA BIOS from SeaBIOS: none)', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { buildBiosRom } = await import('../../core/firmware/rom.js');
    const rom = join(mkdtempSync(join(tmpdir(), 'perseus-rom-')), 'bios.bin');
    writeFileSync(rom, buildBiosRom().image);
    const fw = loadFirmware({ path: rom });
    expect(fw.vga).toBeNull();
  });

  it('perseus run --firmware seabios fails with exit 1 and says to install seabios or use builtin', async () => {
    const img = sharedFile('guests', 'freedos-boot-1.4MB.img');
    if (!img) return;
    const run = await quiet(() => runCommand(['--fda', img, '--firmware', 'seabios', '--timeout', '5']));
    expect(run.result).toBe(1);
    expect(run.stderr).toContain('install the Debian package "seabios", or use the built-in firmware (--firmware builtin)');
    expect(run.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('the library refuses seabios as a VM\'s firmware with the same advice (a settings issue, not a crash at power-on)', async () => {
    const { validateSettings } = await import('../../main/library/index.js');
    const { settingsForNewVm } = await import('../../main/library/settings.js');
    const issues = validateSettings(settingsForNewVm({ name: 'x', firmware: 'seabios' }), { nameTaken: () => false });
    expect(issues).toEqual([{ field: 'firmware', message: `SeaBIOS not found at ${dir}/bios-256k.bin: install the Debian package "seabios", or use the built-in firmware ("builtin")` }]);
    expect(validateSettings(settingsForNewVm({ name: 'x', firmware: 'builtin' }), { nameTaken: () => false })).toEqual([]);
  });

  it('a VM with seabios firmware fails to build with the same SetupError', async () => {
    const settings = {
      name: 'x', osPreset: 'other' as const, memoryMiB: 16, cpuModel: 'pentium2' as const, firmware: 'seabios' as const, bootOrder: 'a',
      floppyA: null, floppyB: null, ide: { primaryMaster: null, primarySlave: null, secondaryMaster: null, secondarySlave: null },
      nic: { model: 'none' as const, network: 'none' as const }, display: { adapter: 'std-vga' as const, vramMiB: 16 }, notes: '',
    };
    await expect(buildMachine(settings, { writable: false })).rejects.toThrow(/install the Debian package "seabios"/);
    const m = (await buildMachine({ ...settings, firmware: 'builtin' }, { writable: false })) as PcMachine;
    expect(m.run(100_000)).not.toBe('poweroff');
  });
});
