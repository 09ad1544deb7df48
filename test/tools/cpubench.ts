// CPU micro benchmarks as 64 KiB "BIOS" images that any PC emulator can start from the reset
// vector, so `npm run bench` runs the same code on our interpreter and on v86's:
//
//   real-mode loop   ALU, INC/DEC and a taken branch on 32-bit registers (66 prefixes) in real
//                    mode: 5 instructions per iteration.
//   pm32 loop        resembles the shared W2 workload (sha256 in a 32-bit Linux guest): it
//                    switches to 32-bit protected mode, turns paging on (4 KiB pages) and runs
//                    a SHA-256-style round: register rotates, XOR/AND/NOT, adds from and stores
//                    to a 256-byte table, LEA, a counted loop; 22 instructions per iteration.
//
// Both end by writing one byte to port 0x3F8 and halting. `node dist/test/tools/cpubench.js`
// prints our figures; test/tools/bench.ts adds v86 as the reference.
import { IoBus } from '../../core/bus/io.js';
import { PhysicalMemory } from '../../core/bus/memory.js';
import { Cpu } from '../../core/cpu/cpu.js';

export interface LoopImage {
  name: string;
  rom: Uint8Array;
  /** Instructions in the timed part (the loop), for MIPS figures that all engines share. */
  instructions: number;
}

const le32 = (v: number): number[] => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

/** Put `code` at F000:0000 and a far jump to it at the reset vector. */
function romWith(code: number[]): Uint8Array {
  const rom = new Uint8Array(0x10000);
  rom.set(code, 0);
  rom.set([0xea, 0x00, 0x00, 0x00, 0xf0], 0xfff0); // jmp far F000:0000
  return rom;
}

/** Report completion on the UART data port and stay halted (16-bit and 32-bit code). */
const DONE16 = [0xba, 0xf8, 0x03, 0xb0, 0x44, 0xee, 0xfa, 0xf4, 0xeb, 0xfc]; // mov dx,3f8; mov al,'D'; out; cli; hlt; jmp to cli
const DONE32 = [0x66, ...DONE16];

export function realModeLoopImage(iterations: number): LoopImage {
  const code = [
    0x66, 0xb9, ...le32(iterations), // mov ecx, N
    0x66, 0x31, 0xc0, // xor eax, eax
    0x66, 0xbb, ...le32(1), // mov ebx, 1
    // loop:
    0x66, 0x01, 0xd8, // add eax, ebx
    0x66, 0x31, 0xc2, // xor edx, eax
    0x66, 0x43, // inc ebx
    0x66, 0x49, // dec ecx
    0x75, 0xf4, // jnz loop (-12)
    ...DONE16,
  ];
  return { name: 'real-mode loop', rom: romWith(code), instructions: iterations * 5 };
}

const PM_DATA = 0x8000, PM_STACK = 0x9000, PM_PD = 0x10000, PM_PT = 0x11000;
const ROM_BASE = 0xf0000;

/** The SHA-256-style round of the pm32 loop (ECX counts down, ESI = table). */
const SHA_ROUND = [
  0x89, 0xd8, //             mov eax, ebx
  0xc1, 0xc8, 0x06, //       ror eax, 6
  0x89, 0xda, //             mov edx, ebx
  0xc1, 0xca, 0x0b, //       ror edx, 11
  0x31, 0xd0, //             xor eax, edx
  0xc1, 0xca, 0x0e, //       ror edx, 14
  0x31, 0xd0, //             xor eax, edx          (Σ1)
  0x89, 0xda, //             mov edx, ebx
  0xf7, 0xd2, //             not edx
  0x21, 0xea, //             and edx, ebp
  0x89, 0xdf, //             mov edi, ebx
  0x81, 0xe7, ...le32(0x5be0cd19), // and edi, imm32
  0x31, 0xfa, //             xor edx, edi          (Ch)
  0x01, 0xd0, //             add eax, edx
  0x89, 0xca, //             mov edx, ecx
  0x83, 0xe2, 0x3f, //       and edx, 63
  0x03, 0x04, 0x96, //       add eax, [esi+edx*4]  (W[i])
  0x05, ...le32(0x428a2f98), // add eax, K
  0x89, 0x04, 0x96, //       mov [esi+edx*4], eax
  0x89, 0xdd, //             mov ebp, ebx
  0x8d, 0x1c, 0x58, //       lea ebx, [eax+ebx*2]
  0x49, //                   dec ecx
];
const SHA_ROUND_INSTRUCTIONS = 22; // with the jnz below

