import type { App } from '../../src/app.js';
import type { ConnectionInfo } from '../../src/registry.js';
import { startApp, TestClient, wsPort } from './app.js';
import type { Ngircd } from './ngircd.js';
import type { RawIrc } from './raw-irc.js';

export interface BotOptions {
  readonly nick?: string;
  readonly channels?: readonly string[];
  /** More `accounts[0].adapter` keys, or other values than the test defaults. */
  readonly adapter?: Record<string, unknown>;
  readonly selfId?: number;
  /** Dial this port instead of the server's (a LineTap in front of it). */
  readonly port?: number;
}

export interface Bot {
  readonly app: App;
  readonly client: TestClient;
  /** The bot's link as `/connections` shows it. */
  link(): ConnectionInfo;
  call(action: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** The next event frame matching `pred` (action answers skipped). */
  event(pred: (e: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>;
}

/**
 * An in-process onebridge with one irc account on `server` and a forward WS a OneBot client
 * is connected to (lifecycle read). Resolves once `watcher` saw the bot join every channel.
 */
export async function startBot(server: Ngircd, watcher: RawIrc | undefined, options: BotOptions = {}): Promise<Bot> {
  const nick = options.nick ?? 'obbot';
  const channels = options.channels ?? [];
  const adapter = { type: 'irc', host: '127.0.0.1', port: options.port ?? server.port, nick, channels, send_interval_ms: 0, reconnect: { initial_ms: 50, max_ms: 300 }, ...options.adapter };
  const yaml = `accounts:
  - ${options.selfId ? `self_id: ${options.selfId}\n    ` : ''}adapter: ${JSON.stringify(adapter)}
network:
  - { type: ws, port: 0, heartbeat_interval_ms: 0 }
shutdown: { grace_ms: 500 }
`;
  const app = await startApp(yaml);
  try {
    if (watcher) {
      for (const channel of channels) {
        await watcher.waitFor((l) => l.command === 'JOIN' && l.nick.toLowerCase().startsWith(nick.toLowerCase()) && l.params[0]?.toLowerCase() === channel.toLowerCase(), 10_000, `${nick} joining ${channel}`);
      }
    }
    const client = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/`);
    await client.nextWhere((f) => f['meta_event_type'] === 'lifecycle');
    return {
      app,
      client,
      link: () => app.registry.snapshot().find((c) => c.transport === 'upstream')!,
      call: (action, params = {}) => client.call(action, params, `e${Math.random()}`, 10_000),
      event: (pred, ms = 10_000) => client.nextWhere((f) => 'post_type' in f && pred(f), ms),
    };
  } catch (err) {
    await app.stop();
    throw err;
  }
}

/** Until the bot's IRC link is registered (get_status online), or throw after `ms`. */
export async function untilOnline(bot: Bot, online = true, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await bot.call('get_status');
    if ((res['data'] as { online: boolean }).online === online) return;
    if (Date.now() > deadline) throw new Error(`get_status never said online: ${online} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
