import { createServer, type Server } from 'node:http';
import { BodyError, depthMessage, listen, parseUntrustedJson, readBody, remoteOf, requestUrl, USER_AGENT, verifyBody, withArrayMessage, type ActionRequest, type ActionResponse, type Logger, type OneBotEvent, type RequestGuard } from '../../src/kit/index.js';
import { RelayRetcode } from './channel.js';

/** Largest webhook body accepted from the implementation (as the ws modes' frame limit). */
const MAX_EVENT_BYTES = 256 * 1024 * 1024;

export interface HttpUpstreamOptions {
  /** The implementation's HTTP API root, e.g. http://127.0.0.1:3000/ */
  readonly url: string;
  readonly accessToken: string;
  readonly timeoutMs: number;
  /** Where onebridge receives the implementation's HTTP POST events. */
  readonly host: string;
  readonly port: number;
  readonly path: string;
  /** Checks `X-Signature` when set. */
  readonly secret: string;
  /** `limits.max_json_depth`: deeper answers and events are refused unbuilt. */
  readonly maxJsonDepth: number;
  readonly logger: Logger;
  /** Refuses web pages and foreign Host names before an event is read. */
  readonly guard: RequestGuard;
  readonly onEvent: (event: OneBotEvent) => void;
}

type Answer = Omit<ActionResponse, 'echo'>;
const failure = (retcode: number, message: string): Answer => ({ status: 'failed', retcode, data: null, message, wording: message });

/**
 * The relay's `mode: http`: actions are POSTed to the implementation's HTTP API; events
 * arrive as its HTTP POST webhooks on a small server of ours (signature checked when a secret
 * is set; answered 204, so no quick operation is taken from onebridge's side).
 */
export class HttpUpstream {
  readonly #o: HttpUpstreamOptions;
  readonly #server: Server;
  #inFlight = 0;
  /** Whether the last request reached the implementation. */
  reachable = true;
  onSent: ((bytes: number) => void) | undefined;

  constructor(options: HttpUpstreamOptions) {
    this.#o = options;
    this.#server = createServer((req, res) => {
      this.#receive(req, res).catch((err: Error) => {
        this.#o.logger.error(`upstream event from ${remoteOf(req)} failed: ${err.message}`, { stack: err.stack });
        if (!res.headersSent && !res.destroyed) res.writeHead(500).end();
        else res.destroy();
      });
    });
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  async start(): Promise<void> {
    await listen(this.#server, this.#o.host, this.#o.port, 'upstream');
    this.#o.logger.info(`receiving upstream events on http://${this.#o.host}:${this.#o.port}${this.#o.path}; actions go to ${this.#o.url}`);
  }

  stop(): void {
    this.#server.close();
    this.#server.closeAllConnections();
  }

  async call(req: ActionRequest): Promise<Answer> {
    const body = JSON.stringify(req.params);
    const headers: Record<string, string> = { 'Content-Type': 'application/json', 'User-Agent': USER_AGENT };
    if (this.#o.accessToken) headers['Authorization'] = `Bearer ${this.#o.accessToken}`;
    const url = new URL(encodeURIComponent(req.action), this.#o.url.endsWith('/') ? this.#o.url : `${this.#o.url}/`);
    this.#inFlight++;
    try {
      const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.#o.timeoutMs) });
      this.onSent?.(Buffer.byteLength(body));
      this.reachable = true;
      const text = await res.text();
      const parsed = parseUntrustedJson(text, this.#o.maxJsonDepth);
      if (parsed.ok && typeof parsed.value === 'object' && parsed.value !== null) {
        const { echo: _none, ...rest } = parsed.value as Answer & { echo?: unknown };
        return rest;
      }
      if (!parsed.ok && parsed.reason === 'depth') {
        this.#o.logger.warn(`${depthMessage(`upstream's answer to ${req.action}`, this.#o.maxJsonDepth)}; it fails with ${RelayRetcode.BAD_UPSTREAM_ANSWER}`);
        return failure(RelayRetcode.BAD_UPSTREAM_ANSWER, depthMessage(`upstream's answer to ${req.action}`, this.#o.maxJsonDepth));
      }
      return failure(res.status === 404 ? 1404 : RelayRetcode.UPSTREAM_DOWN, `upstream answered HTTP ${res.status} without JSON`);
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError') return failure(RelayRetcode.UPSTREAM_TIMEOUT, `upstream did not answer ${req.action} within ${this.#o.timeoutMs} ms (action_timeout_ms)`);
      this.reachable = false;
      return failure(RelayRetcode.UPSTREAM_DOWN, `upstream ${this.#o.url} is not reachable (${e.cause?.code ?? e.message}); ${req.action} was not done`);
    } finally {
      this.#inFlight--;
    }
  }

  async #receive(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const guard = this.#o.guard.check(req);
    if (!guard.ok) {
      req.resume();
      res.writeHead(guard.status).end();
      return;
    }
    const url = requestUrl(req);
    if (req.method !== 'POST' || url?.pathname !== this.#o.path) {
      req.resume();
      res.writeHead(404).end();
      return;
    }
    let raw: Buffer;
    try {
      raw = await readBody(req, MAX_EVENT_BYTES, 'relay event limit');
    } catch (err) {
      const status = err instanceof BodyError ? err.status : 400;
      this.#o.logger.warn(`upstream event from ${remoteOf(req)} not read: ${(err as Error).message}`);
      if (!res.headersSent && !res.destroyed) res.writeHead(status, { Connection: 'close' }).end();
      return;
    }
    if (this.#o.secret) {
      if (!verifyBody(this.#o.secret, raw, req.headers['x-signature'])) {
        this.#o.logger.warn(`upstream event from ${remoteOf(req)} has a wrong X-Signature; dropped (check secret)`);
        res.writeHead(403).end();
        return;
      }
    }
    const parsed = parseUntrustedJson(raw.toString('utf8'), this.#o.maxJsonDepth);
    if (!parsed.ok) {
      const why = parsed.reason === 'depth' ? depthMessage('it', this.#o.maxJsonDepth) : 'it is not JSON';
      this.#o.logger.warn(`upstream event from ${remoteOf(req)} dropped: ${why}`);
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${why}\n`);
      return;
    }
    let event = parsed.value as OneBotEvent;
    res.writeHead(204).end();
    this.reachable = true;
    if (typeof event !== 'object' || event === null || typeof event.post_type !== 'string' || event.post_type === 'meta_event') return;
    this.#o.onEvent(withArrayMessage(event));
  }
}
