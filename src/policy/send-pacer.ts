import { OneBridgeError } from '../errors.js';
/** `accounts[].rate_limit`: how fast one account may send messages. */
export interface PacingConfig {
  /** Sustained rate: tokens added per second. */
  readonly messages_per_s: number;
  /** Tokens the bucket holds: sends allowed back to back after a quiet spell. */
  readonly burst: number;
  /** Sends that may wait for a token; one more is refused at once (1429). */
  readonly max_queue: number;
}

/** A send refused without waiting: the queue is full. */
export class PacerFullError extends OneBridgeError {
  constructor(readonly maxQueue: number) {
    super('ONEBRIDGE_SEND_QUEUE_FULL', `send queue full (rate_limit.max_queue ${maxQueue}); slow down`);
  }
}

/** A queued send that will never go: the pacer was closed (shutdown). */
export class PacerClosedError extends OneBridgeError {
  constructor() {
    super('ONEBRIDGE_SEND_QUEUE_CLOSED', 'shutting down before this message could be sent (rate_limit queue)');
  }
}

interface Waiter {
  resolve(): void;
  reject(err: Error): void;
}

/**
 * Token bucket for one account's sends. `acquire()` resolves when the caller may send: at once
 * while tokens last, else in arrival order as tokens come back; a full queue rejects at once.
 * One kept timer, armed only while someone waits. `configure()` changes the rate live and keeps
 * the queue; `close()` rejects every waiter and is idempotent.
 *
 * It does not send anything itself, and does not time out a waiter: `max_queue / rate` bounds the wait.
 */
export class SendPacer {
  #config: PacingConfig;
  #tokens: number;
  #last: number;
  readonly #queue: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #now: () => number;

  constructor(config: PacingConfig, now: () => number = () => performance.now()) {
    this.#config = config;
    this.#now = now;
    this.#tokens = config.burst;
    this.#last = now();
  }

  get config(): PacingConfig {
    return this.#config;
  }

  /** Sends waiting for a token. */
  get depth(): number {
    return this.#queue.length;
  }

  /** Whether one more send would be accepted (sent now or queued). */
  get hasRoom(): boolean {
    if (this.#closed) return false;
    if (this.#queue.length === 0) {
      this.#refill();
      if (this.#tokens >= 1) return true;
    }
    return this.#queue.length < this.#config.max_queue;
  }

  acquire(): Promise<void> {
    if (this.#closed) return Promise.reject(new PacerClosedError());
    this.#refill();
    if (this.#queue.length === 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      return Promise.resolve();
    }
    if (this.#queue.length >= this.#config.max_queue) return Promise.reject(new PacerFullError(this.#config.max_queue));
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ resolve, reject });
      this.#arm();
    });
  }

  /** New rate, burst and queue bound; queued sends stay queued, in order. */
  configure(config: PacingConfig): void {
    this.#refill();
    this.#config = config;
    this.#tokens = Math.min(this.#tokens, config.burst);
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pump();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const err = new PacerClosedError();
    for (const w of this.#queue.splice(0)) w.reject(err);
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#config.burst, this.#tokens + ((now - this.#last) / 1000) * this.#config.messages_per_s);
    this.#last = now;
  }

  #pump(): void {
    this.#refill();
    while (this.#queue.length > 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      this.#queue.shift()!.resolve();
    }
    this.#arm();
  }

  #arm(): void {
    if (this.#timer || this.#queue.length === 0 || this.#closed) return;
    const wait = Math.max(1, Math.ceil(((1 - this.#tokens) / this.#config.messages_per_s) * 1000));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, wait);
  }
}
