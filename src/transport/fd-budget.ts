import { readdirSync, readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Logger } from '../logger.js';

/** Descriptors kept free of client sockets: the admin endpoint, upstream links, webhooks, logs. */
export const FD_RESERVE = 64;
/** At most one "out of descriptors" line per this many ms. */
const WARN_EVERY_MS = 10_000;

/** The soft limit on open files (Linux, Android: /proc/self/limits); undefined where unknown. */
export function fdLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  try {
    const m = /^Max open files\s+(\S+)/m.exec(read());
    if (!m) return undefined;
    return m[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** Descriptors open in this process now (Linux, Android); undefined where unknown. */
export function fdsOpen(): number | undefined {
  try {
    // The listing itself holds one while it runs.
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return undefined;
  }
}

/** The fix, for every message about the limit. */
export function fdAdvice(limit: number | undefined): string {
  return `raise the open-file limit (ulimit -n ${Math.max(4096, (limit ?? 1024) * 4)}; LimitNOFILE= under systemd) or lower max_connections`;
}

/**
 * The process's file descriptors shared by the client-facing listeners (forward WS, HTTP API):
 * a socket they accept is admitted only while client sockets leave FD_RESERVE descriptors
 * free, so the admin endpoint (not gated) and onebridge's own links keep working at the limit
 * and `onebridge status` can show the problem. A refused socket gets 503 and is closed; one
 * warning line per 10 s names EMFILE, the limit and the fix. Where the limit cannot be read it
 * admits everything. Accept errors from the listeners themselves (real EMFILE) go through
 * `acceptFailed`. One per process: descriptors are a process-wide resource.
 */
export class FdBudget {
  readonly #limit: () => number | undefined;
  readonly #now: () => number;
  #cap: number | undefined;
  #open = 0;
  #lastWarn = Number.NEGATIVE_INFINITY;
  #refused = 0;

  constructor(options: { limit?: () => number | undefined; now?: () => number } = {}) {
    this.#limit = options.limit ?? (() => fdLimit());
    this.#now = options.now ?? Date.now;
  }

  /** Client sockets admitted and still open. */
  get open(): number {
    return this.#open;
  }

  /** How many client sockets may be open at once (Infinity when the limit is unknown). */
  get cap(): number {
    if (this.#cap === undefined) {
      const limit = this.#limit();
      // Measured once, at the first socket: what the process itself holds then stays held.
      this.#cap = limit === undefined || !Number.isFinite(limit) ? Number.POSITIVE_INFINITY : Math.max(1, limit - (fdsOpen() ?? 0) - FD_RESERVE);
    }
    return this.#cap;
  }

  /** True: tracked until it closes. False: refused (503, closed) because the budget is spent. */
  admit(socket: Socket, logger: Logger): boolean {
    if (this.#open >= this.cap) {
      this.#refused++;
      this.#warn(logger, `${this.#open} client sockets open, ${FD_RESERVE} descriptors kept for admin and links; refused new connections`);
      socket.on('error', () => {});
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\nContent-Length: 0\r\n\r\n');
      socket.destroySoon();
      return false;
    }
    this.#open++;
    socket.once('close', () => this.#open--);
    return true;
  }

  /** A listener's accept failed (EMFILE, ENFILE …): logged, rate-limited; the listener keeps listening. */
  acceptFailed(err: NodeJS.ErrnoException, logger: Logger, key: string): void {
    if (err.code === 'EMFILE' || err.code === 'ENFILE') this.#warn(logger, `${key} could not accept a connection (${err.code})`);
    else logger.warn(`${key}: accept failed: ${err.code ?? err.message}`);
  }

  #warn(logger: Logger, what: string): void {
    const now = this.#now();
    if (now - this.#lastWarn < WARN_EVERY_MS) return;
    this.#lastWarn = now;
    const limit = fdLimit();
    logger.warn(`out of file descriptors (EMFILE): open-file limit ${limit ?? 'unknown'}, ${fdsOpen() ?? '?'} open; ${what} (${this.#refused} so far); ${fdAdvice(limit)}`);
  }
}

/** The process's budget, shared by every listener (as `sharedEncoder` is). */
export const fdBudget = new FdBudget();
