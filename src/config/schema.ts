import * as z from 'zod/mini';
import type { AdapterConfigBase, AnyAdapterDefinition } from '../adapter.js';
import { OneBridgeError } from '../errors.js';
import { LOG_LEVELS } from '../logger.js';
import { networkPolicyShape, RateLimitConfig } from '../policy/config.js';
import { DEFAULT_MAX_JSON_DEPTH } from '../untrusted-json.js';
import { RequestGuardFields } from './request-guard.js';
import { durationMs, formatPath, intIn, listenAt, MessageFormat, selfId, token, urlOf } from './types.js';

/**
 * The network entry schemas and the admin schema are `z.lazy`: each is built the first time a
 * config uses it (`NetworkConfig` picks by `type` alone, see `entryOfType`), so a start does
 * not build schemas for transports it does not run: about 0.4 MiB at every start (bench
 * "RSS at ready").
 */

/** `network[]` entry `type: ws`: a forward WebSocket server (paths `/`, `/api`, `/event`). */
export const WsServerConfig = z.lazy(() =>
  z.strictObject({
    type: z.literal('ws'),
    ...listenAt(6700),
    access_token: token(),
    message_format: z._default(MessageFormat, 'array'),
    /** Heartbeat meta events; 0 = off. */
    heartbeat_interval_ms: z._default(durationMs(), 15_000),
    /** Largest frame accepted from a client; a larger one closes the socket with 1009. */
    max_payload_bytes: z._default(intIn(1024, 1024 * 1024 * 1024), 64 * 1024 * 1024),
    /** WebSocket ping to every client; one that misses two pongs is cut. 0 = off. */
    ping_interval_ms: z._default(durationMs(), 30_000),
    /** A client with more unsent bytes has events dropped (counted in the registry, logged). */
    max_buffered_bytes: z._default(intIn(1024, 1024 * 1024 * 1024), 16 * 1024 * 1024),
    /** A client that missed this many events in a row (still not reading) is cut. */
    max_dropped_events: z._default(intIn(1, 10_000_000), 1000),
    /** More clients than this get 503 before the upgrade. 0 = no limit. */
    max_connections: z._default(intIn(0, 1_000_000), 1000),
    /** Actions one client may have waiting; more answer 1429 at once. */
    max_actions_in_flight: z._default(intIn(1, 100_000), 100),
    /** permessage-deflate, when the client offers it. */
    compression: z._default(z.boolean(), false),
    /** An upgrade still in admission after this long gets 408 and is closed. 0 = no limit. */
    handshake_timeout_ms: z._default(intIn(0, 600_000, ' (milliseconds; 0 = no limit)'), 10_000),
    /** New connections per second one remote address may open (burst as large); more get 429. 0 = no limit. */
    max_upgrades_per_address_per_s: z._default(intIn(0, 100_000), 0),
    ...RequestGuardFields,
    /** Which account this entry serves; required only with several accounts. */
    self_id: z.optional(selfId()),
    ...networkPolicyShape,
  }),
);
export type WsServerConfig = z.infer<typeof WsServerConfig>;

const wsUrl = () =>
  z.string({ error: 'expected a ws:// or wss:// URL' }).check(urlOf('ws', 'ws://127.0.0.1:8080/onebot/v11/ws'));

/**
 * `network[]` entry `type: ws-reverse`: onebridge dials the bot framework. Universal (one
 * socket on `url`) unless `api_url` or `event_url` is set: then split, two sockets with
 * `X-Client-Role: API` and `Event`, each falling back to `url`.
 */
