import { describe, expect, it } from 'vitest';
import { applyState, decodeState, encodeState } from '../../core/state/snapshot.js';
import { StateError, type Stateful, type VMStateDecl } from '../../core/state/vmstate.js';

class Widget implements Stateful {
  static readonly decl: VMStateDecl = {
    name: 'widget',
    version: 2,
    fields: [
      { name: 'counter', type: 'u32' },
      { name: 'enabled', type: 'bool' },
      { name: 'regs', type: 'u8[]', length: 4 },
      { name: 'label', type: 'string' },
    ],
    // v1 had no label.
    migrate: { 1: (f) => f.set('label', 'migrated') },
  };
  readonly vmstate = Widget.decl;
  counter = 0;
  enabled = false;
  regs = new Uint8Array(4);
  label = '';
  loads = 0;
  postLoad() { this.loads++; }
}

function sample(): Widget {
  const w = new Widget();
  w.counter = 0xdeadbeef;
  w.enabled = true;
  w.regs.set([1, 2, 3, 4]);
  w.label = 'com1';
  return w;
}

describe('state file format', () => {
  it('round-trips declared fields byte-identically and runs postLoad', () => {
    const file = encodeState([sample()], { machine: 'test' });
    const fresh = new Widget();
    const saved = decodeState(file);
    expect(saved.meta).toEqual({ machine: 'test' });
    applyState([fresh], saved);
    expect(fresh.counter).toBe(0xdeadbeef);
    expect(fresh.enabled).toBe(true);
    expect(Array.from(fresh.regs)).toEqual([1, 2, 3, 4]);
    expect(fresh.loads).toBe(1);
    expect(encodeState([fresh], { machine: 'test' })).toEqual(file);
  });

  it('refuses every truncation and every flipped byte without touching the target', () => {
    const file = encodeState([sample()]);
    for (let n = 0; n < file.length; n++) {
      expect(() => applyState([new Widget()], decodeState(file.subarray(0, n)))).toThrow(StateError);
    }
    for (let i = 0; i < file.length; i++) {
      const bad = file.slice();
      bad[i] ^= 0x40;
      const target = new Widget();
      expect(() => applyState([target], decodeState(bad))).toThrow(StateError);
      expect(target.loads).toBe(0);
    }
  });

  it('migrates an older version forward and refuses another machine configuration', () => {
    const old = { ...Widget.decl, version: 1, fields: Widget.decl.fields.filter((f) => f.name !== 'label') };
    const v1 = Object.assign(sample(), { vmstate: old }) as Stateful;
    const target = new Widget();
    applyState([target], decodeState(encodeState([v1])));
    expect(target.label).toBe('migrated');
    const other = { vmstate: { name: 'other', version: 1, fields: [] } } as Stateful;
    expect(() => applyState([new Widget()], decodeState(encodeState([other])))).toThrow(/different machine configuration/);
  });

  it('stores a large u8[] without its zero pages and restores it exactly', () => {
    class Ram implements Stateful {
      readonly vmstate: VMStateDecl = { name: 'ram', version: 1, fields: [{ name: 'bytes', type: 'u8[]', length: 1 << 20 }] };
      bytes = new Uint8Array(1 << 20);
    }
    const ram = new Ram();
    ram.bytes.fill(0x5a, 8192, 8192 + 100); // one page
    ram.bytes[(1 << 20) - 1] = 1; // the last page
    const file = encodeState([ram]);
    expect(file.length).toBeLessThan(3 * 4096 + 1000);
    const back = new Ram();
    back.bytes.fill(0xff);
    applyState([back], decodeState(file));
    expect(Buffer.compare(Buffer.from(back.bytes), Buffer.from(ram.bytes))).toBe(0);
    expect(Buffer.compare(Buffer.from(encodeState([back])), Buffer.from(file))).toBe(0);
  });
});
