import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AnyAdapterDefinition } from '../../src/adapter.js';
import type { App } from '../../src/app.js';
import { createApp, type Logger } from '../../src/index.js';
import { TestClient, until } from './app.js';

/**
 * The platform side of one adapter under the contract: a real server the adapter connects to
 * (ngircd, Prosody, a stub OneBot implementation) or the adapter's own world, and a person on
 * it who talks to the bot.
 */
export interface PlatformHarness {
  /** `accounts[0].adapter` for the bot, and any top-level keys the adapter needs (its section). */
  account(): { adapter: Record<string, unknown>; extra?: Record<string, unknown> };
  /** Called once each app is running (the sandbox reaches its world through the admin API). */
  attach?(app: App): void;
  /**
   * Someone on the platform writes `text` to the bot, in a private chat or a group the bot is
   * in. The contract waits for the resulting OneBot message event.
   */
  say(text: string): Promise<void>;
  /** Resolves with the text of a message the bot sent on the platform that contains `needle`. */
  received(needle: string): Promise<string>;
  /** The platform stops answering: reads nothing more, ignores goodbyes and close frames. */
  hang(): Promise<void>;
  /**
   * Optional, for adapters with a link to a server: the platform drops the bot and refuses it
   * until the returned function is called (a server restart). Then the contract checks that
   * status goes offline, comes back online by itself, and messages flow again.
   */
  drop?(): Promise<() => Promise<void>>;
  /** Releases everything the harness opened. Called once, after every test. */
  close(): Promise<void>;
}

export interface ContractOptions {
  /** The definitions the app gets (at least the one under test). */
  readonly adapters: readonly AnyAdapterDefinition[];
  /** A fresh platform for the suite. */
  readonly harness: () => Promise<PlatformHarness>;
  /** How long the platform may take to connect and to deliver one message. Default 5000 ms. */
  readonly timeoutMs?: number;
  /**
   * The adapter holds a link to a server (every real platform): the contract then also drops
   * it (`harness.drop`, required) and checks the adapter recovers. Set it for every adapter
   * with a server; leave it out only for in-process platforms (the sandbox).
   */
  readonly linked?: boolean;
}

const SELF_ID = 10001;
/** A user_id and group_id no platform under the contract has (nor has seen). */
export const UNKNOWN_ID = 987654321;
const GRACE_MS = 500;
/** The app's own bounds after the grace: all adapters' stop (500) and after-terminate (250), plus room. */
const STOP_BOUND_MS = GRACE_MS + 500 + 250 + 1000;

const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {}, child: () => quiet };

/**
 * What every adapter must do, as one describe block: `adapterContract('irc', { adapters,
 * harness })`. The app is real (forward WS on port 0, admin on port 0) and the client is a real
 * `ws` client; the harness supplies the platform. See docs/adapters.md.
 */
