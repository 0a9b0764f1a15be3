import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { z } from 'zod';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, createApp, defineAdapter, privateMessageEvent, type App, type Logger } from '../src/index.js';
import { TestClient } from './support/app.js';

const ROOT = resolve(import.meta.dirname, '..');

/** A logger that keeps what it is told, as an embedding program's would. */
function memoryLogger(lines: string[] = [], component = ''): Logger & { lines: string[] } {
  const at = (level: string) => (message: string) => void lines.push(`${level} [${component}] ${message}`);
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: ({ component: c }) => memoryLogger(lines, c) };
}

const echoAdapter = defineAdapter({
  type: 'echo',
  config: z.strictObject({ greeting: z.string().default('hi') }),
  create: (config, ctx) => ({
    actions: {
      get_login_info: () => ({ user_id: ctx.selfId, nickname: config.greeting }),
      send_private_msg: (p) => {
        ctx.emit(privateMessageEvent(ctx.selfId, { message_id: 1, user_id: p.int('user_id'), message: p.message(), sender: { user_id: p.int('user_id'), nickname: 'echo' } }));
        return { message_id: 1 };
      },
    },
    async start() {},
    async stop() {},
    status: () => ({ online: true, good: true }),
  }),
});

describe('onebridge as a library', () => {
  let app: App | undefined;
  afterEach(async () => {
    await app?.stop();
    app = undefined;
    vi.restoreAllMocks();
  });

  it('createApp with its own adapter and logger: serves clients, logs only to the logger, installs no signal handlers', async () => {
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => process.listenerCount(s));
    const stdout = vi.spyOn(process.stdout, 'write');
    const stderr = vi.spyOn(process.stderr, 'write');
    const logger = memoryLogger();
    app = createApp({ config: { accounts: [{ self_id: 42, adapter: { type: 'echo', greeting: 'hello' } }], network: [{ type: 'ws', port: 0, heartbeat_interval_ms: 0 }] }, adapters: [echoAdapter], logger });
    await app.start();
    const port = (app.transports[0] as unknown as { port: number }).port;
    const c = await TestClient.open(`ws://127.0.0.1:${port}/`);
    expect(await c.call('get_login_info')).toMatchObject({ retcode: 0, data: { user_id: 42, nickname: 'hello' } });
    expect(await c.call('no_such_action')).toMatchObject({ status: 'failed', retcode: 1404 });
    await c.call('send_private_msg', { user_id: 7, message: 'yo' });
    expect(await c.nextWhere((f) => f['post_type'] === 'message')).toMatchObject({ self_id: 42, user_id: 7, message: [{ type: 'text', data: { text: 'yo' } }] });
    await c.close();
    await app.stop();
    expect(['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => process.listenerCount(s))).toEqual(signals);
    expect(stdout).not.toHaveBeenCalled();
    expect(stderr).not.toHaveBeenCalled();
    expect(logger.lines.some((l) => /^info \[app\] ready: 1 account/.test(l))).toBe(true);
    expect(logger.lines.some((l) => /^info \[registry\] connected #/.test(l))).toBe(true);
  });

  it('a bad config names the key, from the adapter schema too', () => {
    expect(() => createApp({ config: { accounts: [{ self_id: 1, adapter: { type: 'echo', greeting: 5 } }] }, adapters: [echoAdapter] })).toThrow(ConfigError);
    const problems = (config: unknown) => {
      try {
        createApp({ config, adapters: [echoAdapter] });
      } catch (err) {
        return (err as ConfigError).problems;
      }
      throw new Error('no ConfigError');
    };
    expect(problems({ accounts: [{ self_id: 1, adapter: { type: 'nope' } }] })).toEqual([{ path: 'accounts[0].adapter.type', message: 'expected one of echo, got "nope"' }]);
    expect(problems({ accounts: [{ adapter: { type: 'echo' } }] })).toEqual([{ path: 'accounts[0].self_id', message: 'missing; expected the bot account id' }]);
    expect(() => createApp({ config: {}, adapters: [] })).toThrow(/no adapters given/);
    expect(() => createApp({ config: {}, adapters: [echoAdapter, echoAdapter] })).toThrow(/given twice/);
  });

  it('with no accounts: one account of the first adapter, its config all defaults', async () => {
    app = createApp({ config: {}, adapters: [echoAdapter], logger: memoryLogger() });
    expect(app.config.accounts).toEqual([{ self_id: 10001, adapter: { type: 'echo', greeting: 'hi' }, rate_limit_interval_ms: 500 }]);
  });

  it('the package exports resolve for a Node program (exports map, built output)', () => {
    const script = `
      import { createApp, defineAdapter, StableIds } from 'onebridge';
      import { builtinAdapters, sandboxAdapter } from 'onebridge/adapters';
      const app = createApp({ config: { sandbox: { console: false } }, adapters: builtinAdapters, logger: { error() {}, warn() {}, info() {}, debug() {}, child() { return this; } } });
      await app.start();
      const s = app.accounts.get(10001).status();
      await app.stop();
      process.stdout.write(JSON.stringify({ online: s.online, def: typeof defineAdapter, ids: typeof StableIds, sandbox: sandboxAdapter.type }));
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual({ online: true, def: 'function', ids: 'function', sandbox: 'sandbox' });
  });
});
