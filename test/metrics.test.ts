import { describe, expect, it } from 'vitest';
import { Metrics } from '../src/metrics.js';
import { ConnectionRegistry } from '../src/registry.js';
import { getLogger } from '../src/logger.js';
import { appFixture } from './support/app-fixture.js';
import { TestClient, until, wsPort } from './support/app.js';
import { freePort } from './support/framework.js';

const { cleanups, app } = appFixture();

/** The value of one series, `name{a="b",…}`, labels in any order; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('GET /metrics', () => {
  it('is token-protected and, after real traffic, reports connections, events, actions, refusals, queues and process metrics', async () => {
    const deadPort = await freePort();
    const a = await app(
      [
        'admin: { port: 0, access_token: adm }',
        // The dead webhook target never takes the `disable` event: do not wait the default grace.
        'shutdown: { grace_ms: 100 }',
        'accounts:',
        '  - { self_id: 10001, adapter: { type: sandbox }, rate_limit: { messages_per_s: 1000, burst: 10 } }',
        'network:',
        '  - { type: ws, port: 0, heartbeat_interval_ms: 0, filter: { message_type: group } }',
        '  - { type: ws, port: 0, heartbeat_interval_ms: 0, actions: { deny: ["set_*"] } }',
        `  - { type: ws-reverse, url: "ws://127.0.0.1:${deadPort}/", heartbeat_interval_ms: 0, reconnect: { initial_ms: 20, max_ms: 40 } }`,
        `  - { type: http-post, url: "http://127.0.0.1:${deadPort}/", retries: { max: 100, initial_ms: 20 } }`,
        '',
      ].join('\n'),
    );
    const events = await TestClient.open(`ws://127.0.0.1:${wsPort(a, 0)}/event`);
    const api = await TestClient.open(`ws://127.0.0.1:${wsPort(a, 1)}/api`);
    cleanups.push(
      () => events.close(),
      () => api.close(),
    );
    const say = (body: Record<string, unknown>) =>
      fetch(`${a.admin!.url}/sandbox/messages`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer adm' },
        body: JSON.stringify(body),
      });
    await say({ user_id: 20001, group_id: 30001, message: 'one' });
    await say({ user_id: 20002, group_id: 30001, message: 'two' });
    await say({ user_id: 20003, message: 'private' });
    await until(() => events.frames.filter((f) => f['post_type'] === 'message').length === 2);
    expect(await api.call('get_login_info', {}, 1)).toMatchObject({ status: 'ok' });
    expect(await api.call('get_login_info', {}, 2)).toMatchObject({ status: 'ok' });
    expect(await api.call('send_group_msg', { group_id: 30001, message: 'hi' }, 3)).toMatchObject({ status: 'ok' });
    expect(await api.call('set_group_kick', { group_id: 30001, user_id: 20003 }, 4)).toMatchObject({ retcode: 1403 });
    expect(await api.call('no_such_action', {}, 5)).toMatchObject({ retcode: 1404 });
    // The dead reverse WS target and webhook have retried at least twice by now.
    await until(() => a.registry.list().every((c) => !c.link || c.link.reconnects >= 2), 5000, 'retries'); // until() scales with SLOWDOWN

    expect((await fetch(`${a.admin!.url}/metrics`)).status).toBe(401);
    const res = await fetch(`${a.admin!.url}/metrics`, { headers: { Authorization: 'Bearer adm' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();

    expect(sample(text, 'onebridge_connections', { transport: 'ws', role: 'event' })).toBe(1);
    expect(sample(text, 'onebridge_connections', { transport: 'ws', role: 'api' })).toBe(1);
    expect(sample(text, 'onebridge_events_emitted_total', { self_id: '10001' })).toBe(3);
    expect(sample(text, 'onebridge_events_filtered_total', { network: 'network[0]' })).toBe(1);
    expect(sample(text, 'onebridge_events_delivered_total', { network: 'network[0]' })).toBe(2);
    expect(sample(text, 'onebridge_events_filtered_total', { network: 'network[1]' })).toBe(0);
    expect(sample(text, 'onebridge_actions_total', { action: 'get_login_info', outcome: 'ok' })).toBe(2);
    expect(sample(text, 'onebridge_actions_total', { action: 'send_group_msg', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'onebridge_actions_total', { action: 'set_group_kick', outcome: 'refused' })).toBe(1);
    expect(sample(text, 'onebridge_actions_total', { action: 'unknown', outcome: 'failed' })).toBe(1);
    expect(sample(text, 'onebridge_action_duration_seconds_count', { action: 'get_login_info', outcome: 'ok' })).toBe(
      2,
    );
    expect(
      sample(text, 'onebridge_action_duration_seconds_bucket', { action: 'get_login_info', outcome: 'ok', le: '+Inf' }),
    ).toBe(2);
    expect(sample(text, 'onebridge_actions_refused_total', { network: 'network[1]' })).toBe(1);
    expect(sample(text, 'onebridge_reconnects_total', { transport: 'ws-reverse' })).toBeGreaterThanOrEqual(2);
    // Held: the 3 message events (the reverse link has no filter) wait for the framework.
    expect(sample(text, 'onebridge_events_held')).toBe(3);
    expect(
      sample(text, 'onebridge_webhook_retries_total', { url: `http://127.0.0.1:${deadPort}/` }),
    ).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'onebridge_webhook_queue', { url: `http://127.0.0.1:${deadPort}/` })).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'onebridge_send_queue', { self_id: '10001' })).toBe(0);
    expect(
      sample(text, 'onebridge_process_resident_memory_bytes') ?? sample(text, 'onebridge_nodejs_heap_size_used_bytes'),
    ).toBeGreaterThan(0);
    expect(text).toContain('# HELP onebridge_events_dropped_total');
  });

  it('counts what happens before prom-client is loaded (the app loads it only after ready)', async () => {
    const metrics = new Metrics({
      registry: new ConnectionRegistry(getLogger('test')),
      accounts: () => [],
      policies: () => [],
    });
    metrics.eventEmitted(10001);
    metrics.eventEmitted(10001);
    metrics.action('get_status', true, 'ok', 2);
    const text = await metrics.scrape();
    expect(sample(text, 'onebridge_events_emitted_total', { self_id: '10001' })).toBe(2);
    expect(sample(text, 'onebridge_actions_total', { action: 'get_status', outcome: 'ok' })).toBe(1);
    metrics.eventEmitted(10001);
    expect(sample(await metrics.scrape(), 'onebridge_events_emitted_total', { self_id: '10001' })).toBe(3);
    metrics.close();
    metrics.close();
  });

  it('without admin there is no Metrics instance: prom-client is never imported', async () => {
    const a = await app('network:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n');
    expect(a.metrics).toBeUndefined();
  });
});