export const WsReverseConfig = z.lazy(() =>
  z
    .strictObject({
      type: z.literal('ws-reverse'),
      url: z.optional(wsUrl()),
      api_url: z.optional(wsUrl()),
      event_url: z.optional(wsUrl()),
      access_token: token(),
      message_format: z._default(MessageFormat, 'array'),
      /** Heartbeat meta events and WebSocket pings; 0 = neither. */
      heartbeat_interval_ms: z._default(durationMs(), 15_000),
      reconnect: z.prefault(
        z.strictObject({
          initial_ms: z._default(intIn(1, 3_600_000, ' (milliseconds)'), 1000),
          max_ms: z._default(intIn(1, 3_600_000, ' (milliseconds)'), 30_000),
        }),
        {},
      ),
      /** Events held while the framework is away; `max_events: 0` holds none. */
      buffer: z.prefault(
        z.strictObject({
          max_events: z._default(intIn(0, 1_000_000), 1000),
          max_age_ms: z._default(durationMs(), 60_000),
        }),
        {},
      ),
      /** A peer whose unread backlog passes this is recycled, its events held as if it were down. */
      max_buffered_bytes: z._default(intIn(1024, 1024 * 1024 * 1024), 16 * 1024 * 1024),
      /** A handshake that takes longer is abandoned and retried. */
      handshake_timeout_ms: z._default(intIn(100, 600_000, ' (milliseconds)'), 10_000),
      max_payload_bytes: z._default(intIn(1024, 1024 * 1024 * 1024), 64 * 1024 * 1024),
      /** permessage-deflate, offered to the framework. */
      compression: z._default(z.boolean(), false),
      self_id: z.optional(selfId()),
      ...networkPolicyShape,
    })
    .check(
      z.superRefine((entry, ctx) => {
        if (!entry.url && !(entry.api_url && entry.event_url)) {
          ctx.addIssue({
            code: 'custom',
            path: ['url'],
            message: 'missing; set url (universal), or both api_url and event_url (split)',
          });
        }
        if (entry.reconnect.max_ms < entry.reconnect.initial_ms) {
          ctx.addIssue({
            code: 'custom',
            path: ['reconnect', 'max_ms'],
            message: `must be at least reconnect.initial_ms (${entry.reconnect.initial_ms})`,
          });
        }
      }),
    ),
);
export type WsReverseConfig = z.infer<typeof WsReverseConfig>;

/** `network[]` entry `type: http`: the HTTP API (`/:action`), and SSE on `/_events`. */
export const HttpServerConfig = z.lazy(() =>
  z.strictObject({
    type: z.literal('http'),
    ...listenAt(5700),
    access_token: token(),
    message_format: z._default(MessageFormat, 'array'),
    /** Also serve events as Server-Sent Events on GET /_events. */
    sse: z._default(z.boolean(), false),
    /** SSE heartbeat meta events; 0 = off. */
    heartbeat_interval_ms: z._default(durationMs(), 15_000),
    /** Largest request body; a larger one gets 413. */
    max_body_bytes: z._default(intIn(1024, 1024 * 1024 * 1024), 16 * 1024 * 1024),
    /** An SSE client with more unsent bytes than this has events dropped (counted). */
    max_buffered_bytes: z._default(intIn(1024, 1024 * 1024 * 1024), 4 * 1024 * 1024),
    /** An SSE client that missed this many events in a row is cut. */
    max_dropped_events: z._default(intIn(1, 10_000_000), 1000),
    ...RequestGuardFields,
    self_id: z.optional(selfId()),
    ...networkPolicyShape,
  }),
);
export type HttpServerConfig = z.infer<typeof HttpServerConfig>;

/** `network[]` entry `type: http-post`: each event POSTed to a webhook, in order, signed. */
export const HttpPostConfig = z.lazy(() =>
  z.strictObject({
    type: z.literal('http-post'),
    url: z
      .string({ error: 'expected an http:// or https:// URL' })
      .check(urlOf('http', 'http://127.0.0.1:8080/onebot/v11/http')),
    /** HMAC-SHA1 key for `X-Signature`; empty = unsigned. */
    secret: z._default(z.string(), ''),
    timeout_ms: z._default(intIn(100, 600_000, ' (milliseconds)'), 5000),
    retries: z.prefault(
      z.strictObject({
        max: z._default(intIn(0, 100), 3),
        initial_ms: z._default(intIn(1, 600_000, ' (milliseconds)'), 500),
      }),
      {},
    ),
    message_format: z._default(MessageFormat, 'array'),
    /** Heartbeat meta events POSTed like any event, as go-cqhttp does; 0 = off. */
    heartbeat_interval_ms: z._default(durationMs(), 0),
    /** Events queued for the target; when full the oldest are dropped (counted, logged). */
    buffer: z.prefault(z.strictObject({ max_events: z._default(intIn(1, 1_000_000), 1000) }), {}),
    self_id: z.optional(selfId()),
    ...networkPolicyShape,
  }),
);
export type HttpPostConfig = z.infer<typeof HttpPostConfig>;

/**
 * One union member: a check of `type` alone, then the entry's full (lazy) schema. The union
 * reads its members' `type` to dispatch, which on a `z.lazy` member would build it.
 */
const entryOfType = <T extends string, S extends z.ZodMiniType>(type: T, schema: S) => {
  const head = z.looseObject({ type: z.literal(type) });
  // A cast: zod types a pipe's second schema by what the first one outputs (here, only `type`).
  return z.pipe(head, schema as unknown as z.ZodMiniType<z.output<S>, z.output<typeof head>>);
};

