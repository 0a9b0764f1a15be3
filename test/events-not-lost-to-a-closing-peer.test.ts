import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import type { App } from '../src/app.js';
import { CLOSE_TIMEOUT_MS } from '../src/kit/ws-dial.js';
import { builtinAdapters } from '../adapters/index.js';
import { createApp, type Logger } from '../src/index.js';
import { startApp, tearDown, until, wsPort } from './support/app.js';
import { muteClient, rawWebSocket } from './support/raw-websocket.js';
import { slow } from './support/slow.js';

let app: App | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => (app = await tearDown(cleanups, app)));

/**
 * A framework stuck in its own shutdown on the first connection: it completes the handshake,
 * sends a close frame, then neither reads nor sends FIN. Later connections are served normally
 * and record their frames.
 */
async function stuckThenGoodPeer() {
  const wss = new WebSocketServer({ noServer: true });
  const stuck: Socket[] = [];
  const good: Array<{ ws: WebSocket; frames: Record<string, unknown>[] }> = [];
  const server: Server = createServer();
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => {});
    if (stuck.length === 0) {
      stuck.push(socket);
      const accept = createHash('sha1')
        .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      // Close frame, code 1001, unmasked (server to client); then silence, reading nothing.
      socket.write(Buffer.from([0x88, 0x02, 0x03, 0xe9]));
      socket.pause();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const entry = { ws, frames: [] as Record<string, unknown>[] };
      ws.on('message', (d) => entry.frames.push(JSON.parse(d.toString()) as Record<string, unknown>));
      good.push(entry);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of stuck) s.destroy();
        for (const g of good) g.ws.terminate();
        server.close(() => resolve());
      }),
  );
  return { url: `ws://127.0.0.1:${(server.address() as { port: number }).port}/onebot/v11/ws`, stuck, good };
}

describe('reverse WS: a peer that starts a close and never finishes it', () => {
  it(
    'events in that window are held (registry: closing, events_held), the peer is cut within the close bound, and the next link gets them in order',
    async () => {
      const peer = await stuckThenGoodPeer();
      app = await startApp(
        `network:\n  - { type: ws-reverse, url: "${peer.url}", heartbeat_interval_ms: 0, reconnect: { initial_ms: 50, max_ms: 100 } }\n`,
      );
      const link = () => app!.registry.list().find((c) => c.transport === 'ws-reverse')!;
      await until(() => link().toJSON().state === 'closing', 5000, 'the link to show closing');
      const closingSince = Date.now();
      const account = app.accounts.get(10001)!;
      for (let n = 1; n <= 3; n++)
        account.emit('event', { time: 1, self_id: 10001, post_type: 'notice', notice_type: 'test', n });
      // Nothing written to a closing socket: each event is held, none dropped.
      expect(link().toJSON()).toMatchObject({ state: 'closing', events_held: 3, events_dropped: 0 });
      // Cut within the bound (not ws's 30 s default), then redialled: lifecycle, then the held events.
      await until(() => peer.good.length === 1, 10 * CLOSE_TIMEOUT_MS, 'the reconnect');
      expect(Date.now() - closingSince).toBeLessThan(10 * CLOSE_TIMEOUT_MS);
      const next = peer.good[0]!;
      await until(() => next.frames.length >= 4, 5000, 'held events on the new link');
      expect(next.frames[0]).toMatchObject({ meta_event_type: 'lifecycle', sub_type: 'connect' });
      expect(next.frames.slice(1).map((f) => f['n'])).toEqual([1, 2, 3]);
      expect(link().toJSON()).toMatchObject({ state: 'open', events_held: 0, events_dropped: 0, reconnects: 1 });
    },
    slow(60_000),
  );

  it(
    'past buffer.max_events while closing, the oldest are dropped and counted at once',
    async () => {
      const peer = await stuckThenGoodPeer();
      app = await startApp(
        `network:\n  - { type: ws-reverse, url: "${peer.url}", heartbeat_interval_ms: 0, buffer: { max_events: 2 }, reconnect: { initial_ms: 50, max_ms: 100 } }\n`,
      );
      const link = () => app!.registry.list().find((c) => c.transport === 'ws-reverse')!;
      await until(() => link().toJSON().state === 'closing', 5000, 'the link to show closing');
      const account = app.accounts.get(10001)!;
      for (let n = 1; n <= 5; n++)
        account.emit('event', { time: 1, self_id: 10001, post_type: 'notice', notice_type: 'test', n });
      expect(link().toJSON()).toMatchObject({ state: 'closing', events_held: 2, events_dropped: 3 });
      await until(() => (peer.good[0]?.frames.length ?? 0) >= 3, 10 * CLOSE_TIMEOUT_MS, 'held events on the new link');
      expect(peer.good[0]!.frames.slice(1).map((f) => f['n'])).toEqual([4, 5]);
    },
    slow(60_000),
  );
});

