// Non-persistent disks ("discard changes at power off"): buildMachine keeps guest writes in
// memory, the image file never changes, snapshots leave the drive out, and validation
// refuses an unknown mode.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DriveSetting, VmRecord, VmSettings } from '../../core/api/contract.js';
import type { PcMachine } from '../../core/board/pc.js';
import { validateSettings } from '../../main/library/index.js';
import { settingsForNewVm } from '../../main/library/settings.js';
import { buildMachine } from '../../main/run/setup.js';
import { vmBaseDisks } from '../../main/snapshot/index.js';

const dir = mkdtempSync(join(tmpdir(), 'perseus-nonpersist-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function settings(primaryMaster: DriveSetting, primarySlave: DriveSetting): VmSettings {
  return settingsForNewVm({ name: 'np', ide: { primaryMaster, primarySlave, secondaryMaster: null, secondarySlave: null } } as Partial<VmSettings>);
}

describe('non-persistent disk mode', () => {
  it('keeps guest writes in memory while a persistent disk beside it writes through', async () => {
    const np = join(dir, 'np.img');
    const p = join(dir, 'p.img');
    writeFileSync(np, Buffer.alloc(1 << 20, 0x11));
    writeFileSync(p, Buffer.alloc(1 << 20, 0x11));
    const s = settings({ kind: 'disk', path: np, mode: 'nonpersistent' }, { kind: 'disk', path: p, mode: 'persistent' });
    const m = (await buildMachine(s, { writable: true, deterministic: true })) as PcMachine;
    const [npDev, pDev] = [m.config.ide[0]!.device!, m.config.ide[1]!.device!];
    const data = new Uint8Array(512).fill(0x5a);
    npDev.write(4096, data);
    pDev.write(4096, data);
    const back = new Uint8Array(512);
    npDev.read(4096, back);
    expect(back).toEqual(data); // the guest sees its own write while running
    pDev.flush();
    expect(readFileSync(np)[4096]).toBe(0x11);
    expect(readFileSync(p)[4096]).toBe(0x5a);
    // "Power off" and on again: the non-persistent disk is back to the image's contents.
    const m2 = (await buildMachine(s, { writable: true, deterministic: true })) as PcMachine;
    m2.config.ide[0]!.device!.read(4096, back);
    expect(back[0]).toBe(0x11);
  });

  it('is left out of snapshots and validated', () => {
    const img = join(dir, 'v.img');
    writeFileSync(img, Buffer.alloc(1 << 20));
    const other = join(dir, 'w.img');
    writeFileSync(other, Buffer.alloc(1 << 20));
    const s = settings({ kind: 'disk', path: img, mode: 'nonpersistent' }, { kind: 'disk', path: other });
    expect(Object.keys(vmBaseDisks({ ...s, id: 'x', createdAt: '', modifiedAt: '', state: 'off' } as VmRecord))).toEqual(['primarySlave']);
    expect(validateSettings(s, { nameTaken: () => false }).filter((i) => i.field.includes('mode'))).toEqual([]);
    const bad = settings({ kind: 'disk', path: img, mode: 'undoable' as DriveSetting['mode'] }, { kind: 'disk', path: other });
    const issues = validateSettings(bad, { nameTaken: () => false }).filter((i) => i.field === 'ide.primaryMaster.mode');
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toMatch(/persistent.*nonpersistent.*undoable/);
  });
});
