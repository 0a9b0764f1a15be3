/**
 * The `onebridge` command after its entry (onebridge.ts) has caught the shutdown signals:
 * `start` (the everyday command) without the full command-line parser, or the CLI for
 * everything else. The build bundles this file with all it imports into one module
 * (scripts/bundle-cli.mjs): one file to read and compile instead of ~300.
 */
import { builtinAdapters } from '../adapters/index.js';
import { fail } from '../src/cli-fail.js';
import { fastStartOptions } from '../src/cli-fast.js';
import { start } from '../src/commands/start.js';

const argv = process.argv.slice(2);
const options = fastStartOptions(argv);
if (options) {
  try {
    await start({ ...options, adapters: builtinAdapters });
  } catch (err) {
    fail(err, options.logLevel === 'debug');
  }
} else {
  const { runCli } = await import('../src/cli.js');
  await runCli({ adapters: builtinAdapters, argv });
}
