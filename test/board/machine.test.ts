// The PC board through its Machine interface: snapshots, configuration fingerprint, reset
// paths, ACPI power-off, interrupt routing end to end.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PcMachine } from '../../core/board/pc.js';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import { StateError } from '../../core/state/vmstate.js';
import { sharedFile } from '../helpers/shared.js';
import { floppyConfig, pcConfig, seabiosAvailable } from './board-helpers.js';

function mikeos(): MemoryBlockDevice | null {
  const p = sharedFile('guests', 'mikeos-4.6.1.flp');
  return p ? new MemoryBlockDevice(new Uint8Array(readFileSync(p))) : null;
}

describe('PcMachine', () => {
  it('save → load → save is byte-identical and both machines continue identically', () => {
    if (!seabiosAvailable()) return;
    const img = mikeos();
    if (!img) return;
    const cfg = () => floppyConfig(new MemoryBlockDevice(img.data.slice()), { bootOrder: 'a' });
    const a = new PcMachine(cfg());
    a.run(8_000_000);
    const file = a.saveState({ note: 'test' });
    const b = new PcMachine(cfg());
    b.run(1_000); // some other state, overwritten by the load
    b.loadState(file);
    expect(Buffer.from(b.saveState({ note: 'test' })).equals(Buffer.from(file))).toBe(true);
    a.run(20_000_000);
    b.run(20_000_000);
    expect(b.instructionCount).toBe(a.instructionCount);
    a.updateScreen();
    b.updateScreen();
    expect(b.screen().text).toBe(a.screen().text);
    expect(Buffer.from(b.saveState()).equals(Buffer.from(a.saveState()))).toBe(true);
  });

  it('refuses a state from another configuration and a corrupt file, unchanged', () => {
    if (!seabiosAvailable()) return;
    const a = new PcMachine(pcConfig({ memoryMiB: 32 }));
    a.run(100_000);
    const file = a.saveState();
    const other = new PcMachine(pcConfig({ memoryMiB: 64 }));
    other.run(100_000);
    const before = other.saveState();
    expect(() => other.loadState(file)).toThrow(/different machine configuration/);
    const bad = file.slice();
    bad[bad.length - 100] ^= 1;
    const same = new PcMachine(pcConfig({ memoryMiB: 32 }));
    same.run(100_000);
    const sameBefore = same.saveState();
    expect(() => same.loadState(bad)).toThrow(StateError);
    expect(Buffer.from(same.saveState()).equals(Buffer.from(sameBefore))).toBe(true);
    expect(Buffer.from(other.saveState()).equals(Buffer.from(before))).toBe(true);
  });

  it('resets through 0xCF9, the 8042 and port 0x92; powers off through ACPI S5', () => {
    if (!seabiosAvailable()) return;
    const m = new PcMachine(pcConfig());
    m.run(30_000_000); // SeaBIOS has set up PCI and the PM block
    for (const poke of [() => m.io.out8(0xcf9, 0x06), () => m.io.out8(0x64, 0xfe), () => m.io.out8(0x92, 0x01)]) {
      poke();
      expect(m.run(1_000)).toBe('reset');
      expect(m.cpu.eip).toBe(0xfff0);
      expect(m.cpu.segSel[1]).toBe(0xf000);
      m.run(30_000_000);
    }
    expect(m.poweredOff).toBe(false);
    // SeaBIOS puts the PM block at PMBA and enables it (0x80 bit 0) during PCI init.
    while (!(m.acpi.readConfig(0x80, 1) & 1) && m.instructionCount < 400_000_000) m.run(1_000_000);
    // SLP_TYP 0 | SLP_EN powers off.
    const pmba = m.acpi.readConfig(0x40, 4) & 0xffc0;
    expect(pmba).toBeGreaterThan(0);
    m.io.out16(pmba + 4, 0x2000);
    expect(m.run(1_000)).toBe('poweroff');
    expect(m.poweredOff).toBe(true);
  });

  it('keeps time: PIT IRQ 0 ticks reach the BIOS tick counter at 18.2 Hz', () => {
    if (!seabiosAvailable()) return;
    const img = mikeos();
    if (!img) return;
    const m = new PcMachine(floppyConfig(img, { bootOrder: 'a' }));
    m.run(20_000_000);
    const ticks = () => m.memory.read32(0x46c);
    const t0 = ticks();
    const ns0 = m.timeNs;
    while (m.timeNs - ns0 < 2e9) m.run(1_000_000);
    const dt = ticks() - t0;
    expect(dt).toBeGreaterThanOrEqual(35);
    expect(dt).toBeLessThanOrEqual(38);
  });

  it('keeps the TSC running through idle time the clock skips (a halted guest still sees time pass)', () => {
    // Reset vector: rdtsc; mov ebx,eax; mov ecx,edx; rdtsc; hlt
    const rom = new Uint8Array(0x10000);
    rom.set([0x0f, 0x31, 0x66, 0x89, 0xc3, 0x66, 0x89, 0xd1, 0x0f, 0x31, 0xf4], 0xfff0);
    const m = new PcMachine({ ...pcConfig(), biosRom: rom, vgaRom: null });
    m.run(3);
    m.clock.advance(1e9); // what an idle skip to a timer one second away does
    m.run(1);
    const delta = ((m.cpu.regs[0] >>> 0) - (m.cpu.regs[3] >>> 0)) >>> 0;
    const ticksPerSecond = 1e9 / m.clock.nsPerInstruction;
    expect(delta).toBeGreaterThanOrEqual(ticksPerSecond);
    expect(delta).toBeLessThan(ticksPerSecond + 10);
    expect(m.cpu.regs[2]).toBe(m.cpu.regs[1]);
  });
});
