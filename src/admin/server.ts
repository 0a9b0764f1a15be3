import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AdminConfig, LimitsConfig } from '../config/schema.js';
import { recentLogs, type Logger } from '../logger.js';
import { VERSION } from '../package-info.js';
import type { ConnectionRegistry } from '../registry.js';
import { BodyError, readBody } from '../kit/body.js';
import { authorize, remoteOf } from '../transport/auth.js';
import { fdBudget, fdLimit, fdsOpen } from '../transport/fd-budget.js';
import { listen } from '../transport/listen.js';
import { corsHeaders, RequestGuard } from '../transport/request-guard.js';
import { requestUrl } from '../transport/request-url.js';
import { depthMessage, parseUntrustedJson } from '../untrusted-json.js';
import type { Transport } from '../transport/transport.js';
import type { Metrics } from '../metrics.js';
import type { ReloadReport } from '../reload.js';
import { ConfigError } from '../errors.js';
import { dashboardAsset } from './dashboard-assets.js';
import { liveFeed } from './live-feed.js';
import { isStream, type AdminStream, type AdminRoute } from './route.js';

const MAX_BODY_BYTES = 1024 * 1024;
/** A live feed whose reader lets more than this pile up unread is cut (it reconnects). */
const MAX_STREAM_BACKLOG_BYTES = 4 * 1024 * 1024;
/** A comment line this often keeps proxies and the reader's idle timers from closing a quiet feed. */
const STREAM_KEEPALIVE_MS = 15_000;

export interface AdminServerDeps {
  readonly registry: ConnectionRegistry;
  readonly logger: Logger;
  readonly routes: readonly AdminRoute[];
  /** Process-wide input limits (`limits:`): bodies nested deeper are refused with 400. */
  readonly limits: LimitsConfig;
  /** Extra facts for `GET /status`. */
  readonly describe: () => Record<string, unknown>;
  /** Serves `GET /metrics` when set. */
  readonly metrics?: Metrics | undefined;
  /** Serves `POST /reload` when set: re-reads the config; throws ConfigError when it is invalid. */
  readonly reload?: (() => ReloadReport) | undefined;
  /** Extra facts for `GET /connections` (send queue depth per account). */
  readonly describeConnections?: () => Record<string, unknown>;
}

/**
 * The local control endpoint: `GET /connections` (the registry), `GET /status`, `GET /events`
 * (the live feed), plus routes that components add (the sandbox's message injection). JSON
 * in, JSON out, same token rules as OneBot. Also serves the dashboard page at `/` (the page
 * holds no data and asks for the token). Not a OneBot transport: its connections are not in
 * the registry.
 */
export class AdminServer implements Transport {
  readonly key = 'admin';
  readonly #config: AdminConfig;
  readonly #deps: AdminServerDeps;
  readonly #http: Server;
  readonly #routes = new Map<string, AdminRoute>();
  /** Aborted at shutdown: long polls answer at once instead of holding their sockets. */
  readonly #closing = new AbortController();
  readonly #started = Date.now();
  readonly #inflight = new Set<ServerResponse>();
  readonly #drainWaiters = new Set<() => void>();
  readonly #guard: RequestGuard;
  #url = '';

