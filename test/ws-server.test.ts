import { once } from 'node:events';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../src/app.js';
import { closeClientsAndStop, handshakeStatus, startApp, TestClient, until, wsPort } from './support/app.js';
import { rawTcp } from './support/raw-tcp.js';
import { muteClient } from './support/raw-websocket.js';
import { slow } from './support/slow.js';

let app: App | undefined;
const clients: TestClient[] = [];

afterEach(async () => (app = await closeClientsAndStop(clients, app)));

async function client(path = '/', options?: WebSocket.ClientOptions): Promise<TestClient> {
  const c = await TestClient.open(`ws://127.0.0.1:${wsPort(app!)}${path}`, options);
  clients.push(c);
  return c;
}

const WS = (extra = '') => `network:\n  - type: ws\n    port: 0\n    heartbeat_interval_ms: 0\n${extra}`;

describe('forward WebSocket: paths and roles', () => {
  it.each(['/', ''])('universal path %j: lifecycle first, then actions and events', async (path) => {
    app = await startApp(WS());
    const c = await client(path);
    expect(await c.next()).toMatchObject({
      post_type: 'meta_event',
      meta_event_type: 'lifecycle',
      sub_type: 'connect',
      self_id: 10001,
    });
    expect(await c.call('get_login_info', {}, 1)).toMatchObject({
      status: 'ok',
      retcode: 0,
      data: { user_id: 10001, nickname: 'onebridge-bot' },
      echo: 1,
    });
    app.accounts.get(10001)!.emit('event', { time: 1, self_id: 10001, post_type: 'notice', notice_type: 'test' });
    expect(await c.nextWhere((f) => f['post_type'] === 'notice')).toMatchObject({ notice_type: 'test' });
  });

  it.each(['/api', '/api/'])('%s serves actions and sends no events, not even lifecycle', async (path) => {
    app = await startApp(WS());
    const c = await client(path);
    expect(await c.call('get_version_info', {}, 'v')).toMatchObject({
      status: 'ok',
      data: { app_name: 'onebridge', protocol_version: 'v11' },
      echo: 'v',
    });
    app.accounts.get(10001)!.emit('event', { time: 1, self_id: 10001, post_type: 'notice', notice_type: 'test' });
    // A round trip after the emit: an event sent to this socket would have arrived before the answer.
    await c.call('get_status', {}, 'barrier');
    expect(c.frames.map((f) => f['post_type']).filter(Boolean)).toEqual([]);
  });

  it.each(['/event', '/event/'])('%s sends lifecycle and events and ignores what the client sends', async (path) => {
    app = await startApp(WS());
    const c = await client(path);
    expect(await c.next()).toMatchObject({ meta_event_type: 'lifecycle', sub_type: 'connect' });
    c.ws.send(JSON.stringify({ action: 'get_status', echo: 'x' }));
    c.ws.send('not json');
    // The frames were still counted as received.
    await until(() => app!.registry.list()[0]!.framesIn === 2);
    // A round trip after they were read: an answer to either would arrive before this event.
    app.accounts.get(10001)!.emit('event', { time: 1, self_id: 10001, post_type: 'notice', notice_type: 'after' });
    expect(await c.next()).toMatchObject({ notice_type: 'after' });
    expect(c.frames.some((f) => 'retcode' in f)).toBe(false);
  });

  it('serves any other path as universal (as go-cqhttp and NapCat): /onebot/v11/ws gets events and answers actions', async () => {
    app = await startApp(WS());
    const c = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/onebot/v11/ws`);
    try {
      expect(await c.next()).toMatchObject({ meta_event_type: 'lifecycle', sub_type: 'connect' });
      expect(await c.call('get_login_info', {}, 'who')).toMatchObject({
        status: 'ok',
        data: { user_id: 10001 },
        echo: 'who',
      });
      expect(app.registry.snapshot()).toEqual([expect.objectContaining({ role: 'universal' })]);
    } finally {
      await c.close();
    }
  });

  it('answers plain HTTP with 426 Upgrade Required', async () => {
    app = await startApp(WS());
    const res = await fetch(`http://127.0.0.1:${wsPort(app)}/`);
    expect(res.status).toBe(426);
    expect(res.headers.get('upgrade')).toBe('websocket');
    await res.text();
  });

  it('sends X-Self-ID in the handshake response', async () => {
    app = await startApp(WS());
    const ws = new WebSocket(`ws://127.0.0.1:${wsPort(app)}/`);
    const [res] = (await once(ws, 'upgrade')) as [{ headers: Record<string, string> }];
    expect(res.headers['x-self-id']).toBe('10001');
    ws.terminate();
  });
});

