import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HttpServerConfig } from '../config/schema.js';
import { heartbeatEvent, lifecycleEvent } from '../onebot/events.js';
import { failed } from '../onebot/router.js';
import { Retcode, type ActionResponse, type OneBotEvent } from '../onebot/types.js';
import type { Connection } from '../registry.js';
import { authorize, remoteOf, remoteOfSocket } from './auth.js';
import { BodyError, jsonValues, readParams } from './http-body.js';
import { clip } from '../untrusted-json.js';
import { fdBudget } from './fd-budget.js';
import { listen } from './listen.js';
import { corsHeaders, RequestGuard } from './request-guard.js';
import { requestUrl } from './request-url.js';
import type { Transport, TransportDeps } from './transport.js';

export type HttpServerDeps = TransportDeps;

interface SseClient {
  readonly res: ServerResponse;
  readonly conn: Connection;
  /** Events dropped in a row, while it does not read. */
  dropped: number;
}

const HTTP_STATUS_FOR: Readonly<Record<number, number>> = {
  400: Retcode.BAD_REQUEST,
  406: Retcode.BAD_REQUEST,
  413: Retcode.BAD_REQUEST,
};

/**
 * OneBot v11 HTTP API (`type: http`): `GET|POST /:action` and `POST /` with `{action, params}`,
 * params from the query, a JSON body or a form; plus SSE on `GET /_events` when `sse: true`.
 * Status codes per the spec: 401/403 tokens, 406 content type, 400 body, 404 unknown action,
 * 200 otherwise with the result in the body. Each TCP connection is in the registry. Web pages
 * and foreign `Host` names are refused first (`RequestGuard`, 403/421).
 *
 * It does not implement HTTP/2, nor CORS beyond answering the origins in `allowed_origins`.
 */
export class HttpServer implements Transport {
  readonly key: string;
  readonly #config: HttpServerConfig;
  readonly #deps: HttpServerDeps;
  readonly #http: Server;
  readonly #sockets = new Map<Socket, Connection>();
  readonly #sse = new Set<SseClient>();
  readonly #guard: RequestGuard;
  #closing = false;
  #heartbeat: NodeJS.Timeout | undefined;
  #endpoint: string;

