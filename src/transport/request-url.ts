import type { IncomingMessage } from 'node:http';

/**
 * The request's URL, or undefined when it cannot be parsed: Node's HTTP parser accepts
 * request targets that `new URL` rejects (`GET http://[::1 HTTP/1.1`), and a throw in an
 * `upgrade` listener would be an uncaught exception. Callers answer 400.
 */
export function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}
