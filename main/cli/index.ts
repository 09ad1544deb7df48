// `perseus`: the command-line entry point. main/cli/perseus.mjs (the npm `bin`) imports the
// compiled form of this file from dist/ and calls main().
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { UsageError, didYouMean, formatOptions, parseArgs, type OptionSpecs } from './args.js';
import { EXIT, processIO, reportError, type CliCommand, type CliIO } from './context.js';

export { EXIT, type CliCommand, type CliIO } from './context.js';

const COMMANDS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'commands');

const GLOBAL_OPTIONS = {
  'data-dir': { type: 'string', value: 'DIR', help: 'Use this data directory (default: $PERSEUS_DATA_DIR, then the OS user-data folder)' },
  help: { type: 'boolean', short: 'h', help: 'Show this help' },
  version: { type: 'boolean', short: 'V', help: 'Print the version' },
} satisfies OptionSpecs;

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  try {
    // Global options come before the command name; everything after it belongs to the command.
    let i = 0;
    while (i < argv.length && argv[i]!.startsWith('-')) i += argv[i] === '--data-dir' ? 2 : 1;
    const { options } = parseArgs(argv.slice(0, i), GLOBAL_OPTIONS);
    const name = argv[i];
    const rest = argv.slice(i + 1);
    if (options.version) {
      io.stdout.write(`perseus ${packageVersion()}\n`);
      return EXIT.ok;
    }
    if (options['data-dir'] !== undefined) io.env.PERSEUS_DATA_DIR = resolve(io.cwd, options['data-dir']);
    if (name === 'help' && rest.length > 0) return await runCommand(rest[0]!, ['--help'], io);
    if (options.help && name !== undefined) return await runCommand(name, ['--help'], io);
    if (options.help || name === undefined || name === 'help') {
      // Asked for: stdout and success. Not asked for (no command): stderr and a usage error.
      if (name === undefined && !options.help) {
        io.stderr.write(await usage());
        return EXIT.usage;
      }
      io.stdout.write(await usage());
      return EXIT.ok;
    }
    return await runCommand(name, rest, io);
  } catch (e) {
    return reportError(io, 'perseus', e, false);
  }
}

async function runCommand(name: string, args: string[], io: CliIO): Promise<number> {
  const names = commandNames();
  if (!names.includes(name)) throw new UsageError(`unknown command "${name}"${didYouMean(name, names)}`);
  const command = await loadCommand(name);
  return command.run(args, io);
}

/** Command names: the files in commands/ (compiled .js in dist, .ts under vitest). */
export function commandNames(): string[] {
  const names = new Set<string>();
  for (const f of readdirSync(COMMANDS_DIR)) {
    const m = /^([a-z][a-z0-9-]*)\.(js|ts)$/.exec(f);
    if (m && !f.endsWith('.d.ts')) names.add(m[1]!);
  }
  return [...names].sort();
}

async function loadCommand(name: string): Promise<CliCommand> {
  const file = ['js', 'ts'].map((ext) => join(COMMANDS_DIR, `${name}.${ext}`)).find((f) => existsSync(f))!;
  const mod = (await import(pathToFileURL(file).href)) as { command?: CliCommand };
  if (!mod.command || mod.command.name !== name || typeof mod.command.run !== 'function') {
    throw new Error(`commands/${name}: does not export a CliCommand named "${name}"`);
  }
  return mod.command;
}

async function usage(): Promise<string> {
  const lines: string[] = [];
  for (const name of commandNames()) {
    try {
      lines.push(`  ${name.padEnd(10)}${(await loadCommand(name)).summary}`);
    } catch (e) {
      lines.push(`  ${name.padEnd(10)}(unavailable: ${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
    }
  }
  return `Perseus Workstation ${packageVersion()}: virtual machines for legacy PC guests.

Usage: perseus [--data-dir DIR] <command> [options]

Commands:
${lines.join('\n')}

Run "perseus <command> --help" for a command's options.

Global options:
${formatOptions(GLOBAL_OPTIONS)}

Exit codes:
  0  success
  1  runtime failure (I/O error, VM in the wrong power state, ...)
  2  usage error (unknown command or option, missing argument)
  3  not found (no VM with that name or id)
  4  validation failed (the problems are listed; with --json as "issues")

Data: library.db and one folder per VM (vms/<id>/) in the data directory:
  --data-dir, else $PERSEUS_DATA_DIR, else ~/.config/Perseus Workstation (Linux),
  %APPDATA%\\Perseus Workstation (Windows), ~/Library/Application Support/Perseus Workstation (macOS).
`;
}

function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'package.json');
    if (existsSync(p)) {
      try {
        const pkg = JSON.parse(readFileSync(p, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === 'perseus-workstation') return pkg.version ?? '0.0.0';
      } catch {
        // keep looking upwards
      }
    }
    dir = dirname(dir);
  }
  return 'unknown';
}
