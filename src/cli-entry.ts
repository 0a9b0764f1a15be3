#!/usr/bin/env node
// The `onebridge` command. Kept tiny: everything else is loaded after the compile cache is on,
// and `start` (the everyday command) skips the full command-line parser.
import module from 'node:module';

// Node >= 22.1: V8's code cache on disk, so later starts skip most compiling (seconds on a phone).
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

const argv = process.argv.slice(2);
const { fastStartOptions } = await import('./cli-fast.js');
const options = fastStartOptions(argv);
if (options) {
  const [{ start }, { fail }] = await Promise.all([import('./commands/start.js'), import('./cli-fail.js')]);
  try {
    await start(options);
  } catch (err) {
    fail(err, options.logLevel === 'debug');
  }
} else {
  const { runCli } = await import('./cli.js');
  await runCli(argv);
}
