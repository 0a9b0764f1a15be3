import { afterEach, describe, expect, it, vi } from 'vitest';
import type { App } from '../src/app.js';
import { ConfigError } from '../src/errors.js';
import { ReconnectingLink, webSocketDialer } from '../src/kit/index.js';
import { getLogger, recentLogs } from '../src/logger.js';
import { VERSION } from '../src/package-info.js';
import { Backoff } from '../src/transport/backoff.js';
import { HeldEvents } from '../src/transport/held-events.js';
import { parseTestConfig, startApp, until } from './support/app.js';
import { Framework, freePort, silentServer, type Seen } from './support/framework.js';
import { slow } from './support/slow.js';

const cleanups: Array<() => unknown> = [];
let app: App | undefined;
afterEach(async () => {
  await app?.stop();
  app = undefined;
  for (const c of cleanups.splice(0).reverse()) await c();
  vi.useRealTimers();
});

async function framework(options?: Parameters<typeof Framework.start>[0]): Promise<Framework> {
  const f = await Framework.start(options);
  cleanups.push(() => f.close());
  return f;
}

const entry = (fields: string) =>
  `network:\n  - type: ws-reverse\n    heartbeat_interval_ms: 0\n    reconnect: { initial_ms: 20, max_ms: 100 }\n${fields}`;
const emit = (n: number) =>
  app!.accounts.get(10001)!.emit('event', { time: 1, self_id: 10001, post_type: 'notice', notice_type: 'test', n });
const reverse = () => app!.registry.list().filter((c) => c.transport === 'ws-reverse');
/** Sends get_status on `c` and waits for its answer: frames sent to `c` before it have arrived. */
async function answered(f: Framework, c: Seen): Promise<void> {
  c.ws.send(JSON.stringify({ action: 'get_status', echo: 'barrier' }));
  await f.until(() => c.frames.find((x) => x['echo'] === 'barrier'));
}

describe('reverse WS: handshake and roles', () => {
  it('universal: headers, token, lifecycle first, actions and events on one socket', async () => {
    const f = await framework();
    app = await startApp(entry(`    url: ${f.url()}\n    access_token: tok\n`));
    const c = await f.connection(0);
    expect(c.path).toBe('/onebot/v11/ws');
    expect(c.headers['x-self-id']).toBe('10001');
    expect(c.headers['x-client-role']).toBe('Universal');
    expect(c.headers['authorization']).toBe('Bearer tok');
    expect(c.headers['user-agent']).toBe(`onebridge/${VERSION} OneBot/11`);
    await f.until(() => c.frames.length >= 1);
    expect(c.frames[0]).toMatchObject({
      post_type: 'meta_event',
      meta_event_type: 'lifecycle',
      sub_type: 'connect',
      self_id: 10001,
    });
    c.ws.send(JSON.stringify({ action: 'get_login_info', echo: { k: 1 } }));
    await f.until(() => c.frames.find((x) => 'retcode' in x));
    expect(c.frames.find((x) => 'retcode' in x)).toMatchObject({
      status: 'ok',
      data: { user_id: 10001 },
      echo: { k: 1 },
    });
    c.ws.send('nope');
    await f.until(() => c.frames.find((x) => x['retcode'] === 1400));
    emit(1);
    await f.until(() => c.frames.find((x) => x['notice_type'] === 'test'));
    expect(f.seen).toHaveLength(1);
    expect(reverse()[0]!.toJSON()).toMatchObject({
      transport: 'ws-reverse',
      role: 'universal',
      endpoint: f.url(),
      state: 'open',
      reconnects: 0,
      events_held: 0,
      events_dropped: 0,
    });
  });

  it('sends no Authorization header without a token', async () => {
    const f = await framework();
    app = await startApp(entry(`    url: ${f.url()}\n`));
    expect((await f.connection(0)).headers['authorization']).toBeUndefined();
  });

  it('split: an API socket and an Event socket, each with its role; url is the fallback', async () => {
    const api = await framework();
    const ev = await framework();
    app = await startApp(entry(`    api_url: ${api.url('/api')}\n    url: ${ev.url('/both')}\n`));
    const a = await api.connection(0);
    const e = await ev.connection(0);
    expect([a.headers['x-client-role'], a.path]).toEqual(['API', '/api']);
    expect([e.headers['x-client-role'], e.path]).toEqual(['Event', '/both']);
    await ev.until(() => e.frames.length >= 1);
    expect(e.frames[0]).toMatchObject({ meta_event_type: 'lifecycle', sub_type: 'connect' });
    a.ws.send(JSON.stringify({ action: 'get_status', echo: 1 }));
    await api.until(() => a.frames.length >= 1);
    expect(a.frames).toEqual([expect.objectContaining({ status: 'ok', echo: 1 })]);
    emit(1);
    await ev.until(() => e.frames.find((x) => x['notice_type'] === 'test'));
    // Event sockets ignore what the framework sends; API sockets carry no events.
    e.ws.send(JSON.stringify({ action: 'get_status', echo: 2 }));
    const eventConn = reverse().find((c) => c.role === 'event')!;
    await until(() => eventConn.framesIn === 1, 2000, 'the action read on the event socket');
    // Round trips: an answer on the event socket would arrive before event 2, an event on the
    // API socket before the answer to echo 3.
    emit(2);
    await ev.until(() => e.frames.find((x) => x['n'] === 2));
    a.ws.send(JSON.stringify({ action: 'get_status', echo: 3 }));
    await api.until(() => a.frames.find((x) => x['echo'] === 3));
    expect(e.frames.some((x) => 'retcode' in x)).toBe(false);
    expect(a.frames.some((x) => 'post_type' in x)).toBe(false);
    expect(
      reverse()
        .map((c) => c.role)
        .sort(),
    ).toEqual(['api', 'event']);
  });
});

