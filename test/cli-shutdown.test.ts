import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { TestClient, until } from './support/app.js';
import { CLI, QUIET_CONFIG, runningFor, tempDirFor, type Finishing, type RunningCli } from './support/cli.js';
import { execLine, spawnUnderPty } from './support/pty.js';
import { rawTcp } from './support/raw-tcp.js';
import { muteClient } from './support/raw-websocket.js';
import { slow } from './support/slow.js';

// Every test runs its own onebridge and mostly waits on it: they run concurrently, each
// cleaning up through its own test context.

/** The grace of tests that exit before it: long enough that "well under grace" means something. */
const GRACE = 1500;
/**
 * The grace of tests that wait it out (a mute client holds the exit until the deadline): the
 * shortest that still leaves a loaded machine time for the well-behaved clients' close
 * handshakes, so that only the mute ones are cut.
 */
const CUT_GRACE = 1000;

async function startCli(
  ctx: Finishing,
  extra = '',
  options: { stdin?: 'pipe' | 'ignore'; config?: string; grace?: number } = {},
): Promise<{ cli: RunningCli; ws: number; admin: number }> {
  const t = tempDirFor(ctx);
  const file = t.write(
    'c.yaml',
    options.config ?? `${QUIET_CONFIG()}shutdown: { grace_ms: ${options.grace ?? GRACE} }\n${extra}`,
  );
  const cli = runningFor(ctx, ['-c', file], { stdin: options.stdin ?? 'ignore' });
  const ports = await cli.ready();
  return { cli, ws: ports.ws[0] ?? 0, admin: ports.admin ?? 0 };
}

async function client(ctx: Finishing, port: number, path: string): Promise<TestClient> {
  const c = await TestClient.open(`ws://127.0.0.1:${port}${path}`);
  ctx.onTestFinished(() => c.close());
  return c;
}

function closeCode(c: TestClient): Promise<number> {
  return once(c.ws, 'close').then(([code]) => code as number);
}

function summary(cli: RunningCli): RegExpExecArray | null {
  for (const l of cli.logs) {
    const m = /^shutdown complete: closed (\d+) connections?, (\d+) terminated after (\d+) ms$/.exec(l.message);
    if (m) return m;
  }
  return null;
}

