import type { TrackedLink } from '../adapter.js';
import type { Logger } from '../logger.js';
import { Backoff } from '../transport/backoff.js';
import { formatDuration, OutageLog } from '../transport/outage-log.js';
import { withDeadline } from './deadline.js';

export type LinkState = 'idle' | 'connecting' | 'open' | 'waiting' | 'stopped';

/** What `connect` is given for one attempt. */
export interface LinkAttempt {
  /** Aborted when the link stops: give up the attempt (reject) and close what it opened. */
  readonly signal: AbortSignal;
  /** 0 for the first attempt, then counting up; reset never. */
  readonly attempt: number;
  /**
   * Call when this attempt's connection ends (socket `close`), with the error if there was
   * one. Safe to call more than once and before `connect` settles.
   */
  lost(error?: Error): void;
}

/** How to retry after a failed attempt or a lost connection. */
export type RetryAdvice = 'retry' | 'slow';

export interface ReconnectingLinkOptions<T> {
  /** For logs: `irc`, `upstream`. */
  readonly name: string;
  /** For logs: where it connects, e.g. `ircs://irc.libera.chat:6697`. */
  readonly target: string;
  readonly logger: Logger;
  readonly reconnect: { readonly initialMs: number; readonly maxMs: number };
  /** A connection that stayed open this long starts the backoff over. Default 10 s. */
  readonly stableMs?: number;
  /** In [0, 1); tests pin the jitter. */
  readonly random?: () => number;
  /** Kept in step: state, reconnects; closed when the link stops. */
  readonly track?: TrackedLink;
  /**
   * Opens one connection and resolves once it is usable (registered, authenticated). Reject
   * for a failed attempt. Wire the connection's end to `attempt.lost()`, and attach its data
   * handlers here, before resolving: data that arrives with the handshake is emitted before
   * `onOpen` (a promise callback later) could attach them.
   */
  connect(attempt: LinkAttempt): Promise<T>;
  /** A connection is usable. */
  onOpen?(conn: T): void;
  /** The usable connection ended (not called for failed attempts). */
  onLost?(conn: T, error: Error | undefined): void;
  /**
   * Why an attempt failed or a connection ended decides the next wait: `slow` waits the
   * longest backoff (a refused password will not pass sooner). Default `retry`.
   */
  advise?(error: Error | undefined): RetryAdvice;
  /** Optional graceful goodbye (IRC QUIT, `</stream:stream>`); `stop` bounds it. */
  close?(conn: T): Promise<void> | void;
  /** Cuts the connection now (`socket.destroy()`). Must be safe to call twice. */
  destroy(conn: T): void;
}

/**
 * A connection that onebridge keeps open (a platform, a bot framework it dials): one attempt
 * at a time, exponential backoff with full jitter between them (`Backoff`), the longest wait
 * when `advise` says trying sooner cannot help. The connection's code is all in callbacks; the
 * link owns the state machine, the one timer and the outage log lines.
 *
 * Stopping comes in steps, each synchronous and idempotent, for an owner that runs shutdown
 * phases itself (the reverse-WS transport): `stopRetrying`, `abortAttempt`, `goodbye`, `cut`.
 * `stop(graceMs)` runs them all, the goodbye bounded by its grace.
 *
 * Invariants: at most one connection exists; after `stopRetrying()` no attempt starts and no
 * timer is left; `stop()` resolves within its grace (plus the callbacks' synchronous work)
 * even when the peer never answers. It does not read or write the connection.
 */
export class ReconnectingLink<T> {
  readonly #o: ReconnectingLinkOptions<T>;
  readonly #backoff: Backoff;
  #state: LinkState = 'idle';
  /** The usable connection; after a stop, the one still closing until it ends or is cut. */
  #conn: T | undefined;
  /** The latest attempt: a late report from an older one is ignored. */
  #attempt: AbortController | undefined;
  /** The attempt whose `connect` has not settled yet. */
  #pending: AbortController | undefined;
  #attempts = 0;
  #reconnects = 0;
  #timer: NodeJS.Timeout | undefined;
  #openedAt = 0;
  #goodbye: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  readonly #openWaiters = new Set<(conn: T) => void>();
  readonly #outages: OutageLog;

