import type { AdminRoute } from './admin/route.js';
import type { Config } from './config/schema.js';
import type { Logger } from './logger.js';
import type { BotStatus } from './onebot/events.js';
import type { ActionContext, ActionTable } from './onebot/router.js';
import type { ActionRequest, ActionResponse, OneBotEvent } from './onebot/types.js';
import type { ConnectionRegistry } from './registry.js';

/** What an adapter is given: its account, a way to emit events, and app-wide context. */
export interface AdapterContext {
  readonly selfId: number;
  readonly logger: Logger;
  /** The whole validated config, for adapters that read app-level sections (`sandbox:`). */
  readonly config: Config;
  /** State shared by the adapters of one app, keyed by adapter type (the sandbox world). */
  readonly shared: Map<string, unknown>;
  /** Deliver an event to every transport serving this account. */
  emit(event: OneBotEvent): void;
  /** For adapters that hold a link to their platform (the relay's upstream), to show it. */
  readonly registry: ConnectionRegistry;
}

/**
 * The platform side of one account. An adapter speaks its chat platform and OneBot actions;
 * it never touches a client socket and does not know which transports exist.
 */
export interface Adapter {
  /** OneBot actions this adapter carries out, by action name. Others answer 1404. */
  readonly actions: ActionTable;
  /**
   * Optional: answers every action no table has (extensions, suffixes, standard ones), as
   * is, unchecked. The relay passes them upstream. Without it such actions answer 1404.
   */
  readonly forward?: (request: ActionRequest, ctx: ActionContext) => Promise<Omit<ActionResponse, 'echo'>>;
  /** Extra admin endpoints (the sandbox's message injection), deduplicated by path. */
  readonly adminRoutes?: readonly AdminRoute[];
  start(signal: AbortSignal): Promise<void>;
  /**
   * Optional: the account id, learned from the platform, for accounts configured without
   * `self_id`. Called after `start()`; must settle within its own deadline.
   */
  identify?(signal: AbortSignal): Promise<number>;
  /** Optional: called once everything (transports, admin) has started, e.g. to show a prompt. */
  ready?(): void;
  /** Must settle promptly; the app bounds it anyway. Safe to call more than once. */
  stop(): Promise<void>;
  status(): BotStatus;
}

export type AdapterFactory<C> = (config: C, ctx: AdapterContext) => Adapter;
