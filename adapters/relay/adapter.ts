import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { Adapter, AdapterContext, TrackedLink } from '../../src/kit/index.js';
import {
  authorize,
  CLOSE_TIMEOUT_MS,
  closeWebSocket,
  DeadlineError,
  listen,
  ReconnectingLink,
  rejectUpgrade,
  remoteOf,
  RequestGuard,
  requestUrl,
  USER_AGENT,
  webSocketDialer,
  withDeadline,
} from '../../src/kit/index.js';
import { UpstreamChannel } from './channel.js';
import { RelayAdapterConfig } from './config.js';
import { HttpUpstream } from './http-upstream.js';

/** The largest frame accepted from the upstream, dialled or dialled-in. */
const MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

/** How long the upstream gets to answer our close frame at shutdown. */
const CLOSE_WAIT_MS = 500;

/** Our close frame at shutdown, on a dialled or a dialled-in upstream. */
const GOODBYE = { code: 1000, reason: 'onebridge shutting down' } as const;

/** The relay's implementation; see index.ts for what it does. Imported when a relay account is created. */
export function createRelayAdapter(config: RelayAdapterConfig, ctx: AdapterContext): Adapter {
  const up = config.upstream;
  const logger = ctx.logger;
  const maxJsonDepth = ctx.limits.max_json_depth;
  const channel = new UpstreamChannel((event) => ctx.emit(event), logger, up.action_timeout_ms, maxJsonDepth);
  channel.onSent = (bytes) => conn?.countOut(bytes);
  const endpoint = up.mode === 'ws' || up.mode === 'http' ? up.url : `ws://${up.host}:${up.port}${up.path}`;
  const http =
    up.mode === 'http'
      ? new HttpUpstream({
          url: up.url,
          accessToken: up.access_token,
          timeoutMs: up.action_timeout_ms,
          host: up.host,
          port: up.port,
          path: up.path,
          secret: up.secret,
          maxJsonDepth,
          logger,
          guard: new RequestGuard(up, { logger, onRefused: (kind) => ctx.countRefused(kind) }),
          onEvent: (event) => ctx.emit(event),
        })
      : undefined;
  if (http) http.onSent = (bytes) => conn?.countOut(bytes);
  const call = (req: { action: string; params: Record<string, unknown> }) =>
    http ? http.call(req) : channel.call(req);
  let conn: TrackedLink | undefined;
  let dialer: ReconnectingLink<WebSocket> | undefined;
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
    status: () =>
      http
        ? { online: http.reachable, good: http.reachable }
        : { online: channel.connected && channel.upstreamOnline, good: channel.connected },
    async identify(signal) {
      // Bounded by action_timeout_ms: waiting for the link, then get_login_info (which has
      // its own timeout).
      if (!http && !channel.connected) {
        let wake: () => void = () => {};
        const open = new Promise<void>((resolve) => openWaiters.add((wake = resolve)));
        try {
          await withDeadline(open, up.action_timeout_ms, signal, { what: 'start' });
        } catch (err) {
          if (err instanceof DeadlineError && err.code === 'ONEBRIDGE_TIMEOUT')
            throw new Error(`upstream ${endpoint} not connected within ${up.action_timeout_ms} ms`, { cause: err });
          throw err;
        } finally {
          openWaiters.delete(wake);
        }
      }
      const res = await call({ action: 'get_login_info', params: {} });
      const id = (res.data as { user_id?: unknown } | null)?.user_id;
      const n = typeof id === 'string' ? Number(id) : id;
      if (res.retcode !== 0 || typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0)
        throw new Error(`get_login_info answered ${JSON.stringify(res).slice(0, 120)}`);
      return n;
    },
    selfIdSource: "learned from upstream's get_login_info",
    async start() {
      if (conn || stopped) return;
      // Upstream may start a close we hear of only when it ends: show it while it lasts.
      conn = ctx.trackLink({
        endpoint,
        remote: up.mode === 'ws' || up.mode === 'http' ? new URL(up.url).host : `${up.host}:${up.port}`,
        inFlight: () => (http ? http.inFlight : channel.inFlight),
        closing: () => current?.readyState === WebSocket.CLOSING,
      });
      if (http) {
        await http.start();
        conn.state = 'open';
        return;
      }
      if (up.mode === 'ws') {
        dialer = new ReconnectingLink<WebSocket>({
          name: 'upstream',
          logger,
          reconnect: { initialMs: up.reconnect.initial_ms, maxMs: up.reconnect.max_ms },
          track: conn,
          ...webSocketDialer({
            url: up.url,
            headers: () => {
              const headers: Record<string, string> = { 'User-Agent': USER_AGENT, 'X-Client-Role': 'Universal' };
              // Unknown until learned (self_id omitted): then no header rather than a wrong one.
              if (ctx.selfId) headers['X-Self-ID'] = String(ctx.selfId);
              if (up.access_token) headers['Authorization'] = `Bearer ${up.access_token}`;
              return headers;
            },
            handshakeTimeoutMs: up.handshake_timeout_ms,
            maxPayloadBytes: MAX_PAYLOAD_BYTES,
            goodbye: GOODBYE,
            // In the open event, not in onOpen: a frame in the same packet as the handshake
            // is emitted before any promise callback runs.
            opening: (ws) => opened(ws, up.url),
          }),
          onLost: (ws) => lost(ws, 'connection lost'),
        });
        dialer.start();
        return;
      }
      // mode ws-reverse: the implementation dials in; the newest socket wins.
      // closeTimeout (a ws option missing from its types): an upstream stuck mid-close is cut, as the dialer's is.
      wss = new WebSocketServer({
        noServer: true,
        maxPayload: MAX_PAYLOAD_BYTES,
        perMessageDeflate: false,
        closeTimeout: CLOSE_TIMEOUT_MS,
      } as ConstructorParameters<typeof WebSocketServer>[0]);
      const dialInGuard = new RequestGuard(up, { logger, onRefused: (kind) => ctx.countRefused(kind) });
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
      http?.stop();
      server?.close();
      if (dialer) await dialer.stop(CLOSE_WAIT_MS);
      else if (current) {
        await withDeadline(closeWebSocket(current, GOODBYE.code, GOODBYE.reason), CLOSE_WAIT_MS).catch(() => {});
        current?.terminate();
      }
      server?.closeAllConnections();
      channel.detach('closed by onebridge shutting down');
      conn?.close('stopped');
    },
  };
  return adapter;
}
