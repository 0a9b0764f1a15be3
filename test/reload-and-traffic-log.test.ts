import { writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../src/logger.js';
import { planReload } from '../src/reload.js';
import { messageText, TrafficLog } from '../src/traffic-log.js';
import { parseTestConfig, TestClient } from './support/app.js';
import { RunningCli, runCli, tempDir } from './support/cli.js';
import { runCliInProcess } from './support/cli-in-process.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('planReload', () => {
  const base =
    'sandbox: { console: false }\nnetwork:\n  - { type: ws, port: 0 }\n  - { type: http, port: 0 }\nadmin: { port: 0 }\n';
  it('lists live keys once each and everything else as restart-only', () => {
    const next =
      'sandbox: { console: false }\nlog: { messages: false, level: debug }\nnetwork:\n  - { type: ws, port: 7000, filter: { ".or": [ { a: 1 }, { b: 2 } ] }, actions: { deny: [x] } }\n  - { type: http, port: 0 }\naccounts:\n  - { self_id: 10001, adapter: { type: sandbox }, rate_limit: { messages_per_s: 1 } }\nadmin: { port: 0 }\n';
    expect(planReload(parseTestConfig(base), parseTestConfig(next))).toEqual({
      applied: ['accounts[0].rate_limit', 'network[0].filter', 'network[0].actions', 'log.level', 'log.messages'],
      restart_required: ['network[0].port'],
    });
    expect(planReload(parseTestConfig(base), parseTestConfig(base))).toEqual({ applied: [], restart_required: [] });
  });

  it('a network list of another length is one restart-only change and applies no entry policy', () => {
    const next = 'sandbox: { console: false }\nnetwork:\n  - { type: ws, port: 0, filter: {} }\nadmin: { port: 0 }\n';
    expect(planReload(parseTestConfig(base), parseTestConfig(next))).toEqual({
      applied: [],
      restart_required: ['network'],
    });
  });
});

describe('TrafficLog', () => {
  const capture = (debug = false, info = true) => {
    const lines: string[] = [];
    const logger = {
      info: (m: string) => lines.push(`info ${m}`),
      debug: (m: string) => lines.push(`debug ${m}`),
      isDebugEnabled: () => debug,
      isInfoEnabled: () => info,
    } as unknown as Logger;
    return { lines, logger };
  };

  it('writes message lines like go-cqhttp, truncated to one line; off with log.messages false', () => {
    const { lines, logger } = capture();
    const log = new TrafficLog(logger, true);
    log.event({
      time: 1,
      self_id: 1,
      post_type: 'message',
      message_type: 'group',
      group_id: 30001,
      user_id: 20001,
      message_id: 7,
      message: [{ type: 'text', data: { text: 'hi\nthere' } }],
      sender: { nickname: 'Alice', card: '' },
    });
    log.event({
      time: 1,
      self_id: 1,
      post_type: 'message',
      message_type: 'private',
      user_id: 20002,
      message_id: 8,
      message: 'x'.repeat(150),
      sender: { nickname: 'Bob' },
    });
    log.event({ time: 1, self_id: 1, post_type: 'notice', notice_type: 'group_increase' });
    log.action(
      { action: 'send_group_msg', params: { group_id: 30001, message: 'pong' } },
      { status: 'ok', retcode: 0, data: { message_id: 9 }, message: '', wording: '' },
      'ok',
      1.5,
      { selfId: 1, format: 'array' },
    );
    log.action(
      { action: 'send_msg', params: { message_type: 'private', user_id: 5, message: 'nope' } },
      { status: 'failed', retcode: 100, data: null, message: 'x', wording: '' },
      'failed',
      1,
      { selfId: 1, format: 'array' },
    );
    expect(lines).toEqual([
      'info group 30001 message from Alice(20001): hi\\nthere (id 7)',
      `info private message from Bob(20002): ${'x'.repeat(100)}… (id 8)`,
      'info sent group message to 30001: pong (id 9)',
    ]);
    log.messages = false;
    log.event({
      time: 1,
      self_id: 1,
      post_type: 'message',
      message_type: 'private',
      user_id: 1,
      message_id: 1,
      message: 'quiet',
    });
    expect(lines).toHaveLength(3);
    expect(messageText([{ type: 'face', data: { id: '1' } }])).toBe('[CQ:face,id=1]');
  });

  it('builds no message line when info is off (log.level warn), even with log.messages on', () => {
    const { lines, logger } = capture(false, false);
    const log = new TrafficLog(logger, true);
    log.event({
      time: 1,
      self_id: 1,
      post_type: 'message',
      message_type: 'private',
      user_id: 1,
      message_id: 1,
      message: 'unseen',
    });
    log.action(
      { action: 'send_group_msg', params: { group_id: 30001, message: 'pong' } },
      { status: 'ok', retcode: 0, data: { message_id: 9 }, message: '', wording: '' },
      'ok',
      1.5,
      { selfId: 1, format: 'array' },
    );
    expect(lines).toEqual([]);
  });

  it('logs every action at debug with caller, outcome and time', () => {
    const { lines, logger } = capture(true);
    const log = new TrafficLog(logger, false);
    log.action(
      { action: 'set_group_kick', params: {} },
      { status: 'failed', retcode: 1403, data: null, message: 'refused by network[0]: no', wording: '' },
      'refused',
      0.42,
      { selfId: 1, format: 'array' },
    );
    expect(lines).toEqual([
      'debug action set_group_kick from internal: refused 1403 refused by network[0]: no in 0.4 ms',
    ]);
  });
});

