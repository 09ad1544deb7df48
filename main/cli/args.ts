// A small typed command-line parser: GNU-style long options (`--memory 32`, `--memory=32`),
// single-letter aliases (`-h`), boolean flags, `--` to end options, and errors that say
// exactly what is wrong (with a suggestion for a mistyped option name).

export type OptionType = 'string' | 'boolean' | 'integer';

export interface OptionSpec {
  type: OptionType;
  /** One-letter alias, e.g. 'h' for -h. */
  short?: string;
  /** Placeholder shown in help, e.g. 'MIB'. */
  value?: string;
  help: string;
  /** May be given several times (string options): the values come as a list. */
  multiple?: boolean;
}

export type OptionSpecs = Record<string, OptionSpec>;

type ValueOf<T extends OptionType> = T extends 'boolean' ? boolean : T extends 'integer' ? number : string;
export type ParsedOptions<S extends OptionSpecs> = { -readonly [K in keyof S]?: S[K] extends { multiple: true } ? string[] : ValueOf<S[K]['type']> };

export interface ParsedArgs<S extends OptionSpecs> {
  options: ParsedOptions<S>;
  positionals: string[];
}

/** A mistake in how the command was typed: exit code 2 and a pointer to --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseArgs<S extends OptionSpecs>(argv: readonly string[], specs: S): ParsedArgs<S> {
  const options: Record<string, string | number | boolean | string[]> = {};
  const positionals: string[] = [];
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) if (spec.short) byShort.set(spec.short, name);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      if (!Object.hasOwn(specs, name)) throw new UsageError(unknownOption(`--${name}`, name, Object.keys(specs)));
    } else if (arg.startsWith('-') && arg.length > 1 && !/^-\d/.test(arg)) {
      const letter = arg.slice(1, 2);
      const long = byShort.get(letter);
      if (!long || arg.length > 2) throw new UsageError(unknownOption(arg, arg.slice(1), Object.keys(specs)));
      name = long;
    } else {
      positionals.push(arg);
      continue;
    }
    const spec = specs[name]!;
    if (Object.hasOwn(options, name) && !spec.multiple) throw new UsageError(`--${name} is given more than once`);
    if (spec.type === 'boolean') {
      if (inline !== undefined) throw new UsageError(`--${name} is a switch and takes no value (got "${inline}")`);
      options[name] = true;
      continue;
    }
    let value = inline;
    if (value === undefined) {
      const next = argv[i + 1];
      // "--fda --json" is almost certainly a forgotten value; "--fda=--json" still works.
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`--${name} needs a value${spec.value ? ` (${spec.value})` : ''}`);
      }
      value = next;
      i++;
    }
    if (spec.type === 'integer') {
      if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`--${name} needs a whole number, not "${value}"`);
      const n = Number(value.trim());
      if (!Number.isSafeInteger(n)) throw new UsageError(`--${name}: ${value} is out of range`);
      options[name] = n;
    } else if (spec.multiple) {
      options[name] = [...((options[name] as string[] | undefined) ?? []), value];
    } else {
      options[name] = value;
    }
  }
  return { options: options as ParsedOptions<S>, positionals };
}

/** Help lines for the options, aligned: "  -h, --help          Show this help". */
export function formatOptions(specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const left = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`;
    return [left, spec.help] as const;
  });
  const width = Math.min(32, Math.max(...rows.map(([l]) => l.length)) + 2);
  return rows.map(([l, h]) => `  ${l.padEnd(width)}${l.length >= width ? '\n  ' + ' '.repeat(width) : ''}${h}`).join('\n');
}

function unknownOption(shown: string, name: string, known: string[]): string {
  const close = known
    .map((k) => [k, editDistance(name, k)] as const)
    .filter(([, d]) => d <= (name.length <= 3 ? 1 : 2))
    .sort((a, b) => a[1] - b[1])[0];
  return `unknown option ${shown}${close ? ` (did you mean --${close[0]}?)` : ''}`;
}

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** A suggestion among known words, or '' (used for mistyped subcommands). */
export function didYouMean(word: string, known: readonly string[]): string {
  const best = known
    .map((k) => [k, editDistance(word, k)] as const)
    .filter(([, d]) => d <= 2)
    .sort((a, b) => a[1] - b[1])[0];
  return best ? ` (did you mean "${best[0]}"?)` : '';
}
