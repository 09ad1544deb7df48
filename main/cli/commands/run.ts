// `perseus run ...`: headless boot of a machine, implemented by the platform team in
// main/run/run.ts; this file only makes it a `perseus` command.
import { runCommand } from '../../run/run.js';
import type { CliCommand, CliIO } from '../context.js';

export const command: CliCommand = {
  name: 'run',
  summary: 'Boot a machine headless (disk images, serial console, screenshots)',
  async run(args: string[], io: CliIO): Promise<number> {
    // `perseus --data-dir D run ...` reaches the runner as PERSEUS_DATA_DIR.
    if (io.env !== process.env && io.env.PERSEUS_DATA_DIR) process.env.PERSEUS_DATA_DIR = io.env.PERSEUS_DATA_DIR;
    return runCommand(args);
  },
};
