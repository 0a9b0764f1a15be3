import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import {
  isLoopbackName,
  normalizeHostName,
  normalizeOrigin,
  type RequestGuardConfig,
} from '../config/request-guard.js';
import type { Logger } from '../logger.js';
import { remoteOf } from './auth.js';

/** Why a request was refused: a foreign web page (`origin`) or a foreign `Host` name (`host`). */
export type RefusalKind = 'origin' | 'host';

export type GuardVerdict =
  | {
      readonly ok: true;
      /** A foreign origin allowed by `allowed_origins`: answer it with CORS headers. */ readonly corsOrigin?: string;
    }
  | { readonly ok: false; readonly status: 403 | 421; readonly kind: RefusalKind; readonly reason: string };

export interface RequestGuardOptions {
  /** Accept pages this listener serves itself (same origin, trusted `Host`): the admin server. */
  readonly ownPages?: boolean;
  readonly logger: Logger;
  /** Called once per refusal, for the process-wide counters. */
  readonly onRefused?: (kind: RefusalKind) => void;
}

/** One log line per kind at most this often; the lines in between are counted in the next one. */
const LOG_EVERY_MS = 10_000;

/**
 * Keeps web pages out of a listener that trusts its callers: refuses, before any upgrade or
 * action, a request whose `Host` is not a name this listener answers to (DNS rebinding) and a
 * request a browser sent on behalf of a page of another origin (cross-site WebSocket
 * hijacking, CSRF). It reads `Origin` (browsers always send it on WebSocket upgrades and
 * cross-origin POSTs, and page scripts cannot forge it) and `Sec-Fetch-Site` (sent by current
 * browsers on every request, also on the `<img>` and navigation GETs that carry no `Origin`).
 * Clients that are not browsers send neither, and pass.
 *
 * It does not check tokens (see `authorize`) and is no defence against programs running on
 * the machine: for those, and for any listener bound beyond loopback, set an access token.
 */
export class RequestGuard {
  readonly #loopbackBound: boolean;
  readonly #bindName: string;
  readonly #anyOrigin: boolean;
  readonly #origins: ReadonlySet<string>;
  readonly #anyHost: boolean;
  readonly #hosts: ReadonlySet<string>;
  readonly #ownPages: boolean;
  readonly #logger: Logger;
  readonly #onRefused: ((kind: RefusalKind) => void) | undefined;
  readonly #log = new Map<RefusalKind, { at: number; unreported: number }>();

  constructor(config: RequestGuardConfig, options: RequestGuardOptions) {
    this.#bindName = normalizeHostName(config.host);
    this.#loopbackBound = isLoopbackName(this.#bindName);
    this.#anyOrigin = config.allowed_origins.includes('*');
    this.#origins = new Set(config.allowed_origins);
    this.#anyHost = config.allowed_hosts.includes('*');
    this.#hosts = new Set(config.allowed_hosts);
    this.#ownPages = options.ownPages ?? false;
    this.#logger = options.logger;
    this.#onRefused = options.onRefused;
  }

  /** Decide on one request or upgrade; a refusal is logged (rate-limited) and counted. */
  check(req: IncomingMessage): GuardVerdict {
    const verdict = this.#decide(req);
    if (!verdict.ok) this.#refused(req, verdict.kind, verdict.status, verdict.reason);
    return verdict;
  }

