import type { Logger } from '../logger.js';
import type { NetworkPolicy } from '../policy/network-policy.js';
import type { Connection } from '../registry.js';
import { clip } from '../untrusted-json.js';
import { isStandardAction, STANDARD_ACTIONS, type ParamSpec } from './action-schema.js';
import { isSendAction } from '../policy/permissions.js';
import { PacerClosedError, PacerFullError, SendPacer, type PacingConfig } from '../policy/send-pacer.js';
import { ActionError, Params } from './params.js';
import { Retcode, type ActionRequest, type ActionResponse, type MessageFormat } from './types.js';

export interface ActionContext {
  readonly selfId: number;
  /** The caller's connection point format: actions that return messages use it. */
  readonly format: MessageFormat;
  /** The caller's network entry policy: every action (quick-operation steps too) is checked against it. */
  readonly policy?: NetworkPolicy | undefined;
  /** The caller's connection, for per-connection counts and log lines. */
  readonly conn?: Connection | undefined;
}

/** Returns the action's `data`, or throws ActionError for a failure with a retcode. */
export type ActionHandler = (params: Params, ctx: ActionContext) => unknown;
export type ActionTable = Readonly<Record<string, ActionHandler>>;

export function ok(data: unknown, echo?: unknown): ActionResponse {
  return withEcho({ status: 'ok', retcode: Retcode.OK, data: data ?? null, message: '', wording: '' }, echo);
}

export function failed(retcode: number, message: string, echo?: unknown): ActionResponse {
  return withEcho({ status: 'failed', retcode, data: null, message, wording: message }, echo);
}

function withEcho(res: ActionResponse, echo: unknown): ActionResponse {
  if (echo !== undefined) res.echo = echo;
  return res;
}

export type ForwardAction = (request: ActionRequest, ctx: ActionContext) => Promise<Omit<ActionResponse, 'echo'>>;

export interface RouterOptions {
  /** Answers whatever no table handles (the relay's upstream); unchecked, as is. */
  readonly forward?: ForwardAction;
  /** Interval between `_rate_limited` actions (the spec's default is 500 ms). */
  readonly rateLimitIntervalMs?: number;
  /** For "not supported by the … adapter" answers. */
  readonly adapterName?: string;
  /** Send pacing for the account (`accounts[].rate_limit`); none = send at once. */
  readonly pacing?: PacingConfig | undefined;
  /** Told of every call when it is answered: metrics and action log lines. */
  readonly observe?: ActionObserver | undefined;
}

/** How a call ended: `refused` is the entry's `actions:` policy saying no. */
export type ActionOutcome = 'ok' | 'async' | 'failed' | 'refused';
export type ActionObserver = (req: ActionRequest, res: ActionResponse, outcome: ActionOutcome, ms: number, ctx: ActionContext) => void;

/** Too many actions or sends waiting: the spec's 14xx mapping of HTTP 429. */
export const RETCODE_TOO_MANY = 1429;

const ASYNC_SUFFIX = '_async';
/**
 * Actions the spec says answer `async`: `set_restart` would cut the very connection that
 * asked, so it is accepted first and carried out afterwards.
 */
const ALWAYS_ASYNC: ReadonlySet<string> = new Set(['set_restart']);
const RATE_SUFFIX = '_rate_limited';

/** Checks params against the action's schema; throws ActionError (1400) naming the param. */
function validate(action: string, params: Params): void {
  if (!isStandardAction(action)) return;
  for (const [name, spec] of Object.entries(STANDARD_ACTIONS[action] as ParamSpec)) {
    const optional = spec.endsWith('?');
    if (optional && !params.has(name)) continue;
    switch (spec.replace('?', '')) {
      case 'int':
        params.int(name);
        break;
      case 'bool':
        params.bool(name, false);
        break;
      case 'string':
        params.string(name);
        break;
      case 'message':
        params.message(name);
        break;
      case 'object':
        params.object(name);
        break;
    }
  }
}

/**
 * Finds an action's handler and runs it. Tables are searched in order, so the first one
 * (core actions) can answer what every adapter shares. Params of standard actions are checked
 * first (1400 naming the param). `<action>_async` answers `async` at once and runs afterwards;
 * `<action>_rate_limited` answers `async` and queues the call, one per interval. Always
 * resolves: unknown actions, bad params and handler crashes become failed responses, never a
 * rejection or a hang. `close()` drops queued calls and clears the queue's timer.
 */
