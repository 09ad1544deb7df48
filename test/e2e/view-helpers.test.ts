// The renderer's pure view helpers (renderer/src/lib/vm.ts), checked against the real
// presets, validation and lifecycle of main/ so the UI cannot drift from them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { GUEST_OS_PRESETS, type VmPowerState } from '../../core/api/contract.js';
import { presetDefaults } from '../../main/library/presets.js';
import { settingsForNewVm } from '../../main/library/settings.js';
import { validateSettings } from '../../main/library/validate.js';
import {
  PRESET_MEMORY_MIB, guessMediaKind, issuesFor, newVmFieldOf, newVmParams, powerActions, unplacedIssues, type NewVmForm,
} from '../../renderer/src/lib/vm.js';

const dir = mkdtempSync(join(tmpdir(), 'perseus-view-helpers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function form(over: Partial<NewVmForm>): NewVmForm {
  return { name: 'Test', osPreset: 'dos', memoryMiB: 32, imagePath: '', imageKind: 'cdrom', diskPath: '', ...over };
}
const validate = (params: ReturnType<typeof newVmParams>) =>
  validateSettings(settingsForNewVm(params), { nameTaken: () => false });

describe('renderer view helpers', () => {
  test('the New VM form shows the memory each preset really gives', () => {
    for (const p of GUEST_OS_PRESETS) expect(PRESET_MEMORY_MIB[p]).toBe(presetDefaults(p).memoryMiB);
  });

  test('New VM parameters attach the image where its kind goes and pass validation', () => {
    const iso = join(dir, 'install.iso');
    const floppy = join(dir, 'boot.ima');
    const disk = join(dir, 'disk.img');
    writeFileSync(iso, Buffer.alloc(64 * 1024));
    writeFileSync(floppy, Buffer.alloc(1_474_560));
    writeFileSync(disk, Buffer.alloc(1024 * 1024));

    const cd = newVmParams(form({ name: '  Spaced  ', imagePath: iso, imageKind: guessMediaKind(iso), diskPath: disk }));
    expect(cd.name).toBe('Spaced');
    expect(cd.ide?.secondaryMaster).toEqual({ kind: 'cdrom', path: iso });
    expect(cd.ide?.primaryMaster).toEqual({ kind: 'disk', path: disk });
    expect(cd.bootOrder).toBe('dca');
    expect(validate(cd)).toEqual([]);

    const fd = newVmParams(form({ imagePath: floppy, imageKind: guessMediaKind(floppy) }));
    expect(fd.floppyA).toBe(floppy);
    expect(fd.bootOrder).toBe('acd');
    expect(validate(fd)).toEqual([]);

    const bare = newVmParams(form({}));
    expect(bare.ide).toBeUndefined();
    expect(validate(bare)).toEqual([]);

    // A missing image: validation names a field the form maps back to the image input.
    const missing = newVmParams(form({ imagePath: join(dir, 'nope.iso'), imageKind: 'cdrom' }));
    const issues = validate(missing);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.map((i) => newVmFieldOf(i.field, form({ imagePath: 'x' })))).toContain('imagePath');
  });

  test('guessMediaKind by file name', () => {
    expect(guessMediaKind('/x/Debian.ISO')).toBe('cdrom');
    expect(guessMediaKind('/x/dos622.ima')).toBe('floppy');
    expect(guessMediaKind('/x/freedos-floppy.img')).toBe('floppy');
    expect(guessMediaKind('/x/c.qcow2')).toBe('disk');
    expect(guessMediaKind('/x/hd.img')).toBe('disk');
  });

  test('issues are placed on their field or a parent field, the rest listed apart', () => {
    const issues = [
      { field: 'memoryMiB', message: 'm' },
      { field: 'ide.primaryMaster.path', message: 'p' },
      { field: 'ide.primaryMasterX', message: 'not a child' },
      { field: 'mystery', message: 'x' },
    ];
    expect(issuesFor(issues, 'ide.primaryMaster')).toEqual(['p']);
    expect(issuesFor(issues, 'memoryMiB')).toEqual(['m']);
    expect(unplacedIssues(issues, ['memoryMiB', 'ide.primaryMaster']).map((i) => i.field)).toEqual(['ide.primaryMasterX', 'mystery']);
  });

  test('power actions follow the host lifecycle', () => {
    const allowed = (s: VmPowerState) => Object.entries(powerActions(s)).filter(([, v]) => v).map(([k]) => k).sort();
    expect(allowed('off')).toEqual(['edit', 'powerOn', 'remove']);
    expect(allowed('running')).toEqual(['edit', 'pause', 'powerOff', 'reset']);
    expect(allowed('paused')).toEqual(['edit', 'powerOff', 'reset', 'resume']);
    expect(allowed('crashed')).toEqual(['edit', 'powerOn', 'remove']);
    expect(allowed('stopping')).toEqual(['edit']);
  });
});
