import winston from 'winston';

import type { LogFormat, LogLevel } from './log-levels.js';
export { LOG_LEVELS, type LogFormat, type LogLevel } from './log-levels.js';

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

// All levels go to stderr: stdout belongs to the sandbox console and to `status` output.
const root = winston.createLogger({
  level: 'info',
  levels: winston.config.npm.levels,
  format: formatFor('text'),
  transports: [new winston.transports.Console({ stderrLevels: Object.keys(winston.config.npm.levels) })],
});

/** Set level and format for every logger, including children created before the call. */
export function configureLogging(options: { level?: LogLevel; format?: LogFormat; silent?: boolean }): void {
  if (options.level) root.level = options.level;
  if (options.format) root.format = formatFor(options.format);
  if (options.silent !== undefined) root.silent = options.silent;
}

export function logLevel(): string {
  return root.level;
}

/** One logger per component; the name appears in every line it writes. */
export function getLogger(component: string): Logger {
  return root.child({ component });
}
