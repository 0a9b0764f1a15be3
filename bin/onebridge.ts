#!/usr/bin/env node
/**
 * The `onebridge` command: the CLI with the built-in adapters. It lives outside src/ because
 * core never imports adapters/; this is the one place that joins them.
 *
 * It catches SIGINT/SIGTERM/SIGHUP before anything else loads (loading the rest takes a few
 * hundred ms on a laptop, seconds on a phone), so a Ctrl+C at any moment of startup ends in
 * the orderly shutdown and its summary, never in Node's default "killed by signal".
 */
import { catchShutdownSignals } from '../src/signals.js';

catchShutdownSignals();
const [{ builtinAdapters }, { runCli }] = await Promise.all([import('../adapters/index.js'), import('../src/cli.js')]);
await runCli({ adapters: builtinAdapters });
