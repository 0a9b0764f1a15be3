import { once } from 'node:events';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../src/app.js';
import { handshakeStatus, startApp, tearDown, TestClient, until } from './support/app.js';
import { freePort } from './support/framework.js';

// Issue 19: a browser on the same machine must not turn the loopback listeners into a way in
// for web pages (cross-site WebSocket hijacking, CSRF, DNS rebinding). Every request here goes
// through real sockets with the headers a browser would send.

let app: App | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => (app = await tearDown(cleanups, app)));

const PAGE = 'http://localhost:3000';
const EVIL = 'http://evil.example';

const CONFIG = `network:
  - { type: ws, port: 0, heartbeat_interval_ms: 0 }
  - { type: ws, port: 0, heartbeat_interval_ms: 0, allowed_origins: ["${PAGE}"] }
  - { type: http, port: 0, sse: true, heartbeat_interval_ms: 0 }
  - { type: http, port: 0, allowed_origins: ["${PAGE}"], allowed_hosts: ["bot.example.com"] }
admin: { port: 0 }
`;

const portOf = (i: number) => (app!.transports[i] as unknown as { port: number }).port;
const adminPort = () => Number(new URL(app!.admin!.url).port);

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One raw node:http request (own connection, any Host); `stream` resolves at the headers. */
function send(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; stream?: boolean } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {}, agent: false },
      (res) => {
        if (options.stream) {
          cleanups.push(() => res.destroy());
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
          return;
        }
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** What the bots have sent into the sandbox world so far (the admin's own view). */
async function sentByBots(): Promise<Array<{ raw_message: string }>> {
  const res = await send(adminPort(), '/sandbox/messages?since=0&timeout_ms=0');
  return (JSON.parse(res.body) as { messages: Array<{ raw_message: string }> }).messages;
}

async function refused(): Promise<Record<string, number>> {
  return (JSON.parse((await send(adminPort(), '/status')).body) as { refused: Record<string, number> }).refused;
}

describe('forward WebSocket: no cross-site hijacking', () => {
  it('refuses an upgrade from a foreign origin with 403 before the upgrade; nothing is tracked', async () => {
    app = await startApp(CONFIG);
    const url = `ws://127.0.0.1:${portOf(0)}/`;
    expect(await handshakeStatus(url, { Origin: EVIL })).toEqual({ status: 403, opened: false });
    // A page on another local port is still a foreign page.
    expect(await handshakeStatus(url, { Origin: 'http://127.0.0.1:8080' })).toEqual({ status: 403, opened: false });
    // Sandboxed frames and file:// pages send "null".
    expect(await handshakeStatus(`${url}event`, { Origin: 'null' })).toEqual({ status: 403, opened: false });
    expect(app.registry.size).toBe(0);
    expect(await refused()).toEqual({ origin: 3 });
  });

  it('accepts an upgrade without Origin (bot frameworks) and it gets the connect event first', async () => {
    app = await startApp(CONFIG);
    const c = await TestClient.open(`ws://127.0.0.1:${portOf(0)}/`);
    cleanups.push(() => c.close());
    expect(await c.next()).toMatchObject({
      post_type: 'meta_event',
      meta_event_type: 'lifecycle',
      sub_type: 'connect',
    });
    expect(await c.call('get_login_info')).toMatchObject({ status: 'ok', data: { user_id: 10001 } });
  });

  it('accepts an origin listed in allowed_origins, only on that listener', async () => {
    app = await startApp(CONFIG);
    const c = await TestClient.open(`ws://127.0.0.1:${portOf(1)}/`, { headers: { Origin: PAGE } });
    cleanups.push(() => c.close());
    expect(await c.next()).toMatchObject({ meta_event_type: 'lifecycle' });
    // Spelled as a browser may (upper case, default port): the same origin.
    expect((await handshakeStatus(`ws://127.0.0.1:${portOf(1)}/api`, { Origin: 'HTTP://LOCALHOST:3000' })).status).toBe(
      101,
    );
    expect((await handshakeStatus(`ws://127.0.0.1:${portOf(1)}/`, { Origin: EVIL })).status).toBe(403);
    expect((await handshakeStatus(`ws://127.0.0.1:${portOf(0)}/`, { Origin: PAGE })).status).toBe(403);
  });

  it("accepts cq-websocket's malformed Origin: no browser sends it, so no page can", async () => {
    app = await startApp(CONFIG);
    // cq-websocket 2.x passes its options object where WebSocket-Node expects the origin.
    expect((await handshakeStatus(`ws://127.0.0.1:${portOf(0)}/event`, { Origin: '[object Object]' })).status).toBe(
      101,
    );
  });

  it('refuses a DNS-rebinding Host with 421, accepts loopback names', async () => {
    app = await startApp(CONFIG);
    const port = portOf(0);
    const url = `ws://127.0.0.1:${port}/`;
    expect(await handshakeStatus(url, { Host: `attacker.example:${port}` })).toEqual({ status: 421, opened: false });
    // The rebinding page's own origin does not help it.
    expect(
      (await handshakeStatus(url, { Host: `attacker.example:${port}`, Origin: `http://attacker.example:${port}` }))
        .status,
    ).toBe(421);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `app.localhost:${port}`]) {
      expect((await handshakeStatus(url, { Host: host })).status, host).toBe(101);
    }
    expect((await refused())['host']).toBe(2);
  });

  it('refuses a foreign origin even with a valid token: the token is no excuse for a page', async () => {
    app = await startApp('network:\n  - { type: ws, port: 0, access_token: tok }\n');
    const url = `ws://127.0.0.1:${portOf(0)}/`;
    expect((await handshakeStatus(url, { Origin: EVIL, Authorization: 'Bearer tok' })).status).toBe(403);
    expect((await handshakeStatus(url, { Authorization: 'Bearer tok' })).status).toBe(101);
  });
});

