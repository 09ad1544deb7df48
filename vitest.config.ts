import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Files that boot the Linux guest (about 7e9 guest instructions each) start first, so they
 * run alongside the many short files instead of after them: the default order (by size, in
 * a clone without timing history) put them last and doubled the suite's wall time.
 */
const LONG_FIRST = [/test\/guests\/linux-[^/]*\.test\.ts$/, /test\/firmware\/linux-boot\.test\.ts$/];

class LongFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const long = (f: TestSpecification) => LONG_FIRST.some((re) => re.test(f.moduleId.replace(/\\/g, '/')));
    return [...sorted.filter(long), ...sorted.filter((f) => !long(f))];
  }
}

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/fixtures/**', 'node_modules/**', 'dist/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores in CI: run files in parallel across forks, tests inside a file in order.
    pool: 'forks',
    maxWorkers: 2,
    sequence: { sequencer: LongFirstSequencer },
  },
});
