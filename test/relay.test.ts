import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { App } from '../src/app.js';
import { formatTable } from '../src/commands/status.js';
import { appFixture } from './support/app-fixture.js';
import { createTestApp, parseTestConfig, startApp, TestClient, until, wsPort } from './support/app.js';
import { Framework, freePort } from './support/framework.js';
import { slow } from './support/slow.js';
import { stubUpstream } from './support/stub-upstream.js';

const { cleanups, app } = appFixture();

async function client(a: App, path = '/', index = 0): Promise<TestClient> {
  const c = await TestClient.open(`ws://127.0.0.1:${wsPort(a, index)}${path}`);
  cleanups.push(() => c.close());
  return c;
}

const relayYaml = (upstream: string, extra = '') => `accounts:
  - self_id: 10001
    adapter: { type: relay, upstream: { ${upstream} } }
network:
  - { type: ws, port: 0, heartbeat_interval_ms: 0 }
  - { type: ws, port: 0, heartbeat_interval_ms: 0, message_format: string }
${extra}`;

/**
 * A stub upstream that holds its answer to an action until the test calls `release()` (which
 * answers the latest one held, `ok` with data null); `holding()` says whether one has arrived.
 */
async function holdingUpstream() {
  let held: (() => void) | undefined;
  const up = await stubUpstream(cleanups, {
    answer: (f, ws) => {
      held = () => ws.send(JSON.stringify({ status: 'ok', retcode: 0, data: null, echo: f['echo'] }));
    },
  });
  return { up, holding: () => held !== undefined, release: () => held!() };
}

describe('relay, end to end with a second onebridge as the upstream', () => {
  it('actions go upstream and back; upstream events reach relay clients in each format', async () => {
    const upstream = await app('network:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\nadmin: { port: 0 }\n');
    const relay = await app(relayYaml(`mode: ws, url: "ws://127.0.0.1:${wsPort(upstream)}/"`));
    await until(() => relay.accounts.get(10001)!.status().online, 3000, 'upstream link');
    const arr = await client(relay);
    const str = await client(relay, '/', 1);
    await arr.next();
    await str.next();
    expect(await arr.call('get_group_member_info', { group_id: 30001, user_id: 20002 }, { deep: [1] })).toMatchObject({
      status: 'ok',
      data: { nickname: 'Bob', role: 'admin' },
      echo: { deep: [1] },
    });
    expect(await arr.call('set_group_kick', { group_id: 30001, user_id: 20001 }, 2)).toMatchObject({
      status: 'failed',
      retcode: 100,
    });
    const sent = await arr.call('send_group_msg', { group_id: 30001, message: 'through the relay' }, 3);
    expect(sent).toMatchObject({ status: 'ok', data: { message_id: expect.any(Number) } });

    await fetch(`${upstream.admin!.url}/sandbox/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: 20001, group_id: 30001, message: 'hi [CQ:face,id=5]' }),
    });
    expect(await arr.nextWhere((f) => f['post_type'] === 'message')).toMatchObject({
      raw_message: 'hi [CQ:face,id=5]',
      message: [
        { type: 'text', data: { text: 'hi ' } },
        { type: 'face', data: { id: '5' } },
      ],
    });
    expect(await str.nextWhere((f) => f['post_type'] === 'message')).toMatchObject({ message: 'hi [CQ:face,id=5]' });
    // Upstream's own lifecycle/heartbeats are consumed: relay clients saw one lifecycle, ours.
    expect(arr.frames.filter((f) => f['meta_event_type'] === 'lifecycle')).toHaveLength(1);
    expect(relay.registry.snapshot().find((c) => c.transport === 'upstream')).toMatchObject({
      state: 'open',
      endpoint: `ws://127.0.0.1:${wsPort(upstream)}/`,
      actions_in_flight: 0,
    });
  });
});

