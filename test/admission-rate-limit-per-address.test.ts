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
    // Fifteen at once. The bucket holds 5 and gets one back every 200 ms while the burst is being
    // answered, so within `ms` at most 5 + ms/200 get in (more on a slow machine, never fewer
    // than 5); the rest are refused, and at least one is as long as the burst takes under 2 s.
    const t0 = performance.now();
    const burst = await Promise.all(Array.from({ length: 15 }, dial));
    const ms = performance.now() - t0;
    const admitted = burst.filter((r) => r.status === 101).length;
    expect(admitted).toBeGreaterThanOrEqual(5);
    expect(admitted).toBeLessThanOrEqual(5 + Math.floor(ms / 200));
    expect(burst.filter((r) => r.status !== 101)).toEqual(
      Array.from({ length: 15 - admitted }, () => ({ status: 429, retryAfter: '1' })),
    );
    expect(admitted).toBeLessThan(15);
    expect(app.registry.size).toBe(admitted);
    await new Promise((r) => setTimeout(r, 300)); // 5/s: one token back after 200 ms
    expect((await dial()).status).toBe(101);
    // The admitted sockets stayed open through the refusals and the refill.
    expect(sockets.filter((ws, i) => burst[i]?.status === 101 && ws.readyState === WebSocket.OPEN)).toHaveLength(
      admitted,
    );
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
