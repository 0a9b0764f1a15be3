import * as z from 'zod/mini';
import type { AdminRoute } from './admin/route.js';
import type { LimitsConfig } from './config/schema.js';
import { OneBridgeError } from './errors.js';
import type { Logger } from './logger.js';
import type { BotStatus } from './onebot/events.js';
import type { ActionContext, ActionTable } from './onebot/router.js';
import type { ActionRequest, ActionResponse, OneBotEvent } from './onebot/types.js';

/**
 * A platform link as the registry shows it (`GET /connections`, `onebridge status`): one per
 * connection an adapter holds to its platform (an IRC server, an XMPP server, an upstream
 * OneBot implementation). The adapter updates it in place; the app removes any left at stop.
 */
export interface TrackedLink {
  /** `connecting` until the link is usable, `open` while it is, `closing` while it goes. */
  state: 'connecting' | 'open' | 'closing';
  /** Counts one reconnect (shown as `reconnects`). */
  reconnected(): void;
  /** Traffic from the platform: one frame/line/stanza of `bytes`. */
  countIn(bytes: number): void;
  /** Traffic to the platform. */
  countOut(bytes: number): void;
  /** Drops it from the registry. Idempotent. */
  close(detail?: string): void;
}

export interface TrackLinkOptions {
  /** Where the link goes, e.g. `ircs://irc.libera.chat:6697` or the upstream URL. */
  readonly endpoint: string;
  /** The peer, `host:port`. */
  readonly remote: string;
  /** Actions waiting for the platform's answer, shown as `actions_in_flight`. */
  readonly inFlight?: () => number;
  /** Whether the link is closing right now (a close the peer started), shown as state `closing`. */
  readonly closing?: () => boolean;
}

/**
 * What an adapter is given, and all it is given: it never sees the app, the config of other
 * accounts, transports or sockets of clients.
 */
export interface AdapterContext<Shared = undefined> {
  /** The account id; 0 until known when the adapter learns it (`identify`). Read it late. */
  readonly selfId: number;
  /** This account's logger (component `<type>:<self_id>`). */
  readonly logger: Logger;
  /** Aborted when the app stops: end waits, retries and long polls with it. */
  readonly signal: AbortSignal;
  /**
   * Deliver an event to every transport serving this account. Events emitted before the
   * transports are up (during `start`/`identify`) are held and delivered in order once they are;
   * a `self_id` of 0 in them is replaced by the learned id.
   */
  emit(event: OneBotEvent): void;
  /** Show a platform link in the registry (state, reconnects, traffic). */
  trackLink(options: TrackLinkOptions): TrackedLink;
  /** State shared by every account of this adapter type in one app (`definition.shared`). */
  readonly shared: Shared;
  /** App-wide bounds on outside input (`limits:`): parse platform JSON within `max_json_depth`. */
  readonly limits: LimitsConfig;
  /**
   * Counts a request refused by a `RequestGuard` on a server the adapter runs for its platform
   * (`origin`, `host`), in the registry's refusal counts (admin metrics).
   */
  countRefused(reason: string): void;
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
  /**
   * Connect to the platform. May resolve before the link is up (a reconnecting link keeps
   * trying in the background); must not throw for a platform that is merely down.
   */
  start(signal: AbortSignal): Promise<void>;
  /**
   * Optional: the account id, learned from the platform, for accounts configured without
   * `self_id` (the definition says `learnsSelfId: true`). Called after `start()`; must settle
   * within its own deadline.
   */
  identify?(signal: AbortSignal): Promise<number>;
  /**
   * Optional, with `identify`: how it finds the id, for the startup line `accounts[0]: self_id N
   * <this>`, e.g. `derived from the nick "obbot"` for an id computed from config without asking
   * anyone. Default `learned from the platform`.
   */
  readonly selfIdSource?: string;
  /** Optional: called once everything (transports, admin) has started, e.g. to show a prompt. */
  ready?(): void;
  /** Must settle promptly; the app bounds it anyway. Safe to call more than once. */
  stop(): Promise<void>;
  status(): BotStatus;
}

/** The base every adapter's `accounts[].adapter` config has: its `type`. */
export interface AdapterConfigBase {
  readonly type: string;
  readonly [key: string]: unknown;
}

/** An account as `checkSection` sees it. */
export interface SectionAccount {
  readonly self_id?: number | undefined;
  readonly adapter: { readonly type: string };
}

