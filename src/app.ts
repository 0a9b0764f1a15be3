import { adapterFactories } from '../adapters/index.js';
import { Account } from './account.js';
import type { Adapter, AdapterFactory } from './adapter.js';
import { AdminServer } from './admin/server.js';
import type { Config } from './config/schema.js';
import { StartupError } from './errors.js';
import { getLogger, type Logger } from './logger.js';
import { coreActions } from './onebot/core-actions.js';
import { sharedEncoder } from './onebot/encoder.js';
import { ActionRouter } from './onebot/router.js';
import { ConnectionRegistry } from './registry.js';
import { createTransport } from './transport/index.js';
import type { Transport } from './transport/transport.js';

/** How long closed sockets get to run their close handlers after `terminate()`. */
const AFTER_TERMINATE_MS = 250;
/** Upper bound for one adapter's `stop()`; a hung platform never holds the exit. */
const ADAPTER_STOP_MS = 1000;

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
  readonly #started: Array<{ name: string; adapter: Adapter }> = [];
  readonly #shared = new Map<string, unknown>();
  readonly #lifetime = new AbortController();
  #state: State = 'idle';
  #stopping: Promise<ShutdownSummary> | undefined;

  constructor(config: Config) {
    this.config = config;
    this.#logger = getLogger('app');
    this.registry = new ConnectionRegistry(getLogger('registry'));
  }

  get state(): State {
    return this.#state;
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`App.start() called in state ${this.#state}`);
    this.#state = 'starting';
    for (const [i, accountConfig] of this.config.accounts.entries()) {
      // 0 until known: a relay account without self_id learns it right after start.
      let selfId = accountConfig.self_id ?? 0;
      const logger = getLogger(`${accountConfig.adapter.type}:${accountConfig.self_id ?? `accounts[${i}]`}`);
      let account: Account | undefined;
      const factory = adapterFactories[accountConfig.adapter.type] as AdapterFactory<typeof accountConfig.adapter>;
      const adapter = factory(accountConfig.adapter, {
        get selfId() {
          return selfId;
        },
        logger,
        config: this.config,
        shared: this.#shared,
        registry: this.registry,
        emit: (event) => account?.emit('event', event),
      });
      await adapter.start(this.#lifetime.signal);
      this.#started.push({ name: `accounts[${i}]`, adapter });
      if (selfId === 0) {
        if (!adapter.identify) throw new StartupError('ONEBRIDGE_SELF_ID_UNKNOWN', `missing, and the ${accountConfig.adapter.type} adapter cannot learn it; set the bot account id`, `accounts[${i}].self_id`);
        try {
          selfId = await adapter.identify(this.#lifetime.signal);
        } catch (err) {
          throw new StartupError('ONEBRIDGE_SELF_ID_UNKNOWN', `could not learn it from upstream (${(err as Error).message}); set it, or start the upstream first`, `accounts[${i}].self_id`, { cause: err });
        }
        this.#logger.info(`accounts[${i}]: learned self_id ${selfId} from upstream`);
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
      const transport = createTransport(entry, key, { account, registry: this.registry, encoder: sharedEncoder, logger: getLogger(`${entry.type}:${key}`), limits: this.config.limits });
      this.transports.push(transport);
      await transport.start();
      if (this.#stopRequested()) return;
    }
    if (this.config.admin) {
      const routes = this.#started.flatMap(({ adapter }) => adapter.adminRoutes ?? []);
      this.admin = new AdminServer(this.config.admin, {
        registry: this.registry,
        logger: getLogger('admin'),
        routes,
        limits: this.config.limits,
        describe: () => ({ accounts: [...this.accounts.values()].map((a) => ({ self_id: a.selfId, ...a.status() })) }),
      });
      this.transports.push(this.admin);
      await this.admin.start();
    }
    this.#state = 'running';
    this.#logger.info(`ready: ${this.accounts.size} account(s), ${this.config.network.length} network entr${this.config.network.length === 1 ? 'y' : 'ies'}${this.admin ? `, admin ${this.admin.url}` : ''}`);
    for (const { adapter } of this.#started) adapter.ready?.();
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

    for (const { name, adapter } of [...this.#started].reverse()) await this.#stopAdapter(name, adapter);
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
