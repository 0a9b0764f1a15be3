import * as z from 'zod/mini';
import { RequestGuardFields } from '../../src/config/request-guard.js';
import { durationMs, intIn, listenAt, token, urlOf } from '../../src/config/types.js';

const common = {
  access_token: token(),
  /** An action upstream does not answer within this fails with retcode 1504. */
  action_timeout_ms: z._default(intIn(100, 600_000, ' (milliseconds)'), 30_000),
};

/** onebridge dials the implementation's forward WebSocket (universal endpoint). */
const UpstreamWs = z.strictObject({
  mode: z.literal('ws'),
  url: z.string({ error: 'expected a ws:// or wss:// URL' }).check(urlOf('ws', 'ws://127.0.0.1:3001/')),
  reconnect: z.prefault(
    z.strictObject({
      initial_ms: z._default(intIn(1, 3_600_000, ' (milliseconds)'), 1000),
      max_ms: z._default(intIn(1, 3_600_000, ' (milliseconds)'), 30_000),
    }),
    {},
  ),
  handshake_timeout_ms: z._default(durationMs(), 10_000),
  ...common,
});

/** The implementation dials onebridge: it is configured for reverse WS to host:port/path. */
const UpstreamWsReverse = z.strictObject({
  mode: z.literal('ws-reverse'),
  ...listenAt(3002),
  path: z._default(z.string().check(z.startsWith('/', { error: 'expected a path starting with /' })), '/'),
  ...common,
  // A web page must not pose as the implementation (forged events, or taking its socket).
  ...RequestGuardFields,
});

/** Actions to the implementation's HTTP API; its HTTP POST events to our receiver. */
const UpstreamHttp = z.strictObject({
  mode: z.literal('http'),
  url: z.string({ error: 'expected an http:// or https:// URL' }).check(urlOf('http', 'http://127.0.0.1:3000/')),
  /** The receiver for the implementation's HTTP POST events. */
  ...listenAt(3003),
  path: z._default(z.string().check(z.startsWith('/', { error: 'expected a path starting with /' })), '/'),
  /** The implementation's HTTP POST secret: X-Signature is checked when set. */
  secret: z._default(z.string(), ''),
  ...common,
  ...RequestGuardFields,
});

/**
 * `accounts[].adapter` `type: relay`: an existing OneBot implementation (Lagrange.OneBot,
 * NapCat, LLBot, go-cqhttp) is the platform; onebridge keeps one upstream link to it.
 */
export const RelayAdapterConfig = z.strictObject({
  upstream: z.discriminatedUnion('mode', [UpstreamWs, UpstreamWsReverse, UpstreamHttp]),
});
export type RelayAdapterConfig = z.infer<typeof RelayAdapterConfig> & { readonly type: 'relay' };
export type UpstreamConfig = RelayAdapterConfig['upstream'];
