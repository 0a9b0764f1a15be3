/**
 * How much slower than a native x64 developer machine this run is expected to be, so that a
 * wall-clock bound that only guards against a hang (a test timeout, "no answer within N ms")
 * holds on emulated arm64 too.
 *
 * - `ONEBRIDGE_TEST_SLOWDOWN=<number>` wins (e.g. 3 on a slow laptop, 1 to check a bound).
 * - `RUN_ARM64=1` (exported by ../shared/tools/run-arm64.sh) or `process.arch === 'arm64'`: 10.
 *   A native arm64 machine is not that slow, but a wider bound there costs nothing unless a test
 *   hangs, and Termux phones are.
 * - Otherwise 1: on native x64 nothing is loosened.
 *
 * Not for bounds that are the behaviour under test (a shutdown grace period, a heartbeat): those
 * are configured values the test compares against, and they do not move with the machine.
 */
export const SLOWDOWN: number = slowdownFrom(process.env, process.arch);

export function slowdownFrom(env: NodeJS.ProcessEnv, arch: string): number {
  const explicit = env['ONEBRIDGE_TEST_SLOWDOWN'];
  if (explicit !== undefined && explicit !== '') {
    const n = Number(explicit);
    if (!Number.isFinite(n) || n < 1)
      throw new Error(`ONEBRIDGE_TEST_SLOWDOWN must be a number >= 1, got '${explicit}'`);
    return n;
  }
  if (env['RUN_ARM64'] === '1' || arch === 'arm64') return 10;
  return 1;
}

/** `ms` scaled by SLOWDOWN: use for every bound that guards against a hang. */
export function slow(ms: number): number {
  return Math.round(ms * SLOWDOWN);
}