  #decide(req: IncomingMessage): GuardVerdict {
    const host = req.headers.host;
    const hostName = host === undefined ? undefined : normalizeHostName(host);
    if (hostName !== undefined && this.#hostChecked() && !this.#hostAllowed(hostName)) {
      return {
        ok: false,
        status: 421,
        kind: 'host',
        reason: `Host "${short(host!)}" is not a name this listener answers to; add it to allowed_hosts`,
      };
    }
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    if (origin === undefined) {
      // Old browsers send no Sec-Fetch-Site: their no-Origin GETs pass (docs/security.md says so).
      if (site === undefined || site === 'none') return { ok: true };
      if (site === 'same-origin' && this.#ownPages && hostName !== undefined && this.#trustedForOwnPages(hostName))
        return { ok: true };
      if (this.#anyOrigin) return { ok: true };
      return {
        ok: false,
        status: 403,
        kind: 'origin',
        reason: `a web page's request (Sec-Fetch-Site: ${short(String(site))}) is not allowed; set allowed_origins to let a page in`,
      };
    }
    const normalized = origin === 'null' ? 'null' : normalizeOrigin(origin);
    // Browsers always send a serialized origin or "null"; anything else comes from a program
    // that is not a browser (cq-websocket sends "[object Object]") and the token governs it.
    if (normalized === undefined) return { ok: true };
    if (
      this.#ownPages &&
      hostName !== undefined &&
      this.#trustedForOwnPages(hostName) &&
      normalized !== 'null' &&
      sameAuthority(normalized, host!)
    )
      return { ok: true };
    if (this.#origins.has(normalized) || this.#anyOrigin) return { ok: true, corsOrigin: origin };
    return {
      ok: false,
      status: 403,
      kind: 'origin',
      reason: `Origin ${short(origin)} is not allowed; add it to allowed_origins to let that page in`,
    };
  }

  /** Bound to loopback the Host check is on by default; elsewhere only when names are listed. */
  #hostChecked(): boolean {
    return !this.#anyHost && (this.#loopbackBound || this.#hosts.size > 0);
  }

  #hostAllowed(name: string): boolean {
    if (isLoopbackName(name) || this.#hosts.has(name) || name === this.#bindName) return true;
    // A rebinding attack needs a DNS name; bound beyond loopback, an address typed in is fine.
    return !this.#loopbackBound && isIP(name) !== 0;
  }

  /**
   * Same-origin requests are the listener's own pages only when the name cannot be an
   * attacker's: loopback, an address, the bound name or a listed name.
   */
  #trustedForOwnPages(name: string): boolean {
    return isLoopbackName(name) || isIP(name) !== 0 || this.#hosts.has(name) || name === this.#bindName;
  }

  #refused(req: IncomingMessage, kind: RefusalKind, status: number, reason: string): void {
    this.#onRefused?.(kind);
    const now = Date.now();
    const entry = this.#log.get(kind) ?? { at: -Infinity, unreported: 0 };
    entry.unreported++;
    // A page retrying in a loop must not flood the log: one line per kind per LOG_EVERY_MS.
    if (now - entry.at >= LOG_EVERY_MS) {
      const more = entry.unreported > 1 ? ` (+${entry.unreported - 1} more refused since the last line)` : '';
      this.#logger.warn(
        `refused ${req.method} ${short(req.url ?? '/')} from ${remoteOf(req)}: ${reason} (${status})${more}`,
      );
      entry.at = now;
      entry.unreported = 0;
    }
    this.#log.set(kind, entry);
  }
}

/** `http://localhost:6790` vs Host `localhost:6790`: same host and port (scheme ignored: a TLS proxy in front). */
function sameAuthority(origin: string, host: string): boolean {
  const authority = origin.slice(origin.indexOf('://') + 3);
  const defaultPort = origin.startsWith('https:') ? '443' : '80';
  const withPort = (a: string) => (/:\d+$/.test(a) && !a.endsWith(']') ? a : `${a}:${defaultPort}`);
  return withPort(authority.toLowerCase()) === withPort(host.trim().toLowerCase());
}

/** Values from the wire go into logs and answers only as a short prefix. */
function short(value: string): string {
  return value.length > 80 ? `${value.slice(0, 80)}…` : value;
}

/** CORS answer headers for an allowed foreign origin (the HTTP API and admin set them). */
export function corsHeaders(origin: string): Record<string, string> {
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': 'GET, POST',
    'Access-Control-Allow-Headers': 'Authorization, Content-Type',
    'Access-Control-Max-Age': '600',
    Vary: 'Origin',
  };
}
