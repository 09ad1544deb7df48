// The per-VM boot-menu setting (VmSettings.bootMenuDelayMs): validation, storage in the
// library (absent on VMs from before it existed), `perseus vm --boot-menu` and
// `perseus run --boot-menu[=MS]`, and buildMachine handing it to the board's fw_cfg, where
// the built-in BIOS reads it and shows its prompt.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, type VmSettings } from '../../core/api/contract.js';
import type { PcMachine } from '../../core/board/pc.js';
import { bootMenuWaitMs } from '../../core/firmware/fwcfg-read.js';
import { VmLibrary, validateSettings } from '../../main/library/index.js';
import { settingsForNewVm } from '../../main/library/settings.js';
import { parseRunArgs, settingsFromOptions } from '../../main/run/run.js';
import { buildMachine } from '../../main/run/setup.js';

const ctx = { nameTaken: () => false };
const check = (v: unknown) => validateSettings(settingsForNewVm({ name: 't', bootMenuDelayMs: v } as Partial<VmSettings>), ctx);

describe('bootMenuDelayMs validation', () => {
  it('accepts absent and whole milliseconds 0-60000', () => {
    expect(validateSettings(settingsForNewVm({ name: 't' }), ctx)).toEqual([]);
    for (const ms of [0, 1, 2500, 60_000]) expect(check(ms)).toEqual([]);
  });
  it('refuses anything else with a message naming the range', () => {
    expect(check(-1)).toEqual([{ field: 'bootMenuDelayMs', message: 'Boot menu delay must be a whole number of milliseconds from 0 (no prompt) to 60000, not -1' }]);
    expect(check(60_001)[0].field).toBe('bootMenuDelayMs');
    expect(check(1.5)[0].message).toContain('whole number');
    expect(check('3000')).toEqual([{ field: 'bootMenuDelayMs', message: 'Boot menu delay must be a number of milliseconds, not "3000"' }]);
    expect(check(null)[0].field).toBe('bootMenuDelayMs');
  });
});

describe('bootMenuDelayMs in the library', () => {
  let dir: string;
  let lib: VmLibrary;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'perseus-bootmenu-'));
    lib = VmLibrary.open(join(dir, 'data'));
  });
  afterEach(() => {
    lib.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is stored, survives reopening, is updated, and stays absent on VMs that never set it', () => {
    const a = lib.create({ name: 'with menu', bootMenuDelayMs: 2500 });
    const b = lib.create({ name: 'plain' });
    expect(a.bootMenuDelayMs).toBe(2500);
    expect(b.bootMenuDelayMs).toBeUndefined();
    lib.close();
    lib = VmLibrary.open(join(dir, 'data'));
    expect(lib.get(a.id).bootMenuDelayMs).toBe(2500);
    expect('bootMenuDelayMs' in lib.get(b.id)).toBe(false);
    expect(lib.update(a.id, { bootMenuDelayMs: 0 }).bootMenuDelayMs).toBe(0);
    expect(lib.update(b.id, { bootMenuDelayMs: 500 }).bootMenuDelayMs).toBe(500);
  });

  it('refuses an invalid value with an "invalid" ApiError and keeps the stored one', () => {
    const a = lib.create({ name: 'x', bootMenuDelayMs: 1000 });
    let err: unknown;
    try { lib.update(a.id, { bootMenuDelayMs: 99_999 }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('invalid');
    expect((err as ApiError).issues?.map((i) => i.field)).toEqual(['bootMenuDelayMs']);
    expect(lib.get(a.id).bootMenuDelayMs).toBe(1000);
  });
});

describe('perseus run --boot-menu', () => {
  it('bare flag = 3000 ms, =MS that long, absent: no setting; bad values are usage errors', () => {
    expect(settingsFromOptions(parseRunArgs(['--boot-menu'])).bootMenuDelayMs).toBe(3000);
    expect(settingsFromOptions(parseRunArgs(['--boot-menu=750', '--fda', 'a.img'])).bootMenuDelayMs).toBe(750);
    expect(settingsFromOptions(parseRunArgs(['--fda', 'a.img'])).bootMenuDelayMs).toBeUndefined();
    expect(() => settingsFromOptions(parseRunArgs(['--boot-menu=soon']))).toThrow('--boot-menu=MS takes milliseconds 0-60000');
    expect(() => settingsFromOptions(parseRunArgs(['--boot-menu=70000']))).toThrow('--boot-menu=MS takes milliseconds 0-60000');
  });
});

describe('buildMachine passes the setting to the firmware', () => {
  const base = (): VmSettings => ({ ...settingsForNewVm({ name: 'b' }), floppyA: null, ide: { primaryMaster: null, primarySlave: null, secondaryMaster: null, secondarySlave: null }, nic: { model: 'none', network: 'none' } });

  it('fw_cfg holds it and the built-in BIOS shows the prompt; without it, none', async () => {
    const m = (await buildMachine({ ...base(), bootMenuDelayMs: 1500 }, { writable: false, deterministic: true })) as PcMachine;
    expect(bootMenuWaitMs(m.io)).toBe(1500);
    m.run(2_000_000);
    m.updateScreen();
    expect(m.screen().text).toContain('Press F12 for the boot menu');
    const plain = (await buildMachine(base(), { writable: false, deterministic: true })) as PcMachine;
    expect(bootMenuWaitMs(plain.io)).toBe(0);
    plain.run(2_000_000);
    plain.updateScreen();
    expect(plain.screen().text).not.toContain('F12');
  });
});

describe('SeaBIOS reads the same fw_cfg items (needs the Debian package seabios and ../shared)', () => {
  it('perseus run --firmware seabios --boot-menu=2000 shows SeaBIOS\'s prompt; without it, none', async () => {
    const { seabiosAvailable } = await import('../board/board-helpers.js');
    const { sharedFile } = await import('../helpers/shared.js');
    const { runCommand } = await import('../../main/run/run.js');
    const { vi } = await import('vitest');
    if (!seabiosAvailable()) return;
    const img = sharedFile('guests', 'freedos-boot-1.4MB.img');
    if (!img) return;
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await runCommand(['--fda', img, '--firmware', 'seabios', '--boot-menu=2000', '--deterministic', '--until', 'Press ESC for boot menu', '--timeout', '60'])).toBe(0);
      expect(await runCommand(['--fda', img, '--firmware', 'seabios', '--deterministic', '--until', 'Press ESC for boot menu', '--timeout', '3'])).toBe(1);
    } finally {
      spy.mockRestore();
    }
  }, 120_000);
});
