import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { builtinAdapters } from '../adapters/index.js';
import { createApp, defineAdapter, privateMessageEvent, type App, type Logger } from '../src/index.js';
import { Framework, freePort } from './support/framework.js';

const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {}, child: () => quiet };
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const hello = (selfId: number, text: string) =>
  privateMessageEvent(selfId, {
    message_id: 1,
    user_id: 7,
    message: [{ type: 'text', data: { text } }],
    sender: { user_id: 7, nickname: 'alice' },
  });

/** Emits during start and during identify, like a platform that replays a backlog on connect. */
const eager = defineAdapter({
  type: 'eager',
  config: z.strictObject({}),
  learnsSelfId: true,
  create: async (_config, ctx) => {
    // The lazy-import pattern: a platform library loaded only when an account uses it.
    const { createHash } = await import('node:crypto');
    void createHash;
    return {
      actions: {},
      async start() {
        ctx.emit(hello(ctx.selfId, 'during start'));
      },
      async identify() {
        ctx.emit(hello(ctx.selfId, 'during identify'));
        return 4242;
      },
      async stop() {},
      status: () => ({ online: true, good: true }),
    };
  },
});

describe('the adapter seam', () => {
  it('nothing emitted during start or identify is lost; self_id 0 becomes the learned id', async () => {
    const framework = await Framework.start();
    cleanups.push(() => framework.close());
    const app = createApp({
      config: {
        accounts: [{ adapter: { type: 'eager' } }],
        network: [{ type: 'ws-reverse', url: framework.url(), heartbeat_interval_ms: 0 }],
      },
      adapters: [eager],
      logger: quiet,
    });
    cleanups.push(() => app.stop());
    await app.start();
    const c = await framework.connection(0);
    await framework.until(() => c.frames.filter((f) => f['post_type'] === 'message').length >= 2);
    const messages = c.frames.filter((f) => f['post_type'] === 'message');
    expect(
      messages.map((m) => [m['self_id'], (m['message'] as Array<{ data: { text: string } }>)[0]!.data.text]),
    ).toEqual([
      [4242, 'during start'],
      [4242, 'during identify'],
    ]);
  });

  it('the startup line says how self_id was found: learned from the platform, or derived from config', async () => {
    const upstream = await Framework.start();
    cleanups.push(() => upstream.close());
    upstream.wss.on('connection', (ws) =>
      ws.on('message', (data) => {
        const { echo } = JSON.parse(data.toString()) as { echo: unknown };
        ws.send(JSON.stringify({ status: 'ok', retcode: 0, data: { user_id: 777, nickname: 'up' }, echo }));
      }),
    );
    // Nothing listens here: irc and xmpp derive the id without their server.
    const closed = await freePort();
    const accounts = {
      eager: { type: 'eager' },
      relay: { type: 'relay', upstream: { mode: 'ws', url: upstream.url('/') } },
      irc: { type: 'irc', host: '127.0.0.1', port: closed, nick: 'obbot' },
      xmpp: {
        type: 'xmpp',
        service: `xmpp://127.0.0.1:${closed}`,
        domain: 'localhost',
        username: 'bot',
        password: 'pw',
      },
    };
    const lines: Record<string, string[]> = {};
    for (const [type, adapter] of Object.entries(accounts)) {
      const seen: string[] = (lines[type] = []);
      const record: Logger = {
        error() {},
        warn() {},
        info: (message: string) => seen.push(message),
        debug() {},
        child: () => record,
      };
      const app = createApp({
        config: { accounts: [{ adapter }], network: [] },
        adapters: [...builtinAdapters, eager],
        logger: record,
      });
      cleanups.push(() => app.stop());
      await app.start();
    }
    const said = (type: string) => lines[type]!.filter((l) => l.startsWith('accounts[0]: self_id'));
    expect(said('eager')).toEqual(['accounts[0]: self_id 4242 learned from the platform']);
    expect(said('relay')).toEqual(["accounts[0]: self_id 777 learned from upstream's get_login_info"]);
    expect(said('irc')).toEqual([expect.stringMatching(/^accounts\[0\]: self_id \d+ derived from the nick "obbot"$/)]);
    expect(said('xmpp')).toEqual([
      expect.stringMatching(/^accounts\[0\]: self_id \d+ derived from the JID bot@localhost$/),
    ]);
  });

  it('a section is the adapter’s top-level key; shared state is built once per app for all its accounts', async () => {
    const built: unknown[] = [];
    const seen: unknown[] = [];
    const world = defineAdapter({
      type: 'world',
      config: z.strictObject({ name: z.string() }),
      section: z.strictObject({ size: z.int().default(3) }),
      shared: (section) => {
        built.push(section);
        return { section, members: new Set<string>() };
      },
      create: (config, ctx) => {
        ctx.shared.members.add(config.name);
        seen.push(ctx.shared);
        return { actions: {}, async start() {}, async stop() {}, status: () => ({ online: true, good: true }) };
      },
    });
    const make = (config: unknown): App => createApp({ config, adapters: [world], logger: quiet });
    const app = make({
      world: { size: 5 },
      accounts: [
        { self_id: 1, adapter: { type: 'world', name: 'a' } },
        { self_id: 2, adapter: { type: 'world', name: 'b' } },
      ],
    });
    cleanups.push(() => app.stop());
    await app.start();
    expect(built).toEqual([{ size: 5 }]);
    expect(seen[0]).toBe(seen[1]);
    expect([...(seen[0] as { members: Set<string> }).members]).toEqual(['a', 'b']);
    expect(() =>
      make({ world: { size: 'x' }, accounts: [{ self_id: 1, adapter: { type: 'world', name: 'a' } }] }),
    ).toThrow(/world\.size/);
    expect(() => make({ wrld: {}, accounts: [{ self_id: 1, adapter: { type: 'world', name: 'a' } }] })).toThrow(
      /wrld: unknown key/,
    );
    expect(() => defineAdapter({ type: 'Bad Type', config: z.strictObject({}), create: () => ({}) as never })).toThrow(
      /expected lowercase/,
    );
    expect(() =>
      defineAdapter({ type: 'x', config: z.strictObject({ type: z.string() }), create: () => ({}) as never }),
    ).toThrow(/leave "type" out/);
  });

  it('a platform link shows in the registry and goes when the adapter stops, even if it forgot it', async () => {
    const linked = defineAdapter({
      type: 'linked',
      config: z.strictObject({}),
      create: (_config, ctx) => ({
        actions: {},
        async start() {
          const link = ctx.trackLink({ endpoint: 'irc://127.0.0.1:6667', remote: '127.0.0.1:6667' });
          link.state = 'open';
          link.countIn(10);
          link.reconnected();
        },
        async stop() {},
        status: () => ({ online: true, good: true }),
      }),
    });
    const app = createApp({
      config: { accounts: [{ self_id: 9, adapter: { type: 'linked' } }] },
      adapters: [linked],
      logger: quiet,
    });
    await app.start();
    expect(app.registry.snapshot()).toMatchObject([
      {
        transport: 'upstream',
        endpoint: 'irc://127.0.0.1:6667',
        self_id: 9,
        state: 'open',
        frames_in: 1,
        bytes_in: 10,
        reconnects: 1,
      },
    ]);
    await app.stop();
    expect(app.registry.size).toBe(0);
  });
});

describe('shutdown with hung platforms', () => {
  it('several adapters whose stop() never settles share one bound: the app stops within grace + 1 s', async () => {
    const stopped: number[] = [];
    const hung = defineAdapter({
      type: 'hung',
      config: z.strictObject({}),
      create: (_config, ctx) => ({
        actions: {},
        async start() {},
        stop() {
          stopped.push(ctx.selfId);
          return new Promise<void>(() => {});
        },
        status: () => ({ online: true, good: true }),
      }),
    });
    const graceMs = 200;
    const app = createApp({
      config: {
        accounts: [1, 2, 3].map((self_id) => ({ self_id, adapter: { type: 'hung' } })),
        network: [],
        shutdown: { grace_ms: graceMs },
      },
      adapters: [hung],
      logger: quiet,
    });
    await app.start();
    const t0 = performance.now();
    await app.stop();
    const elapsed = performance.now() - t0;
    // Every stop() was called, last-in-first-out, though none settled.
    expect(stopped).toEqual([3, 2, 1]);
    expect(elapsed).toBeLessThan(graceMs + 1000);
  });
});
