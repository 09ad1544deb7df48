// The layer rules hold in the real tree, and the checker really finds violations: a fixture
// tree (test/fixtures/boundaries, outside tsc and vitest) breaks each rule once.
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT } from '../helpers/shared.js';
import { checkBoundaries, findImports } from './boundaries.js';

describe('layer boundaries', () => {
  test('core/ and renderer/ import nothing they must not', () => {
    const violations = checkBoundaries(REPO_ROOT);
    expect(violations.map((v) => `${v.file}:${v.line} imports ${v.specifier}: ${v.rule}`)).toEqual([]);
  });

  test('the checker reports every violation in the fixture tree, and nothing else', () => {
    const found = checkBoundaries(join(REPO_ROOT, 'test', 'fixtures', 'boundaries'))
      .map((v) => `${v.file}:${v.line} ${v.specifier}`)
      .sort();
    expect(found).toEqual([
      'core/bad-bare-builtin.ts:1 fs',
      'core/bad-bare-builtin.ts:2 path',
      'core/bad-dynamic-main.ts:2 ../main/service/service.js',
      'core/bad-electron.ts:1 electron',
      'core/bad-node.ts:1 node:fs',
      'core/bad-package.ts:1 ws',
      'core/bad-require.cjs:1 os',
      'core/nested/bad-multiline.ts:4 node:path',
      'core/nested/bad-multiline.ts:6 ../../renderer/good.js',
      'renderer/bad-main.ts:1 ../main/service/service.js',
      'renderer/bad-main.ts:2 node:buffer',
      'renderer/bad.svelte:2 electron',
    ].sort());
  });

  test('imports are found in every form, comments and strings are not imports', () => {
    const src = [
      "import a from 'a';",
      "import type { B } from \"b\";",
      "import 'c';",
      "export * as d from 'd';",
      "const e = await import('e');",
      "const f = require(`f`);",
      '// import g from "g";',
      "const h = \"import h from 'h'\";",
      "import {",
      "  i1,",
      "  i2 as j,",
      "} from 'i';",
    ].join('\n');
    expect(findImports(src)).toEqual([
      { specifier: 'a', line: 1 },
      { specifier: 'b', line: 2 },
      { specifier: 'c', line: 3 },
      { specifier: 'd', line: 4 },
      { specifier: 'e', line: 5 },
      { specifier: 'f', line: 6 },
      { specifier: 'i', line: 12 },
    ]);
  });
});
