// The hypervisor with the real VM worker (compiled from main/hypervisor/vm-worker.ts) driving
// a fake Machine from test/fixtures: lifecycle, screen updates, input, and isolation of a VM
// that throws, hangs or runs out of heap.
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { ApiError, type ApiEvent, type VmSettings } from '../../core/api/contract.js';
import { Hypervisor, defaultWorkerUrl, heapLimitMiB, type HypervisorOptions } from '../../main/hypervisor/hypervisor.js';
import { presetDefaults } from '../../main/library/presets.js';
import { REPO_ROOT } from '../helpers/shared.js';
import { FAKE_MACHINE, buildVmWorker } from './worker-build.js';

const workerUrl = buildVmWorker();
const hypervisors: Hypervisor[] = [];

function makeHypervisor(extra: HypervisorOptions = {}): { hv: Hypervisor; events: ApiEvent[] } {
  const hv = new Hypervisor({
    workerUrl,
    machineModule: FAKE_MACHINE,
    heartbeatIntervalMs: 100,
    heartbeatTimeoutMs: 1500,
    statusIntervalMs: 40,
    frameIntervalMs: 10,
    ...extra,
  });
  const events: ApiEvent[] = [];
  hv.onEvent((e) => events.push(e));
  hypervisors.push(hv);
  return { hv, events };
}

function settings(name: string, notes = '', memoryMiB = 16): VmSettings {
  return { ...presetDefaults('dos'), name, notes, memoryMiB };
}

async function until<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function expectBadState(p: Promise<unknown> | (() => unknown)): Promise<void> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe('bad-state');
    return;
  }
  throw new Error('expected a bad-state ApiError');
}

afterEach(async () => {
  await Promise.all(hypervisors.splice(0).map((hv) => hv.closeAll()));
});
afterAll(async () => {
  await Promise.all(hypervisors.map((hv) => hv.closeAll()));
});

describe('lifecycle', () => {
  test('off → starting → running ⇄ paused → off, reset, and illegal transitions refused', async () => {
    const { hv, events } = makeHypervisor();
    const id = 'vm-life';
    await expectBadState(hv.pause(id));
    await expectBadState(hv.resume(id));
    await expectBadState(hv.reset(id));
    await expectBadState(hv.powerOff(id));
    await expectBadState(() => hv.sendInput(id, [{ type: 'key', code: 'KeyA', down: true }]));

    const on = await hv.powerOn(id, settings('life'));
    expect(on.state).toBe('running');
    expect(events.filter((e) => e.type === 'vm-state').map((e) => (e as { state: string }).state)).toEqual(['starting', 'running']);
    await expectBadState(hv.powerOn(id, settings('life')));
    await expectBadState(hv.resume(id));

    const ran = await until('instructions', () => hv.status(id).instructions > 0 && hv.status(id));
    expect(ran.leds.numLock).toBe(true);

    expect((await hv.pause(id)).state).toBe('paused');
    await expectBadState(hv.pause(id));
    await expectBadState(hv.shutdown(id));
    await sleep(60); // a status message in flight at the pause lands
    const frozen = hv.status(id).instructions;
    await sleep(200);
    expect(hv.status(id).instructions).toBe(frozen);
    expect(hv.status(id).mips).toBe(0);

    expect((await hv.resume(id)).state).toBe('running');
    await until('instructions after resume', () => hv.status(id).instructions > frozen);

    hv.sendInput(id, [{ type: 'key', code: 'KeyA', down: true }, { type: 'key', code: 'KeyA', down: false }]);
    expect((await hv.reset(id)).state).toBe('running');
    const inside = JSON.parse(await hv.screenText(id));
    expect(inside.resets).toBe(1);
    expect(inside.inputs).toEqual([{ type: 'key', code: 'KeyA', down: true }, { type: 'key', code: 'KeyA', down: false }]);

    // Reset from paused runs the machine again.
    await hv.pause(id);
    expect((await hv.reset(id)).state).toBe('running');

    const off = await hv.powerOff(id);
    expect(off.state).toBe('off');
    expect(hv.isActive(id)).toBe(false);
    expect(events.filter((e) => e.type === 'vm-state').map((e) => (e as { state: string }).state))
      .toEqual(['starting', 'running', 'paused', 'running', 'paused', 'running', 'stopping', 'off']);
    await expectBadState(hv.pause(id));

    // And it can be powered on again.
    expect((await hv.powerOn(id, settings('life'))).state).toBe('running');
    await hv.powerOff(id);
  });

  test('the ACPI power button lets the guest power itself off', async () => {
    const { hv, events } = makeHypervisor();
    await hv.powerOn('vm-acpi', settings('acpi'));
    expect((await hv.shutdown('vm-acpi')).state).toBe('running');
    await until('off', () => hv.status('vm-acpi').state === 'off');
    const last = events.filter((e) => e.type === 'vm-state').at(-1);
    expect(last).toEqual({ type: 'vm-state', id: 'vm-acpi', state: 'off' });
    expect(events.some((e) => e.type === 'log' && /guest powered off/.test(e.message))).toBe(true);
  });
});

