// PCI BIOS from real mode (INT 1Ah B1xxh) and from 32-bit protected mode (BIOS32 service
// directory → $PCI entry), POST's PCI setup, INT 15h C2h mouse services with a handler called
// from IRQ 12, E820 with the ACPI ranges, INT 1Ah RTC setter, INT 14h and INT 15h 83h, all
// driven by small guest programs (test/firmware/programs/).
import { describe, expect, it } from 'vitest';
import type { SerialBackend } from '../../core/board/machine.js';
import { builtinPc } from './helpers.js';
import { INT15_SWITCH_TO_PM, PCIBIOS_32BIT, REAL_MODE_SERVICES, bootFloppy } from './programs.js';

const DONE = 0x600d600d;

function runUntilDone(m: ReturnType<typeof builtinPc>['m'], max: number): boolean {
  while (m.instructionCount < max) {
    m.run(200_000);
    if (m.memory.read32(0x63c) === DONE) return true;
  }
  return false;
}

describe('POST PCI setup', () => {
  it('assigns every BAR without overlaps, enables decoding, and maps the ACPI PM block', () => {
    const { m } = builtinPc({ nic: { model: 'rtl8139', backend: null } });
    m.run(3_000_000);
    const ranges: { start: number; end: number; io: boolean }[] = [];
    for (const [devfn, f] of m.pci.functions) {
      for (let i = 0; i < 6; i++) {
        const raw = f.readConfig(0x10 + i * 4, 4) >>> 0;
        if (raw === 0) continue;
        const io = (raw & 1) === 1;
        f.writeConfig(0x10 + i * 4, 0xffffffff, 4);
        const probe = f.readConfig(0x10 + i * 4, 4) >>> 0;
        f.writeConfig(0x10 + i * 4, raw, 4);
        const size = (~((io ? probe | 0xffff0000 : probe) & ~0xf & (io ? ~3 : ~0)) + 1) >>> 0;
        const start = io ? raw & ~3 : (raw & ~0xf) >>> 0;
        expect(start, `devfn ${devfn} BAR ${i}`).toBeGreaterThan(0);
        expect(start % size).toBe(0);
        expect(f.readConfig(4, 2) & (io ? 1 : 2)).not.toBe(0);
        ranges.push({ start, end: start + size, io });
      }
    }
    expect(ranges.length).toBeGreaterThanOrEqual(4); // IDE bus master, VGA LFB + MMIO, RTL8139 I/O + MMIO
    for (const a of ranges) for (const b of ranges) {
      if (a !== b && a.io === b.io) expect(a.end <= b.start || b.end <= a.start).toBe(true);
    }
    // The RTL8139's registers answer at its I/O BAR (ID registers 0-5 hold the MAC).
    const nic = m.pci.functions.get(3 << 3)!;
    const ioBase = nic.readConfig(0x10, 4) & ~3;
    expect([0, 1, 2].map((i) => m.io.in8(ioBase + i)).some((b) => b !== 0xff)).toBe(true);
    // PM timer at PMBA + 8 runs.
    const pmba = m.acpi.readConfig(0x40, 4) & 0xffc0;
    expect(pmba).toBe(0x600);
    const t = m.io.in32(pmba + 8);
    m.run(100_000);
    expect(m.io.in32(pmba + 8)).not.toBe(t);
  });
});

