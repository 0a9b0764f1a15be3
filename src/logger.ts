import winston from 'winston';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'text' | 'json';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

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
}

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

/** Component loggers from `base` (an injected logger), or from onebridge's own when none. */
export function loggerFactory(base?: Logger): (component: string) => Logger {
  return base ? (component) => base.child({ component }) : getLogger;
}