describe('screen', () => {
  test('the first update is the full frame; then dirty rects with the pixels the machine drew', async () => {
    const { hv, events } = makeHypervisor();
    await hv.powerOn('vm-screen', settings('screen'));
    const screens = () => events.flatMap((e) => (e.type === 'screen' && e.update.id === 'vm-screen' ? [e.update] : []));
    await until('a few screen updates', () => screens().length >= 4);
    const [first, ...rest] = screens();
    expect(first!.full).toBe(true);
    expect([first!.width, first!.height]).toEqual([320, 200]);
    expect(first!.rects).toHaveLength(1);
    expect(first!.rects[0]!.rgba.length).toBe(320 * 200 * 4);
    expect(first!.rects[0]!.rgba[0]).toBe(0x20);
    for (const u of rest) {
      expect(u.full).toBe(false);
      for (const r of u.rects) {
        expect(r.rgba.length).toBe(r.w * r.h * 4);
        // The fake paints 16x16 squares: colour (frame, frame>>8, 0x80, 0xff), frame >= 1.
        expect(r.rgba[2]).toBe(0x80);
        expect(r.rgba[3]).toBe(0xff);
        expect(r.rgba[0]! + r.rgba[1]! * 256).toBeGreaterThan(0);
      }
    }
    const before = screens().length;
    hv.requestFullFrame('vm-screen');
    const full = await until('a requested full frame', () => screens().slice(before).find((u) => u.full));
    expect(full.rects[0]!.w * full.rects[0]!.h).toBe(320 * 200);
  });
});

test('a machine that logs without end is rate-limited, with a count of what was left out', async () => {
  const { hv, events } = makeHypervisor();
  await hv.powerOn('vm-chatty', settings('chatty', 'fake:chatty'));
  await until('the dropped-messages note', () => events.some((e) => e.type === 'log' && /more machine messages were not shown/.test(e.message)), 5000);
  const lines = events.filter((e) => e.type === 'log' && e.id === 'vm-chatty' && e.message.startsWith('debug port:'));
  // At most 50 per second; the note comes after the first second.
  expect(lines.length).toBeGreaterThanOrEqual(50);
  expect(lines.length).toBeLessThanOrEqual(150);
});

test('an image that cannot be opened for writing runs with writes kept in memory, and says so', async () => {
  const { hv, events } = makeHypervisor();
  const st = await hv.powerOn('vm-ro', settings('ro', 'fake:read-only-image'));
  expect(st.state).toBe('running');
  const warning = events.find((e) => e.type === 'log' && e.id === 'vm-ro' && e.level === 'warn');
  expect(warning?.type === 'log' && warning.message).toMatch(/EACCES.*discarded at power off/);
});

