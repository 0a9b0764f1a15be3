import type { Account } from './account.js';
import type { ActionOutcome } from './onebot/router.js';
import type { NetworkPolicy } from './policy/network-policy.js';
import type { ConnectionRegistry } from './registry.js';

type PromClient = typeof import('prom-client');

/** What `/metrics` reads at scrape time; nothing here is copied on the hot path. */
export interface MetricsSources {
  readonly registry: ConnectionRegistry;
  readonly accounts: () => Iterable<Account>;
  readonly policies: () => Iterable<NetworkPolicy>;
}

/** Distinct `action` label values kept; later new names count as `other`, so clients cannot grow the series without bound. */
const MAX_ACTION_LABELS = 200;

/** Seconds; actions range from an in-process lookup to a slow upstream. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** prom-client's `Registry.PROMETHEUS_CONTENT_TYPE`, known before the library is loaded. */
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Observations kept while prom-client loads (the startup window); past this they are dropped. */
const MAX_PENDING = 10_000;

type Observation = { kind: 'event'; selfId: number } | { kind: 'action'; name: string; known: boolean; outcome: ActionOutcome; ms: number };

/**
 * Prometheus metrics for `GET /metrics` on the admin endpoint, in prom-client's text format.
 * The app makes one only when `admin:` is configured, and loads prom-client (`load()`) only
 * after it is ready, so startup never pays for the import (100-300 ms on a small machine):
 * what is observed before that is kept and replayed. A scrape waits for the load. Counters
 * that onebridge keeps anyway (registry links, network entry counts, send queues) are read at
 * scrape time; only events emitted and actions are observed as they happen.
 *
 * It does not push anywhere and has no registry of its own beyond this instance: two apps in
 * one process (tests) never share series.
 */
export class Metrics {
  readonly #sources: MetricsSources;
  #loaded: PromMetrics | undefined;
  #loading: Promise<PromMetrics> | undefined;
  #pending: Observation[] = [];
  #closed = false;

  constructor(sources: MetricsSources) {
    this.#sources = sources;
  }

  /** Imports prom-client (the only place that does) and sets up every metric, once. */
  load(): Promise<void> {
    this.#loading ??= import('prom-client').then((prom) => {
      const loaded = new PromMetrics(prom, this.#sources);
      for (const o of this.#pending) {
        if (o.kind === 'event') loaded.eventEmitted(o.selfId);
        else loaded.action(o.name, o.known, o.outcome, o.ms);
      }
      this.#pending = [];
      if (this.#closed) loaded.close();
      else this.#loaded = loaded;
      return loaded;
    });
    return this.#loading.then(() => undefined);
  }

