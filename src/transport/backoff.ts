export interface BackoffOptions {
  readonly initialMs: number;
  readonly maxMs: number;
  /** In [0, 1); injectable so tests can pin the jitter. */
  readonly random?: () => number;
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
  #attempt = 0;

  constructor(options: BackoffOptions) {
    this.#initial = Math.max(1, options.initialMs);
    this.#max = Math.max(this.#initial, options.maxMs);
    this.#random = options.random ?? Math.random;
  }

  get attempt(): number {
    return this.#attempt;
  }

  /** The cap for the next delay: grows ×2 per attempt up to maxMs. */
  ceiling(): number {
    return Math.min(this.#max, this.#initial * 2 ** Math.min(this.#attempt, 30));
  }

  next(): number {
    const delay = Math.floor(this.#random() * this.ceiling());
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