/** A problem `checkSection` found: the path inside the section, and what is wrong. */
export interface SectionProblem {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** What `defineAdapter` is given. */
export interface AdapterSpec<
  Type extends string,
  Shape extends z.core.$ZodShape,
  Section extends z.core.$ZodType | undefined,
  Shared,
> {
  /** The `accounts[].adapter.type` that selects it: lowercase, e.g. `irc`. */
  readonly type: Type;
  /**
   * The schema of its `accounts[].adapter` keys, without `type` (added here). Give every key a
   * default where one makes sense and a doc comment; messages start with "expected …".
   */
  readonly config: z.core.$ZodObject<Shape>;
  /**
   * Optional: an app-level section, the top-level config key named after `type` (`sandbox:`),
   * for what every account of this type shares. Parsed with `{}` when absent.
   */
  readonly section?: Section;
  /** Optional: builds the state every account of this type shares, once per app, lazily. */
  readonly shared?: (section: Section extends z.core.$ZodType ? z.output<Section> : undefined) => Shared;
  /**
   * Optional: checks that span the section and the accounts (the sandbox's group members must
   * be its users or its bots). Each problem's path is inside the section; `onebridge check`
   * and start report them with the other config errors.
   */
  readonly checkSection?: (
    section: Section extends z.core.$ZodType ? z.output<Section> : undefined,
    accounts: readonly SectionAccount[],
  ) => readonly SectionProblem[];
  /** Accounts of this type may omit `self_id` (a single one): the adapter's `identify` learns it. */
  readonly learnsSelfId?: boolean;
  /**
   * One account's adapter. May be async: import a heavy platform library here (or in
   * `start`) with `await import(…)`, so users of other adapters never load it.
   */
  create(
    config: z.output<z.core.$ZodObject<Shape>> & { readonly type: Type },
    ctx: AdapterContext<Shared>,
  ): Adapter | Promise<Adapter>;
}

/** An adapter as the app and the config schema see it. Make one with `defineAdapter`. */
export interface AdapterDefinition<Config extends { readonly type: string } = AdapterConfigBase, Shared = unknown> {
  readonly type: string;
  /** The full `accounts[].adapter` schema, `type` included. */
  readonly schema: z.ZodMiniType<Config>;
  readonly section: z.core.$ZodType | undefined;
  readonly shared: ((section: unknown) => Shared) | undefined;
  readonly checkSection:
    ((section: unknown, accounts: readonly SectionAccount[]) => readonly SectionProblem[]) | undefined;
  readonly learnsSelfId: boolean;
  create(config: Config, ctx: AdapterContext<Shared>): Adapter | Promise<Adapter>;
}

/**
 * Declares an adapter: its type, config schema and factory, plus optional capabilities. The
 * caller (the CLI, or a program embedding onebridge) passes definitions to the app; the
 * config schema is built from them, so a new platform touches only its own folder.
 *
 * It does not register anything globally and does not import the platform's library.
 */
export function defineAdapter<
  const Type extends string,
  Shape extends z.core.$ZodShape,
  Section extends z.core.$ZodType | undefined = undefined,
  Shared = undefined,
>(
  spec: AdapterSpec<Type, Shape, Section, Shared>,
): AdapterDefinition<z.output<z.core.$ZodObject<Shape>> & { readonly type: Type }, Shared> {
  if (!/^[a-z][a-z0-9-]*$/.test(spec.type))
    throw new OneBridgeError(
      'ONEBRIDGE_ADAPTER_INVALID',
      `adapter type "${spec.type}": expected lowercase letters, digits and dashes`,
    );
  if ('type' in spec.config._zod.def.shape)
    throw new OneBridgeError(
      'ONEBRIDGE_ADAPTER_INVALID',
      `adapter ${spec.type}: leave "type" out of config; defineAdapter adds it`,
    );
  const schema = z.safeExtend(spec.config as unknown as z.ZodMiniObject, { type: z.literal(spec.type) });
  return {
    type: spec.type,
    schema: schema as unknown as z.ZodMiniType<z.output<z.core.$ZodObject<Shape>> & { readonly type: Type }>,
    section: spec.section,
    shared: spec.shared as ((section: unknown) => Shared) | undefined,
    checkSection: spec.checkSection as
      ((section: unknown, accounts: readonly SectionAccount[]) => readonly SectionProblem[]) | undefined,
    learnsSelfId: spec.learnsSelfId ?? false,
    create: spec.create,
  };
}

/** Any definition, whatever its config and shared state, as lists of them are typed. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAdapterDefinition = AdapterDefinition<any, any>;
