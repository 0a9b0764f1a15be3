import { Writable } from 'node:stream';
import winston from 'winston';
import { LogRing } from './log-ring.js';

import type { LogFormat, LogLevel } from './log-levels.js';
export { LOG_LEVELS, type LogFormat, type LogLevel } from './log-levels.js';

/**
 * The logger every component gets, with a `component` field always set. Ours is winston's; a
 * program embedding onebridge may pass its own (winston, pino, or any object of this shape).
 */
export interface Logger {
  /** `meta` adds fields to the record (winston's `{ stack }`); loggers may ignore it. */
  error(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  debug(message: string, meta?: Record<string, unknown>): unknown;
  /** A logger for one component: `child({ component: 'ws:network[0]' })`. */
  child(bindings: { component: string }): Logger;
  /** Optional: whether debug lines are kept, to skip building them. Assumed true when absent. */
  isDebugEnabled?(): boolean;
  /** Optional: whether info lines are kept (not at level warn or error). Assumed true when absent. */
  isInfoEnabled?(): boolean;
}

export type LogTimezone = 'local' | 'utc';

const COLOURS: Readonly<Record<string, string>> = {
  error: '\x1b[31m',
  warn: '\x1b[33m',
  info: '\x1b[32m',
  debug: '\x1b[34m',
};

/** Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org). */
function useColour(): boolean {
  return Boolean(process.stderr.isTTY) && !process.env['NO_COLOR'];
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** `2026-05-01 14:03:07.123` in local time, or ISO 8601 UTC (`…Z`) on request. */
function stamp(timezone: LogTimezone, d = new Date()): string {
  if (timezone === 'utc') return d.toISOString();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function textFormat(timezone: LogTimezone, colour: boolean): winston.Logform.Format {
  return winston.format.printf((info) => {
    const { level, message, component, timestamp: _utc, stack, ...rest } = info as Record<string, unknown>;
    const extra = Object.entries(rest)
      .filter(([k]) => typeof k === 'string')
      .map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join('');
    const trace = typeof stack === 'string' && root.level === 'debug' ? `\n${stack}` : '';
    const name = String(level).padEnd(5);
    return `${stamp(timezone)} ${colour ? `${COLOURS[String(level)] ?? ''}${name}\x1b[0m` : name} [${String(component ?? 'onebridge')}] ${String(message)}${extra}${trace}`;
  });
}

/** JSON lines always carry an ISO 8601 UTC `timestamp`, for machines; text is for people. */
function formatFor(format: LogFormat, timezone: LogTimezone): winston.Logform.Format {
  return format === 'json'
    ? winston.format.combine(winston.format.timestamp(), winston.format.json())
    : textFormat(timezone, useColour());
}

const current: { format: LogFormat; timezone: LogTimezone } = { format: 'text', timezone: 'local' };

/** Something drawn on the terminal that a log line must not land inside (the console's prompt). */
export interface TerminalGuard {
  /** Clear what is drawn, so the log line starts on a clean line. */
  clear(): void;
  /** Draw it again below the log line. */
  redraw(): void;
}

let guard: TerminalGuard | undefined;

/** The console sets this while its prompt is on screen; undefined removes it. */
export function setTerminalGuard(next: TerminalGuard | undefined): void {
  guard = next;
}

/** The last lines logged, for the admin dashboard. */
export const recentLogs = new LogRing(500);

/**
 * Set once stderr fails (EIO from a terminal that went away, EPIPE from a reader that quit).
 * Nowhere is left to report it, and an unheard 'error' would be an uncaught exception that
 * logs again: a loop. Lines still reach the ring (dashboard) and the other transports.
 */
let stderrFailed = false;
process.stderr.on('error', () => {
  stderrFailed = true;
});

// All levels go to stderr: stdout belongs to the sandbox console and to `status` output.
const stderr = new Writable({
  write(chunk: Buffer | string, _encoding, done) {
    if (stderrFailed) return done();
    const g = guard;
    g?.clear();
    process.stderr.write(chunk);
    g?.redraw();
    done();
  },
});
const terminal = new winston.transports.Stream({ stream: stderr });

const root = winston.createLogger({
  level: 'info',
  levels: winston.config.npm.levels,
  format: formatFor('text', 'local'),
  transports: [terminal, recentLogs],
});

/** Set level and format for every logger, including children created before the call. */
export function configureLogging(options: {
  level?: LogLevel;
  format?: LogFormat;
  timezone?: LogTimezone;
  silent?: boolean;
}): void {
  if (options.level) root.level = options.level;
  if (options.format || options.timezone) {
    current.format = options.format ?? current.format;
    current.timezone = options.timezone ?? current.timezone;
    root.format = formatFor(current.format, current.timezone);
  }
  // Silent is about the terminal: the dashboard's recent lines still fill.
  if (options.silent !== undefined) terminal.silent = options.silent;
}

export function logLevel(): string {
  return root.level;
}

/** One logger per component; the name appears in every line it writes. */
export function getLogger(component: string): Logger {
  return root.child({ component });
}

/** Component loggers from `base` (an injected logger), or from onebridge's own when none. */
export function loggerFactory(base?: Logger): (component: string) => Logger {
  return base ? (component) => base.child({ component }) : getLogger;
}