describe('relay with a stub upstream', () => {
  it('string events become segments for array clients; unknown fields pass through', async () => {
    const up = await stubUpstream(cleanups);
    const relay = await app(relayYaml(`mode: ws, url: "${up.url('/')}"`));
    const conn = await up.connection(0);
    const c = await client(relay);
    await c.next();
    conn.ws.send(
      JSON.stringify({
        time: 2,
        self_id: 10001,
        post_type: 'message',
        message_type: 'private',
        sub_type: 'friend',
        message_id: 9,
        user_id: 5,
        message: 'x&#91;y&#93;[CQ:at,qq=1]',
        raw_message: 'x&#91;y&#93;[CQ:at,qq=1]',
        font: 0,
        sender: { user_id: 5 },
        napcat_extra: { a: 1 },
      }),
    );
    expect(await c.nextWhere((f) => f['post_type'] === 'message')).toMatchObject({
      message: [
        { type: 'text', data: { text: 'x[y]' } },
        { type: 'at', data: { qq: '1' } },
      ],
      raw_message: 'x&#91;y&#93;[CQ:at,qq=1]',
      napcat_extra: { a: 1 },
    });
  });

  it('passes extension actions through untouched, with the answer as upstream gave it', async () => {
    const up = await stubUpstream(cleanups, {
      answer: (f, ws) =>
        ws.send(
          JSON.stringify({
            status: 'ok',
            retcode: 0,
            data: { got: f['action'], params: f['params'] },
            message: '',
            wording: '',
            echo: f['echo'],
            extra_field: true,
          }),
        ),
    });
    const relay = await app(relayYaml(`mode: ws, url: "${up.url('/')}"`));
    await up.connection(0);
    const c = await client(relay, '/api');
    expect(await c.call('get_group_msg_history', { group_id: 1, count: 20 }, 'h')).toMatchObject({
      status: 'ok',
      data: { got: 'get_group_msg_history', params: { group_id: 1, count: 20 } },
      echo: 'h',
      extra_field: true,
    });
    expect(await c.call('send_group_msg_rate_limited', { group_id: 1, message: 'x' }, 'r')).toMatchObject({
      data: { got: 'send_group_msg_rate_limited' },
    });
  });

  it('maps echoes: two clients sending the same echo at once each get their own answer', async () => {
    const waiting: Array<[Record<string, unknown>, WebSocket]> = [];
    const up = await stubUpstream(cleanups, {
      answer: (f, ws) => {
        waiting.push([f, ws]);
        // Answer both, in reverse order, once both have arrived.
        if (waiting.length === 2)
          for (const [g, s] of waiting.reverse())
            s.send(
              JSON.stringify({ status: 'ok', retcode: 0, data: (g['params'] as { who: string }).who, echo: g['echo'] }),
            );
      },
    });
    const relay = await app(relayYaml(`mode: ws, url: "${up.url('/')}"`));
    await up.connection(0);
    const a = await client(relay, '/api');
    const b = await client(relay, '/api');
    const [ra, rb] = await Promise.all([a.call('whoami', { who: 'a' }, 7), b.call('whoami', { who: 'b' }, 7)]);
    expect([ra['data'], ra['echo'], rb['data'], rb['echo']]).toEqual(['a', 7, 'b', 7]);
    // Upstream saw onebridge's own, distinct echoes.
    expect(new Set(waiting.map(([f]) => f['echo'])).size).toBe(2);
  });

  it('an action upstream never answers fails with 1504 after action_timeout_ms', async () => {
    const up = await stubUpstream(cleanups);
    const relay = await app(relayYaml(`mode: ws, url: "${up.url('/')}", action_timeout_ms: 200`));
    await up.connection(0);
    const c = await client(relay, '/api');
    const t0 = Date.now();
    expect(await c.call('slow_thing', {}, 's')).toMatchObject({
      status: 'failed',
      retcode: 1504,
      message: 'upstream did not answer slow_thing within 200 ms (action_timeout_ms)',
      echo: 's',
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    expect(relay.registry.snapshot().find((x) => x.transport === 'upstream')!.actions_in_flight).toBe(0);
  });

  it('upstream down: actions fail at once with 1503, get_status says offline; it reconnects', async () => {
    const port = await freePort();
    const relay = await app(
      relayYaml(`mode: ws, url: "ws://127.0.0.1:${port}/", reconnect: { initial_ms: 20, max_ms: 50 }`),
    );
    const c = await client(relay, '/api');
    const t0 = Date.now();
    expect(await c.call('send_group_msg', { group_id: 1, message: 'x' }, 1)).toMatchObject({
      status: 'failed',
      retcode: 1503,
      message: 'upstream is not connected; send_group_msg was not sent',
    });
    expect(Date.now() - t0).toBeLessThan(slow(500));
    expect(await c.call('get_status', {}, 2)).toMatchObject({ data: { online: false, good: false } });
    await stubUpstream(cleanups, {
      port,
      lifecycle: false,
      answer: (f, ws) => ws.send(JSON.stringify({ status: 'ok', retcode: 0, data: 'back', echo: f['echo'] })),
    });
    await until(() => relay.accounts.get(10001)!.status().online, 3000, 'reconnect');
    expect(await c.call('anything', {}, 3)).toMatchObject({ status: 'ok', data: 'back' });
  });

  it("upstream's heartbeat online:false shows in get_status; a new link does not keep it", async () => {
    let heartbeat = true;
    const up = await Framework.start();
    cleanups.push(() => up.close());
    up.wss.on('connection', (ws) => {
      if (heartbeat)
        ws.send(
          JSON.stringify({
            time: 1,
            self_id: 10001,
            post_type: 'meta_event',
            meta_event_type: 'heartbeat',
            interval: 5000,
            status: { online: false, good: true },
          }),
        );
    });
    const relay = await app(relayYaml(`mode: ws, url: "${up.url('/')}", reconnect: { initial_ms: 20, max_ms: 50 }`));
    const c = await client(relay, '/api');
    const first = await up.connection(0);
    // good: the link is open; online: what upstream's heartbeat said of its platform.
    await until(
      () => relay.accounts.get(10001)!.status().good && !relay.accounts.get(10001)!.status().online,
      2000,
      'heartbeat seen',
    );
    expect(await c.call('get_status', {}, 1)).toMatchObject({ status: 'ok', data: { online: false, good: true } });
    // The next link sends no heartbeat (yet): the old link's "offline" must not stick.
    heartbeat = false;
    first.ws.terminate();
    await up.connection(1);
    await until(() => relay.accounts.get(10001)!.status().online, 2000, 'online again');
    expect(await c.call('get_status', {}, 2)).toMatchObject({ status: 'ok', data: { online: true, good: true } });
  });

  it('onebridge status shows the upstream row with its reconnects and actions in flight', async () => {
    const { up, holding, release } = await holdingUpstream();
    const relay = await app(relayYaml(`mode: ws, url: "${up.url('/')}"`));
    await up.connection(0);
    const c = await client(relay, '/api');
    const answer = c.call('slow_action', {}, 1);
    await until(holding, 2000, 'action upstream');
    const row = formatTable(relay.registry.snapshot())
      .split('\n')
      .find((l) => /\bupstream\b/.test(l))!;
    expect(row).toMatch(
      /^\d+\s+upstream\s+universal\s+10001\s+127\.0\.0\.1:\d+\s+ws:\/\/127\.0\.0\.1:\d+\/\s+\S+\s+open\s+.*0 reconnects, 1 actions in flight$/,
    );
    release();
    expect(await answer).toMatchObject({ status: 'ok', echo: 1 });
  });

  it('upstream restart mid-action: the waiting action fails at once, later ones work', async () => {
    const up = await stubUpstream(cleanups);
    const relay = await app(
      relayYaml(`mode: ws, url: "${up.url('/')}", action_timeout_ms: 10000, reconnect: { initial_ms: 20, max_ms: 50 }`),
    );
    const first = await up.connection(0);
    const c = await client(relay, '/api');
    const pending = c.call('stuck', {}, 'p', 5000);
    await up.until(() => first.frames.length >= 1);
    first.ws.terminate();
    expect(await pending).toMatchObject({
      status: 'failed',
      retcode: 1503,
      message: 'upstream connection lost before answering stuck',
    });
    const second = await up.connection(1);
    second.ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as Record<string, unknown>;
      second.ws.send(JSON.stringify({ status: 'ok', retcode: 0, data: 1, echo: f['echo'] }));
    });
    expect(await c.call('again', {}, 'q')).toMatchObject({ status: 'ok', echo: 'q' });
  });

  it('a client that left before the answer simply does not get it', async () => {
    const { up, holding, release } = await holdingUpstream();
    const relay = await app(relayYaml(`mode: ws, url: "${up.url('/')}"`));
    const link = await up.connection(0);
    const gone = await client(relay, '/api');
    gone.ws.send(JSON.stringify({ action: 'x', echo: 1 }));
    await until(holding);
    await gone.close();
    release();
    const other = await client(relay, '/api');
    const inFlight = () => relay.registry.snapshot().find((x) => x.transport === 'upstream')!.actions_in_flight;
    await until(() => inFlight() === 0, 2000, 'the answer for the client that left');
    // A round trip on `other`: an answer misrouted to it would arrive before its own.
    const own = other.call('y', {}, 'y');
    await up.until(() => link.frames.some((f) => f['action'] === 'y'), 3000, 'its action upstream');
    release();
    expect(await own).toMatchObject({ status: 'ok', echo: 'y' });
    expect(other.frames).toEqual([await own]);
  });
});

