import { WebSocket } from 'ws';
import { OneBridgeError } from '../errors.js';
import type { LinkAttempt, ReconnectingLinkOptions } from './link.js';

/**
 * How long a closing handshake may take before the socket is cut, for every WebSocket
 * onebridge opens, dialled or accepted. A peer that sent its close frame and then neither
 * reads nor sends FIN (stuck in its own shutdown) would otherwise hold the socket for `ws`'s
 * default 30 s, with every event in that time unsendable.
 */
export const CLOSE_TIMEOUT_MS = 2000;

export interface WebSocketDialOptions {
  readonly url: string;
  /** Asked on every attempt: a self id learned since the last one goes in the next. */
  readonly headers: () => Record<string, string>;
  readonly handshakeTimeoutMs: number;
  readonly maxPayloadBytes: number;
  readonly compression?: boolean;
  /** Bound on a closing handshake, either side starting it; then the socket is cut. Default CLOSE_TIMEOUT_MS. */
  readonly closeTimeoutMs?: number;
  /** The close frame of the goodbye at stop, e.g. 1001 `server shutting down`. */
  readonly goodbye: { readonly code: number; readonly reason: string };
  /**
   * Called in the socket's `open` event, before any frame from the peer can be emitted:
   * attach the message handlers here, not in `onOpen` (a promise callback later). Not called
   * for a socket that opens after its attempt was aborted.
   */
  readonly opening?: (ws: WebSocket) => void;
}

/** What a ReconnectingLink<WebSocket> needs from its owner to dial: spread it into the options. */
export type WebSocketDialer = Pick<
  ReconnectingLinkOptions<WebSocket>,
  'target' | 'connect' | 'advise' | 'close' | 'destroy'
>;

/** A 401 or 403 to the handshake: a wrong token, which retrying sooner will not fix. */
class AccessRefused extends OneBridgeError {
  constructor(status: string) {
    super('ONEBRIDGE_ACCESS_TOKEN_REFUSED', `access token refused (HTTP ${status}); check access_token`);
  }
}

/**
 * A WebSocket for a ReconnectingLink to keep dialling (reverse WS, the relay's upstream): one
 * socket per attempt, its end reported to the link, a refused token retried at the slowest
 * pace, a goodbye close frame at stop.
 */
export function webSocketDialer(options: WebSocketDialOptions): WebSocketDialer {
  return {
    target: options.url,
    connect: (attempt) => dial(options, attempt),
    advise: (err) => (err instanceof AccessRefused ? 'slow' : 'retry'),
    close: (ws) => closeWebSocket(ws, options.goodbye.code, options.goodbye.reason),
    destroy: (ws) => ws.terminate(),
  };
}

/** One attempt: resolves once open, rejects when the handshake fails. */
function dial(o: WebSocketDialOptions, attempt: LinkAttempt): Promise<WebSocket> {
  if (attempt.signal.aborted) return Promise.reject(new Error('aborted'));
  return new Promise((resolve, reject) => {
    // closeTimeout is a ws option its type definitions do not list yet.
    const ws = new WebSocket(o.url, {
      headers: o.headers(),
      handshakeTimeout: o.handshakeTimeoutMs,
      maxPayload: o.maxPayloadBytes,
      perMessageDeflate: o.compression ?? false,
      closeTimeout: o.closeTimeoutMs ?? CLOSE_TIMEOUT_MS,
    } as WebSocket.ClientOptions);
    let opened = false;
    let failure: Error | undefined;
    const onAbort = () => ws.terminate();
    attempt.signal.addEventListener('abort', onAbort, { once: true });
    ws.once('open', () => {
      // From here the link's stop says goodbye first; an abort must not cut it.
      attempt.signal.removeEventListener('abort', onAbort);
      opened = true;
      try {
        o.opening?.(ws);
      } catch (err) {
        // The owner's bug: this attempt fails (and is retried) rather than the process.
        failure = err as Error;
        ws.terminate();
        return;
      }
      resolve(ws);
    });
    ws.on('error', (err: Error & { code?: string }) => {
      failure = opened ? err : refusal(err);
    });
    ws.once('close', (code) => {
      attempt.signal.removeEventListener('abort', onAbort);
      const error = failure ?? new Error(`code ${code}`);
      reject(error);
      attempt.lost(error);
    });
  });
}

/** Why a handshake failed, as the link's outage lines key (`code`) and print it: `ECONNREFUSED`. */
function refusal(err: Error & { code?: string }): Error {
  const status = /Unexpected server response: (\d+)/.exec(err.message)?.[1];
  if (status === '401' || status === '403') return new AccessRefused(status);
  return err.code ? Object.assign(new Error(err.code), { code: err.code }) : err;
}

/**
 * A close frame, then the peer's answer: resolves when the socket has closed. Unbounded, so the
 * caller bounds the wait (a link's stop, `withDeadline`) and terminates past it.
 */
export function closeWebSocket(ws: WebSocket, code: number, reason: string): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
  return closed;
}