describe.concurrent('the shutdown promise (real CLI, real signals)', () => {
  it('SIGINT: 1001 to every well-behaved client, mute ones cut at grace, exit 0 within grace + 1 s', async (ctx) => {
    const { cli, ws } = await startCli(ctx, '', { grace: CUT_GRACE });
    const universal = await client(ctx, ws, '/');
    const api = await client(ctx, ws, '/api');
    const event = await client(ctx, ws, '/event');
    const idle = await client(ctx, ws, '/');
    await muteClient(ctx, ws);
    await muteClient(ctx, ws);
    const preHandshake = await rawTcp(ctx, ws);
    await until(
      () => cli.logs.filter((l) => l.message.startsWith('connected #')).length === 6,
      3000,
      'six connections',
    );
    const codes = Promise.all([universal, api, event, idle].map(closeCode));
    const preClosed = once(preHandshake, 'close');

    const sentAt = cli.signal('SIGINT');
    const exit = await cli.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - sentAt).toBeLessThan(CUT_GRACE + slow(1000));
    // The mute clients held it until the grace deadline, not less.
    expect(exit.at - sentAt).toBeGreaterThanOrEqual(CUT_GRACE - 100);
    expect(await codes).toEqual([1001, 1001, 1001, 1001]);
    await preClosed;
    const m = summary(cli);
    expect(m, cli.stderr).not.toBeNull();
    expect([Number(m![1]), Number(m![2])]).toEqual([6, 2]);
    expect(Number(m![3])).toBeGreaterThanOrEqual(CUT_GRACE);
  });

  it('exits at once (well under grace) when every client answers the close frame', async (ctx) => {
    // A grace far longer than an exit takes on this machine (emulated arm64 included): exiting
    // before it proves nothing waited for it.
    const grace = slow(5000);
    const { cli, ws } = await startCli(ctx, '', { grace });
    for (const path of ['/', '/api', '/event']) await client(ctx, ws, path);
    await until(() => cli.logs.filter((l) => l.message.startsWith('connected #')).length === 3, 3000);
    const sentAt = cli.signal('SIGINT');
    const exit = await cli.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - sentAt).toBeLessThan(grace);
    expect(summary(cli)?.slice(1, 3)).toEqual(['3', '0']);
  });

  it.for(['SIGTERM', 'SIGHUP'] as const)('%s shuts down the same way', async (sig, ctx) => {
    const { cli, ws } = await startCli(ctx);
    const c = await client(ctx, ws, '/');
    const code = closeCode(c);
    cli.signal(sig);
    expect((await cli.exited).code).toBe(0);
    expect(await code).toBe(1001);
    expect(cli.logs.some((l) => l.message.startsWith(`${sig}: shutting down`))).toBe(true);
    expect(summary(cli)?.slice(1, 3)).toEqual(['1', '0']);
  });

  it('a second SIGINT later than 500 ms exits at once with 130', async (ctx) => {
    // A long grace: the second signal must land well inside it, however loaded the machine.
    const { cli, ws } = await startCli(ctx, '', { grace: 10_000 });
    await muteClient(ctx, ws);
    await until(() => cli.logs.some((l) => l.message.startsWith('connected #')), 3000);
    cli.signal('SIGINT');
    await cli.waitForLog(/shutting down/);
    // Time is the subject: only a repeat more than 500 ms after the first forces the exit.
    await new Promise((r) => setTimeout(r, 700));
    const secondAt = cli.signal('SIGINT');
    const exit = await cli.exited;
    expect(exit.code).toBe(130);
    // Long before the grace deadline the mute client would have held it to.
    expect(exit.at - secondAt).toBeLessThan(slow(500));
    expect(cli.logs.some((l) => l.message === 'SIGINT again: exiting now')).toBe(true);
  });

  it('two SIGINTs a few ms apart (one Ctrl+C under npm) count once: graceful exit 0', async (ctx) => {
    const { cli, ws } = await startCli(ctx, '', { grace: CUT_GRACE });
    await muteClient(ctx, ws);
    await until(() => cli.logs.some((l) => l.message.startsWith('connected #')), 3000);
    const sentAt = cli.signal('SIGINT');
    cli.signal('SIGINT');
    const exit = await cli.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - sentAt).toBeGreaterThanOrEqual(CUT_GRACE - 100);
    expect(exit.at - sentAt).toBeLessThan(CUT_GRACE + slow(1000));
    expect(summary(cli)?.slice(1, 3)).toEqual(['1', '1']);
  });

  it('an idle keep-alive admin connection does not hold the exit', async (ctx) => {
    const { cli, admin } = await startCli(ctx);
    const http = await import('node:http');
    const agent = new http.Agent({ keepAlive: true });
    ctx.onTestFinished(() => agent.destroy());
    await new Promise<void>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: admin, path: '/connections', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        })
        .on('error', reject);
    });
    const sentAt = cli.signal('SIGINT');
    const exit = await cli.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - sentAt).toBeLessThan(GRACE);
  });
});

