import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../src/app.js';
import { startApp, TestClient, until, wsPort, watchUnexpected, tearDown } from './support/app.js';
import { rawWebSocket } from './support/raw-websocket.js';
import { slow } from './support/slow.js';

// Failure mode 5 of issue 6: with permessage-deflate negotiated, every way a socket can end
// must release its zlib state exactly once (a double release throws inside ws, a missed one
// leaks memory and handles), and must not disturb other compressed connections.

let app: App | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => (app = await tearDown(cleanups, app)));

const MAX = 4096;
const CONFIG = `network:\n  - type: ws\n    port: 0\n    heartbeat_interval_ms: 0\n    compression: true\n    max_payload_bytes: ${MAX}\n`;
const DEFLATE = { perMessageDeflate: { threshold: 0 } };

function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

/** Opens a compressed client and ends it one of six ways; resolves once the client saw the end. */
async function cycle(port: number, kind: number): Promise<void> {
  if (kind === 5) return protocolError(port);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api`, DEFLATE);
  ws.on('error', () => {});
  await once(ws, 'open');
  const closed = once(ws, 'close');
  switch (kind) {
    case 0: // client close with a code
      ws.close(1000, 'bye');
      break;
    case 1: // empty close frame (no code, no reason)
      ws.close();
      break;
    case 2: // oversize compressed message: the server closes 1009
      ws.send(JSON.stringify({ action: 'get_status', params: { pad: 'x'.repeat(MAX * 4) } }));
      break;
    case 3: // TCP reset in the middle of a compressed message
      ws.send(JSON.stringify({ action: 'get_status', params: { pad: 'y'.repeat(MAX / 2) } }));
      (ws as unknown as { _socket: { resetAndDestroy?: () => void; destroy: () => void } })._socket.destroy();
      break;
    default: // an action in flight whose compressed answer meets a dead socket
      ws.send(JSON.stringify({ action: 'get_login_info', echo: 1 }));
      ws.terminate();
  }
  const [code] = (await closed) as [number];
  const expected = [1000, 1005, 1009, 1006, 1006][kind];
  if (code !== expected) throw new Error(`cycle kind ${kind}: expected close ${expected}, got ${code}`);
}

/** Negotiates permessage-deflate over raw TCP, then sends a frame with RSV2 set (1002). */
async function protocolError(port: number): Promise<void> {
  const socket = await rawWebSocket(cleanups, port, { path: '/api', deflate: true });
  const received: Buffer[] = [];
  socket.on('data', (d: Buffer) => received.push(d));
  // FIN + RSV2 + text, masked, empty payload: RSV2 is never valid with permessage-deflate.
  socket.write(Buffer.from([0xa1, 0x80, 0, 0, 0, 0]));
  await once(socket, 'close');
  const frames = Buffer.concat(received);
  // A close frame (opcode 8) carrying 1002.
  if (frames[0] !== 0x88 || frames.readUInt16BE(2) !== 1002)
    throw new Error(`expected close 1002, got ${frames.toString('hex')}`);
}

describe('compression resources are released exactly once', () => {
  it(
    '1,000 compressed connections ended six different ways: no error, bystander served, handles and memory back to baseline',
    async () => {
      const errors: unknown[] = [];
      const onError = (err: unknown): void => void errors.push(err);
      process.on('uncaughtException', onError);
      process.on('unhandledRejection', onError);
      cleanups.push(() => {
        process.off('uncaughtException', onError);
        process.off('unhandledRejection', onError);
      });

      app = await startApp(CONFIG);
      const port = wsPort(app);
      const bystander = await TestClient.open(`ws://127.0.0.1:${port}/`, DEFLATE);
      cleanups.push(() => bystander.close());
      await bystander.next(); // lifecycle connect
      expect(bystander.ws.extensions).toContain('permessage-deflate');

      await cycle(port, 0); // warm-up so lazily created state is in the baseline
      await until(() => app!.registry.size === 1, 2000, 'registry back to the bystander');
      globalThis.gc?.();
      const heapBefore = process.memoryUsage().heapUsed;
      const handlesBefore = tcpHandles();

      const CYCLES = 1000;
      const BATCH = 25;
      for (let i = 0; i < CYCLES; i += BATCH) {
        await Promise.all(Array.from({ length: BATCH }, (_, j) => cycle(port, (i + j) % 6)));
        if (i % 200 === 0) {
          // Other compressed connections are unaffected while it happens.
          const answer = await bystander.call('get_status');
          expect(answer['retcode']).toBe(0);
        }
      }

      await until(() => app!.registry.size === 1, 5000, 'every cycled connection removed from the registry');
      await until(() => tcpHandles() <= handlesBefore, 5000, 'TCP handles back to baseline');
      expect(errors).toEqual([]);
      expect((await bystander.call('get_login_info'))['retcode']).toBe(0);
      expect(bystander.ws.readyState).toBe(WebSocket.OPEN);
      globalThis.gc?.();
      // Each leaked deflate context is ~300 KB of zlib memory; 1,000 leaks would be far above this.
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(48 * 1024 * 1024);
    },
    slow(30_000),
  );
});

describe('server close during a large compressed send', () => {
  it('shutdown while multi-MB compressed events are mid-send: no uncaught error, clients closed, all released', async () => {
    const watch = watchUnexpected();
    cleanups.push(watch.stop);
    const unexpected = watch.errors;
    const before = tcpHandles();
    app = await startApp(
      `network:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0, compression: true }\nshutdown: { grace_ms: 500 }\n`,
    );
    const port = wsPort(app);
    const clients: WebSocket[] = [];
    for (let i = 0; i < 10; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/event`, DEFLATE);
      ws.on('error', () => {});
      await once(ws, 'open');
      clients.push(ws);
    }
    // Barely compressible payloads: deflate is busy on each socket when the close comes.
    const noise = Array.from({ length: 2 * 1024 * 1024 }, (_, i) => String.fromCharCode(33 + ((i * 7919) % 90))).join(
      '',
    );
    for (let i = 0; i < 3; i++)
      app.accounts
        .get(10001)!
        .emit('event', { time: 1, self_id: 10001, post_type: 'notice', notice_type: 'big', noise, i });
    const closes = clients.map((ws) => once(ws, 'close'));
    const summary = await app.stop();
    expect(summary.elapsedMs).toBeLessThan(slow(1500));
    for (const [code] of (await Promise.all(closes)) as Array<[number]>) expect([1001, 1006]).toContain(code);
    expect(app.registry.size).toBe(0);
    await until(() => tcpHandles() <= before, 3000, 'TCP handles released');
    expect(unexpected).toEqual([]);
  });
});