  eventEmitted(selfId: number): void {
    if (this.#loaded) this.#loaded.eventEmitted(selfId);
    else if (this.#pending.length < MAX_PENDING) this.#pending.push({ kind: 'event', selfId });
  }

  /** `known`: the router has the action (or forwarded it and the upstream did not say 1404). */
  action(name: string, known: boolean, outcome: ActionOutcome, ms: number): void {
    if (this.#loaded) this.#loaded.action(name, known, outcome, ms);
    else if (this.#pending.length < MAX_PENDING) this.#pending.push({ kind: 'action', name, known, outcome, ms });
  }

  get contentType(): string {
    return CONTENT_TYPE;
  }

  /** Drops every series and the default collectors' observers. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#pending = [];
    this.#loaded?.close();
    this.#loaded = undefined;
  }

  /** The text exposition of every metric (loading prom-client first if need be). */
  async scrape(): Promise<string> {
    await this.load();
    return this.#loaded ? this.#loaded.scrape() : '';
  }
}

/** The metrics themselves, on a loaded prom-client. */
class PromMetrics {
  readonly #register: import('prom-client').Registry;
  readonly #emitted: import('prom-client').Counter<'self_id'>;
  readonly #actions: import('prom-client').Counter<'action' | 'outcome'>;
  readonly #latency: import('prom-client').Histogram<'action' | 'outcome'>;
  readonly #actionNames = new Set<string>();

  constructor(prom: PromClient, sources: MetricsSources) {
    const register = new prom.Registry();
    this.#register = register;
    prom.collectDefaultMetrics({ register, prefix: 'onebridge_' });
    const registers = [register];
    this.#emitted = new prom.Counter({ name: 'onebridge_events_emitted_total', help: 'Events an account emitted (from its platform), before filters', labelNames: ['self_id'], registers });
    this.#actions = new prom.Counter({ name: 'onebridge_actions_total', help: 'Actions answered, by action and outcome (ok, async, failed, refused)', labelNames: ['action', 'outcome'], registers });
    this.#latency = new prom.Histogram({ name: 'onebridge_action_duration_seconds', help: 'Time from request to answer (send pacing waits included)', labelNames: ['action', 'outcome'], buckets: LATENCY_BUCKETS, registers });

    const { registry } = sources;
    new prom.Gauge({
      name: 'onebridge_connections',
      help: 'Live connections by transport and role (upstream = the relay link to its implementation)',
      labelNames: ['transport', 'role'],
      registers,
      collect() {
        this.reset();
        for (const c of registry.list()) if (c.state === 'open') this.inc({ transport: c.transport, role: c.role });
      },
    });
    const perEntry = (name: string, help: string, read: (p: NetworkPolicy) => number) =>
      new prom.Counter({
        name,
        help,
        labelNames: ['network'],
        registers,
        collect() {
          this.reset();
          for (const p of sources.policies()) this.inc({ network: p.key }, read(p));
        },
      });
    perEntry('onebridge_events_delivered_total', 'Events written to a client (per connection: one event to 3 clients counts 3)', (p) => p.counts.delivered);
    perEntry('onebridge_events_dropped_total', 'Events not delivered: client not reading, held buffer or webhook queue full, webhook gave up', (p) => p.counts.dropped);
    perEntry('onebridge_events_filtered_total', "Events a network entry's filter kept from its clients", (p) => p.counts.filtered);
    perEntry('onebridge_actions_refused_total', "Actions refused by a network entry's actions: policy", (p) => p.counts.refused);

    const links = (transports: readonly string[]) => registry.list().filter((c) => c.link && transports.includes(c.transport));
    new prom.Gauge({
      name: 'onebridge_events_held',
      help: 'Events held for a reverse WS framework that is away',
      labelNames: ['endpoint'],
      registers,
      collect() {
        this.reset();
        for (const c of links(['ws-reverse'])) this.inc({ endpoint: `${c.endpoint} ${c.role}` }, c.link!.held());
      },
    });
    new prom.Counter({
      name: 'onebridge_reconnects_total',
      help: 'Reconnects of links onebridge dials (reverse WS, relay upstream)',
      labelNames: ['transport', 'endpoint'],
      registers,
      collect() {
        this.reset();
        for (const c of links(['ws-reverse', 'upstream'])) this.inc({ transport: c.transport, endpoint: c.role === 'universal' ? c.endpoint : `${c.endpoint} ${c.role}` }, c.link!.reconnects);
      },
    });
    new prom.Gauge({
      name: 'onebridge_webhook_queue',
      help: 'Events waiting for delivery to an HTTP POST webhook',
      labelNames: ['url'],
      registers,
      collect() {
        this.reset();
        for (const c of links(['http-post'])) this.inc({ url: c.endpoint }, c.link!.held());
      },
    });
    new prom.Counter({
      name: 'onebridge_webhook_retries_total',
      help: 'Retried HTTP POST deliveries (network errors and 5xx)',
      labelNames: ['url'],
      registers,
      collect() {
        this.reset();
        for (const c of links(['http-post'])) this.inc({ url: c.endpoint }, c.link!.reconnects);
      },
    });
    new prom.Gauge({
      name: 'onebridge_send_queue',
      help: 'Sends waiting for a rate_limit token, per account',
      labelNames: ['self_id'],
      registers,
      collect() {
        this.reset();
        for (const a of sources.accounts()) this.set({ self_id: String(a.selfId) }, a.router.sendQueue);
      },
    });
  }

  eventEmitted(selfId: number): void {
    this.#emitted.inc({ self_id: String(selfId) });
  }

  /** `known`: the router has the action (or forwarded it and the upstream did not say 1404). */
  action(name: string, known: boolean, outcome: ActionOutcome, ms: number): void {
    let action = known ? name : 'unknown';
    if (known && !this.#actionNames.has(name)) {
      if (this.#actionNames.size >= MAX_ACTION_LABELS) action = 'other';
      else this.#actionNames.add(name);
    }
    this.#actions.inc({ action, outcome });
    this.#latency.observe({ action, outcome }, ms / 1000);
  }

  close(): void {
    this.#register.clear();
  }

  scrape(): Promise<string> {
    return this.#register.metrics();
  }
}