describe('forward WebSocket: access token', () => {
  const TOKEN = WS('    access_token: s3cret\n');

  it('missing token -> 401, wrong token -> 403, never a 101', async () => {
    app = await startApp(TOKEN);
    const url = `ws://127.0.0.1:${wsPort(app)}/`;
    expect(await handshakeStatus(url)).toEqual({ status: 401, opened: false });
    expect(await handshakeStatus(url, { Authorization: 'Bearer wrong' })).toEqual({ status: 403, opened: false });
    expect(await handshakeStatus(url, { Authorization: 'Token wrong' })).toEqual({ status: 403, opened: false });
    expect(await handshakeStatus(`${url}?access_token=wrong`)).toEqual({ status: 403, opened: false });
    expect(await handshakeStatus(url, { Authorization: 'Bearer s3cret-and-more' })).toEqual({
      status: 403,
      opened: false,
    });
    expect(app.registry.size).toBe(0);
  });

  it.each([
    ['Authorization: Bearer', '/', { Authorization: 'Bearer s3cret' }],
    ['Authorization: Token (Koishi)', '/', { Authorization: 'Token s3cret' }],
    ['?access_token=', '/?access_token=s3cret', {}],
    ['/api?access_token=', '/api?access_token=s3cret', {}],
  ])('accepts %s', async (_name, path, headers) => {
    app = await startApp(TOKEN);
    const c = await client(path, { headers });
    expect(await c.call('get_status', {}, 'ok')).toMatchObject({ status: 'ok', data: { online: true, good: true } });
  });
});

describe('forward WebSocket: actions and bad input', () => {
  it.each([
    ['a string', 'abc'],
    ['a number', 42],
    ['zero', 0],
    ['an object', { id: 7, nested: [1, { a: null }] }],
    ['an array', [1, 'two']],
    ['null', null],
    ['a boolean', false],
  ])('returns an echo that is %s unchanged, for success, 1404 and 1400', async (_name, echo) => {
    app = await startApp(WS());
    const c = await client('/api');
    const ok = await c.call('get_status', {}, echo);
    expect(ok).toMatchObject({ status: 'ok', retcode: 0 });
    expect(ok['echo']).toEqual(echo);
    const unknown = await c.call('no_such_action', {}, echo);
    expect(unknown).toMatchObject({
      status: 'failed',
      retcode: 1404,
      data: null,
      message: 'unknown action: no_such_action',
    });
    expect(unknown['echo']).toEqual(echo);
    c.ws.send(JSON.stringify({ action: 5, echo }));
    const bad = await c.nextWhere((f) => f['retcode'] === 1400);
    expect(bad['echo']).toEqual(echo);
  });

  it('omits echo when the request had none', async () => {
    app = await startApp(WS());
    const c = await client('/api');
    c.ws.send(JSON.stringify({ action: 'get_status' }));
    const res = await c.next();
    expect(res['status']).toBe('ok');
    expect('echo' in res).toBe(false);
  });

  it.each([
    ['not JSON', '{action:', 'frame is not valid JSON'],
    ['JSON that is not an object', '[1,2]', 'frame must be a JSON object {action, params, echo}'],
    ['a JSON string', '"get_status"', 'frame must be a JSON object {action, params, echo}'],
    ['no action', '{"params":{}}', '"action" must be a non-empty string'],
    ['params not an object', '{"action":"get_status","params":[1]}', '"params" must be an object'],
  ])('answers %s with 1400 and keeps the connection', async (_name, frame, message) => {
    app = await startApp(WS());
    const c = await client('/api');
    c.ws.send(frame);
    expect(await c.next()).toMatchObject({ status: 'failed', retcode: 1400, data: null, message });
    expect(await c.call('get_status')).toMatchObject({ status: 'ok' });
  });

  it('answers a binary frame with 1400', async () => {
    app = await startApp(WS());
    const c = await client('/api');
    c.ws.send(Buffer.from(JSON.stringify({ action: 'get_status' })), { binary: true });
    expect(await c.next()).toMatchObject({
      retcode: 1400,
      message: expect.stringContaining('binary frames are not supported'),
    });
  });

  it('names the param in a 1400 for a wrong param type', async () => {
    app = await startApp(WS());
    const c = await client('/api');
    expect(await c.call('send_private_msg', { user_id: 'alice', message: 'hi' }, 1)).toMatchObject({
      retcode: 1400,
      message: 'param user_id: expected an integer, got "alice"',
    });
    expect(await c.call('send_private_msg', { user_id: '20001', message: 'hi' }, 2)).toMatchObject({
      retcode: 0,
      status: 'ok',
    });
  });

  it('closes an oversize frame with 1009 and keeps serving other clients', async () => {
    app = await startApp(WS('    max_payload_bytes: 2048\n'));
    const big = await client('/api');
    const other = await client('/api');
    const closed = once(big.ws, 'close');
    big.ws.send(JSON.stringify({ action: 'get_status', params: { pad: 'x'.repeat(4096) } }));
    const [code] = (await closed) as [number];
    expect(code).toBe(1009);
    expect(await other.call('get_status')).toMatchObject({ status: 'ok' });
  });

  it('an unknown action is answered at once even while another action is slow', async () => {
    app = await startApp(WS());
    const c = await client('/api');
    // Koishi waits for each echo; a queue behind one action would stall its connect.
    const a = c.call('get_login_info', {}, 'login');
    const b = c.call('get_guild_service_profile', {}, 'guild');
    expect(await a).toMatchObject({ retcode: 0 });
    expect(await b).toMatchObject({ retcode: 1404, echo: 'guild' });
  });
});

