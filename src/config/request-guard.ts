import { isIP } from 'node:net';
import * as z from 'zod/mini';

/**
 * `scheme://host[:port]` as browsers serialize it: lower case, no default port, no path.
 * Returns undefined for anything that is not one (`null`, paths, garbage). Schemes browsers
 * give their own pages (`chrome-extension://id`, `tauri://localhost`) are kept as written.
 */
export function normalizeOrigin(value: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#\s@]+)\/?$/i.exec(value.trim());
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'http' || scheme === 'https') {
    try {
      return new URL(`${scheme}://${m[2]}`).origin;
    } catch {
      return undefined;
    }
  }
  return `${scheme}://${m[2]!.toLowerCase()}`;
}

/** A host name or IP address as `Host` carries it, without port or brackets, lower case. */
export function normalizeHostName(value: string): string {
  let host = value.trim().toLowerCase();
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']') === -1 ? undefined : host.indexOf(']'));
  else if (host.split(':').length === 2) host = host.slice(0, host.indexOf(':'));
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/** True for `localhost`, `*.localhost`, 127.0.0.0/8, `::1` and IPv4-mapped 127.0.0.0/8. */
export function isLoopbackName(name: string): boolean {
  const host = normalizeHostName(name);
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) !== 6) return false;
  // The URL parser writes every spelling of an IPv6 address one way (::ffff:127.0.0.1 → ::ffff:7f00:1).
  const canonical = new URL(`http://[${host}]/`).hostname.slice(1, -1);
  return canonical === '::1' || canonical.startsWith('::ffff:7f');
}

const ORIGIN_HINT = 'expected an origin like "http://localhost:3000" (scheme://host[:port], no path), "null" or "*"';
const HOST_HINT = 'expected a host name or IP address without port, e.g. "bot.example.com", or "*"';

const origin = () =>
  z.pipe(
    z
      .string({ error: ORIGIN_HINT })
      .check(z.refine((v) => v === '*' || v === 'null' || normalizeOrigin(v) !== undefined, { error: ORIGIN_HINT })),
    z.transform((v) => (v === '*' || v === 'null' ? v : normalizeOrigin(v)!)),
  );

const hostName = () =>
  z.pipe(
    z.string({ error: HOST_HINT }).check(
      z.refine((v) => v === '*' || /^(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[?[0-9a-f:.]+\]?)$/i.test(v.trim()), {
        error: HOST_HINT,
      }),
    ),
    z.transform((v) => (v === '*' ? v : normalizeHostName(v))),
  );

/**
 * The browser-facing fields every HTTP-based listener (forward WS, HTTP API and SSE, admin)
 * shares; each listener schema spreads them in. See docs/security.md.
 */
export const RequestGuardFields = {
  /**
   * Web origins whose pages may call this listener (a request or upgrade with any other
   * `Origin` gets 403). Bot frameworks send no `Origin` and need no entry. `"*"` allows every
   * page on the web: only with an access token.
   */
  allowed_origins: z._default(z.array(origin()), []),
  /**
   * Extra `Host` names this listener answers to (a reverse proxy's name). Bound to loopback it
   * answers only to loopback names and these (else 421), which defeats DNS rebinding; `"*"`
   * turns the check off. Bound elsewhere the check applies only when this list is set.
   */
  allowed_hosts: z._default(z.array(hostName()), []),
};

export interface RequestGuardConfig {
  readonly host: string;
  readonly allowed_origins: readonly string[];
  readonly allowed_hosts: readonly string[];
}