export const NetworkConfig = z.discriminatedUnion('type', [
  entryOfType('ws', WsServerConfig),
  entryOfType('ws-reverse', WsReverseConfig),
  entryOfType('http', HttpServerConfig),
  entryOfType('http-post', HttpPostConfig),
]);
export type NetworkConfig = z.infer<typeof NetworkConfig>;

/** `accounts[].adapter` as core sees it: a `type` naming one of the adapters passed in. */
export const AdapterConfig = z.looseObject({ type: z.string() });
export type AdapterConfig = AdapterConfigBase;

/** One `accounts[]` entry; `adapter` is the union of the definitions' schemas. */
export const accountConfig = <A extends z.ZodMiniType<AdapterConfigBase>>(adapter: A) =>
  z.strictObject({
    /** Optional for a single account whose adapter learns it (relay: from upstream's get_login_info). */
    self_id: z.optional(selfId()),
    adapter,
    /** Interval between `<action>_rate_limited` calls (the spec's default: 500 ms). */
    rate_limit_interval_ms: z._default(intIn(1, 3_600_000, ' (milliseconds)'), 500),
    /** Send pacing: a token bucket for every message-sending action, however it arrives. Off when omitted. */
    rate_limit: z.optional(RateLimitConfig),
  });
export type AccountConfig = z.infer<ReturnType<typeof accountConfig<typeof AdapterConfig>>>;

/** `admin:` the local status/control endpoint (`onebridge status`, sandbox control). */
export const AdminConfig = z.lazy(() =>
  z.strictObject({
    ...listenAt(6790),
    access_token: token(),
    ...RequestGuardFields,
  }),
);
export type AdminConfig = z.infer<typeof AdminConfig>;

export const ShutdownConfig = z.strictObject({
  /** How long clients get to answer the close frame before they are cut. */
  grace_ms: z._default(durationMs(600_000), 3000),
});

/** `limits:` process-wide bounds on what onebridge reads from anyone outside. */
export const LimitsConfig = z.strictObject({
  /**
   * Deepest JSON nesting accepted in anything parsed from outside: WS frames (forward and
   * reverse), HTTP API bodies, webhook replies, relay upstream frames and webhooks, admin
   * bodies. Deeper input is refused (1400 / HTTP 400) before it is built.
   */
  max_json_depth: z._default(intIn(8, 1000), DEFAULT_MAX_JSON_DEPTH),
});
export type LimitsConfig = z.infer<typeof LimitsConfig>;

export const LogConfig = z.strictObject({
  level: z._default(z.enum(LOG_LEVELS), 'info'),
  format: z._default(z.enum(['text', 'json']), 'text'),
  /** Message lines (received, sent) at info, as go-cqhttp prints them. */
  messages: z._default(z.boolean(), true),
  /** Timestamps of text logs: local time (the machine's TZ), or UTC. JSON logs are always UTC. */
  timezone: z._default(z.enum(['local', 'utc']), 'local'),
});

const CORE_KEYS = ['accounts', 'network', 'admin', 'shutdown', 'log'] as const;

/**
 * The config schema for the adapters a caller passes in: `accounts[].adapter` is the union of
 * their schemas, and each adapter's `section` is the top-level key named after its type. With
 * no `accounts:`, one account of the first adapter (self_id 10001, its config all defaults).
 * Throws OneBridgeError for a list that cannot make a config (none, or a type given twice).
 */
