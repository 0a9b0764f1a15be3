import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { startApp, TestClient, tearDown, wsPort } from './support/app.js';

let app: App | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => (app = await tearDown(cleanups, app)));

/**
 * Two bots in one world: 10001 (the one under test) and 10002 (a bystander that hears what
 * 10001 does, as another bot in the group would). Bots are admins of 30001 by default.
 */
const WORLD = `accounts:
  - { self_id: 10001, adapter: { type: sandbox } }
  - { self_id: 10002, adapter: { type: sandbox, nickname: other-bot } }
network:
  - { type: ws, port: 0, heartbeat_interval_ms: 0, self_id: 10001 }
  - { type: ws, port: 0, heartbeat_interval_ms: 0, self_id: 10002 }
admin: { port: 0 }
`;

async function bots(extra = ''): Promise<[TestClient, TestClient]> {
  app = await startApp(WORLD + extra);
  const a = await TestClient.open(`ws://127.0.0.1:${wsPort(app, 0)}/`);
  const b = await TestClient.open(`ws://127.0.0.1:${wsPort(app, 1)}/`);
  cleanups.push(() => a.close(), () => b.close());
  await a.next();
  await b.next();
  return [a, b];
}

async function admin(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${app!.admin!.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const data = <T = Record<string, unknown>>(res: Record<string, unknown>) => res['data'] as T;
const groupMessage = (c: TestClient) => c.nextWhere((f) => f['post_type'] === 'message' && f['message_type'] === 'group');
const notice = (c: TestClient, type: string) => c.nextWhere((f) => f['notice_type'] === type);

describe('forward messages', () => {
  it('send_group_forward_msg: custom nodes (both spellings), a quoted message and a nested forward; others get a forward segment; get_forward_msg reads it back', async () => {
    const [a, b] = await bots();
    const quoted = (await admin('/sandbox/messages', { user_id: 20002, group_id: 30001, message: 'quote me' })).body['message_id'] as number;
    await groupMessage(b);
    const sent = await a.call('send_group_forward_msg', {
      group_id: 30001,
      messages: [
        { type: 'node', data: { user_id: 20001, nickname: 'Alice', content: 'first [CQ:face,id=1]', time: 1700000000 } },
        { type: 'node', data: { uin: '20003', name: 'Carol', content: [{ type: 'text', data: { text: 'second' } }] } },
        { type: 'node', data: { id: quoted } },
        { type: 'node', data: { user_id: 10001, nickname: 'bot', content: [{ type: 'node', data: { user_id: 20001, nickname: 'Alice', content: 'inner' } }] } },
      ],
    });
    expect(sent).toMatchObject({ status: 'ok', data: { message_id: expect.any(Number), forward_id: expect.any(String) } });
    const { message_id, forward_id } = data<{ message_id: number; forward_id: string }>(sent);

    const heard = await groupMessage(b);
    expect(heard).toMatchObject({ message_id, user_id: 10001, message: [{ type: 'forward', data: { id: forward_id } }], raw_message: `[CQ:forward,id=${forward_id}]` });

    const read = data<{ messages: Array<Record<string, unknown>>; message: Array<Record<string, unknown>> }>(await b.call('get_forward_msg', { id: forward_id }));
    expect(read.messages).toEqual([
      { sender: { user_id: 20001, nickname: 'Alice' }, time: 1700000000, content: [{ type: 'text', data: { text: 'first ' } }, { type: 'face', data: { id: '1' } }], group_id: 30001 },
      { sender: { user_id: 20003, nickname: 'Carol' }, time: expect.any(Number), content: [{ type: 'text', data: { text: 'second' } }], group_id: 30001 },
      { sender: { user_id: 20002, nickname: 'Bob' }, time: expect.any(Number), content: [{ type: 'text', data: { text: 'quote me' } }], group_id: 30001 },
      { sender: { user_id: 10001, nickname: 'bot' }, time: expect.any(Number), content: [{ sender: { user_id: 20001, nickname: 'Alice' }, time: expect.any(Number), content: [{ type: 'text', data: { text: 'inner' } }], group_id: 30001 }], group_id: 30001 },
    ]);
    // The spec's field: the same nodes as node segments.
    expect(read.message[0]).toEqual({ type: 'node', data: { user_id: 20001, nickname: 'Alice', content: [{ type: 'text', data: { text: 'first ' } }, { type: 'face', data: { id: '1' } }] } });
    expect(read.message[3]).toMatchObject({ type: 'node', data: { content: [{ type: 'node', data: { user_id: 20001, content: [{ type: 'text', data: { text: 'inner' } }] } }] } });
    // go-cqhttp's param name, and the message_id of the message holding the forward, work too.
    expect(data(await b.call('get_forward_msg', { message_id: forward_id }))).toEqual(read);
    expect(data(await b.call('get_forward_msg', { message_id }))).toEqual(read);
  });

  it('send_private_forward_msg and send_msg with node segments send forwards; a user sends one through the admin route', async () => {
    const [a] = await bots();
    const priv = await a.call('send_private_forward_msg', { user_id: 20001, messages: [{ type: 'node', data: { user_id: 20001, nickname: 'Alice', content: 'hi' } }] });
    expect(priv).toMatchObject({ status: 'ok', data: { message_id: expect.any(Number), forward_id: expect.any(String) } });
    const viaSendMsg = await a.call('send_msg', { message_type: 'group', group_id: 30001, message: [{ type: 'node', data: { user_id: 20001, nickname: 'Alice', content: 'x' } }] });
    expect(data(await a.call('get_msg', { message_id: data<{ message_id: number }>(viaSendMsg).message_id }))).toMatchObject({ message: [{ type: 'forward', data: { id: expect.any(String) } }] });

    const routed = await admin('/sandbox/forward', { user_id: 20002, group_id: 30001, messages: [{ type: 'node', data: { user_id: 20002, nickname: 'Bob', content: 'look' } }] });
    expect(routed).toMatchObject({ status: 200, body: { message_id: expect.any(Number), forward_id: expect.any(String) } });
    const heard = await a.nextWhere((f) => f['message_id'] === routed.body['message_id']);
    expect(heard).toMatchObject({ user_id: 20002, message: [{ type: 'forward', data: { id: routed.body['forward_id'] } }] });
    expect(data<{ messages: unknown[] }>(await a.call('get_forward_msg', { id: routed.body['forward_id'] })).messages).toEqual([expect.objectContaining({ sender: { user_id: 20002, nickname: 'Bob' }, content: [{ type: 'text', data: { text: 'look' } }] })]);
    // Nodes in the ordinary message route become a forward too.
    const plain = await admin('/sandbox/messages', { user_id: 20003, group_id: 30001, message: [{ type: 'node', data: { user_id: 20003, nickname: 'Carol', content: 'c' } }] });
    expect((await a.nextWhere((f) => f['message_id'] === plain.body['message_id']))['message']).toEqual([{ type: 'forward', data: { id: expect.any(String) } }]);
  });

  it('bad nodes are 1400 naming the node; an unknown forward id is 100; nodes mixed with text are refused', async () => {
    const [a] = await bots();
    expect(await a.call('send_group_forward_msg', { group_id: 30001, messages: [{ type: 'node', data: { user_id: 1, nickname: 'x', content: 'ok' } }, { type: 'node', data: { user_id: 2, content: 'no name' } }] })).toMatchObject({
      status: 'failed',
      retcode: 1400,
      message: 'param messages[1].data.nickname (or name): expected a non-empty string',
    });
    expect(await a.call('send_group_forward_msg', { group_id: 30001, messages: [] })).toMatchObject({ retcode: 1400, message: 'param messages: expected at least one node segment' });
    expect(await a.call('send_group_forward_msg', { group_id: 30001 })).toMatchObject({ retcode: 1400, message: 'param messages: expected a list of node segments, got nothing' });
    expect(await a.call('send_group_forward_msg', { group_id: 30001, messages: [{ type: 'node', data: { id: 999999 } }] })).toMatchObject({ retcode: 100, message: expect.stringContaining('message 999999 not found') });
    expect(await a.call('get_forward_msg', { id: 'nope' })).toMatchObject({ status: 'failed', retcode: 100, message: 'forward message nope not found (evicted, or never existed)' });
    expect(await a.call('get_forward_msg', {})).toMatchObject({ retcode: 1400 });
    expect(await a.call('send_group_msg', { group_id: 30001, message: [{ type: 'text', data: { text: 'a' } }, { type: 'node', data: { user_id: 1, nickname: 'x', content: 'y' } }] })).toMatchObject({ retcode: 1400, message: expect.stringContaining('only node segments') });
  });
});

describe('anonymous members', () => {
  it('an anonymous message hides the member: sub_type anonymous, user_id 80000000, go-cqhttp anonymous object; set_group_anonymous_ban mutes the mask', async () => {
    const [a] = await bots();
    const said = await admin('/sandbox/anonymous', { user_id: 20003, group_id: 30001, message: 'guess who', name: 'Masked' });
    expect(said).toMatchObject({ status: 200, body: { message_id: expect.any(Number), anonymous: { id: expect.any(Number), name: 'Masked', flag: expect.stringMatching(/^\d+\|Masked$/) } } });
    const heard = await groupMessage(a);
    expect(heard).toMatchObject({ sub_type: 'anonymous', user_id: 80000000, anonymous: said.body['anonymous'], sender: { user_id: 80000000, nickname: 'Masked' }, message: [{ type: 'text', data: { text: 'guess who' } }] });
    // Nothing in what the bots get gives the member away.
    expect(JSON.stringify(heard)).not.toContain('20003');
    expect(JSON.stringify(await a.call('get_msg', { message_id: said.body['message_id'] }))).not.toContain('20003');

    const flag = (said.body['anonymous'] as { flag: string }).flag;
    expect(await a.call('set_group_anonymous_ban', { group_id: 30001, anonymous: heard['anonymous'], duration: 60 })).toMatchObject({ status: 'ok' });
    expect(await admin('/sandbox/anonymous', { user_id: 20003, group_id: 30001, message: 'again', name: 'Masked' })).toEqual({ status: 400, body: { error: expect.stringMatching(/^anonymous Masked is muted in group 30001 for \d+ more s$/) } });
    // The member is not muted under their own name; the ban is the mask's.
    expect((await admin('/sandbox/messages', { user_id: 20003, group_id: 30001, message: 'me' })).status).toBe(200);
    // anonymous_flag (go-cqhttp) and flag (the spec) lift it; duration 0.
    expect(await a.call('set_group_anonymous_ban', { group_id: 30001, anonymous_flag: flag, duration: 0 })).toMatchObject({ status: 'ok' });
    expect((await admin('/sandbox/anonymous', { user_id: 20003, group_id: 30001, message: 'free', name: 'Masked' })).status).toBe(200);
    expect(await a.call('set_group_anonymous_ban', { group_id: 30001, flag })).toMatchObject({ status: 'ok' });
  });

  it('refusals: a bad flag is 1400, an unknown mask 100, anonymous chat turned off is refused', async () => {
    const [a] = await bots();
    expect(await a.call('set_group_anonymous_ban', { group_id: 30001, flag: 'nobar' })).toMatchObject({ status: 'failed', retcode: 1400, message: expect.stringContaining('"<id>|<name>"') });
    expect(await a.call('set_group_anonymous_ban', { group_id: 30001, flag: '12|Ghost' })).toMatchObject({ status: 'failed', retcode: 100, message: 'no anonymous member with flag 12|Ghost has spoken in group 30001' });
    expect(await a.call('set_group_anonymous', { group_id: 30001, enable: false })).toMatchObject({ status: 'ok' });
    expect(await admin('/sandbox/anonymous', { user_id: 20003, group_id: 30001, message: 'x' })).toEqual({ status: 400, body: { error: 'anonymous chat is off in group 30001; an admin turns it on with set_group_anonymous' } });
  });

  it('a webhook-style quick operation bans an anonymous sender by its mask, end to end', async () => {
    const [a] = await bots();
    await admin('/sandbox/anonymous', { user_id: 20002, group_id: 30001, message: 'spam' });
    const event = await groupMessage(a);
    expect(await a.call('.handle_quick_operation', { context: event, operation: { ban: true, ban_duration: 120 } })).toMatchObject({ status: 'ok' });
    expect((await admin('/sandbox/anonymous', { user_id: 20002, group_id: 30001, message: 'more' })).status).toBe(400);
  });
});

describe('history, read marks, @all', () => {
  it('get_group_msg_history: the last 20 group messages up to message_seq, as message events, anonymous ones hidden', async () => {
    const [a] = await bots();
    const ids: number[] = [];
    for (let i = 0; i < 22; i++) ids.push((await admin('/sandbox/messages', { user_id: 20001, group_id: 30001, message: `m${i}` })).body['message_id'] as number);
    await admin('/sandbox/messages', { user_id: 20001, message: 'private, not in the history' });
    const anon = (await admin('/sandbox/anonymous', { user_id: 20002, group_id: 30001, message: 'shh' })).body['message_id'] as number;
    const latest = data<{ messages: Array<Record<string, unknown>> }>(await a.call('get_group_msg_history', { group_id: 30001 })).messages;
    expect(latest).toHaveLength(20);
    expect(latest.at(-1)).toMatchObject({ post_type: 'message', message_type: 'group', sub_type: 'anonymous', message_id: anon, message_seq: anon, user_id: 80000000, group_id: 30001 });
    expect(latest.map((m) => m['message_id'])).toEqual([...ids.slice(-19), anon]);
    const page = data<{ messages: Array<Record<string, unknown>> }>(await a.call('get_group_msg_history', { group_id: 30001, message_seq: ids[9] })).messages;
    expect(page.map((m) => m['message_id'])).toEqual(ids.slice(0, 10));
    expect(page[0]).toMatchObject({ user_id: 20001, sender: { user_id: 20001, nickname: 'Alice' }, message: [{ type: 'text', data: { text: 'm0' } }], raw_message: 'm0' });
    expect(await a.call('get_group_msg_history', { group_id: 39999 })).toMatchObject({ retcode: 100 });
  });

  it('mark_msg_as_read: ok for a stored message, 100 for an unknown one', async () => {
    const [a] = await bots();
    const id = (await admin('/sandbox/messages', { user_id: 20001, message: 'read me' })).body['message_id'];
    expect(await a.call('mark_msg_as_read', { message_id: id })).toMatchObject({ status: 'ok', data: null });
    expect(await a.call('mark_msg_as_read', { message_id: 424242 })).toMatchObject({ status: 'failed', retcode: 100 });
  });

  it('get_group_at_all_remain counts the @all said today', async () => {
    const [a] = await bots();
    expect(data(await a.call('get_group_at_all_remain', { group_id: 30001 }))).toEqual({ can_at_all: true, remain_at_all_count_for_group: 10, remain_at_all_count_for_uin: 10 });
    await a.call('send_group_msg', { group_id: 30001, message: '[CQ:at,qq=all] meeting' });
    await admin('/sandbox/messages', { user_id: 20001, group_id: 30001, message: '[CQ:at,qq=all] me too' });
    expect(data(await a.call('get_group_at_all_remain', { group_id: 30001 }))).toEqual({ can_at_all: true, remain_at_all_count_for_group: 8, remain_at_all_count_for_uin: 9 });
  });
});

describe('essence messages', () => {
  it('set/delete_essence_msg: the other bots get essence notices (not the operator), get_essence_msg_list lists them', async () => {
    const [a, b] = await bots();
    const id = (await admin('/sandbox/messages', { user_id: 20003, group_id: 30001, message: 'wise words' })).body['message_id'] as number;
    expect(await a.call('set_essence_msg', { message_id: id })).toMatchObject({ status: 'ok' });
    expect(await notice(b, 'essence')).toMatchObject({ sub_type: 'add', group_id: 30001, sender_id: 20003, operator_id: 10001, message_id: id });
    expect(data(await b.call('get_essence_msg_list', { group_id: 30001 }))).toEqual([
      { message_id: id, sender_id: 20003, sender_nick: 'Carol', sender_time: expect.any(Number), operator_id: 10001, operator_nick: 'onebridge-bot', operator_time: expect.any(Number) },
    ]);
    expect(await a.call('delete_essence_msg', { message_id: id })).toMatchObject({ status: 'ok' });
    expect(await notice(b, 'essence')).toMatchObject({ sub_type: 'delete', message_id: id, operator_id: 10001 });
    expect(data(await a.call('get_essence_msg_list', { group_id: 30001 }))).toEqual([]);
    expect(await a.call('delete_essence_msg', { message_id: id })).toMatchObject({ status: 'failed', retcode: 100, message: `message ${id} is not an essence message of group 30001` });
    // The operator never heard of its own changes.
    expect(a.frames.some((f) => f['notice_type'] === 'essence')).toBe(false);
    // A user (the owner) sets one through the admin route: both bots hear of it.
    expect((await admin('/sandbox/essence', { user_id: 20001, message_id: id })).status).toBe(200);
    expect(await notice(a, 'essence')).toMatchObject({ sub_type: 'add', operator_id: 20001, sender_id: 20003 });
    // A plain member may not.
    expect(await admin('/sandbox/essence', { user_id: 20003, message_id: id, enable: false })).toEqual({ status: 400, body: { error: expect.stringContaining('must be admin of group 30001') } });
  });
});

describe('files', () => {
  it('upload_group_file: a real local file gives the other bots a group_upload notice; missing files and URLs are 100', async () => {
    const [a, b] = await bots();
    const dir = await mkdtemp(join(tmpdir(), 'onebridge-upload-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'report.txt');
    await writeFile(path, 'x'.repeat(1234));
    expect(await a.call('upload_group_file', { group_id: 30001, file: path, name: 'report-final.txt' })).toMatchObject({ status: 'ok', data: null });
    expect(await notice(b, 'group_upload')).toMatchObject({ group_id: 30001, user_id: 10001, file: { id: expect.any(String), name: 'report-final.txt', size: 1234, busid: 102, url: expect.any(String) } });
    // Without name: the file's own; base64:// works too.
    await a.call('upload_group_file', { group_id: 30001, file: path });
    expect(await notice(b, 'group_upload')).toMatchObject({ file: { name: 'report.txt', size: 1234 } });
    await a.call('upload_group_file', { group_id: 30001, file: `base64://${Buffer.from('hello').toString('base64')}`, name: 'hi.txt' });
    expect(await notice(b, 'group_upload')).toMatchObject({ file: { name: 'hi.txt', size: 5 } });
    expect(await a.call('upload_group_file', { group_id: 30001, file: join(dir, 'missing.txt'), name: 'm' })).toMatchObject({ status: 'failed', retcode: 100, message: expect.stringContaining('not found') });
    expect(await a.call('upload_group_file', { group_id: 30001, file: 'https://example.invalid/a.txt', name: 'a' })).toMatchObject({ status: 'failed', retcode: 100, message: expect.stringContaining('local path or base64://') });
    expect(a.frames.some((f) => f['notice_type'] === 'group_upload')).toBe(false);
    expect(await a.call('upload_private_file', { user_id: 20001, file: path, name: 'for-alice.txt' })).toMatchObject({ status: 'ok' });
  });

  it('users upload through the admin route: group_upload in groups, offline_file privately', async () => {
    const [a] = await bots();
    expect((await admin('/sandbox/files', { user_id: 20002, group_id: 30001, name: 'notes.pdf', size: 2048 })).status).toBe(200);
    expect(await notice(a, 'group_upload')).toMatchObject({ group_id: 30001, user_id: 20002, file: { name: 'notes.pdf', size: 2048, busid: 102 } });
    expect((await admin('/sandbox/files', { user_id: 20002, name: 'secret.zip', size: 10 })).status).toBe(200);
    expect(await notice(a, 'offline_file')).toMatchObject({ user_id: 20002, file: { name: 'secret.zip', size: 10, url: expect.any(String) } });
    expect(await admin('/sandbox/files', { user_id: 20002, group_id: 30001 })).toEqual({ status: 400, body: { error: 'param name: the file needs a name' } });
  });
});

describe('account and group odds and ends', () => {
  it('get_online_clients, set_group_portrait, get_group_system_msg', async () => {
    const [a] = await bots(`sandbox:
  console: false
  groups:
    - group_id: 30001
      group_name: Sandbox Group
      members: [{ user_id: 20001, role: owner }, { user_id: 20002 }]
    - group_id: 30002
      group_name: Members Only
      members: [{ user_id: 20001, role: owner }, { user_id: 10001, role: member }]
`);
    expect(data(await a.call('get_online_clients', { no_cache: true }))).toEqual({ clients: [{ app_id: expect.any(Number), device_name: expect.any(String), device_kind: expect.any(String) }] });
    expect(await a.call('set_group_portrait', { group_id: 30001, file: 'base64://AAAA', cache: 1 })).toMatchObject({ status: 'ok' });
    expect(await a.call('set_group_portrait', { group_id: 30002, file: 'base64://AAAA' })).toMatchObject({ status: 'failed', retcode: 100, message: expect.stringContaining('must be admin') });

    expect(data(await a.call('get_group_system_msg'))).toEqual({ invited_requests: [], join_requests: [] });
    const flag = (await admin('/sandbox/requests', { kind: 'group', user_id: 20003, group_id: 30001, comment: 'let me in' })).body['flag'];
    await admin('/sandbox/requests', { kind: 'group', user_id: 20003, group_id: 30002, comment: 'not for a member bot' });
    const system = data<{ join_requests: Array<Record<string, unknown>> }>(await a.call('get_group_system_msg'));
    expect(system.join_requests).toEqual([{ request_id: expect.any(Number), requester_uin: 20003, requester_nick: 'Carol', message: 'let me in', group_id: 30001, group_name: 'Sandbox Group', checked: false, actor: 0, flag }]);
    expect(await a.call('set_group_add_request', { flag, approve: true })).toMatchObject({ status: 'ok' });
    expect(data<{ join_requests: unknown[] }>(await a.call('get_group_system_msg')).join_requests).toEqual([]);
  });
});
