import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { StableIds } from '../src/kit/index.js';
import { createTestApp, parseTestConfig, TestClient, wsPort } from './support/app.js';
import { Prosody } from './support/prosody.js';
import { bodyOf, XmppPeer } from './support/xmpp-peer.js';
import { call, eventually, ROOM, WAIT, xmppYaml } from './support/xmpp-fixture.js';

const GROUP = new StableIds({ namespace: 'xmpp:room' }).id(ROOM);

type Frame = Record<string, unknown>;

const inRoom = async (c: TestClient) =>
  ((await call(c, 'get_group_list'))['data'] as unknown[]).length > 0 || undefined;
const online = async (c: TestClient, want: boolean) =>
  ((await call(c, 'get_status'))['data'] as Frame)['online'] === want ? true : undefined;

// Real servers, kills and restarts: room for emulated arm64 on a loaded machine.
describe('XMPP link life against a real Prosody', { timeout: 120_000 }, () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const f of cleanups.splice(0).reverse()) await f();
  });

  async function setup(extra = ''): Promise<{ server: Prosody; app: App; c: TestClient }> {
    const server = await Prosody.start({ bot: 'botpw', alice: 'alicepw' });
    cleanups.push(() => server.stop());
    const app = createTestApp(parseTestConfig(xmppYaml(server, extra)));
    cleanups.push(() => app.stop());
    await app.start();
    const c = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/`);
    cleanups.push(() => c.close());
    await eventually(() => inRoom(c), 30_000, 'the bot in its room');
    return { server, app, c };
  }

  const link = (app: App) => app.registry.snapshot().find((x) => x.transport === 'upstream');

  it('server killed: offline, 1503, link shown reconnecting; restarted: reconnects, rejoins, messages flow', async () => {
    const { server, app, c } = await setup();
    expect(link(app)).toMatchObject({ state: 'open', reconnects: 0 });
    await server.kill();
    await eventually(() => online(c, false), 30_000, 'get_status offline');
    expect(await call(c, 'send_group_msg', { group_id: GROUP, message: 'anyone?' })).toMatchObject({
      status: 'failed',
      retcode: 1503,
    });
    expect(
      await call(c, 'send_private_msg', {
        user_id: new StableIds({ namespace: 'xmpp:user' }).id('bot@localhost'),
        message: 'x',
      }),
    ).toMatchObject({ retcode: 1503 });
    // What the bot knows still answers while it reconnects (Koishi calls get_login_info on connect).
    expect(await call(c, 'get_login_info')).toMatchObject({ retcode: 0 });
    expect(link(app)?.state).toBe('connecting');

    await server.restart();
    await eventually(() => online(c, true), 30_000, 'get_status online again');
    await eventually(() => inRoom(c), 30_000, 'the bot back in its room');
    expect(link(app)).toMatchObject({ state: 'open' });
    expect(link(app)!.reconnects).toBeGreaterThanOrEqual(1);

    const alice = await XmppPeer.connect(server, 'alice', 'alicepw');
    cleanups.push(() => alice.close());
    await alice.join(ROOM, 'Alice');
    await alice.groupchat(ROOM, 'welcome back');
    const ev = await c.nextWhere((f) => f['message_type'] === 'group' && f['raw_message'] === 'welcome back', WAIT);
    expect(ev).toMatchObject({ group_id: GROUP });
    const since = alice.stanzas.length;
    expect(await call(c, 'send_group_msg', { group_id: GROUP, message: 'back' })).toMatchObject({ retcode: 0 });
    await alice.waitFor(
      (s) => s.attrs['from'] === `${ROOM}/Bot` && bodyOf(s) === 'back',
      WAIT,
      'the bot after its reconnect',
      since,
    );
  });

  it('a frozen server is noticed by the ping and left; after a thaw the bot is back', async () => {
    const { server, app, c } = await setup('      ping_interval_ms: 300\n      connect_timeout_ms: 1000\n');
    server.freeze();
    cleanups.push(() => server.thaw());
    await eventually(() => online(c, false), 30_000, 'offline after unanswered pings');
    expect(link(app)?.state).toBe('connecting');
    server.thaw();
    await eventually(() => online(c, true), 30_000, 'online after the thaw');
    await eventually(() => inRoom(c), 30_000, 'rejoined');
  });

  it('the nick is taken: the bot joins as nick_ and answers to it', async () => {
    const server = await Prosody.start({ bot: 'botpw', alice: 'alicepw' });
    cleanups.push(() => server.stop());
    const alice = await XmppPeer.connect(server, 'alice', 'alicepw');
    cleanups.push(() => alice.close());
    await alice.join(ROOM, 'Bot');
    const app = createTestApp(parseTestConfig(xmppYaml(server)));
    cleanups.push(() => app.stop());
    await app.start();
    const c = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/`);
    cleanups.push(() => c.close());
    await eventually(() => inRoom(c), 30_000, 'the bot in its room under another nick');
    const members = (await call(c, 'get_group_member_list', { group_id: GROUP }))['data'] as Frame[];
    expect(members.map((m) => m['nickname']).sort()).toEqual(['Bot', 'Bot_']);
    await alice.groupchat(ROOM, 'Bot_: are you the real one?');
    const ev = await c.nextWhere((f) => f['message_type'] === 'group', WAIT);
    expect((ev['message'] as Frame[])[0]).toMatchObject({ type: 'at' });
  });

  it('a refused password: offline and 1503, retried at the slowest pace, never a crash', async () => {
    const server = await Prosody.start({ bot: 'otherpw' });
    cleanups.push(() => server.stop());
    const app = createTestApp(parseTestConfig(xmppYaml(server)));
    cleanups.push(() => app.stop());
    await app.start();
    const c = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/`);
    cleanups.push(() => c.close());
    await eventually(() => ((link(app)?.reconnects ?? 0) >= 1 ? true : undefined), 30_000, 'a failed attempt');
    expect(await call(c, 'get_status')).toMatchObject({ data: { online: false } });
    expect(await call(c, 'send_group_msg', { group_id: GROUP, message: 'x' })).toMatchObject({ retcode: 1503 });
    // max_ms (300) between attempts after an auth failure: a few, not a storm.
    await new Promise((r) => setTimeout(r, 700));
    expect(link(app)?.reconnects).toBeLessThanOrEqual(4);
  });
});
