import { afterEach } from 'vitest';
import type { App } from '../../src/app.js';
import { startApp } from './app.js';

export interface AppFixture {
  /** Run after each test, newest first, each awaited; tests push what they open here too. */
  readonly cleanups: Array<() => unknown>;
  /** startApp(yaml), with the app's stop pushed to `cleanups`. */
  app(yaml: string): Promise<App>;
}

/**
 * The fixture of a test file whose tests start in-process apps as they go (a relay and its
 * upstream, say): call it once, at the file's top level. It registers the afterEach that runs
 * `cleanups`.
 *
 * It opens no clients (their paths and defaults differ from file to file), and it does not suit
 * concurrent tests, which would share one array: register their teardown on the test context.
 */
export function appFixture(): AppFixture {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    cleanups,
    async app(yaml) {
      const a = await startApp(yaml);
      cleanups.push(() => a.stop());
      return a;
    },
  };
}
