import { readdirSync } from 'node:fs';
import module from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI_TEST_MS, QUIET_CONFIG, runningFor, tempDirFor } from './support/cli.js';
import { until } from './support/app.js';
import { slow } from './support/slow.js';

/** Every file below `dir` (the cache keeps one folder per Node version and build). */
function filesIn(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

// Node writes its compile cache at exit; a phone's onebridge is often killed instead (Termux
// swiped away). The command writes it once it is ready, where Node can (>= 22.10).
const canFlush = typeof (module as { flushCompileCache?: unknown }).flushCompileCache === 'function';

describe('the compile cache', () => {
  it(
    canFlush
      ? `is written once the command is ready, so a start after a SIGKILL is warm (node ${process.version})`
      : `is not written by a killed process on node ${process.version}, which cannot flush it early; the command runs all the same`,
    async (ctx) => {
      const t = tempDirFor(ctx);
      const cache = join(t.dir, 'compile-cache');
      const file = t.write('c.yaml', QUIET_CONFIG());
      const cli = runningFor(ctx, ['-c', file], { env: { NODE_COMPILE_CACHE: cache } });
      await cli.ready();
      // The last startup lines are the paste-ready hints; the flush follows them.
      await cli.waitForLog(/Koishi adapter-onebot/);
      if (canFlush) await until(() => filesIn(cache).length > 0, slow(5000), 'compile cache files after ready');
      cli.kill();
      const { signal } = await cli.exited;
      expect(signal).toBe('SIGKILL');
      if (canFlush) expect(filesIn(cache).length).toBeGreaterThan(0);
      else expect(filesIn(cache)).toEqual([]);
    },
    slow(CLI_TEST_MS),
  );
});
