import { ActionError, Retcode, type ActionTable, type Message } from '../../src/kit/index.js';
import type { XmppBot } from './bot.js';
import type { Room } from './room.js';
import { localPart, NS, parseJid, roleOf } from './stanza.js';

/**
 * The OneBot actions an XMPP account carries out. Sending, retracting, kicking, leaving and
 * answering friend requests need the server (1503 while the link is down); the lists and
 * infos answer from what the bot knows (roster, rooms, occupants), also while it reconnects.
 * Every other action answers 1404 (the router's default).
 */
export function xmppActions(bot: XmppBot): ActionTable {
  const { dir } = bot;
  const memberInfo = (
    room: Room,
    o: {
      nick: string;
      realJid: string | undefined;
      affiliation: Parameters<typeof roleOf>[0];
      joinedAt: number;
      lastSentAt: number;
    },
    userId: number,
  ) => ({
    group_id: dir.groupId(room),
    user_id: userId,
    nickname: o.nick,
    card: o.nick,
    sex: 'unknown',
    age: 0,
    area: '',
    join_time: o.joinedAt,
    last_sent_time: o.lastSentAt,
    level: '',
    role: roleOf(o.affiliation),
    unfriendly: false,
    title: '',
    title_expire_time: 0,
    card_changeable: false,
  });
  const groupInfo = (room: Room) => ({
    group_id: dir.groupId(room),
    group_name: room.name ?? localPart(room.jid),
    // The occupants we see, plus the bot.
    member_count: room.state === 'joined' ? room.occupants.size + 1 : 0,
    max_member_count: 0,
  });
  // Link first: while it is down the answer is 1503 (retry later), not "not in room".
  const sendPrivate = async (userId: number, message: Message) => {
    bot.session();
    return { message_id: await bot.sendTo({ to: bot.privateAddress(userId), type: 'chat', userId }, message) };
  };
  const sendGroup = async (groupId: number, message: Message) => {
    bot.session();
    const room = dir.joinedRoom(groupId);
    return { message_id: await bot.sendTo({ to: room.jid, type: 'groupchat', room }, message) };
  };
  const selfMember = (room: Room) => ({
    nick: room.nick,
    realJid: dir.self,
    affiliation: room.affiliation,
    joinedAt: room.joinedAt,
    lastSentAt: 0,
  });

  return {
    ...bot.messages.actions((m) => bot.retract(m)),
    send_private_msg: (p) => sendPrivate(p.int('user_id'), p.message()),
    send_group_msg: (p) => sendGroup(p.int('group_id'), p.message()),
    send_msg: (p) => {
      const type = p.optionalString('message_type');
      if (type === 'group' || (type === '' && p.has('group_id'))) return sendGroup(p.int('group_id'), p.message());
      if (type === 'private' || (type === '' && p.has('user_id'))) return sendPrivate(p.int('user_id'), p.message());
      throw new ActionError(
        Retcode.BAD_REQUEST,
        'param message_type: expected "private" or "group" (or give user_id or group_id)',
      );
    },
    get_login_info: () => ({ user_id: bot.ctx.selfId, nickname: bot.config.username }),
    get_group_list: () => [...dir.rooms.values()].filter((r) => r.state === 'joined').map(groupInfo),
    get_group_info: (p) => groupInfo(dir.room(p.int('group_id'))),
    get_group_member_list: (p) => {
      const room = dir.joinedRoom(p.int('group_id'));
      return [
        memberInfo(room, selfMember(room), bot.ctx.selfId),
        ...[...room.occupants.values()].map((o) => memberInfo(room, o, dir.occupantId(room, o))),
      ];
    },
    get_group_member_info: (p) => {
      const room = dir.joinedRoom(p.int('group_id'));
      const userId = p.int('user_id');
      if (userId === bot.ctx.selfId) return memberInfo(room, selfMember(room), userId);
      const o = dir.occupant(room, userId);
      if (!o) throw new ActionError(Retcode.FAILED, `user ${userId} is not in ${room.jid} now`);
      return memberInfo(room, o, userId);
    },
    get_friend_list: () =>
      [...dir.roster.values()].map((item) => ({
        user_id: dir.users.id(item.jid),
        nickname: item.name ?? localPart(item.jid),
        remark: item.name ?? '',
      })),
    get_stranger_info: (p) => {
      const userId = p.int('user_id');
      const name = userId === bot.ctx.selfId ? bot.config.username : dir.nameOf(userId);
      if (name === undefined) dir.users.require(userId);
      return { user_id: userId, nickname: name, sex: 'unknown', age: 0 };
    },
    set_group_kick: async (p) => {
      bot.session();
      const room = dir.joinedRoom(p.int('group_id'));
      const userId = p.int('user_id');
      const o = dir.occupant(room, userId);
      if (!o) throw new ActionError(Retcode.FAILED, `user ${userId} is not in ${room.jid} now`);
      const ban = p.bool('reject_add_request', false);
      if (ban && !o.realJid)
        throw new ActionError(Retcode.FAILED, `cannot ban ${o.nick}: the room does not show the bot their real JID`);
      // Kick = role none (moderators may); ban = affiliation outcast (admins and owners may). The server decides.
      await bot.iq((xml) =>
        xml(
          'iq',
          { type: 'set', to: room.jid },
          xml(
            'query',
            { xmlns: NS.MUC_ADMIN },
            ban ? xml('item', { affiliation: 'outcast', jid: o.realJid }) : xml('item', { nick: o.nick, role: 'none' }),
          ),
        ),
      );
      return null;
    },
    set_group_leave: async (p) => {
      bot.session();
      const room = dir.room(p.int('group_id'));
      room.wanted = false;
      if (room.state !== 'left')
        await bot.send((xml) => xml('presence', { to: `${room.jid}/${room.nick}`, type: 'unavailable' }));
      return null;
    },
    set_friend_add_request: async (p) => {
      const flag = p.string('flag');
      const jid = parseJid(flag);
      if (!/^[^@/\s]+@[^@/\s]+$/.test(jid.bare) || jid.resource)
        throw new ActionError(
          Retcode.BAD_REQUEST,
          `param flag: expected the flag of a friend request (a bare JID), got ${JSON.stringify(flag)}`,
        );
      const approve = p.bool('approve', true);
      const remark = p.optionalString('remark');
      if (!approve) {
        await bot.send((xml) => xml('presence', { to: jid.bare, type: 'unsubscribed' }));
        return null;
      }
      await bot.send((xml) => xml('presence', { to: jid.bare, type: 'subscribed' }));
      // Mutual, as QQ friends are: ask to see their presence too.
      await bot.send((xml) => xml('presence', { to: jid.bare, type: 'subscribe' }));
      if (remark)
        await bot.iq((xml) =>
          xml('iq', { type: 'set' }, xml('query', { xmlns: NS.ROSTER }, xml('item', { jid: jid.bare, name: remark }))),
        );
      return null;
    },
  };
}
