import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from './support/app.js';
import { RunningCli, tempDir } from './support/cli.js';
import { slow } from './support/slow.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A webhook receiver that takes each request and never answers. */
async function silentReceiver(): Promise<{ url: string; held: ServerResponse[] }> {
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    req.resume();
    held.push(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, held };
}

/** Sends raw bytes; resolves with what came back once the server closes, or what came within `ms`. */
function raw(port: number, data: string, ms: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    cleanups.push(() => socket.destroy());
    let text = '';
    socket.on('error', () => {});
    socket.on('data', (d: Buffer) => (text += d.toString()));
    const timer = setTimeout(() => resolve({ text, closed: false }), ms);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.write(data);
  });
}

describe('issue 10 §6 (real CLI)', () => {
  it(
    'admin: over-limit Content-Length is 413 at once; an aborted chunked body is a warning; webhook deliveries cut at the deadline count as terminated',
    async () => {
      const hooks = await Promise.all([silentReceiver(), silentReceiver(), silentReceiver()]);
      const t = tempDir();
      cleanups.push(t.cleanup);
      const cli = new RunningCli([
        '-c',
        t.write(
          'c.yaml',
          `sandbox: { console: false }
network:
  - { type: http, port: 0 }
${hooks.map((h) => `  - { type: http-post, url: "${h.url}", timeout_ms: 60000 }`).join('\n')}
admin: { port: 0 }
shutdown: { grace_ms: 800 }
`,
        ),
      ]);
      cleanups.push(() => cli.kill());
      await cli.ready();
      const http = Number(
        cli.logs.map((l) => /HTTP API listening on http:\/\/[^:]+:(\d+)/.exec(l.message)?.[1]).find(Boolean),
      );
      const admin = Number(
        cli.logs.map((l) => /admin endpoint on http:\/\/[^:]+:(\d+)/.exec(l.message)?.[1]).find(Boolean),
      );

      // A declared body far over the admin limit, never sent: answered 413 and closed, at once.
      const big = await raw(
        admin,
        'POST /sandbox/messages HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n',
        10_000,
      );
      expect(big.text).toMatch(/^HTTP\/1\.1 413 /);
      expect(big.closed).toBe(true);

      // A chunked body the client abandons halfway: a warning, not an error line.
      const socket = connect(http, '127.0.0.1');
      cleanups.push(() => socket.destroy());
      socket.on('error', () => {});
      await once(socket, 'connect');
      socket.write(
        'POST /send_group_msg HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"gro\r\n',
      );
      // Cut once the request is in its handler (counted in on this socket's registry entry),
      // which is then reading the body.
      const remote = `127.0.0.1:${socket.localPort}`;
      const deadline = Date.now() + slow(10_000);
      for (;;) {
        const listed = (await (await fetch(`http://127.0.0.1:${admin}/connections`)).json()) as {
          connections: Array<{ remote: string; frames_in: number }>;
        };
        if (listed.connections.some((c) => c.remote === remote && c.frames_in === 1)) break;
        if (Date.now() > deadline) throw new Error('the chunked request never reached its handler');
        await new Promise((r) => setTimeout(r, 10));
      }
      socket.destroy();
      await cli.waitForLog(/the request body could not be read/);
      expect(cli.logs.find((l) => /the request body could not be read/.test(l.message))!.level).toBe('warn');

      // Three webhook targets each with a delivery in flight (lifecycle enable, never answered).
      await until(() => hooks.every((h) => h.held.length >= 1), 10_000, 'deliveries in flight');
      cli.signal('SIGINT');
      expect((await cli.exited).code).toBe(0);
      const summary = cli.logs.find((l) => /^shutdown complete: /.test(l.message))!.message;
      expect(summary).toMatch(/^shutdown complete: closed \d+ connections, 3 terminated after \d+ ms$/);
      expect(cli.logs.filter((l) => l.level === 'error')).toEqual([]);
    },
    slow(60_000),
  );
});
