import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../core/api/contract.js';
import { VmLibrary, presetDefaults } from '../../main/library/index.js';

let dir: string;
let lib: VmLibrary;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'perseus-lib-'));
  lib = VmLibrary.open(join(dir, 'data'));
});
afterEach(() => {
  lib.close();
  rmSync(dir, { recursive: true, force: true });
});

function image(name: string, bytes = 64 * 1024): string {
  const p = join(dir, name);
  writeFileSync(p, Buffer.alloc(bytes, 0xf6));
  return p;
}

function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  }
  throw new Error('expected an ApiError');
}

describe('VmLibrary', () => {
  it('opens with WAL, foreign keys and synchronous=FULL', () => {
    expect(lib.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(lib.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(lib.db.pragma('synchronous', { simple: true })).toBe(2);
    expect(existsSync(join(dir, 'data', 'library.db'))).toBe(true);
  });

  it('creates a VM from the preset defaults and the given fields', () => {
    const hda = image('dos.img', 1024 * 1024);
    const vm = lib.create({ name: '  DOS 6.22 ', osPreset: 'dos', memoryMiB: 16, ide: { primaryMaster: { kind: 'disk', path: hda } } as never });
    expect(vm.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(vm.name).toBe('DOS 6.22');
    expect(vm.memoryMiB).toBe(16);
    expect(vm.cpuModel).toBe(presetDefaults('dos').cpuModel);
    expect(vm.nic).toEqual({ model: 'ne2k-isa', network: 'nat' });
    // The given slot is set and the preset's CD-ROM drive stays.
    expect(vm.ide.primaryMaster).toEqual({ kind: 'disk', path: hda });
    expect(vm.ide.secondaryMaster).toEqual({ kind: 'cdrom', path: null });
    expect(vm.state).toBe('off');
    expect(vm.createdAt).toBe(vm.modifiedAt);
    expect(Date.parse(vm.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(existsSync(lib.vmDir(vm.id))).toBe(true);
    expect(lib.get(vm.id)).toEqual(vm);
  });

  it('gives each preset its own defaults', () => {
    const dos = lib.create({ name: 'a', osPreset: 'dos' });
    const linux = lib.create({ name: 'b', osPreset: 'linux' });
    const other = lib.create({ name: 'c' });
    expect([dos.memoryMiB, linux.memoryMiB, other.memoryMiB]).toEqual([32, 256, 64]);
    expect(dos.bootOrder).toBe('acd');
    expect(linux.nic.model).toBe('rtl8139');
    expect(other.osPreset).toBe('other');
  });

  it('lists by name, finds by name ignoring case, looks up ids and id prefixes', () => {
    const b = lib.create({ name: 'beta' });
    const a = lib.create({ name: 'Alpha' });
    expect(lib.list().map((v) => v.name)).toEqual(['Alpha', 'beta']);
    expect(lib.findByName('ALPHA ')?.id).toBe(a.id);
    expect(lib.findByName('gamma')).toBeUndefined();
    expect(lib.lookup(b.id).name).toBe('beta');
    expect(lib.lookup('alpha').id).toBe(a.id);
    expect(lib.lookup(b.id.slice(0, 8)).id).toBe(b.id);
    expect(apiError(() => lib.lookup('nothing')).code).toBe('not-found');
    expect(apiError(() => lib.get('00000000-0000-4000-8000-000000000000')).code).toBe('not-found');
    expect(lib.find('00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });

  it('updates: top-level fields replace, nic/display/ide merge, modifiedAt advances', async () => {
    const vm = lib.create({ name: 'w98', osPreset: 'win9x' });
    await new Promise((r) => setTimeout(r, 5));
    const iso = image('w98.iso', 40 * 1024);
    const up = lib.update(vm.id, {
      memoryMiB: 128,
      nic: { network: 'lan', lanSegment: 'lab' } as never,
      display: { vramMiB: 4 } as never,
      ide: { secondaryMaster: { kind: 'cdrom', path: iso } } as never,
    });
    expect(up.memoryMiB).toBe(128);
    expect(up.nic).toEqual({ model: 'ne2k-pci', network: 'lan', lanSegment: 'lab' });
    expect(up.display).toEqual({ adapter: 'std-vga', vramMiB: 4 });
    expect(up.ide.secondaryMaster).toEqual({ kind: 'cdrom', path: iso });
    expect(up.ide.primaryMaster).toBeNull();
    expect(up.createdAt).toBe(vm.createdAt);
    expect(up.modifiedAt > vm.modifiedAt).toBe(true);
    // Leaving the LAN drops the segment name.
    expect(lib.update(vm.id, { nic: { network: 'nat' } as never }).nic).toEqual({ model: 'ne2k-pci', network: 'nat' });
    // Removing a drive with null.
    expect(lib.update(vm.id, { ide: { secondaryMaster: null } as never }).ide.secondaryMaster).toBeNull();
  });

  it('rejects invalid settings with ApiError invalid and leaves the VM unchanged', () => {
    const vm = lib.create({ name: 'x' });
    const e = apiError(() => lib.update(vm.id, { memoryMiB: 0, bootOrder: 'z' }));
    expect(e.code).toBe('invalid');
    expect(e.issues.map((i) => i.field).sort()).toEqual(['bootOrder', 'memoryMiB']);
    expect(e.message).toContain('(and 1 more)');
    expect(lib.get(vm.id)).toEqual(vm);
    expect(apiError(() => lib.create({ name: '' })).issues).toEqual([{ field: 'name', message: 'Name is required' }]);
    expect(lib.list()).toHaveLength(1);
  });

  it('refuses duplicate names ignoring case, but a VM keeps its own name', () => {
    const vm = lib.create({ name: 'Same' });
    const e = apiError(() => lib.create({ name: 'same' }));
    expect(e.issues).toEqual([{ field: 'name', message: 'Another VM is already named "same"' }]);
    expect(lib.update(vm.id, { name: 'SAME', memoryMiB: 8 }).name).toBe('SAME');
    const other = lib.create({ name: 'other' });
    expect(apiError(() => lib.update(other.id, { name: 'same' })).code).toBe('invalid');
  });

  it('the unique index stops a duplicate name even when validation is bypassed', () => {
    lib.create({ name: 'one' });
    const raw = lib.db.prepare("INSERT INTO vms (id, name, name_key, settings, created_at, modified_at) VALUES ('x', 'ONE', 'one', '{}', '', '')");
    expect(() => raw.run()).toThrow(/UNIQUE/);
  });

  it('validate() reports problems for a new VM and for a patch without saving', () => {
    const vm = lib.create({ name: 'v' });
    expect(lib.validate({ name: 'new', memoryMiB: 64 })).toEqual([]);
    expect(lib.validate({ name: 'v' }).map((i) => i.field)).toEqual(['name']);
    expect(lib.validate({ memoryMiB: 4096 }, vm.id)).toEqual([{ field: 'memoryMiB', message: 'Memory must be between 1 and 3584 MiB, not 4096' }]);
    expect(lib.validate({ name: 'v' }, vm.id)).toEqual([]);
    expect(lib.get(vm.id).memoryMiB).toBe(64);
  });

  it('power state: stored, guards hardware changes while on, resets stale states', () => {
    const vm = lib.create({ name: 'p' });
    expect(lib.setPowerState(vm.id, 'running').state).toBe('running');
    // Name and notes may change while running; hardware may not.
    expect(lib.update(vm.id, { notes: 'hello', name: 'p2' }).notes).toBe('hello');
    const e = apiError(() => lib.update(vm.id, { memoryMiB: 8 }));
    expect(e.code).toBe('bad-state');
    expect(e.message).toBe('"p2" is running; power it off to change memoryMiB');
    expect(lib.update(vm.id, { floppyA: image('a.img', 1474560) }, { allowWhilePoweredOn: true }).floppyA).not.toBeNull();
    expect(apiError(() => lib.delete(vm.id, { keepFiles: true })).code).toBe('bad-state');
    expect(apiError(() => lib.setPowerState(vm.id, 'flying' as never)).code).toBe('invalid');
    expect(apiError(() => lib.setPowerState('nope', 'off')).code).toBe('not-found');
    const s = lib.create({ name: 's' });
    lib.setPowerState(s.id, 'suspended');
    expect(lib.resetStalePowerStates()).toEqual([vm.id]);
    expect(lib.get(vm.id).state).toBe('off');
    expect(lib.get(s.id).state).toBe('suspended');
  });

  it('delete with keepFiles=false removes only the VM folder, never referenced images', () => {
    const external = image('external.img', 1024 * 1024);
    const vm = lib.create({ name: 'd', ide: { primaryMaster: { kind: 'disk', path: external } } as never });
    const vmDir = lib.vmDir(vm.id);
    mkdirSync(join(vmDir, 'snapshots'));
    writeFileSync(join(vmDir, 'disk.img'), 'x');
    writeFileSync(join(vmDir, 'snapshots', 's1.state'), 'y');
    // A symlink in the folder is removed as a link; its target outside survives.
    const outside = image('outside.bin');
    symlinkSync(outside, join(vmDir, 'link'));
    const { deletedFiles } = lib.delete(vm.id, { keepFiles: false });
    expect(deletedFiles).toEqual([join(vmDir, 'disk.img'), join(vmDir, 'link'), join(vmDir, 'snapshots', 's1.state')]);
    expect(existsSync(vmDir)).toBe(false);
    expect(existsSync(external)).toBe(true);
    expect(existsSync(outside)).toBe(true);
    expect(lib.find(vm.id)).toBeUndefined();
  });

  it('delete with keepFiles=true keeps the folder', () => {
    const vm = lib.create({ name: 'k' });
    writeFileSync(join(lib.vmDir(vm.id), 'disk.img'), 'x');
    expect(lib.delete(vm.id, { keepFiles: true })).toEqual({ deletedFiles: [] });
    expect(existsSync(join(lib.vmDir(vm.id), 'disk.img'))).toBe(true);
    expect(lib.list()).toEqual([]);
    expect(apiError(() => lib.delete(vm.id, { keepFiles: true })).code).toBe('not-found');
  });

  it('vmDir refuses anything but a UUID, so a crafted id cannot reach outside vms/', () => {
    expect(() => lib.vmDir('../..')).toThrow(/not a VM id/);
  });

  it('notifies in-process listeners and detects changes by another connection', () => {
    const seen: string[] = [];
    const off = lib.onChange((c) => seen.push(`${c.type}`));
    const vm = lib.create({ name: 'n' });
    lib.update(vm.id, { notes: 'x' });
    lib.setPowerState(vm.id, 'off');
    off();
    lib.delete(vm.id, { keepFiles: true });
    expect(seen).toEqual(['created', 'updated', 'power-state']);
    expect(lib.hasExternalChanges()).toBe(false);
    const other = VmLibrary.open(lib.dataDir);
    other.create({ name: 'from elsewhere' });
    other.close();
    expect(lib.hasExternalChanges()).toBe(true);
    expect(lib.hasExternalChanges()).toBe(false);
    expect(lib.findByName('from elsewhere')).toBeDefined();
  });

  it('reads rows written before a setting existed with the preset default', () => {
    const vm = lib.create({ name: 'old', osPreset: 'dos' });
    const stored = JSON.parse((lib.db.prepare('SELECT settings FROM vms WHERE id = ?').get(vm.id) as { settings: string }).settings);
    delete stored.display;
    delete stored.notes;
    lib.db.prepare('UPDATE vms SET settings = ? WHERE id = ?').run(JSON.stringify(stored), vm.id);
    const back = lib.get(vm.id);
    expect(back.display).toEqual(presetDefaults('dos').display);
    expect(back.notes).toBe('');
  });

  it('a second process-like connection sees committed data (WAL readers)', () => {
    const vm = lib.create({ name: 'shared' });
    const raw = new Database(lib.dbPath, { readonly: true });
    expect((raw.prepare('SELECT name FROM vms WHERE id = ?').get(vm.id) as { name: string }).name).toBe('shared');
    raw.close();
  });
});

describe('VmLibrary with malformed input (e.g. from the web transport)', () => {
  it('reports wrongly typed fields instead of storing or silently fixing them', () => {
    const e = apiError(() => lib.create({ name: 'g', ide: 5, nic: 'x' } as never));
    expect(e.code).toBe('invalid');
    expect(e.issues.map((i) => i.field)).toEqual(['ide', 'nic']);
    const vm = lib.create({ name: 'h' });
    expect(apiError(() => lib.update(vm.id, { ide: { tertiaryMaster: null } } as never)).issues.map((i) => i.field)).toEqual(['ide.tertiaryMaster']);
    expect(apiError(() => lib.update(vm.id, 7 as never)).code).toBe('invalid');
    expect(lib.list().map((v) => v.name)).toEqual(['h']);
  });
});

describe('VmLibrary.open on a damaged file', () => {
  it('refuses a library.db that is not SQLite with a clear message and leaves it alone', () => {
    const bad = join(dir, 'bad');
    mkdirSync(bad);
    const junk = Buffer.alloc(8192, 0x5a);
    writeFileSync(join(bad, 'library.db'), junk);
    expect(() => VmLibrary.open(bad)).toThrow(`the VM library ${join(bad, 'library.db')} is damaged or not a Perseus library`);
    expect(readFileSync(join(bad, 'library.db')).equals(junk)).toBe(true);
  });
});
