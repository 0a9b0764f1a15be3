import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { Adapter, AdapterFactory } from '../../src/adapter.js';
import { USER_AGENT } from '../../src/package-info.js';
import type { Connection } from '../../src/registry.js';
import { authorize, remoteOf } from '../../src/transport/auth.js';
import { listen } from '../../src/transport/listen.js';
import { CLOSE_TIMEOUT_MS, ReconnectingLink } from '../../src/transport/reconnecting-link.js';
import { rejectUpgrade } from '../../src/transport/reject.js';
import { RequestGuard } from '../../src/transport/request-guard.js';
import { requestUrl } from '../../src/transport/request-url.js';
import { UpstreamChannel } from './channel.js';
import type { RelayAdapterConfig } from './config.js';
import { HttpUpstream } from './http-upstream.js';

/** How long the upstream gets to answer our close frame at shutdown. */
const CLOSE_WAIT_MS = 500;

/** `mode: ws`: onebridge keeps dialling the implementation's forward WebSocket. */
class UpstreamDialer extends ReconnectingLink {
  readonly #prepare: () => { url: string; headers: Record<string, string> };
  readonly #accept: (ws: WebSocket) => void;
  readonly #closed: () => void;

  constructor(options: ConstructorParameters<typeof ReconnectingLink>[0] & { prepare: () => { url: string; headers: Record<string, string> }; accept: (ws: WebSocket) => void; closed: () => void }) {
    super(options);
    this.#prepare = options.prepare;
    this.#accept = options.accept;
    this.#closed = options.closed;
  }

  protected prepare() {
    return this.#prepare();
  }

  protected accept(ws: WebSocket): void {
    this.#accept(ws);
  }

  protected closed(): void {
    this.#closed();
  }
}

/**
 * The relay: an existing OneBot implementation is the platform. Events from it reach every
 * transport of the account (normalised, so each connection point's format applies); any
 * action no core table answers is passed upstream as is and its answer comes back to the
 * caller with the caller's echo. Upstream down: actions fail at once with 1503, get_status
 * says offline. `identify` learns self_id from upstream's get_login_info when the config omits
 * it; it does not check a configured self_id against upstream's.
 */
