import { createHmac } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { App } from '../src/app.js';
import type { ActionHandler } from '../src/onebot/router.js';
import { MAX_RETRY_DELAY_MS, retryDelay } from '../src/transport/http-post.js';
import { parseTestConfig, startApp, TestClient, until, wsPort } from './support/app.js';
import { slow } from './support/slow.js';

let app: App | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  await app?.stop();
  app = undefined;
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Received {
  headers: IncomingMessage['headers'];
  raw: string;
  body: Record<string, unknown>;
}

/** A webhook receiver on port 0; `reply` decides each answer (status and body). */
async function receiver(
  reply: (r: Received, index: number) => { status: number; body?: string } | 'hang' = () => ({ status: 204 }),
) {
  const got: Received[] = [];
  const hanging: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const r = { headers: req.headers, raw, body: JSON.parse(raw) as Record<string, unknown> };
      got.push(r);
      const answer = reply(r, got.length - 1);
      if (answer === 'hang') return void hanging.push(res);
      res.writeHead(answer.status, answer.body ? { 'Content-Type': 'application/json' } : {});
      res.end(answer.body ?? '');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const h of hanging) h.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const port = (server.address() as { port: number }).port;
  return { got, url: `http://127.0.0.1:${port}/onebot/v11/http`, hanging };
}

const notices = (got: Received[]) => got.filter((g) => g.body['post_type'] === 'notice').map((g) => g.body['n']);
const emit = (n: number) =>
  app!.accounts.get(10001)!.emit('event', { time: 1, self_id: 10001, post_type: 'notice', notice_type: 'test', n });

