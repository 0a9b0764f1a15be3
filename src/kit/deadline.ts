import { OneBridgeError } from '../errors.js';

/** `withDeadline` gave up: the deadline passed (`ONEBRIDGE_TIMEOUT`) or the signal aborted (`ONEBRIDGE_ABORTED`). */
export class DeadlineError extends OneBridgeError {
  /** What was being waited for, as given to `withDeadline`. */
  readonly what: string;

  constructor(code: 'ONEBRIDGE_TIMEOUT' | 'ONEBRIDGE_ABORTED', what: string, message: string) {
    super(code, message);
    this.what = what;
  }
}

export interface DeadlineOptions {
  /** Names the wait in the error message, e.g. `IRC registration`. Default `operation`. */
  readonly what?: string;
}

/**
 * Settles like `promise`, or rejects with DeadlineError once `ms` pass or `signal` aborts,
 * whichever comes first. `ms <= 0` or `Infinity` means no deadline. Its timer and listener are
 * gone as soon as it settles.
 *
 * It does not cancel the work behind `promise` (a promise cannot be cancelled): give that work
 * the same signal, or clean up when this rejects. A late rejection of `promise` is swallowed,
 * never an unhandled rejection.
 */
export function withDeadline<T>(
  promise: PromiseLike<T>,
  ms: number,
  signal?: AbortSignal,
  options: DeadlineOptions = {},
): Promise<T> {
  const what = options.what ?? 'operation';
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      finish();
      reject(new DeadlineError('ONEBRIDGE_ABORTED', what, `${what} aborted`));
    };
    // Observed first, whatever happens next: a signal that is already aborted must not leave
    // the work's later rejection unhandled.
    Promise.resolve(promise).then(
      (value) => {
        finish();
        resolve(value);
      },
      (err: unknown) => {
        finish();
        reject(err);
      },
    );
    if (signal?.aborted) return onAbort();
    // A kept timer, not AbortSignal.timeout(): Node 20 may collect a composite signal before it fires.
    if (ms > 0 && Number.isFinite(ms)) {
      timer = setTimeout(() => {
        finish();
        reject(new DeadlineError('ONEBRIDGE_TIMEOUT', what, `${what} did not finish within ${ms} ms`));
      }, ms);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Resolves after `ms`, or rejects with DeadlineError (`ONEBRIDGE_ABORTED`) when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new DeadlineError('ONEBRIDGE_ABORTED', 'sleep', 'sleep aborted'));
    };
    if (signal?.aborted) return onAbort();
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
