#!/usr/bin/env node
// The `perseus` command (package.json "bin"). The CLI is TypeScript compiled to dist/ by
// `npm run build` (which `npm install` runs as `prepare`); this launcher only starts it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../../dist/main/cli/index.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('perseus: the CLI is not built (dist/main/cli/index.js is missing); run "npm run build" first\n');
  process.exit(1);
}
// `perseus vm list | head`: a closed pipe ends the output, not with a stack trace.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
