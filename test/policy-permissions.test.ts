import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import type { App } from '../src/app.js';
import type { Logger } from '../src/logger.js';
import { NetworkPolicy, REFUSED_RETCODE } from '../src/policy/network-policy.js';
import { baseAction, Permissions, sendTarget } from '../src/policy/permissions.js';
import type { HttpServer } from '../src/transport/http-server.js';
import { appFixture } from './support/app-fixture.js';
import { TestClient, until, wsPort } from './support/app.js';
import { Framework } from './support/framework.js';
import { stubUpstream } from './support/stub-upstream.js';

const { cleanups, app } = appFixture();

async function client(a: App, index = 0, path = '/api'): Promise<TestClient> {
  const c = await TestClient.open(`ws://127.0.0.1:${wsPort(a, index)}${path}`);
  cleanups.push(() => c.close());
  return c;
}

/** Messages the sandbox world saw bots send since `since` (no wait). */
async function botMessages(a: App, since = 0): Promise<Array<Record<string, unknown>>> {
  const res = await fetch(`${a.admin!.url}/sandbox/messages?since=${since}&timeout_ms=0`);
  return ((await res.json()) as { messages: Array<Record<string, unknown>> }).messages;
}

describe('Permissions', () => {
  it('allow and deny take * wildcards; deny wins; suffixes are matched by their base name', () => {
    const p = new Permissions({ allow: ['get_*', 'send_*'], deny: ['get_group_*', 'send_msg'] });
    expect(p.check({ action: 'get_login_info', params: {} })).toBeUndefined();
    expect(p.check({ action: 'set_group_kick', params: {} })).toBe('set_group_kick is not in actions.allow');
    expect(p.check({ action: 'get_group_list', params: {} })).toBe(
      'get_group_list is denied (actions.deny "get_group_*")',
    );
    expect(p.check({ action: 'send_msg_async', params: {} })).toMatch(/denied \(actions.deny "send_msg"\)/);
    expect(p.check({ action: 'send_msg_rate_limited', params: {} })).toMatch(/denied/);
    expect(p.check({ action: 'send_group_msg_async', params: {} })).toBeUndefined();
    // Hidden actions are names like any other: `*` allows them, a narrower list does not.
    expect(p.check({ action: '.handle_quick_operation', params: {} })).toMatch(/not in actions.allow/);
    expect(new Permissions({ deny: ['.handle_*'] }).check({ action: '.handle_quick_operation', params: {} })).toMatch(
      /denied/,
    );
    expect(new Permissions({}).check({ action: 'anything_at_all', params: {} })).toBeUndefined();
    expect(baseAction('_async')).toBe('_async');
  });

  it('send_to scopes the send family by target; an omitted list stays open, [] closes it', () => {
    const p = new Permissions({ send_to: { groups: [30001, '30002'], users: [] } });
    expect(p.check({ action: 'send_group_msg', params: { group_id: 30001 } })).toBeUndefined();
    expect(p.check({ action: 'send_group_msg', params: { group_id: '30002' } })).toBeUndefined();
    expect(p.check({ action: 'send_group_msg', params: { group_id: 9 } })).toBe(
      'group 9 is outside actions.send_to.groups',
    );
    expect(p.check({ action: 'send_private_msg', params: { user_id: 20001 } })).toBe(
      'user 20001 is outside actions.send_to.users',
    );
    expect(p.check({ action: 'send_msg', params: { message_type: 'group', group_id: 9 } })).toMatch(/group 9/);
    expect(p.check({ action: 'send_group_forward_msg_async', params: { group_id: 9 } })).toMatch(/group 9/);
    expect(p.check({ action: 'send_forward_msg', params: { user_id: 1 } })).toMatch(/user 1/);
    expect(p.check({ action: 'send_msg', params: {} })).toMatch(/names no valid group_id or user_id/);
    expect(p.check({ action: 'send_group_msg', params: { group_id: { id: 30001 } } })).toMatch(/names no valid/);
    // Without message_type implementations disagree on which id wins: both must be in scope.
    expect(p.check({ action: 'send_msg', params: { group_id: 30001, user_id: 20001 } })).toBe(
      'user 20001 is outside actions.send_to.users',
    );
    expect(p.check({ action: 'send_forward_msg', params: { group_id: 30001, user_id: 20001 } })).toMatch(/user 20001/);
    expect(
      new Permissions({ send_to: { groups: [30001], users: [20001] } }).check({
        action: 'send_msg',
        params: { group_id: 30001, user_id: 20001 },
      }),
    ).toBeUndefined();
    expect(p.check({ action: 'delete_msg', params: {} })).toBeUndefined();
    const groupsOnly = new Permissions({ send_to: { groups: [1] } });
    expect(groupsOnly.check({ action: 'send_private_msg', params: { user_id: 5 } })).toBeUndefined();
    expect(sendTarget('send_msg', { group_id: 3 })).toEqual({ kind: 'group', id: '3' });
    expect(sendTarget('send_msg', { user_id: 4 })).toEqual({ kind: 'user', id: '4' });
  });
});