describe('forward WS: a client that starts a close and goes silent', () => {
  it('shows closing in the registry while its close is pending', async () => {
    app = await startApp('network:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n');
    const socket = await rawWebSocket(cleanups, wsPort(app), { path: '/api' });
    await until(() => app!.registry.list().some((c) => c.transport === 'ws'), 5000, 'the connection');
    expect(app.registry.snapshot().find((c) => c.transport === 'ws')).toMatchObject({ state: 'open' });
    // A masked close frame (1000), then nothing: never reads the answer, never sends FIN.
    const mask = [1, 2, 3, 4];
    socket.write(Buffer.from([0x88, 0x82, ...mask, 0x03 ^ mask[0]!, 0xe8 ^ mask[1]!]));
    socket.pause();
    await until(() => app!.registry.snapshot().find((c) => c.transport === 'ws')?.state === 'closing', 5000, 'closing');
  });

  it(
    'a close handshake not finished within CLOSE_TIMEOUT_MS is cut and logged, whoever started it',
    async () => {
      const warnings: string[] = [];
      const record: Logger = {
        error() {},
        warn: (message: string) => warnings.push(message),
        info() {},
        debug() {},
        child: () => record,
      };
      app = createApp({
        config: {
          sandbox: { console: false },
          network: [{ type: 'ws', port: 0, heartbeat_interval_ms: 0, max_payload_bytes: 1024 }],
        },
        adapters: builtinAdapters,
        logger: record,
      });
      await app.start();
      const ws = () => app!.registry.snapshot().filter((c) => c.transport === 'ws');
      const ours = await muteClient(cleanups, wsPort(app), { path: '/api' });
      const theirs = await muteClient(cleanups, wsPort(app), { path: '/event' });
      await until(() => ws().length === 2, slow(5000), 'both connections');
      // Ours: the client announces a frame over max_payload_bytes; the server closes 1009 and the
      // client ignores that close frame. Theirs: the client sends a close frame (1000), then neither
      // reads the answer nor sends FIN.
      ours.write(Buffer.from([0x81, 0xfe, 0x10, 0x00, 1, 2, 3, 4]));
      const mask = [1, 2, 3, 4];
      theirs.write(Buffer.from([0x88, 0x82, ...mask, 0x03 ^ mask[0]!, 0xe8 ^ mask[1]!]));
      await until(() => ws().length === 2 && ws().every((c) => c.state === 'closing'), slow(5000), 'both closing');
      const t0 = performance.now();
      // Within the stalled-close bound (scaled for slow machines), not ws's 30 s.
      await until(() => ws().length === 0, slow(CLOSE_TIMEOUT_MS + 5000), 'both cut');
      expect(performance.now() - t0).toBeGreaterThanOrEqual(CLOSE_TIMEOUT_MS - 250);
      expect(warnings.filter((w) => w.includes('close handshake'))).toEqual([
        expect.stringMatching(
          new RegExp(`^#\\d+ did not finish its close handshake within ${CLOSE_TIMEOUT_MS} ms; cut$`),
        ),
        expect.stringMatching(
          new RegExp(`^#\\d+ did not finish its close handshake within ${CLOSE_TIMEOUT_MS} ms; cut$`),
        ),
      ]);
    },
    slow(60_000),
  );
});