describe('forward WebSocket: events', () => {
  it('sends heartbeats with status and interval', async () => {
    app = await startApp('network:\n  - type: ws\n    port: 0\n    heartbeat_interval_ms: 50\n');
    const c = await client('/event');
    await c.next();
    const hb = await c.nextWhere((f) => f['meta_event_type'] === 'heartbeat', 1000);
    expect(hb).toMatchObject({
      post_type: 'meta_event',
      self_id: 10001,
      interval: 50,
      status: { online: true, good: true },
    });
  });

  it('sends no heartbeat when the interval is 0', async () => {
    app = await startApp(WS());
    const c = await client('/event');
    await c.next();
    // Time is the subject: no event marks a heartbeat that never comes; a timer left running
    // with interval 0 would have fired many times within this wait.
    await new Promise((r) => setTimeout(r, 150));
    expect(c.frames.filter((f) => f['meta_event_type'] === 'heartbeat')).toEqual([]);
  });

  it('delivers a sandbox message in the connection point format', async () => {
    app = await startApp(
      'network:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n  - { type: ws, port: 0, heartbeat_interval_ms: 0, message_format: string }\nadmin: { port: 0 }\n',
    );
    const arr = await TestClient.open(`ws://127.0.0.1:${wsPort(app, 0)}/event`);
    const str = await TestClient.open(`ws://127.0.0.1:${wsPort(app, 1)}/event`);
    clients.push(arr, str);
    await arr.next();
    await str.next();
    const res = await inject(app, 20001, 30001, 'hi [CQ:face,id=14] &[x]');
    expect(res).toBeGreaterThan(0);
    const a = await arr.next();
    const s = await str.next();
    expect(a).toMatchObject({
      post_type: 'message',
      message_type: 'group',
      group_id: 30001,
      user_id: 20001,
      message_id: res,
      raw_message: 'hi [CQ:face,id=14] &amp;&#91;x&#93;',
    });
    expect(a['message']).toEqual([
      { type: 'text', data: { text: 'hi ' } },
      { type: 'face', data: { id: '14' } },
      { type: 'text', data: { text: ' &[x]' } },
    ]);
    expect(s['message']).toBe('hi [CQ:face,id=14] &amp;&#91;x&#93;');
    expect(s['raw_message']).toBe(a['raw_message']);
  });
});

