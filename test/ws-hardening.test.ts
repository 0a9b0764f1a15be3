import { once } from 'node:events';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../src/app.js';
import type { ActionHandler } from '../src/onebot/router.js';
import { handshakeStatus, startApp, TestClient, until, wsPort, tearDown } from './support/app.js';
import { muteClient } from './support/raw-websocket.js';
import { slow } from './support/slow.js';

let app: App | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => (app = await tearDown(cleanups, app)));

const WS = (extra = '') => `network:\n  - type: ws\n    port: 0\n    heartbeat_interval_ms: 0\n${extra}`;
async function client(path = '/', options?: WebSocket.ClientOptions): Promise<TestClient> {
  const c = await TestClient.open(`ws://127.0.0.1:${wsPort(app!)}${path}`, options);
  cleanups.push(() => c.close());
  return c;
}

describe('keepalive', () => {
  it('pings clients; one that stops answering pongs is cut after two intervals, others stay', async () => {
    app = await startApp(WS('    ping_interval_ms: 50\n'));
    const good = await client('/api');
    const deaf = await client('/api');
    // ws answers pings automatically; stop that for one client.
    (deaf.ws as unknown as { _autoPong: boolean })._autoPong = false;
    deaf.ws.pong = () => {};
    const closed = once(deaf.ws, 'close');
    expect(((await closed) as [number])[0]).toBe(1006);
    expect(good.ws.readyState).toBe(WebSocket.OPEN);
    const info = app.registry.snapshot().find((c) => c.role === 'api')!;
    expect(info.last_pong_ms).toBeGreaterThanOrEqual(0);
    expect(info.last_pong_ms).toBeLessThan(slow(500));
  });
});

describe('slow consumers', () => {
  it('a client that stops reading has events dropped (counted), then is cut; a healthy one gets everything', async () => {
    app = await startApp(WS('    max_buffered_bytes: 65536\n    max_dropped_events: 20\n'));
    const mute = await muteClient(cleanups, wsPort(app), { path: '/event' });
    const healthy = await client('/event');
    await healthy.next();
    void mute;
    // Enough to fill the kernel's loopback buffers (several MB) well past the limit.
    const big = 'x'.repeat(256 * 1024);
    for (let i = 0; i < 200; i++) {
      app.accounts
        .get(10001)!
        .emit('event', { time: 1, self_id: 10001, post_type: 'notice', notice_type: 'big', big, i });
      await healthy.nextWhere((f) => f['i'] === i, 5000);
    }
    const seen = healthy.frames.filter((f) => f['notice_type'] === 'big').map((f) => f['i']);
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => i));
    // The stalled client was cut (a paused socket never reports its own close; the registry does).
    await until(() => app!.registry.size === 1, 3000, 'stalled client cut');
    expect(app.registry.snapshot()[0]!.events_dropped).toBeUndefined();
  });
});

describe('slow consumers: counting', () => {
  it('drops are counted on the client in the registry while it stays connected', async () => {
    app = await startApp(WS('    max_buffered_bytes: 65536\n    max_dropped_events: 1000000\n'));
    await muteClient(cleanups, wsPort(app), { path: '/event' });
    await until(() => app!.registry.size === 1);
    const big = 'z'.repeat(256 * 1024);
    for (let i = 0; i < 300 && !(app.registry.snapshot()[0]!.events_dropped! > 0); i++) {
      app.accounts
        .get(10001)!
        .emit('event', { time: 1, self_id: 10001, post_type: 'notice', notice_type: 'big', big, i });
      await new Promise((r) => setImmediate(r));
    }
    expect(app.registry.snapshot()[0]).toMatchObject({
      role: 'event',
      state: 'open',
      events_dropped: expect.any(Number),
    });
    expect(app.registry.snapshot()[0]!.events_dropped).toBeGreaterThan(0);
  });
});

describe('limits', () => {
  it('max_connections: the next upgrade gets 503 before any 101', async () => {
    app = await startApp(WS('    max_connections: 2\n'));
    await client('/api');
    await client('/api');
    expect(await handshakeStatus(`ws://127.0.0.1:${wsPort(app)}/api`)).toEqual({ status: 503, opened: false });
    expect(app.registry.size).toBe(2);
  });

  it('max_actions_in_flight: more answer 1429 with their echo at once; the rest complete', async () => {
    app = await startApp(WS('    max_actions_in_flight: 2\n'));
    const actions = app.accounts.get(10001)!.adapter.actions as Record<string, ActionHandler>;
    actions['slow'] = () => new Promise((r) => setTimeout(() => r('done'), 200));
    const c = await client('/api');
    const a = c.call('slow', {}, 'a');
    const b = c.call('slow', {}, 'b');
    expect(await c.call('slow', {}, 'c')).toMatchObject({ status: 'failed', retcode: 1429, echo: 'c' });
    expect(await a).toMatchObject({ status: 'ok', data: 'done' });
    expect(await b).toMatchObject({ status: 'ok', data: 'done' });
    expect(await c.call('slow', {}, 'd')).toMatchObject({ status: 'ok' });
  });
});

describe('bad frames close precisely and affect nobody else', () => {
  it('invalid UTF-8 in a text frame closes with 1007', async () => {
    app = await startApp(WS());
    const bad = await client('/api');
    const other = await client('/api');
    const closed = once(bad.ws, 'close');
    // A raw text frame whose payload is not UTF-8.
    const socket = (bad.ws as unknown as { _socket: Socket })._socket;
    socket.write(Buffer.from([0x81, 0x82, 0, 0, 0, 0, 0xc3, 0x28]));
    expect(((await closed) as [number])[0]).toBe(1007);
    expect(await other.call('get_status')).toMatchObject({ status: 'ok' });
  });
});

describe('fragmentation', () => {
  it('a request in 2,000 one-byte fragments is answered; fragments adding up past max_payload_bytes close 1009', async () => {
    app = await startApp(WS('    max_payload_bytes: 4096\n'));
    const c = await client('/api');
    const frame = JSON.stringify({ action: 'get_status', echo: 'frag', params: { pad: 'p'.repeat(1900) } });
    for (let i = 0; i < frame.length; i++) c.ws.send(frame[i]!, { fin: i === frame.length - 1 });
    expect(await c.nextWhere((f) => f['echo'] === 'frag')).toMatchObject({ status: 'ok' });
    const other = await client('/api');
    const closed = once(c.ws, 'close');
    const chunk = 'x'.repeat(1000);
    for (let i = 0; i < 10 && c.ws.readyState === WebSocket.OPEN; i++) c.ws.send(chunk, { fin: false });
    expect(((await closed) as [number])[0]).toBe(1009);
    expect(await other.call('get_status')).toMatchObject({ status: 'ok' });
  });
});

describe('compression', () => {
  it('off by default: not negotiated even when the client offers it', async () => {
    app = await startApp(WS());
    const c = await client('/api', { perMessageDeflate: true });
    expect(c.ws.extensions).toBe('');
  });

  it('compression: true negotiates permessage-deflate and serves normally', async () => {
    app = await startApp(WS('    compression: true\n'));
    const c = await client('/', { perMessageDeflate: true });
    expect(c.ws.extensions).toMatch(/permessage-deflate/);
    await c.next();
    const big = 'y'.repeat(100_000);
    const res = await c.call('send_group_msg', { group_id: 30001, message: big });
    expect(res).toMatchObject({ status: 'ok' });
  });
});