export function pm32LoopImage(iterations: number): LoopImage {
  // Real-mode entry: load the GDT, set CR0.PE, far jump into the 32-bit code.
  const gdtOff = 0x100, gdtrOff = 0x120, pmOff = 0x200;
  const entry = [
    0xfa, //                                  cli
    0x2e, 0x0f, 0x01, 0x16, gdtrOff & 0xff, gdtrOff >> 8, // lgdt cs:[gdtr]
    0x0f, 0x20, 0xc0, //                      mov eax, cr0
    0x66, 0x83, 0xc8, 0x01, //                or eax, 1
    0x0f, 0x22, 0xc0, //                      mov cr0, eax
    0x66, 0xea, ...le32(ROM_BASE + pmOff), 0x08, 0x00, // jmp dword 08:pm
  ];
  const pm = [
    0x66, 0xb8, 0x10, 0x00, //               mov ax, 0x10
    0x8e, 0xd8, 0x8e, 0xc0, 0x8e, 0xd0, //   mov ds/es/ss, ax
    0xbc, ...le32(PM_STACK), //              mov esp, stack
    0xbf, ...le32(PM_PT), //                 mov edi, page table
    0xb8, ...le32(3), //                     mov eax, 3 (present, writable)
    0xb9, ...le32(1024), //                  mov ecx, 1024
    0xab, //                                 fill: stosd
    0x05, ...le32(0x1000), //                add eax, 4096
    0xe2, 0xf8, //                           loop fill
    0xc7, 0x05, ...le32(PM_PD), ...le32(PM_PT | 3), // mov dword [pd], pt | 3
    0xb8, ...le32(PM_PD), //                 mov eax, pd
    0x0f, 0x22, 0xd8, //                     mov cr3, eax
    0x0f, 0x20, 0xc0, //                     mov eax, cr0
    0x0d, ...le32(0x80000000), //            or eax, PG
    0x0f, 0x22, 0xc0, //                     mov cr0, eax
    0xb9, ...le32(iterations), //            mov ecx, N
    0xbe, ...le32(PM_DATA), //               mov esi, table
    0x31, 0xdb, 0x31, 0xed, //               xor ebx, ebx; xor ebp, ebp
    ...SHA_ROUND,
    0x75, (-(SHA_ROUND.length + 2)) & 0xff, // jnz round
    ...DONE32,
  ];
  const code = new Array<number>(pmOff + pm.length).fill(0x90);
  code.splice(0, entry.length, ...entry);
  const gdt = [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0x9a, 0xcf, 0, 0xff, 0xff, 0, 0, 0, 0x92, 0xcf, 0];
  code.splice(gdtOff, gdt.length, ...gdt);
  code.splice(gdtrOff, 6, 23, 0, ...le32(ROM_BASE + gdtOff));
  code.splice(pmOff, pm.length, ...pm);
  return { name: 'pm32 loop', rom: romWith(code), instructions: iterations * SHA_ROUND_INSTRUCTIONS };
}

export interface EngineResult {
  engine: string;
  /** Wall-clock time of the loop. */
  ms: number;
  /** Process CPU time (user + system) of the loop: steadier than wall time on a shared machine. */
  cpuMs: number;
  instructions: number;
  mips: number;
}

/** Process CPU time in ms. */
export function cpuTimeMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Run a loop image on our CPU (2 MiB of RAM, the ROM at F0000 and below 4 GiB). */
export function measureOurs(image: LoopImage): EngineResult {
  const memory = new PhysicalMemory(2 * 1024 * 1024, 0x10000);
  memory.mem.set(image.rom, ROM_BASE);
  memory.mapBacking(0xffff0000, 0x10000, ROM_BASE, false); // the reset alias below 4 GiB
  const io = new IoBus();
  let done = false;
  io.register('bench-uart', 0x3f8, 1, { write8: () => { done = true; } });
  const cpu = new Cpu(memory, io);
  cpu.reset();
  const started = performance.now();
  const cpuStarted = cpuTimeMs();
  let executed = 0;
  while (!done) {
    executed += cpu.run(1_000_000);
    if (cpu.halted && !done) throw new Error(`${image.name}: the guest halted before finishing its loop`);
  }
  const ms = performance.now() - started;
  const cpuMs = cpuTimeMs() - cpuStarted;
  if (executed < image.instructions) throw new Error(`${image.name}: ran ${executed} instructions, expected at least ${image.instructions}`);
  return { engine: 'perseus', ms, cpuMs, instructions: image.instructions, mips: image.instructions / cpuMs / 1000 };
}

if (process.argv[1]?.endsWith('cpubench.js')) {
  for (const make of [realModeLoopImage, pm32LoopImage]) {
    measureOurs(make(200_000)); // warm-up
    const image = make(make === realModeLoopImage ? 20_000_000 : 4_000_000);
    const r = measureOurs(image);
    console.log(`${image.name}: ${r.instructions} instructions in ${r.cpuMs.toFixed(0)} ms CPU time (${r.ms.toFixed(0)} ms wall) = ${r.mips.toFixed(1)} MIPS`);
  }
}