/** Inject a user message through the admin endpoint, as a bot author's test would. */
async function inject(app: App, userId: number, groupId: number, text: string): Promise<number> {
  const res = await fetch(`${app.admin!.url}/sandbox/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: userId, group_id: groupId, message: text }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { message_id: number }).message_id;
}

describe('forward WebSocket: registry', () => {
  it('tracks each connection with role, remote, account and traffic, and removes it on close', async () => {
    app = await startApp(WS());
    const u = await client('/');
    const a = await client('/api');
    await u.next();
    await a.call('get_status', {}, 1);
    await until(() => app!.registry.size === 2);
    const [cu, ca] = app.registry.snapshot();
    const port = wsPort(app);
    expect(cu).toMatchObject({
      transport: 'ws',
      role: 'universal',
      self_id: 10001,
      endpoint: `ws://127.0.0.1:${port}`,
      state: 'open',
      frames_in: 0,
      frames_out: 1,
    });
    expect(ca).toMatchObject({ transport: 'ws', role: 'api', frames_in: 1, frames_out: 1 });
    expect(cu!.remote).toBe(`127.0.0.1:${(u.ws as unknown as { _socket: Socket })._socket.localPort}`);
    expect(ca!.bytes_in).toBe(JSON.stringify({ action: 'get_status', params: {}, echo: 1 }).length);
    expect(ca!.bytes_out).toBeGreaterThan(20);
    expect(Date.parse(cu!.connected_at)).toBeLessThanOrEqual(Date.now());
    await u.close();
    await until(() => app!.registry.size === 1);
    expect(app.registry.snapshot()[0]!.role).toBe('api');
    await a.close();
    await until(() => app!.registry.size === 0);
  });
});

describe('forward WebSocket: shutdown phases (in process)', () => {
  it('sends 1001 to every client, cuts a mute one at the deadline, and refuses new upgrades', async (ctx) => {
    app = await startApp(`${WS()}shutdown: { grace_ms: 400 }\n`);
    const port = wsPort(app);
    const good = await client('/');
    const api = await client('/api');
    await muteClient(ctx, port);
    await until(() => app!.registry.size === 3);
    const codes = [once(good.ws, 'close'), once(api.ws, 'close')];
    const t0 = Date.now();
    const summary = await app.stop();
    const elapsed = Date.now() - t0;
    expect((await Promise.all(codes)).map(([code]) => code)).toEqual([1001, 1001]);
    expect(summary).toMatchObject({ connections: 3, terminated: 1 });
    expect(elapsed).toBeGreaterThanOrEqual(380);
    expect(elapsed).toBeLessThan(400 + slow(1000));
    expect(app.registry.size).toBe(0);
    // The listener is closed: nothing new gets in.
    await expect(TestClient.open(`ws://127.0.0.1:${port}/`)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('finishes at once when every client answers the close frame', async () => {
    app = await startApp(`${WS()}shutdown: { grace_ms: 5000 }\n`);
    for (let i = 0; i < 20; i++) await client(i % 2 ? '/api' : '/');
    const summary = await app.stop();
    expect(summary).toMatchObject({ connections: 20, terminated: 0 });
    expect(summary.elapsedMs).toBeLessThan(slow(1000));
  });

  it('is idempotent: stop() twice returns the same summary', async () => {
    app = await startApp(WS());
    const [a, b] = await Promise.all([app.stop(), app.stop()]);
    expect(a).toBe(b);
    expect(await app.stop()).toBe(a);
  });

  it('destroys a socket that connected but never sent a handshake', async (ctx) => {
    app = await startApp(`${WS()}shutdown: { grace_ms: 2000 }\n`);
    const raw = await rawTcp(ctx, wsPort(app));
    // Accepted: connections are accepted in the order they arrive, so a later client's finished
    // handshake means the server has taken this socket too.
    await client('/api');
    const closed = once(raw, 'close');
    const summary = await app.stop();
    await closed;
    expect(summary.aborted).toBe(1);
    expect(summary.elapsedMs).toBeLessThan(slow(1000));
  });
});
