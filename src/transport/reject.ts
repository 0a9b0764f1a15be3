import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/** How long a rejected client gets to read our answer before its socket is destroyed. */
const REJECT_LINGER_MS = 5000;

/**
 * Answer an upgrade request with a plain HTTP error and close. Never a 101 first: a client
 * must be able to tell "refused" from "accepted, then dropped".
 */
export function rejectUpgrade(
  socket: Duplex,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (socket.destroyed) return;
  const body = `${message}\n`;
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  // The socket's own timeout is the kept handle: it dies with the socket.
  if ('setTimeout' in socket && typeof socket.setTimeout === 'function') {
    (socket as Duplex & { setTimeout(ms: number, cb: () => void): void }).setTimeout(REJECT_LINGER_MS, () =>
      socket.destroy(),
    );
  }
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}
