// The renderer's pure view helpers (renderer/src/lib/vm.ts), checked against the real
// presets, validation and lifecycle of main/ so the UI cannot drift from them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { CPU_MODELS, GUEST_OS_PRESETS, type VmPowerState } from '../../core/api/contract.js';
import { modelHasMmx } from '../../core/cpu/system/cpuid.js';
import { presetDefaults, presetInfo } from '../../main/library/presets.js';
import { settingsForNewVm } from '../../main/library/settings.js';
import { validateSettings } from '../../main/library/validate.js';
import {
  CPU_MODEL_LABELS, PRESET_DISK_MIB, PRESET_MEMORY_MIB, PRESET_NIC, SEND_KEYS, dropDriveFor, flattenTree, guessMediaKind, issuesFor, mediaIn,
  newDiskPath, newVmFieldOf, newVmParams, nextSnapshotName, powerActions, snapshotTree, unplacedIssues, type NewVmForm,
} from '../../renderer/src/lib/vm.js';
import { absolutePosition, canvasSize, displayAspect } from '../../renderer/src/lib/display.js';
import { inputEventsProblem } from '../../main/service/input.js';
import type { SnapshotNode } from '../../core/api/contract.js';

const dir = mkdtempSync(join(tmpdir(), 'perseus-view-helpers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function form(over: Partial<NewVmForm>): NewVmForm {
  return { name: 'Test', osPreset: 'dos', memoryMiB: 32, imagePath: '', imageKind: 'cdrom', diskPath: '', ...over };
}
const validate = (params: ReturnType<typeof newVmParams>) =>
  validateSettings(settingsForNewVm(params), { nameTaken: () => false });

describe('renderer view helpers', () => {
  test('the CPU model labels cover every model and say MMX exactly where the core has it', () => {
    for (const c of CPU_MODELS) {
      const label = CPU_MODEL_LABELS[c];
      expect(label, c).toBeTruthy();
      expect(/\bMMX\b/.test(label.replace('no MMX', '')), c).toBe(modelHasMmx(c));
    }
  });

  test('the New VM form shows the memory, disk size and NIC each preset really gives', () => {
    for (const p of GUEST_OS_PRESETS) {
      expect(PRESET_MEMORY_MIB[p]).toBe(presetDefaults(p).memoryMiB);
      expect(PRESET_DISK_MIB[p]).toBe(presetInfo(p).suggestedDiskMiB);
      expect(PRESET_NIC[p]).toBe(presetDefaults(p).nic.model);
    }
  });

  test('a new blank disk goes to the primary master and passes validation once it exists', () => {
    const path = newDiskPath(dir, ' My DOS box! ', 'qcow2');
    expect(path).toBe(join(dir, 'my-dos-box-disk.qcow2'));
    expect(newDiskPath('C:\\Users\\me\\Perseus', 'x', 'raw')).toBe('C:\\Users\\me\\Perseus\\x-disk.img');
    const params = newVmParams(form({ newDisk: { create: true, sizeMiB: 10, format: 'qcow2', path } }));
    expect(params.ide?.primaryMaster).toEqual({ kind: 'disk', path });
    expect(params.bootOrder).toBe('cda');
    writeFileSync(path, Buffer.alloc(1024 * 1024));
    expect(validate(params)).toEqual([]);
    // An unchecked "create" keeps the existing-disk field.
    expect(newVmParams(form({ newDisk: { create: false, sizeMiB: 10, format: 'qcow2', path } })).ide).toBeUndefined();
  });

  test('every Send keys entry is a combination the service accepts', () => {
    expect(SEND_KEYS.map((k) => k.label)).toEqual([
      'Ctrl+Alt+Del', ...Array.from({ length: 12 }, (_, i) => `Ctrl+Alt+F${i + 1}`), 'Alt+Tab', 'Print Screen']);
    expect(inputEventsProblem(SEND_KEYS.map((k) => ({ type: 'combo', combo: k.combo })))).toBeNull();
  });

  test('text modes are shown at 4:3, square-pixel modes as they are; the scaling modes', () => {
    expect(displayAspect(720, 400)).toBeCloseTo(4 / 3);
    expect(displayAspect(320, 200)).toBeCloseTo(4 / 3);
    expect(displayAspect(640, 350)).toBeCloseTo(4 / 3);
    expect(displayAspect(800, 600)).toBeCloseTo(4 / 3);
    expect(displayAspect(1280, 1024)).toBeCloseTo(1.25);
    const text = { width: 720, height: 400 };
    expect(canvasSize('1:1', text, { width: 100, height: 100 })).toEqual({ width: 720, height: 540 });
    expect(canvasSize('fit', text, { width: 1000, height: 540 })).toEqual({ width: 720, height: 540 });
    expect(canvasSize('fit', { width: 800, height: 600 }, { width: 1000, height: 300 })).toEqual({ width: 400, height: 300 });
    expect(canvasSize('stretch', text, { width: 1000, height: 300 })).toEqual({ width: 1000, height: 300 });
    expect(canvasSize('integer', { width: 320, height: 200 }, { width: 1000, height: 800 })).toEqual({ width: 960, height: 720 });
    expect(canvasSize('integer', { width: 800, height: 600 }, { width: 700, height: 500 })).toEqual({ width: 800, height: 600 });
    // A device pixel ratio of 2: 1:1 means one guest pixel per physical pixel.
    expect(canvasSize('1:1', { width: 800, height: 600 }, { width: 10, height: 10 }, 2)).toEqual({ width: 400, height: 300 });
    expect(absolutePosition(150, 80, { left: 100, top: 30, width: 200, height: 100 })).toEqual({ x: 0.25, y: 0.5 });
    expect(absolutePosition(0, 999, { left: 100, top: 30, width: 200, height: 100 })).toEqual({ x: 0, y: 1 });
  });

  test('removable media of a VM and where a dropped image goes', () => {
    const s = { ...presetDefaults('dos'), name: 'Media' };
    expect(mediaIn(s, 'cdrom')).toEqual({ present: true, path: null });
    expect(mediaIn({ ...s, floppyA: '/x/a.img' }, 'fda')).toEqual({ present: true, path: '/x/a.img' });
    expect(mediaIn({ ...s, ide: { ...s.ide, secondaryMaster: null } }, 'cdrom').present).toBe(false);
    expect(dropDriveFor('/x/Debian.iso')).toBe('cdrom');
    expect(dropDriveFor('/x/dos.ima')).toBe('fda');
  });

  test('the snapshot tree: parents before children, orphans as roots, next default name', () => {
    const n = (id: string, parentId: string | null, name = id): SnapshotNode => ({
      id, parentId, name, description: '', createdAt: '2026-01-01T00:00:00Z', thumbnail: null, isCurrent: false, hasState: true,
    });
    const nodes = [n('a', null, 'Snapshot 1'), n('b', 'a', 'Snapshot 7'), n('c', 'a'), n('d', 'b'), n('e', 'gone')];
    const tree = snapshotTree(nodes);
    expect(tree.map((t) => t.node.id)).toEqual(['a', 'e']);
    expect(flattenTree(tree).map((t) => `${t.node.id}${t.depth}`)).toEqual(['a0', 'b1', 'd2', 'c1', 'e0']);
    expect(nextSnapshotName(nodes)).toBe('Snapshot 8');
    expect(nextSnapshotName([])).toBe('Snapshot 1');
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
    expect(allowed('running')).toEqual(['edit', 'pause', 'powerOff', 'reset', 'shutdown', 'suspend']);
    expect(allowed('paused')).toEqual(['edit', 'powerOff', 'reset', 'resume', 'suspend']);
    expect(allowed('suspended')).toEqual(['edit', 'powerOn']);
    expect(allowed('crashed')).toEqual(['edit', 'powerOn', 'remove']);
    expect(allowed('stopping')).toEqual(['edit']);
  });
});
