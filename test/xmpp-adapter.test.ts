import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { StableIds } from '../src/kit/index.js';
import { createTestApp, parseTestConfig, TestClient, wsPort } from './support/app.js';
import { Prosody } from './support/prosody.js';
import { bodyOf, hasStatus, xml, XmppPeer, type Element } from './support/xmpp-peer.js';
import { call, eventually, ROOM, WAIT, xmppYaml } from './support/xmpp-fixture.js';

const ROOM2 = 'lobby@conference.localhost';
const SID = 'urn:xmpp:sid:0';

/** Ids as the adapter documents them, computed independently of its code. */
const users = new StableIds({ namespace: 'xmpp:user' });
const groups = new StableIds({ namespace: 'xmpp:room' });
const BOT = users.id('bot@localhost');
const ALICE = users.id('alice@localhost');
const GROUP = groups.id(ROOM);

type Frame = Record<string, unknown>;

/** The room's stanza-id of a message the peer sent (from its own echo). */
async function stanzaIdOf(peer: XmppPeer, originId: string): Promise<string> {
  const echo = await peer.waitFor(
    (s) => s.is('message') && s.getChild('origin-id', SID)?.attrs['id'] === originId,
    WAIT,
    `echo of ${originId}`,
  );
  return echo.getChild('stanza-id', SID)!.attrs['id']!;
}

const isMsg = (type: string, text?: string) => (f: Frame) =>
  f['post_type'] === 'message' &&
  f['message_type'] === type &&
  (text === undefined || String(f['raw_message']).includes(text));
const isNotice = (type: string) => (f: Frame) => f['post_type'] === 'notice' && f['notice_type'] === type;

