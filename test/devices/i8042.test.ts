import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../core/bus/memory.js';
import { I8042 } from '../../core/devices/i8042.js';
import { KNOWN_CODES, scanCodes } from '../../core/devices/ps2-keymap.js';
import { expectRoundTrip, LineRecorder, testClock } from './platform-helpers.js';

function setup() {
  const t = testClock();
  const irq1 = new LineRecorder();
  const irq12 = new LineRecorder();
  const memory = new PhysicalMemory(1 << 20);
  let resets = 0;
  const kbc = new I8042(irq1, irq12, memory, () => resets++, t.clock);
  // Read every byte the controller has, giving it time to bring the next one in after each read.
  const drain = () => {
    const out: number[] = [];
    for (;;) {
      if (!(kbc.commandPort.read8!(0) & 1)) t.advance(200_000);
      if (!(kbc.commandPort.read8!(0) & 1)) return out;
      out.push(kbc.dataPort.read8!(0));
    }
  };
  return { ...t, irq1, irq12, memory, kbc, drain, resets: () => resets };
}

describe('8042 keyboard controller', () => {
  it('gives every queued byte its own IRQ 1 edge (a key pressed and released at once loses nothing)', () => {
    const { kbc, irq1, advance } = setup();
    // Down and up of two keys arrive together, as from a paste or a fast typist.
    kbc.input({ type: 'key', code: 'KeyH', down: true });
    kbc.input({ type: 'key', code: 'KeyH', down: false });
    kbc.input({ type: 'key', code: 'KeyI', down: true });
    kbc.input({ type: 'key', code: 'KeyI', down: false });
    const got: number[] = [];
    // An interrupt handler: one byte per edge, as a PC BIOS's INT 09h does.
    let rises = irq1.rises;
    expect(rises).toBe(1);
    for (let i = 0; i < 8 && got.length < 4; i++) {
      expect(irq1.level).toBe(true);
      got.push(kbc.dataPort.read8!(0));
      expect(irq1.level).toBe(false); // the line drops after the read ...
      advance(200_000);
      if (got.length < 4) {
        expect(irq1.rises).toBe(rises + 1); // ... and rises again for the next byte
        rises = irq1.rises;
      }
    }
    expect(got).toEqual([0x23, 0xa3, 0x17, 0x97]);
  });


  it('self test, command byte, interface tests', () => {
    const { kbc, drain } = setup();
    kbc.commandPort.write8!(0, 0xaa);
    expect(drain()).toEqual([0x55]);
    expect(kbc.commandPort.read8!(0) & 0x04).toBe(0x04);
    kbc.commandPort.write8!(0, 0x60);
    kbc.dataPort.write8!(0, 0x45);
    kbc.commandPort.write8!(0, 0x20);
    expect(drain()).toEqual([0x45]);
    kbc.commandPort.write8!(0, 0xab);
    kbc.commandPort.write8!(0, 0xa9);
    expect(drain()).toEqual([0x00, 0x00]);
  });

  it('translates set 2 to set 1, raises IRQ 1, honours disable', () => {
    const { kbc, drain, irq1 } = setup();
    kbc.input({ type: 'key', code: 'KeyA', down: true });
    expect(irq1.level).toBe(true);
    kbc.input({ type: 'key', code: 'KeyA', down: false });
    kbc.input({ type: 'key', code: 'ArrowUp', down: true });
    kbc.input({ type: 'key', code: 'ArrowUp', down: false });
    expect(drain()).toEqual([0x1e, 0x9e, 0xe0, 0x48, 0xe0, 0xc8]);
    expect(irq1.level).toBe(false);
    // Translation off: raw set 2.
    kbc.commandPort.write8!(0, 0x60);
    kbc.dataPort.write8!(0, 0x01);
    kbc.input({ type: 'key', code: 'KeyA', down: true });
    kbc.input({ type: 'key', code: 'KeyA', down: false });
    expect(drain()).toEqual([0x1c, 0xf0, 0x1c]);
    kbc.commandPort.write8!(0, 0xad); // disable keyboard interface
    kbc.input({ type: 'key', code: 'KeyB', down: true });
    expect(drain()).toEqual([]);
    kbc.commandPort.write8!(0, 0xae);
    expect(drain()).toEqual([0x32]);
  });

  it('keyboard commands: reset, echo, LEDs, identify, scan set 1, resend, unknown', () => {
    const { kbc, drain } = setup();
    kbc.dataPort.write8!(0, 0xff);
    expect(drain()).toEqual([0xfa, 0xaa]);
    kbc.dataPort.write8!(0, 0xee);
    expect(drain()).toEqual([0xee]);
    kbc.dataPort.write8!(0, 0xed);
    kbc.dataPort.write8!(0, 0x06);
    expect(drain()).toEqual([0xfa, 0xfa]);
    expect(kbc.leds()).toEqual({ scrollLock: false, numLock: true, capsLock: true });
    kbc.dataPort.write8!(0, 0xf2);
    expect(drain()).toEqual([0xfa, 0xab, 0x41]);
    kbc.commandPort.write8!(0, 0x60);
    kbc.dataPort.write8!(0, 0x03); // translation off
    kbc.dataPort.write8!(0, 0xf0);
    kbc.dataPort.write8!(0, 0x01);
    kbc.dataPort.write8!(0, 0xf0);
    kbc.dataPort.write8!(0, 0x00);
    expect(drain()).toEqual([0xfa, 0xfa, 0xfa, 0xfa, 0x43]);
    kbc.input({ type: 'key', code: 'KeyA', down: true });
    expect(drain()).toEqual([0x1e]);
    kbc.dataPort.write8!(0, 0xfe);
    expect(drain()).toEqual([0x1e]);
    kbc.dataPort.write8!(0, 0x99);
    expect(drain()).toEqual([0xfe]);
  });

  it('typematic repeat while a key is held', () => {
    const { kbc, drain, advance } = setup();
    kbc.input({ type: 'key', code: 'KeyQ', down: true });
    kbc.input({ type: 'key', code: 'KeyQ', down: true }); // host auto-repeat is ignored
    expect(drain()).toEqual([0x10]);
    advance(500e6 + 1); // default delay 500 ms
    expect(drain()).toEqual([0x10]);
    advance(1e9);
    expect(drain().length).toBeGreaterThan(5);
    kbc.input({ type: 'key', code: 'KeyQ', down: false });
    drain();
    advance(1e9);
    expect(drain()).toEqual([]);
  });

  it('A20 through the output port and reset through 0xFE / 0xD1', () => {
    const { kbc, drain, memory, resets } = setup();
    kbc.commandPort.write8!(0, 0xd1);
    kbc.dataPort.write8!(0, 0xdd); // A20 off
    expect(memory.a20Enabled).toBe(false);
    kbc.commandPort.write8!(0, 0xd0);
    expect(drain()[0] & 0x02).toBe(0);
    kbc.commandPort.write8!(0, 0xd1);
    kbc.dataPort.write8!(0, 0xdf);
    expect(memory.a20Enabled).toBe(true);
    expect(resets()).toBe(0);
    kbc.commandPort.write8!(0, 0xfe);
    expect(resets()).toBe(1);
  });

  it('PS/2 mouse: reset, IntelliMouse knock, streaming packets on IRQ 12', () => {
    const { kbc, drain, irq12 } = setup();
    const aux = (v: number) => { kbc.commandPort.write8!(0, 0xd4); kbc.dataPort.write8!(0, v); };
    kbc.commandPort.write8!(0, 0xa8);
    aux(0xff);
    expect(drain()).toEqual([0xfa, 0xaa, 0x00]);
    for (const r of [200, 100, 80]) { aux(0xf3); aux(r); }
    aux(0xf2);
    expect(drain()).toEqual([0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0x03]);
    aux(0xf4);
    drain();
    kbc.input({ type: 'mouse', dx: 5, dy: 3, dz: -1, buttons: 1 });
    expect(irq12.level).toBe(true);
    expect(kbc.commandPort.read8!(0) & 0x20).toBe(0x20);
    expect(drain()).toEqual([0x09 | 0x20, 5, 0xfd, 0xff]);
    aux(0xe9);
    expect(drain()).toEqual([0xfa, 0x20 | 0x04, 2, 80]);
  });

  it('every known key has scan codes in sets 1 and 2; round trip', () => {
    for (const code of KNOWN_CODES) {
      expect(scanCodes(code, true, 1)?.length).toBeGreaterThan(0);
      expect(scanCodes(code, true, 2)?.length).toBeGreaterThan(0);
    }
    expect(KNOWN_CODES.length).toBeGreaterThanOrEqual(105);
    const a = setup();
    a.kbc.input({ type: 'key', code: 'Enter', down: true });
    a.kbc.dataPort.write8!(0, 0xed);
    const b = setup();
    expectRoundTrip([a.kbc], [b.kbc]);
    expect(b.drain()).toEqual(a.drain());
  });
});
