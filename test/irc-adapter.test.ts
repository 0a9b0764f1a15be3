import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tearDown, until } from './support/app.js';
import { startBot, untilOnline, type Bot } from './support/irc-bot.js';
import { slow } from './support/slow.js';
import { LineTap } from './support/line-tap.js';
import { Ngircd } from './support/ngircd.js';
import { RawIrc } from './support/raw-irc.js';

/**
 * The IRC adapter end to end: a real ngircd, plain IRC users on sockets, and a OneBot client
 * on onebridge's forward WebSocket.
 */

let server: Ngircd;
const cleanups: Array<() => unknown> = [];
let channelNo = 0;
/** A channel no other test uses, so tests never see each other's traffic. */
const freshChannel = () => `#t${++channelNo}`;

// ngircd's flood penalties (about 3 commands/s per client) would make every test wait seconds
// for joins; the adapter's own pacing is timed on the wire (LineTap). The CLI tests keep them.
const FAST = { limits: { MaxPenaltyTime: 0 } };

beforeAll(async () => {
  server = await Ngircd.start(FAST);
}, 600_000);
afterAll(async () => {
  await server?.stop();
});
afterEach(async () => {
  await tearDown(cleanups, undefined);
});

async function user(nick: string, srv = server): Promise<RawIrc> {
  const u = await RawIrc.connect(srv.port, nick);
  cleanups.push(() => u.quit());
  return u;
}

async function bot(
  watcher: RawIrc | undefined,
  options: Parameters<typeof startBot>[2] = {},
  srv = server,
): Promise<Bot> {
  const b = await startBot(srv, watcher, options);
  cleanups.push(() => b.app.stop());
  cleanups.push(() => b.client.close());
  return b;
}