describe('isolation', () => {
  test('a VM whose machine throws is crashed; another VM keeps running', async () => {
    const { hv, events } = makeHypervisor();
    await hv.powerOn('vm-good', settings('good'));
    const bad = await hv.powerOn('vm-throw', settings('throw', 'fake:throw-on-run'));
    // It may crash before or after powerOn resolves.
    await until('crash', () => hv.status('vm-throw').state === 'crashed');
    expect(['running', 'crashed']).toContain(bad.state);
    const crashed = hv.status('vm-throw');
    expect(crashed.error).toMatch(/triple fault at 0x1234/);
    const crashEvent = events.find((e) => e.type === 'vm-state' && e.id === 'vm-throw' && e.state === 'crashed');
    expect(crashEvent && crashEvent.type === 'vm-state' && crashEvent.error).toMatch(/triple fault/);
    expect(events.some((e) => e.type === 'log' && e.id === 'vm-throw' && e.level === 'error')).toBe(true);
    await expectBadState(hv.pause('vm-throw'));

    const mark = hv.status('vm-good').instructions;
    await until('the good VM still runs', () => hv.status('vm-good').instructions > mark);
    expect(hv.status('vm-good').state).toBe('running');
    expect(JSON.parse(await hv.screenText('vm-good')).mode).toBe('idle');

    // A crashed VM can be powered on again at once.
    expect((await hv.powerOn('vm-throw', settings('throw'))).state).toBe('running');
    await hv.powerOff('vm-throw');
    await hv.powerOn('vm-throw', settings('throw', 'fake:throw-on-run'));
    await until('second crash', () => hv.status('vm-throw').state === 'crashed');
    expect((await hv.powerOn('vm-throw', settings('throw'))).state).toBe('running');
  });

  test('a runaway guest that stops answering the heartbeat is stopped; another VM keeps running', async () => {
    const { hv } = makeHypervisor();
    await hv.powerOn('vm-ok', settings('ok'));
    await hv.powerOn('vm-loop', settings('loop', 'fake:loop-forever'));
    await until('runaway detected', () => hv.status('vm-loop').state === 'crashed', 15_000);
    expect(hv.status('vm-loop').error).toMatch(/stopped responding/);
    await until('worker gone', () => !hv.isActive('vm-loop'));
    const mark = hv.status('vm-ok').instructions;
    await until('the other VM still runs', () => hv.status('vm-ok').instructions > mark);
    expect(JSON.parse(await hv.screenText('vm-ok')).mode).toBe('idle');
  });

  test('the worker gets a heap limit from the VM memory, and exceeding it crashes only that VM', async () => {
    const { hv } = makeHypervisor({ heapMarginMiB: 24 });
    await hv.powerOn('vm-heap', settings('heap', '', 8));
    const inside = JSON.parse(await hv.screenText('vm-heap'));
    expect(inside.resourceLimits.maxOldGenerationSizeMb).toBe(heapLimitMiB(8, 24));
    expect(heapLimitMiB(8, 24)).toBe(32);

    await hv.powerOn('vm-hog', settings('hog', 'fake:allocate', 8));
    await until('out of memory', () => hv.status('vm-hog').state === 'crashed', 20_000);
    expect(hv.status('vm-hog').error).toMatch(/heap|memory/i);
    const mark = hv.status('vm-heap').instructions;
    await until('the other VM still runs', () => hv.status('vm-heap').instructions > mark);
  });

  test('a machine that cannot be built, or no machine module at all, is a clear crash', async () => {
    const { hv } = makeHypervisor();
    const st = await hv.powerOn('vm-build', settings('build', 'fake:throw-on-build'));
    expect(st.state).toBe('crashed');
    expect(st.error).toMatch(/could not be built: fake: the disk image is unreadable/);

    const { hv: slow } = makeHypervisor({ startTimeoutMs: 800 });
    const stuck = await slow.powerOn('vm-stuck', settings('stuck', 'fake:hang-on-build'));
    expect(stuck.state).toBe('crashed');
    expect(stuck.error).toMatch(/did not start within 0\.8 s/);

    // The compiled test worker has no main/run/setup.js next to it: the default machine
    // module is missing, as it is before the PC platform exists.
    const { hv: bare } = makeHypervisor({ machineModule: undefined });
    const none = await bare.powerOn('vm-none', settings('none'));
    expect(none.state).toBe('crashed');
    expect(none.error).toMatch(/no machine can run yet/);
  });
});

test('the production worker is vm-worker.js in dist/', () => {
  expect(fileURLToPath(defaultWorkerUrl())).toBe(`${REPO_ROOT}/dist/main/hypervisor/vm-worker.js`);
});
