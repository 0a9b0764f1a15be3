/**
 * Runs around every test file (vitest `setupFiles`). The suite runs without per-file isolation:
 * the files of one worker share a module graph and a process, which saves importing the app
 * ~70 times (most of the suite's CPU before). The price is that a file must leave the process as
 * it found it. What a file could leave behind by accident is checked here and fails that file by
 * name, rather than breaking whichever file the worker runs next.
 */
import { afterAll, beforeAll, vi } from 'vitest';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'uncaughtException', 'unhandledRejection'] as const;
let listenersBefore: Record<string, number> = {};
let cwdBefore = '';
let envBefore: NodeJS.ProcessEnv = {};

beforeAll(() => {
  listenersBefore = Object.fromEntries(SIGNALS.map((s) => [s, process.listenerCount(s)]));
  cwdBefore = process.cwd();
  envBefore = { ...process.env };
});

afterAll(() => {
  const left: string[] = [];
  if (vi.isFakeTimers()) {
    vi.useRealTimers();
    left.push('fake timers still on (call vi.useRealTimers() in afterEach)');
  }
  for (const s of SIGNALS) {
    const extra = process.listenerCount(s) - (listenersBefore[s] ?? 0);
    if (extra > 0) left.push(`${extra} process '${s}' listener(s) added and not removed`);
  }
  if (process.cwd() !== cwdBefore) {
    process.chdir(cwdBefore);
    left.push(`working directory changed to ${process.cwd()}`);
  }
  const changed = new Set([...Object.keys(envBefore), ...Object.keys(process.env)]);
  for (const k of changed) if (envBefore[k] !== process.env[k]) left.push(`process.env.${k} changed`);
  if (left.length > 0) throw new Error(`this test file left the shared worker changed: ${left.join('; ')}`);
});