describe('real-mode services', () => {
  it('PCI BIOS calls, E820, mouse handler, RTC setter, INT 14h and the 83h event wait', () => {
    const serialOut: number[] = [];
    const serial: SerialBackend = { write: (d) => serialOut.push(...d), poll: () => null };
    const { m, fw } = builtinPc({ floppy: [bootFloppy(REAL_MODE_SERVICES), null], serial: [serial] });
    expect(runUntilDone(m, 60_000_000)).toBe(true);
    const r32 = (a: number) => m.memory.read32(a) >>> 0;
    const r16 = (a: number) => m.memory.read16(a);
    const r8 = (a: number) => m.memory.read8(a);

    // B101: "PCI ", mechanism #1, version 2.10, last bus 0, EDI = the 32-bit entry.
    expect(r32(0x60c)).toBe(0x20494350);
    expect(r32(0x600) & 0xffff).toBe(0x0001);
    expect(r32(0x604) & 0xffff).toBe(0x0210);
    expect(r32(0x608) & 0xff).toBe(0);
    const entry32 = r32(0x610);
    expect(entry32).toBeGreaterThanOrEqual(0xf0000);
    expect([m.memory.read8(entry32), m.memory.read8(entry32 + 1)]).toEqual([0xe6, 0xee]); // out 0EEh, al
    // B102 finds the PIIX3 at 00:01.0; B103 finds the VGA (class 030000) at 00:02.0.
    expect(r8(0x616)).toBe(0);
    expect(r16(0x614)).toBe(0x0008);
    expect(r8(0x61a)).toBe(0);
    expect(r16(0x618)).toBe(0x0010);
    // B10A reads the VGA's BAR0, which POST assigned.
    const vga = m.pci.functions.get(0x10)!;
    expect(r32(0x61c)).toBe(vga.readConfig(0x10, 4) >>> 0);
    expect(r32(0x61c) & ~0xf).not.toBe(0);
    // B10B/B108 write and read back a config byte; B109 at an odd register fails with 87h.
    expect(r8(0x620)).toBe(0x5a);
    expect(vga.readConfig(0x3c, 1)).toBe(0x5a);
    expect(r8(0x621)).toBe(1);
    expect(r8(0x622)).toBe(0x87);
    // B10E: PCI-exclusive IRQs 10 and 11, one 16-byte entry per slot with links 60h-63h.
    expect(r16(0x626) >> 8).toBe(0);
    expect(r16(0x624)).toBe((1 << 10) | (1 << 11));
    const size = r16(0x700);
    expect(size % 16).toBe(0);
    for (let e = 0; e < size / 16; e++) {
      const slot = r8(0x800 + e * 16 + 1) >> 3;
      for (let pin = 0; pin < 4; pin++) {
        const link = r8(0x800 + e * 16 + 2 + pin * 3);
        expect(link).toBe(0x60 + m.pci.pirqOf(slot << 3, pin + 1));
      }
    }

    // E820: the ACPI tables are reserved (type 3/4) and no usable range overlaps them.
    const count = (r16(0x628) - 0x900) / 20;
    const map = Array.from({ length: count }, (_, i) => [r32(0x900 + i * 20), r32(0x908 + i * 20), r32(0x910 + i * 20)]);
    const acpi = map.filter((e) => e[2] === 3 || e[2] === 4);
    expect(acpi.map((e) => e[2]).sort()).toEqual([3, 4]);
    expect(fw.tables!.e820.map((e) => [...e])).toEqual(acpi);
    for (const [b, l, t] of map) {
      if (t !== 1) continue;
      for (const [ab, al] of acpi) expect(b + l <= ab || ab + al <= b).toBe(true);
    }
    expect(Math.max(...map.map(([b, l]) => b + l))).toBeLessThanOrEqual(0x100000000);

    // C207h/C205h/C200h succeeded; the reset answered AAh, device ID 0.
    expect([r8(0x62a), r8(0x62b), r8(0x62e), r8(0x62f)]).toEqual([0, 0, 0, 0]);
    expect(r16(0x62c)).toBe(0x00aa);
    // RTC set to 12:34:56 reads back.
    expect(r16(0x630)).toBe(0x1234);
    expect(r8(0x632)).toBe(0x56);
    // INT 14h sent 'Z' on COM1; INT 15h 83h posted its flag (the program waited for it).
    expect(serialOut).toContain(0x5a);
    expect(r8(0x633) & 0x80).toBe(0);
    expect(r8(0x634)).toBe(0);
    expect(r8(0x650) & 0x80).toBe(0x80);

    // A mouse movement reaches the handler as one packet: status, X, Y, Z.
    expect(r16(0x648)).toBe(0);
    m.input({ type: 'mouse', dx: 5, dy: 0, dz: 0, buttons: 1 });
    m.run(2_000_000);
    expect(r16(0x648)).toBe(1);
    expect(r16(0x640) & 0xff).toBe(0x09); // left button, bit 3 always set
    expect(r16(0x642)).toBe(5);
    expect(r16(0x644)).toBe(0);
    expect(r16(0x646)).toBe(0);
    m.input({ type: 'mouse', dx: -2, dy: 0, dz: 0, buttons: 0 });
    m.run(2_000_000);
    expect(r16(0x648)).toBe(2);
    expect(r16(0x640) & 0xff).toBe(0x18); // X negative
    expect(r16(0x642)).toBe(0xfe);
  });
});

