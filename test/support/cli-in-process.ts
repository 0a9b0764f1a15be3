import { format } from 'node:util';
import { builtinAdapters } from '../../adapters/index.js';
import { fastStartOptions } from '../../src/cli-fast.js';
import { runCli } from '../../src/cli.js';
import type { RunResult } from './cli.js';

/**
 * `onebridge ARGS` for the commands that print or validate and then exit (help, usage errors,
 * init, check, status, reload), run in this process through the same `runCli` the command
 * calls: the yargs parser, the command bodies and `fail()`'s one-line messages, with stdout,
 * stderr, process.exit, process.exitCode, the environment and the working directory captured
 * for the run and given back after it. About a millisecond instead of a Node start-up per
 * run, so a test can check every variant of a message. What only a real process shows (the
 * exit status the shell sees, signals, the bin's early start) keeps its real-CLI smoke tests
 * (`runCli` in ./cli.ts).
 *
 * Runs are serialised, since they swap process-wide state; tests that call this may still run
 * concurrently with each other and with real-CLI runs, as long as those spawn through ./cli.ts,
 * whose children start from the suite's own environment and folder, never the swapped ones.
 */
export function runCliInProcess(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  // `start` (also yargs' default command, e.g. `onebridge -c`) installs signal handlers and
  // timers for the life of the process: never in the test's process.
  const first = args[0] ?? '';
  const startsNothing =
    ['--help', '-h', '--version', '-v'].includes(first) || (!first.startsWith('-') && first !== 'start');
  if (!startsNothing || fastStartOptions(args))
    throw new Error(`onebridge ${args.join(' ')} may run \`start\`: run it as a real process (runCli, RunningCli)`);
  const run = queue.then(() => runOnce(args, options));
  queue = run.then(
    () => undefined,
    () => undefined,
  );
  return run;
}

let queue: Promise<void> = Promise.resolve();

/** Thrown by the stand-in process.exit: it unwinds the command like the real one ends it. */
class Exited extends Error {
  constructor(readonly code: number) {
    super(`process.exit(${code})`);
  }
}

async function runOnce(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  let exitCode: number | undefined;
  // After process.exit nothing more reaches the terminal: later writes (yargs reporting the
  // unwinding as a failure) are dropped, as they would be by a process that has ended.
  const sink =
    (to: 'out' | 'err') =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      if (exitCode === undefined) {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
        if (to === 'out') stdout += text;
        else stderr += text;
      }
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      if (done) queueMicrotask(done);
      return true;
    };
  const saved = {
    out: process.stdout.write,
    err: process.stderr.write,
    exit: process.exit,
    exitCode: process.exitCode,
    log: console.log,
    error: console.error,
    cwd: process.cwd(),
    env: { ...process.env },
  };
  process.stdout.write = sink('out') as typeof process.stdout.write;
  process.stderr.write = sink('err') as typeof process.stderr.write;
  console.log = (...a: unknown[]) => sink('out')(`${format(...a)}\n`);
  console.error = (...a: unknown[]) => sink('err')(`${format(...a)}\n`);
  process.exit = ((code?: number | string | null) => {
    exitCode ??= Number(code ?? process.exitCode ?? 0);
    throw new Exited(exitCode);
  }) as typeof process.exit;
  process.exitCode = undefined;
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  if (options.cwd) process.chdir(options.cwd);
  try {
    await runCli({ adapters: builtinAdapters, argv: args });
  } catch (err) {
    if (!(err instanceof Exited)) throw err;
  } finally {
    exitCode ??= Number(process.exitCode ?? 0);
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
    console.log = saved.log;
    console.error = saved.error;
    process.exit = saved.exit;
    process.exitCode = saved.exitCode;
    for (const key of Object.keys(process.env)) if (!(key in saved.env)) delete process.env[key];
    Object.assign(process.env, saved.env);
    process.chdir(saved.cwd);
  }
  return { code: exitCode, signal: null, stdout, stderr };
}