export function buildConfigSchema(adapters: readonly AnyAdapterDefinition[]): z.ZodMiniType<Config, unknown> {
  const first = adapters[0];
  if (!first)
    throw new OneBridgeError('ONEBRIDGE_ADAPTER_INVALID', 'no adapters given; pass at least one adapter definition');
  const byType = new Map<string, AnyAdapterDefinition>();
  const sections: Record<string, z.ZodMiniType> = {};
  for (const a of adapters) {
    if (byType.has(a.type))
      throw new OneBridgeError('ONEBRIDGE_ADAPTER_INVALID', `adapter type "${a.type}" given twice`);
    if ((CORE_KEYS as readonly string[]).includes(a.type))
      throw new OneBridgeError('ONEBRIDGE_ADAPTER_INVALID', `adapter type "${a.type}" is a reserved config key`);
    byType.set(a.type, a);
    if (a.section) sections[a.type] = z.prefault(a.section, {});
  }
  const schemas = adapters.map((a) => a.schema as z.ZodMiniType<AdapterConfigBase> & z.core.$ZodTypeDiscriminable);
  const union = z.discriminatedUnion('type', schemas as [(typeof schemas)[number], ...typeof schemas]);
  return z
    .strictObject({
      accounts: z.prefault(
        z.array(accountConfig(union)).check(
          z.minLength(1, {
            error: `the list is empty; add an account, or remove accounts: to run the built-in ${first.type} bot`,
          }),
        ),
        [{ self_id: 10001, adapter: { type: first.type } }],
      ),
      network: z._default(z.array(NetworkConfig), []),
      admin: z.optional(AdminConfig),
      shutdown: z.prefault(ShutdownConfig, {}),
      log: z.prefault(LogConfig, {}),
      limits: z.prefault(LimitsConfig, {}),
      ...sections,
    })
    .check(
      z.superRefine((config, ctx) => {
        // Checks that span entries: zod sees one value at a time, the user sees one config.
        const ids = new Map<number, number>();
        config.accounts.forEach((account, i) => {
          if (account.self_id === undefined) {
            if (!byType.get(account.adapter.type)?.learnsSelfId) {
              const learners = adapters.filter((a) => a.learnsSelfId).map((a) => a.type);
              ctx.addIssue({
                code: 'custom',
                path: ['accounts', i, 'self_id'],
                message: `missing; expected the bot account id${learners.length ? ` (only a ${learners.join(' or ')} account can learn it from its platform)` : ''}`,
              });
            } else if (config.accounts.length > 1)
              ctx.addIssue({
                code: 'custom',
                path: ['accounts', i, 'self_id'],
                message: 'required with several accounts, so network entries can name it',
              });
            return;
          }
          const first = ids.get(account.self_id);
          if (first !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: ['accounts', i, 'self_id'],
              message: `duplicate self_id ${account.self_id} (also accounts[${first}].self_id); give each account its own id`,
            });
          } else ids.set(account.self_id, i);
        });
        const listeners: Array<{ host: string; port: number; owner: string }> = [];
        const claim = (hostName: string, portNo: number, path: (string | number)[]) => {
          if (portNo === 0) return;
          // A wildcard address takes the port on every address of its family (`::` on both, as
          // Node listens dual-stack), so 0.0.0.0:6700 and 127.0.0.1:6700 cannot both be bound.
          const clash = listeners.find((l) => l.port === portNo && addressesOverlap(l.host, hostName));
          const at = (h: string) => `${h.includes(':') ? `[${h}]` : h}:${portNo}`;
          if (clash)
            ctx.addIssue({
              code: 'custom',
              path,
              message: `${at(hostName)} is already used by ${clash.owner}${clash.host === hostName ? '' : ` (${at(clash.host)})`}; choose another port`,
            });
          else listeners.push({ host: hostName, port: portNo, owner: formatPath(path) });
        };
        config.network.forEach((entry, i) => {
          if (entry.self_id === undefined) {
            if (config.accounts.length > 1) {
              ctx.addIssue({
                code: 'custom',
                path: ['network', i, 'self_id'],
                message: `required with several accounts; set it to one of ${[...ids.keys()].join(', ')}`,
              });
            }
          } else if (!ids.has(entry.self_id)) {
            ctx.addIssue({
              code: 'custom',
              path: ['network', i, 'self_id'],
              message: `no account has self_id ${entry.self_id}; expected one of ${[...ids.keys()].join(', ')}`,
            });
          }
          if (entry.type === 'ws' || entry.type === 'http') claim(entry.host, entry.port, ['network', i, 'port']);
          if (entry.filter !== undefined && entry.filter_file !== undefined)
            ctx.addIssue({
              code: 'custom',
              path: ['network', i, 'filter_file'],
              message: 'set either filter (inline) or filter_file, not both',
            });
        });
        if (config.admin) claim(config.admin.host, config.admin.port, ['admin', 'port']);
        for (const a of adapters) {
          if (!a.checkSection) continue;
          for (const p of a.checkSection((config as Record<string, unknown>)[a.type], config.accounts))
            ctx.addIssue({ code: 'custom', path: [a.type, ...p.path], message: p.message });
        }
      }),
    ) as unknown as z.ZodMiniType<Config, unknown>;
}

/** Whether two bind addresses take the same port: equal, or one is a wildcard of the other's family. */
function addressesOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  const v4 = (h: string) => !h.includes(':');
  if (a === '::' || b === '::') return true;
  if (a === '0.0.0.0') return v4(b);
  if (b === '0.0.0.0') return v4(a);
  return false;
}

/** A validated config, the shape every built schema shares (adapter configs stay open). */
interface ConfigShape {
  accounts: AccountConfig[];
  network: NetworkConfig[];
  admin?: AdminConfig | undefined;
  shutdown: z.infer<typeof ShutdownConfig>;
  log: z.infer<typeof LogConfig>;
  limits: LimitsConfig;
}
/** A validated config. Adapter sections (`sandbox:`) are top-level keys named after their type. */
export type Config = ConfigShape & { readonly [section: string]: unknown };
