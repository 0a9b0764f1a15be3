import { WebSocket, type RawData } from 'ws';
import type { Account } from '../account.js';
import type { Logger } from '../logger.js';
import { parseActionFrame } from '../onebot/frame.js';
import { failed } from '../onebot/router.js';
import { Retcode, type ActionResponse, type MessageFormat } from '../onebot/types.js';
import type { Connection } from '../registry.js';

export interface OneBotSocketDeps {
  readonly account: Account;
  readonly logger: Logger;
}

/**
 * The OneBot side of one WebSocket, whoever dialled: counts traffic on its registry entry,
 * answers action frames through the account's router, and sends frames only while open.
 * Forward and reverse WebSockets share it, so both serve actions identically.
 *
 * It does not own the socket's lifecycle (close, reconnect, keepalive): its transport does.
 */
export class OneBotSocket {
  readonly ws: WebSocket;
  readonly conn: Connection;
  readonly #deps: OneBotSocketDeps;
  readonly #format: MessageFormat;

  constructor(ws: WebSocket, conn: Connection, deps: OneBotSocketDeps, format: MessageFormat) {
    this.ws = ws;
    this.conn = conn;
    this.#deps = deps;
    this.#format = format;
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
  }

  /** Sends when open; returns false (and sends nothing) otherwise. */
  send(buf: Buffer): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(buf, { binary: false });
    this.conn.countOut(buf.length);
    return true;
  }

  #reply(res: ActionResponse): void {
    this.send(Buffer.from(JSON.stringify(res)));
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    const buf = data as Buffer;
    this.conn.countIn(buf.length);
    // The spec has event-only sockets ignore what clients send.
    if (this.conn.role === 'event') return;
    if (isBinary) {
      this.#reply(failed(Retcode.BAD_REQUEST, 'binary frames are not supported; send actions as JSON text frames'));
      return;
    }
    const parsed = parseActionFrame(buf.toString('utf8'));
    if (!parsed.ok) {
      this.#deps.logger.warn(`#${this.conn.id} bad frame: ${parsed.response.message}`);
      this.#reply(parsed.response);
      return;
    }
    const { account } = this.#deps;
    account.router.call(parsed.request, { selfId: account.selfId, format: this.#format }).then(
      (res) => this.#reply(res),
      (err: Error) => this.#deps.logger.error(`#${this.conn.id} action ${parsed.request.action}: ${err.message}`),
    );
  }
}