  constructor(config: HttpServerConfig, key: string, deps: HttpServerDeps) {
    this.key = key;
    this.#config = config;
    this.#deps = deps;
    this.#endpoint = `http://${config.host}:${config.port}`;
    this.#guard = new RequestGuard(config, {
      logger: deps.logger,
      onRefused: (kind) => deps.registry.countRefused(kind),
    });
    this.#http = createServer((req, res) => {
      // Last resort: whatever a request does, it ends in an answer, never an unhandled rejection.
      this.#serve(req, res).catch((err: Error) => {
        this.#deps.logger.error(`${req.method} ${req.url} failed: ${err.message}`, { stack: err.stack });
        if (!res.headersSent && !res.destroyed)
          res
            .writeHead(500, { 'Content-Type': 'application/json' })
            .end(JSON.stringify(failed(Retcode.INTERNAL, 'internal error')));
        else res.destroy();
      });
    });
    this.#http.keepAliveTimeout = 5000;
    this.#http.on('connection', (socket: Socket) => {
      if (!fdBudget.admit(socket, deps.logger)) return;
      const conn = deps.registry.add({
        transport: 'http',
        role: 'api',
        endpoint: this.#endpoint,
        remote: remoteOfSocket(socket),
        selfId: deps.account.selfId,
      });
      this.#sockets.set(socket, conn);
      socket.once('close', () => {
        this.#sockets.delete(socket);
        deps.registry.remove(conn);
      });
    });
    this.#http.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.#clientError(err, socket));
  }

  /** Unparsable HTTP gets a status saying why (431 headers too large, 400 otherwise), then the socket goes. */
  #clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const status =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? '431 Request Header Fields Too Large'
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? '408 Request Timeout'
          : '400 Bad Request';
    this.#deps.logger.warn(
      `malformed HTTP from ${remoteOfSocket(socket)}: ${err.code ?? err.message} (${status.slice(0, 3)})`,
    );
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroySoon();
  }

  get port(): number {
    const addr = this.#http.address();
    return addr && typeof addr === 'object' ? addr.port : this.#config.port;
  }

  async start(): Promise<void> {
    const addr = await listen(this.#http, this.#config.host, this.#config.port, this.key);
    if (this.#closing) {
      this.#http.close();
      return;
    }
    this.#endpoint = `http://${this.#config.host.includes(':') ? `[${this.#config.host}]` : this.#config.host}:${addr.port}`;
    this.#http.on('error', (err: NodeJS.ErrnoException) => fdBudget.acceptFailed(err, this.#deps.logger, this.key));
    if (this.#config.sse) {
      this.#deps.account.on('event', this.#onEvent);
      const interval = this.#config.heartbeat_interval_ms;
      if (interval > 0)
        this.#heartbeat = setInterval(
          () => this.#onEvent(heartbeatEvent(this.#deps.account.selfId, this.#deps.account.status(), interval)),
          interval,
        );
    }
    this.#deps.logger.info(
      `HTTP API listening on ${this.#endpoint} (/:action${this.#config.sse ? ', SSE on /_events' : ''}) for account ${this.#deps.account.selfId}`,
    );
  }

  stopAccepting(): void {
    if (this.#closing) return;
    this.#closing = true;
    clearInterval(this.#heartbeat);
    this.#deps.account.off('event', this.#onEvent);
    this.#http.close();
    this.#http.closeIdleConnections();
  }

  abortPending(): number {
    // A connection that has not sent a byte has no request to finish: a browser's preconnect, or
    // the spare socket a client's pool opens after an aborted stream. Node counts it as busy, not
    // idle, so closeIdleConnections() leaves it, and it would hold the shutdown to grace_ms.
    let aborted = 0;
    for (const socket of this.#sockets.keys()) {
      if (socket.bytesRead > 0) continue;
      socket.destroy();
      aborted++;
    }
    this.#http.closeIdleConnections();
    return aborted;
  }

  closeConnections(): void {
    // SSE streams end; requests in flight finish and their sockets close after the answer.
    for (const client of this.#sse) client.res.end();
    this.#http.closeIdleConnections();
  }

  terminate(): number {
    const open = this.#sockets.size;
    for (const socket of this.#sockets.keys()) socket.destroy();
    this.#http.closeAllConnections();
    return open;
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const conn = this.#sockets.get(req.socket);
    conn?.countIn(Number(req.headers['content-length'] ?? 0));
    const send = (status: number, body: ActionResponse | Record<string, unknown>) => {
      const text = JSON.stringify(body);
      // During shutdown the socket goes with its last answer instead of idling.
      if (this.#closing) res.shouldKeepAlive = false;
      res.writeHead(status, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(text),
      });
      res.end(text);
      conn?.countOut(Buffer.byteLength(text));
    };
    if (this.#closing) {
      req.resume();
      return send(503, failed(Retcode.INTERNAL, 'server shutting down'));
    }
    // Before the token and any action: a web page's request (CSRF) or a rebinding name never runs.
    const guard = this.#guard.check(req);
    if (!guard.ok) {
      req.resume();
      return send(guard.status, failed(Retcode.FORBIDDEN, guard.reason));
    }
    if (guard.corsOrigin) {
      for (const [name, value] of Object.entries(corsHeaders(guard.corsOrigin))) res.setHeader(name, value);
      if (req.method === 'OPTIONS') {
        req.resume();
        return void res.writeHead(204).end();
      }
    }
    const url = requestUrl(req);
    if (!url) {
      req.resume();
      return send(400, failed(Retcode.BAD_REQUEST, 'malformed request target'));
    }
    const auth = authorize(req, url, this.#config.access_token);
    if (!auth.ok) {
      req.resume();
      this.#deps.logger.warn(
        `rejected ${req.method} ${url.pathname} from ${remoteOf(req)}: ${auth.reason} (${auth.status})`,
      );
      return send(auth.status, failed(auth.status === 401 ? Retcode.UNAUTHORIZED : Retcode.FORBIDDEN, auth.reason));
    }
    if (req.method !== 'GET' && req.method !== 'POST') {
      req.resume();
      res.setHeader('Allow', 'GET, POST');
      return send(405, failed(Retcode.BAD_REQUEST, `method ${req.method} not allowed; use GET or POST`));
    }
    const path = url.pathname.length > 1 && url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
    if (path === '/_events' && this.#config.sse && req.method === 'GET') return this.#openSse(req, res, conn);

    let params: Record<string, unknown>;
    try {
      params = jsonValues(url.searchParams, this.#deps.limits.max_json_depth);
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      req.resume();
      this.#deps.logger.warn(`${req.method} ${url.pathname} from ${remoteOf(req)}: ${err.message} (400)`);
      return send(400, failed(Retcode.BAD_REQUEST, err.message));
    }
    delete params['access_token'];
    let action: string;
    try {
      action = decodeURIComponent(path.slice(1));
    } catch {
      req.resume();
      return send(400, failed(Retcode.BAD_REQUEST, 'malformed URL (bad percent-encoding)'));
    }
    let echo: unknown;
    if (req.method === 'POST') {
      try {
        const body = await readParams(req, this.#config.max_body_bytes, this.#deps.limits.max_json_depth);
        if (action === '') {
          // POST / with {action, params, echo}, as several clients send it.
          if (typeof body['action'] !== 'string')
            return send(400, failed(Retcode.BAD_REQUEST, 'POST / needs a JSON body {action, params}'));
          action = body['action'];
          echo = body['echo'];
          const inner = body['params'];
          if (inner !== undefined && (typeof inner !== 'object' || inner === null || Array.isArray(inner)))
            return send(400, failed(Retcode.BAD_REQUEST, '"params" must be an object', echo));
          params = { ...params, ...(inner as Record<string, unknown> | undefined) };
        } else params = { ...params, ...body };
      } catch (err) {
        if (!(err instanceof BodyError)) throw err;
        this.#deps.logger.warn(`${req.method} ${url.pathname} from ${remoteOf(req)}: ${err.message} (${err.status})`);
        if (err.status === 413) res.shouldKeepAlive = false;
        return send(
          err.status,
          failed(HTTP_STATUS_FOR[err.status] ?? Retcode.BAD_REQUEST, err.message, action === '' ? err.echo : undefined),
        );
      }
    } else req.resume();
    if (action === '') return send(404, failed(Retcode.NOT_FOUND, 'no action: request /<action>, e.g. /get_status'));
    const { account, policy } = this.#deps;
    // The entry's policy speaks first, as on WebSocket: a name it refuses answers 1403 whether it
    // exists or not, so no client can probe past a deny or allow list for which actions exist.
    if (!account.router.knows(action) && policy?.check({ action, params }) === undefined) {
      return send(404, failed(Retcode.NOT_FOUND, `unknown action: ${clip(action)}`, echo));
    }
    const result = await account.router.call(echo === undefined ? { action, params } : { action, params, echo }, {
      selfId: account.selfId,
      format: this.#config.message_format,
      policy: this.#deps.policy,
      conn,
    });
    // The client may have gone; an answer to nobody is dropped, not an error.
    if (!res.destroyed) send(200, result);
  }

  #openSse(req: IncomingMessage, res: ServerResponse, socketConn: Connection | undefined): void {
    const { registry, account, encoder } = this.#deps;
    // The socket now carries an event stream: track it as such.
    if (socketConn) registry.remove(socketConn, 'became an SSE stream');
    const conn = registry.add({
      transport: 'sse',
      role: 'event',
      endpoint: `${this.#endpoint}/_events`,
      remote: remoteOf(req),
      selfId: account.selfId,
      userAgent: req.headers['user-agent'],
    });
    const client: SseClient = { res, conn, dropped: 0 };
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.once('close', () => {
      this.#sse.delete(client);
      registry.remove(conn, 'stream closed');
    });
    this.#sse.add(client);
    this.#write(client, encoder.encode(lifecycleEvent(account.selfId, 'connect'), this.#config.message_format));
  }

  #write(client: SseClient, json: Buffer): void {
    const { res, conn } = client;
    if (res.writableEnded || res.destroyed) return;
    const limit = this.#config.max_buffered_bytes;
    if (res.writableLength > limit) {
      // Not reading: drop (counted); after too many in a row, cut the stream.
      conn.eventsDropped++;
      client.dropped++;
      if (this.#deps.policy) this.#deps.policy.counts.dropped++;
      if (conn.eventsDropped === 1 || conn.eventsDropped % 1000 === 0)
        this.#deps.logger.warn(
          `#${conn.id} SSE client is not reading (${res.writableLength} bytes unsent); ${conn.eventsDropped} events dropped`,
        );
      if (client.dropped >= this.#config.max_dropped_events) {
        this.#deps.logger.warn(
          `#${conn.id} SSE client cut: missed ${client.dropped} events in a row (max_dropped_events)`,
        );
        res.destroy();
      }
      return;
    }
    client.dropped = 0;
    res.write(`data: ${json.toString('utf8')}\n\n`);
    conn.countOut(json.length + 8);
    if (this.#deps.policy) this.#deps.policy.counts.delivered++;
  }

  readonly #onEvent = (event: OneBotEvent): void => {
    if (this.#sse.size === 0) return;
    if (this.#deps.policy && !this.#deps.policy.admit(event, this.#config.message_format)) return;
    const json = this.#deps.encoder.encode(event, this.#config.message_format);
    for (const client of this.#sse) this.#write(client, json);
  };
}
