import { Account } from './account.js';
import type { Adapter, AdapterContext, AnyAdapterDefinition, TrackedLink, TrackLinkOptions } from './adapter.js';
import { AdminServer } from './admin/server.js';
import type { Config } from './config/schema.js';
import { OneBridgeError, StartupError } from './errors.js';
import { configureLogging, loggerFactory, type LogFormat, type Logger, type LogLevel } from './logger.js';
import { Metrics } from './metrics.js';
import { coreActions } from './onebot/core-actions.js';
import { sharedEncoder } from './onebot/encoder.js';
import { ActionRouter, type ActionObserver } from './onebot/router.js';
import type { OneBotEvent } from './onebot/types.js';
import { NetworkPolicy } from './policy/network-policy.js';
import { planReload, type ReloadReport } from './reload.js';
import { TrafficLog } from './traffic-log.js';
import { ConnectionRegistry, type Connection } from './registry.js';
import { createTransport } from './transport/index.js';
import type { Transport } from './transport/transport.js';

/** How long closed sockets get to run their close handlers after `terminate()`. */
const AFTER_TERMINATE_MS = 250;
/**
 * One budget for every adapter's `stop()` together (called last-in-first-out, each given what
 * is left): hung platforms never hold the exit, however many accounts there are. With
 * AFTER_TERMINATE_MS it keeps the whole shutdown under grace + 1 s, the CLI's promise.
 */
const ADAPTERS_STOP_MS = 500;
/** Events an adapter may emit before the transports are up; past this the oldest go (logged). */
const EARLY_EVENTS_MAX = 10_000;

export interface ShutdownSummary {
  /** Connections open when the close frames went out. */
  readonly connections: number;
  /** Of those, how many had to be cut at the grace deadline. */
  readonly terminated: number;
  /** Sockets destroyed while still in handshake or auth, or before sending any request. */
  readonly aborted: number;
  readonly elapsedMs: number;
}

type State = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

