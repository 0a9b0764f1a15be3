#!/usr/bin/env node
/**
 * The `onebridge` command: the CLI with the built-in adapters. It lives outside src/ because
 * core never imports adapters/; this is the one place that joins them.
 *
 * Kept tiny. It catches SIGINT/SIGTERM/SIGHUP before anything else loads (loading the rest
 * takes a few hundred ms on a laptop, seconds on a phone), so a Ctrl+C at any moment of
 * startup ends in the orderly shutdown and its summary, never in Node's default "killed by
 * signal". Then it turns on the compile cache, and runs `start` (the everyday command)
 * without the full command-line parser, or the CLI for everything else.
 */
import module from 'node:module';
import { catchShutdownSignals } from '../src/signals.js';

catchShutdownSignals();
// Node >= 22.1: V8's code cache on disk, so later starts skip most compiling (seconds on a phone).
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

const argv = process.argv.slice(2);
const [{ builtinAdapters }, { fastStartOptions }] = await Promise.all([import('../adapters/index.js'), import('../src/cli-fast.js')]);
const options = fastStartOptions(argv);
if (options) {
  const [{ start }, { fail }] = await Promise.all([import('../src/commands/start.js'), import('../src/cli-fail.js')]);
  try {
    await start({ ...options, adapters: builtinAdapters });
  } catch (err) {
    fail(err, options.logLevel === 'debug');
  }
} else {
  const { runCli } = await import('../src/cli.js');
  await runCli({ adapters: builtinAdapters, argv });
}