export const createRelayAdapter: AdapterFactory<RelayAdapterConfig> = (config, ctx) => {
  const up = config.upstream;
  const logger = ctx.logger;
  const maxJsonDepth = ctx.config.limits.max_json_depth;
  const channel = new UpstreamChannel((event) => ctx.emit(event), logger, up.action_timeout_ms, maxJsonDepth);
  channel.onSent = (bytes) => conn?.countOut(bytes);
  const endpoint = up.mode === 'ws' || up.mode === 'http' ? up.url : `ws://${up.host}:${up.port}${up.path}`;
  const http =
    up.mode === 'http'
      ? new HttpUpstream({ url: up.url, accessToken: up.access_token, timeoutMs: up.action_timeout_ms, host: up.host, port: up.port, path: up.path, secret: up.secret, maxJsonDepth, logger, guard: new RequestGuard(up, { logger, onRefused: (kind) => ctx.registry.countRefused(kind) }), onEvent: (event) => ctx.emit(event) })
      : undefined;
  if (http) http.onSent = (bytes) => conn?.countOut(bytes);
  const call = (req: { action: string; params: Record<string, unknown> }) => (http ? http.call(req) : channel.call(req));
  let conn: Connection | undefined;
  let dialer: UpstreamDialer | undefined;
  let server: Server | undefined;
  let wss: WebSocketServer | undefined;
  let current: WebSocket | undefined;
  let stopped = false;

  /** Waiters for the link to open (identify), woken by `opened`. */
  const openWaiters = new Set<() => void>();

  const opened = (ws: WebSocket, remote: string) => {
    current = ws;
    channel.attach(ws);
    for (const wake of [...openWaiters]) wake();
    if (conn) conn.state = 'open';
    ws.on('message', (data) => conn?.countIn((data as Buffer).length));
    logger.info(`upstream link open (${remote})`);
  };
  const lost = (ws: WebSocket | undefined, why: string) => {
    if (ws && ws !== current) return;
    current = undefined;
    channel.detach(why);
    if (conn && !stopped) conn.state = 'connecting';
  };

  const adapter: Adapter = {
    actions: {},
    forward: (req) => call(req),
    status: () => (http ? { online: http.reachable, good: http.reachable } : { online: channel.connected && channel.upstreamOnline, good: channel.connected }),
    async identify(signal) {
      // Bounded by action_timeout_ms: waiting for the link, then get_login_info (which has
      // its own timeout). A kept timer, not AbortSignal.timeout inside AbortSignal.any: Node 20
      // can collect such a composite signal before it fires, and the wait would never end.
      if (!http && !channel.connected) {
        await new Promise<void>((resolve, reject) => {
          const finish = (err?: Error) => {
            clearTimeout(timer);
            openWaiters.delete(done);
            signal.removeEventListener('abort', onAbort);
            if (err) reject(err);
            else resolve();
          };
          const done = () => finish();
          const onAbort = () => finish(new Error('start was aborted'));
          const timer = setTimeout(() => finish(new Error(`upstream ${endpoint} not connected within ${up.action_timeout_ms} ms`)), up.action_timeout_ms);
          openWaiters.add(done);
          signal.addEventListener('abort', onAbort, { once: true });
        });
      }
      const res = await call({ action: 'get_login_info', params: {} });
      const id = (res.data as { user_id?: unknown } | null)?.user_id;
      const n = typeof id === 'string' ? Number(id) : id;
      if (res.retcode !== 0 || typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) throw new Error(`get_login_info answered ${JSON.stringify(res).slice(0, 120)}`);
      if (conn) conn.selfId = n;
      return n;
    },
    async start() {
      conn = ctx.registry.add({ transport: 'upstream', role: 'universal', endpoint, remote: up.mode === 'ws' || up.mode === 'http' ? new URL(up.url).host : `${up.host}:${up.port}`, selfId: ctx.selfId, state: 'connecting' });
      conn.link = { reconnects: 0, held: () => 0, dropped: 0, inFlight: () => (http ? http.inFlight : channel.inFlight) };
      // Upstream may start a close we hear of only when it ends: show it while it lasts.
      conn.closing = () => current?.readyState === WebSocket.CLOSING;
      if (http) {
        await http.start();
        conn.state = 'open';
        return;
      }
      if (up.mode === 'ws') {
        dialer = new UpstreamDialer({
          name: 'upstream',
          logger,
          reconnect: { initialMs: up.reconnect.initial_ms, maxMs: up.reconnect.max_ms },
          handshakeTimeoutMs: up.handshake_timeout_ms,
          maxPayloadBytes: 256 * 1024 * 1024,
          prepare: () => {
            if (conn) conn.link!.reconnects = dialer?.reconnects ?? 0;
            const headers: Record<string, string> = { 'User-Agent': USER_AGENT, 'X-Client-Role': 'Universal' };
            // Unknown until learned (self_id omitted): then no header rather than a wrong one.
            if (ctx.selfId) headers['X-Self-ID'] = String(ctx.selfId);
            if (up.access_token) headers['Authorization'] = `Bearer ${up.access_token}`;
            return { url: up.url, headers };
          },
          accept: (ws) => opened(ws, up.url),
          closed: () => lost(undefined, 'connection lost'),
        });
        dialer.start();
        return;
      }
      // mode ws-reverse: the implementation dials in; the newest socket wins.
      // closeTimeout (a ws option missing from its types): an upstream stuck mid-close is cut, as the dialer's is.
      wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 * 1024, perMessageDeflate: false, closeTimeout: CLOSE_TIMEOUT_MS } as ConstructorParameters<typeof WebSocketServer>[0]);
      const dialInGuard = new RequestGuard(up, { logger, onRefused: (kind) => ctx.registry.countRefused(kind) });
      server = createServer((_req, res) => res.writeHead(426, { Upgrade: 'websocket' }).end());
      server.on('upgrade', (req, socket: Socket, head) => {
        socket.on('error', () => {});
        const url = requestUrl(req);
        if (stopped) return rejectUpgrade(socket, 503, 'onebridge is shutting down');
        const guard = dialInGuard.check(req);
        if (!guard.ok) return rejectUpgrade(socket, guard.status, guard.reason);
        if (!url || url.pathname !== up.path) return rejectUpgrade(socket, 404, `upstream endpoint is ${up.path}`);
        const auth = authorize(req, url, up.access_token);
        if (!auth.ok) {
          logger.warn(`upstream dial-in from ${remoteOf(req)} refused: ${auth.reason}`);
          return rejectUpgrade(socket, auth.status, auth.reason);
        }
        wss!.handleUpgrade(req, socket, head, (ws) => {
          const previous = current;
          opened(ws, remoteOf(req));
          if (previous) previous.close(1000, 'replaced by a newer upstream connection');
          ws.on('error', (err) => logger.warn(`upstream: ${err.message}`));
          ws.on('close', () => lost(ws, 'connection lost'));
        });
      });
      await listen(server, up.host, up.port, 'upstream');
      logger.info(`waiting for the upstream implementation on ${endpoint}`);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      dialer?.stop();
      http?.stop();
      server?.close();
      const ws = current;
      if (ws && ws.readyState === WebSocket.OPEN) {
        const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
        let timer: NodeJS.Timeout | undefined;
        ws.close(1000, 'onebridge shutting down');
        await Promise.race([closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
        clearTimeout(timer);
      }
      ws?.terminate();
      dialer?.terminate();
      server?.closeAllConnections();
      channel.detach('closed by onebridge shutting down');
      if (conn) ctx.registry.remove(conn, 'stopped');
    },
  };
  return adapter;
};
