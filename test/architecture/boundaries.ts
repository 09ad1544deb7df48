// The layer rules of ARCHITECTURE.md as a check over source files:
//   core/     imports only core/ (no electron, no node built-ins, no main/, renderer/ or packages)
//   renderer/ imports renderer/, core/ and browser packages (no electron, node built-ins, main/)
// It reads every .ts/.js/.mjs/.cjs/.svelte file and finds static imports, `export ... from`,
// dynamic import() and require() with literal specifiers (comments are ignored).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';

export interface Violation {
  /** File path relative to the checked root, with forward slashes. */
  file: string;
  line: number;
  specifier: string;
  rule: string;
}

const SOURCE_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs', '.svelte']);
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, m.split('/')[0]!]));

/** Source text with comments blanked out (strings and line numbers kept). */
export function stripComments(src: string): string {
  let out = '';
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    const next = src[i + 1];
    if (c === '/' && next === '/') {
      while (i < n && src[i] !== '\n') { out += ' '; i++; }
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      for (; i < stop; i++) out += src[i] === '\n' ? '\n' : ' ';
    } else if (c === '<' && src.startsWith('<!--', i)) {
      const end = src.indexOf('-->', i + 4);
      const stop = end < 0 ? n : end + 3;
      for (; i < stop; i++) out += src[i] === '\n' ? '\n' : ' ';
    } else if (c === '"' || c === "'" || c === '`') {
      // Copy a string literal as is (an import specifier is one).
      out += c;
      i++;
      while (i < n && src[i] !== c) {
        if (src[i] === '\\') { out += src[i]!; i++; }
        if (i < n) { out += src[i]!; i++; }
        if (c !== '`' && src[i - 1] === '\n') break;
      }
      if (i < n) { out += src[i]!; i++; }
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The code with the insides of string literals replaced by 'x' (same length, lines kept). */
function maskStrings(code: string): string {
  let out = '';
  let i = 0;
  while (i < code.length) {
    const c = code[i]!;
    if (c !== '"' && c !== "'" && c !== '`') { out += c; i++; continue; }
    out += c;
    i++;
    while (i < code.length && code[i] !== c && !(c !== '`' && code[i] === '\n')) {
      if (code[i] === '\\' && i + 1 < code.length) { out += 'xx'; i += 2; continue; }
      out += code[i] === '\n' ? '\n' : 'x';
      i++;
    }
    if (i < code.length) { out += code[i]!; i++; }
  }
  return out;
}

// Matched against the masked code; group 2 is the (masked) specifier, read from the real code.
const PATTERNS = [
  // import x from '...'; import {a, b} from '...'; import type X from; export * from; export {a} from
  /(?:^|[^.\w$])(?:import|export)\s+(?:type\s+)?(?:[\w*${},\s]+?\s+)?from\s*(['"])([^'"\n]+)\1/dg,
  // import '...'  (side effects)
  /(?:^|[^.\w$])import\s*(['"])([^'"\n]+)\1/dg,
  // import('...')
  /(?:^|[^.\w$])import\s*\(\s*(['"`])([^'"`\n]+)\1\s*[,)]/dg,
  // require('...')
  /(?:^|[^.\w$])require\s*\(\s*(['"`])([^'"`\n]+)\1\s*\)/dg,
];

/** Every module specifier the source imports, with its line number. */
export function findImports(src: string): { specifier: string; line: number }[] {
  const code = stripComments(src);
  const masked = maskStrings(code);
  const found = new Map<number, { specifier: string; line: number }>();
  for (const re of PATTERNS) {
    re.lastIndex = 0;
    for (let m = re.exec(masked); m; m = re.exec(masked)) {
      const [start, end] = m.indices![2]!;
      if (found.has(start)) continue;
      const line = code.slice(0, start).split('\n').length;
      found.set(start, { specifier: code.slice(start, end), line });
    }
  }
  return [...found.values()].sort((a, b) => a.line - b.line);
}

function isBuiltin(spec: string): boolean {
  return spec.startsWith('node:') || BUILTINS.has(spec) || BUILTINS.has(spec.split('/')[0]!);
}

function isElectron(spec: string): boolean {
  return spec === 'electron' || spec.startsWith('electron/');
}

type Layer = 'core' | 'renderer' | 'main' | 'other';

function layerOf(root: string, absPath: string): Layer {
  const rel = relative(root, absPath).split(sep);
  if (rel[0] === 'core' || rel[0] === 'renderer' || rel[0] === 'main') return rel[0];
  return 'other';
}

/** Why `spec` imported from a file in `layer` breaks the rules, or null when it is allowed. */
function ruleBroken(root: string, file: string, layer: 'core' | 'renderer', spec: string): string | null {
  if (isElectron(spec)) return `${layer}/ must not import electron`;
  if (isBuiltin(spec)) return `${layer}/ must not import node built-ins`;
  if (spec.startsWith('.') || spec.startsWith('/')) {
    const target = layerOf(root, resolve(dirname(file), spec));
    if (layer === 'core' && target !== 'core') return `core/ may import only core/ (this reaches ${target === 'other' ? 'outside the layers' : target + '/'})`;
    if (layer === 'renderer' && target === 'main') return 'renderer/ must not import main/';
    if (layer === 'renderer' && target === 'other') return 'renderer/ may import only renderer/ and core/';
    return null;
  }
  if (layer === 'core') return 'core/ must not import packages (it runs in workers and the browser as is)';
  return null;
}

function* sourceFiles(dir: string): Generator<string> {
  let entries: string[];
  try { entries = readdirSync(dir); } catch { return; }
  for (const name of entries) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) yield* sourceFiles(p);
    else if (SOURCE_EXTENSIONS.has(extname(name)) && !name.endsWith('.d.ts')) yield p;
  }
}

/** All violations in `<root>/core` and `<root>/renderer`. */
export function checkBoundaries(root: string): Violation[] {
  const violations: Violation[] = [];
  for (const layer of ['core', 'renderer'] as const) {
    for (const file of sourceFiles(join(root, layer))) {
      for (const { specifier, line } of findImports(readFileSync(file, 'utf8'))) {
        const rule = ruleBroken(root, file, layer, specifier);
        if (rule) violations.push({ file: relative(root, file).split(sep).join('/'), line, specifier, rule });
      }
    }
  }
  return violations;
}
