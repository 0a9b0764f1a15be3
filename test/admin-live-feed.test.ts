import { request } from 'node:http';
import winston from 'winston';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { LogRing } from '../src/log-ring.js';
import { getLogger } from '../src/logger.js';
import { ConnectionRegistry } from '../src/registry.js';
import { startApp, tearDown, TestClient, wsPort } from './support/app.js';

// Issue 18, server side: the dashboard's files, its live feeds (server-sent events read with
// a token header) and the log ring, through real sockets. The browser tests are in
// dashboard.test.ts.

let app: App | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => (app = await tearDown(cleanups, app)));

const CONFIG = `network:
  - { type: ws, port: 0, heartbeat_interval_ms: 0 }
admin: { port: 0, access_token: adm }
`;
const AUTH = { Authorization: 'Bearer adm' };

/** Reads server-sent events from `path`; `next(name)` waits for the next event of that name. */
async function follow(path: string, headers: Record<string, string> = AUTH) {
  const abort = new AbortController();
  cleanups.push(() => abort.abort());
  const res = await fetch(`${app!.admin!.url}${path}`, { headers, signal: abort.signal });
  const events: Array<{ event: string; data: unknown }> = [];
  let wake: () => void = () => {};
  let ended = false;
  const pump = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
          wake();
        }
      }
    } catch {
      // aborted by the test
    }
    ended = true;
    wake();
  })();
  let read = 0;
  const next = async (
    name: string,
    match: (d: Record<string, unknown>) => boolean = () => true,
  ): Promise<Record<string, unknown>> => {
    for (;;) {
      while (read < events.length) {
        const e = events[read++]!;
        if (e.event === name && match(e.data as Record<string, unknown>)) return e.data as Record<string, unknown>;
      }
      if (ended) throw new Error(`feed ended before a ${name} event`);
      await new Promise<void>((r) => (wake = r));
    }
  };
  return { res, next, ended: pump };
}

