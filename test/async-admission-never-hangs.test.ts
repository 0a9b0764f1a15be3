import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../src/app.js';
import { AdmissionError, type WsServer } from '../src/transport/ws-server.js';
import { startApp, until, wsPort } from './support/app.js';

// Failure modes 1 and 4 of issue 6: an asynchronous admission step ends every upgrade exactly
// once (101 and a working socket, or an HTTP error and a closed socket), whatever the timing.

let app: App | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) ws.terminate();
  await app?.stop();
  app = undefined;
});

const config = (timeout: number) => `network:\n  - type: ws\n    port: 0\n    heartbeat_interval_ms: 0\n    handshake_timeout_ms: ${timeout}\n`;
const server = (): WsServer => app!.transports[0] as WsServer;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type Outcome = { kind: 'open'; answered: boolean; closeCode?: number } | { kind: 'http'; status: number };

/** Dials, and reports how the upgrade ended; an opened socket must answer an action. */
async function outcome(path = '/api'): Promise<Outcome> {
  const ws = new WebSocket(`ws://127.0.0.1:${wsPort(app!)}${path}`);
  sockets.push(ws);
  ws.on('error', () => {});
  const first = await Promise.race([
    once(ws, 'open').then(() => 'open' as const),
    once(ws, 'unexpected-response').then(([, res]) => (res as { statusCode: number }).statusCode),
  ]);
  if (first !== 'open') return { kind: 'http', status: first };
  let closeCode: number | undefined;
  ws.on('close', (code) => (closeCode = code));
  ws.send(JSON.stringify({ action: 'get_login_info', echo: 1 }));
  const answered = await Promise.race([once(ws, 'message').then(() => true), sleep(2000).then(() => false)]);
  return { kind: 'open', answered, closeCode };
}

describe('async admission never hangs the upgrade', () => {
  it('a delayed check admits; a refusal gets its status; a throw gets 500; a check that never settles is cut with 408', async () => {
    app = await startApp(config(100));
    const s = server();
    s.admission = async () => sleep(20);
    expect(await outcome()).toEqual({ kind: 'open', answered: true, closeCode: undefined });
    s.admission = async () => {
      throw new AdmissionError(429, 'slow down');
    };
    expect(await outcome()).toEqual({ kind: 'http', status: 429 });
    s.admission = () => {
      throw new Error('boom');
    };
    expect(await outcome()).toEqual({ kind: 'http', status: 500 });
    s.admission = () => new Promise<void>(() => {});
    expect(await outcome()).toEqual({ kind: 'http', status: 408 });
    expect(s.admitting).toBe(0);
    expect(app.registry.size).toBe(1);
  });

  it('handshake_timeout_ms 0 means no limit: a slow check still admits', async () => {
    app = await startApp(config(0));
    server().admission = async () => sleep(150);
    expect(await outcome()).toEqual({ kind: 'open', answered: true, closeCode: undefined });
  });

  it('300 upgrades with admission delays jittered across the timeout: exactly one outcome each, no 101 then drop', async () => {
    app = await startApp(config(40));
    const s = server();
    // Seeded jitter, 0-80 ms around the 40 ms deadline, including exactly 40.
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    s.admission = () => new Promise<void>((resolve) => setTimeout(resolve, Math.floor(rand() * 80)));
    const results = await Promise.all(Array.from({ length: 300 }, () => outcome()));
    const opened = results.filter((r) => r.kind === 'open');
    const refused = results.filter((r) => r.kind === 'http');
    expect(opened.length + refused.length).toBe(300);
    // Both sides of the boundary were hit.
    expect(opened.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of opened) expect(r).toEqual({ kind: 'open', answered: true, closeCode: undefined });
    for (const r of refused) expect(r).toEqual({ kind: 'http', status: 408 });
    expect(s.admitting).toBe(0);
    expect(app.registry.size).toBe(opened.length);
  });

  it('shutdown while upgrades wait in admission: each socket ends, the count returns to 0', async () => {
    app = await startApp(config(0));
    const s = server();
    s.admission = () => new Promise<void>(() => {});
    const pending = Array.from({ length: 20 }, () => outcome().catch(() => ({ kind: 'http', status: 0 }) as Outcome));
    await until(() => s.admitting === 20, 2000, 'twenty upgrades in admission');
    await app.stop();
    app = undefined;
    const results = await Promise.race([Promise.all(pending), sleep(3000).then(() => 'hung' as const)]);
    expect(results).not.toBe('hung');
    await until(() => s.admitting === 0, 2000, 'admission count back to 0');
  });
});