describe('HTTP POST webhooks', () => {
  it('posts lifecycle enable first, with X-Self-ID, User-Agent and a signature over the exact bytes', async () => {
    const r = await receiver();
    app = await startApp(`network:\n  - { type: http-post, url: "${r.url}", secret: s3cret }\n`);
    emit(1);
    await until(() => r.got.length >= 2);
    const [first, second] = r.got;
    expect(first!.body).toMatchObject({
      post_type: 'meta_event',
      meta_event_type: 'lifecycle',
      sub_type: 'enable',
      self_id: 10001,
    });
    expect(second!.body).toMatchObject({ notice_type: 'test', n: 1 });
    for (const g of r.got) {
      expect(g.headers['content-type']).toBe('application/json');
      expect(g.headers['x-self-id']).toBe('10001');
      expect(g.headers['user-agent']).toMatch(/^onebridge\/\S+ OneBot\/11$/);
      expect(g.headers['x-signature']).toBe(`sha1=${createHmac('sha1', 's3cret').update(g.raw).digest('hex')}`);
      // Compact JSON.stringify: what Koishi re-serialises before checking the signature.
      expect(JSON.stringify(JSON.parse(g.raw))).toBe(g.raw);
    }
  });

  it('sends no signature without a secret', async () => {
    const r = await receiver();
    app = await startApp(`network:\n  - { type: http-post, url: "${r.url}" }\n`);
    await until(() => r.got.length >= 1);
    expect(r.got[0]!.headers['x-signature']).toBeUndefined();
  });

  it('retries 5xx and network errors with backoff, and keeps the order', async () => {
    let failures = 2;
    const r = await receiver((g) => (g.body['n'] === 1 && failures-- > 0 ? { status: 503 } : { status: 204 }));
    app = await startApp(`network:\n  - { type: http-post, url: "${r.url}", retries: { max: 3, initial_ms: 20 } }\n`);
    emit(1);
    emit(2);
    emit(3);
    await until(() => notices(r.got).length >= 5);
    expect(notices(r.got)).toEqual([1, 1, 1, 2, 3]);
  });

  it('does not retry a 4xx', async () => {
    const r = await receiver((g) => (g.body['n'] === 1 ? { status: 400 } : { status: 204 }));
    app = await startApp(`network:\n  - { type: http-post, url: "${r.url}", retries: { max: 3, initial_ms: 20 } }\n`);
    emit(1);
    emit(2);
    // Deliveries go one at a time, in order: a retry of 1 would come before 3.
    emit(3);
    await until(() => notices(r.got).includes(3));
    expect(notices(r.got)).toEqual([1, 2, 3]);
    // An event given up on is not lost without a trace: counted with the dropped ones.
    expect(app.registry.snapshot().find((c) => c.transport === 'http-post')).toMatchObject({ events_dropped: 1 });
  });

  it('times out a receiver that never answers, gives up after the retries, then serves the next event', async () => {
    const r = await receiver((g) => (g.body['n'] === 1 ? 'hang' : { status: 204 }));
    app = await startApp(
      `network:\n  - { type: http-post, url: "${r.url}", timeout_ms: 150, retries: { max: 1, initial_ms: 10 } }\n`,
    );
    emit(1);
    emit(2);
    await until(() => notices(r.got).includes(2), 3000);
    expect(notices(r.got)).toEqual([1, 1, 2]);
    expect(app.registry.snapshot().find((c) => c.transport === 'http-post')).toMatchObject({ events_dropped: 1 });
  });

  it('a full queue drops the oldest and counts them', async () => {
    // The first delivery (lifecycle enable) hangs until released: everything else queues.
    const r = await receiver((_g, i) => (i === 0 ? 'hang' : { status: 204 }));
    app = await startApp(`network:\n  - { type: http-post, url: "${r.url}", buffer: { max_events: 2 } }\n`);
    await until(() => r.hanging.length === 1);
    for (let i = 1; i <= 6; i++) emit(i);
    expect(app.registry.snapshot().find((c) => c.transport === 'http-post')).toMatchObject({
      events_held: 2,
      events_dropped: 4,
    });
    r.hanging[0]!.writeHead(204).end();
    await until(() => notices(r.got).includes(6));
    // Deliveries go one at a time, in order: anything else still held would come before 7.
    emit(7);
    await until(() => notices(r.got).includes(7));
    expect(notices(r.got)).toEqual([5, 6, 7]);
  });

  it('posts heartbeat meta events when heartbeat_interval_ms is set (as go-cqhttp); none by default', async () => {
    const r = await receiver();
    app = await startApp(`network:\n  - { type: http-post, url: "${r.url}", heartbeat_interval_ms: 50 }\n`);
    const beats = () => r.got.filter((g) => g.body['meta_event_type'] === 'heartbeat');
    await until(() => beats().length >= 2, 5000, 'two heartbeats');
    expect(beats()[0]!.body).toMatchObject({
      post_type: 'meta_event',
      self_id: 10001,
      interval: 50,
      status: { online: true, good: true },
    });
    expect(r.got[0]!.body).toMatchObject({ meta_event_type: 'lifecycle', sub_type: 'enable' });
    await app.stop();
    const after = beats().length;
    expect(r.got.at(-1)!.body).toMatchObject({ meta_event_type: 'lifecycle', sub_type: 'disable' });
    // Stopped: the heartbeat timer is gone with the transport.
    expect(beats().length).toBe(after);
    expect(parseTestConfig(`network:\n  - { type: http-post, url: "${r.url}" }\n`).network[0]).toMatchObject({
      heartbeat_interval_ms: 0,
    });
  });

  it('heartbeats never pile up behind a target that does not answer (fake interval timer)', async () => {
    const r = await receiver(() => 'hang');
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    cleanups.push(() => vi.useRealTimers());
    app = await startApp(
      `network:\n  - { type: http-post, url: "${r.url}", heartbeat_interval_ms: 1000, timeout_ms: 60000 }\nshutdown: { grace_ms: 200 }\n`,
    );
    await until(() => r.got.length === 1, 5000, 'enable in flight');
    const held = () => app!.registry.snapshot().find((c) => c.endpoint === r.url)!.events_held;
    vi.advanceTimersByTime(10_000);
    // Ten intervals passed while enable hangs: one heartbeat waits, the other nine were skipped.
    expect(held()).toBe(1);
    emit(1);
    vi.advanceTimersByTime(10_000);
    expect(held()).toBe(2);
  });

  it('posts lifecycle disable at shutdown, last', async () => {
    const r = await receiver();
    app = await startApp(`network:\n  - { type: http-post, url: "${r.url}" }\nshutdown: { grace_ms: 2000 }\n`);
    emit(1);
    await until(() => r.got.length >= 2);
    const summary = await app.stop();
    expect(r.got.at(-1)!.body).toMatchObject({ meta_event_type: 'lifecycle', sub_type: 'disable' });
    expect(summary.elapsedMs).toBeLessThan(slow(1000));
  });

  it('does not hold the exit past grace when the receiver never answers', async () => {
    const r = await receiver(() => 'hang');
    app = await startApp(
      `network:\n  - { type: http-post, url: "${r.url}", timeout_ms: 60000 }\nshutdown: { grace_ms: 300 }\n`,
    );
    await until(() => r.got.length >= 1);
    const summary = await app.stop();
    expect(summary.elapsedMs).toBeGreaterThanOrEqual(280);
    expect(summary.elapsedMs).toBeLessThan(300 + slow(1000));
    expect(app.registry.size).toBe(0);
  });
  it('a target that never answers does not delay another target', async () => {
    const stuck = await receiver(() => 'hang');
    const ok = await receiver();
    app = await startApp(
      `network:\n  - { type: http-post, url: "${stuck.url}", timeout_ms: 60000 }\n  - { type: http-post, url: "${ok.url}" }\nshutdown: { grace_ms: 200 }\n`,
    );
    await until(() => stuck.got.length >= 1);
    for (let i = 1; i <= 3; i++) emit(i);
    await until(() => notices(ok.got).length >= 3, 2000);
    expect(notices(ok.got)).toEqual([1, 2, 3]);
    // The stuck target still has its first delivery (enable) in flight and the rest queued.
    expect(stuck.got).toHaveLength(1);
    expect(app.registry.snapshot().find((c) => c.endpoint === stuck.url)).toMatchObject({ events_held: 3 });
  });
});