function rawGet(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const { port } = new URL(app!.admin!.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: { Host: `127.0.0.1:${port}`, ...headers } },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('dashboard files', () => {
  it('serves the page and its assets without a token, locked down by CSP; nothing else leaks', async () => {
    app = await startApp(CONFIG);
    const page = await rawGet('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.body).toContain('/dashboard/app.js');
    for (const [path, type] of [
      ['/dashboard/app.js', 'text/javascript; charset=utf-8'],
      ['/dashboard/style.css', 'text/css; charset=utf-8'],
      ['/dashboard/icon.svg', 'image/svg+xml'],
    ] as const) {
      const asset = await rawGet(path);
      expect({ path, status: asset.status, type: asset.headers['content-type'] }).toEqual({ path, status: 200, type });
    }
    // Only fixed names: no way out of the folder, and other paths still need the token.
    expect((await rawGet('/dashboard/../package.json')).status).toBe(401);
    expect((await rawGet('/dashboard/%2e%2e%2fpackage.json')).status).toBe(401);
    expect((await rawGet('/dashboard/nope.js')).status).toBe(401);
    expect((await rawGet('/dashboard/nope.js', AUTH)).status).toBe(404);
    // The request guard still applies to the page: a foreign page or Host cannot load it.
    expect((await rawGet('/', { Origin: 'http://evil.example' })).status).toBe(403);
    expect((await rawGet('/', { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    expect((await rawGet('/', { Host: 'evil.example' })).status).toBe(421);
  });
});

describe('GET /events', () => {
  it('needs the token in a header like every admin route', async () => {
    app = await startApp(CONFIG);
    expect((await fetch(`${app.admin!.url}/events`)).status).toBe(401);
    expect((await fetch(`${app.admin!.url}/events`, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(403);
  });

  it('sends the table at once, again on every connect and disconnect, and recent log lines', async () => {
    app = await startApp(CONFIG);
    const feed = await follow('/events');
    expect(feed.res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const logs = (await feed.next('logs')) as unknown as Array<{ message: string }>;
    expect(logs.some((l) => l.message.startsWith('ready: 1 account(s)'))).toBe(true);
    expect(await feed.next('snapshot')).toMatchObject({
      connections: [],
      status: { accounts: [{ self_id: 10001, online: true }] },
    });

    const bot = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/`);
    cleanups.push(() => bot.close());
    // The registry's own log line about it comes as a `log` event, then the table with it.
    expect(await feed.next('log', (l) => String(l['message']).startsWith('connected #1'))).toMatchObject({
      level: 'info',
      component: 'registry',
    });
    const added = await feed.next('snapshot', (s) => (s['connections'] as unknown[]).length === 1);
    expect(added['connections']).toEqual([
      expect.objectContaining({ transport: 'ws', role: 'universal', state: 'open' }),
    ]);
    await bot.close();
    await feed.next('snapshot', (s) => (s['connections'] as unknown[]).length === 0);
  });

  it('ends at shutdown: an open feed never holds the exit', async () => {
    app = await startApp(CONFIG);
    const feed = await follow('/events');
    await feed.next('snapshot');
    const summary = await app.stop();
    await feed.ended;
    expect(summary.terminated).toBe(0);
  });
});

describe('GET /sandbox/feed and /sandbox/world', () => {
  it('lists who can talk and streams every world message and notice', async () => {
    app = await startApp(CONFIG);
    const world = await (await fetch(`${app.admin!.url}/sandbox/world`, { headers: AUTH })).json();
    expect(world).toMatchObject({
      bots: [{ user_id: 10001 }],
      users: [{ user_id: 20001, nickname: 'Alice' }, { user_id: 20002 }, { user_id: 20003 }],
      groups: [{ group_id: 30001 }],
    });
    const post = (path: string, body: unknown) =>
      fetch(`${app!.admin!.url}${path}`, {
        method: 'POST',
        headers: { ...AUTH, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post('/sandbox/messages', { user_id: 20002, message: 'before the page opened' })).status).toBe(200);
    const feed = await follow('/sandbox/feed');
    // A page that opens now sees what was said before it, from the message store.
    expect(await feed.next('history')).toEqual([
      expect.objectContaining({
        from: 20002,
        name: 'Bob',
        bot: false,
        to: 10001,
        message: [{ type: 'text', data: { text: 'before the page opened' } }],
      }),
    ]);
    const say = await fetch(`${app.admin!.url}/sandbox/messages`, {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: 20001, group_id: 30001, message: 'hi [CQ:face,id=14]' }),
    });
    expect(say.status).toBe(200);
    expect(await feed.next('message')).toMatchObject({
      from: 20001,
      name: 'Alice',
      bot: false,
      group_id: 30001,
      message: [
        { type: 'text', data: { text: 'hi ' } },
        { type: 'face', data: { id: '14' } },
      ],
    });
    await fetch(`${app.admin!.url}/sandbox/poke`, {
      method: 'POST',
      headers: { ...AUTH, 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: 20001, target_id: 10001, group_id: 30001 }),
    });
    expect(await feed.next('notice')).toMatchObject({
      text: expect.stringContaining('poked'),
      event: { notice_type: 'notify', sub_type: 'poke', self_id: 10001 },
    });
  });
});

describe('ConnectionRegistry changed event', () => {
  it('announces a state change once, not a repeated assignment', () => {
    const registry = new ConnectionRegistry(getLogger('test'));
    const seen: string[] = [];
    registry.on('changed', (c) => seen.push(`#${c.id} ${c.state}`));
    const conn = registry.add({
      transport: 'ws-reverse',
      role: 'universal',
      endpoint: 'ws://127.0.0.1:1/',
      remote: '127.0.0.1:1',
      selfId: 1,
      state: 'connecting',
    });
    conn.state = 'connecting';
    conn.state = 'open';
    conn.state = 'open';
    conn.state = 'closing';
    expect(seen).toEqual(['#1 open', '#1 closing']);
    expect(conn.toJSON().state).toBe('closing');
  });
});

describe('LogRing', () => {
  it('keeps the last lines in order, with the raw level even when coloured, and tells subscribers', () => {
    const ring = new LogRing(3);
    const logger = winston.createLogger({
      level: 'debug',
      format: winston.format.combine(winston.format.timestamp(), winston.format.colorize()),
      transports: [ring],
    });
    const seen: string[] = [];
    const stop = ring.subscribe((l) => seen.push(l.message));
    for (const n of [1, 2, 3, 4]) logger.child({ component: 'c' }).warn(`line ${n}`);
    stop();
    logger.info('after');
    expect(ring.lines().map((l) => [l.seq, l.level, l.component, l.message])).toEqual([
      [3, 'warn', 'c', 'line 3'],
      [4, 'warn', 'c', 'line 4'],
      [5, 'info', 'onebridge', 'after'],
    ]);
    expect(ring.lines(4).map((l) => l.message)).toEqual(['after']);
    expect(seen).toEqual(['line 1', 'line 2', 'line 3', 'line 4']);
  });
});
