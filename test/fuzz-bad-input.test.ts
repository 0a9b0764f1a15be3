import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../src/app.js';
import { startApp, TestClient, until, wsPort, watchUnexpected, tearDown } from './support/app.js';

/** mulberry32: a seeded PRNG, so a failing run can be replayed exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261122);

function malformed(rand: () => number): string | Buffer {
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const junk = () => Array.from({ length: Math.floor(rand() * 40) }, () => String.fromCharCode(Math.floor(rand() * 0x2fff))).join('');
  return pick<() => string | Buffer>([
    () => junk(),
    () => `{"action":${pick(['1', 'null', '[]', '{}', '"', 'true'])},"echo":${Math.floor(rand() * 1e6)}}`,
    () => `{"action":"get_status","params":${pick(['[]', '1', '"x"', 'true', '{"a":'])}}`,
    () => JSON.stringify({ action: pick(['send_group_msg', 'get_msg', 'set_group_ban', 'nope', '', '.handle_quick_operation']), params: { group_id: pick(['x', -1, 1e300, null, [], {}]), user_id: junk(), message: pick([5, null, [{}], [{ type: 1 }], junk()]), message_id: pick(['1', 'a', 2 ** 40]), context: pick([null, 1, {}]) }, echo: pick([junk(), 1, null, { e: [1] }]) }),
    () => Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256))),
    () => '['.repeat(Math.floor(rand() * 500)),
    () => `{"action":"send_group_msg","params":{"group_id":30001,"message":"${'[CQ:'.repeat(Math.floor(rand() * 50))}"}}`,
  ])();
}

let app: App | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => (app = await tearDown(cleanups, app)));

describe(`fuzz: thousands of malformed frames and HTTP requests (seed ${SEED})`, () => {
  it('every frame is answered or cleanly refused, nothing crashes, well-behaved clients are still served', async () => {
    const watch = watchUnexpected();
    cleanups.push(watch.stop);
    const unexpected = watch.errors;
    app = await startApp('network:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0, max_payload_bytes: 65536 }\n  - { type: http, port: 0 }\n');
    const rand = prng(SEED);
    const good = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/`);
    cleanups.push(() => good.close());
    await good.next();
    const heapBefore = process.memoryUsage().heapUsed;

    // WebSocket: several fuzzing clients, 3,000 frames in all. Waits are generous: the suite
    // runs files in parallel on 2 cores, and a slow answer is not a wrong one.
    for (let round = 0; round < 6; round++) {
      const ws = new WebSocket(`ws://127.0.0.1:${wsPort(app)}/`);
      ws.on('error', () => {});
      await new Promise((r) => ws.once('open', r));
      let answers = 0;
      ws.on('message', () => answers++);
      for (let i = 0; i < 500; i++) {
        const frame = malformed(rand);
        ws.send(frame, { binary: Buffer.isBuffer(frame) });
      }
      await until(() => answers >= 500 || ws.readyState !== WebSocket.OPEN, 30_000, 'answers to malformed frames');
      ws.terminate();
    }

    // HTTP: 1,000 malformed requests over raw TCP.
    const port = wsPort(app, 1);
    for (let i = 0; i < 1000; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => {});
      // Read (and discard) the answer: a socket nobody reads never reports its close.
      socket.resume();
      const body = String(malformed(rand));
      const method = rand() < 0.5 ? 'POST' : 'GET';
      const path = rand() < 0.5 ? '/send_group_msg' : `/${encodeURIComponent(String(malformed(rand))).slice(0, 30)}`;
      socket.end(`${method} ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${rand() < 0.7 ? 'application/json' : 'text/weird'}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      await new Promise((r) => socket.once('close', r));
    }

    expect(unexpected).toEqual([]);
    expect(await good.call('get_status')).toMatchObject({ status: 'ok' });
    expect(await good.call('send_group_msg', { group_id: 30001, message: 'still fine' })).toMatchObject({ status: 'ok' });
    const res = await fetch(`http://127.0.0.1:${port}/get_status`);
    expect(res.status).toBe(200);
    await res.text();
    await until(() => app!.registry.size === 1, 15_000, 'fuzz connections gone');
    // Flat memory: nothing retained per malformed input (generous bound; GC timing varies).
    globalThis.gc?.();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
  }, 120_000);
});
