import { describe, expect, it } from 'vitest';
import { UsageError, didYouMean, editDistance, formatOptions, parseArgs, type OptionSpecs } from '../../main/cli/args.js';

const SPECS = {
  memory: { type: 'integer', value: 'MIB', help: 'Memory' },
  fda: { type: 'string', value: 'IMAGE', help: 'Floppy' },
  json: { type: 'boolean', help: 'JSON' },
  help: { type: 'boolean', short: 'h', help: 'Help' },
} satisfies OptionSpecs;

function usageError(argv: string[]): string {
  try {
    parseArgs(argv, SPECS);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('parseArgs', () => {
  it('parses long options with separate and inline values, switches, short aliases and positionals', () => {
    const r = parseArgs(['create', 'My VM', '--memory', '32', '--fda=/a.img', '--json', '-h'], SPECS);
    expect(r.positionals).toEqual(['create', 'My VM']);
    expect(r.options).toEqual({ memory: 32, fda: '/a.img', json: true, help: true });
  });

  it('treats everything after -- as positionals, and a lone "-" or a negative number as a positional', () => {
    expect(parseArgs(['--', '--json', '-h'], SPECS)).toEqual({ options: {}, positionals: ['--json', '-h'] });
    expect(parseArgs(['-', '-5'], SPECS).positionals).toEqual(['-', '-5']);
  });

  it('accepts values that start with a single dash, and values with "=" inline', () => {
    expect(parseArgs(['--fda', '-weird.img'], SPECS).options.fda).toBe('-weird.img');
    expect(parseArgs(['--fda=--x=y'], SPECS).options.fda).toBe('--x=y');
  });

  it('explains mistakes', () => {
    expect(usageError(['--memroy', '3'])).toBe('unknown option --memroy (did you mean --memory?)');
    expect(usageError(['--colour'])).toBe('unknown option --colour');
    expect(usageError(['-x'])).toBe('unknown option -x');
    expect(usageError(['--memory'])).toBe('--memory needs a value (MIB)');
    expect(usageError(['--fda', '--json'])).toBe('--fda needs a value (IMAGE)');
    expect(usageError(['--memory', 'lots'])).toBe('--memory needs a whole number, not "lots"');
    expect(usageError(['--memory', '1.5'])).toBe('--memory needs a whole number, not "1.5"');
    expect(usageError(['--memory', '99999999999999999999'])).toBe('--memory: 99999999999999999999 is out of range');
    expect(usageError(['--json=yes'])).toBe('--json is a switch and takes no value (got "yes")');
    expect(usageError(['--json', '--json'])).toBe('--json is given more than once');
  });

  it('formats aligned help', () => {
    expect(formatOptions(SPECS).split('\n')).toEqual([
      '      --memory MIB  Memory',
      '      --fda IMAGE   Floppy',
      '      --json        JSON',
      '  -h, --help        Help',
    ]);
  });

  it('edit distance and suggestions', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(didYouMean('lsit', ['list', 'show'])).toBe(' (did you mean "list"?)');
    expect(didYouMean('zzzzzz', ['list', 'show'])).toBe('');
  });
});
