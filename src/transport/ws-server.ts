import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type Server as WebSocketServerOf } from 'ws';
import { OneBridgeError } from '../errors.js';
import type { WsServerConfig } from '../config/schema.js';
import { heartbeatEvent, lifecycleEvent } from '../onebot/events.js';
import type { OneBotEvent } from '../onebot/types.js';
import type { Role } from '../registry.js';
import { AddressRateLimit } from './address-rate-limit.js';
import { authorize, remoteOf } from './auth.js';
import { fdBudget } from './fd-budget.js';
import { listen } from './listen.js';
import { OneBotSocket } from './onebot-socket.js';
import { CLOSE_TIMEOUT_MS } from '../kit/ws-dial.js';
import { rejectUpgrade } from './reject.js';
import { RequestGuard } from './request-guard.js';
import { requestUrl } from './request-url.js';
import type { Transport, TransportDeps } from './transport.js';

const PATH_ROLES: ReadonlyMap<string, Role> = new Map([
  ['/', 'universal'],
  ['/api', 'api'],
  ['/api/', 'api'],
  ['/event', 'event'],
  ['/event/', 'event'],
]);

/**
 * `/api/` → `api`, `/event` → `event`; any other path is universal, as in go-cqhttp and
 * NapCat, so `ws://host:6700/onebot/v11/ws` (NoneBot2's reverse-WS path, often reused for
 * forward WS) works as it does there.
 */
export function roleForPath(pathname: string): Role {
  return PATH_ROLES.get(pathname) ?? 'universal';
}

type State = 'idle' | 'listening' | 'closing' | 'closed';

/** An admission check for one upgrade request (see `WsServer.admission`). */
export type Admission = (req: IncomingMessage) => void | Promise<void>;

/** Refuses an upgrade in admission with an HTTP status (e.g. 403, 429); other errors give 500. */
export class AdmissionError extends OneBridgeError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super('ONEBRIDGE_ADMISSION_REFUSED', message);
  }
}

export type WsServerDeps = TransportDeps;

/**
 * A server-side WebSocket that emits `closing` when its close handshake starts, whoever starts
 * it: ws answers the peer's close frame and fails on a protocol error through close() too.
 */
class ClosingSocket extends WebSocket {
  override close(code?: number, data?: string | Buffer): void {
    const was = this.readyState;
    super.close(code, data);
    if (was === WebSocket.OPEN && this.readyState === WebSocket.CLOSING) this.emit('closing');
  }
}

/**
 * OneBot v11 forward WebSocket server (`type: ws`): clients dial in on `/` (universal),
 * `/api` (actions only) or `/event` (events only). Tokens are checked before the upgrade.
 * Every event-carrying socket gets the lifecycle `connect` event as its first frame.
 *
 * It does not retry a failed listen. It pings every client each `ping_interval_ms` and cuts one
 * that missed two pongs. A close handshake not finished within CLOSE_TIMEOUT_MS is cut (ws
 * would wait 30 s) except during shutdown, which `shutdown.grace_ms` bounds.
 */
export class WsServer implements Transport {
  readonly key: string;
  readonly #config: WsServerConfig;
  readonly #deps: WsServerDeps;
  readonly #http: Server;
  readonly #wss: WebSocketServerOf<typeof ClosingSocket>;
  /** TCP connections that are not (yet) WebSockets: HTTP requests, pending handshakes. */
  readonly #raw = new Set<Duplex>();
  readonly #clients = new Set<OneBotSocket>();
  readonly #eventClients = new Set<OneBotSocket>();
  #state: State = 'idle';
  #admitting = 0;
  #rateLogged = 0;
  readonly #rateLimit: AddressRateLimit;
  readonly #guard: RequestGuard;
  /**
   * Optional asynchronous admission step, run after path and token checks and before the
   * upgrade. Resolve to admit; throw an AdmissionError to refuse with its status, anything else
   * refuses with 500. It is cut after `handshake_timeout_ms` (408). Unset, upgrades stay
   * synchronous. It does not see the WebSocket: nothing is sent before it settles.
   */
  admission: Admission | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #keepalive: NodeJS.Timeout | undefined;
  #endpoint: string;