describe('IRC adapter: messages', () => {
  it('a channel message reaches the bot as a group message with stable ids and group_name', async () => {
    const chan = freshChannel().replace('#t', '#Chan');
    const alice = await user('alice');
    await alice.join(chan);
    const b = await bot(alice, { channels: [chan.toLowerCase()] });
    alice.say(chan, 'hello \x02bold\x02 \x0304red\x03 world');
    const e = await b.event((f) => f['message_type'] === 'group');
    expect(e).toMatchObject({
      post_type: 'message',
      message_type: 'group',
      sub_type: 'normal',
      group_name: chan, // as the server spells it (alice created it), not as the config wrote it
      message: [{ type: 'text', data: { text: 'hello bold red world' } }],
      raw_message: 'hello bold red world',
      sender: { nickname: 'alice', role: 'admin' }, // the channel's creator is its operator
    });
    const login = await b.call('get_login_info');
    expect(login['data']).toMatchObject({ nickname: 'obbot' });
    const selfId = (login['data'] as { user_id: number }).user_id;
    expect(e['self_id']).toBe(selfId);
    const ids = { user: e['user_id'], group: e['group_id'] };
    expect(Number.isSafeInteger(ids.user) && Number.isSafeInteger(ids.group)).toBe(true);
    expect(e['user_id']).toBe((e['sender'] as { user_id: number }).user_id);
    // get_msg knows it.
    const got = await b.call('get_msg', { message_id: e['message_id'] });
    expect(got['data']).toMatchObject({ message_type: 'group', group_id: ids.group, message: e['message'] });

    // Same ids after a restart of onebridge (no store): derived from the names.
    await b.app.stop();
    const again = await bot(alice, { channels: [chan] });
    alice.say(chan, 'again');
    const e2 = await again.event((f) => f['message_type'] === 'group');
    expect({ user: e2['user_id'], group: e2['group_id'] }).toEqual(ids);
    expect((await again.call('get_login_info'))['data']).toMatchObject({ user_id: selfId });
  });

  it("the bot's send_group_msg reaches the channel; get_msg works, delete_msg fails clearly", async () => {
    const chan = freshChannel();
    const alice = await user('alice2');
    await alice.join(chan);
    const b = await bot(alice, { channels: [chan] });
    alice.say(chan, 'ping');
    const e = await b.event((f) => f['message_type'] === 'group');
    const sent = await b.call('send_group_msg', {
      group_id: e['group_id'],
      message: [{ type: 'text', data: { text: 'pong ✓ 你好' } }],
    });
    expect(sent).toMatchObject({ status: 'ok', retcode: 0 });
    const line = await alice.waitFor((l) => l.command === 'PRIVMSG' && l.nick === 'obbot');
    expect(line.params).toEqual([chan, 'pong ✓ 你好']);
    const id = (sent['data'] as { message_id: number }).message_id;
    expect((await b.call('get_msg', { message_id: id }))['data']).toMatchObject({
      message_type: 'group',
      group_id: e['group_id'],
      raw_message: 'pong ✓ 你好',
    });
    expect(await b.call('delete_msg', { message_id: id })).toMatchObject({
      status: 'failed',
      retcode: 100,
      message: expect.stringMatching(/IRC cannot delete/),
    });
    expect((await b.call('can_send_image'))['data']).toEqual({ yes: false });
    // A reply quotes the message it answers; an image is its URL; a face a text emoticon.
    await b.call('send_group_msg', {
      group_id: e['group_id'],
      message: [
        { type: 'reply', data: { id: String(e['message_id']) } },
        { type: 'text', data: { text: 'see' } },
        { type: 'image', data: { file: 'https://example.invalid/cat.png' } },
        { type: 'face', data: { id: '14' } },
      ],
    });
    const quote = await alice.waitFor((l) => l.command === 'PRIVMSG' && l.nick === 'obbot');
    const body = await alice.waitFor((l) => l.command === 'PRIVMSG' && l.nick === 'obbot');
    expect([quote.params[1], body.params[1]]).toEqual(['> alice2: ping', 'see https://example.invalid/cat.png :)']);
    // A channel the bot is not in, and an unknown action.
    expect(await b.call('send_group_msg', { group_id: 12345, message: 'x' })).toMatchObject({
      status: 'failed',
      retcode: 100,
      message: expect.stringMatching(/unknown group_id 12345/),
    });
    expect(await b.call('get_guild_list')).toMatchObject({ status: 'failed', retcode: 1404 });
  });

  it('private messages both ways, and the sender is in the friend list (open query)', async () => {
    const alice = await user('alice3');
    const b = await bot(undefined, { nick: 'obpriv' });
    await untilOnline(b);
    expect((await b.call('get_friend_list'))['data']).toEqual([]);
    alice.say('obpriv', 'psst');
    const e = await b.event((f) => f['message_type'] === 'private');
    expect(e).toMatchObject({
      sub_type: 'friend',
      message: [{ type: 'text', data: { text: 'psst' } }],
      sender: { nickname: 'alice3' },
    });
    expect((await b.call('get_friend_list'))['data']).toEqual([
      { user_id: e['user_id'], nickname: 'alice3', remark: '' },
    ]);
    expect((await b.call('get_stranger_info', { user_id: e['user_id'] }))['data']).toMatchObject({
      user_id: e['user_id'],
      nickname: 'alice3',
    });
    expect(await b.call('send_private_msg', { user_id: e['user_id'], message: 'hi back' })).toMatchObject({
      status: 'ok',
    });
    const line = await alice.waitFor((l) => l.command === 'PRIVMSG' && l.nick === 'obpriv');
    expect(line.params).toEqual(['alice3', 'hi back']);
    // NOTICE is not delivered (bots must not answer notices); a user never seen is a clear failure.
    alice.send('NOTICE obpriv :a notice');
    alice.say('obpriv', 'after notice');
    expect(await b.event((f) => f['message_type'] === 'private')).toMatchObject({ raw_message: 'after notice' });
    expect(await b.call('send_private_msg', { user_id: 4242, message: 'x' })).toMatchObject({
      status: 'failed',
      retcode: 100,
      message: expect.stringMatching(/unknown user_id 4242/),
    });
  });

  it('mentions of the bot become at segments; CTCP ACTION becomes "* nick does"', async () => {
    const chan = freshChannel();
    const alice = await user('alice4');
    await alice.join(chan);
    const b = await bot(alice, { channels: [chan], nick: 'ObMention' });
    const selfId = String(
      (await b.call('get_login_info'))['data'] &&
        ((await b.call('get_login_info'))['data'] as { user_id: number }).user_id,
    );
    const at = { type: 'at', data: { qq: selfId } };
    const next = () => b.event((f) => f['message_type'] === 'group');
    alice.say(chan, 'obmention: hi');
    expect((await next())['message']).toEqual([at, { type: 'text', data: { text: 'hi' } }]);
    alice.say(chan, 'ObMention, there');
    expect((await next())['message']).toEqual([at, { type: 'text', data: { text: 'there' } }]);
    alice.say(chan, 'hey @obmention!');
    expect((await next())['message']).toEqual([
      { type: 'text', data: { text: 'hey ' } },
      at,
      { type: 'text', data: { text: '!' } },
    ]);
    alice.say(chan, '@obmentionary is not a mention');
    expect((await next())['message']).toEqual([{ type: 'text', data: { text: '@obmentionary is not a mention' } }]);
    alice.say(chan, '\x01ACTION waves at @ObMention\x01');
    expect((await next())['message']).toEqual([{ type: 'text', data: { text: '* alice4 waves at ' } }, at]);
    // The bot's at segment for a user renders as the nick IRC users address.
    const e = await (alice.say(chan, 'x'), next());
    await b.call('send_group_msg', {
      group_id: e['group_id'],
      message: [
        { type: 'at', data: { qq: String(e['user_id']) } },
        { type: 'text', data: { text: ' welcome' } },
      ],
    });
    expect((await alice.waitFor((l) => l.command === 'PRIVMSG' && l.nick === 'ObMention')).params[1]).toMatch(
      /^alice4:? welcome$/,
    );
  });

  it('a long multi-line message arrives complete and in order, each line within 512 bytes', async () => {
    const chan = freshChannel();
    const alice = await user('alice5');
    await alice.join(chan);
    const b = await bot(alice, { channels: [chan] });
    alice.say(chan, 'go');
    const e = await b.event((f) => f['message_type'] === 'group');
    const paragraph = (n: number) => Array.from({ length: 120 }, (_, i) => `w${n}-${i}-ü你`).join(' ');
    const text = [paragraph(1), 'short line', '', paragraph(2)].join('\n');
    expect(await b.call('send_group_msg', { group_id: e['group_id'], message: text, auto_escape: true })).toMatchObject(
      { status: 'ok' },
    );
    const expected = text.split('\n').filter(Boolean).join(' ');
    const got: string[] = [];
    while (got.join(' ').length < expected.length) {
      const line = await alice.waitFor((l) => l.command === 'PRIVMSG' && l.nick === 'obbot');
      expect(Buffer.byteLength(line.raw) + 2).toBeLessThanOrEqual(512);
      got.push(line.params[1]!);
    }
    expect(got.length).toBeGreaterThan(4);
    expect(got).toContain('short line');
    expect(got.join(' ')).toBe(expected);
  });

  it('flood control spaces lines by send_interval_ms; a full queue answers 1429 at once', async () => {
    const chan = freshChannel();
    const alice = await user('alice6');
    await alice.join(chan);
    // Timed on the wire as the bot sends: ngircd then throttles busy clients by itself.
    const tap = await LineTap.start(server.port);
    cleanups.push(() => tap.close());
    const b = await bot(alice, {
      channels: [chan],
      nick: 'obflood',
      port: tap.port,
      adapter: { send_interval_ms: 150, max_queue: 6 },
    });
    alice.say(chan, 'go');
    const e = await b.event((f) => f['message_type'] === 'group');
    expect(await b.call('send_group_msg', { group_id: e['group_id'], message: 'a\nb\nc\nd\ne' })).toMatchObject({
      status: 'ok',
    });
    // 4 lines wait; 3 more cannot fit in 6, and are refused whole.
    const t0 = Date.now();
    const full = await b.call('send_group_msg', { group_id: e['group_id'], message: 'x\ny\nz' });
    expect(full).toMatchObject({ status: 'failed', retcode: 1429, message: expect.stringMatching(/max_queue 6/) });
    expect(Date.now() - t0).toBeLessThan(1000);
    const lines = await alice.messages(5, (l) => l.nick === 'obflood');
    expect(lines.map((l) => l.params[1])).toEqual(['a', 'b', 'c', 'd', 'e']);
    const sent = tap.lines.filter((l) => l.line.startsWith('PRIVMSG'));
    expect(sent.map((l) => l.line)).toEqual(['a', 'b', 'c', 'd', 'e'].map((t) => `PRIVMSG ${chan} ${t}`));
    // Observed in the same event loop as the sender, so a line may be seen late by a scheduling
    // delay, which grows with the machine's slowness (emulated arm64); without pacing the five
    // lines would arrive within a few ms of each other, far under every bound here.
    for (let i = 1; i < sent.length; i++)
      expect(sent[i]!.at - sent[i - 1]!.at).toBeGreaterThanOrEqual(Math.max(0, 150 - slow(50)));
    expect(sent.at(-1)!.at - sent[0]!.at).toBeGreaterThanOrEqual(4 * 150 - slow(15));
  });
});

