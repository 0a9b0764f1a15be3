import type { AnyAdapterDefinition } from '../adapter.js';
import { App, type ShutdownSummary } from '../app.js';
import { connectHints } from './connect-hints.js';
import { loadConfig } from '../config/load.js';
import { securityWarnings } from '../config/security-warnings.js';
import { formatProblem } from '../errors.js';
import { configureLogging, getLogger, type LogFormat, type LogLevel } from '../logger.js';
import { handleShutdownSignals } from '../signals.js';
import { VERSION } from '../package-info.js';
import { fdAdvice, FD_RESERVE, fdLimit } from '../transport/fd-budget.js';

/** Extra time, past the grace period, before a stuck shutdown is cut by force. */
const BACKSTOP_MS = 1000;

export interface StartOptions {
  adapters: readonly AnyAdapterDefinition[];
  config?: string | undefined;
  logLevel?: LogLevel | undefined;
  logFormat?: LogFormat | undefined;
}

/**
 * `onebridge start`: run until a signal. The first SIGINT/SIGTERM/SIGHUP starts the bounded
 * shutdown; a second one (outside npm's double delivery) exits at once with 130. A signal at
 * any moment of startup, even before the config is read, ends the same way: exit 0 with the
 * summary; a start it cut short (a relay still waiting to learn its self_id) is not an error.
 */
export async function start(options: StartOptions): Promise<void> {
  // The command-line log options apply at once: a signal may come before the config is read.
  configureLogging({ level: options.logLevel, format: options.logFormat });
  const logger = getLogger('main');
  let app: App | undefined;
  let graceMs = 0;
  // Runs until a signal, even when nothing else holds the event loop (an empty config whose
  // console input has ended): docs/sandbox.md promises that the end of input never stops it.
  const keepAlive = setInterval(() => undefined, 2 ** 30);
  let exiting = false;
  let stopping = false;
  const exit = (code: number) => {
    if (exiting) return;
    exiting = true;
    clearInterval(keepAlive);
    process.exitCode = code;
    // Let the last log lines reach stderr before the process goes.
    setImmediate(() => process.exit(code));
  };
  const report = (s: ShutdownSummary) =>
    logger.info(
      `shutdown complete: closed ${s.connections} connection${s.connections === 1 ? '' : 's'}, ${s.terminated} terminated after ${s.elapsedMs} ms`,
    );

  const shutdown = (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    if (!app) {
      // Nothing has started: nothing to close, so the shutdown itself took no time.
      logger.info(`${reason} during startup: shutting down`);
      report({ connections: 0, terminated: 0, aborted: 0, elapsedMs: 0 });
      exit(code);
      return;
    }
    logger.info(`${reason}: shutting down (grace ${graceMs} ms; signal again to exit at once)`);
    const backstop = setTimeout(() => {
      logger.error(`shutdown did not finish within grace + ${BACKSTOP_MS} ms; exiting anyway`);
      exit(code || 1);
    }, graceMs + BACKSTOP_MS);
    void app.stop().then((s) => {
      clearTimeout(backstop);
      report(s);
      exit(code);
    });
  };

  // First thing: signals bin.ts caught while the program loaded are replayed here.
  handleShutdownSignals({
    onShutdown: (signal) => shutdown(signal, 0),
    onForce: (signal) => {
      logger.warn(`${signal} again: exiting now`);
      exit(130);
    },
  });
  process.on('unhandledRejection', (reason) =>
    logger.error(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`),
  );
  process.on('uncaughtException', (err) => {
    logger.error(`uncaught exception: ${err.stack ?? err.message}`);
    shutdown('uncaught exception', 1);
  });
  if (stopping) return;

  const loaded = loadConfig(options.config, options.adapters);
  configureLogging({
    level: options.logLevel ?? loaded.config.log.level,
    format: options.logFormat ?? loaded.config.log.format,
    timezone: loaded.config.log.timezone,
  });
  logger.info(
    `onebridge ${VERSION} (node ${process.version}, pid ${process.pid}) with config ${loaded.source === 'default' ? `built-in defaults (${loaded.file})` : loaded.file}`,
  );
  if (loaded.source === 'default')
    logger.info(
      `no ./onebridge.yaml here: running the built-in defaults; to make your own, run "onebridge init" (writes ./onebridge.yaml, used from this folder) or pass -c FILE`,
    );
  if (loaded.config.network.length === 0 && !loaded.config.admin)
    logger.warn(
      'nothing will be served: the config has no network entries and no admin endpoint; add a network: entry (e.g. { type: ws, port: 6700 }) so bot frameworks can connect',
    );
  if (stopping) return;
  for (const w of securityWarnings(loaded.config)) logger.warn(formatProblem(w));
  warnIfFewDescriptors(loaded.config, logger);
  graceMs = loaded.config.shutdown.grace_ms;
  app = new App(loaded.config, {
    adapters: options.adapters,
    configFile: loaded.file,
    loadConfig: (file) => loadConfig(file, options.adapters).config,
    logOverrides: { level: options.logLevel, format: options.logFormat },
  });

  try {
    await app.start();
  } catch (err) {
    clearInterval(keepAlive);
    // A shutdown asked for while starting aborts the start: that is the shutdown, not a failure.
    if (stopping) {
      logger.debug(`start cut short by the shutdown: ${(err as Error).message}`);
      return;
    }
    await app.stop();
    throw err;
  }
  if (app.state !== 'running') return;
  const first = app.accounts.keys().next().value ?? 0;
  const ports = new Map(app.transports.map((t) => [t.key, (t as { port?: number }).port]));
  for (const line of connectHints(
    loaded.config,
    (i) => ports.get(`network[${i}]`),
    (entry) => entry.self_id ?? first,
  ))
    logger.info(line);
}

/** A limit below what the configured max_connections need shows up at start, not as silent resets later. */
function warnIfFewDescriptors(config: App['config'], logger: ReturnType<typeof getLogger>): void {
  const limit = fdLimit();
  if (limit === undefined || !Number.isFinite(limit)) return;
  const entries = config.network.flatMap((entry, i) =>
    entry.type === 'ws' && entry.max_connections > 0
      ? [{ key: `network[${i}].max_connections`, n: entry.max_connections }]
      : [],
  );
  const need = entries.reduce((sum, e) => sum + e.n, 0) + FD_RESERVE;
  if (entries.length === 0 || need <= limit) return;
  logger.warn(
    `the open-file limit (${limit}) is below what ${entries.map((e) => `${e.key} (${e.n})`).join(' + ')} need (about ${need} with ${FD_RESERVE} kept for admin and links); past it new clients get 503; ${fdAdvice(limit)}`,
  );
}