describe('32-bit PCI BIOS', () => {
  it('the BIOS32 directory finds $PCI, and the 32-bit entry answers B101h, B10Ah and B102h from protected mode', () => {
    const { m } = builtinPc({ floppy: [bootFloppy(PCIBIOS_32BIT), null] });
    // Find "_32_" as an OS does (16-byte aligned in E0000-FFFFF) and check its checksum.
    let dir = -1;
    for (let a = 0xe0000; a < 0x100000 && dir < 0; a += 16) {
      if (m.memory.read32(a) === 0x5f32335f) dir = a;
    }
    expect(dir).toBeGreaterThan(0);
    let sum = 0;
    for (let i = 0; i < 16 * m.memory.read8(dir + 9); i++) sum += m.memory.read8(dir + i);
    expect(sum & 0xff).toBe(0);
    // The program far-calls through 0000:05F0 (32-bit offset, selector 08h = flat code).
    m.memory.write32(0x5f0, m.memory.read32(dir + 4));
    m.memory.write16(0x5f4, 0x08);
    expect(runUntilDone(m, 20_000_000)).toBe(true);
    const r32 = (a: number) => m.memory.read32(a) >>> 0;
    expect(r32(0x600) & 0xff).toBe(0); // service present
    const pciEntry = r32(0x604) + r32(0x60c);
    expect(pciEntry).toBeLessThan(0x100000);
    expect(r32(0x604) + r32(0x608)).toBeGreaterThan(pciEntry);
    expect(r32(0x61c)).toBe(0x20494350);
    expect(r32(0x610) & 0xff00).toBe(0);
    expect(r32(0x614) & 0xffff).toBe(0x0210);
    expect(r32(0x620)).toBe(0x70008086); // config dword 0 of 00:01.0
    expect(m.memory.read8(0x624)).toBe(0);
    expect(r32(0x62c) & 0xffff).toBe(m.acpi.devfn); // 8086:7113
    expect(m.memory.read8(0x634)).toBe(1); // 5678:1234 is not there: CF, AH=86h
    expect((r32(0x638) >> 8) & 0xff).toBe(0x86);
  });
});

describe('INT 15h AH=89h', () => {
  it('returns to the caller in protected mode with the GDT\'s selectors, interrupts off and the PICs moved', () => {
    const { m } = builtinPc({ floppy: [bootFloppy(INT15_SWITCH_TO_PM), null] });
    expect(runUntilDone(m, 20_000_000)).toBe(true);
    expect([0x600, 0x602, 0x604, 0x606].map((a) => m.memory.read16(a))).toEqual([0x30, 0x18, 0x28, 0x20]);
    expect(m.memory.read32(0x608) & 1).toBe(1); // CR0.PE
    expect(m.memory.read16(0x60c) & 0x200).toBe(0); // IF clear
    expect(m.memory.read16(0xb8000)).toBe(0x1f50); // ES = the descriptor with base B8000h
    expect(m.cpu.gdtrBase >>> 0).toBe(0x7c00 + 0x48);
    expect(m.cpu.idtrBase >>> 0).toBe(0x2000);
  });
});
