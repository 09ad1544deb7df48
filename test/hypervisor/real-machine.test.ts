// The hypervisor running the real PC (core/board/pc.ts through main/run/setup.ts's
// buildMachine) in its worker, with Debian's SeaBIOS: it starts, runs the BIOS, shows a
// frame, and obeys pause, resume, reset and power off. A setup error is a clear crash.
import { existsSync, statSync } from 'node:fs';
import { afterAll, describe, expect, test } from 'vitest';
import type { ApiEvent, VmSettings } from '../../core/api/contract.js';
import { Hypervisor } from '../../main/hypervisor/hypervisor.js';
import { presetDefaults } from '../../main/library/presets.js';
import { SEABIOS_BIOS } from '../../main/run/setup.js';
import { requireResource, sharedFile } from '../helpers/shared.js';
import { buildVmWorkerWithMachine } from './worker-build.js';

const haveSeabios = requireResource(`Debian package seabios (${SEABIOS_BIOS})`, existsSync(SEABIOS_BIOS));

function pcSettings(patch: Partial<VmSettings> = {}): VmSettings {
  return {
    ...presetDefaults('dos'),
    name: 'real pc',
    memoryMiB: 16,
    firmware: 'seabios',
    nic: { model: 'none', network: 'none' },
    ide: { primaryMaster: null, primarySlave: null, secondaryMaster: null, secondarySlave: null },
    ...patch,
  };
}

async function until<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(!haveSeabios)('the real PC in a VM worker', () => {
  const hv = new Hypervisor({ workerUrl: buildVmWorkerWithMachine(), statusIntervalMs: 100 });
  const events: ApiEvent[] = [];
  hv.onEvent((e) => events.push(e));
  afterAll(() => hv.closeAll());

  test('SeaBIOS runs; screen, status and the lifecycle work', async () => {
    const on = await hv.powerOn('pc', pcSettings());
    expect(on.state).toBe('running');
    // The BIOS's own words on the debug console, forwarded as log events.
    await until('the SeaBIOS banner', () => events.some((e) => e.type === 'log' && e.id === 'pc' && /SeaBIOS \(version/.test(e.message)));
    const frame = await until('a first frame', () => events.find((e) => e.type === 'screen' && e.update.id === 'pc'));
    expect(frame.type === 'screen' && frame.update.full).toBe(true);
    const running = await until('instructions', () => hv.status('pc').instructions > 100_000 && hv.status('pc'));
    expect(running.state).toBe('running');

    await hv.pause('pc');
    await new Promise((r) => setTimeout(r, 150));
    const frozen = hv.status('pc').instructions;
    await new Promise((r) => setTimeout(r, 200));
    expect(hv.status('pc').instructions).toBe(frozen);
    await hv.resume('pc');
    await until('running again', () => hv.status('pc').instructions > frozen);

    const bannersBefore = events.filter((e) => e.type === 'log' && /SeaBIOS \(version/.test(e.message)).length;
    await hv.reset('pc');
    // After a reset the BIOS starts over and greets again.
    await until('the banner after reset', () =>
      events.filter((e) => e.type === 'log' && /SeaBIOS \(version/.test(e.message)).length > bannersBefore);

    expect((await hv.powerOff('pc')).state).toBe('off');
  });

  test('an image file with read-only permissions is never opened for writing', async () => {
    const floppy = sharedFile('guests', 'freedos-boot-1.4MB.img');
    if (!floppy) return;
    const before = statSync(floppy).mtimeMs;
    const st = await hv.powerOn('pc-ro', pcSettings({ floppyA: floppy, bootOrder: 'a' }));
    expect(st.state).toBe('running');
    const warning = events.find((e) => e.type === 'log' && e.id === 'pc-ro' && e.level === 'warn');
    expect(warning?.type === 'log' && warning.message).toMatch(/read-only image .*freedos-boot-1\.4MB\.img: the guest's writes are discarded/);
    expect((await hv.powerOff('pc-ro')).state).toBe('off');
    expect(statSync(floppy).mtimeMs).toBe(before);
  });

  test('settings the platform cannot build are a crash with its message', async () => {
    const noBios = await hv.powerOn('pc-nobios', pcSettings({ firmware: { path: '/nonexistent/perseus-bios.bin' } }));
    expect(noBios.state).toBe('crashed');
    expect(noBios.error).toMatch(/cannot read BIOS image \/nonexistent\/perseus-bios\.bin/);

    const noImage = await hv.powerOn('pc-missing', pcSettings({ floppyA: '/nonexistent/perseus-test.img' }));
    expect(noImage.state).toBe('crashed');
    expect(noImage.error).toMatch(/image not found: \/nonexistent\/perseus-test\.img/);
  });
});