  constructor(config: WsServerConfig, key: string, deps: WsServerDeps) {
    this.key = key;
    this.#config = config;
    this.#deps = deps;
    this.#endpoint = `ws://${config.host}:${config.port}`;
    this.#rateLimit = new AddressRateLimit(config.max_upgrades_per_address_per_s);
    this.#guard = new RequestGuard(config, {
      logger: deps.logger,
      onRefused: (kind) => deps.registry.countRefused(kind),
    });
    this.#wss = new WebSocketServer({
      WebSocket: ClosingSocket,
      noServer: true,
      maxPayload: config.max_payload_bytes,
      perMessageDeflate: config.compression,
      clientTracking: false,
    });
    this.#wss.on('headers', (headers) => headers.push(`X-Self-ID: ${deps.account.selfId}`));
    this.#http = createServer((req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket', Connection: 'close' });
      res.end('this is a OneBot v11 WebSocket endpoint: connect with a WebSocket client to /, /api or /event\n');
      req.resume();
    });
    this.#http.on('connection', (socket: Socket) => {
      if (!fdBudget.admit(socket, deps.logger)) return;
      this.#raw.add(socket);
      socket.once('close', () => this.#raw.delete(socket));
    });
    this.#http.on('upgrade', (req, socket, head) => {
      // A bug of ours on one handshake must cost that handshake, not the process.
      try {
        this.#onUpgrade(req, socket, head);
      } catch (err) {
        this.#deps.logger.error(`upgrade from ${remoteOf(req)} failed: ${(err as Error).message}`, {
          stack: (err as Error).stack,
        });
        rejectUpgrade(socket, 500, 'internal error');
      }
    });
    this.#http.on('clientError', (_err, socket) => socket.destroy());
  }

  /** `ws://host:port` with the real port once listening. */
  get endpoint(): string {
    return this.#endpoint;
  }

  /** Upgrades waiting in the admission step right now. */
  get admitting(): number {
    return this.#admitting;
  }

  get port(): number {
    const addr = this.#http.address();
    return addr && typeof addr === 'object' ? addr.port : this.#config.port;
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') return;
    const addr = await listen(this.#http, this.#config.host, this.#config.port, this.key);
    // Shutdown began while we were binding: do not start serving.
    if (this.#state !== 'idle') {
      this.#http.close();
      return;
    }
    this.#endpoint = `ws://${this.#config.host.includes(':') ? `[${this.#config.host}]` : this.#config.host}:${addr.port}`;
    this.#http.on('error', (err: NodeJS.ErrnoException) => fdBudget.acceptFailed(err, this.#deps.logger, this.key));
    this.#state = 'listening';
    this.#deps.account.on('event', this.#onEvent);
    const interval = this.#config.heartbeat_interval_ms;
    if (interval > 0)
      this.#heartbeat = setInterval(
        () => this.#broadcast(heartbeatEvent(this.#deps.account.selfId, this.#deps.account.status(), interval)),
        interval,
      );
    if (this.#config.ping_interval_ms > 0)
      this.#keepalive = setInterval(() => this.#ping(), this.#config.ping_interval_ms);
    this.#deps.logger.info(
      `forward WS listening on ${this.#endpoint} (/, /api, /event) for account ${this.#deps.account.selfId}`,
    );
  }

  stopAccepting(): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#state = 'closing';
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    clearInterval(this.#keepalive);
    this.#keepalive = undefined;
    this.#deps.account.off('event', this.#onEvent);
    this.#http.close();
  }

  abortPending(): number {
    const count = this.#raw.size;
    for (const socket of this.#raw) socket.destroy();
    this.#raw.clear();
    return count;
  }

  closeConnections(): void {
    for (const client of this.#clients) {
      if (client.ws.readyState !== WebSocket.OPEN) continue;
      client.conn.state = 'closing';
      client.ws.close(1001, 'server shutting down');
    }
  }

  terminate(): number {
    let cut = 0;
    for (const client of this.#clients) {
      cut++;
      client.ws.terminate();
    }
    this.abortPending();
    this.#http.closeAllConnections();
    this.#state = 'closed';
    return cut;
  }

  #onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const remote = remoteOf(req);
    const onHandshakeError = (err: Error) =>
      this.#deps.logger.debug(`handshake socket error from ${remote}: ${err.message}`);
    socket.on('error', onHandshakeError);
    if (this.#state !== 'listening') {
      rejectUpgrade(socket, 503, 'server shutting down');
      return;
    }
    // Web pages and DNS-rebinding names are turned away before anything else looks at them.
    const guard = this.#guard.check(req);
    if (!guard.ok) {
      rejectUpgrade(socket, guard.status, guard.reason);
      return;
    }
    const max = this.#config.max_connections;
    if (max > 0 && this.#clients.size >= max) {
      this.#deps.logger.warn(
        `rejected upgrade from ${remote}: ${this.#clients.size} clients connected (max_connections ${max}) (503)`,
      );
      rejectUpgrade(socket, 503, `too many connections (max_connections ${max}); retry later`, { 'Retry-After': '5' });
      return;
    }
    const address = req.socket.remoteAddress ?? '';
    if (!this.#rateLimit.take(address)) {
      this.#rateLogged++;
      // One line per 100 refusals: a client hammering us must not flood the log.
      if (this.#rateLogged % 100 === 1)
        this.#deps.logger.warn(
          `rejected upgrade from ${remote}: over max_upgrades_per_address_per_s ${this.#config.max_upgrades_per_address_per_s} (429; ${this.#rateLogged} so far)`,
        );
      rejectUpgrade(socket, 429, `too many connections from ${address}; retry later`, { 'Retry-After': '1' });
      return;
    }
    const url = requestUrl(req);
    if (!url) {
      this.#deps.logger.warn(`rejected upgrade from ${remote}: malformed request target (400)`);
      rejectUpgrade(socket, 400, 'malformed request target');
      return;
    }
    const role = roleForPath(url.pathname);
    const auth = authorize(req, url, this.#config.access_token);
    if (!auth.ok) {
      this.#deps.logger.warn(`rejected upgrade from ${remote} on ${url.pathname}: ${auth.reason} (${auth.status})`);
      rejectUpgrade(socket, auth.status, auth.reason, auth.status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {});
      return;
    }
    const admission = this.admission;
    if (!admission) {
      this.#upgrade(req, socket, head, role, onHandshakeError);
      return;
    }
    this.#admit(admission, req, socket, head, role, remote, onHandshakeError);
  }

  /**
   * Runs the async admission step: exactly one outcome per socket. Whichever comes first wins
   * (the check settling, the handshake timeout, the socket closing); the others find `done`.
   */
  #admit(
    admission: Admission,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    role: Role,
    remote: string,
    onHandshakeError: (err: Error) => void,
  ): void {
    let done = false;
    this.#admitting++;
    const finish = (): boolean => {
      if (done) return false;
      done = true;
      this.#admitting--;
      clearTimeout(timer);
      socket.off('close', onClose);
      return true;
    };
    const onClose = (): void => void finish();
    socket.once('close', onClose);
    const ms = this.#config.handshake_timeout_ms;
    const timer =
      ms > 0
        ? setTimeout(() => {
            if (!finish()) return;
            this.#deps.logger.warn(
              `rejected upgrade from ${remote}: admission took longer than handshake_timeout_ms ${ms} (408)`,
            );
            rejectUpgrade(socket, 408, 'admission timed out');
          }, ms)
        : undefined;
    let pending: Promise<void>;
    try {
      pending = Promise.resolve(admission(req));
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      () => {
        if (!finish()) return;
        if (this.#state !== 'listening') rejectUpgrade(socket, 503, 'server shutting down');
        else if (!socket.destroyed) this.#upgrade(req, socket, head, role, onHandshakeError);
      },
      (err: unknown) => {
        if (!finish()) return;
        const status = err instanceof AdmissionError ? err.status : 500;
        const message = err instanceof Error ? err.message : String(err);
        this.#deps.logger.warn(
          `rejected upgrade from ${remote}: admission ${status === 500 ? 'failed' : 'refused'}: ${message} (${status})`,
        );
        rejectUpgrade(socket, status, status === 500 ? 'admission check failed' : message);
      },
    );
  }

  #upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    role: Role,
    onHandshakeError: (err: Error) => void,
  ): void {
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      // The WebSocket handles socket errors from here on. Left attached, our listener would pin
      // this upgrade's scope (req and its headers, ~2 KiB) for the life of the connection.
      socket.off('error', onHandshakeError);
      this.#raw.delete(socket);
      this.#accept(ws, req, role);
    });
  }

  #accept(ws: WebSocket, req: IncomingMessage, role: Role): void {
    const { account, registry, logger } = this.#deps;
    const ua = req.headers['user-agent'];
    const conn = registry.add({
      transport: 'ws',
      role,
      endpoint: this.#endpoint,
      remote: remoteOf(req),
      selfId: account.selfId,
      userAgent: ua,
    });
    const client = new OneBotSocket(
      ws,
      conn,
      { account, logger, policy: this.#deps.policy },
      this.#config.message_format,
      {
        maxInFlight: this.#config.max_actions_in_flight,
        maxBufferedBytes: this.#config.max_buffered_bytes,
        maxDroppedInRow: this.#config.max_dropped_events,
        maxJsonDepth: this.#deps.limits.max_json_depth,
      },
    );
    this.#clients.add(client);
    conn.closing = () => ws.readyState === WebSocket.CLOSING;
    // A peer that neither answers our close frame nor closes after its own would stay `closing`
    // for ws's 30 s. Shutdown has its own bound (grace_ms, then every socket is cut).
    let stalled: NodeJS.Timeout | undefined;
    ws.once('closing', () => {
      if (this.#state !== 'listening') return;
      stalled = setTimeout(() => {
        logger.warn(`#${conn.id} did not finish its close handshake within ${CLOSE_TIMEOUT_MS} ms; cut`);
        ws.terminate();
      }, CLOSE_TIMEOUT_MS);
    });
    ws.on('error', (err: Error & { code?: string }) =>
      logger.warn(`#${conn.id} ${err.message}${err.code ? ` (${err.code})` : ''}`),
    );
    ws.on('close', (code, reason) => {
      clearTimeout(stalled);
      this.#clients.delete(client);
      this.#eventClients.delete(client);
      registry.remove(conn, `code ${code}${reason.length ? ` ${reason.toString()}` : ''}`);
    });
    if (role !== 'api') {
      // First frame on every event-carrying socket: NoneBot drops everything before it.
      client.send(this.#deps.encoder.encode(lifecycleEvent(account.selfId, 'connect'), this.#config.message_format));
      this.#eventClients.add(client);
    }
  }

  readonly #onEvent = (event: OneBotEvent): void => {
    if (this.#deps.policy && !this.#deps.policy.admit(event, this.#config.message_format)) return;
    this.#broadcast(event);
  };

  #broadcast(event: OneBotEvent): void {
    if (this.#eventClients.size === 0) return;
    const buf = this.#deps.encoder.encode(event, this.#config.message_format);
    for (const client of this.#eventClients) client.sendEvent(buf);
  }

  /** Keepalive: a client that missed two pongs is half-open or gone; cut it. */
  #ping(): void {
    for (const client of this.#clients) {
      if (client.missedPongs >= 2) {
        this.#deps.logger.warn(
          `#${client.conn.id} missed 2 pongs (ping_interval_ms ${this.#config.ping_interval_ms}); cut`,
        );
        client.ws.terminate();
        continue;
      }
      client.missedPongs++;
      client.ws.ping();
    }
  }
}
