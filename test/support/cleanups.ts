import type { Finishing } from './cli.js';

/**
 * Where a helper registers the teardown of what it opens: a file's cleanups array (run by that
 * file's afterEach, newest first) or the test context (concurrent tests, which share no array).
 */
export type Cleanups = Array<() => unknown> | Finishing;

/**
 * Registers `fn` to run when the test is over. It neither runs nor orders anything itself: the
 * array's owner or vitest does, and an error `fn` throws fails the test as it would inline.
 */
export function onCleanup(cleanups: Cleanups, fn: () => unknown): void {
  if (Array.isArray(cleanups)) cleanups.push(fn);
  else cleanups.onTestFinished(async () => void (await fn()));
}
