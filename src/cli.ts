#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { check } from './commands/check.js';
import { init } from './commands/init.js';
import { reload } from './commands/reload.js';
import { start } from './commands/start.js';
import { status } from './commands/status.js';
import { OneBridgeError } from './errors.js';
import { LOG_LEVELS, type LogFormat, type LogLevel } from './logger.js';
import { VERSION } from './package-info.js';
import { releaseShutdownSignals } from './signals.js';

/**
 * A failure the user can act on: one line naming cause and key, exit 1. The stack is shown
 * only with --log-level debug; an unexpected error says so and how to see more.
 */
function fail(err: unknown, debug: boolean): never {
  if (err instanceof OneBridgeError) {
    process.stderr.write(`onebridge: ${err.message}\n`);
    if (debug && err.cause instanceof Error) process.stderr.write(`${err.cause.stack ?? ''}\n`);
  } else {
    process.stderr.write(`onebridge: unexpected error: ${(err as Error)?.message ?? String(err)}${debug ? '' : ' (run with --log-level debug for details)'}\n`);
    if (debug && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
  }
  process.exit(1);
}

/** Every command body runs through here, so sync and async failures end the same way. */
function guarded<A>(body: (args: A) => unknown): (args: A) => Promise<void> {
  return async (args) => {
    try {
      await body(args);
    } catch (err) {
      fail(err, debug);
    }
  };
}

const argv = hideBin(process.argv);
const debug = argv.some((a, i) => a === '--log-level=debug' || (a === '--log-level' && argv[i + 1] === 'debug'));

await yargs(argv)
  .scriptName('onebridge')
  .usage('onebridge: a OneBot v11 connector between chat platforms and bot frameworks\n\nUsage: $0 [command] [options]')
  .option('log-level', { choices: LOG_LEVELS, describe: 'log level (overrides log.level in the config)' })
  .option('log-format', { choices: ['text', 'json'] as const, describe: 'log format on stderr (overrides log.format)' })
  .command(
    ['start', '$0'],
    'run onebridge (config: -c FILE, $ONEBRIDGE_CONFIG, ./onebridge.yaml, then built-in defaults)',
    (y) => y.option('config', { alias: 'c', type: 'string', describe: 'config file (YAML)' }),
    guarded(async (args) => {
      await start({ config: args.config, logLevel: args['log-level'] as LogLevel | undefined, logFormat: args['log-format'] as LogFormat | undefined });
    }),
  )
  .command(
    'init [file]',
    'write the commented default config to FILE',
    (y) => y.positional('file', { type: 'string', default: 'onebridge.yaml' }).option('force', { type: 'boolean', default: false, describe: 'overwrite an existing file' }),
    guarded((args) => {
      const file = init(args.file, args.force);
      process.stdout.write(`wrote ${file}; edit it, then run: onebridge -c ${args.file}\n`);
    }),
  )
  .command(
    'check',
    'validate a config file and print every problem (exit 0 when valid)',
    (y) => y.option('config', { alias: 'c', type: 'string', describe: 'config file (YAML)' }),
    guarded((args) => {
      process.exitCode = check(args.config, process.stdout, process.stderr);
    }),
  )
  .command(
    'status',
    'print the live connections of a running onebridge (from its admin endpoint)',
    (y) =>
      y
        .option('config', { alias: 'c', type: 'string', describe: 'config file, to find the admin endpoint' })
        .option('admin', { type: 'string', describe: 'admin URL instead, e.g. http://127.0.0.1:6790' })
        .option('token', { type: 'string', describe: 'admin access token' })
        .option('json', { type: 'boolean', default: false, describe: 'print JSON instead of a table' }),
    guarded(async (args) => {
      await status({ config: args.config, admin: args.admin, token: args.token, json: args.json }, process.stdout);
    }),
  )
  // Only `start` keeps the signals bin.ts caught early; other commands get Node's defaults back.
  .middleware((args) => {
    if (args._[0] !== undefined && args._[0] !== 'start') releaseShutdownSignals();
  })
  .command(
    'reload',
    'apply a changed config to a running onebridge: filters, action permissions, rate limits, log settings (via its admin endpoint)',
    (y) =>
      y
        .option('config', { alias: 'c', type: 'string', describe: 'config file, to find the admin endpoint' })
        .option('admin', { type: 'string', describe: 'admin URL instead, e.g. http://127.0.0.1:6790' })
        .option('token', { type: 'string', describe: 'admin access token' }),
    guarded(async (args) => {
      await reload({ config: args.config, admin: args.admin, token: args.token }, process.stdout);
    }),
  )
  .strict()
  .version(VERSION)
  .alias('v', 'version')
  .help()
  .alias('h', 'help')
  .fail((msg, err, y) => {
    if (err) fail(err, debug);
    process.stderr.write(`onebridge: ${msg}\n\n`);
    y.showHelp((s: string) => process.stderr.write(`${s}\n`));
    process.exit(1);
  })
  .parseAsync();
