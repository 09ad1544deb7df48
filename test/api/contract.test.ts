// The same API cases over both transports: the WebSocket for real, Electron IPC through an
// in-process ipcMain/ipcRenderer double. A UI must not be able to tell them apart.
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ApiEvent, ApiMethod, PerseusClient, ScreenUpdate, VmRecord } from '../../core/api/contract.js';
import { toApiError } from '../../core/api/wire.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { electronTransport, webTransport, type TransportHarness } from './transports.js';

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

async function until<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function rejection(p: Promise<unknown>): Promise<ReturnType<typeof toApiError>> {
  try {
    await p;
  } catch (err) {
    return toApiError(err);
  }
  throw new Error('expected the call to fail');
}

describe.each([
  ['web', webTransport],
  ['electron', electronTransport],
] as const)('API over %s', (transport, setUp) => {
  let h: TransportHarness;
  let client: PerseusClient;
  const events: ApiEvent[] = [];

  beforeAll(async () => {
    h = await setUp();
    client = h.client;
    client.onEvent((e) => events.push(e));
  });
  afterAll(async () => { await h?.close(); });

  test('appInfo names the app, version, data directory and transport', async () => {
    expect(await client.call('appInfo', {})).toEqual({
      name: 'Perseus Workstation', version: VERSION, dataDir: h.dataDir, transport,
    });
  });

  test('create, list, get, update, validate, delete, with library-changed events', async () => {
    const before = events.length;
    const vm = await client.call('createVm', { name: 'DOS box', osPreset: 'dos', memoryMiB: 32 });
    expect(vm).toMatchObject({ name: 'DOS box', osPreset: 'dos', memoryMiB: 32, state: 'off' });
    expect(typeof vm.id).toBe('string');
    await until('library-changed', () => events.slice(before).some((e) => e.type === 'library-changed'));

    expect((await client.call('listVms', {})).map((v: VmRecord) => v.name)).toContain('DOS box');
    expect(await client.call('getVm', { id: vm.id })).toEqual(vm);

    const updated = await client.call('updateVm', { id: vm.id, patch: { memoryMiB: 48, notes: 'hello' } });
    expect(updated).toMatchObject({ id: vm.id, memoryMiB: 48, notes: 'hello' });

    expect(await client.call('validateSettings', { settings: { name: 'ok', memoryMiB: 64 } })).toEqual([]);
    const issues = await client.call('validateSettings', { id: vm.id, settings: { memoryMiB: -5 } });
    expect(issues.map((i) => i.field)).toEqual(['memoryMiB']);

    const other = await client.call('createVm', { name: 'to delete' });
    const del = await client.call('deleteVm', { id: other.id, keepFiles: false });
    expect(Array.isArray(del.deletedFiles)).toBe(true);
    expect((await client.call('listVms', {})).map((v: VmRecord) => v.id)).not.toContain(other.id);
  });

  test('errors arrive as ApiErrors with code, message and issues', async () => {
    const missing = await rejection(client.call('getVm', { id: 'no-such-vm' }));
    expect(missing.code).toBe('not-found');
    expect(missing.message).toMatch(/no-such-vm/);

    const invalid = await rejection(client.call('createVm', { name: 'bad', memoryMiB: 0 }));
    expect(invalid.code).toBe('invalid');
    expect(invalid.issues.map((i) => i.field)).toContain('memoryMiB');

    const unknown = await rejection(client.call('noSuchMethod' as ApiMethod, {} as never));
    expect(unknown.code).toBe('invalid');

    const noId = await rejection(client.call('powerOn', {} as never));
    expect(noId.code).toBe('invalid');

    const vm = await client.call('createVm', { name: 'idle one' });
    const badState = await rejection(client.call('pause', { id: vm.id }));
    expect(badState.code).toBe('bad-state');
  });

  test('power a VM on, watch it, control it, power it off', async () => {
    const vm = await client.call('createVm', { name: 'runner', memoryMiB: 16 });
    const from = events.length;
    const on = await client.call('powerOn', { id: vm.id });
    expect(on).toMatchObject({ id: vm.id, state: 'running' });
    await until('vm-state running', () => events.slice(from).some((e) => e.type === 'vm-state' && e.id === vm.id && e.state === 'running'));
    expect((await client.call('getVm', { id: vm.id })).state).toBe('running');

    // Screen updates (binary frames over the WebSocket) with real pixels.
    const screen = await until('a full frame', () => events.slice(from).find(
      (e): e is { type: 'screen'; update: ScreenUpdate } => e.type === 'screen' && e.update.id === vm.id && e.update.full));
    expect(screen.update.rects[0]!.rgba).toBeInstanceOf(Uint8Array);
    expect(screen.update.rects[0]!.rgba.length).toBe(320 * 200 * 4);
    expect(screen.update.rects[0]!.rgba[0]).toBe(0x20);
    const afterFull = events.length;
    expect(await client.call('requestFullFrame', { id: vm.id })).toBeNull();
    await until('the requested frame', () => events.slice(afterFull).some((e) => e.type === 'screen' && e.update.full));

    await until('a status event', () => events.slice(from).some((e) => e.type === 'vm-status' && e.status.id === vm.id && e.status.instructions > 0));
    const status = await client.call('getStatus', { id: vm.id });
    expect(status.state).toBe('running');
    expect(status.instructions).toBeGreaterThan(0);

    for (const bad of [[{ type: 'key', code: 65, down: true }], [{ type: 'warp' }], [{ type: 'mouse-abs', x: 2, y: 0, buttons: 0 }], [{ type: 'mouse-abs', x: 0, y: 0, buttons: 0, dz: 0.5 }], 'KeyA']) {
      const err = await rejection(client.call('sendInput', { id: vm.id, events: bad as never }));
      expect(err.code, JSON.stringify(bad)).toBe('invalid');
    }
    expect(await client.call('sendInput', { id: vm.id, events: [{ type: 'text', text: 'dir\n' }] })).toBeNull();
    expect(JSON.parse(await client.call('getScreenText', { id: vm.id })).inputs).toEqual([{ type: 'text', text: 'dir\n' }]);

    // Hardware cannot change and the VM cannot be deleted while it is on; notes can change.
    expect((await rejection(client.call('updateVm', { id: vm.id, patch: { memoryMiB: 64 } }))).code).toBe('bad-state');
    expect((await rejection(client.call('deleteVm', { id: vm.id, keepFiles: true }))).code).toBe('bad-state');
    expect((await client.call('updateVm', { id: vm.id, patch: { notes: 'running now' } })).notes).toBe('running now');

    expect((await client.call('pause', { id: vm.id })).state).toBe('paused');
    expect((await rejection(client.call('pause', { id: vm.id }))).code).toBe('bad-state');
    expect((await client.call('resume', { id: vm.id })).state).toBe('running');
    expect((await client.call('reset', { id: vm.id })).state).toBe('running');
    expect((await rejection(client.call('powerOn', { id: vm.id }))).code).toBe('bad-state');

    expect((await client.call('powerOff', { id: vm.id })).state).toBe('off');
    await until('vm-state off', () => events.slice(from).some((e) => e.type === 'vm-state' && e.id === vm.id && e.state === 'off'));
    expect((await client.call('getVm', { id: vm.id })).state).toBe('off');
    expect((await client.call('getStatus', { id: vm.id })).state).toBe('off');
    expect((await rejection(client.call('getScreenText', { id: vm.id }))).code).toBe('bad-state');
  });

  test('a crashing VM is reported as crashed with its error', async () => {
    const vm = await client.call('createVm', { name: 'crasher', notes: 'fake:throw-on-run' });
    const from = events.length;
    await client.call('powerOn', { id: vm.id });
    const crash = await until('vm-state crashed', () => events.slice(from).find((e) => e.type === 'vm-state' && e.id === vm.id && e.state === 'crashed'));
    expect(crash.type === 'vm-state' && crash.error).toMatch(/triple fault/);
    expect(events.slice(from).some((e) => e.type === 'log' && e.id === vm.id && e.level === 'error')).toBe(true);
    await until('status crashed', async () => (await client.call('getStatus', { id: vm.id })).state === 'crashed');
    expect((await client.call('getStatus', { id: vm.id })).error).toMatch(/triple fault/);
    expect((await client.call('getVm', { id: vm.id })).state).toBe('crashed');
    // The app keeps answering.
    expect((await client.call('appInfo', {})).transport).toBe(transport);
  });

  // The fake machine's state is its inputs (JSON), so reverts are visible in getScreenText.
  const inputsOf = async (id: string) => JSON.parse(await client.call('getScreenText', { id })).inputs as unknown[];

  test('snapshots of a running VM: take, list with thumbnails, revert, rename, delete, with progress events', async () => {
    const vm = await client.call('createVm', { name: 'snapper', memoryMiB: 16 });
    await client.call('powerOn', { id: vm.id });
    expect(await client.call('listSnapshots', { id: vm.id })).toEqual([]);
    await client.call('sendInput', { id: vm.id, events: [{ type: 'text', text: 'one' }] });
    const from = events.length;
    const s1 = await client.call('takeSnapshot', { id: vm.id, name: ' S1 ', description: 'first' });
    expect(s1).toMatchObject({ name: 'S1', description: 'first', parentId: null, isCurrent: true, hasState: true });
    expect(s1.thumbnail).toMatch(/^data:image\/png;base64,/);
    expect(Buffer.from(s1.thumbnail!.split(',')[1]!, 'base64').subarray(1, 4).toString()).toBe('PNG');
    const progress = events.slice(from).filter((e) => e.type === 'snapshot-progress' && e.id === vm.id);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.at(-1)).toMatchObject({ operation: 'take', done: true, fraction: 1 });
    expect(progress.at(-1)).not.toHaveProperty('error');
    await until('snapshots-changed', () => events.slice(from).some((e) => e.type === 'snapshots-changed' && e.id === vm.id));
    expect((await client.call('getStatus', { id: vm.id })).state).toBe('running');

    await client.call('sendInput', { id: vm.id, events: [{ type: 'text', text: 'two' }] });
    const s2 = await client.call('takeSnapshot', { id: vm.id, name: 'S2' });
    expect(s2.parentId).toBe(s1.id);
    await client.call('sendInput', { id: vm.id, events: [{ type: 'text', text: 'three' }] });
    expect(await inputsOf(vm.id)).toEqual(['one', 'two', 'three'].map((text) => ({ type: 'text', text })));

    // Revert: the running machine continues from S1's state.
    expect((await client.call('revertSnapshot', { id: vm.id, snapshotId: s1.id })).state).toBe('running');
    expect(await inputsOf(vm.id)).toEqual([{ type: 'text', text: 'one' }]);
    let list = await client.call('listSnapshots', { id: vm.id });
    expect(list.map((n) => [n.name, n.isCurrent])).toEqual([['S1', true], ['S2', false]]);
    // Paused stays paused after a revert.
    await client.call('pause', { id: vm.id });
    expect((await client.call('revertSnapshot', { id: vm.id, snapshotId: s2.id })).state).toBe('paused');
    expect(await inputsOf(vm.id)).toEqual([{ type: 'text', text: 'one' }, { type: 'text', text: 'two' }]);
    await client.call('resume', { id: vm.id });

    const renamed = await client.call('renameSnapshot', { id: vm.id, snapshotId: s2.id, name: 'second', description: 'after two' });
    expect(renamed).toMatchObject({ id: s2.id, name: 'second', description: 'after two', isCurrent: true });
    expect(await client.call('deleteSnapshot', { id: vm.id, snapshotId: s1.id })).toBeNull();
    list = await client.call('listSnapshots', { id: vm.id });
    expect(list.map((n) => [n.name, n.parentId])).toEqual([['second', null]]);

    // Bad input: clear errors, nothing changes.
    expect((await rejection(client.call('takeSnapshot', { id: vm.id, name: '  ' }))).code).toBe('invalid');
    expect((await rejection(client.call('revertSnapshot', { id: vm.id, snapshotId: s1.id }))).code).toBe('not-found');
    expect((await rejection(client.call('deleteSnapshot', { id: vm.id, snapshotId: 'nope' }))).code).toBe('not-found');
    expect((await client.call('listSnapshots', { id: vm.id })).length).toBe(1);
    await client.call('powerOff', { id: vm.id });
  });

  test('snapshots of a VM that is off: disks-only take; reverting to a running snapshot leaves it suspended there', async () => {
    const vm = await client.call('createVm', { name: 'offline', memoryMiB: 16 });
    const cold = await client.call('takeSnapshot', { id: vm.id, name: 'cold' });
    expect(cold).toMatchObject({ name: 'cold', hasState: false, thumbnail: null, isCurrent: true });
    await client.call('powerOn', { id: vm.id });
    await client.call('sendInput', { id: vm.id, events: [{ type: 'text', text: 'warm' }] });
    const warm = await client.call('takeSnapshot', { id: vm.id, name: 'warm' });
    expect(warm.parentId).toBe(cold.id);
    // A running VM cannot go back to a snapshot without machine state.
    expect((await rejection(client.call('revertSnapshot', { id: vm.id, snapshotId: cold.id }))).code).toBe('bad-state');
    await client.call('powerOff', { id: vm.id });

    // Off: reverting to "warm" makes the VM suspended at that instant; power on continues there.
    expect((await client.call('revertSnapshot', { id: vm.id, snapshotId: warm.id })).state).toBe('suspended');
    expect((await client.call('getVm', { id: vm.id })).state).toBe('suspended');
    // A suspended VM takes no snapshot (its state lives outside the tree) until it runs or is off.
    expect((await rejection(client.call('takeSnapshot', { id: vm.id, name: 'nope' }))).code).toBe('bad-state');
    await client.call('powerOn', { id: vm.id });
    expect(await inputsOf(vm.id)).toEqual([{ type: 'text', text: 'warm' }]);
    await client.call('powerOff', { id: vm.id });

    // Reverting to "cold" (disks only) leaves it off: the next power on boots afresh.
    expect((await client.call('revertSnapshot', { id: vm.id, snapshotId: cold.id })).state).toBe('off');
    await client.call('powerOn', { id: vm.id });
    expect(await inputsOf(vm.id)).toEqual([]);
    await client.call('powerOff', { id: vm.id });
  });

  test('a snapshot that keeps the worker busy longer than the heartbeat timeout does not count as a hang', async () => {
    const vm = await client.call('createVm', { name: 'big guest', memoryMiB: 16, notes: 'fake:slow-save' });
    await client.call('powerOn', { id: vm.id });
    const from = events.length;
    expect((await client.call('takeSnapshot', { id: vm.id, name: 'slow' })).hasState).toBe(true);
    expect((await client.call('getStatus', { id: vm.id })).state).toBe('running');
    // Still answering the heartbeat afterwards, and never reported crashed.
    await new Promise((r) => setTimeout(r, 500));
    expect((await client.call('getStatus', { id: vm.id })).state).toBe('running');
    expect(events.slice(from).some((e) => e.type === 'vm-state' && e.id === vm.id && e.state === 'crashed')).toBe(false);
    await client.call('powerOff', { id: vm.id });
  });

  test('a VM on a read-only disk image runs, but refuses live snapshots with a clear message', async () => {
    const image = join(h.dataDir, 'read-only.img');
    await client.call('createDisk', { path: image, sizeMiB: 1, format: 'raw' });
    chmodSync(image, 0o444);
    const vm = await client.call('createVm', {
      name: 'read-only disk', memoryMiB: 16,
      ide: { primaryMaster: { kind: 'disk', path: image }, primarySlave: null, secondaryMaster: null, secondarySlave: null },
    });
    await client.call('powerOn', { id: vm.id });
    const err = await rejection(client.call('takeSnapshot', { id: vm.id, name: 'S' }));
    expect(err.code).toBe('bad-state');
    expect(err.message).toMatch(/read-only/);
    expect(await client.call('listSnapshots', { id: vm.id })).toEqual([]);
    expect((await client.call('getStatus', { id: vm.id })).state).toBe('running');
    await client.call('powerOff', { id: vm.id });
  });

  test('suspend writes the state and stops the worker; power on resumes it; power off discards it', async () => {
    const vm = await client.call('createVm', { name: 'sleeper', memoryMiB: 16 });
    await client.call('powerOn', { id: vm.id });
    await client.call('sendInput', { id: vm.id, events: [{ type: 'text', text: 'before sleep' }] });
    const from = events.length;
    expect((await client.call('suspend', { id: vm.id })).state).toBe('suspended');
    expect((await client.call('getVm', { id: vm.id })).state).toBe('suspended');
    await until('vm-state suspended', () => events.slice(from).some((e) => e.type === 'vm-state' && e.id === vm.id && e.state === 'suspended'));
    expect(existsSync(join(h.dataDir, 'vms', vm.id, 'suspended.state'))).toBe(true);
    expect((await rejection(client.call('suspend', { id: vm.id }))).code).toBe('bad-state');

    const resumeFrom = events.length;
    expect((await client.call('powerOn', { id: vm.id })).state).toBe('running');
    expect(await inputsOf(vm.id)).toEqual([{ type: 'text', text: 'before sleep' }]);
    await until('resume progress', () => events.slice(resumeFrom).some((e) => e.type === 'snapshot-progress' && e.operation === 'resume' && e.done));
    expect(events.slice(resumeFrom).filter((e) => e.type === 'snapshot-progress' && e.operation === 'resume').map((e) => e.type === 'snapshot-progress' && [e.fraction, e.done]))
      .toEqual([[0, false], [1, true]]);
    // The saved state is spent once the VM runs again.
    expect(existsSync(join(h.dataDir, 'vms', vm.id, 'suspended.state'))).toBe(false);

    // A damaged saved state: power on says why and harms nothing else; the next power on boots afresh.
    await client.call('suspend', { id: vm.id });
    const statePath = join(h.dataDir, 'vms', vm.id, 'suspended.state');
    const good = readFileSync(statePath);
    writeFileSync(statePath, good.subarray(0, good.length - 3));
    const failedFrom = events.length;
    const crashed = await client.call('powerOn', { id: vm.id });
    expect(crashed.state).toBe('crashed');
    expect(crashed.error).toMatch(/cannot resume the saved machine state: .*truncated/);
    expect(events.slice(failedFrom).some((e) => e.type === 'snapshot-progress' && e.operation === 'resume' && e.done && /truncated/.test(e.error ?? ''))).toBe(true);
    expect((await client.call('powerOn', { id: vm.id })).state).toBe('running');
    expect(await inputsOf(vm.id)).toEqual([]);
    expect(existsSync(statePath)).toBe(false);
    await client.call('sendInput', { id: vm.id, events: [{ type: 'text', text: 'before sleep' }] });

    // A saved state that went missing: a warning, and a fresh start.
    await client.call('suspend', { id: vm.id });
    rmSync(statePath);
    const missingFrom = events.length;
    expect((await client.call('powerOn', { id: vm.id })).state).toBe('running');
    expect(await inputsOf(vm.id)).toEqual([]);
    expect(events.slice(missingFrom).some((e) => e.type === 'log' && e.level === 'warn' && /saved state .* is missing/.test(e.message))).toBe(true);

    await client.call('suspend', { id: vm.id });
    expect((await client.call('powerOff', { id: vm.id })).state).toBe('off');
    expect(existsSync(join(h.dataDir, 'vms', vm.id, 'suspended.state'))).toBe(false);
    await client.call('powerOn', { id: vm.id });
    expect(await inputsOf(vm.id)).toEqual([]);
    await client.call('powerOff', { id: vm.id });
  });

  test('removable media: insert and eject while running and while off; recent images; createDisk', async () => {
    const floppy = join(h.dataDir, 'blank.img');
    const made = await client.call('createDisk', { path: floppy, sizeMiB: 2, format: 'raw' });
    expect(made).toEqual({ path: floppy, format: 'raw', sizeBytes: 2 * 1024 * 1024 });
    expect(statSync(floppy).size).toBe(2 * 1024 * 1024);
    expect((await rejection(client.call('createDisk', { path: floppy, sizeMiB: 2, format: 'raw' }))).code).toBe('conflict');
    expect((await rejection(client.call('createDisk', { path: join(h.dataDir, 'x.img'), sizeMiB: 0, format: 'raw' }))).code).toBe('invalid');
    expect((await rejection(client.call('createDisk', { path: join(h.dataDir, 'x.img'), sizeMiB: 8, format: 'ext4' as never }))).code).toBe('invalid');
    expect((await rejection(client.call('createDisk', { path: 'sub/relative.img', sizeMiB: 8, format: 'raw' }))).code).toBe('invalid');
    expect((await rejection(client.call('createDisk', { path: '..', sizeMiB: 8, format: 'raw' }))).code).toBe('invalid');
    // A bare file name lands in the app's images folder.
    const named = await client.call('createDisk', { path: 'wizard.vdi', sizeMiB: 8, format: 'vdi' });
    expect(named.path).toBe(join(h.dataDir, 'images', 'wizard.vdi'));
    expect(existsSync(named.path)).toBe(true);
    const q = await client.call('createDisk', { path: join(h.dataDir, 'disk.qcow2'), sizeMiB: 64, format: 'qcow2' });
    expect(q.sizeBytes).toBe(64 * 1024 * 1024);
    expect(readFileSync(q.path).subarray(0, 4).toString('latin1')).toBe('QFI\xfb');

    const vm = await client.call('createVm', {
      name: 'media', memoryMiB: 16,
      ide: { primaryMaster: null, primarySlave: null, secondaryMaster: { kind: 'cdrom', path: null }, secondarySlave: null },
    });
    await client.call('powerOn', { id: vm.id });
    const rec = await client.call('insertMedia', { id: vm.id, drive: 'fda', path: floppy });
    expect(rec.floppyA).toBe(floppy);
    expect(rec.state).toBe('running');
    const iso = join(h.dataDir, 'disc.iso');
    writeFileSync(iso, new Uint8Array(2048 * 4));
    expect((await client.call('insertMedia', { id: vm.id, drive: 'cdrom', path: iso })).ide.secondaryMaster).toEqual({ kind: 'cdrom', path: iso });
    expect((await client.call('ejectMedia', { id: vm.id, drive: 'fda' })).floppyA).toBeNull();
    // The machine saw each change: the medium's size, null for an eject.
    expect(await inputsOf(vm.id)).toEqual([
      { media: { floppy: 0 }, size: 2 * 1024 * 1024 }, { media: { ide: 2 }, size: 2048 * 4 }, { media: { floppy: 0 }, size: null },
    ]);
    // A missing file or an unknown drive changes nothing.
    expect((await rejection(client.call('insertMedia', { id: vm.id, drive: 'fdb', path: join(h.dataDir, 'missing.img') }))).code).toBe('invalid');
    expect((await rejection(client.call('insertMedia', { id: vm.id, drive: 'hdz' as never, path: floppy }))).code).toBe('invalid');
    const empty = join(h.dataDir, 'empty.img');
    writeFileSync(empty, '');
    expect((await rejection(client.call('insertMedia', { id: vm.id, drive: 'fdb', path: empty }))).message).toMatch(/empty/);
    await client.call('insertMedia', { id: vm.id, drive: 'fda', path: floppy });
    expect((await rejection(client.call('insertMedia', { id: vm.id, drive: 'fdb', path: floppy }))).code).toBe('conflict');
    await client.call('ejectMedia', { id: vm.id, drive: 'fda' });
    expect((await inputsOf(vm.id)).length).toBe(5);
    await client.call('powerOff', { id: vm.id });
    // While off, only the settings change.
    expect((await client.call('insertMedia', { id: vm.id, drive: 'fdb', path: floppy })).floppyB).toBe(floppy);

    // (Other tests in this data directory add their own images; look at this test's.)
    const recent = (await client.call('listRecentImages', {})).filter((r) => [floppy, iso, q.path].includes(r.path));
    expect((await client.call('listRecentImages', { kind: 'disk' })).some((r) => r.path === named.path)).toBe(true);
    expect(recent.map((r) => [r.path, r.kind])).toEqual([[floppy, 'floppy'], [iso, 'cdrom'], [q.path, 'disk'], [floppy, 'disk']]);
    expect(recent.every((r) => r.exists)).toBe(true);
    expect((await client.call('listRecentImages', { kind: 'cdrom' })).map((r) => r.path)).toEqual([iso]);
    // Images chosen in the settings join the list too.
    const other = join(h.dataDir, 'other.img');
    writeFileSync(other, new Uint8Array(1_474_560));
    await client.call('updateVm', { id: vm.id, patch: { floppyA: other } });
    expect((await client.call('listRecentImages', { kind: 'floppy' }))[0]).toMatchObject({ path: other, kind: 'floppy', exists: true });
    rmSync(other);
    expect((await client.call('listRecentImages', { kind: 'floppy' }))[0]).toMatchObject({ path: other, exists: false });
  });
});