describe.concurrent('the sandbox console', () => {
  it('reads lines piped on stdin as messages, and end of input does not stop onebridge', async (ctx) => {
    const { cli, ws } = await startCli(ctx, '', {
      stdin: 'pipe',
      // Debug: the end of input is a debug line.
      config: `sandbox: { console: true }\nlog: { level: debug }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\nshutdown: { grace_ms: ${GRACE} }\n`,
    });
    const bot = await client(ctx, ws, '/event');
    await bot.next();
    cli.child.stdin!.write('hello from a pipe\n/as 20002\n');
    cli.child.stdin!.write('second line\n');
    cli.child.stdin!.end();
    const first = await bot.next();
    expect(first).toMatchObject({
      post_type: 'message',
      message_type: 'group',
      group_id: 30001,
      user_id: 20001,
      raw_message: 'hello from a pipe',
    });
    expect(await bot.next()).toMatchObject({ user_id: 20002, raw_message: 'second line' });
    // Still serving after the console saw its input end.
    await cli.waitForLog(/^console input ended/);
    const api = await client(ctx, ws, '/api');
    expect(await api.call('get_status')).toMatchObject({ status: 'ok' });
    expect(cli.child.exitCode).toBeNull();
    cli.signal('SIGTERM');
    expect((await cli.exited).code).toBe(0);
  });

  it('Ctrl+C typed in the console under a pseudo-terminal shuts down like SIGINT', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write(
      'c.yaml',
      `network:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\nshutdown: { grace_ms: ${GRACE} }\n`,
    );
    // script(1) gives the child a real terminal; what we write to script goes to the terminal.
    const child = spawnUnderPty(execLine([CLI, '-c', file]));
    ctx.onTestFinished(() => void child.kill('SIGKILL'));
    let screen = '';
    let wake = () => {};
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      wake();
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    /** Re-checked on every chunk of output; the bound only guards against a hang. */
    const waitScreen = async (re: RegExp) => {
      const deadline = Date.now() + slow(8000);
      while (!re.test(screen)) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`screen never matched ${re}:\n${screen}`);
        await new Promise<void>((r) => {
          const timer = setTimeout(r, left);
          wake = () => {
            clearTimeout(timer);
            r();
          };
        });
      }
    };
    await waitScreen(/Alice\(20001\) @ group 30001> /);
    child.stdin.write('/who\r');
    await waitScreen(/groups:\r?\n\s+Sandbox Group\(30001\)/);
    child.stdin.write('\x03');
    await waitScreen(/shutdown complete: closed 0 connections, 0 terminated/);
    expect(screen).toMatch(/SIGINT: shutting down/);
    expect(await exited).toBe(0);
  });
});

describe.concurrent('reverse WS shutdown (real CLI)', () => {
  it('SIGINT with one link connected, one stuck in a handshake and one backing off: exit 0 well within grace + 1 s', async (ctx) => {
    const { Framework, freePort, silentServer } = await import('./support/framework.js');
    const f = await Framework.start();
    ctx.onTestFinished(() => f.close());
    const silent = await silentServer();
    ctx.onTestFinished(() => silent.close());
    const down = await freePort();
    const config = `sandbox: { console: false }
network:
  - { type: ws-reverse, url: "${f.url()}", heartbeat_interval_ms: 0 }
  - { type: ws-reverse, url: "ws://127.0.0.1:${silent.port}/", heartbeat_interval_ms: 0 }
  - { type: ws-reverse, url: "ws://127.0.0.1:${down}/", heartbeat_interval_ms: 0, reconnect: { initial_ms: 60000, max_ms: 60000 } }
shutdown: { grace_ms: ${GRACE} }
`;
    const { cli } = await startCli(ctx, '', { config });
    const c = await f.connection(0);
    // Open on our side too: its lifecycle event is sent once the link has the socket.
    await f.until(() => c.frames.length >= 1, 3000, 'lifecycle on the connected link');
    await until(() => silent.sockets.length === 1, 3000, 'handshake in progress');
    // Backing off: its first attempt was refused.
    await cli.waitForLog(new RegExp(`cannot connect to ws://127\\.0\\.0\\.1:${down}/`));
    const sentAt = cli.signal('SIGINT');
    const exit = await cli.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - sentAt).toBeLessThan(slow(1000));
    expect(await c.closed).toBe(1001);
    // Nothing had to be cut: the idle link left the registry when accepting stopped, the
    // handshake was aborted, and the connected framework answered the close frame.
    expect(summary(cli)?.[2]).toBe('0');
  });
});

describe.concurrent('HTTP shutdown (real CLI)', () => {
  it('SIGINT with an SSE stream open and an idle keep-alive socket: the stream ends, exit 0 well within grace', async (ctx) => {
    const config = `sandbox: { console: false }\nnetwork:\n  - { type: http, port: 0, sse: true, heartbeat_interval_ms: 0 }\nshutdown: { grace_ms: ${GRACE} }\n`;
    const { cli } = await startCli(ctx, '', { config });
    const port = Number(
      await cli.waitUntil(() =>
        cli.logs.map((l) => /HTTP API listening on http:\/\/[^:]+:(\d+)/.exec(l.message)?.[1]).find(Boolean),
      ),
    );
    const http = await import('node:http');
    const agent = new http.Agent({ keepAlive: true });
    ctx.onTestFinished(() => agent.destroy());
    await new Promise<void>((r) =>
      http.get({ host: '127.0.0.1', port, path: '/get_status', agent }, (res) => res.resume().on('end', () => r())),
    );
    let streamed = '';
    const ended = new Promise<void>((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/_events' }, (res) => {
        res.on('data', (d: Buffer) => (streamed += d.toString()));
        res.on('end', () => resolve());
        res.on('error', () => resolve());
      });
    });
    await until(() => streamed.includes('"sub_type":"connect"'), 3000, 'SSE lifecycle');
    const sentAt = cli.signal('SIGINT');
    const exit = await cli.exited;
    await ended;
    expect(exit.code).toBe(0);
    expect(exit.at - sentAt).toBeLessThan(GRACE);
    expect(summary(cli)?.[2]).toBe('0');
  });
});

