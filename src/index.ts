/**
 * onebridge as a library: embed the connector in a Node program, with your own adapters and
 * logger. `createApp` validates the config, and the app neither installs signal handlers nor
 * exits the process nor writes to the console: that is the CLI's job (`runCli`).
 *
 * The built-in adapters (sandbox, relay) are in `onebridge/adapters`.
 */
import type { AnyAdapterDefinition } from './adapter.js';
import { App } from './app.js';
import { validateConfig } from './config/load.js';
import type { Logger } from './logger.js';

export interface CreateAppOptions {
  /**
   * The config as a value (keys as in the YAML file): validated against the adapters, with
   * defaults filled in. A config from `loadConfig`/`parseConfig` may be passed as well.
   */
  readonly config: unknown;
  /** The adapters accounts may use. The first is the default account's when `accounts` is omitted. */
  readonly adapters: readonly AnyAdapterDefinition[];
  /** Where onebridge logs (one child per component). Default: its own winston logger on stderr. */
  readonly logger?: Logger;
}

/**
 * A validated, not yet started app: `await app.start()`, later `await app.stop()` (bounded by
 * `shutdown.grace_ms`, never rejects). Throws ConfigError naming every bad key.
 */
export function createApp(options: CreateAppOptions): App {
  const config = validateConfig(options.config, options.adapters);
  return new App(config, { adapters: options.adapters, ...(options.logger ? { logger: options.logger } : {}) });
}

export { App, type AppOptions, type ShutdownSummary } from './app.js';
export { loadConfig, parseConfig, resolveConfigFile, validateConfig, type LoadedConfig } from './config/load.js';
export { buildConfigSchema, type Config } from './config/schema.js';
export { ConfigError, StartupError, type ConfigProblem } from './errors.js';
export { configureLogging, getLogger, type LogFormat, type LogLevel } from './logger.js';
export type { ConnectionInfo, ConnectionRegistry } from './registry.js';
export * from './kit/index.js';