describe('IRC adapter: channels and members', () => {
  it('joins, parts, kicks and quits of others are group_increase / group_decrease notices', async () => {
    const chan = freshChannel();
    const alice = await user('alice7');
    await alice.join(chan);
    const b = await bot(alice, { channels: [chan] });
    const bob = await user('bob7');
    await bob.join(chan);
    const inc = await b.event((f) => f['notice_type'] === 'group_increase');
    expect(inc).toMatchObject({ sub_type: 'approve' });
    const bobId = inc['user_id'];
    const group = inc['group_id'];
    bob.send(`PART ${chan} :bye`);
    expect(await b.event((f) => f['notice_type'] === 'group_decrease')).toMatchObject({
      sub_type: 'leave',
      group_id: group,
      user_id: bobId,
      operator_id: bobId,
    });
    await bob.join(chan);
    await b.event((f) => f['notice_type'] === 'group_increase');
    alice.send(`KICK ${chan} bob7 :out`);
    const kick = await b.event((f) => f['notice_type'] === 'group_decrease');
    expect(kick).toMatchObject({ sub_type: 'kick', group_id: group, user_id: bobId });
    expect(kick['operator_id']).not.toBe(bobId);
    await bob.join(chan);
    await b.event((f) => f['notice_type'] === 'group_increase');
    await bob.quit();
    expect(await b.event((f) => f['notice_type'] === 'group_decrease')).toMatchObject({
      sub_type: 'leave',
      group_id: group,
      user_id: bobId,
    });
  });

  it('the bot kicked: group_decrease kick_me, and the channel is gone from its groups', async () => {
    const chan = freshChannel();
    const alice = await user('alice11');
    await alice.join(chan);
    const b = await bot(alice, { channels: [chan], nick: 'obkicked' });
    alice.say(chan, 'hi');
    const e = await b.event((f) => f['message_type'] === 'group');
    const selfId = ((await b.call('get_login_info'))['data'] as { user_id: number }).user_id;
    alice.send(`KICK ${chan} obkicked :bye`);
    expect(await b.event((f) => f['notice_type'] === 'group_decrease')).toMatchObject({
      sub_type: 'kick_me',
      group_id: e['group_id'],
      user_id: selfId,
      operator_id: e['user_id'],
    });
    expect((await b.call('get_group_list'))['data']).toEqual([]);
    expect(await b.call('send_group_msg', { group_id: e['group_id'], message: 'x' })).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/not in that channel/),
    });
  });

  it('group list, info and members (operators are admins); kick and ban need op; leave parts', async () => {
    const chan = freshChannel();
    const alice = await user('alice8');
    await alice.join(chan);
    const bob = await user('bob8');
    await bob.join(chan);
    bob.send(`MODE ${chan} +v bob8`); // not an op: refused by the server, bob stays a plain member
    const b = await bot(alice, { channels: [chan] });
    alice.say(chan, 'hi');
    const e = await b.event((f) => f['message_type'] === 'group');
    const group = e['group_id'];
    expect((await b.call('get_group_list'))['data']).toEqual([
      { group_id: group, group_name: chan, member_count: 3, max_member_count: 0 },
    ]);
    expect((await b.call('get_group_info', { group_id: group }))['data']).toMatchObject({
      group_name: chan,
      member_count: 3,
    });
    const members = (await b.call('get_group_member_list', { group_id: group }))['data'] as Array<{
      nickname: string;
      role: string;
      user_id: number;
    }>;
    expect(Object.fromEntries(members.map((m) => [m.nickname, m.role]))).toEqual({
      alice8: 'admin',
      bob8: 'member',
      obbot: 'member',
    });
    const bobId = members.find((m) => m.nickname === 'bob8')!.user_id;
    expect((await b.call('get_group_member_info', { group_id: group, user_id: bobId }))['data']).toMatchObject({
      nickname: 'bob8',
      role: 'member',
      group_id: group,
    });

    expect(await b.call('set_group_kick', { group_id: group, user_id: bobId })).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/operator/),
    });
    expect(await b.call('set_group_ban', { group_id: group, user_id: bobId })).toMatchObject({
      status: 'failed',
      message: expect.stringMatching(/operator/),
    });
    alice.send(`MODE ${chan} +o obbot`);
    await alice.waitFor((l) => l.command === 'MODE' && l.params[2] === 'obbot');
    // A round trip on the bot's IRC socket: the server sends it the MODE before this message.
    alice.say(chan, 'op given');
    await b.event((f) => f['message_type'] === 'group' && f['raw_message'] === 'op given');
    const self = ((await b.call('get_login_info'))['data'] as { user_id: number }).user_id;
    expect((await b.call('get_group_member_info', { group_id: group, user_id: self }))['data']).toMatchObject({
      role: 'admin',
    });
    expect(await b.call('set_group_ban', { group_id: group, user_id: bobId, duration: 60 })).toMatchObject({
      status: 'ok',
    });
    expect((await alice.waitFor((l) => l.command === 'MODE' && l.nick === 'obbot')).params.slice(1)).toEqual([
      '+b',
      '*!*@127.0.0.1',
    ]);
    expect(await b.call('set_group_ban', { group_id: group, user_id: bobId, duration: 0 })).toMatchObject({
      status: 'ok',
    });
    expect((await alice.waitFor((l) => l.command === 'MODE' && l.nick === 'obbot')).params.slice(1)).toEqual([
      '-b',
      '*!*@127.0.0.1',
    ]);
    // A ban with a duration is lifted by the bot when it ends.
    expect(await b.call('set_group_ban', { group_id: group, user_id: bobId, duration: 1 })).toMatchObject({
      status: 'ok',
    });
    const banned = await alice.waitFor((l) => l.command === 'MODE' && l.nick === 'obbot');
    expect(banned.params.slice(1)).toEqual(['+b', '*!*@127.0.0.1']);
    const lifted = await alice.waitFor((l) => l.command === 'MODE' && l.nick === 'obbot', 5000);
    expect(lifted.params.slice(1)).toEqual(['-b', '*!*@127.0.0.1']);
    expect(lifted.at - banned.at).toBeGreaterThanOrEqual(900);
    expect(await b.call('set_group_kick', { group_id: group, user_id: bobId })).toMatchObject({ status: 'ok' });
    expect((await alice.waitFor((l) => l.command === 'KICK')).params.slice(0, 2)).toEqual([chan, 'bob8']);
    expect(await b.call('set_group_leave', { group_id: group })).toMatchObject({ status: 'ok' });
    await alice.waitFor((l) => l.command === 'PART' && l.nick === 'obbot');
    expect((await b.call('get_group_list'))['data']).toEqual([]);
  });
});

