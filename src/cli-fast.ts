import { parseArgs } from 'node:util';
import type { StartOptions } from './commands/start.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './log-levels.js';

/**
 * `onebridge [start] [-c FILE] [--log-level L] [--log-format F]`, read without yargs, which
 * costs tens of milliseconds to load. Anything else (help, other commands, an unknown option,
 * a bad value) returns undefined and goes to the full parser, which owns every message.
 */
export function fastStartOptions(argv: readonly string[]): Omit<StartOptions, 'adapters'> | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { config: { type: 'string', short: 'c' }, 'log-level': { type: 'string' }, 'log-format': { type: 'string' } },
    });
  } catch {
    return undefined;
  }
  const { positionals, values } = parsed;
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'start')) return undefined;
  const level = values['log-level'];
  const format = values['log-format'];
  if (level !== undefined && !LOG_LEVELS.includes(level as LogLevel)) return undefined;
  if (format !== undefined && !LOG_FORMATS.includes(format as LogFormat)) return undefined;
  return { config: values.config, logLevel: level as LogLevel | undefined, logFormat: format as LogFormat | undefined };
}
