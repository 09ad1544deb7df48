// Service behaviour that does not depend on a transport.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { ApiEvent } from '../../core/api/contract.js';
import { VmLibrary } from '../../main/library/index.js';
import { openAppCore } from '../../main/service/app.js';
import { testHypervisorOptions } from './transports.js';

test('a change another process makes to the library (the CLI) becomes a library-changed event', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'perseus-service-'));
  const core = openAppCore({ dataDir, transport: 'web', hypervisor: testHypervisorOptions() });
  const other = VmLibrary.open(dataDir); // another connection, as `perseus create` would have
  try {
    const events: ApiEvent[] = [];
    core.service.onEvent((e) => events.push(e));
    const vm = other.create({ name: 'made by the CLI' });
    const deadline = Date.now() + 5000;
    while (!events.some((e) => e.type === 'library-changed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(events).toContainEqual({ type: 'library-changed' });
    expect((await core.service.handle('listVms', {})).map((v) => v.id)).toEqual([vm.id]);
  } finally {
    other.close();
    await core.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a VM left "running" by an app that died is off when the next app opens the library', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'perseus-service-'));
  const lib = VmLibrary.open(dataDir);
  const vm = lib.create({ name: 'was running' });
  lib.setPowerState(vm.id, 'running');
  lib.close();
  const core = openAppCore({ dataDir, transport: 'web', hypervisor: testHypervisorOptions() });
  try {
    expect((await core.service.handle('getVm', { id: vm.id })).state).toBe('off');
    expect((await core.service.handle('getStatus', { id: vm.id })).state).toBe('off');
  } finally {
    await core.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('snapshot work that never ends is stopped after longOpTimeoutMs and the VM reported crashed', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'perseus-service-'));
  const core = openAppCore({ dataDir, transport: 'web', hypervisor: { ...testHypervisorOptions(), longOpTimeoutMs: 1000 } });
  try {
    const s = core.service;
    const vm = await s.handle('createVm', { name: 'stuck saver', memoryMiB: 16, notes: 'fake:slow-save' });
    await s.handle('powerOn', { id: vm.id });
    await expect(s.handle('takeSnapshot', { id: vm.id, name: 'never' })).rejects.toThrow(/crashed|snapshot work/);
    expect((await s.handle('getStatus', { id: vm.id })).error).toMatch(/did not finish its snapshot work within 1 s/);
    expect(await s.handle('listSnapshots', { id: vm.id })).toEqual([]);
  } finally {
    await core.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
