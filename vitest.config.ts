import { defineConfig } from 'vitest/config';
import { slow } from './test/support/slow.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Network and child-process tests: give each room, but never let a stuck one hang CI.
    // Hang guards, so they scale with the machine (x10 on emulated arm64, see test/support/slow.ts).
    testTimeout: slow(20_000),
    hookTimeout: slow(20_000),
    teardownTimeout: slow(10_000),
    pool: 'forks',
    // Two files at a time on the 2-core CI machine (the suite is mostly waiting on sockets and
    // child processes); ONEBRIDGE_TEST_WORKERS overrides, e.g. 1 to debug an ordering problem.
    maxWorkers: Number(process.env['ONEBRIDGE_TEST_WORKERS'] ?? 2),
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
