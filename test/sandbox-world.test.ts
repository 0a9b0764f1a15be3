import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { closeClientsAndStop, startApp, TestClient, wsPort } from './support/app.js';

let app: App | undefined;
const clients: TestClient[] = [];
afterEach(async () => (app = await closeClientsAndStop(clients, app)));

async function bot(extra = ''): Promise<TestClient> {
  app = await startApp(`network:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\nadmin: { port: 0 }\n${extra}`);
  const c = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/`);
  clients.push(c);
  await c.next();
  return c;
}

async function userSays(
  userId: number,
  message: string,
  groupId?: number,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${app!.admin!.url}/sandbox/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: userId, group_id: groupId, message }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const notice = (c: TestClient, type: string) => c.nextWhere((f) => f['notice_type'] === type);

describe('group management end to end over forward WS', () => {
  it('ban -> group_ban notice -> muted -> unban -> kick -> group_decrease -> member list updated', async () => {
    const c = await bot();
    expect(await c.call('set_group_ban', { group_id: 30001, user_id: 20003, duration: 600 })).toMatchObject({
      status: 'ok',
    });
    expect(await notice(c, 'group_ban')).toMatchObject({
      post_type: 'notice',
      self_id: 10001,
      sub_type: 'ban',
      group_id: 30001,
      user_id: 20003,
      operator_id: 10001,
      duration: 600,
    });
    // A muted member cannot speak.
    expect(await userSays(20003, 'can I talk?', 30001)).toEqual({
      status: 400,
      body: { error: expect.stringMatching(/^Carol is muted in group 30001/) },
    });

    await c.call('set_group_ban', { group_id: 30001, user_id: 20003, duration: 0 });
    expect(await notice(c, 'group_ban')).toMatchObject({ sub_type: 'lift_ban', user_id: 20003, duration: 0 });
    expect((await userSays(20003, 'thanks', 30001)).status).toBe(200);
    expect(await c.nextWhere((f) => f['post_type'] === 'message')).toMatchObject({
      user_id: 20003,
      raw_message: 'thanks',
    });

    expect(await c.call('set_group_kick', { group_id: 30001, user_id: 20003 })).toMatchObject({ status: 'ok' });
    expect(await notice(c, 'group_decrease')).toMatchObject({
      sub_type: 'kick',
      group_id: 30001,
      user_id: 20003,
      operator_id: 10001,
    });
    const members = (await c.call('get_group_member_list', { group_id: 30001 }))['data'] as Array<{ user_id: number }>;
    expect(members.map((m) => m.user_id).sort()).toEqual([10001, 20001, 20002]);
    expect(await c.call('get_group_member_info', { group_id: 30001, user_id: 20003 })).toMatchObject({
      status: 'failed',
      retcode: 100,
      message: 'user 20003 is not a member of group 30001',
    });
  });

  it('permissions: an admin bot cannot kick or ban the owner or another admin', async () => {
    const c = await bot();
    expect(await c.call('set_group_kick', { group_id: 30001, user_id: 20001 })).toMatchObject({
      status: 'failed',
      retcode: 100,
      message: 'onebridge-bot (admin) cannot manage Alice (owner) in group 30001',
    });
    expect(await c.call('set_group_ban', { group_id: 30001, user_id: 20002, duration: 60 })).toMatchObject({
      status: 'failed',
      retcode: 100,
    });
    expect(await c.call('set_group_admin', { group_id: 30001, user_id: 20003 })).toMatchObject({
      status: 'failed',
      message: 'onebridge-bot must be owner of group 30001 (is admin)',
    });
  });

  it('whole-group ban mutes members but not admins, announced with user_id 0', async () => {
    const c = await bot();
    await c.call('set_group_whole_ban', { group_id: 30001, enable: true });
    expect(await notice(c, 'group_ban')).toMatchObject({ sub_type: 'ban', user_id: 0 });
    expect((await userSays(20003, 'x', 30001)).status).toBe(400);
    expect((await userSays(20002, 'admin here', 30001)).status).toBe(200);
  });

  it('leaving a group tells the other bots, and the leaver loses the group', async () => {
    app = await startApp(
      `accounts:\n  - { self_id: 10001, adapter: { type: sandbox } }\n  - { self_id: 10002, adapter: { type: sandbox } }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0, self_id: 10001 }\n  - { type: ws, port: 0, heartbeat_interval_ms: 0, self_id: 10002 }\n`,
    );
    const a = await TestClient.open(`ws://127.0.0.1:${wsPort(app, 0)}/`);
    const b = await TestClient.open(`ws://127.0.0.1:${wsPort(app, 1)}/`);
    clients.push(a, b);
    await a.next();
    await b.next();
    await b.call('set_group_leave', { group_id: 30001 });
    expect(await notice(a, 'group_decrease')).toMatchObject({ sub_type: 'leave', user_id: 10002, self_id: 10001 });
    expect((await b.call('get_group_list'))['data']).toEqual([]);
    // Bot messages reach the other bots in the group.
    await a.call('send_group_msg', { group_id: 30001, message: 'only a is left' });
    // A round trip on b after a's send: a message event for b would have arrived first.
    await b.call('get_status');
    expect(b.frames.some((f) => f['post_type'] === 'message')).toBe(false);
  });
});

