import type { Logger } from '../logger.js';
import { failed } from '../onebot/router.js';
import type { ActionRequest, ActionResponse, MessageFormat, OneBotEvent } from '../onebot/types.js';
import type { Connection } from '../registry.js';
import { compileFilter, isExempt, type EventPredicate } from './filter.js';
import { Permissions, type PermissionsConfig } from './permissions.js';

/** Retcode of an action refused by `network[].actions` (the HTTP 403 of the spec's 14xx mapping). */
export const REFUSED_RETCODE = 1403;

/** One refusal line per this long per entry; the next line says how many were not logged. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

/** The live policy of one network entry: what its `filter`/`filter_file` and `actions` say. */
export interface PolicySettings {
  /** The filter, already read from `filter_file` when that was used. */
  readonly filter?: unknown;
  readonly actions?: PermissionsConfig | undefined;
}

/** Compiled settings, ready to install. */
export interface PreparedPolicy {
  readonly filter: EventPredicate | undefined;
  readonly permissions: Permissions | undefined;
}

/** Counters of one network entry, read by `/metrics`. Monotonic. */
export interface EntryCounts {
  filtered: number;
  delivered: number;
  dropped: number;
  refused: number;
}

/**
 * The policy of one network entry, shared by all its connections: which events reach its
 * clients (`admit`) and which actions they may call (`check`/`refuse`). `apply()` swaps both
 * at once for live reload; connections keep going. It also holds the entry's event counters.
 *
 * It does not pace sends (that is per account: `SendPacer`) and does not know sockets.
 */
export class NetworkPolicy {
  readonly key: string;
  readonly counts: EntryCounts = { filtered: 0, delivered: 0, dropped: 0, refused: 0 };
  readonly #logger: Logger;
  #filter: EventPredicate | undefined;
  #permissions: Permissions | undefined;
  #lastRefusalLog = Number.NEGATIVE_INFINITY;
  #unlogged = 0;

  constructor(key: string, settings: PolicySettings, logger: Logger) {
    this.key = key;
    this.#logger = logger;
    this.apply(settings);
  }

  /** Compiles settings without installing them: throws FilterError for a bad filter. */
  static prepare(settings: PolicySettings): PreparedPolicy {
    return {
      filter: settings.filter === undefined ? undefined : compileFilter(settings.filter),
      permissions: settings.actions ? new Permissions(settings.actions) : undefined,
    };
  }

  /** Swaps filter and permissions at once; events and actions after this call see the new ones. */
  install(prepared: PreparedPolicy): void {
    this.#filter = prepared.filter;
    this.#permissions = prepared.permissions;
  }

  /** Compiles first, then swaps: a bad setting throws and changes nothing. */
  apply(settings: PolicySettings): void {
    this.install(NetworkPolicy.prepare(settings));
  }

  get filtering(): boolean {
    return this.#filter !== undefined;
  }

  /** Whether an event goes to this entry's clients; lifecycle and heartbeat always do. Counts the rest. */
  admit(event: OneBotEvent, format: MessageFormat): boolean {
    const filter = this.#filter;
    if (!filter || isExempt(event) || filter(event, format)) return true;
    this.counts.filtered++;
    return false;
  }

  /** Why `req` is refused here, or undefined when it may run. */
  check(req: Pick<ActionRequest, 'action' | 'params'>): string | undefined {
    return this.#permissions?.check(req);
  }

  /** The failed answer for a refused request: counted on the entry and the connection, logged at most every 10 s. */
  refuse(req: ActionRequest, why: string, conn?: Connection): ActionResponse {
    this.counts.refused++;
    if (conn) conn.actionsRefused++;
    const now = performance.now();
    if (now - this.#lastRefusalLog >= REFUSAL_LOG_INTERVAL_MS) {
      const more = this.#unlogged ? ` (${this.#unlogged} more refused since the last line)` : '';
      this.#logger.warn(`${this.key}: refused ${req.action}${conn ? ` from #${conn.id}` : ''}: ${why}${more}`);
      this.#lastRefusalLog = now;
      this.#unlogged = 0;
    } else this.#unlogged++;
    return failed(REFUSED_RETCODE, `refused by ${this.key}: ${why}`, req.echo);
  }
}
