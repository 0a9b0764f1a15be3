import { afterEach, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { ReconnectingLink, webSocketDialer } from '../src/kit/index.js';
import type { Logger } from '../src/logger.js';
import { formatDuration } from '../src/transport/outage-log.js';
import { until } from './support/app.js';
import { Framework, freePort } from './support/framework.js';

// A target that is down must not flood the log: one line when an outage starts, one with the
// count when it ends; the retries in between are debug lines.

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Line = { level: 'error' | 'warn' | 'info' | 'debug'; message: string };

function recordingLogger(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: Line['level']) => (message: string) => lines.push({ level, message });
  return { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') } as unknown as Logger & {
    lines: Line[];
  };
}

function link(port: number, logger: Logger): ReconnectingLink<WebSocket> {
  const l = new ReconnectingLink({
    name: 'probe',
    logger,
    reconnect: { initialMs: 5, maxMs: 20 },
    ...webSocketDialer({
      url: `ws://127.0.0.1:${port}/`,
      headers: () => ({}),
      handshakeTimeoutMs: 5000,
      maxPayloadBytes: 1 << 20,
      goodbye: { code: 1000, reason: 'bye' },
    }),
  });
  cleanups.push(() => l.stop(100));
  return l;
}

const loud = (lines: Line[]) => lines.filter((l) => l.level !== 'debug').map((l) => `${l.level} ${l.message}`);

describe('reconnecting link: one log line per outage', () => {
  it('a target that stays down: one warning for many attempts; the reconnect line carries the count', async () => {
    const port = await freePort();
    const log = recordingLogger();
    const l = link(port, log);
    l.start();
    await until(() => l.reconnects >= 10, 5000, 'ten failed attempts');
    expect(loud(log.lines)).toEqual([
      `warn probe: cannot connect to ws://127.0.0.1:${port}/: ECONNREFUSED; retrying with backoff (up to 20 ms), quietly until it connects or the cause changes`,
    ]);
    // Every attempt is still there for whoever turns on debug.
    expect(
      log.lines.filter((x) => x.level === 'debug' && /retrying in \d+ ms/.test(x.message)).length,
    ).toBeGreaterThanOrEqual(10);

    const f = await Framework.start({ port });
    cleanups.push(() => f.close());
    await until(() => l.state === 'open', 5000, 'connected');
    const connected = loud(log.lines).slice(1);
    expect(connected).toHaveLength(1);
    expect(connected[0]).toMatch(
      new RegExp(
        `^info probe: connected to ws://127\\.0\\.0\\.1:${port}/ \\(after (\\d+) failed attempts over \\d+ (ms|s)\\)$`,
      ),
    );
    expect(Number(/after (\d+) failed/.exec(connected[0]!)![1])).toBeGreaterThanOrEqual(10);
  });

  it('a drop, then a target that refuses: one line each; the next outage starts afresh', async () => {
    const f = await Framework.start();
    const port = f.port;
    const log = recordingLogger();
    const l = link(port, log);
    l.start();
    await f.connection(0);
    await until(() => l.state === 'open');
    await f.close();
    const before = l.reconnects;
    await until(() => l.reconnects >= before + 5, 5000, 'five failed attempts');
    expect(loud(log.lines)).toEqual([
      `info probe: connected to ws://127.0.0.1:${port}/`,
      `warn probe: disconnected from ws://127.0.0.1:${port}/ (code 1006); reconnecting`,
      `warn probe: cannot connect to ws://127.0.0.1:${port}/: ECONNREFUSED; retrying with backoff (up to 20 ms), quietly until it connects or the cause changes`,
    ]);
  });

  it('a refused access token: one error line naming it, then every retry at the longest wait', async () => {
    const f = await Framework.start({ verify: () => [401, 'bad token'] });
    cleanups.push(() => f.close());
    const log = recordingLogger();
    const l = link(f.port, log);
    const t0 = Date.now();
    l.start();
    await until(() => l.reconnects >= 3, 5000, 'three refused attempts');
    // Three waits of max_ms (20), not the 5 ms a first retry takes.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(40);
    expect(loud(log.lines)).toEqual([
      `error probe: cannot connect to ws://127.0.0.1:${f.port}/: access token refused (HTTP 401); check access_token; retrying every 20 ms`,
    ]);
    expect(log.lines.filter((x) => x.level === 'debug' && x.message === 'probe: retrying in 20 ms').length).toBe(
      l.reconnects,
    );
    expect(f.seen).toHaveLength(0);
  });

  it('formats outage durations for people', () => {
    expect([850, 12_400, 200_000, 180_000, 7_500_000, 7_200_000].map(formatDuration)).toEqual([
      '850 ms',
      '12 s',
      '3 min 20 s',
      '3 min',
      '2 h 5 min',
      '2 h',
    ]);
  });
});
