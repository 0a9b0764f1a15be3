import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { slow, SLOWDOWN } from './test/support/slow.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Network and child-process tests: give each room, but never let a stuck one hang CI.
    // Hang guards, so they scale with the machine (x10 on emulated arm64, see test/support/slow.ts).
    testTimeout: slow(20_000),
    hookTimeout: slow(20_000),
    teardownTimeout: slow(10_000),
    // Child processes, signals and process.chdir (in-process CLI runs) need real processes.
    pool: 'forks',
    // Files share their worker's module graph instead of importing the app afresh each (that was
    // half of the suite's CPU). test/support/file-hygiene.ts fails a file that leaves the
    // process changed (fake timers, listeners, env, cwd) before it can disturb the next one.
    isolate: false,
    // machine-trust.ts first: children start without the machine's NODE_EXTRA_CA_CERTS (~50 ms per
    // Node start here), and file-hygiene's snapshot of process.env is taken after that.
    setupFiles: ['./test/support/machine-trust.ts', './test/support/file-hygiene.ts'],
    // Twice the cores: much of a file's time is spent waiting on sockets, timers and child
    // processes, and another file's work fills it. Not on a slow machine (emulated arm64): there
    // the same work is CPU-bound, and oversubscribing the cores would stretch every test past the
    // x10 its hang guards allow. ONEBRIDGE_TEST_WORKERS overrides, e.g. 1 to debug an ordering
    // problem.
    maxWorkers: Number(
      process.env['ONEBRIDGE_TEST_WORKERS'] ??
        (SLOWDOWN > 1 ? availableParallelism() : Math.min(8, 2 * availableParallelism())),
    ),
    reporters: ['default', './test/support/summary-reporter.ts'],
    // Keeps each transformed source on disk (node_modules/.experimental-vitest-cache), keyed by its
    // content, the config and vitest's version, so a run after the first transforms only what
    // changed: the main process's CPU halves (4.8 -> 2.3 s here). `npx vitest --clearCache` empties it.
    experimental: { fsModuleCache: true },
  },
});