// Real servers and logins: room for emulated arm64 on a loaded machine.
describe('XMPP adapter against a real Prosody', { timeout: 90_000 }, () => {
  let server: Prosody;
  let app: App;
  let c: TestClient;
  let alice: XmppPeer;
  const cleanups: Array<() => unknown> = [];

  beforeAll(async () => {
    server = await Prosody.start({ bot: 'botpw', alice: 'alicepw', bob: 'bobpw', carol: 'carolpw' });
    app = createTestApp(parseTestConfig(xmppYaml(server)));
    await app.start();
    c = await TestClient.open(`ws://127.0.0.1:${wsPort(app)}/`);
    await c.nextWhere((f) => f['meta_event_type'] === 'lifecycle');
    // The bot creates the room (it is its owner, so it sees real JIDs and may kick).
    await eventually(
      async () => ((await call(c, 'get_group_list'))['data'] as unknown[]).length > 0 || undefined,
      30_000,
      'the bot in its room',
    );
    alice = await XmppPeer.connect(server, 'alice', 'alicepw');
    await alice.join(ROOM, 'Alice');
    // Alice is in the room once the bot has seen her arrive, not when her own join completes.
    await c.nextWhere((f) => isNotice('group_increase')(f) && f['user_id'] === ALICE, WAIT);
  }, 120_000);

  afterAll(async () => {
    await alice?.close();
    await c?.close();
    await app?.stop();
    await server?.stop();
  });

  afterEach(async () => {
    for (const f of cleanups.splice(0).reverse()) await f();
  });

  it('self_id is derived from the bot JID; login info, status and group list say so', async () => {
    expect(app.accounts.has(BOT)).toBe(true);
    expect(await call(c, 'get_login_info')).toMatchObject({ retcode: 0, data: { user_id: BOT, nickname: 'bot' } });
    expect(await call(c, 'get_status')).toMatchObject({ retcode: 0, data: { online: true, good: true } });
    expect(await call(c, 'get_group_list')).toMatchObject({
      data: [{ group_id: GROUP, group_name: 'room', member_count: 2 }],
    });
    expect(await call(c, 'get_group_info', { group_id: GROUP })).toMatchObject({ data: { group_id: GROUP } });
    expect(await call(c, 'send_like', { user_id: ALICE })).toMatchObject({ status: 'failed', retcode: 1404 });
    expect(await call(c, 'get_group_info', { group_id: 12345 })).toMatchObject({
      status: 'failed',
      retcode: 100,
      message: expect.stringContaining('group_id 12345'),
    });
    // The link shows in the registry like any connection onebridge holds.
    expect(app.registry.snapshot().find((x) => x.transport === 'upstream')).toMatchObject({
      state: 'open',
      endpoint: server.service,
    });
  });

  it('a room message reaches the bot as a group message; its answer reaches the room', async () => {
    await alice.groupchat(ROOM, 'hello everyone');
    const ev = await c.nextWhere(isMsg('group', 'hello everyone'), WAIT);
    // The bot owns the room, so it sees Alice's real JID: her user_id is that of alice@localhost.
    expect(ev).toMatchObject({
      self_id: BOT,
      group_id: GROUP,
      user_id: ALICE,
      message: [{ type: 'text', data: { text: 'hello everyone' } }],
      sender: { user_id: ALICE, nickname: 'Alice', card: 'Alice', role: 'member' },
    });
    expect(typeof ev['message_id']).toBe('number');
    const since = alice.stanzas.length;
    const sent = await call(c, 'send_group_msg', {
      group_id: GROUP,
      message: [
        { type: 'at', data: { qq: String(ALICE) } },
        { type: 'text', data: { text: 'hi there' } },
      ],
    });
    expect(sent).toMatchObject({ status: 'ok', retcode: 0 });
    const got = await alice.waitFor(
      (s) => s.is('message') && s.attrs['from'] === `${ROOM}/Bot` && !!bodyOf(s),
      WAIT,
      'the bot in the room',
      since,
    );
    expect(bodyOf(got)).toBe('Alice: hi there');
    // get_msg finds both.
    expect(await call(c, 'get_msg', { message_id: ev['message_id'] })).toMatchObject({
      data: { message_type: 'group', sender: { user_id: ALICE } },
    });
    expect(await call(c, 'get_msg', { message_id: (sent['data'] as Frame)['message_id'] })).toMatchObject({
      data: { sender: { user_id: BOT } },
    });
  });

  it('direct messages both ways; the member list and stranger info know Alice', async () => {
    await alice.chat('bot@localhost', 'psst');
    const ev = await c.nextWhere(isMsg('private', 'psst'), WAIT);
    expect(ev).toMatchObject({ user_id: ALICE, sub_type: 'other', sender: { user_id: ALICE, nickname: 'alice' } });
    const since = alice.stanzas.length;
    expect(await call(c, 'send_private_msg', { user_id: ALICE, message: 'pong' })).toMatchObject({ retcode: 0 });
    const got = await alice.waitFor(
      (s) => s.is('message') && s.attrs['type'] === 'chat' && bodyOf(s) === 'pong',
      WAIT,
      'the answer',
      since,
    );
    expect(got.attrs['from']).toMatch(/^bot@localhost\//);
    expect(await call(c, 'get_stranger_info', { user_id: ALICE })).toMatchObject({
      data: { user_id: ALICE, nickname: 'alice' },
    });
    const members = (await call(c, 'get_group_member_list', { group_id: GROUP }))['data'] as Frame[];
    expect(members.map((m) => [m['user_id'], m['nickname'], m['role']]).sort()).toEqual(
      [
        [BOT, 'Bot', 'owner'],
        [ALICE, 'Alice', 'member'],
      ].sort(),
    );
    expect(await call(c, 'get_group_member_info', { group_id: GROUP, user_id: ALICE })).toMatchObject({
      data: { nickname: 'Alice', role: 'member' },
    });
  });

  it('replies both ways (XEP-0461), mentions of the bot -> at, images both ways (XEP-0066)', async () => {
    const origin = await alice.groupchat(ROOM, 'Bot: what time is it?');
    const sid = await stanzaIdOf(alice, origin);
    const ev = await c.nextWhere(isMsg('group', 'what time'), WAIT);
    expect(ev['message']).toEqual([
      { type: 'at', data: { qq: String(BOT) } },
      { type: 'text', data: { text: 'what time is it?' } },
    ]);
    // The bot replies: other clients see an XEP-0461 reply to the room's stanza-id, with a quote fallback.
    let since = alice.stanzas.length;
    const answer = await call(c, 'send_group_msg', {
      group_id: GROUP,
      message: [
        { type: 'reply', data: { id: String(ev['message_id']) } },
        { type: 'text', data: { text: 'noon' } },
      ],
    });
    const reply = await alice.waitFor(
      (s) => s.is('message') && s.attrs['from'] === `${ROOM}/Bot` && !!s.getChild('reply', 'urn:xmpp:reply:0'),
      WAIT,
      'a reply',
      since,
    );
    expect(reply.getChild('reply', 'urn:xmpp:reply:0')!.attrs).toMatchObject({ id: sid, to: `${ROOM}/Alice` });
    expect(bodyOf(reply)).toBe('> Alice: what time is it?\nnoon');
    // Alice replies to the bot's message (by the stanza-id the room gave it): a reply segment.
    const botSid = reply.getChild('stanza-id', SID)!.attrs['id']!;
    await alice.groupchat(
      ROOM,
      '> Bot: noon\nthanks',
      xml('reply', { xmlns: 'urn:xmpp:reply:0', to: `${ROOM}/Bot`, id: botSid }),
      xml(
        'fallback',
        { xmlns: 'urn:xmpp:fallback:0', for: 'urn:xmpp:reply:0' },
        xml('body', { start: '0', end: '12' }),
      ),
    );
    const back = await c.nextWhere(isMsg('group', 'thanks'), WAIT);
    expect(back['message']).toEqual([
      { type: 'reply', data: { id: String((answer['data'] as Frame)['message_id']) } },
      { type: 'text', data: { text: 'thanks' } },
    ]);
    // Images.
    const url = 'https://example.org/cat.png';
    await alice.groupchat(ROOM, url, xml('x', { xmlns: 'jabber:x:oob' }, xml('url', {}, url)));
    expect((await c.nextWhere(isMsg('group', 'cat.png'), WAIT))['message']).toEqual([
      { type: 'image', data: { file: url, url } },
    ]);
    since = alice.stanzas.length;
    await call(c, 'send_group_msg', {
      group_id: GROUP,
      message: [
        { type: 'text', data: { text: 'look:' } },
        { type: 'image', data: { file: 'https://example.org/dog.png' } },
      ],
    });
    const img = await alice.waitFor(
      (s) => s.is('message') && s.attrs['from'] === `${ROOM}/Bot` && s.getChild('x', 'jabber:x:oob') !== undefined,
      WAIT,
      'an image',
      since,
    );
    expect(bodyOf(img)).toBe('https://example.org/dog.png');
    expect(alice.stanzas.slice(since).some((s) => bodyOf(s) === 'look:')).toBe(true);
  });

  it('retractions (XEP-0424): theirs -> group_recall / friend_recall; delete_msg retracts ours only', async () => {
    const origin = await alice.groupchat(ROOM, 'oops');
    const sid = await stanzaIdOf(alice, origin);
    const ev = await c.nextWhere(isMsg('group', 'oops'), WAIT);
    await alice.send(
      xml(
        'message',
        { to: ROOM, type: 'groupchat', id: alice.nextId() },
        xml('retract', { xmlns: 'urn:xmpp:message-retract:1', id: sid }),
        xml('body', {}, 'retracted'),
      ),
    );
    expect(await c.nextWhere(isNotice('group_recall'), WAIT)).toMatchObject({
      group_id: GROUP,
      user_id: ALICE,
      operator_id: ALICE,
      message_id: ev['message_id'],
    });
    // Gone from the store (what the core answers for an unknown message_id: 100, not found).
    expect(await call(c, 'get_msg', { message_id: ev['message_id'] })).toMatchObject({
      status: 'failed',
      retcode: 100,
      message: expect.stringMatching(/not found/),
    });

    const dm = await alice.chat('bot@localhost', 'typo');
    const pev = await c.nextWhere(isMsg('private', 'typo'), WAIT);
    await alice.send(
      xml(
        'message',
        { to: 'bot@localhost', type: 'chat', id: alice.nextId() },
        xml('retract', { xmlns: 'urn:xmpp:message-retract:1', id: dm }),
      ),
    );
    expect(await c.nextWhere(isNotice('friend_recall'), WAIT)).toMatchObject({
      user_id: ALICE,
      message_id: pev['message_id'],
    });

    // Someone else's message: XMPP lets a client retract only its own.
    await alice.groupchat(ROOM, 'mine');
    const mine = await c.nextWhere(isMsg('group', 'mine'), WAIT);
    expect(await call(c, 'delete_msg', { message_id: mine['message_id'] })).toMatchObject({
      status: 'failed',
      retcode: 100,
    });

    // Ours: retracted by the id the room gave it (what Alice's client knows).
    let since = alice.stanzas.length;
    const sent = await call(c, 'send_group_msg', { group_id: GROUP, message: 'to be retracted' });
    const seen = await alice.waitFor((s) => bodyOf(s) === 'to be retracted', WAIT, 'the bot message', since);
    const seenSid = seen.getChild('stanza-id', SID)!.attrs['id'];
    since = alice.stanzas.length;
    // The room's echo teaches the bot the stanza-id; wait for it by retrying until the retraction names it.
    expect(await call(c, 'delete_msg', { message_id: (sent['data'] as Frame)['message_id'] })).toMatchObject({
      retcode: 0,
    });
    const retract = await alice.waitFor(
      (s) => s.is('message') && !!s.getChild('retract', 'urn:xmpp:message-retract:1'),
      WAIT,
      'a retraction',
      since,
    );
    expect(retract.getChild('retract', 'urn:xmpp:message-retract:1')!.attrs['id']).toBe(seenSid);

    since = alice.stanzas.length;
    const dmSent = await call(c, 'send_private_msg', { user_id: ALICE, message: 'private oops' });
    const dmSeen = await alice.waitFor((s) => bodyOf(s) === 'private oops', WAIT, 'the dm', since);
    expect(await call(c, 'delete_msg', { message_id: (dmSent['data'] as Frame)['message_id'] })).toMatchObject({
      retcode: 0,
    });
    const dmRetract = await alice.waitFor(
      (s) => !!s.getChild('retract', 'urn:xmpp:message-retract:1'),
      WAIT,
      'a dm retraction',
      since,
    );
    expect(dmRetract.getChild('retract', 'urn:xmpp:message-retract:1')!.attrs['id']).toBe(
      dmSeen.getChild('origin-id', SID)!.attrs['id'],
    );
  });

  it('joins and leaves -> group_increase / group_decrease; the bot kicks (it owns the room)', async () => {
    const bob = await XmppPeer.connect(server, 'bob', 'bobpw');
    cleanups.push(() => bob.close());
    const BOB = users.id('bob@localhost');
    await bob.join(ROOM, 'Bob');
    expect(await c.nextWhere(isNotice('group_increase'), WAIT)).toMatchObject({
      group_id: GROUP,
      user_id: BOB,
      sub_type: 'approve',
    });
    await bob.leave(ROOM, 'Bob');
    expect(await c.nextWhere(isNotice('group_decrease'), WAIT)).toMatchObject({
      group_id: GROUP,
      user_id: BOB,
      operator_id: BOB,
      sub_type: 'leave',
    });

    const carol = await XmppPeer.connect(server, 'carol', 'carolpw');
    cleanups.push(() => carol.close());
    const CAROL = users.id('carol@localhost');
    await carol.join(ROOM, 'Carol');
    await c.nextWhere((f) => isNotice('group_increase')(f) && f['user_id'] === CAROL, WAIT);
    expect(await call(c, 'set_group_kick', { group_id: GROUP, user_id: CAROL })).toMatchObject({ retcode: 0 });
    const gone = await carol.waitFor(
      (s) => s.is('presence') && s.attrs['type'] === 'unavailable' && hasStatus(s, '307'),
      WAIT,
      'kicked',
    );
    expect(gone.attrs['from']).toBe(`${ROOM}/Carol`);
    expect(await c.nextWhere(isNotice('group_decrease'), WAIT)).toMatchObject({
      user_id: CAROL,
      sub_type: 'kick',
      operator_id: BOT,
    });
    expect(await call(c, 'set_group_kick', { group_id: GROUP, user_id: CAROL })).toMatchObject({
      status: 'failed',
      retcode: 100,
    });
  });

  it('a subscription request -> friend request; approving it makes a friend on the roster', async () => {
    const bob = await XmppPeer.connect(server, 'bob', 'bobpw', 'friend');
    cleanups.push(() => bob.close());
    const BOB = users.id('bob@localhost');
    await bob.send(xml('presence', { to: 'bot@localhost', type: 'subscribe' }, xml('status', {}, 'add me')));
    const req = await c.nextWhere((f) => f['post_type'] === 'request', WAIT);
    expect(req).toMatchObject({ request_type: 'friend', user_id: BOB, comment: 'add me', flag: 'bob@localhost' });
    expect(
      await call(c, 'set_friend_add_request', { flag: req['flag'], approve: true, remark: 'Bobby' }),
    ).toMatchObject({ retcode: 0 });
    await bob.waitFor(
      (s) => s.is('presence') && s.attrs['type'] === 'subscribed' && s.attrs['from'] === 'bot@localhost',
      WAIT,
      'subscribed',
    );
    expect(await c.nextWhere(isNotice('friend_add'), WAIT)).toMatchObject({ user_id: BOB });
    const friends = await eventually(
      async () => {
        const list = (await call(c, 'get_friend_list'))['data'] as Frame[];
        return list.some((f) => f['user_id'] === BOB && f['remark'] === 'Bobby') ? list : undefined;
      },
      WAIT,
      'Bob on the friend list',
    );
    expect(friends.find((f) => f['user_id'] === BOB)).toMatchObject({ nickname: 'Bobby' });
    expect(await call(c, 'set_friend_add_request', { flag: 'not a jid' })).toMatchObject({
      status: 'failed',
      retcode: 1400,
    });
  });

  it('in a room that hides real JIDs, user_id comes from room/nick; history at join is not reported', async () => {
    // Alice creates the room and talks before the bot comes: that is history, not news.
    await alice.join(ROOM2, 'Alice');
    await alice.groupchat(ROOM2, 'said before the bot came');
    await stanzaIdOf(alice, (await alice.groupchat(ROOM2, 'also before')) as string);
    const server2App = createTestApp(
      parseTestConfig(
        xmppYaml(server, '', `[{ jid: ${ROOM2}, nick: Bot2 }]`)
          .replace('username: bot', 'username: bob')
          .replace('password: botpw', 'password: bobpw'),
      ),
    );
    await server2App.start();
    cleanups.push(() => server2App.stop());
    const c2 = await TestClient.open(`ws://127.0.0.1:${wsPort(server2App)}/`);
    cleanups.push(() => c2.close());
    await eventually(
      async () => ((await call(c2, 'get_group_list'))['data'] as unknown[]).length > 0 || undefined,
      30_000,
      'bob-bot in the lobby',
    );
    await alice.groupchat(ROOM2, 'now');
    const ev = await c2.nextWhere(isMsg('group'), WAIT);
    // The first group message it reports is the new one, not the history.
    expect(ev['raw_message']).toBe('now');
    expect(ev).toMatchObject({
      group_id: groups.id(ROOM2),
      user_id: users.id(`${ROOM2}/Alice`),
      sender: { nickname: 'Alice', role: 'owner' },
    });
    // A private message through the room (to room/nick): from the occupant, answered the same way.
    await alice.send(
      xml(
        'message',
        { to: `${ROOM2}/Bot2`, type: 'chat', id: alice.nextId() },
        xml('body', {}, 'just between us'),
        xml('x', { xmlns: 'http://jabber.org/protocol/muc#user' }),
      ),
    );
    const pm = await c2.nextWhere(isMsg('private', 'just between us'), WAIT);
    expect(pm).toMatchObject({ user_id: users.id(`${ROOM2}/Alice`), sub_type: 'group', sender: { nickname: 'Alice' } });
    const since = alice.stanzas.length;
    expect(await call(c2, 'send_private_msg', { user_id: pm['user_id'], message: 'sure' })).toMatchObject({
      retcode: 0,
    });
    const got = await alice.waitFor((s) => s.is('message') && bodyOf(s) === 'sure', WAIT, 'the private answer', since);
    expect(got.attrs['from']).toBe(`${ROOM2}/Bot2`);
    await alice.leave(ROOM2, 'Alice');
  });

  it('set_group_leave: the bot leaves the room, which is no longer in its group list', async () => {
    const since = alice.stanzas.length;
    expect(await call(c, 'set_group_leave', { group_id: GROUP })).toMatchObject({ retcode: 0 });
    await alice.waitFor(
      (s) => s.is('presence') && s.attrs['from'] === `${ROOM}/Bot` && s.attrs['type'] === 'unavailable',
      WAIT,
      'the bot leaving',
      since,
    );
    await eventually(
      async () => (((await call(c, 'get_group_list'))['data'] as unknown[]).length === 0 ? true : undefined),
      WAIT,
      'an empty group list',
    );
    expect(await call(c, 'send_group_msg', { group_id: GROUP, message: 'x' })).toMatchObject({
      status: 'failed',
      retcode: 100,
    });
  });
});

export { type Element };
