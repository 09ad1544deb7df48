// `perseus run`: headless boot of a machine. The platform team replaces this placeholder
// with the real runner (core/board + disk backends); until then it says so clearly.
export async function runCommand(_args: string[]): Promise<number> {
  process.stderr.write('perseus run: no machine can run yet (the PC platform is not built yet)\n');
  return 2;
}