describe('CLI: message log lines and live reload', () => {
  it('logs traffic, reloads policy without dropping the connection, reports restart-only keys, refuses an invalid file', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.cleanup());
    const config = (extra: string, entry = '') =>
      `sandbox: { console: false }\nadmin: { port: 0 }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0${entry} }\n${extra}`;
    const file = tmp.write('onebridge.yaml', config('log: { level: debug }\n'));
    const cli = new RunningCli(['-c', file]);
    cleanups.push(() => cli.kill());
    const { ws, admin } = await cli.ready();
    const adminUrl = `http://127.0.0.1:${admin}`;
    const c = await TestClient.open(`ws://127.0.0.1:${ws[0]}/`);
    cleanups.push(() => c.close());
    await c.next();
    const say = (body: Record<string, unknown>) =>
      fetch(`${adminUrl}/sandbox/messages`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });

    expect(await c.call('get_login_info', {}, 1)).toMatchObject({ status: 'ok' });
    await cli.waitForLog(/^action get_login_info from #\d+ ws: ok in \d+\.\d ms$/);
    await say({ user_id: 20001, group_id: 30001, message: 'hello group' });
    const line = await cli.waitForLog(/^group 30001 message from Alice\(20001\): hello group \(id \d+\)$/);
    expect(line).toMatchObject({ level: 'info', component: 'messages:10001' });
    expect(await c.call('send_group_msg', { group_id: 30001, message: 'pong' }, 2)).toMatchObject({ status: 'ok' });
    await cli.waitForLog(/^sent group message to 30001: pong \(id \d+\)$/);

    // Live reload: a filter, a deny list, message lines off; and a key that needs a restart.
    writeFileSync(
      file,
      config(
        'log: { level: debug, messages: false }\nshutdown: { grace_ms: 1234 }\n',
        ', filter: { message_type: private }, actions: { deny: ["set_*"] }',
      ),
    );
    const out = await runCli(['reload', '--admin', adminUrl], { timeoutMs: 60_000 });
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(
      'applied: network[0].filter, network[0].actions, log.messages\nneeds a restart (not applied): shutdown.grace_ms\n',
    );
    await cli.waitForLog(
      /^reload: applied network\[0\].filter, network\[0\].actions, log.messages; needs a restart \(not applied\): shutdown.grace_ms$/,
    );
    expect(await c.call('set_group_kick', { group_id: 30001, user_id: 20003 }, 3)).toMatchObject({ retcode: 1403 });
    await say({ user_id: 20001, group_id: 30001, message: 'filtered now' });
    await say({ user_id: 20002, message: 'private passes' });
    expect(await c.nextWhere((f) => f['post_type'] === 'message')).toMatchObject({ raw_message: 'hello group' });
    expect(await c.nextWhere((f) => f['post_type'] === 'message')).toMatchObject({ raw_message: 'private passes' });
    expect(cli.logs.some((l) => /private passes/.test(l.message))).toBe(false);
    expect(c.ws.readyState).toBe(c.ws.OPEN);

    // An invalid file: refused with the reason, nothing changes.
    writeFileSync(file, config('', ', filter: { raw_message: { ".regex": "(" } }'));
    // The refusal's message, in process: the reload above is the real-CLI run, and a refusal
    // ends through the same fail() as every command error, checked in a real process in
    // cli-commands.
    const bad = await runCliInProcess(['reload', '--admin', adminUrl]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /reload refused, nothing changed: .*\n {2}network\[0\]\.filter\.raw_message\[".regex"\]: invalid filter: invalid regular expression/,
    );
    expect(await c.call('set_group_kick', { group_id: 30001, user_id: 20003 }, 4)).toMatchObject({ retcode: 1403 });
    await say({ user_id: 20002, message: 'still private' });
    expect(await c.nextWhere((f) => f['post_type'] === 'message')).toMatchObject({ raw_message: 'still private' });
    // POST /reload directly, with nothing changed since the last good reload but the bad file fixed back.
    writeFileSync(
      file,
      config(
        'log: { level: debug, messages: false }\nshutdown: { grace_ms: 1234 }\n',
        ', filter: { message_type: private }, actions: { deny: ["set_*"] }',
      ),
    );
    // Like every admin POST it needs a JSON content type (no cross-site form can trigger it).
    expect((await fetch(`${adminUrl}/reload`, { method: 'POST' })).status).toBe(406);
    const again = await fetch(`${adminUrl}/reload`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(await again.json()).toEqual({ ok: true, applied: [], restart_required: ['shutdown.grace_ms'] });
  });
});
