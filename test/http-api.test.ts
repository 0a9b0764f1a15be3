import { once } from 'node:events';
import { request as httpRequest, Agent } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { startApp, until, wsPort, tearDown } from './support/app.js';
import { addSlowAction, rawExchange } from './support/http.js';
import { rawTcp } from './support/raw-tcp.js';
import { slow } from './support/slow.js';

let app: App | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => (app = await tearDown(cleanups, app)));

const HTTP = (extra = '') => `network:\n  - type: http\n    port: 0\n    heartbeat_interval_ms: 0\n${extra}`;
const base = () => `http://127.0.0.1:${wsPort(app!)}`;

async function call(path: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base()}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
const json = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify(body),
});

describe('HTTP API: status codes', () => {
  it.each([
    ['GET /get_status', '/get_status', {}, 200, { status: 'ok', retcode: 0 }],
    ['GET /get_status/', '/get_status/', {}, 200, { status: 'ok' }],
    ['POST JSON', '/get_login_info', json({}), 200, { data: { user_id: 10001 } }],
    ['POST with no body', '/get_status', { method: 'POST' }, 200, { status: 'ok' }],
    ['unknown action', '/nope', {}, 404, { status: 'failed', retcode: 1404, message: 'unknown action: nope' }],
    ['no action', '/', {}, 404, { retcode: 1404 }],
    [
      'another content type',
      '/get_status',
      { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'x' },
      406,
      { retcode: 1400 },
    ],
    [
      'malformed JSON',
      '/get_status',
      { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{x' },
      400,
      { message: 'body is not valid JSON' },
    ],
    [
      'JSON that is not an object',
      '/get_status',
      { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '[1]' },
      400,
      { message: 'JSON body must be an object of params' },
    ],
    ['PUT', '/get_status', { method: 'PUT' }, 405, { retcode: 1400 }],
    [
      'a malformed percent-encoding (found by the fuzz test)',
      '/%E0%A4%A',
      {},
      400,
      { retcode: 1400, message: 'malformed URL (bad percent-encoding)' },
    ],
    [
      'a failing action: 200, failure in the body',
      '/send_private_msg?user_id=1&message=x',
      {},
      200,
      { status: 'failed', retcode: 100 },
    ],
    [
      'a wrong param type: 200, 1400 in the body',
      '/send_private_msg?user_id=abc&message=x',
      {},
      200,
      { retcode: 1400, message: 'param user_id: expected an integer, got "abc"' },
    ],
  ] as const)('%s', async (_name, path, init, status, body) => {
    app = await startApp(HTTP());
    const res = await call(path, init as RequestInit);
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject(body);
  });

  it('413 for a body over max_body_bytes', async () => {
    app = await startApp(HTTP('    max_body_bytes: 2048\n'));
    const res = await call('/get_status', json({ pad: 'x'.repeat(4096) }));
    expect(res.status).toBe(413);
    expect(res.body['message']).toMatch(/over the limit of 2048/);
  });
});

describe('HTTP API: tokens', () => {
  it('401 missing, 403 wrong, and a rejected request never runs the action', async () => {
    app = await startApp(`${HTTP('    access_token: tok\n')}admin: { port: 0 }\n`);
    const before = (await (await fetch(`${app.admin!.url}/sandbox/messages?since=0&timeout_ms=0`)).json()) as {
      messages: unknown[];
    };
    expect((await call('/send_group_msg?group_id=30001&message=x')).status).toBe(401);
    expect(
      (await call('/send_group_msg?group_id=30001&message=x', { headers: { Authorization: 'Bearer bad' } })).status,
    ).toBe(403);
    expect((await call('/send_group_msg?group_id=30001&message=x&access_token=bad')).status).toBe(403);
    const after = (await (await fetch(`${app.admin!.url}/sandbox/messages?since=0&timeout_ms=0`)).json()) as {
      messages: unknown[];
    };
    expect(after.messages).toHaveLength(before.messages.length);
  });

  it.each([
    ['Bearer', { Authorization: 'Bearer tok' }, ''],
    ['Token (Koishi)', { Authorization: 'Token tok' }, ''],
    ['?access_token', {}, '?access_token=tok'],
  ])('accepts %s', async (_n, headers, query) => {
    app = await startApp(HTTP('    access_token: tok\n'));
    const res = await call(`/get_status${query}`, { headers });
    expect(res).toMatchObject({ status: 200, body: { retcode: 0 } });
  });
});

describe('HTTP API: params', () => {
  it.each([
    ['the query string', '/send_group_msg?group_id=30001&message=hi%20%5Bthere%5D', {}],
    [
      'a form body',
      '/send_group_msg',
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'group_id=30001&message=hi+%5Bthere%5D',
      },
    ],
    ['a JSON body', '/send_group_msg', json({ group_id: 30001, message: 'hi [there]' })],
    ['a JSON body with the id as a string', '/send_group_msg', json({ group_id: '30001', message: 'hi [there]' })],
    [
      'POST / with {action, params}',
      '/',
      json({ action: 'send_group_msg', params: { group_id: 30001, message: 'hi [there]' } }),
    ],
  ])('from %s, strings coerced to the declared types', async (_n, path, init) => {
    app = await startApp(`${HTTP()}admin: { port: 0 }\n`);
    const res = await call(path, init as RequestInit);
    expect(res).toMatchObject({ status: 200, body: { status: 'ok', data: { message_id: expect.any(Number) } } });
    const out = (await (await fetch(`${app.admin!.url}/sandbox/messages?since=0&timeout_ms=0`)).json()) as {
      messages: Array<{ raw_message: string; group_id: number }>;
    };
    expect(out.messages.at(-1)).toMatchObject({ group_id: 30001, raw_message: 'hi &#91;there&#93;' });
  });

  it.each<[string, (q: string) => [string, RequestInit]]>([
    ['the query string', (q) => [`/send_group_msg?${q}`, {}]],
    [
      'a form body',
      (q) => [
        '/send_group_msg',
        { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: q },
      ],
    ],
  ])(
    'a value in %s that is JSON starting with [ or { is read as JSON (as go-cqhttp); other text stays text',
    async (_n, make) => {
      app = await startApp(`${HTTP()}admin: { port: 0 }\n`);
      const segments = [
        { type: 'face', data: { id: '1' } },
        { type: 'text', data: { text: ' hi' } },
      ];
      const cases: Array<[string, unknown[]]> = [
        [JSON.stringify(segments), segments],
        [JSON.stringify({ type: 'dice', data: {} }), [{ type: 'dice', data: {} }]],
        // Not JSON: a CQ string and a bracket that only looks like JSON stay text.
        ['[CQ:face,id=2]', [{ type: 'face', data: { id: '2' } }]],
        ['{not json', [{ type: 'text', data: { text: '{not json' } }]],
      ];
      for (const [message, expected] of cases) {
        const [path, init] = make(new URLSearchParams({ group_id: '30001', message }).toString());
        expect((await call(path, init)).body).toMatchObject({ status: 'ok' });
        const out = (await (await fetch(`${app.admin!.url}/sandbox/messages?since=0&timeout_ms=0`)).json()) as {
          messages: Array<{ message: unknown[] }>;
        };
        expect(out.messages.at(-1)!.message).toEqual(expected);
      }
    },
  );

  it('a query or form value nested deeper than limits.max_json_depth is 400, never built', async () => {
    app = await startApp(HTTP());
    const deep = `${'['.repeat(100)}${']'.repeat(100)}`;
    expect(await call(`/send_group_msg?group_id=30001&message=${deep}`)).toMatchObject({
      status: 400,
      body: { retcode: 1400, message: 'param message nests deeper than 64 levels (limits.max_json_depth)' },
    });
    const form = await call('/send_group_msg', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: `group_id=30001&message=${deep}`,
    });
    expect(form).toMatchObject({
      status: 400,
      body: { retcode: 1400, message: 'param message nests deeper than 64 levels (limits.max_json_depth)' },
    });
  });

  it('auto_escape from a query string is a boolean', async () => {
    app = await startApp(`${HTTP()}admin: { port: 0 }\n`);
    await call('/send_group_msg?group_id=30001&auto_escape=true&message=%5BCQ%3Aface%2Cid%3D1%5D');
    const out = (await (await fetch(`${app.admin!.url}/sandbox/messages?since=0&timeout_ms=0`)).json()) as {
      messages: Array<{ message: unknown[] }>;
    };
    expect(out.messages.at(-1)!.message).toEqual([{ type: 'text', data: { text: '[CQ:face,id=1]' } }]);
  });

  it('POST / returns the echo', async () => {
    app = await startApp(HTTP());
    expect((await call('/', json({ action: 'get_status', echo: { n: 1 } }))).body).toMatchObject({
      status: 'ok',
      echo: { n: 1 },
    });
  });
});

