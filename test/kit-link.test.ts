import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TrackedLink } from '../src/adapter.js';
import { ReconnectingLink, type LinkAttempt } from '../src/kit/index.js';
import { getLogger } from '../src/logger.js';
import { configureLogging } from '../src/logger.js';
import { slow } from './support/slow.js';

configureLogging({ silent: process.env['ONEBRIDGE_TEST_LOGS'] !== '1' });
const logger = getLogger('test-link');

/** A fake connection: `end()` is the platform dropping it. */
class Fake {
  destroyed = 0;
  closed = 0;
  constructor(
    readonly n: number,
    readonly attempt: LinkAttempt,
  ) {}
  end(error?: Error) {
    this.attempt.lost(error);
  }
}

function tracked(): TrackedLink & { reconnects: number; closedWith: string | undefined } {
  return {
    state: 'connecting',
    reconnects: 0,
    closedWith: undefined,
    reconnected() {
      this.reconnects++;
    },
    countIn() {},
    countOut() {},
    close(detail) {
      this.closedWith = detail ?? 'closed';
    },
  };
}

/** A link over Fake connections, named `fake` and logging to the quiet logger unless the test says otherwise. */
function fakeLink(
  options: Omit<ConstructorParameters<typeof ReconnectingLink<Fake>>[0], 'name' | 'target' | 'logger'> & {
    logger?: typeof logger;
  },
): ReconnectingLink<Fake> {
  return new ReconnectingLink<Fake>({ name: 'fake', target: 'fake://x', logger, ...options });
}

