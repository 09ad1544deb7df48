// The system side of the CPU as the decoder (core/cpu/sysops.ts) calls it. See NOTES.md.

export { deliverInterrupt, KIND_SOFTWARE_EXCEPTION, stackFromTss } from './interrupts.js';
export { loadSegment } from './descriptors.js';
export { farCall, farJump, farReturn, iret } from './transfers.js';
export { taskSwitch, TASK_CALL, TASK_INT, TASK_IRET, TASK_JMP } from './tasks.js';
export { arpl, clts, executeSystem0F, lar, lsl, movFromCr, movFromDr, movToCr, movToDr } from './instructions.js';
export {
  checkIoPermission, cpuFeatures, cpuid, rdmsr, rdtsc, readTsc, sysenter, sysexit, virtualCli, virtualPopf,
  virtualPushf, virtualSti, wrmsr,
} from './msr.js';