describe('HTTP API: unparsable requests', () => {
  it.each([
    ['garbage instead of a request line', 'HELLO THERE\r\n\r\n', /^HTTP\/1\.1 400 /],
    [
      'headers over the size limit',
      `GET /get_status HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      /^HTTP\/1\.1 431 /,
    ],
  ])('%s: a status, then the socket closes; others unaffected', async (_n, data, expected) => {
    app = await startApp(HTTP());
    expect(await rawExchange(wsPort(app), data, cleanups)).toMatch(expected);
    expect((await call('/get_status')).status).toBe(200);
  });
});

describe('HTTP API: registry', () => {
  it('a keep-alive socket is one tracked connection across requests', async () => {
    app = await startApp(HTTP());
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const get = () =>
      new Promise<void>((resolve, reject) =>
        httpRequest({ host: '127.0.0.1', port: wsPort(app!), path: '/get_status', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
          .on('error', reject)
          .end(),
      );
    await get();
    await get();
    await get();
    const http = app.registry.snapshot().filter((c) => c.transport === 'http');
    expect(http).toHaveLength(1);
    expect(http[0]).toMatchObject({ role: 'api', frames_out: 3, self_id: 10001 });
    agent.destroy();
    await until(() => app!.registry.size === 0);
  });
});

/** Reads SSE `data:` blocks from a streaming fetch. */
async function sse(url: string, init: RequestInit = {}) {
  const controller = new AbortController();
  cleanups.push(() => controller.abort());
  const res = await fetch(url, { ...init, signal: controller.signal });
  const events: Record<string, unknown>[] = [];
  let buffer = '';
  let ended = false;
  const reader = res.body!.getReader();
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += Buffer.from(value).toString();
        let i: number;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, i);
          buffer = buffer.slice(i + 2);
          if (block.startsWith('data: ')) events.push(JSON.parse(block.slice(6)) as Record<string, unknown>);
        }
      }
    } catch {
      /* aborted */
    }
    ended = true;
  })();
  return { res, events, ended: () => ended };
}

describe('SSE on /_events', () => {
  it('streams lifecycle first, then events and heartbeats, as data: blocks', async () => {
    app = await startApp('network:\n  - { type: http, port: 0, sse: true, heartbeat_interval_ms: 50 }\n');
    const s = await sse(`${base()}/_events`);
    expect(s.res.status).toBe(200);
    expect(s.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await until(() => s.events.length >= 1);
    expect(s.events[0]).toMatchObject({ meta_event_type: 'lifecycle', sub_type: 'connect' });
    app.accounts.get(10001)!.emit('event', { time: 1, self_id: 10001, post_type: 'notice', notice_type: 'x' });
    await until(() => s.events.some((e) => e['notice_type'] === 'x'));
    await until(() => s.events.some((e) => e['meta_event_type'] === 'heartbeat'), 1000);
    expect(app.registry.snapshot().filter((c) => c.transport === 'sse')).toEqual([
      expect.objectContaining({ role: 'event' }),
    ]);
  });

  it('applies the token rules and is off unless sse: true', async () => {
    app = await startApp(
      'network:\n  - { type: http, port: 0, sse: true, access_token: t }\n  - { type: http, port: 0 }\n',
    );
    expect((await fetch(`${base()}/_events`)).status).toBe(401);
    const ok = await sse(`${base()}/_events?access_token=t`);
    expect(ok.res.status).toBe(200);
    const off = await fetch(`http://127.0.0.1:${wsPort(app, 1)}/_events`);
    expect(off.status).toBe(404);
    await off.text();
  });
});

describe('SSE slow consumers', () => {
  it('a client that stops reading has events dropped (counted) and later cut; others get every event', async () => {
    app = await startApp(
      'network:\n  - { type: http, port: 0, sse: true, heartbeat_interval_ms: 0, max_buffered_bytes: 65536, max_dropped_events: 20 }\n',
    );
    const stalled = await rawTcp(cleanups, wsPort(app));
    stalled.write('GET /_events HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await once(stalled, 'data');
    stalled.pause();
    const healthy = await sse(`${base()}/_events`);
    await until(() => healthy.events.length === 1);
    const big = 'x'.repeat(64 * 1024);
    // Paced by the healthy client's reading: it never lags, the stalled one falls behind.
    for (let i = 0; i < 300; i++) {
      app.accounts
        .get(10001)!
        .emit('event', { time: 1, self_id: 10001, post_type: 'notice', notice_type: 'big', big, i });
      await until(() => healthy.events.length === i + 2, 5000, `event ${i} at the healthy client`);
    }
    expect(healthy.events.slice(1).map((e) => e['i'])).toEqual(Array.from({ length: 300 }, (_, i) => i));
    // The stalled stream missed more than 20 events in a row: cut, only the healthy one is left.
    await until(
      () => app!.registry.snapshot().filter((c) => c.transport === 'sse').length === 1,
      3000,
      'stalled stream cut',
    );
  });
});

describe('HTTP API: shutdown', () => {
  it('finishes an in-flight action, closes idle keep-alive sockets and ends SSE, within grace', async () => {
    app = await startApp(
      'network:\n  - { type: http, port: 0, sse: true, heartbeat_interval_ms: 0 }\nshutdown: { grace_ms: 2000 }\n',
    );
    addSlowAction(app, 300);
    const agent = new Agent({ keepAlive: true });
    cleanups.push(() => agent.destroy());
    await new Promise<void>((r) =>
      httpRequest({ host: '127.0.0.1', port: wsPort(app!), path: '/get_status', agent }, (res) =>
        res.resume().on('end', r),
      ).end(),
    );
    const stream = await sse(`${base()}/_events`);
    await until(() => stream.events.length === 1);
    const inflight = call('/slow_echo?text=finished');
    // Received and not yet answered: counted in on its socket, nothing counted out.
    await until(
      () => app!.registry.snapshot().some((c) => c.transport === 'http' && c.frames_in > c.frames_out),
      2000,
      'the action in flight',
    );
    const summary = await app.stop();
    expect(await inflight).toMatchObject({ status: 200, body: { data: { text: 'finished' } } });
    expect(summary.terminated).toBe(0);
    expect(summary.elapsedMs).toBeLessThan(300 + slow(1200));
    await until(() => stream.ended());
    expect(app.registry.size).toBe(0);
  });

  it("closes at once a connection that never sent a request (a preconnect, a pool's spare socket), not at grace", async () => {
    app = await startApp(
      'network:\n  - { type: http, port: 0, heartbeat_interval_ms: 0 }\nshutdown: { grace_ms: 300 }\n',
    );
    // Browsers open such sockets ahead of a request; fetch (undici) opens one after an aborted stream.
    const silent = [await rawTcp(cleanups, wsPort(app)), await rawTcp(cleanups, wsPort(app))];
    const closed = Promise.all(silent.map((s) => once(s, 'close')));
    // A request under way (its body not all sent) is not one of them: it has until grace.
    const partial = await rawTcp(cleanups, wsPort(app));
    partial.write('POST /get_status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{"a":');
    await until(() => app!.registry.size === 3, 2000, 'three connections');
    await until(() => app!.registry.snapshot().some((c) => c.bytes_in > 0), 2000, 'the request under way');
    expect(await app.stop()).toMatchObject({ connections: 3, aborted: 2, terminated: 1 });
    await closed;
  });
});
