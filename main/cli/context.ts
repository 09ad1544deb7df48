// What every `perseus` subcommand gets and returns.
//
// A subcommand is one file main/cli/commands/<name>.ts exporting `command: CliCommand`; the
// dispatcher finds it by file name, so adding one needs no edit anywhere else. Files whose
// name starts with "_" are helpers, not commands. A command typically:
//   const { options, positionals } = parseArgs(args, SPECS);     // ../args.js; UsageError → 2
//   const library = openLibrary(io, options['data-dir']);         // if it needs VMs
//   try { const vm = library.lookup(positionals[0]!); ... } finally { library.close(); }
//   catch (e) { return reportError(io, 'perseus disk create', e, json); }  // exit code by error
import { ApiError, type ValidationIssue } from '../../core/api/contract.js';
import { resolveDataDir, VmLibrary } from '../library/index.js';
import { UsageError } from './args.js';

/** Exit codes (documented in `perseus --help`). */
export const EXIT = {
  ok: 0,
  /** Something failed at run time (I/O, a VM in the wrong state, ...). */
  failure: 1,
  /** The command line is wrong. */
  usage: 2,
  /** The named VM (or other object) does not exist. */
  notFound: 3,
  /** The settings are not valid; the problems are listed. */
  invalid: 4,
} as const;

export interface TextOut {
  write(text: string): unknown;
}

export interface CliIO {
  stdout: TextOut;
  stderr: TextOut;
  stdin: NodeJS.ReadableStream;
  /** True when a person can answer questions (stdin and stdout are terminals). */
  interactive: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface CliCommand {
  /** The word after `perseus`; must equal the file name. */
  name: string;
  /** One line for `perseus --help`. */
  summary: string;
  /** Runs with the arguments after the command name; resolves to the exit code. */
  run(args: string[], io: CliIO): Promise<number>;
}

/** The data directory for a command's `--data-dir` option (global option and env included). */
export function dataDirFor(io: CliIO, option: string | undefined): string {
  return resolveDataDir({ option, env: io.env, cwd: io.cwd });
}

/** Opens the library for a command; the caller closes it (try/finally). */
export function openLibrary(io: CliIO, dataDirOption: string | undefined): VmLibrary {
  return VmLibrary.open(dataDirFor(io, dataDirOption));
}

export function processIO(): CliIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    env: process.env,
    cwd: process.cwd(),
  };
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT.usage;
  if (error instanceof ApiError) {
    if (error.code === 'not-found') return EXIT.notFound;
    if (error.code === 'invalid') return EXIT.invalid;
  }
  return EXIT.failure;
}

/**
 * Reports an error the way scripts and people both want it: a readable message on stderr
 * (with the validation issues one per line) and, under --json, `{"error": {...}}` on stdout.
 * Returns the exit code.
 */
export function reportError(io: CliIO, prog: string, error: unknown, json: boolean): number {
  const code = exitCodeFor(error);
  const message = error instanceof Error ? error.message : String(error);
  const issues: ValidationIssue[] = error instanceof ApiError ? error.issues : [];
  if (json) {
    const apiCode = error instanceof ApiError ? error.code : error instanceof UsageError ? 'usage' : 'internal';
    io.stdout.write(JSON.stringify({ error: { code: apiCode, message, issues } }) + '\n');
  }
  if (issues.length > 0) {
    io.stderr.write(`${prog}: the settings are not valid:\n`);
    for (const i of issues) io.stderr.write(`  ${i.field}: ${i.message}\n`);
  } else {
    io.stderr.write(`${prog}: ${message}\n`);
  }
  if (error instanceof UsageError) io.stderr.write(`Run "${prog} --help" for usage.\n`);
  else if (code === EXIT.failure && !(error instanceof ApiError) && io.env.PERSEUS_DEBUG && error instanceof Error) {
    io.stderr.write(`${error.stack ?? ''}\n`);
  }
  return code;
}
