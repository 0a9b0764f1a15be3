#!/usr/bin/env node
/**
 * The `onebridge` command's entry point. It catches SIGINT/SIGTERM/SIGHUP before anything
 * else loads (loading the rest takes a few hundred ms on a laptop, seconds on a phone), so a
 * Ctrl+C at any moment of startup ends in the orderly shutdown and its summary, never in
 * Node's default "killed by signal". Then it runs the CLI.
 */
import { catchShutdownSignals } from './signals.js';

catchShutdownSignals();
await import('./cli.js');