export function adapterContract(name: string, options: ContractOptions): void {
  const timeout = options.timeoutMs ?? 5000;

  describe(`adapter contract: ${name}`, () => {
    let harness: PlatformHarness;
    const apps: App[] = [];
    const clients: TestClient[] = [];

    beforeAll(async () => {
      harness = await options.harness();
    });
    afterEach(async () => {
      for (const c of clients.splice(0)) await c.close();
      for (const a of apps.splice(0)) await a.stop();
    });
    afterAll(async () => {
      await harness?.close();
    });

    async function startApp(): Promise<App> {
      const { adapter, extra } = harness.account();
      const app = createApp({
        config: {
          ...extra,
          accounts: [{ self_id: SELF_ID, adapter }],
          network: [{ type: 'ws', port: 0, heartbeat_interval_ms: 0 }],
          admin: { port: 0 },
          shutdown: { grace_ms: GRACE_MS },
        },
        adapters: options.adapters,
        logger: process.env['ONEBRIDGE_TEST_LOGS'] === '1' ? undefined : quiet,
      } as Parameters<typeof createApp>[0]);
      apps.push(app);
      await app.start();
      harness.attach?.(app);
      await until(() => app.accounts.get(SELF_ID)!.status().online, timeout, `${name} online`);
      return app;
    }

    async function client(app: App): Promise<TestClient> {
      const port = (app.transports[0] as unknown as { port: number }).port;
      const c = await TestClient.open(`ws://127.0.0.1:${port}/`);
      clients.push(c);
      return c;
    }

    /** The platform says something; the client gets it as a message event. */
    async function platformToBot(c: TestClient): Promise<Record<string, unknown>> {
      const text = `ping ${Math.random().toString(36).slice(2, 10)}`;
      await harness.say(text);
      return c.nextWhere((f) => f['post_type'] === 'message' && JSON.stringify(f['message']).includes(text), timeout);
    }

    it('start is bounded and idempotent; status is online while running and offline after stop; stop is idempotent', async () => {
      const t0 = performance.now();
      const app = await startApp();
      expect(performance.now() - t0).toBeLessThan(timeout + 1000);
      const adapter = app.accounts.get(SELF_ID)!.adapter;
      const links = app.registry.size;
      await adapter.start(new AbortController().signal);
      expect(app.registry.size).toBe(links);
      expect(adapter.status()).toMatchObject({ online: true });
      await app.stop();
      expect(adapter.status()).toMatchObject({ online: false });
      const t1 = performance.now();
      await adapter.stop();
      await adapter.stop();
      expect(performance.now() - t1).toBeLessThan(1000);
      expect(app.registry.size).toBe(0);
    });

    it('an unknown action answers failed / 1404 at once, with the echo', async () => {
      const c = await client(await startApp());
      expect(await c.call('surely_not_an_action', {}, { e: 1 })).toMatchObject({
        status: 'failed',
        retcode: 1404,
        echo: { e: 1 },
      });
    });

    it('a send to an unknown group_id or user_id answers failed / 100 naming the id, not 1404', async () => {
      const c = await client(await startApp());
      // 1404 is the spec's "no such action": a client would read it as send_*_msg missing.
      for (const [action, params] of [
        ['send_group_msg', { group_id: UNKNOWN_ID, message: 'x' }],
        ['send_private_msg', { user_id: UNKNOWN_ID, message: 'x' }],
      ] as const)
        expect(await c.call(action, params, action, timeout)).toMatchObject({
          status: 'failed',
          retcode: 100,
          message: expect.stringContaining(String(UNKNOWN_ID)),
          echo: action,
        });
    });

    it('a message both ways: the platform to the client as an event, and send_msg back to the platform', async () => {
      const c = await client(await startApp());
      const event = await platformToBot(c);
      expect(event).toMatchObject({
        self_id: SELF_ID,
        post_type: 'message',
        message_type: expect.stringMatching(/^(private|group)$/),
      });
      expect(Number.isSafeInteger(event['user_id']) && (event['user_id'] as number) > 0).toBe(true);
      expect(Number.isInteger(event['message_id']) && Math.abs(event['message_id'] as number) <= 0x7fffffff).toBe(true);
      const reply = `pong ${Math.random().toString(36).slice(2, 10)}`;
      const target =
        event['message_type'] === 'group'
          ? { message_type: 'group', group_id: event['group_id'] }
          : { message_type: 'private', user_id: event['user_id'] };
      const [answer, seen] = await Promise.all([
        c.call('send_msg', { ...target, message: reply }, 'send', timeout),
        harness.received(reply),
      ]);
      expect(answer).toMatchObject({ status: 'ok', retcode: 0, data: { message_id: expect.any(Number) } });
      expect(seen).toContain(reply);
    });

    if (options.linked)
      it('the platform drops the bot: offline, then online again by itself, and messages flow', async () => {
        if (!harness.drop) throw new Error(`${name}: a linked adapter's harness must implement drop()`);
        const app = await startApp();
        const c = await client(app);
        const status = () => app.accounts.get(SELF_ID)!.status();
        const restore = await harness.drop();
        await until(() => !status().online, timeout, `${name} offline`);
        expect(await c.call('get_status', {}, 'st')).toMatchObject({ status: 'ok', data: { online: false } });
        await restore();
        await until(() => status().online, timeout, `${name} online again`);
        await platformToBot(c);
      });

    it('ids are the same after a restart', async () => {
      const first = await startApp();
      const before = await platformToBot(await client(first));
      for (const c of clients.splice(0)) await c.close();
      await first.stop();
      const second = await startApp();
      const after = await platformToBot(await client(second));
      expect([after['user_id'], after['group_id']]).toEqual([before['user_id'], before['group_id']]);
    });

    it('shutdown stays within grace while the platform hangs', async () => {
      const app = await startApp();
      await client(app);
      await harness.hang();
      const t0 = performance.now();
      await app.stop();
      expect(performance.now() - t0).toBeLessThan(STOP_BOUND_MS);
      expect(app.registry.size).toBe(0);
    });
  });
}
