import { Account } from './account.js';
import type { Adapter, AdapterContext, AnyAdapterDefinition, TrackedLink, TrackLinkOptions } from './adapter.js';
import { AdminServer } from './admin/server.js';
import type { Config } from './config/schema.js';
import { OneBridgeError, StartupError } from './errors.js';
import { loggerFactory, type Logger } from './logger.js';
import { coreActions } from './onebot/core-actions.js';
import { sharedEncoder } from './onebot/encoder.js';
import { ActionRouter } from './onebot/router.js';
import type { OneBotEvent } from './onebot/types.js';
import { ConnectionRegistry, type Connection } from './registry.js';
import { createTransport } from './transport/index.js';
import type { Transport } from './transport/transport.js';

/** How long closed sockets get to run their close handlers after `terminate()`. */
const AFTER_TERMINATE_MS = 250;
/** Upper bound for one adapter's `stop()`; a hung platform never holds the exit. */
const ADAPTER_STOP_MS = 1000;
/** Events an adapter may emit before the transports are up; past this the oldest go (logged). */
const EARLY_EVENTS_MAX = 10_000;

export interface AppOptions {
  /** The adapters accounts may name (`accounts[].adapter.type`); the config was built from them. */
  readonly adapters: readonly AnyAdapterDefinition[];
  /**
   * Where every component logs (a child per component). Default: onebridge's own winston
   * logger on stderr, configured with `configureLogging`.
   */
  readonly logger?: Logger;
}

export interface ShutdownSummary {
  /** Connections open when the close frames went out. */
  readonly connections: number;
  /** Of those, how many had to be cut at the grace deadline. */
  readonly terminated: number;
  /** Sockets destroyed while still in handshake or auth. */
  readonly aborted: number;
  readonly elapsedMs: number;
}

type State = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The composition root: builds accounts, adapters and transports from a validated config,
 * and is the only place that orders start and stop. Start: adapters (config order), then
 * transports, then admin. Stop is the reverse, in the phases `Transport` documents, with one
 * grace deadline for all clients and a hard step after it.
 *
 * It does not install signal handlers or exit the process: the CLI does that.
 */
export class App {
  readonly config: Config;
  readonly registry: ConnectionRegistry;
  readonly accounts = new Map<number, Account>();
  readonly transports: Transport[] = [];
  admin: AdminServer | undefined;
  readonly #logger: Logger;
  readonly #log: (component: string) => Logger;
  readonly #started: Array<{ name: string; adapter: Adapter; links: Set<Connection> }> = [];
  readonly #adapters: ReadonlyMap<string, AnyAdapterDefinition>;
  /** Per adapter type: the state its accounts share (`definition.shared`), built on first use. */
  readonly #shared = new Map<string, unknown>();
  /** Events adapters emitted before the transports were up, per account, in order. */
  readonly #early: Array<{ selfId: () => number; event: OneBotEvent }> = [];
  #earlyDropped = 0;
  readonly #lifetime = new AbortController();
  #state: State = 'idle';
  #stopping: Promise<ShutdownSummary> | undefined;