describe('ReconnectingLink (fake timers, fake connections)', () => {
  afterEach(() => void vi.useRealTimers());

  it('connects, reconnects with backoff after a loss, tracks state and reconnects, stops with no timer left', async () => {
    vi.useFakeTimers();
    const conns: Fake[] = [];
    const opened: number[] = [];
    const lostConns: number[] = [];
    const track = tracked();
    const link = fakeLink({
      reconnect: { initialMs: 100, maxMs: 1000 },
      random: () => 0.5,
      track,
      connect: async (attempt) => {
        const c = new Fake(conns.length, attempt);
        conns.push(c);
        return c;
      },
      onOpen: (c) => opened.push(c.n),
      onLost: (c) => lostConns.push(c.n),
      destroy: (c) => void c.destroyed++,
    });
    link.start();
    link.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(link.state).toBe('open');
    expect(track.state).toBe('open');
    expect(opened).toEqual([0]);
    conns[0]!.end(new Error('reset'));
    conns[0]!.end();
    expect(link.state).toBe('waiting');
    expect(track.state).toBe('connecting');
    expect(lostConns).toEqual([0]);
    expect(conns[0]!.destroyed).toBe(1);
    expect(track.reconnects).toBe(1);
    // Full jitter with random 0.5: the first wait is half of initial_ms.
    await vi.advanceTimersByTimeAsync(49);
    expect(conns).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(conns).toHaveLength(2);
    expect(link.state).toBe('open');
    expect(link.current).toBe(conns[1]);
    await link.stop();
    expect(link.state).toBe('stopped');
    expect(conns[1]!.destroyed).toBe(1);
    expect(track.closedWith).toBe('stopped');
    expect(vi.getTimerCount()).toBe(0);
    // Idempotent, and a loss after stop does not reconnect.
    await link.stop();
    conns[1]!.end();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(conns).toHaveLength(2);
  });

  it('failed attempts back off exponentially up to max; advise "slow" waits the max', async () => {
    vi.useFakeTimers();
    const times: number[] = [];
    let refuse: 'down' | 'auth' = 'down';
    const link = fakeLink({
      reconnect: { initialMs: 100, maxMs: 400 },
      random: () => 0.999,
      connect: async () => {
        times.push(Date.now());
        throw new Error(refuse === 'auth' ? 'password refused' : 'ECONNREFUSED');
      },
      advise: (err) => (err?.message === 'password refused' ? 'slow' : 'retry'),
      destroy: () => {},
    });
    const t0 = Date.now();
    link.start();
    await vi.advanceTimersByTimeAsync(2000);
    const waits = times.slice(1).map((t, i) => t - times[i]!);
    expect(times[0]).toBe(t0);
    expect(waits.slice(0, 4)).toEqual([99, 199, 399, 399]);
    refuse = 'auth';
    const before = times.length;
    await vi.advanceTimersByTimeAsync(400 * 3);
    const slowWaits = times.slice(before).map((t, i) => t - times[before + i - 1]!);
    expect(slowWaits.slice(1).every((w) => w === 400)).toBe(true);
    await link.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a platform that stays down: one warning per outage and cause; the reconnect line carries the count', async () => {
    vi.useFakeTimers();
    type Line = { level: string; message: string };
    const lines: Line[] = [];
    const at = (level: string) => (message: string) => void lines.push({ level, message });
    const recording = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
    let refuse: string | undefined = 'ECONNREFUSED';
    const conns: Fake[] = [];
    const link = fakeLink({
      logger: recording as unknown as typeof logger,
      reconnect: { initialMs: 10, maxMs: 40 },
      random: () => 0.5,
      connect: async (attempt) => {
        if (refuse) throw Object.assign(new Error(`connect ${refuse} 127.0.0.1:1`), { code: refuse });
        const c = new Fake(conns.length, attempt);
        conns.push(c);
        return c;
      },
      advise: (err) => ((err as { code?: string } | undefined)?.code === 'AUTH' ? 'slow' : 'retry'),
      destroy: () => {},
    });
    const loud = () => lines.filter((l) => l.level !== 'debug').map((l) => `${l.level} ${l.message}`);
    link.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(link.reconnects).toBeGreaterThanOrEqual(20);
    expect(loud()).toEqual([
      'warn fake: cannot connect to fake://x: connect ECONNREFUSED 127.0.0.1:1; retrying with backoff (up to 40 ms), quietly until it connects or the cause changes',
    ]);
    // A new cause is worth a line; a refused password says it waits the longest.
    refuse = 'AUTH';
    await vi.advanceTimersByTimeAsync(200);
    expect(loud().slice(1)).toEqual([
      'error fake: cannot connect to fake://x: connect AUTH 127.0.0.1:1; retrying every 40 ms',
    ]);
    refuse = undefined;
    await vi.advanceTimersByTimeAsync(100);
    expect(link.state).toBe('open');
    expect(loud()[2]).toMatch(/^info fake: connected to fake:\/\/x \(after (\d+) failed attempts over \d+ m?s\)$/);
    const failed = Number(/after (\d+) failed/.exec(loud()[2]!)![1]);
    expect(failed).toBe(link.reconnects);
    // A drop starts a new outage: one line, and the next connect says "reconnected".
    conns[0]!.end(new Error('read ECONNRESET'));
    await vi.advanceTimersByTimeAsync(100);
    expect(loud().slice(3)).toEqual([
      'warn fake: disconnected from fake://x (read ECONNRESET); reconnecting',
      'info fake: connected to fake://x (reconnected)',
    ]);
    await link.stop();
  });

  it('stop() aborts an attempt in progress; a connection that arrives late is destroyed, not kept', async () => {
    let finish!: (c: Fake) => void;
    let aborted = false;
    let made: Fake | undefined;
    const link = fakeLink({
      reconnect: { initialMs: 100, maxMs: 1000 },
      connect: (attempt) => {
        attempt.signal.addEventListener('abort', () => (aborted = true));
        made = new Fake(0, attempt);
        return new Promise((resolve) => (finish = resolve));
      },
      destroy: (c) => void c.destroyed++,
    });
    link.start();
    await new Promise((r) => setImmediate(r));
    expect(link.state).toBe('connecting');
    await link.stop();
    expect(aborted).toBe(true);
    finish(made!);
    await new Promise((r) => setImmediate(r));
    expect(made!.destroyed).toBe(1);
    expect(link.current).toBeUndefined();
  });

  it('stop in steps, for an owner that runs shutdown phases: each idempotent, the track closed once nothing is left', async () => {
    const conns: Fake[] = [];
    const goodbyes: number[] = [];
    const lostConns: number[] = [];
    const track = tracked();
    const link = fakeLink({
      reconnect: { initialMs: 100, maxMs: 1000 },
      track,
      connect: async (attempt) => {
        const c = new Fake(conns.length, attempt);
        conns.push(c);
        return c;
      },
      onLost: (c) => lostConns.push(c.n),
      close: (c) => void goodbyes.push(c.n),
      destroy: (c) => void c.destroyed++,
    });
    link.start();
    await link.whenOpen(1000);
    // 1: no more attempts; the open connection stays, and so does the link in the registry.
    link.stopRetrying();
    link.stopRetrying();
    expect([link.state, link.current, track.closedWith, track.state]).toEqual([
      'stopped',
      undefined,
      undefined,
      'open',
    ]);
    // 2: nothing in progress to abort.
    expect(link.abortAttempt()).toBe(false);
    // 3: one goodbye, however often asked; the registry shows closing.
    const said = link.goodbye();
    expect(link.goodbye()).toBe(said);
    await said;
    expect(goodbyes).toEqual([0]);
    expect(track.state).toBe('closing');
    expect(track.closedWith).toBeUndefined();
    // The peer answers: the connection ends, nothing reconnects, the link leaves the registry.
    conns[0]!.end();
    expect(conns[0]!.destroyed).toBe(1);
    expect(lostConns).toEqual([]);
    expect(track.closedWith).toBe('stopped');
    // 4: nothing left to cut.
    expect(link.cut()).toBe(false);
    expect(conns).toHaveLength(1);
    expect(track.reconnects).toBe(0);
  });

  it('stop in steps: an attempt in progress is aborted once; the track closes when it settles, or at once when cut', async () => {
    const pendingLink = () => {
      const finishes: Array<(c: Fake) => void> = [];
      const made: Fake[] = [];
      const track = tracked();
      const link = fakeLink({
        reconnect: { initialMs: 100, maxMs: 1000 },
        track,
        // Deaf to the abort: the connection arrives anyway, late.
        connect: (attempt) =>
          new Promise((resolve) => {
            made.push(new Fake(made.length, attempt));
            finishes.push(resolve);
          }),
        destroy: (c) => void c.destroyed++,
      });
      return { link, track, made, finish: () => finishes[0]!(made[0]!) };
    };
    const settles = pendingLink();
    settles.link.start();
    await new Promise((r) => setImmediate(r));
    settles.link.stopRetrying();
    expect(settles.track.closedWith).toBeUndefined();
    expect(settles.link.abortAttempt()).toBe(true);
    expect(settles.link.abortAttempt()).toBe(false);
    expect(settles.made[0]!.attempt.signal.aborted).toBe(true);
    // Still in flight: still in the registry.
    await new Promise((r) => setImmediate(r));
    expect(settles.track.closedWith).toBeUndefined();
    settles.finish();
    await new Promise((r) => setImmediate(r));
    expect(settles.made[0]!.destroyed).toBe(1);
    expect(settles.track.closedWith).toBe('stopped');
    expect(settles.link.current).toBeUndefined();

    const cut = pendingLink();
    cut.link.start();
    await new Promise((r) => setImmediate(r));
    expect(cut.link.cut()).toBe(false);
    expect(cut.made[0]!.attempt.signal.aborted).toBe(true);
    expect(cut.track.closedWith).toBe('stopped');
    cut.finish();
    await new Promise((r) => setImmediate(r));
    expect(cut.made[0]!.destroyed).toBe(1);
    expect(cut.made).toHaveLength(1);
  });

  it('stop in steps: a link waiting to retry leaves the registry at once', async () => {
    vi.useFakeTimers();
    const track = tracked();
    const link = fakeLink({
      reconnect: { initialMs: 60_000, maxMs: 60_000 },
      track,
      connect: async () => {
        throw new Error('down');
      },
      destroy: () => {},
    });
    link.start();
    await vi.advanceTimersByTimeAsync(0);
    expect([link.state, vi.getTimerCount()]).toEqual(['waiting', 1]);
    link.stopRetrying();
    expect([link.state, vi.getTimerCount(), track.closedWith]).toEqual(['stopped', 0, 'stopped']);
    expect(link.abortAttempt()).toBe(false);
    await link.goodbye();
    expect(link.cut()).toBe(false);
    await link.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('whenOpen waits for the connection, and gives up at its deadline', async () => {
    vi.useFakeTimers();
    let allow = false;
    const link = fakeLink({
      reconnect: { initialMs: 100, maxMs: 100 },
      random: () => 0,
      connect: async (attempt) => {
        if (!allow) throw new Error('down');
        return new Fake(0, attempt);
      },
      destroy: () => {},
    });
    link.start();
    const late = link.whenOpen(50);
    const seen = expect(late).rejects.toMatchObject({ code: 'ONEBRIDGE_TIMEOUT' });
    await vi.advanceTimersByTimeAsync(50);
    await seen;
    const soon = link.whenOpen(1000);
    allow = true;
    await vi.advanceTimersByTimeAsync(1);
    await expect(soon).resolves.toBeInstanceOf(Fake);
    await expect(link.whenOpen(0)).resolves.toBe(link.current);
    await link.stop();
  });
});

describe('ReconnectingLink over real TCP', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function server(
    onSocket: (s: Socket) => void,
  ): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
    const sockets = new Set<Socket>();
    const srv = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      onSocket(s);
    });
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    cleanups.push(() => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => srv.close(r));
    });
    return { server: srv, port: (srv.address() as { port: number }).port, sockets };
  }

  function tcpLink(port: number, lines: string[], hangGoodbye = false) {
    return new ReconnectingLink<Socket>({
      name: 'tcp',
      target: `tcp://127.0.0.1:${port}`,
      logger,
      reconnect: { initialMs: 10, maxMs: 20 },
      connect: (attempt) =>
        new Promise((resolve, reject) => {
          const s = tcpConnect({ host: '127.0.0.1', port, signal: attempt.signal });
          s.setEncoding('utf8');
          s.on('data', (d: string) => lines.push(...d.split('\n').filter(Boolean)));
          s.once('connect', () => resolve(s));
          s.on('error', reject);
          s.on('close', () => attempt.lost());
        }),
      close: (s) =>
        new Promise<void>((resolve) => {
          s.end('QUIT\n');
          if (!hangGoodbye) s.once('close', () => resolve());
        }),
      destroy: (s) => s.destroy(),
    });
  }

  it('reconnects after the server cuts it, and stops within grace while the server ignores the goodbye', async () => {
    let n = 0;
    const { port, sockets } = await server((s) => {
      s.on('error', () => {});
      s.write(`hello ${++n}\n`);
    });
    const lines: string[] = [];
    const link = tcpLink(port, lines, true);
    cleanups.push(() => link.stop(100));
    link.start();
    await link.whenOpen(5000);
    await until(() => lines.includes('hello 1'));
    for (const s of sockets) s.destroy();
    await until(() => lines.includes('hello 2'));
    expect(link.reconnects).toBe(1);
    expect(link.state).toBe('open');
    // The server never closes after QUIT: stop() cuts it at the grace.
    const t0 = performance.now();
    await link.stop(200);
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(150);
    expect(took).toBeLessThan(200 * 10);
    await until(() => sockets.size === 0);
  });

  it('a server that is down: retries until it is up', async () => {
    const { port } = await server(() => {});
    // Take the port, then free it: connect fails with ECONNREFUSED until we listen again.
    await new Promise<void>((r) => {
      const c = cleanups.pop()!;
      void Promise.resolve(c()).then(() => r());
    });
    const lines: string[] = [];
    const link = tcpLink(port, lines);
    cleanups.push(() => link.stop(100));
    link.start();
    await until(() => link.reconnects >= 2);
    expect(link.state === 'waiting' || link.state === 'connecting').toBe(true);
    const again = createServer((s) => s.end('up\n'));
    again.listen(port, '127.0.0.1');
    await once(again, 'listening');
    cleanups.push(() => new Promise((r) => again.close(r)));
    await until(() => lines.includes('up'));
  });
});

/** Polls link and socket state (they emit nothing to wait on); `ms` is a hang guard, scaled by SLOWDOWN. */
async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + slow(ms);
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
