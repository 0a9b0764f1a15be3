import { createRequire } from 'node:module';
import type { Argv } from 'yargs';
import type { AnyAdapterDefinition } from './adapter.js';
import { fail } from './cli-fail.js';
import type { StatusOptions } from './commands/status.js';
import { OneBridgeError } from './errors.js';
import { LOG_LEVELS, type LogFormat, type LogLevel } from './log-levels.js';
import { VERSION } from './package-info.js';
import { releaseShutdownSignals } from './signals.js';

// yargs' CommonJS build: its ESM build wraps help text mid-word ("Usa" / "ge:") because that
// build's cliui has no word-aware wrap.
const yargs = createRequire(import.meta.url)('yargs') as (args: string[]) => Argv;

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

let debug = false;

/** The options of the commands that ask a running onebridge (status, reload): where, and how long to wait. */
function withAdminOptions<T>(y: Argv<T>) {
  return y
    .option('config', { alias: 'c', type: 'string', describe: 'config file, to find the admin endpoint' })
    .option('admin', { type: 'string', describe: 'admin URL instead, e.g. http://127.0.0.1:6790' })
    .option('token', { type: 'string', describe: 'admin access token' })
    .option('timeout-ms', {
      type: 'number',
      describe: 'how long to wait for the admin endpoint to answer, in milliseconds (default 5000)',
    });
}

/** Those options as the commands take them; an out-of-range --timeout-ms is an error here. */
function adminOptions(
  adapters: readonly AnyAdapterDefinition[],
  args: Pick<StatusOptions, 'config' | 'admin' | 'token' | 'timeoutMs'>,
): Omit<StatusOptions, 'json'> {
  const { timeoutMs } = args;
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 3_600_000))
    throw new OneBridgeError(
      'ONEBRIDGE_BAD_OPTION',
      '--timeout-ms: expected a whole number of milliseconds from 1 to 3600000, e.g. --timeout-ms 20000',
    );
  return { adapters, config: args.config, admin: args.admin, token: args.token, timeoutMs };
}

export interface CliOptions {
  /** The adapters configs may name; the first is the default account's. */
  readonly adapters: readonly AnyAdapterDefinition[];
  /** The arguments after `node onebridge`; default `process.argv.slice(2)`. */
  readonly argv?: readonly string[];
}

/**
 * The `onebridge` command line: every command, --help, --version and usage errors; for
 * `start` it installs signal handlers and exits the process. `bin/onebridge.ts` calls it with
 * the built-in adapters; a distribution with other adapters can call it with its own list.
 */
export async function runCli(options: CliOptions): Promise<void> {
  const { adapters } = options;
  const argv = [...(options.argv ?? process.argv.slice(2))];
  debug = argv.some((a, i) => a === '--log-level=debug' || (a === '--log-level' && argv[i + 1] === 'debug'));
  await yargs(argv)
    .scriptName('onebridge')
    .usage(
      'onebridge: a OneBot v11 connector between chat platforms and bot frameworks\n\nUsage: $0 [command] [options]',
    )
    .option('log-level', { choices: LOG_LEVELS, describe: 'log level (overrides log.level in the config)' })
    .option('log-format', {
      choices: ['text', 'json'] as const,
      describe: 'log format on stderr (overrides log.format)',
    })
    .command(
      ['start', '$0'],
      'run onebridge (config: -c FILE, $ONEBRIDGE_CONFIG, ./onebridge.yaml, then built-in defaults)',
      (y) => y.option('config', { alias: 'c', type: 'string', describe: 'config file (YAML)' }),
      guarded(async (args) => {
        const { start } = await import('./commands/start.js');
        await start({
          adapters,
          config: args.config,
          logLevel: args['log-level'] as LogLevel | undefined,
          logFormat: args['log-format'] as LogFormat | undefined,
        });
      }),
    )
    .command(
      'init [file]',
      'write the commented default config to FILE',
      (y) =>
        y
          .positional('file', { type: 'string', default: 'onebridge.yaml' })
          .option('force', { type: 'boolean', default: false, describe: 'overwrite an existing file' }),
      guarded(async (args) => {
        const { init } = await import('./commands/init.js');
        const file = init(args.file, args.force);
        process.stdout.write(`wrote ${file}; edit it, then run: onebridge -c ${args.file}\n`);
      }),
    )
    .command(
      'check',
      'validate a config file and print every problem (exit 0 when valid)',
      (y) => y.option('config', { alias: 'c', type: 'string', describe: 'config file (YAML)' }),
      guarded(async (args) => {
        const { check } = await import('./commands/check.js');
        process.exitCode = check(args.config, adapters, process.stdout, process.stderr);
      }),
    )
    .command(
      'status',
      'print the live connections of a running onebridge (from its admin endpoint)',
      (y) =>
        withAdminOptions(y).option('json', {
          type: 'boolean',
          default: false,
          describe: 'print JSON instead of a table',
        }),
      guarded(async (args) => {
        const { status } = await import('./commands/status.js');
        await status({ ...adminOptions(adapters, args), json: args.json }, process.stdout);
      }),
    )
    .command(
      'reload',
      'apply a changed config to a running onebridge: filters, action permissions, rate limits, log settings (via its admin endpoint)',
      (y) => withAdminOptions(y),
      guarded(async (args) => {
        const { reload } = await import('./commands/reload.js');
        await reload(adminOptions(adapters, args), process.stdout);
      }),
    )
    // Only `start` keeps the signals bin.ts caught early; other commands get Node's defaults back.
    .middleware((args) => {
      if (args._[0] !== undefined && args._[0] !== 'start') releaseShutdownSignals();
    })
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
}