export interface AppOptions {
  /** The adapters accounts may name (`accounts[].adapter.type`); the config was built from them. */
  readonly adapters: readonly AnyAdapterDefinition[];
  /**
   * Where every component logs (a child per component). Default: onebridge's own winston
   * logger on stderr, configured with `configureLogging`.
   */
  readonly logger?: Logger;
  /** The file the config came from: `POST /reload` re-reads it. Without one, reload is refused. */
  readonly configFile?: string | undefined;
  /** Re-reads and validates the config file (the CLI's loader); throws ConfigError when invalid. */
  readonly loadConfig?: ((file: string) => Config) | undefined;
  /** Log settings given on the command line: they win over `log:` on reload too. */
  readonly logOverrides?:
    { readonly level?: LogLevel | undefined; readonly format?: LogFormat | undefined } | undefined;
}

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
  /** Each network entry's filter and action policy, by key (`network[0]`); live reload swaps their contents. */
  readonly policies = new Map<string, NetworkPolicy>();
  /** Prometheus metrics, only when `admin:` is on (prom-client is not loaded otherwise). */
  metrics: Metrics | undefined;
  readonly #options: AppOptions;
  readonly #traffic = new Map<number, TrafficLog>();
  /** The config in force: the start config with every reloaded live key applied. */
  #running: Config;
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
    this.#running = config;
    this.#options = options;
    this.#adapters = new Map(options.adapters.map((a) => [a.type, a]));
    this.#log = loggerFactory(options.logger);
    this.#logger = this.#log('app');
    this.registry = new ConnectionRegistry(this.#log('registry'));
  }

  get state(): State {
    return this.#state;
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle')
      throw new OneBridgeError('ONEBRIDGE_APP_STATE', `App.start() called in state ${this.#state}; an App starts once`);
    this.#state = 'starting';
    if (this.config.admin) {
      this.metrics = new Metrics({
        registry: this.registry,
        accounts: () => this.accounts.values(),
        policies: () => this.policies.values(),
      });
    }
    for (const [i, accountConfig] of this.config.accounts.entries()) {
      // 0 until known: a relay account without self_id learns it right after start.
      let selfId = accountConfig.self_id ?? 0;
      const logger = this.#log(`${accountConfig.adapter.type}:${accountConfig.self_id ?? `accounts[${i}]`}`);
      let account: Account | undefined;
      const definition = this.#adapters.get(accountConfig.adapter.type);
      if (!definition)
        throw new StartupError(
          'ONEBRIDGE_ADAPTER_UNKNOWN',
          `no adapter "${accountConfig.adapter.type}" was given to the app`,
          `accounts[${i}].adapter.type`,
        );
      const links = new Set<Connection>();
      const ctx: AdapterContext<unknown> = {
        get selfId() {
          return selfId;
        },
        logger,
        signal: this.#lifetime.signal,
        emit: (event) => {
          if (account && this.#state === 'running') account.emit('event', event);
          // Before the transports are up: held. Once stopping, no transport will take it.
          else if (this.#state === 'starting') this.#hold(() => selfId, event);
        },
        trackLink: (options) => this.#trackLink(options, () => selfId, links),
        shared: this.#sharedFor(definition),
        limits: this.config.limits,
        countRefused: (reason) => this.registry.countRefused(reason),
      };
      const adapter = await definition.create(accountConfig.adapter, ctx);
      await adapter.start(this.#lifetime.signal);
      this.#started.push({ name: `accounts[${i}]`, adapter, links });
      if (selfId === 0) {
        if (!adapter.identify)
          throw new StartupError(
            'ONEBRIDGE_SELF_ID_UNKNOWN',
            `missing, and the ${accountConfig.adapter.type} adapter cannot learn it; set the bot account id`,
            `accounts[${i}].self_id`,
          );
        try {
          selfId = await adapter.identify(this.#lifetime.signal);
        } catch (err) {
          throw new StartupError(
            'ONEBRIDGE_SELF_ID_UNKNOWN',
            `could not learn it from upstream (${(err as Error).message}); set it, or start the upstream first`,
            `accounts[${i}].self_id`,
            { cause: err },
          );
        }
        // Say what happened: asked of the platform (relay), or computed from config (irc, xmpp).
        this.#logger.info(`accounts[${i}]: self_id ${selfId} ${adapter.selfIdSource ?? 'learned from the platform'}`);
        for (const link of links) link.selfId = selfId;
      }
      const traffic = new TrafficLog(this.#log(`messages:${selfId}`), this.config.log.messages);
      const router: ActionRouter = new ActionRouter(
        [
          coreActions(
            () => adapter.status(),
            () => router,
          ),
          adapter.actions,
        ],
        logger,
        {
          observe: this.#observer(traffic, () => router),
          rateLimitIntervalMs: accountConfig.rate_limit_interval_ms,
          adapterName: accountConfig.adapter.type,
          pacing: accountConfig.rate_limit,
          ...(adapter.forward ? { forward: adapter.forward } : {}),
        },
      );
      account = new Account(selfId, adapter, router);
      this.accounts.set(selfId, account);
      this.#traffic.set(selfId, traffic);
      const metrics = this.metrics;
      account.on('event', (event) => {
        metrics?.eventEmitted(selfId);
        traffic.event(event);
      });
      if (this.#stopRequested()) return;
    }
    const firstAccount = this.accounts.values().next().value as Account;
    for (const [i, entry] of this.config.network.entries()) {
      const account = entry.self_id === undefined ? firstAccount : this.accounts.get(entry.self_id)!;
      const key = `network[${i}]`;
      const logger = this.#log(`${entry.type}:${key}`);
      const policy = new NetworkPolicy(key, { filter: entry.filter, actions: entry.actions }, logger);
      this.policies.set(key, policy);
      const transport = createTransport(entry, key, {
        account,
        registry: this.registry,
        encoder: sharedEncoder,
        logger,
        limits: this.config.limits,
        policy,
      });
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
        describe: () => ({
          accounts: [...this.accounts.values()].map((a) => ({
            self_id: a.selfId,
            ...a.status(),
            send_queue: a.router.sendQueue,
          })),
        }),
        metrics: this.metrics,
        reload: () => this.reloadFromFile(),
        describeConnections: () => ({
          send_queues: Object.fromEntries([...this.accounts.values()].map((a) => [a.selfId, a.router.sendQueue])),
        }),
      });
      this.transports.push(this.admin);
      await this.admin.start();
    }
    this.#state = 'running';
    this.#flushEarly();
    this.#logger.info(
      `ready: ${this.accounts.size} account(s), ${this.config.network.length} network entr${this.config.network.length === 1 ? 'y' : 'ies'}${this.admin ? `, admin ${this.admin.url}` : ''}`,
    );
    for (const { adapter } of this.#started) adapter.ready?.();
    // After ready, so startup never waits for prom-client; a scrape before it ends waits instead.
    this.metrics
      ?.load()
      .catch((err: unknown) => this.#logger.warn(`metrics: prom-client did not load: ${(err as Error).message}`));
  }

  #sharedFor(definition: AnyAdapterDefinition): unknown {
    if (!definition.shared) return undefined;
    if (!this.#shared.has(definition.type))
      this.#shared.set(definition.type, definition.shared(this.config[definition.type]));
    return this.#shared.get(definition.type);
  }

  #hold(selfId: () => number, event: OneBotEvent): void {
    if (this.#early.length >= EARLY_EVENTS_MAX) {
      this.#early.shift();
      if (this.#earlyDropped++ === 0)
        this.#logger.warn(`more than ${EARLY_EVENTS_MAX} events before the transports were up; dropping the oldest`);
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
    const conn = this.registry.add({
      transport: 'upstream',
      role: 'universal',
      endpoint: options.endpoint,
      remote: options.remote,
      selfId: selfId(),
      state: 'connecting',
    });
    conn.link = {
      reconnects: 0,
      held: () => 0,
      dropped: 0,
      ...(options.inFlight ? { inFlight: options.inFlight } : {}),
    };
    if (options.closing) conn.closing = options.closing;
    links.add(conn);
    return this.registry.tracked(conn, () => links.delete(conn));
  }

  #observer(traffic: TrafficLog, router: () => ActionRouter): ActionObserver {
    return (req, res, outcome, ms, ctx) => {
      this.metrics?.action(req.action, res.retcode !== 1404 && router().knows(req.action), outcome, ms);
      traffic.action(req, res, outcome, ms, ctx);
    };
  }

  /**
   * Applies a new config's live keys (filters, action permissions, rate limits, log settings)
   * without touching a connection, all at once; other changes are reported as needing a
   * restart and not applied. Policies are compiled before anything is swapped, so a failure
   * changes nothing.
   */
  reload(next: Config): ReloadReport {
    if (this.#state !== 'running') throw new Error(`cannot reload in state ${this.#state}`);
    const plan = planReload(this.#running, next);
    const applied = new Set(plan.applied);
    const networkApplies = (i: number) =>
      ['filter', 'filter_file', 'actions'].some((k) => applied.has(`network[${i}].${k}`));
    // Build everything first: a throw here leaves the running policy as it was.
    const staged: Array<() => void> = [];
    next.network.forEach((entry, i) => {
      if (!networkApplies(i)) return;
      const policy = this.policies.get(`network[${i}]`);
      if (!policy) return;
      const prepared = NetworkPolicy.prepare({ filter: entry.filter, actions: entry.actions });
      staged.push(() => policy.install(prepared));
    });
    const accountConfigs = [...this.accounts.values()];
    next.accounts.forEach((accountConfig, i) => {
      if (!applied.has(`accounts[${i}].rate_limit`)) return;
      const account = accountConfigs[i];
      if (account) staged.push(() => account.router.setPacing(accountConfig.rate_limit));
    });
    if (applied.has('log.messages'))
      for (const t of this.#traffic.values()) staged.push(() => (t.messages = next.log.messages));
    const overrides = this.#options.logOverrides ?? {};
    if (applied.has('log.level') || applied.has('log.format'))
      staged.push(() =>
        configureLogging({ level: overrides.level ?? next.log.level, format: overrides.format ?? next.log.format }),
      );
    for (const step of staged) step();
    this.#running = patchLive(this.#running, next, plan);
    this.#logger.info(
      `reload: ${plan.applied.length ? `applied ${plan.applied.join(', ')}` : 'no live change'}${plan.restart_required.length ? `; needs a restart (not applied): ${plan.restart_required.join(', ')}` : ''}`,
    );
    return plan;
  }

  /** `POST /reload` and `onebridge reload`: re-read the config file, then `reload()`. */
  reloadFromFile(): ReloadReport {
    const { configFile, loadConfig } = this.#options;
    if (!configFile || !loadConfig) throw new ReloadUnavailableError();
    return this.reload(loadConfig(configFile));
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
    // Queued sends get their failure answer first, so it reaches clients before the close frames.
    for (const account of this.accounts.values()) account.router.closeSends();
    await new Promise<void>((resolve) => setImmediate(resolve));

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

    const adaptersDeadline = performance.now() + ADAPTERS_STOP_MS;
    for (const { name, adapter, links } of [...this.#started].reverse()) {
      // Past the budget an adapter's stop() is still called (it starts closing), just not awaited.
      await this.#stopAdapter(name, adapter, Math.max(0, adaptersDeadline - performance.now()));
      // A link its adapter forgot (or could not close in time) does not outlive the app.
      for (const link of links) this.registry.remove(link, 'adapter stopped');
      links.clear();
    }
    this.#started.length = 0;
    for (const account of this.accounts.values()) account.router.close();
    this.metrics?.close();
    this.#state = 'stopped';
    return { connections, terminated, aborted, elapsedMs: Math.round(performance.now() - t0) };
  }

  async #waitEmpty(ms: number): Promise<boolean> {
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), ms);
    try {
      const drained = await Promise.all([
        this.registry.whenEmpty(deadline.signal),
        ...this.transports.map((t) => t.whenDrained?.(deadline.signal) ?? true),
      ]);
      return drained.every(Boolean);
    } finally {
      clearTimeout(timer);
    }
  }

  async #stopAdapter(name: string, adapter: Adapter, budgetMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), budgetMs);
    });
    try {
      const result = await Promise.race([adapter.stop().then(() => 'done' as const), timeout]);
      if (result === 'timeout')
        this.#logger.warn(
          `${name}: adapter did not stop within the ${ADAPTERS_STOP_MS} ms all adapters share; leaving it`,
        );
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

/** This app was started without a config file to re-read (tests, embedding). */
export class ReloadUnavailableError extends OneBridgeError {
  constructor() {
    super('ONEBRIDGE_RELOAD_UNAVAILABLE', 'this onebridge was started without a config file to re-read');
  }
}

/** `running` with the live keys `plan` applied taken from `next`; restart-only keys stay as they run. */
function patchLive(running: Config, next: Config, plan: ReloadReport): Config {
  const patched = structuredClone(running) as Config & Record<string, unknown>;
  for (const key of plan.applied) {
    const m = /^(network|accounts)\[(\d+)\]\.(\w+)$/.exec(key);
    if (m) {
      const list = m[1] === 'network' ? 'network' : 'accounts';
      const i = Number(m[2]);
      const field = m[3]!;
      const from = (next[list][i] ?? {}) as Record<string, unknown>;
      const to = patched[list][i] as Record<string, unknown> | undefined;
      if (to) to[field] = structuredClone(from[field]);
    } else if (key.startsWith('log.')) {
      const field = key.slice(4) as keyof Config['log'];
      (patched.log as Record<string, unknown>)[field] = next.log[field];
    }
  }
  return patched;
}
