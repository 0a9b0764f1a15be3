import type { Logger } from '../logger.js';

/**
 * What a reconnecting link logs while its target is unreachable: one line when an outage
 * starts, one more only when the cause changes, and one when it ends, carrying the count and
 * how long it lasted. The attempts in between are debug lines, so a target that is down for a
 * day is two lines, not thousands. The kit's ReconnectingLink logs through it.
 *
 * It only decides what to log; it keeps no timer and knows nothing of sockets.
 */
export class OutageLog {
  readonly #name: string;
  readonly #logger: Logger;
  /** From the first failed attempt (or a drop) until a connection opens again. */
  #outage: { since: number; failed: number; cause: string } | undefined;

  constructor(name: string, logger: Logger) {
    this.#name = name;
    this.#logger = logger;
  }

  /**
   * A usable connection was lost: an outage starts, with this warning (a link that keeps
   * dropping must show at warn level even when every reconnect succeeds at once).
   */
  lost(message: string): void {
    this.#outage = { since: Date.now(), failed: 0, cause: 'lost' };
    this.#logger.warn(`${this.#name}: ${message}`);
  }

  /**
   * An attempt failed because of `cause` (a stable key such as `ECONNREFUSED` or `HTTP 401`):
   * `message` is logged at `level` when it starts an outage or its cause differs from the last
   * one, else at debug. Does not count the attempt (see `attemptEnded`).
   */
  failed(cause: string, level: 'warn' | 'error', message: string): void {
    const outage = this.#outage;
    if (outage && outage.cause === cause) {
      this.#logger.debug(`${this.#name}: ${message}`);
      return;
    }
    if (outage) outage.cause = cause;
    else this.#outage = { since: Date.now(), failed: 0, cause };
    this.#logger[level](`${this.#name}: ${message}`);
  }

  /** Counts one failed attempt, logged or not (an attempt can end with no error to report). */
  attemptEnded(): void {
    this.#outage ??= { since: Date.now(), failed: 0, cause: 'closed' };
    this.#outage.failed++;
  }

  /**
   * A connection opened: the outage, if any, ends. Returns what the "connected" line should
   * add, e.g. `after 12 failed attempts over 3 min 5 s`, or '' when there was no failed attempt.
   */
  opened(): string {
    const outage = this.#outage;
    this.#outage = undefined;
    if (!outage?.failed) return '';
    return `after ${outage.failed} failed attempt${outage.failed === 1 ? '' : 's'} over ${formatDuration(Date.now() - outage.since)}`;
  }
}

/** 850 ms, 12 s, 3 min 20 s, 2 h 5 min: for log lines. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}
