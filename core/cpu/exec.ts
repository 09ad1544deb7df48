import type { Cpu } from './cpu.js';

export function step(cpu: Cpu): void {
  cpu.fault(6);
}
