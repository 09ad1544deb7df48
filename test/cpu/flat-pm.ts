// Shared setup for hand-assembled 32-bit tests: a flat GDT (null, ring-0 code 0x08, data 0x10)
// in guest memory and a CPU switched to protected mode with CS/DS/ES/SS on those descriptors.
import type { PhysicalMemory } from '../../core/bus/memory.js';
import type { Cpu } from '../../core/cpu/cpu.js';
import { FLAT_CODE32_DPL0, FLAT_DATA32_DPL0, SEG_CS, SEG_DS, SEG_ES, SEG_SS } from '../../core/cpu/system/constants.js';

/** Writes the flat GDT at `gdt` (24 bytes). */
export function writeFlatGdt(mem: PhysicalMemory, gdt: number): void {
  mem.write32(gdt + 8, 0x0000ffff); mem.write32(gdt + 12, 0x00cf9a00);
  mem.write32(gdt + 16, 0x0000ffff); mem.write32(gdt + 20, 0x00cf9200);
}

/** Loads GDTR/IDTR, sets CR0.PE and puts CS/DS/ES/SS on the flat ring-0 descriptors. */
export function enterFlatProtectedMode(cpu: Cpu, gdt: number, idt: number, idtLimit: number): void {
  cpu.gdtrBase = gdt; cpu.gdtrLimit = 23;
  cpu.idtrBase = idt; cpu.idtrLimit = idtLimit;
  cpu.cr0 |= 1;
  cpu.updateModes();
  cpu.setSegment(SEG_CS, 8, 0, -1, FLAT_CODE32_DPL0);
  for (const s of [SEG_DS, SEG_ES, SEG_SS]) cpu.setSegment(s, 0x10, 0, -1, FLAT_DATA32_DPL0);
}
