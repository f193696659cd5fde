import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Test files each get their own database pair, so they may run side by side; two workers
    // match this 2-core machine without starving the databases.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