describe('IRC adapter: link life', () => {
  it('takes another nick when its own is in use; self_id stays the one of the configured nick', async () => {
    const squatter = await user('obnick');
    const first = await bot(undefined, { nick: 'obnick2' });
    await untilOnline(first);
    const derivedFor2 = ((await first.call('get_login_info'))['data'] as { user_id: number }).user_id;
    await first.app.stop();
    const b = await bot(undefined, { nick: 'obnick' });
    await untilOnline(b);
    const login = (await b.call('get_login_info'))['data'] as { user_id: number; nickname: string };
    expect(login.nickname).toBe('obnick_');
    expect(login.user_id).not.toBe(derivedFor2);
    squatter.say('obnick_', 'who are you');
    expect(await b.event((f) => f['message_type'] === 'private')).toMatchObject({
      self_id: login.user_id,
      raw_message: 'who are you',
    });
  });

  it('server killed: offline and 1503; restarted: reconnect, rejoin, events again; shown in /connections', async () => {
    const own = await Ngircd.start(FAST);
    cleanups.push(() => own.stop());
    const chan = freshChannel();
    const b = await bot(undefined, { channels: [chan] }, own);
    await untilOnline(b);
    expect(b.link()).toMatchObject({
      transport: 'upstream',
      endpoint: `irc://127.0.0.1:${own.port}`,
      state: 'open',
      reconnects: 0,
    });
    const alice = await user('alice9', own);
    await alice.join(chan);
    alice.say(chan, 'before');
    const before = await b.event((f) => f['message_type'] === 'group');

    await own.kill();
    await untilOnline(b, false);
    expect(b.link().state).toBe('connecting');
    const t0 = Date.now();
    expect(await b.call('send_group_msg', { group_id: before['group_id'], message: 'x' })).toMatchObject({
      status: 'failed',
      retcode: 1503,
    });
    expect(await b.call('get_group_list')).toMatchObject({ status: 'failed', retcode: 1503 });
    // Who the bot is does not need the server (Koishi asks on connect).
    expect(await b.call('get_login_info')).toMatchObject({ status: 'ok', data: { nickname: 'obbot' } });
    expect(Date.now() - t0).toBeLessThan(1000);

    await own.restart();
    await untilOnline(b);
    expect(b.link().reconnects).toBeGreaterThanOrEqual(1);
    const alice2 = await user('alice9', own);
    await alice2.join(chan);
    // The bot rejoined the channel after the reconnect.
    const names = (await b.call('get_group_list'))['data'] as Array<{ group_id: number }>;
    expect(names.map((g) => g.group_id)).toEqual([before['group_id']]);
    alice2.say(chan, 'after');
    expect(await b.event((f) => f['message_type'] === 'group')).toMatchObject({
      raw_message: 'after',
      group_id: before['group_id'],
      user_id: before['user_id'],
    });
  });

  it('a frozen server is noticed by our PING; the link comes back when it thaws', async () => {
    const own = await Ngircd.start(FAST);
    cleanups.push(() => own.stop());
    const b = await bot(undefined, { adapter: { ping_interval_ms: 300 } }, own);
    await untilOnline(b);
    own.freeze();
    await untilOnline(b, false, 10_000);
    own.thaw();
    await untilOnline(b, true, 15_000);
    expect(b.link().reconnects).toBeGreaterThanOrEqual(1);
  });

  it('a server that accepts but never registers us: registration timeout, then retries', async () => {
    const own = await Ngircd.start(FAST);
    cleanups.push(() => own.stop());
    own.freeze();
    const b = await bot(undefined, { adapter: { registration_timeout_ms: 300 } }, own);
    await until(() => (b.link().reconnects ?? 0) >= 2, 10_000, 'a retry after the registration timeout');
    expect((await b.call('get_status'))['data']).toMatchObject({ online: false });
    own.thaw();
    await untilOnline(b, true, 15_000);
  });

  it('stop sends QUIT with quit_message and is bounded', async () => {
    const chan = freshChannel();
    const alice = await user('alice10');
    await alice.join(chan);
    const b = await bot(alice, { channels: [chan], nick: 'obquit', adapter: { quit_message: 'see you' } });
    const t0 = Date.now();
    await b.app.stop();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect((await alice.waitFor((l) => l.command === 'QUIT' && l.nick === 'obquit')).params[0]).toMatch(/see you/);
  });
});
