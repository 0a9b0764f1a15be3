export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** In [0, 1); injectable so tests can pin the jitter. */
  readonly random?: () => number;
  /** Full jitter (default) or none: the ceiling itself (HTTP POST retries of one event). */
  readonly jitter?: boolean;
}

/**
 * Exponential backoff with full jitter: attempt n waits a uniform random time in
 * [0, min(maxMs, initialMs * 2^n)), so many clients that lost the same server do not come
 * back in lockstep. It only computes delays; the caller owns the timer.
 */
export class Backoff {
  readonly #initial: number;
  readonly #max: number;
  readonly #random: () => number;
  readonly #jitter: boolean;
  #attempt = 0;

  constructor(options: BackoffOptions) {
    this.#initial = Math.max(1, options.initialMs);
    this.#max = Math.max(this.#initial, options.maxMs);
    this.#random = options.random ?? Math.random;
    this.#jitter = options.jitter ?? true;
  }

  get attempt(): number {
    return this.#attempt;
  }

  /** The cap for the next delay: grows ×2 per attempt up to maxMs. */
  ceiling(): number {
    return this.ceilingAt(this.#attempt);
  }

  /** The cap for attempt `n` (0-based), whatever the current attempt. */
  ceilingAt(n: number): number {
    return Math.min(this.#max, this.#initial * 2 ** Math.min(n, 30));
  }

  next(): number {
    const delay = this.#jitter ? Math.floor(this.#random() * this.ceiling()) : this.ceiling();
    this.#attempt++;
    return delay;
  }

  /** The longest wait: used after an auth failure, where trying sooner cannot help. */
  max(): number {
    return this.#max;
  }

  reset(): void {
    this.#attempt = 0;
  }
}