  constructor(options: ReconnectingLinkOptions<T>) {
    this.#o = options;
    this.#backoff = new Backoff({
      initialMs: options.reconnect.initialMs,
      maxMs: options.reconnect.maxMs,
      random: options.random,
    });
    this.#outages = new OutageLog(options.name, options.logger);
  }

  get state(): LinkState {
    return this.#state;
  }

  /** The usable connection, if the link is open (not once it stops). */
  get current(): T | undefined {
    return this.#state === 'open' ? this.#conn : undefined;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  /** Starts the first attempt. Later calls do nothing. */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#connect();
  }

  /**
   * Resolves with the connection once the link is open (at once if it is), or rejects with
   * DeadlineError after `ms` or when `signal` aborts. For `identify`, or actions that wait.
   */
  whenOpen(ms: number, signal?: AbortSignal): Promise<T> {
    const now = this.current;
    if (now !== undefined) return Promise.resolve(now);
    let wake: (conn: T) => void = () => {};
    const open = new Promise<T>((resolve) => this.#openWaiters.add((wake = resolve)));
    return withDeadline(open, ms, signal, { what: `${this.#o.name} connection to ${this.#o.target}` }).finally(() =>
      this.#openWaiters.delete(wake),
    );
  }

  /**
   * No more attempts, every step of `stop()` in order: aborts an attempt in progress, says
   * goodbye on an open connection (`close`) for at most `graceMs`, then `destroy`s it and
   * closes the `track`. Every call returns the same promise.
   */
  stop(graceMs = 1000): Promise<void> {
    this.#stopping ??= this.#stop(graceMs);
    return this.#stopping;
  }

  async #stop(graceMs: number): Promise<void> {
    this.abortAttempt();
    const said = this.goodbye();
    if (this.#conn !== undefined) {
      try {
        await withDeadline(said, graceMs, undefined, { what: `${this.#o.name} goodbye` });
      } catch (err) {
        this.#o.logger.debug(`${this.#o.name}: ${(err as Error).message}; cutting the connection`);
      }
    }
    this.cut();
  }

  /**
   * Stop, step 1: no attempt starts any more; a pending retry is cleared. An attempt in
   * progress and an open connection are left to the next steps; with neither, the `track`
   * is closed now.
   */
  stopRetrying(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#forgetIfDone();
  }

  /**
   * Stop, step 2: aborts the attempt in progress (a connection it still yields is destroyed),
   * and the open connection's `signal` too (`connect` decides whether that cuts it). Returns
   * whether an attempt was in progress and not aborted before.
   */
  abortAttempt(): boolean {
    this.stopRetrying();
    const attempt = this.#attempt;
    if (!attempt || attempt.signal.aborted) return false;
    attempt.abort();
    return this.#pending === attempt;
  }

  /**
   * Stop, step 3: the graceful goodbye (`close`) on the open connection. Resolves when it has
   * run (at once without a connection or `close`); unbounded: the caller bounds the wait and
   * then `cut`s. `close` runs once; later calls return the same promise.
   */
  goodbye(): Promise<void> {
    this.stopRetrying();
    const conn = this.#conn;
    if (this.#goodbye || conn === undefined) return this.#goodbye ?? Promise.resolve();
    if (this.#o.track) this.#o.track.state = 'closing';
    // Called now, not in a promise callback: an owner's shutdown phase sends its close frames at once.
    let said: Promise<void> | void;
    try {
      said = this.#o.close?.(conn);
    } catch (err) {
      said = Promise.reject(err as Error);
    }
    this.#goodbye = Promise.resolve(said).catch((err: unknown) => {
      this.#o.logger.debug(`${this.#o.name}: goodbye failed: ${(err as Error).message}`);
    });
    return this.#goodbye;
  }

  /**
   * Stop, the hard step: aborts an attempt in progress, `destroy`s the connection now and
   * closes the `track`. Returns whether there was a connection to cut.
   */
  cut(): boolean {
    this.abortAttempt();
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn !== undefined) this.#destroy(conn);
    this.#o.track?.close('stopped');
    return conn !== undefined;
  }

  /** Once stopped with nothing left in flight, the link leaves the registry. */
  #forgetIfDone(): void {
    if (this.#state === 'stopped' && this.#conn === undefined && this.#pending === undefined)
      this.#o.track?.close('stopped');
  }

  #destroy(conn: T): void {
    try {
      this.#o.destroy(conn);
    } catch (err) {
      this.#o.logger.warn(`${this.#o.name}: destroy failed: ${(err as Error).message}`);
    }
  }

  #connect(): void {
    const attempt = new AbortController();
    this.#attempt = attempt;
    this.#pending = attempt;
    this.#state = 'connecting';
    if (this.#o.track) this.#o.track.state = 'connecting';
    let settled = false;
    let conn: T | undefined;
    let lostEarly: { error: Error | undefined } | undefined;
    let ended = false;
    const lost = (error?: Error) => {
      if (ended) return;
      if (!settled) {
        lostEarly ??= { error };
        return;
      }
      ended = true;
      if (conn !== undefined) this.#lost(attempt, conn, error);
    };
    const settle = () => {
      settled = true;
      if (this.#pending === attempt) this.#pending = undefined;
    };
    const number = this.#attempts++;
    Promise.resolve()
      .then(() => this.#o.connect({ signal: attempt.signal, attempt: number, lost }))
      .then(
        (c) => {
          settle();
          conn = c;
          if (this.#state === 'stopped' || attempt.signal.aborted) {
            // Stopped while the attempt finished: not ours to keep.
            ended = true;
            this.#destroy(c);
            this.#forgetIfDone();
            return;
          }
          if (lostEarly) {
            ended = true;
            this.#destroy(c);
            this.#failed(attempt, lostEarly.error ?? new Error('connection closed during setup'));
            return;
          }
          this.#opened(c);
        },
        (err: unknown) => {
          settle();
          ended = true;
          this.#failed(attempt, err instanceof Error ? err : new Error(String(err)));
        },
      );
  }

  #opened(conn: T): void {
    this.#state = 'open';
    this.#conn = conn;
    this.#openedAt = Date.now();
    if (this.#o.track) this.#o.track.state = 'open';
    const after = this.#outages.opened() || (this.#reconnects ? 'reconnected' : '');
    this.#o.logger.info(`${this.#o.name}: connected to ${this.#o.target}${after ? ` (${after})` : ''}`);
    this.#call(() => this.#o.onOpen?.(conn));
    for (const wake of [...this.#openWaiters]) wake(conn);
  }

  #lost(attempt: AbortController, conn: T, error: Error | undefined): void {
    if (this.#attempt !== attempt || this.#conn !== conn) return;
    this.#conn = undefined;
    this.#destroy(conn);
    if (this.#state === 'stopped') {
      // It ended during the goodbye: nothing to reconnect, and nothing left to cut.
      this.#forgetIfDone();
      return;
    }
    if (Date.now() - this.#openedAt >= (this.#o.stableMs ?? 10_000)) this.#backoff.reset();
    this.#call(() => this.#o.onLost?.(conn, error));
    this.#outages.lost(`disconnected from ${this.#o.target}${error ? ` (${error.message})` : ''}; reconnecting`);
    this.#retry(error);
  }

  #failed(attempt: AbortController, error: Error): void {
    if (this.#attempt !== attempt) return;
    if (this.#state === 'stopped') return this.#forgetIfDone();
    const slow = this.#advise(error) === 'slow';
    const retrying = slow
      ? `retrying every ${formatDuration(this.#backoff.max())}`
      : `retrying with backoff (up to ${formatDuration(this.#backoff.max())}), quietly until it connects or the cause changes`;
    this.#outages.failed(
      (error as { code?: string }).code ?? error.message,
      slow ? 'error' : 'warn',
      `cannot connect to ${this.#o.target}: ${error.message}; ${retrying}`,
    );
    this.#outages.attemptEnded();
    this.#retry(error, slow);
  }

  #retry(error: Error | undefined, slow = this.#advise(error) === 'slow'): void {
    const delay = slow ? this.#backoff.max() : this.#backoff.next();
    this.#state = 'waiting';
    if (this.#o.track) this.#o.track.state = 'connecting';
    this.#reconnects++;
    this.#o.track?.reconnected();
    this.#o.logger.debug(`${this.#o.name}: retrying in ${delay} ms`);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#state === 'waiting') this.#connect();
    }, delay);
  }

  #advise(error: Error | undefined): RetryAdvice {
    try {
      return this.#o.advise?.(error) ?? 'retry';
    } catch {
      return 'retry';
    }
  }

  /** A throwing callback is the owner's bug; it must not stop the link from reconnecting. */
  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#o.logger.error(`${this.#o.name}: callback failed: ${(err as Error).stack ?? (err as Error).message}`);
    }
  }
}
