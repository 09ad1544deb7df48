import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/fixtures/**', 'node_modules/**', 'dist/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two cores in CI: run files in parallel across forks, tests inside a file in order.
    pool: 'forks',
    maxWorkers: 2,
  },
});
