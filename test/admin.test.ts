import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { closeClientsAndStop, startApp, TestClient, until, wsPort } from './support/app.js';
import { slow } from './support/slow.js';

let app: App | undefined;
const clients: TestClient[] = [];

afterEach(async () => (app = await closeClientsAndStop(clients, app)));

const BASE = 'network:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n';

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${app!.admin!.url}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/**
 * A GET the admin server holds open (a long poll), handed back once it waits there. whenDrained,
 * cut short at once, tells whether an admin request is in flight: none is before this one starts,
 * so the first one seen is this one, and a GET reaches its route in the same turn it is counted.
 */
async function heldGet(path: string): Promise<{ answer: ReturnType<typeof get> }> {
  const admin = app!.admin!;
  const inFlight = async () => {
    const cut = new AbortController();
    const drained = admin.whenDrained(cut.signal);
    cut.abort();
    return !(await drained);
  };
  expect(await admin.whenDrained(AbortSignal.timeout(slow(2000))), 'earlier admin requests finished').toBe(true);
  const answer = get(path);
  const deadline = Date.now() + slow(2000);
  while (!(await inFlight())) {
    if (Date.now() > deadline) throw new Error(`${path} was never held open`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return { answer };
}

async function post(path: string, body: unknown, type = 'application/json') {
  const res = await fetch(`${app!.admin!.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': type },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('admin endpoint', () => {
  it('GET /connections lists live connections from the registry', async () => {
    app = await startApp(`${BASE}admin: { port: 0 }\n`);
    expect(await get('/connections')).toEqual({
      status: 200,
      body: {
        count: 0,
        connections: [],
        send_queues: { 10001: 0 },
        fds: {
          open: expect.any(Number),
          limit: expect.any(Number),
          client_sockets: expect.any(Number),
          client_budget: expect.any(Number),
        },
      },
    });
    const c = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/event`);
    clients.push(c);
    await until(() => app!.registry.size === 1);
    const { body } = await get('/connections');
    expect(body['count']).toBe(1);
    expect(body['connections']).toEqual([
      expect.objectContaining({ id: 1, transport: 'ws', role: 'event', self_id: 10001, state: 'open', frames_out: 1 }),
    ]);
  });

  it('GET /status reports version, accounts and the connection count', async () => {
    app = await startApp(`${BASE}admin: { port: 0 }\n`);
    const { status, body } = await get('/status');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      app: 'onebridge',
      pid: process.pid,
      connections: 0,
      accounts: [{ self_id: 10001, online: true, good: true }],
    });
  });

  it('applies the token rules: 401 missing, 403 wrong, Bearer/Token/query accepted', async () => {
    app = await startApp(`${BASE}admin: { port: 0, access_token: adm }\n`);
    expect((await get('/connections')).status).toBe(401);
    expect((await get('/connections', { Authorization: 'Bearer nope' })).status).toBe(403);
    expect((await get('/connections', { Authorization: 'Bearer adm' })).status).toBe(200);
    expect((await get('/connections', { Authorization: 'Token adm' })).status).toBe(200);
    expect((await get('/connections?access_token=adm')).status).toBe(200);
  });

  it('answers unknown paths with 404 and wrong methods with 405', async () => {
    app = await startApp(`${BASE}admin: { port: 0 }\n`);
    expect(await get('/nope')).toEqual({ status: 404, body: { error: 'no admin endpoint /nope' } });
    expect((await post('/connections', {})).status).toBe(405);
  });

  it('is off when the config has no admin section', async () => {
    app = await startApp(BASE);
    expect(app.admin).toBeUndefined();
  });
});

describe('sandbox control over the admin endpoint', () => {
  it('injects a user message that bots receive, and returns what bots send', async () => {
    app = await startApp(`${BASE}admin: { port: 0 }\n`);
    const bot = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/`);
    clients.push(bot);
    await bot.next();
    const injected = await post('/sandbox/messages', { user_id: 20002, group_id: 30001, message: '/echo hi' });
    expect(injected.status).toBe(200);
    const id = injected.body['message_id'] as number;
    const event = await bot.nextWhere((f) => f['post_type'] === 'message');
    expect(event).toMatchObject({
      message_type: 'group',
      group_id: 30001,
      user_id: 20002,
      message_id: id,
      raw_message: '/echo hi',
      sender: { user_id: 20002, nickname: 'Bob', role: 'admin' },
    });

    // Long poll: starts waiting before the bot answers.
    const poll = (await heldGet(`/sandbox/messages?since=${id}&timeout_ms=3000`)).answer;
    const sent = await bot.call('send_group_msg', {
      group_id: 30001,
      message: [{ type: 'text', data: { text: 'hi' } }],
    });
    const { body } = await poll;
    expect(body['messages']).toEqual([
      expect.objectContaining({
        message_id: (sent['data'] as { message_id: number }).message_id,
        self_id: 10001,
        group_id: 30001,
        raw_message: 'hi',
      }),
    ]);
    expect(body['last_id']).toBe((sent['data'] as { message_id: number }).message_id);
  });

  it('a private message goes to the bot as a private event', async () => {
    app = await startApp(`${BASE}admin: { port: 0 }\n`);
    const bot = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/event`);
    clients.push(bot);
    await bot.next();
    await post('/sandbox/messages', { user_id: 20001, message: [{ type: 'text', data: { text: 'psst' } }] });
    expect(await bot.next()).toMatchObject({
      post_type: 'message',
      message_type: 'private',
      sub_type: 'friend',
      user_id: 20001,
      raw_message: 'psst',
      sender: { nickname: 'Alice' },
    });
  });

  it('a long poll with nothing new returns empty after its timeout', async () => {
    app = await startApp(`${BASE}admin: { port: 0 }\n`);
    const t0 = Date.now();
    expect(await get('/sandbox/messages?since=0&timeout_ms=150')).toEqual({
      status: 200,
      body: { messages: [], last_id: 0 },
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('a pending long poll is answered at once when onebridge shuts down', async () => {
    app = await startApp(`${BASE}admin: { port: 0 }\nshutdown: { grace_ms: 3000 }\n`);
    const poll = (await heldGet('/sandbox/messages?since=0&timeout_ms=30000')).answer;
    const summary = await app.stop();
    expect(summary.elapsedMs).toBeLessThan(slow(1000));
    expect((await poll).body).toEqual({ messages: [], last_id: 0 });
  });

  it.each([
    [
      'a user that does not exist',
      { user_id: 99, group_id: 30001, message: 'x' },
      400,
      'user 99 does not exist in the sandbox',
    ],
    [
      'a group that does not exist',
      { user_id: 20001, group_id: 1, message: 'x' },
      400,
      'group 1 does not exist in the sandbox',
    ],
    ['a user_id that is not a number', { user_id: 'bob', message: 'x' }, 400, 'user_id: expected an integer'],
    [
      'a message that is not a message',
      { user_id: 20001, message: 5 },
      400,
      'message: expected a string, a segment or a list of segments',
    ],
  ])('rejects %s with a clear error', async (_name, body, status, error) => {
    app = await startApp(`${BASE}admin: { port: 0 }\n`);
    expect(await post('/sandbox/messages', body)).toEqual({ status, body: { error } });
  });

  it('rejects a body that is not JSON (400) or not declared JSON (406)', async () => {
    app = await startApp(`${BASE}admin: { port: 0 }\n`);
    expect((await post('/sandbox/messages', '{user', 'application/json')).status).toBe(400);
    expect((await post('/sandbox/messages', 'user_id=1', 'application/x-www-form-urlencoded')).status).toBe(406);
  });
});
