import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient, until } from './support/app.js';
import { RunningCli, tempDir } from './support/cli.js';
import { rawTcp } from './support/raw-tcp.js';
import { muteClient } from './support/raw-websocket.js';
import { slow } from './support/slow.js';

// Failure mode 2 of issue 6, with compression on: every kind of client that could hold the
// process open (ignores the close frame, stopped reading with compressed data pending, silent
// TCP that never finished its handshake) is cut at the grace deadline and the process exits 0.

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const GRACE = 1000;
const CONFIG = `sandbox: { console: false }
network:
  - { type: ws, port: 0, heartbeat_interval_ms: 20, compression: true, ping_interval_ms: 0 }
admin: { port: 0 }
shutdown: { grace_ms: ${GRACE} }
`;

describe('open sockets never prevent exit (compression on)', () => {
  it(
    'SIGINT with a compressed well-behaved client, two deaf compressed clients and a silent TCP: exit 0 at the grace deadline',
    { timeout: slow(10_000) },
    async () => {
      const t = tempDir();
      cleanups.push(t.cleanup);
      const cli = new RunningCli(['-c', t.write('c.yaml', CONFIG)], { stdin: 'ignore' });
      cleanups.push(() => cli.kill());
      const port = (await cli.ready()).ws[0]!;

      const good = await TestClient.open(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true });
      cleanups.push(() => good.close());
      expect(good.ws.extensions).toContain('permessage-deflate');
      const deaf = [
        await muteClient(cleanups, port, { deflate: true }),
        await muteClient(cleanups, port, { deflate: true }),
      ];
      const silent = await rawTcp(cleanups, port);
      await until(
        () => cli.logs.filter((l) => l.message.startsWith('connected #')).length === 3,
        3000,
        'three connections',
      );
      // Let compressed heartbeats pile up unread on the deaf clients: each goes to every client
      // at once, so five more at the good client are several unread at each deaf one.
      const from = good.frames.length;
      await until(
        () => good.frames.slice(from).filter((f) => f['meta_event_type'] === 'heartbeat').length >= 5,
        3000,
        'five more heartbeats',
      );

      const goodCode = once(good.ws, 'close').then(([code]) => code as number);
      const ended = [...deaf, silent].map((s) => once(s, 'close'));
      const sentAt = cli.signal('SIGINT');
      const exit = await cli.exited;
      expect(exit.code).toBe(0);
      expect(exit.at - sentAt).toBeGreaterThanOrEqual(GRACE - 100);
      expect(exit.at - sentAt).toBeLessThan(GRACE + slow(1000));
      expect(await goodCode).toBe(1001);
      // Paused sockets only see the end once they read again.
      for (const s of deaf) s.resume();
      await Promise.all(ended);
      expect(cli.stderr).not.toMatch(/uncaught|unhandled|write after end/i);
      expect(
        cli.logs.some((l) => /^shutdown complete: closed 3 connections, 2 terminated after \d+ ms$/.test(l.message)),
        cli.stderr,
      ).toBe(true);
    },
  );
});