describe('relay, ws-reverse upstream mode', () => {
  it('the implementation dials in (token checked); actions and events flow', async () => {
    const port = await freePort();
    const relay = await app(relayYaml(`mode: ws-reverse, port: ${port}, path: /onebot, access_token: up`));
    const refused = new WebSocket(`ws://127.0.0.1:${port}/onebot`);
    refused.on('error', () => {});
    const [, res] = (await once(refused, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(res.statusCode).toBe(401);
    const impl = new WebSocket(`ws://127.0.0.1:${port}/onebot`, {
      headers: { Authorization: 'Bearer up', 'X-Self-ID': '10001' },
    });
    cleanups.push(() => impl.terminate());
    impl.on('message', (d) => {
      const f = JSON.parse(d.toString()) as Record<string, unknown>;
      impl.send(JSON.stringify({ status: 'ok', retcode: 0, data: { echoed: f['action'] }, echo: f['echo'] }));
    });
    await once(impl, 'open');
    await until(() => relay.accounts.get(10001)!.status().online);
    const c = await client(relay);
    await c.next();
    expect(await c.call('get_login_info', {}, 'l')).toMatchObject({ data: { echoed: 'get_login_info' }, echo: 'l' });
    impl.send(
      JSON.stringify({
        time: 1,
        self_id: 10001,
        post_type: 'notice',
        notice_type: 'group_increase',
        group_id: 1,
        user_id: 2,
      }),
    );
    expect(await c.nextWhere((f) => f['post_type'] === 'notice')).toMatchObject({ notice_type: 'group_increase' });
  });
});

describe('relay shutdown', () => {
  it('with actions in flight: they fail, clients get 1001, upstream gets 1000, all within grace + 1 s', async () => {
    const up = await stubUpstream(cleanups);
    const relay = await startApp(relayYaml(`mode: ws, url: "${up.url('/')}"`, 'shutdown: { grace_ms: 1000 }\n'));
    const upConn = await up.connection(0);
    const c = await client(relay, '/api');
    const pending = c.call('never', {}, 'n', 1200).catch((e: Error) => e);
    await up.until(() => upConn.frames.length >= 1);
    const clientClosed = once(c.ws, 'close');
    const summary = await relay.stop();
    expect(summary.elapsedMs).toBeLessThan(1000 + slow(1000));
    expect(((await clientClosed) as [number])[0]).toBe(1001);
    expect(await upConn.closed).toBe(1000);
    expect(await pending).toBeInstanceOf(Error);
    expect(relay.registry.size).toBe(0);
  });
});

describe('relay: self_id learned from upstream', () => {
  it('when omitted, get_login_info at start names the account', async () => {
    const upstream = await app(
      'accounts:\n  - { self_id: 4242, adapter: { type: sandbox } }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n',
    );
    const relay = await app(
      `accounts:\n  - adapter: { type: relay, upstream: { mode: ws, url: "ws://127.0.0.1:${wsPort(upstream)}/" } }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n`,
    );
    expect([...relay.accounts.keys()]).toEqual([4242]);
    const c = await client(relay);
    expect(await c.next()).toMatchObject({ meta_event_type: 'lifecycle', self_id: 4242 });
    expect(relay.registry.snapshot().find((x) => x.transport === 'upstream')).toMatchObject({ self_id: 4242 });
  });

  it('fails start with a clear error naming the key when upstream cannot tell', async () => {
    const port = await freePort();
    const relay = createTestApp(
      parseTestConfig(
        `accounts:\n  - adapter: { type: relay, upstream: { mode: ws, url: "ws://127.0.0.1:${port}/", action_timeout_ms: 200, reconnect: { initial_ms: 20, max_ms: 50 } } }\nnetwork: []\n`,
      ),
    );
    cleanups.push(() => relay.stop());
    await expect(relay.start()).rejects.toThrow(
      /^accounts\[0\]\.self_id: could not learn it from upstream \(upstream ws:\/\/127\.0\.0\.1:\d+\/ not connected within 200 ms\); set it, or start the upstream first$/,
    );
  });

  it('only a relay account may omit it', async () => {
    expect(() => parseTestConfig('accounts:\n  - adapter: { type: sandbox }\n')).toThrow(
      /accounts\[0\]\.self_id: missing; expected the bot account id \(only a relay( or [a-z-]+)* account can learn it from its platform\)/,
    );
  });
});

describe('relay, http upstream mode (an onebridge HTTP API + signed HTTP POST as the implementation)', () => {
  it('actions over HTTP, events from webhooks with the signature checked; self_id learned', async () => {
    const receiver = await freePort();
    const upstream = await app(
      `network:\n  - { type: http, port: 0, access_token: up }\n  - { type: http-post, url: "http://127.0.0.1:${receiver}/onebot", secret: s3, retries: { max: 5, initial_ms: 50 } }\nadmin: { port: 0 }\n`,
    );
    const relay = await app(
      `accounts:\n  - adapter: { type: relay, upstream: { mode: http, url: "http://127.0.0.1:${wsPort(upstream)}/", access_token: up, port: ${receiver}, path: /onebot, secret: s3 } }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n`,
    );
    expect([...relay.accounts.keys()]).toEqual([10001]);
    const c = await client(relay);
    await c.next();
    expect(await c.call('get_group_list', {}, 'g')).toMatchObject({
      status: 'ok',
      data: [{ group_id: 30001 }],
      echo: 'g',
    });
    expect(await c.call('no_such_thing', {}, 'n')).toMatchObject({ status: 'failed', retcode: 1404, echo: 'n' });
    await fetch(`${upstream.admin!.url}/sandbox/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: 20002, group_id: 30001, message: 'by webhook' }),
    });
    expect(await c.nextWhere((f) => f['post_type'] === 'message')).toMatchObject({
      user_id: 20002,
      raw_message: 'by webhook',
      message: [{ type: 'text', data: { text: 'by webhook' } }],
    });
    // A forged event (wrong signature) is refused and never reaches clients.
    const forged = await fetch(`http://127.0.0.1:${receiver}/onebot`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Signature': 'sha1=00' },
      body: JSON.stringify({ post_type: 'notice', notice_type: 'forged' }),
    });
    expect(forged.status).toBe(403);
    await upstream.stop();
    expect(await c.call('get_group_list', {}, 'down')).toMatchObject({ status: 'failed', retcode: 1503 });
    expect(c.frames.some((f) => f['notice_type'] === 'forged')).toBe(false);
  });
});
