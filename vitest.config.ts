import { defineConfig } from 'vitest/config';

/** Tests that rest on timing (latency measured, stops racing clients): run after the others, one file at a time, so what they see is the service, not the tests beside them. */
const TIMING = 'test/**/*.timing.test.ts';
/** Tests that load the machine (runs over 100 000 customers): after the others too, so they slow none of them. */
const HEAVY = 'test/**/*.heavy.test.ts';

const shared = { testTimeout: 60_000, hookTimeout: 60_000 };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...shared,
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: [TIMING, HEAVY, '**/node_modules/**'],
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'timing',
          include: [TIMING, HEAVY],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