  constructor(config: AdminConfig, deps: AdminServerDeps) {
    this.#config = config;
    this.#deps = deps;
    // ownPages: the admin server's own pages (the dashboard) call it from its own origin.
    this.#guard = new RequestGuard(config, {
      ownPages: true,
      logger: deps.logger,
      onRefused: (kind) => deps.registry.countRefused(kind),
    });
    const builtins: AdminRoute[] = [
      {
        method: 'GET',
        path: '/connections',
        handle: () => ({
          status: 200,
          body: {
            count: deps.registry.size,
            connections: deps.registry.snapshot(),
            ...deps.describeConnections?.(),
            fds: fileDescriptors(),
          },
        }),
      },
      { method: 'GET', path: '/status', handle: () => ({ status: 200, body: this.#status() }) },
      liveFeed({ registry: deps.registry, logs: recentLogs, status: () => this.#status(), fds: fileDescriptors }),
    ];
    const metrics = deps.metrics;
    if (metrics)
      builtins.push({
        method: 'GET',
        path: '/metrics',
        handle: async () => ({ status: 200, body: await metrics.scrape(), contentType: metrics.contentType }),
      });
    const reload = deps.reload;
    if (reload) {
      builtins.push({
        method: 'POST',
        path: '/reload',
        handle: () => {
          try {
            return { status: 200, body: { ok: true, ...reload() } };
          } catch (err) {
            if (err instanceof ConfigError)
              return { status: 400, body: { ok: false, error: err.message, problems: err.problems } };
            if ((err as { code?: string }).code === 'ONEBRIDGE_RELOAD_UNAVAILABLE')
              return { status: 409, body: { ok: false, error: (err as Error).message } };
            throw err;
          }
        },
      });
    }
    for (const route of [...builtins, ...deps.routes]) {
      const id = `${route.method} ${route.path}`;
      if (!this.#routes.has(id)) this.#routes.set(id, route);
    }
    this.#http = createServer((req, res) => {
      this.#serve(req, res).catch((err: Error) => {
        this.#deps.logger.error(`admin: ${req.method} ${req.url} failed: ${err.message}`);
        if (!res.headersSent && !res.destroyed) res.writeHead(500).end();
        else res.destroy();
      });
    });
    this.#http.keepAliveTimeout = 5000;
  }

  #status(): Record<string, unknown> {
    return {
      app: 'onebridge',
      version: VERSION,
      pid: process.pid,
      uptime_ms: Date.now() - this.#started,
      connections: this.#deps.registry.size,
      refused: this.#deps.registry.refusals(),
      ...this.#deps.describe(),
    };
  }

  get url(): string {
    return this.#url;
  }

  async start(): Promise<void> {
    const addr = await listen(this.#http, this.#config.host, this.#config.port, this.key);
    if (this.#closing.signal.aborted) {
      this.#http.close();
      return;
    }
    this.#url = `http://${this.#config.host.includes(':') ? `[${this.#config.host}]` : this.#config.host}:${addr.port}`;
    this.#http.on('error', (err: NodeJS.ErrnoException) => fdBudget.acceptFailed(err, this.#deps.logger, this.key));
    this.#deps.logger.info(
      `admin endpoint on ${this.#url} (GET /connections, GET /status${this.#deps.metrics ? ', GET /metrics' : ''}, POST /reload)`,
    );
    this.#deps.logger.info(`dashboard: open ${this.#url}/ in a browser`);
  }

  stopAccepting(): void {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    this.#http.close();
    this.#http.closeIdleConnections();
  }

  abortPending(): number {
    this.#http.closeIdleConnections();
    return 0;
  }

  closeConnections(): void {
    this.#http.closeIdleConnections();
  }

  whenDrained(signal: AbortSignal): Promise<boolean> {
    if (this.#inflight.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = () => {
        if (this.#inflight.size > 0 && !signal.aborted) return;
        signal.removeEventListener('abort', check);
        this.#drainWaiters.delete(check);
        resolve(this.#inflight.size === 0);
      };
      this.#drainWaiters.add(check);
      signal.addEventListener('abort', check, { once: true });
    });
  }

  terminate(): number {
    this.#http.closeAllConnections();
    return 0;
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#inflight.add(res);
    res.once('close', () => {
      this.#inflight.delete(res);
      for (const waiter of [...this.#drainWaiters]) waiter();
    });
    const send = (status: number, body: unknown, contentType?: string) => {
      const text = contentType ? String(body) : `${JSON.stringify(body)}\n`;
      // While shutting down, the socket goes with the answer instead of idling in keep-alive.
      if (this.#closing.signal.aborted) res.shouldKeepAlive = false;
      res.writeHead(status, {
        'Content-Type': contentType ?? 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    const guard = this.#guard.check(req);
    if (!guard.ok) {
      req.resume();
      send(guard.status, { error: guard.reason });
      return;
    }
    if (guard.corsOrigin) {
      for (const [name, value] of Object.entries(corsHeaders(guard.corsOrigin))) res.setHeader(name, value);
      if (req.method === 'OPTIONS') {
        req.resume();
        res.writeHead(204).end();
        return;
      }
    }
    const url = requestUrl(req);
    if (!url) {
      req.resume();
      send(400, { error: 'malformed request target' });
      return;
    }
    const asset = req.method === 'GET' ? dashboardAsset(url.pathname) : undefined;
    if (asset) {
      req.resume();
      if (this.#closing.signal.aborted) res.shouldKeepAlive = false;
      res.writeHead(200, asset.headers).end(asset.body);
      return;
    }
    // State changes take the token from the Authorization header only: a URL can be planted in
    // a page or a log, a header cannot. Cookies are never read.
    const auth =
      req.method === 'GET'
        ? authorize(req, url, this.#config.access_token)
        : authorize(req, new URL(url.pathname, url), this.#config.access_token);
    if (!auth.ok) {
      this.#deps.logger.warn(`admin: rejected ${req.method} ${url.pathname} from ${remoteOf(req)}: ${auth.reason}`);
      req.resume();
      const viaQuery = req.method !== 'GET' && auth.status === 401 && url.searchParams.has('access_token');
      send(auth.status, {
        error: viaQuery
          ? 'access token missing: on POST send it as "Authorization: Bearer <token>", not in the URL'
          : auth.reason,
      });
      return;
    }
    const path = url.pathname.length > 1 && url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
    const route = this.#routes.get(`${req.method} ${path}`);
    if (!route) {
      req.resume();
      const allowed = [...this.#routes.values()].filter((r) => r.path === path).map((r) => r.method);
      if (allowed.length) send(405, { error: `method ${req.method} not allowed; use ${allowed.join(', ')}` });
      else send(404, { error: `no admin endpoint ${path}` });
      return;
    }
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    try {
      const body = req.method === 'POST' ? await readJson(req, this.#deps.limits.max_json_depth) : undefined;
      const reply = await route.handle({
        query: url.searchParams,
        body,
        signal: AbortSignal.any([gone.signal, this.#closing.signal]),
      });
      if (res.writableEnded || res.destroyed) return;
      if (isStream(reply)) this.#openStream(res, reply, gone.signal);
      else send(reply.status, reply.body, reply.contentType);
    } catch (err) {
      const status = err instanceof BodyError ? err.status : 500;
      if (status === 500) this.#deps.logger.error(`admin: ${req.method} ${path} failed: ${(err as Error).message}`);
      else
        this.#deps.logger.warn(
          `admin: ${req.method} ${path} from ${remoteOf(req)}: ${(err as Error).message} (${status})`,
        );
      // A body left unread (413) must not keep the socket: it goes with the answer.
      if (status === 413) res.shouldKeepAlive = false;
      if (!res.headersSent && !res.destroyed) send(status, { error: (err as Error).message });
    }
  }

  /** Server-sent events until the reader leaves or the server shuts down; then the response ends. */
  #openStream(res: ServerResponse, reply: AdminStream, gone: AbortSignal): void {
    // Gone already (client left while the route ran): no listener would ever end the feed.
    if (this.#closing.signal.aborted || gone.aborted) {
      if (!res.destroyed) res.writeHead(503).end();
      return;
    }
    // Its own controller, held by the listeners below, so the signal lives as long as the feed.
    const stop = new AbortController();
    const end = () => {
      if (stop.signal.aborted) return;
      clearInterval(keepalive);
      gone.removeEventListener('abort', end);
      this.#closing.signal.removeEventListener('abort', end);
      stop.abort();
      if (!res.destroyed) res.end();
    };
    const write = (text: string) => {
      if (stop.signal.aborted || res.destroyed) return;
      res.write(text);
      if (res.writableLength > MAX_STREAM_BACKLOG_BYTES) {
        this.#deps.logger.warn(
          `admin: live feed reader at ${remoteOf(res.req)} fell ${res.writableLength} bytes behind; cut`,
        );
        end();
        res.destroy();
      }
    };
    const keepalive = setInterval(() => write(': keepalive\n\n'), STREAM_KEEPALIVE_MS);
    gone.addEventListener('abort', end, { once: true });
    this.#closing.signal.addEventListener('abort', end, { once: true });
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    reply.stream((event, data) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`), stop.signal);
  }
}

/** Descriptors open and the limit (null where the platform does not tell), and client sockets against their budget. */
function fileDescriptors() {
  const limit = fdLimit();
  return {
    open: fdsOpen() ?? null,
    limit: limit === undefined || !Number.isFinite(limit) ? null : limit,
    client_sockets: fdBudget.open,
    client_budget: Number.isFinite(fdBudget.cap) ? fdBudget.cap : null,
  };
}

async function readJson(req: IncomingMessage, maxDepth: number): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    req.resume();
    throw new BodyError(406, 'send a JSON body with Content-Type: application/json');
  }
  const raw = await readBody(req, MAX_BODY_BYTES, 'admin body limit');
  const parsed = parseUntrustedJson(raw.toString('utf8'), maxDepth);
  if (parsed.ok) return parsed.value;
  throw new BodyError(400, parsed.reason === 'depth' ? depthMessage('body', maxDepth) : 'body is not valid JSON');
}
