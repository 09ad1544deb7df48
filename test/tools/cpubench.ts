// Micro benchmark: guest MIPS of a CPU-bound loop (ALU, memory, stack, branches) in 32-bit flat
// protected mode with paging on. `node dist/test/tools/cpubench.js` prints the result;
// measureCpuLoopMips() is what `npm run bench` reports.
import { IoBus } from '../../core/bus/io.js';
import { PhysicalMemory } from '../../core/bus/memory.js';
import { Cpu } from '../../core/cpu/cpu.js';
import { movToCr } from '../../core/cpu/sysops.js';
import { FLAT_CODE32_DPL0, FLAT_DATA32_DPL0, SEG_CS, SEG_DS, SEG_ES, SEG_SS } from '../../core/cpu/system/constants.js';

const CODE = 0x1000, DATA = 0x8000, PD = 0x10000, PT = 0x11000;

/** The loop body (executed `iterations` times): 8 instructions per iteration. */
function program(iterations: number): number[] {
  const le = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
  return [
    0xb9, ...le(iterations), // mov ecx, n
    0xbe, ...le(DATA), // mov esi, DATA
    // loop:
    0x01, 0xc8, //           add eax, ecx
    0x31, 0xc2, //           xor edx, eax
    0x89, 0x06, //           mov [esi], eax
    0x8b, 0x5e, 0x04, //     mov ebx, [esi+4]
    0x53, //                 push ebx
    0x5f, //                 pop edi
    0x49, //                 dec ecx
    0x75, 0xf2, //           jnz loop (-14)
    0xf4, //                 hlt
  ];
}

export function measureCpuLoopMips(iterations = 2_000_000): { mips: number; instructions: number; ms: number } {
  const mem = new PhysicalMemory(4 << 20);
  const cpu = new Cpu(mem, new IoBus());
  mem.writeBytes(CODE, new Uint8Array(program(iterations)));
  for (let i = 0; i < 1024; i++) mem.write32(PT + i * 4, (i << 12) | 3);
  mem.write32(PD, PT | 3);
  cpu.cr0 |= 1;
  cpu.updateModes();
  cpu.setSegment(SEG_CS, 8, 0, -1, FLAT_CODE32_DPL0);
  for (const s of [SEG_DS, SEG_ES, SEG_SS]) cpu.setSegment(s, 0x10, 0, -1, FLAT_DATA32_DPL0);
  cpu.updateModes();
  movToCr(cpu, 3, PD);
  movToCr(cpu, 0, cpu.cr0 | 0x80000000);
  cpu.regs[4] = 0x9000;
  cpu.eip = CODE;
  const start = performance.now();
  let instructions = 0;
  while (!cpu.halted) instructions += cpu.run(1_000_000);
  const ms = performance.now() - start;
  if (cpu.regs[1] !== 0) throw new Error('benchmark loop did not complete');
  return { mips: instructions / ms / 1000, instructions, ms };
}

if (process.argv[1]?.endsWith('cpubench.js')) {
  measureCpuLoopMips(200_000); // warm-up
  const r = measureCpuLoopMips();
  console.log(`cpu loop: ${r.instructions} instructions in ${r.ms.toFixed(0)} ms = ${r.mips.toFixed(1)} MIPS`);
}