describe('reverse WS: framework-shaped servers', () => {
  it('NoneBot2-like: needs X-Self-ID (1008 without), one socket per self_id: universal gets exactly one', async () => {
    const live = new Set<string>();
    const f = await framework();
    f.wss.on('connection', (ws, req) => {
      const id = req.headers['x-self-id'];
      if (typeof id !== 'string') return ws.close(1008, 'Missing X-Self-ID');
      if (live.has(id)) return ws.close(1008, 'Duplicate X-Self-ID');
      live.add(id);
      ws.on('close', () => live.delete(id));
    });
    app = await startApp(entry(`    url: ${f.url()}\n`));
    const c = await f.connection(0);
    await f.until(() => c.frames.length >= 1);
    // One link is all there is to dial: a second socket would have its own registry entry.
    expect(reverse()).toHaveLength(1);
    // A round trip: the socket it kept is served, not closed as a duplicate.
    c.ws.send(JSON.stringify({ action: 'get_status', echo: 'alive' }));
    await f.until(() => c.frames.find((x) => x['echo'] === 'alive'));
    expect(c.ws.readyState).toBe(c.ws.OPEN);
    expect(f.seen).toHaveLength(1);
    expect(live.size).toBe(1);
    expect(reverse()[0]!.toJSON()).toMatchObject({ state: 'open', reconnects: 0 });
  });

  it('Koishi-like: needs X-Client-Role exactly "Universal"', async () => {
    const f = await framework({
      verify: (req) => (req.headers['x-client-role'] === 'Universal' ? true : [400, 'role']),
    });
    app = await startApp(entry(`    url: ${f.url('/onebot')}\n`));
    const c = await f.connection(0);
    await f.until(() => c.frames.length >= 1);
    expect(c.frames[0]).toMatchObject({ sub_type: 'connect' });
  });
});

