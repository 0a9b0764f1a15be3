import { App } from '../app.js';
import { connectHints } from './connect-hints.js';
import { loadConfig } from '../config/load.js';
import { securityWarnings } from '../config/security-warnings.js';
import { formatProblem } from '../errors.js';
import { configureLogging, getLogger, type LogFormat, type LogLevel } from '../logger.js';
import { handleShutdownSignals } from '../signals.js';
import { VERSION } from '../package-info.js';

/** Extra time, past the grace period, before a stuck shutdown is cut by force. */
const BACKSTOP_MS = 1000;

export interface StartOptions {
  config?: string | undefined;
  logLevel?: LogLevel | undefined;
  logFormat?: LogFormat | undefined;
}

/**
 * `onebridge start`: run until a signal. The first SIGINT/SIGTERM/SIGHUP starts the bounded
 * shutdown; a second one (outside npm's double delivery) exits at once with 130.
 */
export async function start(options: StartOptions): Promise<void> {
  const loaded = loadConfig(options.config);
  configureLogging({ level: options.logLevel ?? loaded.config.log.level, format: options.logFormat ?? loaded.config.log.format, timezone: loaded.config.log.timezone });
  const logger = getLogger('main');
  logger.info(`onebridge ${VERSION} (node ${process.version}, pid ${process.pid}) with config ${loaded.source === 'default' ? `built-in defaults (${loaded.file})` : loaded.file}`);
  if (loaded.source === 'default') logger.info(`no ./onebridge.yaml here: running the built-in defaults; to make your own, run "onebridge init" (writes ./onebridge.yaml, used from this folder) or pass -c FILE`);
  if (loaded.config.network.length === 0 && !loaded.config.admin) logger.warn('nothing will be served: the config has no network entries and no admin endpoint; add a network: entry (e.g. { type: ws, port: 6700 }) so bot frameworks can connect');

  for (const w of securityWarnings(loaded.config)) logger.warn(formatProblem(w));
  const app = new App(loaded.config);
  // Runs until a signal, even when nothing else holds the event loop (an empty config whose
  // console input has ended): the README promises that the end of input never stops it.
  const keepAlive = setInterval(() => undefined, 2 ** 30);
  let exiting = false;
  const exit = (code: number) => {
    if (exiting) return;
    exiting = true;
    clearInterval(keepAlive);
    process.exitCode = code;
    // Let the last log lines reach stderr before the process goes.
    setImmediate(() => process.exit(code));
  };

  const shutdown = (reason: string, code: number) => {
    logger.info(`${reason}: shutting down (grace ${loaded.config.shutdown.grace_ms} ms; signal again to exit at once)`);
    const backstop = setTimeout(() => {
      logger.error(`shutdown did not finish within grace + ${BACKSTOP_MS} ms; exiting anyway`);
      exit(code || 1);
    }, loaded.config.shutdown.grace_ms + BACKSTOP_MS);
    void app.stop().then((s) => {
      clearTimeout(backstop);
      logger.info(`shutdown complete: closed ${s.connections} connection${s.connections === 1 ? '' : 's'}, ${s.terminated} terminated after ${s.elapsedMs} ms`);
      exit(code);
    });
  };

  handleShutdownSignals({
    onShutdown: (signal) => shutdown(signal, 0),
    onForce: (signal) => {
      logger.warn(`${signal} again: exiting now`);
      exit(130);
    },
  });
  process.on('unhandledRejection', (reason) => logger.error(`unhandled rejection: ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));
  process.on('uncaughtException', (err) => {
    logger.error(`uncaught exception: ${err.stack ?? err.message}`);
    shutdown('uncaught exception', 1);
  });

  try {
    await app.start();
  } catch (err) {
    clearInterval(keepAlive);
    await app.stop();
    throw err;
  }
  if (app.state !== 'running') return;
  const first = app.accounts.keys().next().value ?? 0;
  const ports = new Map(app.transports.map((t) => [t.key, (t as { port?: number }).port]));
  for (const line of connectHints(loaded.config, (i) => ports.get(`network[${i}]`), (entry) => entry.self_id ?? first)) logger.info(line);
}
