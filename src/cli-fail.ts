import { OneBridgeError } from './errors.js';

/**
 * A failure the user can act on: one line naming cause and key, exit 1. The stack is shown
 * only with --log-level debug; an unexpected error says so and how to see more.
 */
export function fail(err: unknown, debug: boolean): never {
  if (err instanceof OneBridgeError) {
    process.stderr.write(`onebridge: ${err.message}\n`);
    if (debug && err.cause instanceof Error) process.stderr.write(`${err.cause.stack ?? ''}\n`);
  } else {
    process.stderr.write(`onebridge: unexpected error: ${(err as Error)?.message ?? String(err)}${debug ? '' : ' (run with --log-level debug for details)'}\n`);
    if (debug && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
  }
  process.exit(1);
}