export class ActionRouter {
  readonly #tables: readonly ActionTable[];
  readonly #logger: Logger;
  readonly #interval: number;
  readonly #adapterName: string;
  readonly #forward: ForwardAction | undefined;
  readonly #observe: ActionObserver | undefined;
  #pacer: SendPacer | undefined;
  readonly #queue: Array<() => Promise<unknown>> = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(tables: readonly ActionTable[], logger: Logger, options: RouterOptions = {}) {
    this.#tables = tables;
    this.#logger = logger;
    this.#interval = options.rateLimitIntervalMs ?? 500;
    this.#adapterName = options.adapterName ?? 'platform';
    this.#forward = options.forward;
    this.#observe = options.observe;
    if (options.pacing) this.#pacer = new SendPacer(options.pacing);
  }

  /** Sends waiting for a pacing token (0 without pacing). */
  get sendQueue(): number {
    return this.#pacer?.depth ?? 0;
  }

  /** The pacing in force, for status and reload. */
  get pacing(): PacingConfig | undefined {
    return this.#pacer?.config;
  }

  /**
   * Live reload of `rate_limit`: a new rate keeps the queue in order; turning pacing off lets
   * every queued send go now.
   */
  setPacing(pacing: PacingConfig | undefined): void {
    if (pacing && this.#pacer) this.#pacer.configure(pacing);
    else if (pacing) this.#pacer = new SendPacer(pacing);
    else if (this.#pacer) {
      const old = this.#pacer;
      this.#pacer = undefined;
      old.configure({ messages_per_s: Number.MAX_SAFE_INTEGER, burst: Number.MAX_SAFE_INTEGER, max_queue: old.config.max_queue });
    }
  }

  /**
   * Shutdown, first step: queued sends are answered with a failure now, so their answers go
   * out before the close frames. Later sends are refused the same way. Idempotent.
   */
  closeSends(): void {
    this.#sendsClosed = true;
    this.#pacer?.close();
  }

  #sendsClosed = false;

  handler(action: string): ActionHandler | undefined {
    for (const table of this.#tables) {
      if (Object.hasOwn(table, action)) return table[action];
    }
    return undefined;
  }

  /**
   * Whether `call` would try `action` rather than answer 1404 at once: a handler, one of its
   * `_async`/`_rate_limited` forms, or any action when a forward hook passes unknown ones on
   * (the upstream then decides). It does not check params.
   */
  knows(action: string): boolean {
    if (this.#forward || this.handler(action)) return true;
    if (action.endsWith(ASYNC_SUFFIX)) return this.handler(action.slice(0, -ASYNC_SUFFIX.length)) !== undefined;
    if (action.endsWith(RATE_SUFFIX)) return this.handler(action.slice(0, -RATE_SUFFIX.length)) !== undefined;
    return false;
  }

  /** Calls waiting in the `_rate_limited` queue. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Answers one request. First the caller's entry policy (`ctx.policy`): a refused action
   * answers failed/1403 without running. Send-family actions then wait for the account's
   * pacing token (a full queue answers 1429 at once). Every answer is reported to `observe`.
   */
  async call(req: ActionRequest, ctx: ActionContext): Promise<ActionResponse> {
    const started = performance.now();
    const why = ctx.policy?.check(req);
    let res: ActionResponse;
    let outcome: ActionOutcome;
    if (why !== undefined) {
      res = ctx.policy!.refuse(req, why, ctx.conn);
      outcome = 'refused';
    } else {
      res = await this.#call(req, ctx);
      outcome = res.status;
    }
    if (this.#observe) {
      try {
        this.#observe(req, res, outcome, performance.now() - started, ctx);
      } catch (err) {
        this.#logger.error(`action observer failed: ${(err as Error).message}`);
      }
    }
    return res;
  }

  /** Waits for a pacing token when `action` sends a message; a failure answer when it may not. */
  async #paced(action: string, echo: unknown): Promise<ActionResponse | undefined> {
    if (this.#sendsClosed && isSendAction(action)) return failed(Retcode.INTERNAL, new PacerClosedError().message, echo);
    const pacer = this.#pacer;
    if (!pacer || !isSendAction(action)) return undefined;
    try {
      await pacer.acquire();
      return undefined;
    } catch (err) {
      if (err instanceof PacerFullError) return failed(RETCODE_TOO_MANY, err.message, echo);
      if (err instanceof PacerClosedError) return failed(Retcode.INTERNAL, err.message, echo);
      throw err;
    }
  }

  /** For `_async`/`_rate_limited` sends, answered before they run: refuse now when the queue is full. */
  #noRoom(action: string, echo: unknown): ActionResponse | undefined {
    if (!isSendAction(action)) return undefined;
    if (this.#sendsClosed) return failed(Retcode.INTERNAL, new PacerClosedError().message, echo);
    if (this.#pacer && !this.#pacer.hasRoom) return failed(RETCODE_TOO_MANY, new PacerFullError(this.#pacer.config.max_queue).message, echo);
    return undefined;
  }

  async #call(req: ActionRequest, ctx: ActionContext): Promise<ActionResponse> {
    if (this.#forward && !this.handler(req.action)) {
      const refused = this.#noRoom(req.action, req.echo) ?? (await this.#paced(req.action, req.echo));
      if (refused) return refused;
      return this.#forwarded(req, ctx);
    }
    let action = req.action;
    let mode: 'now' | 'async' | 'rate' = 'now';
    if (!this.handler(action)) {
      if (action.endsWith(ASYNC_SUFFIX) && this.handler(action.slice(0, -ASYNC_SUFFIX.length))) {
        action = action.slice(0, -ASYNC_SUFFIX.length);
        mode = 'async';
      } else if (action.endsWith(RATE_SUFFIX) && this.handler(action.slice(0, -RATE_SUFFIX.length))) {
        action = action.slice(0, -RATE_SUFFIX.length);
        mode = 'rate';
      }
    }
    const handler = this.handler(action);
    if (handler && mode === 'now' && ALWAYS_ASYNC.has(action)) mode = 'async';
    if (!handler) {
      const why = isStandardAction(action) ? `${action} is not supported by the ${this.#adapterName} adapter` : `unknown action: ${clip(action)}`;
      return failed(Retcode.NOT_FOUND, why, req.echo);
    }
    const params = new Params(req.params);
    try {
      validate(action, params);
    } catch (err) {
      if (err instanceof ActionError) return failed(err.retcode, err.message, req.echo);
      throw err;
    }
    if (mode === 'now') return (await this.#paced(action, req.echo)) ?? this.#run(action, handler, params, ctx, req.echo);
    const later = async () => {
      const res = (await this.#paced(action, undefined)) ?? (await this.#run(action, handler, params, ctx));
      if (res.status === 'failed') this.#logger.warn(`${clip(req.action)} failed afterwards (${res.retcode}): ${res.message}`);
    };
    if (this.#closed) return failed(Retcode.INTERNAL, 'shutting down', req.echo);
    const full = this.#noRoom(action, req.echo);
    if (full) return full;
    if (mode === 'async') setImmediate(() => void later());
    else this.#enqueue(later);
    return withEcho({ status: 'async', retcode: Retcode.ASYNC, data: null, message: '', wording: '' }, req.echo);
  }

  /** Drops queued `_rate_limited` calls and stops their timer. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.closeSends();
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#queue.length) this.#logger.warn(`dropped ${this.#queue.length} queued _rate_limited action(s) at shutdown`);
    this.#queue.length = 0;
  }

  #enqueue(job: () => Promise<unknown>): void {
    this.#queue.push(job);
    if (this.#timer) return;
    // The first call runs now; each later one an interval after the one before.
    void this.#queue.shift()!();
    this.#timer = setInterval(() => {
      const next = this.#queue.shift();
      if (next) void next();
      else {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    }, this.#interval);
  }

  async #forwarded(req: ActionRequest, ctx: ActionContext): Promise<ActionResponse> {
    try {
      return withEcho({ ...(await this.#forward!(req, ctx)) }, req.echo);
    } catch (err) {
      if (err instanceof ActionError) return failed(err.retcode, err.message, req.echo);
      this.#logger.error(`forwarding ${clip(req.action)} crashed: ${(err as Error).message}`);
      return failed(Retcode.INTERNAL, `internal error forwarding ${clip(req.action)}`, req.echo);
    }
  }

  async #run(action: string, handler: ActionHandler, params: Params, ctx: ActionContext, echo?: unknown): Promise<ActionResponse> {
    try {
      return ok(await handler(params, ctx), echo);
    } catch (err) {
      if (err instanceof ActionError) return failed(err.retcode, err.message, echo);
      this.#logger.error(`action ${action} crashed: ${(err as Error).message}`, { stack: (err as Error).stack });
      return failed(Retcode.INTERNAL, `internal error in ${action}`, echo);
    }
  }
}