describe('quick operations', () => {
  it.each([
    ['without at_sender: no at (as go-cqhttp and NapCat)', {}, 'pong'],
    ['with at_sender: false: no at', { at_sender: false }, 'pong'],
    ['with at_sender: true: at the sender', { at_sender: true }, '[CQ:at,qq=20001] pong'],
  ])('a reply from the webhook is sent to the group %s (end to end on the sandbox)', async (_n, extra, raw) => {
    const r = await receiver((g) =>
      g.body['post_type'] === 'message'
        ? { status: 200, body: JSON.stringify({ reply: 'pong', ...extra }) }
        : { status: 204 },
    );
    app = await startApp(`network:\n  - { type: http-post, url: "${r.url}" }\nadmin: { port: 0 }\n`);
    const injected = await fetch(`${app.admin!.url}/sandbox/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: 20001, group_id: 30001, message: 'ping' }),
    });
    const { message_id } = (await injected.json()) as { message_id: number };
    const out = (await (
      await fetch(`${app.admin!.url}/sandbox/messages?since=${message_id}&timeout_ms=3000`)
    ).json()) as { messages: Array<{ raw_message: string; group_id: number }> };
    expect(out.messages).toEqual([expect.objectContaining({ group_id: 30001, raw_message: raw })]);
  });

  it('a private reply with at_sender, auto_escape', async () => {
    const r = await receiver((g) =>
      g.body['post_type'] === 'message'
        ? { status: 200, body: JSON.stringify({ reply: '[not a code]', auto_escape: true }) }
        : { status: 204 },
    );
    app = await startApp(`network:\n  - { type: http-post, url: "${r.url}" }\nadmin: { port: 0 }\n`);
    await fetch(`${app.admin!.url}/sandbox/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: 20002, message: 'hi' }),
    });
    const out = (await (await fetch(`${app.admin!.url}/sandbox/messages?since=1&timeout_ms=3000`)).json()) as {
      messages: Array<{ raw_message: string; user_id: number }>;
    };
    expect(out.messages).toEqual([expect.objectContaining({ user_id: 20002, raw_message: '&#91;not a code&#93;' })]);
  });

  it('delete and ban from a webhook reply act on the sandbox (end to end)', async () => {
    const r = await receiver((g) =>
      g.body['post_type'] === 'message'
        ? { status: 200, body: JSON.stringify({ delete: true, ban: true, ban_duration: 120 }) }
        : { status: 204 },
    );
    app = await startApp(
      `network:\n  - { type: http-post, url: "${r.url}" }\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\nadmin: { port: 0 }\n`,
    );
    const c = await TestClient.open(`ws://127.0.0.1:${wsPort(app, 1)}/`);
    cleanups.push(() => c.close());
    await c.next();
    await fetch(`${app.admin!.url}/sandbox/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: 20003, group_id: 30001, message: 'spam' }),
    });
    expect(await c.nextWhere((f) => f['notice_type'] === 'group_recall')).toMatchObject({
      user_id: 20003,
      operator_id: 10001,
    });
    expect(await c.nextWhere((f) => f['notice_type'] === 'group_ban')).toMatchObject({ user_id: 20003, duration: 120 });
  });

  it('kick and a friend approval from webhook replies act on the sandbox (end to end)', async () => {
    const r = await receiver((g) => {
      if (g.body['post_type'] === 'message') return { status: 200, body: JSON.stringify({ kick: true }) };
      if (g.body['post_type'] === 'request')
        return { status: 200, body: JSON.stringify({ approve: true, remark: 'pal' }) };
      return { status: 204 };
    });
    app = await startApp(
      `network:\n  - { type: http-post, url: "${r.url}" }\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\nadmin: { port: 0 }\n`,
    );
    const c = await TestClient.open(`ws://127.0.0.1:${wsPort(app, 1)}/`);
    cleanups.push(() => c.close());
    await c.next();
    await fetch(`${app.admin!.url}/sandbox/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: 20003, group_id: 30001, message: 'spam' }),
    });
    expect(await c.nextWhere((f) => f['notice_type'] === 'group_decrease')).toMatchObject({
      sub_type: 'kick',
      group_id: 30001,
      user_id: 20003,
      operator_id: 10001,
    });
    const asked = await fetch(`${app.admin!.url}/sandbox/requests`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'friend', user_id: 20002 }),
    });
    expect(asked.status).toBe(200);
    expect(await c.nextWhere((f) => f['notice_type'] === 'friend_add')).toMatchObject({ user_id: 20002 });
    const friends = (await c.call('get_friend_list', {}, 1)) as { data: Array<{ user_id: number; remark: string }> };
    expect(friends.data.find((f) => f.user_id === 20002)).toMatchObject({ remark: 'pal' });
  });

  it('.handle_quick_operation runs delete, kick, ban (default 30 min) and request approvals through the router', async () => {
    app = await startApp('network:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n');
    const calls: Array<[string, Record<string, unknown>]> = [];
    const actions = app.accounts.get(10001)!.adapter.actions as Record<string, ActionHandler>;
    for (const name of [
      'send_msg',
      'delete_msg',
      'set_group_kick',
      'set_group_ban',
      'set_friend_add_request',
      'set_group_add_request',
    ]) {
      actions[name] = (p) => void calls.push([name, { ...p.raw }]);
    }
    const c = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/api`);
    cleanups.push(() => c.close());
    const group = { post_type: 'message', message_type: 'group', group_id: 30001, user_id: 20003, message_id: 42 };
    expect(
      await c.call(
        '.handle_quick_operation',
        { context: group, operation: { delete: true, kick: true, ban: true } },
        1,
      ),
    ).toMatchObject({ status: 'ok' });
    expect(calls).toEqual([
      ['delete_msg', { message_id: 42 }],
      ['set_group_kick', { group_id: 30001, user_id: 20003, reject_add_request: false }],
      ['set_group_ban', { group_id: 30001, user_id: 20003, duration: 1800 }],
    ]);
    calls.length = 0;
    await c.call(
      '.handle_quick_operation',
      { context: group, operation: { ban: true, ban_duration: 60, reply: 'x', at_sender: false } },
      2,
    );
    expect(calls).toEqual([
      ['send_msg', { message_type: 'group', group_id: 30001, message: [{ type: 'text', data: { text: 'x' } }] }],
      ['set_group_ban', { group_id: 30001, user_id: 20003, duration: 60 }],
    ]);
    calls.length = 0;
    expect(
      await c.call(
        '.handle_quick_operation',
        {
          context: { ...group, post_type: 'message_sent', user_id: 10001 },
          operation: { reply: 'loop?', delete: true },
        },
        7,
      ),
    ).toMatchObject({ status: 'ok' });
    expect(calls).toEqual([]);
    actions['set_group_anonymous_ban'] = (p) => void calls.push(['set_group_anonymous_ban', { ...p.raw }]);
    const anonymous = { id: 7, name: 'masked', flag: 'anon-flag' };
    await c.call(
      '.handle_quick_operation',
      {
        context: { ...group, user_id: 80000000, anonymous },
        operation: { kick: true, ban: true, reply: 'hush', at_sender: true },
      },
      6,
    );
    // An anonymous sender is never at-ed: its user_id is a shared placeholder.
    expect(calls).toEqual([
      ['send_msg', { message_type: 'group', group_id: 30001, message: [{ type: 'text', data: { text: 'hush' } }] }],
      ['set_group_anonymous_ban', { group_id: 30001, anonymous, duration: 1800 }],
    ]);
    calls.length = 0;
    await c.call(
      '.handle_quick_operation',
      {
        context: { post_type: 'request', request_type: 'friend', flag: 'f1' },
        operation: { approve: true, remark: 'pal' },
      },
      3,
    );
    await c.call(
      '.handle_quick_operation',
      {
        context: { post_type: 'request', request_type: 'group', sub_type: 'invite', flag: 'g1' },
        operation: { approve: false, reason: 'no' },
      },
      4,
    );
    expect(calls).toEqual([
      ['set_friend_add_request', { flag: 'f1', approve: true, remark: 'pal' }],
      ['set_group_add_request', { flag: 'g1', sub_type: 'invite', approve: false, reason: 'no' }],
    ]);
    expect(await c.call('.handle_quick_operation', { operation: {} }, 5)).toMatchObject({
      retcode: 1400,
      message: 'param context: expected an object, got nothing',
    });
  });
});

describe('retry delays', () => {
  it('double from initial_ms and stop growing at the cap, even after 100 retries', () => {
    expect([0, 1, 2, 3].map((a) => retryDelay(500, a))).toEqual([500, 1000, 2000, 4000]);
    expect(retryDelay(500, 7)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelay(500, 99)).toBe(MAX_RETRY_DELAY_MS);
    // A longer initial_ms than the cap is honoured as is, never doubled.
    expect(retryDelay(120_000, 5)).toBe(120_000);
  });
});
