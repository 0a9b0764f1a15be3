import type { AnyAdapterDefinition } from '../adapter.js';
import { App } from '../app.js';
import { loadConfig } from '../config/load.js';
import { securityWarnings } from '../config/security-warnings.js';
import { formatProblem } from '../errors.js';
import { configureLogging, getLogger, type LogFormat, type LogLevel } from '../logger.js';
import { handleShutdownSignals } from '../signals.js';
import { VERSION } from '../package-info.js';

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
 * shutdown; a second one (outside npm's double delivery) exits at once with 130.
 */
export async function start(options: StartOptions): Promise<void> {
  const loaded = loadConfig(options.config, options.adapters);
  configureLogging({ level: options.logLevel ?? loaded.config.log.level, format: options.logFormat ?? loaded.config.log.format });
  const logger = getLogger('main');
  logger.info(`onebridge ${VERSION} (node ${process.version}, pid ${process.pid}) with config ${loaded.source === 'default' ? `built-in defaults (${loaded.file})` : loaded.file}`);

  for (const w of securityWarnings(loaded.config)) logger.warn(formatProblem(w));
  const app = new App(loaded.config, {
    adapters: options.adapters,
    configFile: loaded.file,
    loadConfig: (file) => loadConfig(file, options.adapters).config,
    logOverrides: { level: options.logLevel, format: options.logFormat },
  });
  let exiting = false;
  const exit = (code: number) => {
    if (exiting) return;
    exiting = true;
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
    await app.stop();
    throw err;
  }
}
