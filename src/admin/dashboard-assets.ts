import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { PACKAGE_ROOT } from '../package-info.js';

/** Where the dashboard's files ship: plain HTML, CSS and JS, no build step. */
export const DASHBOARD_DIR = join(PACKAGE_ROOT, 'web', 'dashboard');

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * What the page may do: its own scripts and styles only, talk to this server only; images
 * from anywhere, because bots send image URLs. No framing (clickjacking), no referrer.
 */
const HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: http: https:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-cache',
};

export interface Asset {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

const cache = new Map<string, Asset | null>();

/**
 * The dashboard file for a GET path (`/` is the page, `/dashboard/<name>` its scripts and
 * styles), or undefined when the path is not one. Served without a token: the files hold no
 * data, and the page asks for the token itself. Names are a fixed pattern, never a path.
 */
export function dashboardAsset(pathname: string): Asset | undefined {
  const name = pathname === '/' ? 'index.html' : /^\/dashboard\/([a-z0-9-]+\.(?:html|js|css|svg))$/.exec(pathname)?.[1];
  if (!name) return undefined;
  let asset = cache.get(name);
  if (asset === undefined) {
    try {
      const body = readFileSync(join(DASHBOARD_DIR, name));
      asset = {
        body,
        headers: { ...HEADERS, 'Content-Type': TYPES[extname(name)]!, 'Content-Length': String(body.length) },
      };
    } catch {
      asset = null;
    }
    cache.set(name, asset);
  }
  return asset ?? undefined;
}
