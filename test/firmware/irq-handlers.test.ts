// The floppy and hard-disk IRQ handlers POST installs (INT 0Eh, 76h, 77h): a boot sector makes
// the FDC or an IDE channel interrupt, then the BDA flag, the PICs' in-service registers and
// the controller's interrupt state are checked.
import { describe, expect, it } from 'vitest';
import { MemoryBlockDevice } from '../../core/disk/block.js';
import type { MachineConfig } from '../../core/board/machine.js';
import type { PcMachine } from '../../core/board/pc.js';
import { bootFloppy } from './programs.js';
import { builtinPc } from './helpers.js';

const hex = (b: number[]) => b.map((x) => x.toString(16).padStart(2, '0')).join('');

/** sti; then mov dx,port / mov al,value / out dx,al for each pair; then hlt; jmp $-1. */
function outsThenHalt(writes: [number, number][]): string {
  const code = [0xfb];
  for (const [port, value] of writes) code.push(0xba, port & 0xff, port >> 8, 0xb0, value, 0xee);
  code.push(0xf4, 0xeb, 0xfd);
  return hex(code);
}

function isr(m: PcMachine, base: number): number {
  m.io.out8(base, 0x0b);
  const v = m.io.in8(base);
  m.io.out8(base, 0x0a);
  return v;
}

describe('IRQ handlers for the floppy and hard disk', () => {
  it('POST points INT 0Eh/76h/77h at the handlers and unmasks IRQ 6, 14 and 15', () => {
    const { m } = builtinPc({ floppy: [bootFloppy(outsThenHalt([])), null] });
    m.run(200_000);
    for (const v of [0x0e, 0x76, 0x77]) {
      expect(m.memory.read16(v * 4 + 2)).toBe(0xf000);
      expect(m.memory.read16(v * 4)).not.toBe(0xff53);
    }
    expect(m.memory.read16(0x0e * 4)).toBe(0xef57);
    expect(m.io.in8(0x21) & 0x40).toBe(0);
    expect(m.io.in8(0xa1) & 0xc0).toBe(0);
  });

  it('IRQ 6 from an FDC reset sets bit 7 of 40:3E and ends with nothing in service', () => {
    // DOR: reset (00h), then out of reset with DMA/IRQ enabled (0Ch): the FDC interrupts.
    const { m } = builtinPc({ floppy: [bootFloppy(outsThenHalt([[0x3f2, 0x00], [0x3f2, 0x0c]])), null] });
    m.run(300_000);
    expect(m.cpu.segBase[1] >>> 0).toBe(0); // still in the boot sector's halt loop
    expect(m.memory.read8(0x43e) & 0x80).toBe(0x80);
    expect(isr(m, 0x20)).toBe(0);
    expect(isr(m, 0xa0)).toBe(0);
  });

  for (const [name, slot, base, vector] of [['IRQ 14 (primary)', 0, 0x1f0, 0x76], ['IRQ 15 (secondary)', 2, 0x170, 0x77]] as const) {
    it(`${name}: INT ${vector.toString(16)}h sets 40:8E to FFh, acknowledges the channel and both PICs`, () => {
      const disk = new MemoryBlockDevice(new Uint8Array(2 * 1024 * 1024));
      const ide: MachineConfig['ide'] = [null, null, null, null];
      ide[slot] = { kind: 'disk', device: disk };
      // Select the master, IDENTIFY DEVICE: the drive interrupts with the data ready.
      const prog = outsThenHalt([[base + 6, 0xa0], [base + 7, 0xec]]);
      const { m } = builtinPc({ floppy: [bootFloppy(prog), null], ide });
      m.run(300_000);
      expect(m.cpu.segBase[1] >>> 0).toBe(0);
      expect(m.memory.read8(0x48e)).toBe(0xff);
      expect(m.ide.channels[slot >> 1].irqPending).toBe(false);
      expect(isr(m, 0x20)).toBe(0);
      expect(isr(m, 0xa0)).toBe(0);
    });
  }

  it('without an interrupt the flags stay clear', () => {
    const { m } = builtinPc({ floppy: [bootFloppy(outsThenHalt([])), null] });
    m.run(300_000);
    expect(m.memory.read8(0x43e) & 0x80).toBe(0);
    expect(m.memory.read8(0x48e)).toBe(0);
  });
});
