import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * The client's token, from `Authorization: Bearer <t>`, `Authorization: Token <t>` (Koishi)
 * or `?access_token=<t>`; the header wins when both are given.
 */
export function presentedToken(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const m = /^(?:Bearer|Token)(?:\s+(.*))?$/i.exec(header.trim());
    return m ? (m[1] ?? '').trim() : header.trim();
  }
  return url.searchParams.get('access_token') ?? undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time: equal-length digests, so neither content nor length leaks through timing. */
export function tokenMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

export type AuthResult = { ok: true } | { ok: false; status: 401 | 403; reason: string };

/** OneBot's rule: no token configured lets everyone in; missing is 401, wrong is 403. */
export function authorize(req: IncomingMessage, url: URL, expected: string): AuthResult {
  if (!expected) return { ok: true };
  const token = presentedToken(req, url);
  if (token === undefined || token === '') return { ok: false, status: 401, reason: 'access token missing' };
  if (!tokenMatches(token, expected)) return { ok: false, status: 403, reason: 'access token wrong' };
  return { ok: true };
}

export function remoteOf(req: IncomingMessage): string {
  return remoteOfSocket(req.socket);
}

export function remoteOfSocket(socket: {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
}): string {
  const { remoteAddress, remotePort } = socket;
  if (!remoteAddress) return 'unknown';
  return remoteAddress.includes(':') ? `[${remoteAddress}]:${remotePort}` : `${remoteAddress}:${remotePort}`;
}
