import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../src/app.js';
import { AddressRateLimit } from '../src/transport/address-rate-limit.js';
import { startApp, wsPort } from './support/app.js';

let app: App | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await app?.stop();
  app = undefined;
});

async function dial(): Promise<{ status: number; retryAfter?: string }> {
  const ws = new WebSocket(`ws://127.0.0.1:${wsPort(app!)}/api`);
  sockets.push(ws);
  ws.on('error', () => {});
  return Promise.race([
    once(ws, 'open').then(() => ({ status: 101 })),
    once(ws, 'unexpected-response').then(([, res]) => ({
      status: (res as IncomingMessage).statusCode!,
      retryAfter: (res as IncomingMessage).headers['retry-after'],
    })),
  ]);
}

describe('admission rate limit per remote address', () => {
  it('past max_upgrades_per_address_per_s an address gets 429 with Retry-After before any upgrade; it refills; open sockets stay', async () => {
    app = await startApp(
      'network:\n  - type: ws\n    port: 0\n    heartbeat_interval_ms: 0\n    max_upgrades_per_address_per_s: 5\n',
    );
    const burst = [];
    for (let i = 0; i < 5; i++) burst.push(await dial());
    expect(burst.map((r) => r.status)).toEqual([101, 101, 101, 101, 101]);
    expect(await dial()).toEqual({ status: 429, retryAfter: '1' });
    expect(app.registry.size).toBe(5);
    await new Promise((r) => setTimeout(r, 300)); // 5/s: one token back after 200 ms
    expect((await dial()).status).toBe(101);
    expect(sockets.slice(0, 5).every((ws) => ws.readyState === WebSocket.OPEN)).toBe(true);
  });

  it('token bucket: burst, refill, per address; 0 is off; memory bounded by address count', () => {
    const limit = new AddressRateLimit(2, 3);
    expect([limit.take('a', 0), limit.take('a', 0), limit.take('a', 0)]).toEqual([true, true, false]);
    expect(limit.take('b', 0)).toBe(true);
    expect(limit.take('a', 499)).toBe(false);
    expect(limit.take('a', 500)).toBe(true);
    // 0: every take of every address passes (one limiter: each one allocates its LRU's slots).
    const off = new AddressRateLimit(0);
    for (let i = 0; i < 1000; i++) expect(off.take(`x${i}`)).toBe(true);
    // Only 3 addresses remembered: 'a' is forgotten after three others and starts full again.
    for (const addr of ['c', 'd', 'e']) limit.take(addr, 500);
    expect([limit.take('a', 500), limit.take('a', 500)]).toEqual([true, true]);
  });
});
