import { once } from 'node:events';
import WebSocket from 'ws';
import { builtinAdapters } from '../../adapters/index.js';
import { App } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { configureLogging } from '../../src/logger.js';
import type { WsServer } from '../../src/transport/ws-server.js';
import { slow } from './slow.js';

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

/** The bound port of `app.transports[index]`: a forward WS or HTTP API listener (both have `port`). */
export function listenPort(app: App, index = 0): number {
  const port = (app.transports[index] as Partial<Pick<WsServer, 'port'>> | undefined)?.port;
  if (typeof port !== 'number') throw new Error(`app.transports[${index}] is not a listener with a port`);
  return port;
}

/** @deprecated Named for WS but reads any listener's port: use listenPort(). Kept while branches in flight still call it. */
export const wsPort = listenPort;

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
    this.ws.on('close', () => {
      for (const w of this.#waiters.splice(0)) w();
    });
    this.ws.on('error', () => {});
  }

  static async open(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
    const c = new TestClient(url, options);
    await once(c.ws, 'open');
    return c;
  }

  /** Resolves on the next frame or close, or after `left` ms, whichever is first. */
  #wait(left: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, left);
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * The next frame not yet returned by next(), waiting up to `ms` (scaled by SLOWDOWN: a hang
   * guard); rejects at once when the socket has closed and no frame is left.
   */
  next(ms = 2000): Promise<Record<string, unknown>> {
    return this.#next(slow(ms));
  }

  async #next(limit: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + limit;
    while (this.frames.length <= this.#read) {
      if (this.ws.readyState === WebSocket.CLOSED)
        throw new Error(`socket closed, no frame left (got ${this.frames.length})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${limit} ms (got ${this.frames.length})`);
      await this.#wait(left);
    }
    return this.frames[this.#read++]!;
  }

  /** Skip frames until one matches. */
  async nextWhere(pred: (f: Record<string, unknown>) => boolean, ms = 2000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + slow(ms);
    for (;;) {
      const f = await this.#next(Math.max(1, deadline - Date.now()));
      if (pred(f)) return f;
    }
  }

  /**
   * Send an action and wait for the response with the same echo. Searches every frame, not
   * the next() cursor, so concurrent calls each find their own answer. Waits up to `ms` scaled
   * by SLOWDOWN; rejects at once when the socket closes without the answer.
   */
  async call(
    action: string,
    params: Record<string, unknown> = {},
    echo: unknown = `e${Math.random()}`,
    ms = 2000,
  ): Promise<Record<string, unknown>> {
    const key = JSON.stringify(echo);
    const from = this.frames.length;
    this.ws.send(JSON.stringify({ action, params, echo }));
    const deadline = Date.now() + slow(ms);
    for (;;) {
      const hit = this.frames.slice(from).find((f) => 'retcode' in f && JSON.stringify(f['echo']) === key);
      if (hit) return hit;
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed before the answer to ${action}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no answer to ${action} within ${slow(ms)} ms`);
      await this.#wait(left);
    }
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const closed = once(this.ws, 'close');
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.terminate();
    await closed;
  }
}

/**
 * Resolve once `check()` is true, polling at 1, 2, 4, 8 ms and then every 10 ms; reject after
 * `ms` (scaled by SLOWDOWN). Most conditions hold within a round trip on loopback, which a flat
 * 10 ms poll rounded up to 10 ms each time (3 s over one test's 300 events).
 * For state that emits no event (counters, registries); prefer `once(emitter, event)` when there is one.
 */
export async function until(check: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + slow(ms);
  for (let pause = 1; !check(); pause = Math.min(pause * 2, 10)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pause));
  }
}

/** HTTP status (and body) of a WebSocket handshake that was refused. */
export function handshakeStatus(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; opened: boolean }> {
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

/**
 * The teardown of files that keep one app and a list of clients opened against it: closes the
 * clients, all at once, then stops the app. Returns undefined, like tearDown(), for
 * `afterEach(async () => (app = await closeClientsAndStop(clients, app)))`.
 */
export async function closeClientsAndStop(clients: TestClient[], app: App | undefined): Promise<undefined> {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await app?.stop();
  return undefined;
}
