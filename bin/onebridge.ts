#!/usr/bin/env node
/**
 * The `onebridge` command: the CLI with the built-in adapters. It lives outside src/ because
 * core never imports adapters/; this is the one place that joins them.
 *
 * Kept tiny. It catches SIGINT/SIGTERM/SIGHUP before anything else loads (loading the rest
 * takes a few hundred ms on a laptop, seconds on a phone), so a Ctrl+C at any moment of
 * startup ends in the orderly shutdown and its summary, never in Node's default "killed by
 * signal". Then it turns on the compile cache and loads the rest, `onebridge-main.js`: in the
 * package that is one bundled file (scripts/bundle-cli.mjs), which shares this file's
 * `src/signals.js`, so the signals caught here are the ones `start` replays.
 */
import module from 'node:module';
import { catchShutdownSignals } from '../src/signals.js';

catchShutdownSignals();
// Node >= 22.1: V8's code cache on disk, so later starts skip most compiling (seconds on a phone).
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

await import('./onebridge-main.js');
// Node >= 22.10: write the cache now (for `start`, once it is ready), not only at exit. A process
// that is killed never exits (Termux swiped away, SIGKILL, the OOM killer), and the next start
// would compile everything again.
(module as { flushCompileCache?: () => void }).flushCompileCache?.();
