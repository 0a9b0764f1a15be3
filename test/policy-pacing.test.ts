import { afterEach, describe, expect, it, vi } from 'vitest';
import type { App } from '../src/app.js';
import { formatSendQueues } from '../src/commands/status.js';
import { PacerClosedError, PacerFullError, SendPacer } from '../src/policy/send-pacer.js';
import { appFixture } from './support/app-fixture.js';
import { parseTestConfig, startApp, TestClient, until, wsPort } from './support/app.js';
import { slow } from './support/slow.js';
import { stubUpstream } from './support/stub-upstream.js';

// Before the fixture: after-hooks run in reverse, so real timers come back after its teardown.
afterEach(() => void vi.useRealTimers());
const { cleanups, app } = appFixture();

async function client(a: App, index = 0): Promise<TestClient> {
  const c = await TestClient.open(`ws://127.0.0.1:${wsPort(a, index)}/api`);
  cleanups.push(() => c.close());
  return c;
}

describe('SendPacer (token bucket)', () => {
  it('lets a burst through, then one per interval in arrival order; a full queue refuses at once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const pacer = new SendPacer({ messages_per_s: 10, burst: 2, max_queue: 3 });
    const done: number[] = [];
    const waits = [0, 1, 2, 3, 4].map((i) => pacer.acquire().then(() => done.push(i)));
    await Promise.resolve();
    expect(done).toEqual([0, 1]);
    expect(pacer.depth).toBe(3);
    await expect(pacer.acquire()).rejects.toBeInstanceOf(PacerFullError);
    expect(pacer.hasRoom).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(done).toEqual([0, 1, 2]);
    await vi.advanceTimersByTimeAsync(200);
    expect(done).toEqual([0, 1, 2, 3, 4]);
    await Promise.all(waits);
    expect(pacer.depth).toBe(0);
    // Quiet for a while: the bucket refills to burst, not beyond.
    await vi.advanceTimersByTimeAsync(10_000);
    await pacer.acquire();
    await pacer.acquire();
    expect(pacer.hasRoom).toBe(true);
    const third = pacer.acquire();
    expect(pacer.depth).toBe(1);
    pacer.close();
    pacer.close();
    await expect(third).rejects.toBeInstanceOf(PacerClosedError);
    await expect(pacer.acquire()).rejects.toBeInstanceOf(PacerClosedError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('configure() changes the rate live and keeps the queue in order', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const pacer = new SendPacer({ messages_per_s: 0.01, burst: 1, max_queue: 10 });
    const done: number[] = [];
    const all = [0, 1, 2].map((i) => pacer.acquire().then(() => done.push(i)));
    await Promise.resolve();
    expect(done).toEqual([0]);
    pacer.configure({ messages_per_s: 1000, burst: 1, max_queue: 10 });
    await vi.advanceTimersByTimeAsync(5);
    await Promise.all(all);
    expect(done).toEqual([0, 1, 2]);
  });
});

const PACED = (rate: number, queue: number) =>
  `accounts:\n  - self_id: 10001\n    adapter: { type: sandbox }\n    rate_limit: { messages_per_s: ${rate}, burst: 1, max_queue: ${queue} }\n`;

describe('send pacing end to end', () => {
  it('queued sends answer when sent, in order; a full queue answers 1429 at once; depth in /connections and /status', async () => {
    // One send a second, or slower on a slow machine (emulated arm64: one per 4 s), so that the
    // queue is still full while the checks below read it.
    const perSendMs = Math.min(slow(1000), 4000);
    const a = await app(
      `${PACED(1000 / perSendMs, 2)}admin: { port: 0 }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n`,
    );
    const c = await client(a);
    const t0 = performance.now();
    const calls = [1, 2, 3].map((i) =>
      c.call('send_group_msg', { group_id: 30001, message: `m${i}` }, i, 3 * perSendMs + 5000),
    );
    // Awaited below; observed now so that a failure before then is not also an unhandled rejection.
    for (const call of calls) call.catch(() => {});
    const refused = await c.call('send_group_msg', { group_id: 30001, message: 'm4' }, 4);
    expect(refused).toMatchObject({ status: 'failed', retcode: 1429, echo: 4 });
    // The refusal came before the queued ones were answered.
    expect(c.frames.filter((f) => 'retcode' in f).map((f) => f['echo'])).not.toContain(2);
    expect(c.frames.filter((f) => 'retcode' in f).map((f) => f['echo'])).not.toContain(3);
    const conns = (await (await fetch(`${a.admin!.url}/connections`)).json()) as {
      send_queues: Record<string, number>;
    };
    expect(conns.send_queues).toEqual({ 10001: 2 });
    expect(
      ((await (await fetch(`${a.admin!.url}/status`)).json()) as { accounts: Array<Record<string, unknown>> })
        .accounts[0],
    ).toMatchObject({ send_queue: 2 });
    expect(formatSendQueues(conns.send_queues)).toBe('send queue (rate_limit): account 10001: 2 waiting\n');
    const answers = await Promise.all(calls);
    expect(answers.map((r) => r['status'])).toEqual(['ok', 'ok', 'ok']);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2 * perSendMs - 100);
    const world = (await (await fetch(`${a.admin!.url}/sandbox/messages?since=0&timeout_ms=0`)).json()) as {
      messages: Array<Record<string, unknown>>;
    };
    expect(JSON.stringify(world.messages.map((m) => m['message']))).toMatch(/m1.*m2.*m3/);
    expect(JSON.stringify(world.messages)).not.toContain('m4');
    // Other actions are never paced.
    expect(await c.call('get_login_info', {}, 5)).toMatchObject({ status: 'ok' });
  });

  it('_async answers at once and sends in turn, or 1429 when the queue is full; _rate_limited sends are paced too', async () => {
    const a = await app(
      `${PACED(3, 1)}admin: { port: 0 }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n`,
    );
    const c = await client(a);
    const first = c.call('send_group_msg', { group_id: 30001, message: 'now' }, 1);
    expect(await c.call('send_group_msg_async', { group_id: 30001, message: 'queued async' }, 2)).toMatchObject({
      status: 'async',
      retcode: 1,
    });
    expect(await c.call('send_group_msg_async', { group_id: 30001, message: 'no room' }, 3)).toMatchObject({
      status: 'failed',
      retcode: 1429,
    });
    await first;
    await until(() => a.accounts.get(10001)!.router.sendQueue === 0);
    expect(await c.call('send_group_msg_rate_limited', { group_id: 30001, message: 'rate limited' }, 4)).toMatchObject({
      status: 'async',
    });
    let texts = '';
    for (
      const deadline = Date.now() + slow(3000);
      !texts.includes('rate limited') && Date.now() < deadline;
      await new Promise((r) => setTimeout(r, 20))
    ) {
      const w = (await (await fetch(`${a.admin!.url}/sandbox/messages?since=0&timeout_ms=0`)).json()) as {
        messages: unknown[];
      };
      texts = JSON.stringify(w.messages);
    }
    expect(texts).toMatch(/now.*queued async.*rate limited/);
    expect(texts).not.toContain('no room');
  });

  it('shutdown answers queued sends with a failure before the close frame, within grace (no client cut)', async () => {
    const a = await startApp(
      `${PACED(0.1, 10)}shutdown: { grace_ms: ${slow(2000)} }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n`,
    );
    const c = await client(a);
    expect(await c.call('send_group_msg', { group_id: 30001, message: 'sent' }, 1)).toMatchObject({ status: 'ok' });
    const queued = [2, 3].map((i) => c.call('send_group_msg', { group_id: 30001, message: `q${i}` }, i, 5000));
    await until(() => a.accounts.get(10001)!.router.sendQueue === 2);
    const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)));
    const summary = await a.stop();
    expect(await Promise.all(queued)).toEqual([
      expect.objectContaining({
        status: 'failed',
        retcode: 1500,
        echo: 2,
        message: expect.stringMatching(/shutting down/),
      }),
      expect.objectContaining({ status: 'failed', echo: 3 }),
    ]);
    expect(await closed).toBe(1001);
    expect(summary.terminated).toBe(0);
    expect(summary.elapsedMs).toBeLessThan(slow(2000));
  });

  it('relay: forwarded sends are paced before they go upstream', async () => {
    const at: number[] = [];
    const up = await stubUpstream<{ action: string; echo: unknown }>(cleanups, {
      lifecycle: false,
      answer: (frame, ws) => {
        if (frame.action.startsWith('send_')) at.push(performance.now());
        ws.send(JSON.stringify({ status: 'ok', retcode: 0, data: { message_id: 1 }, echo: frame.echo }));
      },
    });
    const a = await app(
      `accounts:\n  - self_id: 10001\n    adapter: { type: relay, upstream: { mode: ws, url: "${up.url('/')}" } }\n    rate_limit: { messages_per_s: 10, burst: 1, max_queue: 5 }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n`,
    );
    await until(() => a.accounts.get(10001)!.status().good, 3000, 'upstream link');
    const c = await client(a);
    const answers = await Promise.all(
      [1, 2, 3, 4, 5].map((i) => c.call('send_msg', { message_type: 'group', group_id: 1, message: 'x' }, i, 5000)),
    );
    expect(answers.every((r) => r['status'] === 'ok')).toBe(true);
    expect(at).toHaveLength(5);
    // 10/s with a burst of 1: 400 ms from the first to the fifth, less the scheduling delay with which
    // the stub (same event loop) may see the first one late; unpaced, all five arrive within a few ms.
    expect(at[4]! - at[0]!).toBeGreaterThanOrEqual(400 - slow(20));
  });
});

describe('send pacing on live reload', () => {
  it('App.reload turns pacing on, changes it and turns it off without dropping queued sends', async () => {
    const a = await app('network:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n');
    const c = await client(a);
    const paced = (rate: number) =>
      parseTestConfig(
        `sandbox: { console: false }\n${PACED(rate, 5)}network:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n`,
      );
    expect(a.reload(paced(0.01))).toEqual({ applied: ['accounts[0].rate_limit'], restart_required: [] });
    expect(await c.call('send_group_msg', { group_id: 30001, message: 'a' }, 1)).toMatchObject({ status: 'ok' });
    const queued = c.call('send_group_msg', { group_id: 30001, message: 'b' }, 2, 5000);
    await until(() => a.accounts.get(10001)!.router.sendQueue === 1);
    // Off again: the queued send goes now, in order.
    expect(
      a.reload(
        parseTestConfig('sandbox: { console: false }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n'),
      ).applied,
    ).toEqual(['accounts[0].rate_limit']);
    expect(await queued).toMatchObject({ status: 'ok', echo: 2 });
    expect(a.accounts.get(10001)!.router.pacing).toBeUndefined();
  });
});
