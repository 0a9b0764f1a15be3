import winston from 'winston';
import { LogRing } from './log-ring.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'text' | 'json';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

/** The logger every component gets: winston's, with a `component` field always set. */
export type Logger = winston.Logger;

function textFormat(): winston.Logform.Format {
  return winston.format.printf((info) => {
    const { level, message, component, timestamp, stack, ...rest } = info as Record<string, unknown>;
    const extra = Object.entries(rest)
      .filter(([k]) => typeof k === 'string')
      .map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join('');
    const trace = typeof stack === 'string' && root.level === 'debug' ? `\n${stack}` : '';
    return `${String(timestamp)} ${String(level).padEnd(5)} [${String(component ?? 'onebridge')}] ${String(message)}${extra}${trace}`;
  });
}

function formatFor(format: LogFormat): winston.Logform.Format {
  return format === 'json'
    ? winston.format.combine(winston.format.timestamp(), winston.format.json())
    : winston.format.combine(winston.format.timestamp(), textFormat());
}

/** The last lines logged, for the admin dashboard. */
export const recentLogs = new LogRing(500);

// All levels go to stderr: stdout belongs to the sandbox console and to `status` output.
const stderr = new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) });
const root = winston.createLogger({
  level: 'info',
  levels: winston.config.npm.levels,
  format: formatFor('text'),
  transports: [stderr, recentLogs],
});

/** Set level and format for every logger, including children created before the call. */
export function configureLogging(options: { level?: LogLevel; format?: LogFormat; silent?: boolean }): void {
  if (options.level) root.level = options.level;
  if (options.format) root.format = formatFor(options.format);
  // Silent is about the terminal: the dashboard's recent lines still fill.
  if (options.silent !== undefined) stderr.silent = options.silent;
}

export function logLevel(): string {
  return root.level;
}

/** One logger per component; the name appears in every line it writes. */
export function getLogger(component: string): Logger {
  return root.child({ component });
}
