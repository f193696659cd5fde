import { defineConfig } from 'vitest/config';

/** Test files that change the shared servers for everyone (a binlog purge): run alone, last. */
const alone = 'test/**/*.alone.test.ts';

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test files each get their own database pair, so they may run side by side; two workers
    // match this 2-core machine without starving the databases.
    maxWorkers: 2,
    fileParallelism: true,
    projects: [
      {
        extends: true,
        test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: [alone] },
      },
      {
        extends: true,
        test: {
          name: 'alone',
          include: [alone],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