describe('reverse WS: outages and held events', () => {
  it('holds events while the framework is down and delivers them in order after lifecycle, none twice', async () => {
    const port = await freePort();
    app = await startApp(entry(`    url: ws://127.0.0.1:${port}/ws\n`));
    for (let i = 1; i <= 5; i++) emit(i);
    await until(() => reverse()[0]!.toJSON().events_held === 5);
    const f = await framework({ port });
    const c = await f.connection(0);
    await f.until(() => c.frames.length >= 6);
    emit(6);
    await f.until(() => c.frames.length >= 7);
    expect(c.frames.map((x) => x['sub_type'] ?? x['n'])).toEqual(['connect', 1, 2, 3, 4, 5, 6]);
    // A round trip: an event sent twice would arrive before this answer.
    await answered(f, c);
    expect(c.frames.map((x) => x['sub_type'] ?? x['n'] ?? x['echo'])).toEqual(['connect', 1, 2, 3, 4, 5, 6, 'barrier']);
    expect(reverse()[0]!.toJSON()).toMatchObject({ events_held: 0, events_dropped: 0 });
    expect(reverse()[0]!.toJSON().reconnects).toBeGreaterThan(0);
  });

  it('overflow drops the oldest and counts them', async () => {
    const port = await freePort();
    app = await startApp(entry(`    url: ws://127.0.0.1:${port}/ws\n    buffer: { max_events: 3 }\n`));
    for (let i = 1; i <= 5; i++) emit(i);
    const f = await framework({ port });
    const c = await f.connection(0);
    await f.until(() => c.frames.length >= 4);
    expect(c.frames.map((x) => x['sub_type'] ?? x['n'])).toEqual(['connect', 3, 4, 5]);
    expect(reverse()[0]!.toJSON().events_dropped).toBe(2);
  });

  it('drops held events older than max_age_ms', async () => {
    const port = await freePort();
    app = await startApp(
      entry(`    url: ws://127.0.0.1:${port}/ws\n    buffer: { max_events: 10, max_age_ms: 400 }\n`),
    );
    emit(1);
    // Time is the subject: event 1 must outlive max_age_ms (400) while held. Retries come
    // every ≤100 ms: event 2 is delivered well inside its 400 ms.
    await new Promise((r) => setTimeout(r, 500));
    emit(2);
    const f = await framework({ port });
    const c = await f.connection(0);
    await f.until(() => c.frames.length >= 2);
    // A round trip: a held event still to come would arrive before this answer.
    await answered(f, c);
    expect(c.frames.map((x) => x['sub_type'] ?? x['n'] ?? x['echo'])).toEqual(['connect', 2, 'barrier']);
  });

  it('max_events: 0 holds nothing', async () => {
    const port = await freePort();
    app = await startApp(entry(`    url: ws://127.0.0.1:${port}/ws\n    buffer: { max_events: 0 }\n`));
    emit(1);
    const f = await framework({ port });
    const c = await f.connection(0);
    await f.until(() => c.frames.length >= 1);
    // A round trip: a held event still to come would arrive before this answer.
    await answered(f, c);
    expect(c.frames.map((x) => x['sub_type'] ?? x['n'] ?? x['echo'])).toEqual(['connect', 'barrier']);
  });

  it.each([1000, 1001, 1011])('reconnects after the framework closes with %i, lifecycle again', async (code) => {
    const f = await framework();
    app = await startApp(entry(`    url: ${f.url()}\n`));
    const first = await f.connection(0);
    first.ws.close(code);
    const second = await f.connection(1);
    await f.until(() => second.frames.length >= 1);
    expect(second.frames[0]).toMatchObject({ sub_type: 'connect' });
    await first.closed;
    expect(f.wss.clients.size).toBe(1);
  });

  it('keeps retrying a refused target and connects once it is up; restarts on the same port', async () => {
    const port = await freePort();
    app = await startApp(entry(`    url: ws://127.0.0.1:${port}/ws\n`));
    await until(() => (reverse()[0]!.toJSON().reconnects ?? 0) >= 3, 3000, 'retries');
    let f = await Framework.start({ port });
    await f.connection(0);
    await f.close();
    f = await framework({ port });
    const c = await f.connection(0);
    await f.until(() => c.frames.length >= 1);
    expect(c.frames[0]).toMatchObject({ sub_type: 'connect' });
    expect(reverse()[0]!.state).toBe('open');
  });

  it('cuts and redials a framework that stops answering pings', async () => {
    const f = await framework({ autoPong: false });
    app = await startApp(
      `network:\n  - type: ws-reverse\n    url: ${f.url()}\n    heartbeat_interval_ms: 50\n    reconnect: { initial_ms: 20, max_ms: 50 }\n`,
    );
    const first = await f.connection(0);
    expect(await first.closed).toBe(1006);
    await f.connection(1);
  });

  it('logs an auth refusal and keeps retrying at the max interval', async () => {
    const f = await framework({ verify: () => [403, 'bad token'] });
    app = await startApp(
      `network:\n  - type: ws-reverse\n    url: ${f.url()}\n    access_token: wrong\n    heartbeat_interval_ms: 0\n    reconnect: { initial_ms: 20, max_ms: 150 }\n`,
    );
    const t0 = Date.now();
    await until(() => (reverse()[0]!.toJSON().reconnects ?? 0) >= 2, 3000, 'two retries');
    // Each retry after a 403 waits max_ms, not the short initial delay.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(f.seen).toHaveLength(0);
  });

  it('recycles a peer that stops reading, holding its events', async () => {
    const f = await framework();
    app = await startApp(entry(`    url: ${f.url()}\n    max_buffered_bytes: 1024\n`));
    const c = await f.connection(0);
    await f.until(() => c.frames.length >= 1);
    // The framework stops reading: its socket's receive buffer fills, ours backs up.
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = 'x'.repeat(256 * 1024);
    for (let i = 0; i < 200 && f.seen.length < 2; i++) {
      app.accounts
        .get(10001)!
        .emit('event', { time: 1, self_id: 10001, post_type: 'notice', notice_type: 'big', big, n: i });
      await new Promise((r) => setImmediate(r));
    }
    const second = await f.connection(1, 5000);
    await f.until(() => second.frames.length >= 2, 5000);
    expect(second.frames[0]).toMatchObject({ sub_type: 'connect' });
    expect(second.frames[1]).toMatchObject({ notice_type: 'big' });
  });
});