describe('recalls and the message store', () => {
  it('recalling a stored message emits group_recall; get_msg then fails clearly', async () => {
    const c = await bot();
    const { body } = await userSays(20003, 'oops', 30001);
    const id = body['message_id'] as number;
    expect((await c.call('get_msg', { message_id: id }))['data']).toMatchObject({
      message_id: id,
      message_type: 'group',
      sender: { user_id: 20003 },
      message: [{ type: 'text', data: { text: 'oops' } }],
    });
    expect(await c.call('delete_msg', { message_id: id })).toMatchObject({ status: 'ok' });
    expect(await notice(c, 'group_recall')).toMatchObject({
      group_id: 30001,
      user_id: 20003,
      operator_id: 10001,
      message_id: id,
    });
    // 100 as go-cqhttp's MSG_NOT_FOUND, not 1404 (the spec's "no such action").
    expect(await c.call('get_msg', { message_id: id })).toMatchObject({
      status: 'failed',
      retcode: 100,
      message: `message ${id} not found (evicted from the message store, or never existed)`,
    });
    expect(await c.call('get_msg', { message_id: 999999 })).toMatchObject({
      status: 'failed',
      retcode: 100,
      message: 'message 999999 not found (evicted from the message store, or never existed)',
    });
  });

  it('an evicted message cannot be recalled: 100, least recently used first', async () => {
    const c = await bot('sandbox:\n  console: false\n  message_capacity: 3\n');
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) ids.push((await userSays(20003, `m${i}`, 30001)).body['message_id'] as number);
    expect(await c.call('delete_msg', { message_id: ids[0] })).toMatchObject({
      status: 'failed',
      retcode: 100,
      message: expect.stringContaining('evicted'),
    });
    expect(await c.call('delete_msg', { message_id: ids[3] })).toMatchObject({ status: 'ok' });
  });

  it('get_msg answers in the connection point format', async () => {
    app = await startApp(
      'network:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0, message_format: string }\nadmin: { port: 0 }\n',
    );
    const c = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/api`);
    clients.push(c);
    const id = (await userSays(20001, 'a[CQ:face,id=1]', 30001)).body['message_id'] as number;
    expect((await c.call('get_msg', { message_id: id }))['data']).toMatchObject({ message: 'a[CQ:face,id=1]' });
  });

  it('the sender of a private message can recall it: friend_recall to the bot', async () => {
    const c = await bot();
    const id = (await userSays(20001, 'secret')).body['message_id'] as number;
    expect(await c.nextWhere((f) => f['message_type'] === 'private')).toMatchObject({ message_id: id });
    expect(await control('/sandbox/recall', { user_id: 20002, message_id: id })).toEqual({
      status: 400,
      body: { error: `only the sender can recall private message ${id}` },
    });
    expect((await control('/sandbox/recall', { user_id: 20001, message_id: id })).status).toBe(200);
    expect(await notice(c, 'friend_recall')).toMatchObject({ user_id: 20001, message_id: id });
  });
});

describe('requests, pokes and self messages', () => {
  it('a friend request the bot approves emits friend_add; a join request it approves adds the member', async () => {
    const c = await bot();
    const flag = (await control('/sandbox/requests', { kind: 'friend', user_id: 20003, comment: 'hello' })).body[
      'flag'
    ] as string;
    expect(await c.nextWhere((f) => f['post_type'] === 'request')).toMatchObject({
      request_type: 'friend',
      user_id: 20003,
      comment: 'hello',
      flag,
    });
    expect(await c.call('set_friend_add_request', { flag, approve: true, remark: 'Caz' })).toMatchObject({
      status: 'ok',
    });
    expect(await notice(c, 'friend_add')).toMatchObject({ user_id: 20003 });
    expect((await c.call('get_friend_list'))['data']).toEqual(
      expect.arrayContaining([{ user_id: 20003, nickname: 'Carol', remark: 'Caz' }]),
    );
    expect(await c.call('set_friend_add_request', { flag, approve: true })).toMatchObject({
      status: 'failed',
      message: `no pending friend request with flag ${flag}`,
    });

    await c.call('set_group_kick', { group_id: 30001, user_id: 20003 });
    const join = (
      await control('/sandbox/requests', { kind: 'group', user_id: 20003, group_id: 30001, comment: 'let me back' })
    ).body['flag'] as string;
    expect(await c.nextWhere((f) => f['request_type'] === 'group')).toMatchObject({
      sub_type: 'add',
      group_id: 30001,
      user_id: 20003,
      flag: join,
    });
    await c.call('set_group_add_request', { flag: join, sub_type: 'add', approve: true });
    expect(await notice(c, 'group_increase')).toMatchObject({
      sub_type: 'approve',
      group_id: 30001,
      user_id: 20003,
      operator_id: 10001,
    });
  });

  it('a poke in a group is a notify/poke notice', async () => {
    const c = await bot();
    expect((await control('/sandbox/poke', { user_id: 20001, target_id: 10001, group_id: 30001 })).status).toBe(200);
    expect(await notice(c, 'notify')).toMatchObject({
      sub_type: 'poke',
      group_id: 30001,
      user_id: 20001,
      sender_id: 20001,
      target_id: 10001,
    });
  });

  it('a private poke carries sender_id, as go-cqhttp adds it', async () => {
    const c = await bot();
    expect((await control('/sandbox/poke', { user_id: 20002, target_id: 10001 })).status).toBe(200);
    const poke = await notice(c, 'notify');
    expect(poke).toMatchObject({ sub_type: 'poke', user_id: 20002, sender_id: 20002, target_id: 10001 });
    expect(poke).not.toHaveProperty('group_id');
  });

  it('report_self_message: the bot hears its own messages as message_sent', async () => {
    const c = await bot();
    await c.call('send_group_msg', { group_id: 30001, message: 'quiet' });
    await c.call('get_status'); // a message_sent event would have arrived before this answer
    expect(c.frames.some((f) => f['post_type'] === 'message_sent')).toBe(false);
    await clients.pop()!.close();
    await app!.stop();
    const loud = await bot(
      'accounts:\n  - { self_id: 10001, adapter: { type: sandbox, report_self_message: true } }\n',
    );
    await loud.call('send_group_msg', { group_id: 30001, message: 'loud' });
    expect(await loud.nextWhere((f) => f['post_type'] === 'message_sent')).toMatchObject({
      message_type: 'group',
      group_id: 30001,
      user_id: 10001,
      raw_message: 'loud',
    });
  });
});

/** The admin routes a bot author's tests use for what a person at the console would do. */
async function control(
  path: string,
  body: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${app!.admin!.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
