import { defineConfig } from 'vitest/config';

/** Tests that measure the service's latency: run after the others, one file at a time, so what they measure is the service, not the tests beside them. */
const TIMING = 'test/**/*.timing.test.ts';

const shared = { testTimeout: 60_000, hookTimeout: 60_000 };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: [TIMING, '**/node_modules/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'timing',
          include: [TIMING],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
