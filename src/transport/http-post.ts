import type { Account } from '../account.js';
import { OneBridgeError } from '../errors.js';
import type { HttpPostConfig, LimitsConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { EventEncoder } from '../onebot/encoder.js';
import { heartbeatEvent, lifecycleEvent } from '../onebot/events.js';
import { runQuickOperation } from '../onebot/quick-operation.js';
import type { OneBotEvent } from '../onebot/types.js';
import { USER_AGENT } from '../package-info.js';
import type { NetworkPolicy } from '../policy/network-policy.js';
import { depthMessage, parseUntrustedJson } from '../untrusted-json.js';
import type { Connection, ConnectionRegistry } from '../registry.js';
import { signBody } from '../kit/hmac.js';
import { Backoff } from './backoff.js';
import { HeldEvents } from './held-events.js';
import type { Transport } from './transport.js';

export interface HttpPostDeps {
  readonly account: Account;
  readonly registry: ConnectionRegistry;
  readonly encoder: EventEncoder;
  readonly logger: Logger;
  readonly limits: LimitsConfig;
  readonly policy?: NetworkPolicy | undefined;
}

/** `sha1=<hex HMAC-SHA1(secret, body)>`, over the exact bytes sent. */
export const signature = signBody;

/** A POST that may succeed if tried again (5xx, network); internal to the retry loop. */
class RetryableError extends OneBridgeError {
  constructor(message: string) {
    super('ONEBRIDGE_POST_RETRYABLE', message);
  }
}

/** Longest wait between two tries of one event, unless `initial_ms` itself is longer. */
export const MAX_RETRY_DELAY_MS = 60_000;

/**
 * Wait before retry `attempt` (0-based): `initialMs`, doubling, capped at MAX_RETRY_DELAY_MS
 * (or `initialMs` if longer) so that many retries never compute a wait Node's timers cannot hold.
 */
export function retryDelay(initialMs: number, attempt: number): number {
  return new Backoff({ initialMs, maxMs: Math.max(initialMs, MAX_RETRY_DELAY_MS), jitter: false }).ceilingAt(attempt);
}

/**
 * OneBot v11 HTTP POST (`type: http-post`): each event POSTed to `url`, one at a time and in
 * order, from a bounded queue (oldest dropped first, counted). Retries network errors and 5xx
 * with doubling delays; other answers are final. A JSON response body is a quick operation.
 * A slow or failing target delays only its own queue. Lifecycle `enable` goes first at start,
 * `disable` last at shutdown, within the grace period; heartbeats (off by default) go only into
 * an empty queue.
 */
export class HttpPost implements Transport {
  readonly key: string;
  readonly #config: HttpPostConfig;
  readonly #deps: HttpPostDeps;
  readonly #queue: HeldEvents;
  readonly #conn: Connection;
  /** Aborts the request in flight and any retry wait: the hard step. */
  readonly #hard = new AbortController();
  #running: Promise<void> | undefined;
  #stopping = false;
  #heartbeat: NodeJS.Timeout | undefined;
  #drainWaiters = new Set<() => void>();

  constructor(config: HttpPostConfig, key: string, deps: HttpPostDeps) {
    this.key = key;
    this.#config = config;
    this.#deps = deps;
    this.#queue = new HeldEvents({ maxEvents: config.buffer.max_events, maxAgeMs: 0 });
    const target = new URL(config.url);
    this.#conn = deps.registry.add({ transport: 'http-post', role: 'event', endpoint: config.url, remote: target.host, selfId: deps.account.selfId, state: 'connecting' });
    this.#conn.link = { reconnects: 0, held: () => this.#queue.size, dropped: 0 };
  }

  async start(): Promise<void> {
    this.#enqueue(lifecycleEvent(this.#deps.account.selfId, 'enable'));
    this.#deps.account.on('event', this.#onEvent);
    const interval = this.#config.heartbeat_interval_ms;
    if (interval > 0) {
      // Only into an empty queue: while the target is slow or down, heartbeats would just
      // push real events out of the bounded queue, and the queued ones show we are alive.
      this.#heartbeat = setInterval(() => {
        if (this.#queue.size === 0) this.#enqueue(heartbeatEvent(this.#deps.account.selfId, this.#deps.account.status(), interval));
      }, interval);
    }
    this.#deps.logger.info(`HTTP POST of account ${this.#deps.account.selfId} events to ${this.#config.url}${this.#config.secret ? ' (signed)' : ''}`);
  }

  stopAccepting(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    this.#deps.account.off('event', this.#onEvent);
    this.#enqueue(lifecycleEvent(this.#deps.account.selfId, 'disable'));
  }

  abortPending(): number {
    return 0;
  }

  closeConnections(): void {}

  /** Resolves once the queue (disable included) is delivered, or false at the deadline. */
  whenDrained(signal: AbortSignal): Promise<boolean> {
    if (!this.#running && this.#queue.size === 0) return Promise.resolve(this.#finish());
    return new Promise((resolve) => {
      const check = () => {
        const done = !this.#running && this.#queue.size === 0;
        if (!done && !signal.aborted) return;
        this.#drainWaiters.delete(check);
        signal.removeEventListener('abort', check);
        resolve(done ? this.#finish() : false);
      };
      this.#drainWaiters.add(check);
      signal.addEventListener('abort', check, { once: true });
    });
  }

  terminate(): number {
    const left = this.#queue.size + (this.#running ? 1 : 0);
    this.#hard.abort();
    this.#queue.drain();
    if (left) this.#deps.logger.warn(`${this.key}: ${left} event(s) not delivered to ${this.#config.url} before the grace deadline`);
    this.#finish();
    // The summary's "terminated": this target's delivery was cut at the deadline.
    return left ? 1 : 0;
  }

  #finish(): true {
    this.#deps.registry.remove(this.#conn, 'stopped');
    return true;
  }

  readonly #onEvent = (event: OneBotEvent): void => {
    if (this.#deps.policy && !this.#deps.policy.admit(event, this.#config.message_format)) return;
    this.#enqueue(event);
  };

  #enqueue(event: OneBotEvent): void {
    if (this.#hard.signal.aborted) return;
    const before = this.#queue.dropped;
    this.#queue.push(event);
    const dropped = this.#queue.dropped - before;
    if (dropped) {
      this.#conn.link!.dropped += dropped;
      if (this.#deps.policy) this.#deps.policy.counts.dropped += dropped;
      const total = this.#conn.link!.dropped;
      if (total === 1 || total % 100 === 0) this.#deps.logger.warn(`${this.key}: queue for ${this.#config.url} is full (buffer.max_events ${this.#config.buffer.max_events}); ${total} event(s) dropped so far`);
    }
    this.#kick();
  }

  /** Starts the delivery loop unless it runs; it runs until the queue is empty. */
  #kick(): void {
    if (this.#running || this.#hard.signal.aborted) return;
    this.#running = this.#pump().finally(() => {
      this.#running = undefined;
      if (this.#queue.size > 0) this.#kick();
      for (const w of [...this.#drainWaiters]) w();
    });
  }

  async #pump(): Promise<void> {
    for (let event = this.#queue.shift(); event && !this.#hard.signal.aborted; event = this.#queue.shift()) await this.#deliver(event);
  }

  async #deliver(event: OneBotEvent): Promise<void> {
    const body = this.#deps.encoder.encode(event, this.#config.message_format);
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'X-Self-ID': String(this.#deps.account.selfId), 'User-Agent': USER_AGENT };
    if (this.#config.secret) headers['X-Signature'] = signature(this.#config.secret, body);
    const { max, initial_ms } = this.#config.retries;
    for (let attempt = 0; ; attempt++) {
      try {
        const reply = await this.#post(body, headers);
        this.#conn.state = 'open';
        if (this.#deps.policy) this.#deps.policy.counts.delivered++;
        if (reply !== undefined) await this.#quickOperation(event, reply);
        return;
      } catch (err) {
        if (this.#hard.signal.aborted) return;
        const retry = err instanceof RetryableError && attempt < max;
        this.#conn.state = 'connecting';
        if (!retry) {
          // Counted with the events dropped from a full queue: what never reached the target.
          this.#conn.link!.dropped++;
          if (this.#deps.policy) this.#deps.policy.counts.dropped++;
          this.#deps.logger.warn(`${this.key}: giving up on a ${String(event.post_type)} event for ${this.#config.url}: ${(err as Error).message} (${this.#conn.link!.dropped} event(s) dropped so far)`);
          return;
        }
        const delay = retryDelay(initial_ms, attempt);
        this.#conn.link!.reconnects++;
        this.#deps.logger.info(`${this.key}: ${(err as Error).message}; retry ${attempt + 1}/${max} in ${delay} ms`);
        await this.#sleep(delay);
      }
    }
  }

  /** One POST; the JSON reply body, undefined for none; throws RetryableError for 5xx/network. */
  async #post(body: Buffer, headers: Record<string, string>): Promise<unknown> {
    // One controller per request, cut by the timeout or by the hard step.
    const request = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      request.abort();
    }, this.#config.timeout_ms);
    const cut = () => request.abort();
    this.#hard.signal.addEventListener('abort', cut, { once: true });
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.#config.url, { method: 'POST', headers, body, signal: request.signal });
      text = await res.text();
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      throw new RetryableError(timedOut ? `no answer within ${this.#config.timeout_ms} ms` : `cannot reach it (${e.cause?.code ?? e.message})`);
    } finally {
      clearTimeout(timer);
      this.#hard.signal.removeEventListener('abort', cut);
    }
    this.#conn.countOut(body.length);
    if (res.status >= 500) throw new RetryableError(`it answered ${res.status}`);
    if (res.status >= 400) throw new Error(`it answered ${res.status}; not retried`);
    if (res.status === 204 || text.trim() === '') return undefined;
    this.#conn.countIn(Buffer.byteLength(text));
    const max = this.#deps.limits.max_json_depth;
    const parsed = parseUntrustedJson(text, max);
    if (parsed.ok) return parsed.value;
    this.#deps.logger.warn(`${this.key}: reply from ${this.#config.url} ignored: ${parsed.reason === 'depth' ? depthMessage('it', max) : 'it is not JSON'}`);
    return undefined;
  }

  async #quickOperation(event: OneBotEvent, reply: unknown): Promise<void> {
    if (typeof reply !== 'object' || reply === null || Array.isArray(reply)) return;
    const { account } = this.#deps;
    try {
      const { ran } = await runQuickOperation(account.router, { selfId: account.selfId, format: this.#config.message_format, policy: this.#deps.policy, conn: this.#conn }, event, reply as Record<string, unknown>);
      for (const r of ran) if (r.retcode !== 0) this.#deps.logger.warn(`${this.key}: quick operation ${r.action} failed (${r.retcode}): ${r.message}`);
    } catch (err) {
      this.#deps.logger.warn(`${this.key}: quick operation failed: ${(err as Error).message}`);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#hard.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#hard.signal.addEventListener('abort', done, { once: true });
    });
  }
}