describe('reverse WS: shutdown', () => {
  it('sends 1001 to a connected framework and finishes at once', async () => {
    const f = await framework();
    app = await startApp(`${entry(`    url: ${f.url()}\n`)}shutdown: { grace_ms: 2000 }\n`);
    const c = await f.connection(0);
    await f.until(() => c.frames.length >= 1);
    const summary = await app.stop();
    expect(await c.closed).toBe(1001);
    expect(summary).toMatchObject({ connections: 1, terminated: 0 });
    expect(summary.elapsedMs).toBeLessThan(slow(1000));
    // Time is the subject: a redial never comes, so no event marks it; one would come within
    // the first backoff (under initial_ms, 20 ms), well inside this wait.
    await new Promise((r) => setTimeout(r, 150));
    expect(f.seen).toHaveLength(1);
  });

  it('aborts a handshake that never completes', async () => {
    const silent = await silentServer();
    cleanups.push(() => silent.close());
    app = await startApp(`${entry(`    url: ws://127.0.0.1:${silent.port}/\n`)}shutdown: { grace_ms: 2000 }\n`);
    await until(() => silent.sockets.length === 1);
    const summary = await app.stop();
    expect(summary.aborted).toBe(1);
    expect(summary.elapsedMs).toBeLessThan(slow(1000));
    expect(app.registry.size).toBe(0);
  });

  it('while backing off: no further attempt, no timer left', async () => {
    const port = await freePort();
    app = await startApp(
      `network:\n  - type: ws-reverse\n    url: ws://127.0.0.1:${port}/\n    reconnect: { initial_ms: 60000, max_ms: 60000 }\n`,
    );
    // The first attempt is refused at once (logged as it fails); then it waits a minute.
    await until(
      () => recentLogs.lines().some((l) => l.message.includes(`cannot connect to ws://127.0.0.1:${port}/`)),
      2000,
      'the first attempt refused',
    );
    const summary = await app.stop();
    expect(summary.elapsedMs).toBeLessThan(slow(500));
    expect(app.registry.size).toBe(0);
    const f = await framework({ port });
    // Time is the subject: an attempt that must never come has no event to wait on; a stop that
    // redialled at once (not after the minute) would connect within this wait.
    await new Promise((r) => setTimeout(r, 200));
    expect(f.seen).toHaveLength(0);
  });
});

describe('Backoff (fake timers for the link)', () => {
  it('full jitter: uniform below a cap that doubles up to max', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0.999 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([99, 199, 399, 799, 999, 999]);
    b.reset();
    expect(b.next()).toBe(99);
    const low = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    expect(low.next()).toBe(0);
    expect(low.max()).toBe(1000);
  });

  it('a link waits exactly the backoff delay between attempts, growing and capped', async () => {
    const port = await freePort();
    let attempts = 0;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const link = new ReconnectingLink({
      name: 'probe',
      logger: getLogger('test'),
      reconnect: { initialMs: 100, maxMs: 400 },
      random: () => 0.5,
      ...webSocketDialer({
        url: `ws://127.0.0.1:${port}/`,
        headers: () => (attempts++, {}),
        handshakeTimeoutMs: 5000,
        maxPayloadBytes: 1 << 20,
        goodbye: { code: 1000, reason: 'bye' },
      }),
    });
    cleanups.push(() => link.stop());
    link.start();
    // Delays with random 0.5: 50, 100, 200, 200 (cap 400 * 0.5).
    for (const [n, delay] of [
      [1, 50],
      [2, 100],
      [3, 200],
      [4, 200],
    ] as const) {
      // Real I/O decides when the refused attempt closes; setImmediate is not faked.
      const deadline = Date.now() + slow(2000);
      while (link.state !== 'waiting' && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      expect(link.state).toBe('waiting');
      expect(attempts).toBe(n);
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(attempts).toBe(n);
      // The attempt starts in a promise callback right after the timer.
      await vi.advanceTimersByTimeAsync(1);
      expect(attempts).toBe(n + 1);
    }
    link.stopRetrying();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('HeldEvents', () => {
  it('bounded by count (oldest first) and by age', () => {
    let t = 0;
    const h = new HeldEvents({ maxEvents: 2, maxAgeMs: 100, now: () => t });
    const ev = (n: number) => ({ time: 0, self_id: 1, post_type: 'notice', n });
    h.push(ev(1));
    h.push(ev(2));
    h.push(ev(3));
    expect(h.size).toBe(2);
    t = 50;
    expect(h.drain().map((e) => e['n'])).toEqual([2, 3]);
    expect(h.takeDropped()).toBe(1);
    h.push(ev(4));
    t = 200;
    h.push(ev(5));
    expect(h.drain().map((e) => e['n'])).toEqual([5]);
    expect(h.takeDropped()).toBe(1);
  });
});

describe('reverse WS config', () => {
  const problems = (yaml: string) => {
    try {
      parseTestConfig(yaml);
    } catch (err) {
      return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
    }
    return [];
  };
  it('requires url, or both split URLs', () => {
    expect(problems('network:\n  - { type: ws-reverse }\n')).toEqual([
      'network[0].url: missing; set url (universal), or both api_url and event_url (split)',
    ]);
    expect(problems('network:\n  - { type: ws-reverse, api_url: "ws://a/" }\n')).toEqual([
      'network[0].url: missing; set url (universal), or both api_url and event_url (split)',
    ]);
    expect(problems('network:\n  - { type: ws-reverse, api_url: "ws://a/", event_url: "ws://b/" }\n')).toEqual([]);
  });
  it('names a URL that is not ws:// or wss://', () => {
    expect(problems('network:\n  - { type: ws-reverse, url: "http://x/" }\n')).toEqual([
      'network[0].url: expected a ws:// or wss:// URL, e.g. ws://127.0.0.1:8080/onebot/v11/ws, got "http://x/"',
    ]);
  });
  it('has the documented defaults', () => {
    expect(
      parseTestConfig('network:\n  - { type: ws-reverse, url: "ws://127.0.0.1:8080/onebot/v11/ws" }\n').network[0],
    ).toMatchObject({
      access_token: '',
      message_format: 'array',
      heartbeat_interval_ms: 15000,
      reconnect: { initial_ms: 1000, max_ms: 30000 },
      buffer: { max_events: 1000, max_age_ms: 60000 },
    });
  });
});