const POLICY = `actions: { allow: ["get_*", "send_*", ".handle_quick_operation"], deny: [get_group_member_list], send_to: { groups: [30001], users: [] } }`;

describe('NetworkPolicy refusals', () => {
  it('are logged at most once per 10 s per entry; the next line counts the ones not logged', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    try {
      const lines: string[] = [];
      const logger = { warn: (m: string) => lines.push(m) } as unknown as Logger;
      const policy = new NetworkPolicy('network[3]', { actions: { deny: ['set_*'] } }, logger);
      const req = { action: 'set_group_kick', params: {}, echo: 1 };
      for (let i = 0; i < 50; i++)
        expect(policy.refuse(req, policy.check(req)!)).toMatchObject({ status: 'failed', retcode: 1403, echo: 1 });
      expect(lines).toEqual(['network[3]: refused set_group_kick: set_group_kick is denied (actions.deny "set_*")']);
      vi.advanceTimersByTime(10_000);
      policy.refuse(req, 'again');
      expect(lines[1]).toBe('network[3]: refused set_group_kick: again (49 more refused since the last line)');
      expect(policy.counts.refused).toBe(51);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('action permissions end to end', () => {
  it('forward WS and HTTP API: refused actions answer failed/1403 with their echo, are counted per connection, and never run', async () => {
    const a = await app(
      `admin: { port: 0 }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0, ${POLICY} }\n  - { type: http, port: 0, ${POLICY} }\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n`,
    );
    const c = await client(a);
    expect(await c.call('get_login_info', {}, 1)).toMatchObject({ status: 'ok', echo: 1 });
    expect(await c.call('set_group_kick', { group_id: 30001, user_id: 20003 }, { e: 2 })).toMatchObject({
      status: 'failed',
      retcode: REFUSED_RETCODE,
      echo: { e: 2 },
      message: 'refused by network[0]: set_group_kick is not in actions.allow',
    });
    expect(await c.call('get_group_member_list', { group_id: 30001 }, 3)).toMatchObject({
      status: 'failed',
      retcode: 1403,
      echo: 3,
    });
    expect(await c.call('send_group_msg', { group_id: 30001, message: 'allowed' }, 4)).toMatchObject({
      status: 'ok',
      echo: 4,
    });
    expect(await c.call('send_private_msg', { user_id: 20001, message: 'not allowed' }, 5)).toMatchObject({
      retcode: 1403,
      message: expect.stringContaining('user 20001 is outside actions.send_to.users'),
    });
    expect(
      await c.call('send_msg_async', { message_type: 'private', user_id: 20001, message: 'not allowed' }, 6),
    ).toMatchObject({ status: 'failed', retcode: 1403, echo: 6 });
    // The sandbox's forward-message extensions are in the send family too.
    const nodes = [{ type: 'node', data: { user_id: 20001, nickname: 'Alice', content: 'forwarded' } }];
    expect(await c.call('send_group_forward_msg', { group_id: 30001, messages: nodes }, 'f1')).toMatchObject({
      status: 'ok',
    });
    expect(await c.call('send_private_forward_msg', { user_id: 20001, messages: nodes }, 'f2')).toMatchObject({
      retcode: 1403,
    });
    // send_msg without message_type: the sandbox (like go-cqhttp) would pick user_id, so the user scope applies.
    expect(
      await c.call('send_msg', { group_id: 30001, user_id: 20001, message: 'not allowed either' }, 'f3'),
    ).toMatchObject({ retcode: 1403 });
    // A quick operation is checked step by step: its reply goes through send_msg.
    const context = {
      post_type: 'message',
      message_type: 'private',
      user_id: 20002,
      message_id: 1,
      self_id: 10001,
      time: 1,
    };
    expect(await c.call('.handle_quick_operation', { context, operation: { reply: 'no' } }, 7)).toMatchObject({
      status: 'failed',
      retcode: 1403,
      echo: 7,
      message: expect.stringContaining('send_msg'),
    });
    const texts = (await botMessages(a)).map((m) => m['text'] ?? m['message']);
    expect(JSON.stringify(texts)).toContain('allowed');
    expect(JSON.stringify(texts)).not.toContain('not allowed');
    expect(JSON.stringify(texts)).not.toContain('"no"');
    // The kick never ran: Carol is still a member.
    expect(await c.call('get_group_member_info', { group_id: 30001, user_id: 20003 }, 8)).toMatchObject({
      status: 'ok',
    });

    const port = (a.transports[1] as HttpServer).port;
    const http = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ action: 'set_group_ban', params: { group_id: 30001, user_id: 20003 }, echo: 'h' }),
    });
    expect(http.status).toBe(200);
    expect(await http.json()).toMatchObject({ status: 'failed', retcode: 1403, echo: 'h' });

    // Another entry without a policy is not affected.
    const free = await client(a, 2);
    expect(await free.call('get_group_member_list', { group_id: 30001 }, 9)).toMatchObject({ status: 'ok' });

    const conns = (
      (await (await fetch(`${a.admin!.url}/connections`)).json()) as { connections: Array<Record<string, unknown>> }
    ).connections;
    expect(
      conns.find((x) => x['transport'] === 'ws' && x['endpoint'] === `ws://127.0.0.1:${wsPort(a, 0)}`),
    ).toMatchObject({ actions_refused: 7 });
    expect(conns.find((x) => x['transport'] === 'http')).toMatchObject({ actions_refused: 1 });
    expect(conns.find((x) => x['endpoint'] === `ws://127.0.0.1:${wsPort(a, 2)}`)!['actions_refused']).toBeUndefined();
    expect(a.policies.get('network[0]')!.counts.refused).toBe(7);
  });

  it('a refused name answers 1403 whether the action exists or not, on the HTTP API as on WS', async () => {
    const deny = `actions: { deny: ["secret_*", set_group_kick] }`;
    const allow = `actions: { allow: ["get_*"] }`;
    const a = await app(
      `network:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0, ${deny} }\n  - { type: http, port: 0, ${deny} }\n` +
        `  - { type: ws, port: 0, heartbeat_interval_ms: 0, ${allow} }\n  - { type: http, port: 0, ${allow} }\n`,
    );
    const get = async (index: number, action: string) => {
      const res = await fetch(`http://127.0.0.1:${(a.transports[index] as HttpServer).port}/${action}`);
      return { http: res.status, ...((await res.json()) as Record<string, unknown>) };
    };
    // A deny list: an existing and a missing name it covers read the same; others are looked up.
    const ws = await client(a, 0, '/');
    expect(await ws.call('set_group_kick', {}, 'k')).toMatchObject({
      status: 'failed',
      retcode: 1403,
      echo: 'k',
      message: 'refused by network[0]: set_group_kick is denied (actions.deny "set_group_kick")',
    });
    expect(await ws.call('secret_probe', {}, 's')).toMatchObject({
      status: 'failed',
      retcode: 1403,
      echo: 's',
      message: 'refused by network[0]: secret_probe is denied (actions.deny "secret_*")',
    });
    expect(await ws.call('no_such_action', {}, 2)).toMatchObject({ retcode: 1404 });
    expect(await get(1, 'set_group_kick')).toMatchObject({ http: 200, retcode: 1403 });
    expect(await get(1, 'secret_probe')).toMatchObject({
      http: 200,
      status: 'failed',
      retcode: 1403,
      message: expect.stringContaining('secret_probe is denied (actions.deny "secret_*")'),
    });
    expect(await get(1, 'no_such_action')).toMatchObject({ http: 404, retcode: 1404 });
    // An allow list: a name outside it is refused, existing or not; an allowed missing name is a 404.
    const ws2 = await client(a, 2, '/');
    expect(await ws2.call('nope', {}, 3)).toMatchObject({
      retcode: 1403,
      message: expect.stringMatching(/not in actions.allow/),
    });
    expect(await ws2.call('get_nope', {}, 4)).toMatchObject({ retcode: 1404 });
    expect(await get(3, 'nope')).toMatchObject({
      http: 200,
      retcode: 1403,
      message: expect.stringMatching(/not in actions.allow/),
    });
    expect(await get(3, 'set_group_kick')).toMatchObject({ http: 200, retcode: 1403 });
    expect(await get(3, 'get_nope')).toMatchObject({ http: 404, retcode: 1404, message: 'unknown action: get_nope' });
    // Refusals on the HTTP API are counted like any other.
    expect(a.policies.get('network[1]')!.counts.refused).toBe(2);
    expect(a.policies.get('network[3]')!.counts.refused).toBe(2);
  });

  it('reverse WS and webhook quick operations go through the same check', async () => {
    const f = await Framework.start();
    cleanups.push(() => f.close());
    const hook: Server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ reply: 'quick reply', kick: true }));
      });
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    cleanups.push(() => new Promise((r) => hook.close(r)));
    const a = await app(
      `admin: { port: 0 }\nnetwork:\n  - { type: ws-reverse, url: "${f.url()}", heartbeat_interval_ms: 0, actions: { deny: ["set_*"] } }\n  - { type: http-post, url: "http://127.0.0.1:${(hook.address() as { port: number }).port}/", actions: { deny: [set_group_kick], send_to: { groups: [] } } }\n`,
    );
    const rev = await f.connection(0);
    rev.ws.send(JSON.stringify({ action: 'set_group_whole_ban', params: { group_id: 30001 }, echo: 'r' }));
    await f.until(() => rev.frames.find((x) => x['echo'] === 'r'));
    expect(rev.frames.find((x) => x['echo'] === 'r')).toMatchObject({ status: 'failed', retcode: 1403 });
    // A group message makes the webhook answer with a reply and a kick: both refused.
    await fetch(`${a.admin!.url}/sandbox/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user_id: 20003, group_id: 30001, message: 'hi' }),
    });
    await until(() => a.policies.get('network[1]')!.counts.refused === 2, 3000, 'quick operation refusals');
    expect((await botMessages(a)).length).toBe(0);
    expect(a.registry.list().find((x) => x.transport === 'http-post')!.actionsRefused).toBe(2);
  });

  it('relay: refused actions never reach the upstream; allowed ones, extensions included, are forwarded', async () => {
    const seen: string[] = [];
    const up = await stubUpstream<{ action: string; echo: unknown }>(cleanups, {
      lifecycle: false,
      answer: (frame, ws) => {
        seen.push(frame.action);
        ws.send(JSON.stringify({ status: 'ok', retcode: 0, data: { message_id: 1 }, echo: frame.echo }));
      },
    });
    const a = await app(
      `accounts:\n  - self_id: 10001\n    adapter: { type: relay, upstream: { mode: ws, url: "${up.url('/')}" } }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0, actions: { allow: ["send_*", "get_*", "napcat_*"], send_to: { groups: [1] } } }\n`,
    );
    await until(() => a.accounts.get(10001)!.status().good, 3000, 'upstream link');
    const c = await client(a);
    expect(await c.call('set_group_kick', { group_id: 1, user_id: 2 }, 1)).toMatchObject({ retcode: 1403 });
    expect(await c.call('unknown_extension', {}, 2)).toMatchObject({ retcode: 1403 });
    expect(await c.call('send_group_msg', { group_id: 2, message: 'x' }, 3)).toMatchObject({ retcode: 1403 });
    expect(await c.call('send_group_forward_msg', { group_id: 2, messages: [] }, 4)).toMatchObject({ retcode: 1403 });
    expect(await c.call('send_group_msg', { group_id: 1, message: 'x' }, 5)).toMatchObject({ status: 'ok' });
    expect(await c.call('napcat_thing', {}, 6)).toMatchObject({ status: 'ok' });
    expect(seen.filter((x) => x !== 'get_login_info')).toEqual(['send_group_msg', 'napcat_thing']);
  });
});
