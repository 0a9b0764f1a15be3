import { WebSocket } from 'ws';
import { CLOSE_TIMEOUT_MS } from '../kit/ws-dial.js';
import type { Logger } from '../logger.js';
import { Backoff } from './backoff.js';
import { formatDuration, OutageLog } from './outage-log.js';

export type LinkState = 'idle' | 'connecting' | 'open' | 'waiting' | 'stopped';

export { CLOSE_TIMEOUT_MS };

export interface ReconnectingLinkOptions {
  readonly name: string;
  readonly logger: Logger;
  readonly reconnect: { readonly initialMs: number; readonly maxMs: number };
  readonly handshakeTimeoutMs: number;
  readonly maxPayloadBytes: number;
  readonly compression?: boolean;
  /** Bound on a closing handshake, either side starting it; then the socket is cut. Default CLOSE_TIMEOUT_MS. */
  readonly closeTimeoutMs?: number;
  /** A link that stayed open this long starts its backoff over. Default 10 s. */
  readonly stableMs?: number;
  readonly random?: () => number;
}

/**
 * A WebSocket that onebridge dials and keeps dialling: owns the state machine, the backoff
 * timer and the one socket. Subclasses say where to dial (`prepare`) and what to do with an
 * open socket (`accept`), and hear about closes (`closed`).
 *
 * Invariants: at most one socket exists at any time (a new attempt starts only from
 * `waiting`, after the previous socket's close); after `stop()` no attempt is ever made and
 * no timer is left. It does not send or read frames itself.
 */
export abstract class ReconnectingLink {
  protected readonly logger: Logger;
  readonly name: string;
  readonly #opts: ReconnectingLinkOptions;
  readonly #backoff: Backoff;
  #state: LinkState = 'idle';
  #ws: WebSocket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #openedAt = 0;
  #reconnects = 0;
  readonly #outages: OutageLog;

  constructor(options: ReconnectingLinkOptions) {
    this.#opts = options;
    this.name = options.name;
    this.logger = options.logger;
    this.#backoff = new Backoff({
      initialMs: options.reconnect.initialMs,
      maxMs: options.reconnect.maxMs,
      random: options.random,
    });
    this.#outages = new OutageLog(options.name, options.logger);
  }

  get state(): LinkState {
    return this.#state;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  /** The open (or opening) socket, if any. */
  protected get socket(): WebSocket | undefined {
    return this.#ws;
  }

  protected abstract prepare(): { url: string; headers: Record<string, string> };
  protected abstract accept(ws: WebSocket): void;
  protected abstract closed(code: number, wasOpen: boolean): void;

  start(): void {
    if (this.#state !== 'idle') return;
    this.#connect();
  }

  /** No more attempts; a pending retry is cleared. An open socket stays until closed. */
  stop(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Abandons a handshake in progress. Returns whether there was one. */
  abortConnecting(): boolean {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.CONNECTING) return false;
    ws.terminate();
    return true;
  }

  close(code: number, reason: string): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.close(code, reason);
  }

  /** Cuts the socket now; returns whether there was one. */
  terminate(): boolean {
    if (!this.#ws) return false;
    this.#ws.terminate();
    return true;
  }

  #connect(): void {
    const { url, headers } = this.prepare();
    this.#state = 'connecting';
    // closeTimeout is a ws option its type definitions do not list yet.
    const options = {
      headers,
      handshakeTimeout: this.#opts.handshakeTimeoutMs,
      maxPayload: this.#opts.maxPayloadBytes,
      perMessageDeflate: this.#opts.compression ?? false,
      closeTimeout: this.#opts.closeTimeoutMs ?? CLOSE_TIMEOUT_MS,
    };
    const ws = new WebSocket(url, options as WebSocket.ClientOptions);
    this.#ws = ws;
    let authFailed = false;
    ws.on('open', () => {
      if (this.#state !== 'connecting') {
        // Stopped while the handshake finished: not ours to keep.
        ws.terminate();
        return;
      }
      this.#state = 'open';
      this.#openedAt = Date.now();
      const after = this.#outages.opened() || (this.#reconnects ? 'reconnected' : '');
      this.logger.info(`${this.name}: connected to ${url}${after ? ` (${after})` : ''}`);
      this.accept(ws);
    });
    ws.on('error', (err: Error & { code?: string }) => {
      const status = /Unexpected server response: (\d+)/.exec(err.message)?.[1];
      if (status === '401' || status === '403') {
        authFailed = true;
        this.#outages.failed(
          `HTTP ${status}`,
          'error',
          `${url} refused our access token (HTTP ${status}); check access_token; retrying every ${Math.round(this.#backoff.max() / 1000)} s`,
        );
      } else if (this.#state === 'connecting') {
        const cause = err.code ?? err.message;
        this.#outages.failed(
          cause,
          'warn',
          `cannot connect to ${url}: ${cause}; retrying with backoff (up to ${formatDuration(this.#backoff.max())}), quietly until it connects or the cause changes`,
        );
      } else {
        this.logger.warn(`${this.name}: ${err.message}`);
      }
    });
    ws.on('close', (code) => {
      if (this.#ws !== ws) return;
      this.#ws = undefined;
      const wasOpen = this.#openedAt > 0;
      if (wasOpen && Date.now() - this.#openedAt >= (this.#opts.stableMs ?? 10_000)) this.#backoff.reset();
      this.#openedAt = 0;
      this.closed(code, wasOpen);
      if (this.#state === 'stopped') return;
      const delay = authFailed ? this.#backoff.max() : this.#backoff.next();
      this.#state = 'waiting';
      this.#reconnects++;
      // An attempt that failed without an 'error' (e.g. closed during the handshake) still counts.
      if (wasOpen) this.#outages.lost(`disconnected from ${url} (code ${code}); reconnecting`);
      else this.#outages.attemptEnded();
      this.logger.debug(`${this.name}: retrying in ${delay} ms`);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        if (this.#state === 'waiting') this.#connect();
      }, delay);
    });
  }
}