  constructor(config: Config, options: AppOptions) {
    this.config = config;
    this.#adapters = new Map(options.adapters.map((a) => [a.type, a]));
    this.#log = loggerFactory(options.logger);
    this.#logger = this.#log('app');
    this.registry = new ConnectionRegistry(this.#log('registry'));
  }

  get state(): State {
    return this.#state;
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new OneBridgeError('ONEBRIDGE_APP_STATE', `App.start() called in state ${this.#state}; an App starts once`);
    this.#state = 'starting';
    for (const [i, accountConfig] of this.config.accounts.entries()) {
      // 0 until known: a relay account without self_id learns it right after start.
      let selfId = accountConfig.self_id ?? 0;
      const logger = this.#log(`${accountConfig.adapter.type}:${accountConfig.self_id ?? `accounts[${i}]`}`);
      let account: Account | undefined;
      const definition = this.#adapters.get(accountConfig.adapter.type);
      if (!definition) throw new StartupError('ONEBRIDGE_ADAPTER_UNKNOWN', `no adapter "${accountConfig.adapter.type}" was given to the app`, `accounts[${i}].adapter.type`);
      const links = new Set<Connection>();
      const ctx: AdapterContext<unknown> = {
        get selfId() {
          return selfId;
        },
        logger,
        signal: this.#lifetime.signal,
        emit: (event) => {
          if (account && this.#state === 'running') account.emit('event', event);
          else this.#hold(() => selfId, event);
        },
        trackLink: (options) => this.#trackLink(options, () => selfId, links),
        shared: this.#sharedFor(definition),
        limits: this.config.limits,
      };
      const adapter = await definition.create(accountConfig.adapter, ctx);
      await adapter.start(this.#lifetime.signal);
      this.#started.push({ name: `accounts[${i}]`, adapter, links });
      if (selfId === 0) {
        if (!adapter.identify) throw new StartupError('ONEBRIDGE_SELF_ID_UNKNOWN', `missing, and the ${accountConfig.adapter.type} adapter cannot learn it; set the bot account id`, `accounts[${i}].self_id`);
        try {
          selfId = await adapter.identify(this.#lifetime.signal);
        } catch (err) {
          throw new StartupError('ONEBRIDGE_SELF_ID_UNKNOWN', `could not learn it from upstream (${(err as Error).message}); set it, or start the upstream first`, `accounts[${i}].self_id`, { cause: err });
        }
        this.#logger.info(`accounts[${i}]: learned self_id ${selfId} from upstream`);
        for (const link of links) link.selfId = selfId;
      }
      const router: ActionRouter = new ActionRouter([coreActions(() => adapter.status(), () => router), adapter.actions], logger, {
        rateLimitIntervalMs: accountConfig.rate_limit_interval_ms,
        adapterName: accountConfig.adapter.type,
        ...(adapter.forward ? { forward: adapter.forward } : {}),
      });
      account = new Account(selfId, adapter, router);
      this.accounts.set(selfId, account);
      if (this.#stopRequested()) return;
    }
    const firstAccount = this.accounts.values().next().value as Account;
    for (const [i, entry] of this.config.network.entries()) {
      const account = entry.self_id === undefined ? firstAccount : this.accounts.get(entry.self_id)!;
      const key = `network[${i}]`;
      const transport = createTransport(entry, key, { account, registry: this.registry, encoder: sharedEncoder, logger: this.#log(`${entry.type}:${key}`), limits: this.config.limits });
      this.transports.push(transport);
      await transport.start();
      if (this.#stopRequested()) return;
    }
    if (this.config.admin) {
      const routes = this.#started.flatMap(({ adapter }) => adapter.adminRoutes ?? []);
      this.admin = new AdminServer(this.config.admin, {
        registry: this.registry,
        logger: this.#log('admin'),
        routes,
        limits: this.config.limits,
        describe: () => ({ accounts: [...this.accounts.values()].map((a) => ({ self_id: a.selfId, ...a.status() })) }),
      });
      this.transports.push(this.admin);
      await this.admin.start();
    }
    this.#state = 'running';
    this.#flushEarly();
    this.#logger.info(`ready: ${this.accounts.size} account(s), ${this.config.network.length} network entr${this.config.network.length === 1 ? 'y' : 'ies'}${this.admin ? `, admin ${this.admin.url}` : ''}`);
    for (const { adapter } of this.#started) adapter.ready?.();
  }

  #sharedFor(definition: AnyAdapterDefinition): unknown {
    if (!definition.shared) return undefined;
    if (!this.#shared.has(definition.type)) this.#shared.set(definition.type, definition.shared(this.config[definition.type]));
    return this.#shared.get(definition.type);
  }

  #hold(selfId: () => number, event: OneBotEvent): void {
    if (this.#early.length >= EARLY_EVENTS_MAX) {
      this.#early.shift();
      if (this.#earlyDropped++ === 0) this.#logger.warn(`more than ${EARLY_EVENTS_MAX} events before the transports were up; dropping the oldest`);
    }
    this.#early.push({ selfId, event });
  }

  /** Delivers what adapters emitted during start/identify, now that transports listen. */
  #flushEarly(): void {
    for (const { selfId, event } of this.#early.splice(0)) {
      const id = selfId();
      this.accounts.get(id)?.emit('event', event.self_id === 0 ? { ...event, self_id: id } : event);
    }
  }

  #trackLink(options: TrackLinkOptions, selfId: () => number, links: Set<Connection>): TrackedLink {
    const conn = this.registry.add({ transport: 'upstream', role: 'universal', endpoint: options.endpoint, remote: options.remote, selfId: selfId(), state: 'connecting' });
    conn.link = { reconnects: 0, held: () => 0, dropped: 0, ...(options.inFlight ? { inFlight: options.inFlight } : {}) };
    links.add(conn);
    const registry = this.registry;
    return {
      get state() {
        return conn.state;
      },
      set state(value) {
        conn.state = value;
      },
      reconnected: () => void conn.link!.reconnects++,
      countIn: (bytes) => conn.countIn(bytes),
      countOut: (bytes) => conn.countOut(bytes),
      close: (detail = 'closed') => {
        if (links.delete(conn)) registry.remove(conn, detail);
      },
    };
  }

  #stopRequested(): boolean {
    return this.#state === 'stopping' || this.#state === 'stopped';
  }

  /** Idempotent: every call returns the same promise. Never rejects. */
  stop(): Promise<ShutdownSummary> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<ShutdownSummary> {
    this.#state = 'stopping';
    this.#lifetime.abort();
    const t0 = performance.now();
    const graceMs = this.config.shutdown.grace_ms;
    const transports = [...this.transports].reverse();

    for (const t of transports) this.#safely(t.key, () => t.stopAccepting());
    let aborted = 0;
    for (const t of transports) aborted += this.#safely(t.key, () => t.abortPending()) ?? 0;
    const connections = this.registry.clients;
    for (const t of transports) this.#safely(t.key, () => t.closeConnections());

    const clean = await this.#waitEmpty(graceMs);
    let terminated = 0;
    // Always run the hard step: it also releases listeners and raw sockets. After a clean
    // drain it cuts nothing.
    for (const t of transports) terminated += this.#safely(t.key, () => t.terminate()) ?? 0;
    if (!clean) await this.#waitEmpty(AFTER_TERMINATE_MS);

    for (const { name, adapter, links } of [...this.#started].reverse()) {
      await this.#stopAdapter(name, adapter);
      // A link its adapter forgot (or could not close in time) does not outlive the app.
      for (const link of links) this.registry.remove(link, 'adapter stopped');
      links.clear();
    }
    this.#started.length = 0;
    for (const account of this.accounts.values()) account.router.close();
    this.#state = 'stopped';
    return { connections, terminated, aborted, elapsedMs: Math.round(performance.now() - t0) };
  }

  async #waitEmpty(ms: number): Promise<boolean> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), ms);
    try {
      const drained = await Promise.all([this.registry.whenEmpty(deadline.signal), ...this.transports.map((t) => t.whenDrained?.(deadline.signal) ?? true)]);
      return drained.every(Boolean);
    } finally {
      clearTimeout(timer);
    }
  }

  async #stopAdapter(name: string, adapter: Adapter): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), ADAPTER_STOP_MS);
    });
    try {
      const result = await Promise.race([adapter.stop().then(() => 'done' as const), timeout]);
      if (result === 'timeout') this.#logger.warn(`${name}: adapter did not stop within ${ADAPTER_STOP_MS} ms; leaving it`);
    } catch (err) {
      this.#logger.warn(`${name}: adapter stop failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A shutdown phase that throws must not skip the phases after it. */
  #safely<T>(key: string, step: () => T): T | undefined {
    try {
      return step();
    } catch (err) {
      this.#logger.error(`${key}: shutdown step failed: ${(err as Error).message}`);
      return undefined;
    }
  }
}
