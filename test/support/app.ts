import { once } from 'node:events';
import WebSocket from 'ws';
import { builtinAdapters } from '../../adapters/index.js';
import { App } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { configureLogging } from '../../src/logger.js';
import type { WsServer } from '../../src/transport/ws-server.js';

// Tests read behaviour from sockets, not logs; keep the output readable.
configureLogging({ silent: process.env['ONEBRIDGE_TEST_LOGS'] !== '1' });

/** A config from YAML with the built-in adapters, as the CLI would parse it. */
export function parseTestConfig(yaml: string, file?: string): Config {
  return parseConfig(yaml, builtinAdapters, file);
}

/** An App with the built-in adapters, not started. */
export function createTestApp(config: Config): App {
  return new App(config, { adapters: builtinAdapters });
}

/** An in-process App from YAML, started; `stop()` it in afterEach. Console off, port 0. */
export async function startApp(yaml: string): Promise<App> {
  // A test that brings its own sandbox section must turn the console off itself.
  const app = createTestApp(parseTestConfig(/^sandbox:/m.test(yaml) ? yaml : `sandbox: { console: false }\n${yaml}`));
  try {
    await app.start();
  } catch (err) {
    await app.stop();
    throw err;
  }
  return app;
}

export function wsPort(app: App, index = 0): number {
  return (app.transports[index] as WsServer).port;
}

/** A ws client that records every frame, parsed; `next()` waits for the next one. */
export class TestClient {
  readonly ws: WebSocket;
  readonly frames: Record<string, unknown>[] = [];
  #waiters: Array<() => void> = [];
  #read = 0;

  constructor(url: string, options?: WebSocket.ClientOptions) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Record<string, unknown>);
      for (const w of this.#waiters.splice(0)) w();
    });
    this.ws.on('error', () => {});
  }

  static async open(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
    const c = new TestClient(url, options);
    await once(c.ws, 'open');
    return c;
  }

  /** The next frame not yet returned by next(), waiting up to `ms`. */
  async next(ms = 2000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    while (this.frames.length <= this.#read) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${ms} ms (got ${this.frames.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.frames[this.#read++]!;
  }

  /** Skip frames until one matches. */
  async nextWhere(pred: (f: Record<string, unknown>) => boolean, ms = 2000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = await this.next(Math.max(1, deadline - Date.now()));
      if (pred(f)) return f;
    }
  }

  /**
   * Send an action and wait for the response with the same echo. Searches every frame, not
   * the next() cursor, so concurrent calls each find their own answer.
   */
  async call(action: string, params: Record<string, unknown> = {}, echo: unknown = `e${Math.random()}`, ms = 2000): Promise<Record<string, unknown>> {
    const key = JSON.stringify(echo);
    const from = this.frames.length;
    this.ws.send(JSON.stringify({ action, params, echo }));
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.frames.slice(from).find((f) => 'retcode' in f && JSON.stringify(f['echo']) === key);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no answer to ${action} within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = once(this.ws, 'close');
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.terminate();
    await closed;
  }
}

/** Resolve once `check()` is true, polling; reject after `ms`. */
export async function until(check: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** HTTP status (and body) of a WebSocket handshake that was refused. */
export function handshakeStatus(url: string, headers: Record<string, string> = {}): Promise<{ status: number; opened: boolean }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, opened: false });
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      resolve({ status: 101, opened: true });
      ws.terminate();
    });
    ws.on('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

/**
 * Collects uncaught exceptions and unhandled rejections while a test runs (assert the list is
 * empty); the returned function removes the listeners: push it to the test's cleanups.
 */
export function watchUnexpected(): { errors: unknown[]; stop: () => void } {
  const errors: unknown[] = [];
  const onError = (err: unknown) => errors.push(err);
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  return {
    errors,
    stop: () => {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
    },
  };
}

/**
 * The teardown network tests share: their own cleanups newest first, then the app. Returns
 * undefined so a test can write `afterEach(async () => (app = await tearDown(cleanups, app)))`.
 */
export async function tearDown(cleanups: Array<() => unknown>, app: App | undefined): Promise<undefined> {
  for (const c of cleanups.splice(0).reverse()) await c();
  await app?.stop();
  return undefined;
}
