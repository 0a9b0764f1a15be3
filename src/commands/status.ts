import type { AnyAdapterDefinition } from '../adapter.js';
import { loadConfig } from '../config/load.js';
import { OneBridgeError } from '../errors.js';
import type { ConnectionInfo } from '../registry.js';

export interface StatusOptions {
  /** To validate the config the admin endpoint is read from. */
  adapters: readonly AnyAdapterDefinition[];
  config?: string | undefined;
  /** Admin base URL; overrides the config's `admin:`. */
  admin?: string | undefined;
  token?: string | undefined;
  json?: boolean | undefined;
  /** How long to wait for the admin endpoint's answer. Default 5000. */
  timeoutMs?: number | undefined;
}

/** The admin endpoint answers in milliseconds; 5 s is a frozen or overloaded process. */
export const ADMIN_TIMEOUT_MS = 5000;

/** `onebridge status`: the live connections of a running instance, from its admin endpoint. */
export async function status(options: StatusOptions, out: NodeJS.WritableStream): Promise<void> {
  const { base, token } = adminTarget(options);
  const url = adminUrl(base);
  const res = await adminFetch(base, url, token, {}, options.timeoutMs);
  const body = (await res.json()) as {
    count: number;
    connections: ConnectionInfo[];
    send_queues?: Record<string, number>;
    fds?: { open: number | null; limit: number | null; client_sockets: number; client_budget: number | null };
  };
  out.write(
    options.json
      ? `${JSON.stringify(body, null, 2)}\n`
      : formatTable(body.connections) + formatSendQueues(body.send_queues),
  );
  const fds = body.fds;
  if (!options.json && fds && fds.open !== null)
    out.write(
      `file descriptors: ${fds.open} open of ${fds.limit ?? 'unlimited'}; client sockets ${fds.client_sockets}${fds.client_budget === null ? '' : ` of ${fds.client_budget}`}\n`,
    );
}

/** The admin base URL and token: `--admin`/`--token`, else the config's `admin:` section. */
export function adminTarget(options: Pick<StatusOptions, 'adapters' | 'config' | 'admin' | 'token'>): {
  base: string;
  token: string;
} {
  let base = options.admin;
  let token = options.token ?? '';
  if (!base) {
    const { config, file } = loadConfig(options.config, options.adapters);
    if (!config.admin)
      throw new OneBridgeError(
        'ONEBRIDGE_NO_ADMIN',
        `admin: the admin endpoint is off in ${file}; add "admin: { port: 6790 }" and restart onebridge, or pass --admin URL`,
      );
    const host = config.admin.host === '0.0.0.0' ? '127.0.0.1' : config.admin.host === '::' ? '::1' : config.admin.host;
    base = `http://${host.includes(':') ? `[${host}]` : host}:${config.admin.port}`;
    token ||= config.admin.access_token;
  }
  return { base, token };
}

/** One admin request with the token; a refused token or a dead endpoint is an error that says what to do. Non-2xx other than 400 too. */
export async function adminFetch(
  base: string,
  url: URL,
  token: string,
  init: RequestInit = {},
  timeoutMs = ADMIN_TIMEOUT_MS,
): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, {
      ...init,
      headers: {
        ...(init.headers as Record<string, string> | undefined),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    // Something took the connection and then said nothing: not the same as nothing being there.
    if ((err as Error).name === 'TimeoutError')
      throw new OneBridgeError(
        'ONEBRIDGE_ADMIN_TIMEOUT',
        `${base} took the connection but did not answer within ${timeoutMs} ms; is that onebridge stopped (Ctrl+Z, SIGSTOP) or overloaded? Try again, or wait longer with --timeout-ms`,
      );
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new OneBridgeError(
      'ONEBRIDGE_NOT_RUNNING',
      `no onebridge answering at ${base} (${cause}); is it running, and is admin: set in its config?`,
    );
  }
  if (res.status === 401 || res.status === 403)
    throw new OneBridgeError(
      'ONEBRIDGE_ADMIN_AUTH',
      `admin endpoint ${base} refused the token (${res.status}); pass --token or set admin.access_token`,
    );
  if (res.status === 426)
    throw new OneBridgeError(
      'ONEBRIDGE_ADMIN_FAILED',
      `${base} is a WebSocket endpoint (answered 426 Upgrade Required), not the admin endpoint; pass the admin port instead (admin.port, 6790 by default)`,
    );
  if (!res.ok && res.status !== 400)
    throw new OneBridgeError(
      'ONEBRIDGE_ADMIN_FAILED',
      `admin endpoint ${base} answered ${res.status}${res.status === 404 ? ` for ${url.pathname} (is this the admin port of an onebridge? admin.port, 6790 by default)` : ''}`,
    );
  return res;
}

/** `--admin localhost:6790` means http://localhost:6790: a URL parser would read `localhost:` as a scheme. */
export function adminUrl(base: string, path = '/connections'): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(base) ? base : `http://${base}`;
  const url = URL.canParse(withScheme) ? new URL(path, withScheme) : undefined;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new OneBridgeError(
      'ONEBRIDGE_ADMIN_URL',
      `--admin: expected the admin endpoint as http://HOST:PORT, e.g. http://127.0.0.1:6790, got ${JSON.stringify(base)}`,
    );
  }
  return url;
}

/** One line for accounts with sends waiting for their rate_limit token; nothing when none wait. */
export function formatSendQueues(queues: Record<string, number> | undefined): string {
  const waiting = Object.entries(queues ?? {}).filter(([, n]) => n > 0);
  if (waiting.length === 0) return '';
  return `send queue (rate_limit): ${waiting.map(([id, n]) => `account ${id}: ${n} waiting`).join(', ')}\n`;
}

function age(since: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(since)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

function bytes(n: number): string {
  if (n < 1024) return `${n}B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)}K`;
  return `${(n / 1024 / 1024).toFixed(1)}M`;
}

/** Dial-out links: reconnects plus what they hold; the relay's upstream holds actions, not events. */
function linkCell(c: ConnectionInfo): string {
  if (c.reconnects === undefined) return '';
  if (c.actions_in_flight !== undefined) return `${c.reconnects} reconnects, ${c.actions_in_flight} actions in flight`;
  return `${c.reconnects} reconnects, ${c.events_held ?? 0} held, ${c.events_dropped ?? 0} dropped`;
}

export function formatTable(connections: readonly ConnectionInfo[]): string {
  if (connections.length === 0) return 'no live connections\n';
  const links = connections.some((c) => c.reconnects !== undefined);
  const header = [
    'ID',
    'TRANSPORT',
    'ROLE',
    'ACCOUNT',
    'REMOTE',
    'ENDPOINT',
    'UP',
    'STATE',
    'IN',
    'OUT',
    ...(links ? ['LINK'] : []),
  ];
  const rows = connections.map((c) => [
    String(c.id),
    c.transport,
    c.role,
    String(c.self_id),
    c.remote,
    c.endpoint,
    age(c.connected_at),
    c.state,
    `${c.frames_in}/${bytes(c.bytes_in)}`,
    `${c.frames_out}/${bytes(c.bytes_out)}`,
    ...(links ? [linkCell(c)] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n${connections.length} live connection${connections.length === 1 ? '' : 's'}\n`;
}
