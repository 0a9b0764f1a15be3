import { WebSocket, type RawData } from 'ws';
import type { Account } from '../account.js';
import type { Logger } from '../logger.js';
import { parseActionFrame } from '../onebot/frame.js';
import { failed } from '../onebot/router.js';
import { Retcode, type ActionResponse, type MessageFormat } from '../onebot/types.js';
import type { NetworkPolicy } from '../policy/network-policy.js';
import type { Connection } from '../registry.js';
import { clip, DEFAULT_MAX_JSON_DEPTH } from '../untrusted-json.js';

export interface OneBotSocketDeps {
  readonly account: Account;
  readonly logger: Logger;
  /** The network entry's policy: actions are checked against it, events counted on it. */
  readonly policy?: NetworkPolicy | undefined;
}

export interface OneBotSocketLimits {
  /** Actions waiting for their answer; more answer 1429 at once. */
  readonly maxInFlight: number;
  /** Unsent bytes past which events are dropped (counted). */
  readonly maxBufferedBytes: number;
  /** Events dropped in a row after which the socket is cut. */
  readonly maxDroppedInRow: number;
  /** Deepest JSON nesting accepted in a frame (`limits.max_json_depth`); deeper answers 1400. */
  readonly maxJsonDepth: number;
}

const NO_LIMITS: OneBotSocketLimits = { maxInFlight: Number.POSITIVE_INFINITY, maxBufferedBytes: Number.POSITIVE_INFINITY, maxDroppedInRow: Number.POSITIVE_INFINITY, maxJsonDepth: DEFAULT_MAX_JSON_DEPTH };

/**
 * The OneBot side of one WebSocket, whoever dialled: counts traffic on its registry entry,
 * answers action frames through the account's router, and sends frames only while open.
 * Forward and reverse WebSockets share it, so both serve actions identically. A throw while
 * handling this client's input (a bug of ours) closes this socket with 1011, never the process.
 *
 * It does not own the socket's lifecycle (close, reconnect, keepalive): its transport does.
 */
export class OneBotSocket {
  readonly ws: WebSocket;
  readonly conn: Connection;
  readonly #deps: OneBotSocketDeps;
  readonly #format: MessageFormat;
  readonly #limits: OneBotSocketLimits;
  #inFlight = 0;
  #droppedInRow = 0;
  #badFrames = 0;
  /** Pings sent since the last pong. */
  missedPongs = 0;

  constructor(ws: WebSocket, conn: Connection, deps: OneBotSocketDeps, format: MessageFormat, limits: Partial<OneBotSocketLimits> = {}) {
    this.ws = ws;
    this.conn = conn;
    this.#deps = deps;
    this.#format = format;
    this.#limits = { ...NO_LIMITS, ...limits };
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    ws.on('pong', () => {
      this.missedPongs = 0;
      conn.lastPongAt = Date.now();
    });
  }

  /**
   * Sends an event unless the client has stopped reading: past the buffered limit the event
   * is dropped (counted, logged now and then); after too many drops in a row the socket is
   * cut. One slow client never grows memory without bound or slows the others.
   */
  sendEvent(buf: Buffer): void {
    const backlog = this.ws.bufferedAmount;
    if (backlog > this.#limits.maxBufferedBytes) {
      this.conn.eventsDropped++;
      if (this.#deps.policy) this.#deps.policy.counts.dropped++;
      this.#droppedInRow++;
      if (this.conn.eventsDropped === 1 || this.conn.eventsDropped % 1000 === 0) this.#deps.logger.warn(`#${this.conn.id} is not reading (${backlog} bytes unsent); ${this.conn.eventsDropped} event(s) dropped`);
      if (this.#droppedInRow >= this.#limits.maxDroppedInRow) {
        this.#deps.logger.warn(`#${this.conn.id} cut: missed ${this.#droppedInRow} events in a row (max_dropped_events)`);
        this.ws.terminate();
      }
      return;
    }
    this.#droppedInRow = 0;
    if (this.send(buf) && this.#deps.policy) this.#deps.policy.counts.delivered++;
  }

  /** Sends when open; returns false (and sends nothing) otherwise. */
  send(buf: Buffer): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(buf, { binary: false });
    this.conn.countOut(buf.length);
    return true;
  }

  /** Logged at the 1st, 10th, 100th … bad frame: a client spamming garbage cannot flood the log. */
  #badFrame(why: string): void {
    const n = ++this.#badFrames;
    if (Math.log10(n) % 1 === 0) this.#deps.logger.warn(`#${this.conn.id} bad frame: ${why}${n > 1 ? ` (${n} bad frames so far)` : ''}`);
  }

  #reply(res: ActionResponse): void {
    let text: string;
    try {
      text = JSON.stringify(res);
    } catch (err) {
      // A handler returned data JSON cannot hold: the client still gets an answer, with its echo.
      this.#deps.logger.error(`#${this.conn.id} an answer could not be encoded: ${(err as Error).message}`);
      text = JSON.stringify(failed(Retcode.INTERNAL, 'internal error: the answer could not be encoded', res.echo));
    }
    this.send(Buffer.from(text));
  }

  /** A bug of ours while handling this client's input: this connection goes (1011), not the process. */
  #internalError(err: unknown, doing: string): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.#deps.logger.error(`#${this.conn.id} closed with 1011: internal error ${doing}: ${e.message}`, { stack: e.stack });
    if (this.ws.readyState === WebSocket.OPEN) {
      this.conn.state = 'closing';
      this.ws.close(1011, 'internal error');
    }
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    try {
      this.#handle(data, isBinary);
    } catch (err) {
      this.#internalError(err, 'handling a frame');
    }
  }

  #handle(data: RawData, isBinary: boolean): void {
    const buf = data as Buffer;
    this.conn.countIn(buf.length);
    // The spec has event-only sockets ignore what clients send.
    if (this.conn.role === 'event') return;
    if (isBinary) {
      this.#badFrame('binary frame');
      this.#reply(failed(Retcode.BAD_REQUEST, 'binary frames are not supported; send actions as JSON text frames'));
      return;
    }
    const parsed = parseActionFrame(buf.toString('utf8'), this.#limits.maxJsonDepth);
    if (!parsed.ok) {
      this.#badFrame(parsed.response.message);
      this.#reply(parsed.response);
      return;
    }
    if (this.#inFlight >= this.#limits.maxInFlight) {
      this.#reply(failed(1429, `too many actions in flight (max_actions_in_flight ${this.#limits.maxInFlight}); wait for answers before sending more`, parsed.request.echo));
      return;
    }
    const { account } = this.#deps;
    this.#inFlight++;
    account.router
      .call(parsed.request, { selfId: account.selfId, format: this.#format, policy: this.#deps.policy, conn: this.conn })
      .then((res) => this.#reply(res))
      .catch((err: unknown) => this.#internalError(err, `answering ${clip(parsed.request.action)}`))
      .finally(() => this.#inFlight--);
  }
}