describe.concurrent('HTTP shutdown with an action in flight (real CLI)', () => {
  it('SIGINT during a slow action: its full answer arrives, the idle keep-alive socket and the SSE stream end, exit 0 within grace + 1 s', async (ctx) => {
    // A slow platform: the relay adapter forwards actions to this fake upstream HTTP API,
    // which answers get_group_list only after SLOW ms.
    const SLOW = 600;
    const http = await import('node:http');
    let slowAsked = false;
    const upstream = http.createServer((req, res) => {
      req.resume();
      if (req.url?.startsWith('/get_group_list')) slowAsked = true;
      const answer = () =>
        res
          .writeHead(200, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ status: 'ok', retcode: 0, data: [{ group_id: 1, group_name: 'slow' }] }));
      if (req.url?.startsWith('/get_group_list')) setTimeout(answer, SLOW);
      else
        res
          .writeHead(200, { 'Content-Type': 'application/json' })
          .end(JSON.stringify({ status: 'ok', retcode: 0, data: null }));
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    ctx.onTestFinished(() => new Promise<void>((r) => upstream.close(() => r())));
    upstream.unref();
    const upPort = (upstream.address() as { port: number }).port;
    const config = `accounts:\n  - self_id: 10001\n    adapter: { type: relay, upstream: { mode: http, url: "http://127.0.0.1:${upPort}/", port: 0 } }\nnetwork:\n  - { type: http, port: 0, sse: true, heartbeat_interval_ms: 0 }\nshutdown: { grace_ms: ${GRACE} }\n`;
    const { cli } = await startCli(ctx, '', { config });
    const port = Number(
      await cli.waitUntil(() =>
        cli.logs.map((l) => /HTTP API listening on http:\/\/[^:]+:(\d+)/.exec(l.message)?.[1]).find(Boolean),
      ),
    );

    const agent = new http.Agent({ keepAlive: true });
    ctx.onTestFinished(() => agent.destroy());
    await new Promise<void>((r) =>
      http.get({ host: '127.0.0.1', port, path: '/get_status', agent }, (res) => res.resume().on('end', () => r())),
    );
    let streamed = '';
    const sseEnded = new Promise<void>((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/_events' }, (res) => {
        res.on('data', (d: Buffer) => (streamed += d.toString()));
        res.on('end', () => resolve());
        res.on('error', () => resolve());
      });
    });
    await until(() => streamed.includes('"sub_type":"connect"'), 3000, 'SSE lifecycle');

    // The slow action over raw TCP, so the test sees every byte up to FIN.
    const raw = await rawTcp(ctx, port);
    let answer = '';
    raw.on('data', (d: Buffer) => (answer += d.toString()));
    const fin = once(raw, 'end');
    raw.write(`GET /get_group_list HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    // In flight: onebridge has passed the action on to the slow upstream.
    await until(() => slowAsked, 5000, 'get_group_list at the upstream');
    const sentAt = cli.signal('SIGINT');
    await fin;
    const [head, body] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(head).toMatch(/\r\nconnection: close/i);
    expect(Buffer.byteLength(body!)).toBe(Number(/content-length: (\d+)/i.exec(head!)?.[1]));
    expect(JSON.parse(body!)).toMatchObject({ status: 'ok', retcode: 0, data: [{ group_id: 1, group_name: 'slow' }] });
    const exit = await cli.exited;
    await sseEnded;
    expect(exit.code).toBe(0);
    expect(exit.at - sentAt).toBeGreaterThanOrEqual(SLOW - 200);
    expect(exit.at - sentAt).toBeLessThan(GRACE + slow(1000));
  });
});