describe('HTTP API: no cross-site request forgery', () => {
  const FORM = 'application/x-www-form-urlencoded';

  it('refuses a forged form POST from a foreign page, and nothing is sent', async () => {
    app = await startApp(CONFIG);
    const port = portOf(2);
    // What a browser sends for <form method=post action=http://127.0.0.1:5700/send_group_msg>.
    const forged = await send(port, '/send_group_msg', {
      method: 'POST',
      headers: { 'Content-Type': FORM, Origin: EVIL, 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'navigate' },
      body: 'group_id=30001&message=pwned',
    });
    expect(forged.status).toBe(403);
    expect(JSON.parse(forged.body)).toMatchObject({ status: 'failed', retcode: 1403 });
    // An older browser sends Origin without the Sec-Fetch headers: refused all the same.
    expect(
      (
        await send(port, '/send_group_msg', {
          method: 'POST',
          headers: { 'Content-Type': FORM, Origin: EVIL },
          body: 'group_id=30001&message=pwned2',
        })
      ).status,
    ).toBe(403);
    // The same request from a program (no Origin) is served: the refusals were about the page.
    const legit = await send(port, '/send_group_msg', {
      method: 'POST',
      headers: { 'Content-Type': FORM },
      body: 'group_id=30001&message=hello',
    });
    expect(legit.status).toBe(200);
    expect((await sentByBots()).map((m) => m.raw_message)).toEqual(['hello']);
    expect(await refused()).toEqual({ origin: 2 });
  });

  it('refuses a GET a page makes without Origin (<img src>), by Sec-Fetch-Site', async () => {
    app = await startApp(CONFIG);
    const port = portOf(2);
    const img = await send(port, '/send_group_msg?group_id=30001&message=pwned', {
      headers: { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'no-cors', 'Sec-Fetch-Dest': 'image' },
    });
    expect(img.status).toBe(403);
    // same-site is another local app's page (e.g. http://localhost:8080): still not ours.
    expect(
      (await send(port, '/send_group_msg?group_id=30001&message=pwned', { headers: { 'Sec-Fetch-Site': 'same-site' } }))
        .status,
    ).toBe(403);
    // Typed into the address bar by the user (Sec-Fetch-Site: none) is the user's own doing.
    expect(
      (await send(port, '/get_status', { headers: { 'Sec-Fetch-Site': 'none', 'Sec-Fetch-Mode': 'navigate' } })).status,
    ).toBe(200);
    expect(await sentByBots()).toEqual([]);
  });

  it('answers an allowed origin with CORS (preflight included) and serves it', async () => {
    app = await startApp(CONFIG);
    const port = portOf(3);
    const preflight = await send(port, '/send_group_msg', {
      method: 'OPTIONS',
      headers: {
        Origin: PAGE,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers).toMatchObject({
      'access-control-allow-origin': PAGE,
      'access-control-allow-headers': 'Authorization, Content-Type',
      vary: 'Origin',
    });
    const ok = await send(port, '/send_group_msg', {
      method: 'POST',
      headers: { Origin: PAGE, 'Content-Type': 'application/json' },
      body: '{"group_id":30001,"message":"from the page"}',
    });
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(PAGE);
    // Not listed here: no CORS answer, no action.
    const other = await send(portOf(2), '/send_group_msg', {
      method: 'OPTIONS',
      headers: { Origin: PAGE, 'Access-Control-Request-Method': 'POST' },
    });
    expect(other.status).toBe(403);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect((await sentByBots()).map((m) => m.raw_message)).toEqual(['from the page']);
  });

  it('refuses a foreign Host with 421 before the action; allowed_hosts adds a name', async () => {
    app = await startApp(CONFIG);
    const port = portOf(2);
    const rebound = await send(port, '/send_group_msg?group_id=30001&message=pwned', {
      headers: { Host: `attacker.example:${port}` },
    });
    expect(rebound.status).toBe(421);
    expect(JSON.parse(rebound.body)).toMatchObject({
      status: 'failed',
      retcode: 1403,
      message: expect.stringContaining('allowed_hosts'),
    });
    expect((await send(port, '/get_status', { headers: { Host: `localhost:${port}` } })).status).toBe(200);
    expect((await send(portOf(3), '/get_status', { headers: { Host: 'Bot.Example.com' } })).status).toBe(200);
    expect((await send(portOf(3), '/get_status', { headers: { Host: 'attacker.example' } })).status).toBe(421);
    expect(await sentByBots()).toEqual([]);
  });
});

describe('SSE: no foreign page reads the event stream', () => {
  it('refuses a foreign origin (403) and a foreign Host (421); a program gets the stream', async () => {
    app = await startApp(CONFIG);
    const port = portOf(2);
    expect((await send(port, '/_events', { headers: { Origin: EVIL, Accept: 'text/event-stream' } })).status).toBe(403);
    expect((await send(port, '/_events', { headers: { Host: `attacker.example:${port}` } })).status).toBe(421);
    expect(app.registry.list().filter((c) => c.transport === 'sse')).toHaveLength(0);
    const ok = await send(port, '/_events', { stream: true });
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/event-stream/);
    await until(() => app!.registry.list().some((c) => c.transport === 'sse'));
  });
});

describe('admin: its own page works, nobody else', () => {
  it('refuses a foreign Host (421) and a foreign origin (403)', async () => {
    app = await startApp(CONFIG);
    const port = adminPort();
    const rebound = await send(port, '/connections', { headers: { Host: `attacker.example:${port}` } });
    expect(rebound.status).toBe(421);
    expect(rebound.body).not.toContain('connections');
    expect((await send(port, '/connections', { headers: { Origin: EVIL } })).status).toBe(403);
    // The rebinding page's request is same-origin to the browser: the Host still gives it away.
    expect(
      (
        await send(port, '/connections', {
          headers: { Host: `attacker.example:${port}`, 'Sec-Fetch-Site': 'same-origin' },
        })
      ).status,
    ).toBe(421);
    const forged = await send(port, '/sandbox/messages', {
      method: 'POST',
      headers: { Origin: EVIL, 'Content-Type': 'text/plain' },
      body: '{"user_id":20001,"group_id":30001,"message":"/echo pwned"}',
    });
    expect(forged.status).toBe(403);
    expect(await refused()).toEqual({ host: 2, origin: 2 });
  });

  it("serves its own origin: the page's fetches and POSTs, as a browser sends them", async () => {
    app = await startApp(CONFIG);
    const port = adminPort();
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      // A same-origin GET carries no Origin, only Sec-Fetch-Site.
      expect(
        (await send(port, '/connections', { headers: { Host: host, 'Sec-Fetch-Site': 'same-origin' } })).status,
        host,
      ).toBe(200);
      // A same-origin POST carries Origin.
      const post = await send(port, '/sandbox/messages', {
        method: 'POST',
        headers: {
          Host: host,
          Origin: `http://${host}`,
          'Sec-Fetch-Site': 'same-origin',
          'Content-Type': 'application/json',
        },
        body: '{"user_id":20001,"group_id":30001,"message":"hi from the dashboard"}',
      });
      expect(post.status, host).toBe(200);
      expect(post.headers['access-control-allow-origin']).toBeUndefined();
    }
    // Another port on the same machine is another origin.
    expect(
      (
        await send(port, '/connections', {
          headers: { Host: `127.0.0.1:${port}`, Origin: `http://127.0.0.1:${port + 1}` },
        })
      ).status,
    ).toBe(403);
  });

  it('state changes need a JSON body and the token in a header, never the query', async () => {
    app = await startApp('network: []\nadmin: { port: 0, access_token: adm }\n');
    const port = adminPort();
    const body = '{"user_id":20001,"group_id":30001,"message":"x"}';
    // A form or text/plain body is what a page can send without a preflight: refused.
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      expect(
        (
          await send(port, '/sandbox/messages', {
            method: 'POST',
            headers: { Authorization: 'Bearer adm', 'Content-Type': type },
            body,
          })
        ).status,
        type,
      ).toBe(406);
    }
    const viaQuery = await send(port, '/sandbox/messages?access_token=adm', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    expect(viaQuery.status).toBe(401);
    expect(JSON.parse(viaQuery.body)).toEqual({
      error: 'access token missing: on POST send it as "Authorization: Bearer <token>", not in the URL',
    });
    // A cookie is never read.
    expect(
      (
        await send(port, '/sandbox/messages', {
          method: 'POST',
          headers: { Cookie: 'access_token=adm', 'Content-Type': 'application/json' },
          body,
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await send(port, '/sandbox/messages', {
          method: 'POST',
          headers: { Authorization: 'Bearer adm', 'Content-Type': 'application/json' },
          body,
        })
      ).status,
    ).toBe(200);
    // Reading keeps the query token (onebridge status and scripts use it).
    expect((await send(port, '/connections?access_token=adm')).status).toBe(200);
  });
});

describe('relay receivers: no page poses as the implementation', () => {
  const relayConfig = (upstream: string) =>
    `accounts:\n  - { self_id: 10001, adapter: { type: relay, upstream: { ${upstream} } } }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\nadmin: { port: 0 }\n`;

  it('ws-reverse dial-in: a page is refused (403) even with no token; the implementation gets in', async () => {
    const port = await freePort();
    app = await startApp(relayConfig(`mode: ws-reverse, port: ${port}, path: /onebot`));
    expect((await handshakeStatus(`ws://127.0.0.1:${port}/onebot`, { Origin: EVIL })).status).toBe(403);
    expect((await handshakeStatus(`ws://127.0.0.1:${port}/onebot`, { Host: `attacker.example:${port}` })).status).toBe(
      421,
    );
    expect(app.accounts.get(10001)!.status().online).toBe(false);
    const impl = new WebSocket(`ws://127.0.0.1:${port}/onebot`, { headers: { 'X-Self-ID': '10001' } });
    cleanups.push(() => impl.terminate());
    await once(impl, 'open');
    await until(() => app!.accounts.get(10001)!.status().online);
    expect(await refused()).toEqual({ origin: 1, host: 1 });
  });

  it('http webhook receiver: a forged text/plain form POST from a page is refused and never reaches bots', async () => {
    const receiver = await freePort();
    app = await startApp(relayConfig(`mode: http, url: "http://127.0.0.1:1/", port: ${receiver}, path: /onebot`));
    const bot = await TestClient.open(`ws://127.0.0.1:${portOf(0)}/`);
    cleanups.push(() => bot.close());
    await bot.next();
    const event = (text: string) =>
      JSON.stringify({
        time: 1,
        self_id: 10001,
        post_type: 'message',
        message_type: 'private',
        sub_type: 'friend',
        message_id: 1,
        user_id: 20001,
        message: text,
        raw_message: text,
        font: 0,
        sender: { user_id: 20001 },
      });
    // <form enctype="text/plain"> can produce a valid JSON body without a preflight.
    const forged = await send(receiver, '/onebot', {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain', Origin: EVIL, 'Sec-Fetch-Site': 'cross-site' },
      body: event('forged'),
    });
    expect(forged.status).toBe(403);
    expect(
      (
        await send(receiver, '/onebot', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: event('real'),
        })
      ).status,
    ).toBe(204);
    expect(await bot.nextWhere((f) => f['post_type'] === 'message')).toMatchObject({ raw_message: 'real' });
    expect(bot.frames.some((f) => f['raw_message'] === 'forged')).toBe(false);
  });
});
