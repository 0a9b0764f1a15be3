import { describe, expect, it } from 'vitest';
import { appFixture } from './support/app-fixture.js';
import { TestClient, wsPort } from './support/app.js';
import { stubUpstream } from './support/stub-upstream.js';

const { cleanups, app } = appFixture();

const node = (user_id: number, nickname: string, content: unknown) => ({
  type: 'node',
  data: { user_id, nickname, content },
});

/** What bots send for each extension, as they send it to go-cqhttp or NapCat (strings, odd spellings and all). */
const CALLS: Array<[string, Record<string, unknown>]> = [
  [
    'send_group_forward_msg',
    {
      group_id: 1,
      messages: [
        node(2, 'a', 'x'),
        {
          type: 'node',
          data: { uin: '3', name: 'b', content: [node(4, 'c', [{ type: 'text', data: { text: 'deep' } }])] },
        },
        { type: 'node', data: { id: 77 } },
      ],
    },
  ],
  ['send_private_forward_msg', { user_id: 2, messages: [node(2, 'a', 'x')] }],
  ['send_forward_msg', { message_type: 'group', group_id: 1, messages: [node(2, 'a', 'x')] }],
  ['get_forward_msg', { message_id: 'res-id-1' }],
  [
    'set_group_anonymous_ban',
    { group_id: 1, anonymous: { id: 5, name: 'Masked', flag: '5|Masked' }, duration: 'True' },
  ],
  ['get_group_msg_history', { group_id: 1, message_seq: 0 }],
  ['mark_msg_as_read', { message_id: -12 }],
  ['set_essence_msg', { message_id: 3 }],
  ['delete_essence_msg', { message_id: '3' }],
  ['get_essence_msg_list', { group_id: 1 }],
  ['get_group_at_all_remain', { group_id: 1 }],
  ['upload_group_file', { group_id: 1, file: '/no/such/file.txt', name: 'f.txt', folder: '/' }],
  ['upload_private_file', { user_id: 2, file: '/no/such/file.txt', name: 'f.txt' }],
  ['get_online_clients', { no_cache: 'yes' }],
  ['set_group_portrait', { group_id: 1, file: 'base64://AA==', cache: 1 }],
  ['get_group_system_msg', {}],
  ['set_restart', { delay: 10 }],
  ['send_group_msg', { group_id: 1, message: [node(2, 'a', 'nodes in send_group_msg stay nodes')] }],
];

describe('relay: every extension passes through untouched', () => {
  it('actions reach upstream with the exact params, and upstream answers come back unchanged', async () => {
    const seen: Array<Record<string, unknown>> = [];
    const up = await stubUpstream(cleanups, {
      answer: (f, ws) => {
        seen.push(f);
        // A go-cqhttp-shaped answer, with a field onebridge does not know.
        ws.send(
          JSON.stringify({
            status: f['action'] === 'set_restart' ? 'async' : 'ok',
            retcode: f['action'] === 'set_restart' ? 1 : 0,
            data: {
              messages: [{ sender: { user_id: 2, nickname: 'a' }, content: [node(4, 'c', 'deep')] }],
              for: f['action'],
            },
            message: '',
            wording: '',
            echo: f['echo'],
            gocq_extra: [1, { a: null }],
          }),
        );
      },
    });
    const relay = await app(
      `accounts:\n  - self_id: 10001\n    adapter: { type: relay, upstream: { mode: ws, url: "${up.url('/')}" } }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n`,
    );
    await up.connection(0);
    const c = await TestClient.open(`ws://127.0.0.1:${wsPort(relay)}/api`);
    cleanups.push(() => c.close());
    for (const [action, params] of CALLS) {
      const res = await c.call(action, params, { action });
      expect(res, action).toEqual({
        status: action === 'set_restart' ? 'async' : 'ok',
        retcode: action === 'set_restart' ? 1 : 0,
        data: { messages: [{ sender: { user_id: 2, nickname: 'a' }, content: [node(4, 'c', 'deep')] }], for: action },
        message: '',
        wording: '',
        echo: { action },
        gocq_extra: [1, { a: null }],
      });
      expect(seen.at(-1), action).toMatchObject({ action, params });
      expect(seen.at(-1)!['params'], action).toEqual(params);
    }
  });

  it('extension events (anonymous, forward segments, essence, group_upload, offline_file, poke) reach clients unchanged', async () => {
    const up = await stubUpstream(cleanups);
    const relay = await app(
      `accounts:\n  - self_id: 10001\n    adapter: { type: relay, upstream: { mode: ws, url: "${up.url('/')}" } }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n`,
    );
    const conn = await up.connection(0);
    const c = await TestClient.open(`ws://127.0.0.1:${wsPort(relay)}/`);
    cleanups.push(() => c.close());
    await c.next();
    const base = { time: 1700000000, self_id: 10001 };
    const events = [
      {
        ...base,
        post_type: 'message',
        message_type: 'group',
        sub_type: 'anonymous',
        message_id: 5,
        message_seq: 5,
        group_id: 1,
        user_id: 80000000,
        anonymous: { id: 9, name: 'Masked', flag: '9|Masked' },
        message: [{ type: 'forward', data: { id: 'res-1' } }],
        raw_message: '[CQ:forward,id=res-1]',
        font: 0,
        sender: { user_id: 80000000, nickname: '匿名消息' },
      },
      {
        ...base,
        post_type: 'notice',
        notice_type: 'essence',
        sub_type: 'add',
        group_id: 1,
        sender_id: 2,
        operator_id: 3,
        message_id: 5,
      },
      {
        ...base,
        post_type: 'notice',
        notice_type: 'group_upload',
        group_id: 1,
        user_id: 2,
        file: { id: '/abc', name: 'a.txt', size: 3, busid: 102, url: 'http://x/a' },
      },
      {
        ...base,
        post_type: 'notice',
        notice_type: 'offline_file',
        user_id: 2,
        file: { name: 'a.txt', size: 3, url: 'http://x/a' },
      },
      {
        ...base,
        post_type: 'notice',
        notice_type: 'notify',
        sub_type: 'poke',
        user_id: 2,
        sender_id: 2,
        target_id: 10001,
      },
    ];
    for (const e of events) conn.ws.send(JSON.stringify(e));
    for (const e of events) expect(await c.nextWhere((f) => f['post_type'] !== 'meta_event')).toEqual(e);
  });
});
