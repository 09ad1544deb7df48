// Intel 82441FX host bridge (PCI 00.0, 8086:1237) with its PAM (programmable attribute map)
// registers 0x59-0x5F that decide, per 16 KiB (64 KiB for 0xF0000), whether the range
// 0xC0000-0xFFFFF reads and writes RAM or the "PCI side" (the BIOS image, the option ROM area).
//
// Wiring: bus.add(0, 0, hostBridge); `new I440fx(memory, lowRomOffset)` where lowRomOffset is
// the backing-store offset of a 256 KiB region holding what the PCI side shows at
// 0xC0000-0xFFFFF (the board copies the VGA ROM to its start and the last 128 KiB of the BIOS
// to its end). SeaBIOS relies on PAM to shadow itself into RAM (all ranges set to 0x33, then
// 0xF0000 read-only). SMRAM (0x72) is stored but not emulated: the 0xA0000 window always
// shows VGA memory, as on machines without SMM.

import type { PhysicalMemory } from '../bus/memory.js';
import { PAGE_NONE, PAGE_SHIFT } from '../bus/memory.js';
import { PciFunction } from '../bus/pci.js';

export const PAM_FIRST = 0x59;

export class I440fx extends PciFunction {
  constructor(private readonly memory: PhysicalMemory, private readonly lowRomOffset: number) {
    super('pci.i440fx', { vendor: 0x8086, device: 0x1237, classCode: 0x060000, revision: 0x02 });
    for (let r = PAM_FIRST; r <= 0x5f; r++) this.writeMask[r] = 0x33;
    this.writeMask[0x72] = 0x78; // SMRAM: D_OPEN, D_CLS, D_LCK, G_SMRAME (stored only)
    this.writeMask[0x50] = 0xff; // PMCCFG and other chipset bytes: stored, no effect
    this.writeMask[0x51] = 0xff;
    this.writeMask[0x57] = 0xff;
    this.writeMask[0x58] = 0xff;
    this.config[0x72] = 0x02;
    this.applyPam();
  }

  override reset(): void {
    super.reset();
    for (let r = PAM_FIRST; r <= 0x5f; r++) this.config[r] = 0;
    this.config[0x72] = 0x02;
    this.applyPam();
  }

  override postLoad(): void {
    super.postLoad();
    this.applyPam();
  }

  protected override configWritten(offset: number, _value: number, size: number): void {
    if (offset + size > PAM_FIRST && offset <= 0x5f) this.applyPam();
  }

  /** Attribute (bits 0 = read RAM, 1 = write RAM) of the PAM range containing `addr`. */
  attribute(addr: number): number {
    if (addr >= 0xf0000) return (this.config[PAM_FIRST] >> 4) & 3;
    const seg = (addr - 0xc0000) >> 14; // 0..11, 16 KiB each
    const reg = this.config[0x5a + (seg >> 1)];
    return (seg & 1 ? reg >> 4 : reg) & 3;
  }

  applyPam(): void {
    const m = this.memory;
    for (let page = 0xc0; page < 0x100; page++) {
      const attr = this.attribute(page << PAGE_SHIFT);
      const ramPage = page; // RAM is mapped 1:1 at the start of the backing store
      const romPage = (this.lowRomOffset >> PAGE_SHIFT) + (page - 0xc0);
      m.readMap[page] = attr & 1 ? ramPage : romPage;
      m.writeMap[page] = attr & 2 ? ramPage : PAGE_NONE;
    }
  }
}
