import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests spawn daemons and hooks as real processes; two cores do not like more.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
