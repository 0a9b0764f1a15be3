import { ActionError, renderText, Retcode, type ActionTable, type Message, type Params, type Sender } from '../../src/kit/index.js';
import { QUEUE_FULL, roleOf, type IrcState } from './adapter.js';
import { foldCase } from './protocol.js';
import type { Channel, IrcSession, Member } from './session.js';
import { splitText, textBudget } from './split.js';

/** Longest ban `set_group_ban` sets: 24 days, the longest a Node timer can wait to lift it. */
const MAX_BAN_S = 24 * 24 * 3600;

/**
 * The OneBot actions of an IRC account. Everything that needs the server answers 1503 while
 * the link is down; what IRC cannot do (delete a message, send an image) fails with a reason.
 */
export function ircActions(state: IrcState): ActionTable {
  const { users, channels, messages } = state;

  const channelFor = (s: IrcSession, groupId: number): Channel => {
    const name = channels.require(groupId);
    const channel = s.channel(name);
    if (!channel) throw new ActionError(Retcode.FAILED, `group ${groupId} (${name}): the bot is not in that channel; get_group_list lists the channels it is in`);
    return channel;
  };
  const nickFor = (s: IrcSession, userId: number): string => (userId === state.selfId() ? s.nick : users.require(userId));
  const memberOf = (s: IrcSession, channel: Channel, userId: number): Member => {
    const member = channel.members.get(s.fold(nickFor(s, userId)));
    if (!member) throw new ActionError(Retcode.FAILED, `user ${userId} is not in ${channel.name}`);
    return member;
  };

  /** Renders, splits and queues a message; records it for get_msg. */
  const send = (s: IrcSession, target: string, message: Message, where: { group?: Channel; to?: number }) => {
    const text = renderText(message, {
      nameOf: (id) => (id === state.selfId() ? s.nick : users.name(id)),
      // IRC's way to address someone: `nick: ` first, the bare nick inside a sentence.
      mention: (name, position) => (name === 'all' ? '@all' : position === 'start' ? `${name}:` : name),
      quoteOf: (id) => {
        try {
          const m = messages.get(id);
          return { name: m.sender.nickname, text: renderText(m.message) };
        } catch {
          return undefined;
        }
      },
    });
    const lines = splitText(text, textBudget(target, s.hostmask));
    if (!lines.length) throw new ActionError(Retcode.BAD_REQUEST, 'param message: nothing to send (IRC cannot send an empty message)');
    if (!s.say(target, lines)) throw new ActionError(QUEUE_FULL, `flood-control queue full (${s.queue.size} of max_queue ${state.config.max_queue} lines waiting); try again later`);
    const self: Sender = { user_id: state.selfId(), nickname: s.nick };
    const recorded = messages.record({
      message_type: where.group ? 'group' : 'private',
      ...(where.group ? { group_id: channels.id(where.group.name) } : {}),
      ...(where.to === undefined ? {} : { to: where.to }),
      user_id: state.selfId(),
      sender: self,
      message,
    });
    return { message_id: recorded.message_id };
  };

  const sendGroup = (p: Params) => {
    const s = state.session();
    const channel = channelFor(s, p.int('group_id'));
    return send(s, channel.name, p.message(), { group: channel });
  };
  const sendPrivate = (p: Params) => {
    const s = state.session();
    const userId = p.int('user_id');
    return send(s, nickFor(s, userId), p.message(), { to: userId });
  };

  const groupInfo = (channel: Channel) => ({ group_id: channels.id(channel.name), group_name: channel.name, member_count: channel.members.size, max_member_count: 0 });
  const memberInfo = (s: IrcSession, channel: Channel, member: Member) => ({
    group_id: channels.id(channel.name),
    user_id: s.isSelf(member.nick) ? state.selfId() : users.id(member.nick),
    nickname: member.nick,
    card: '',
    sex: 'unknown',
    age: 0,
    area: '',
    join_time: Math.floor(member.joinedAt / 1000),
    last_sent_time: Math.floor(member.lastSpokeAt / 1000),
    level: '',
    role: roleOf(member.modes),
    unfriendly: false,
    title: '',
    title_expire_time: 0,
    card_changeable: false,
  });

  /** Kick and ban need channel operator (or half-op) status; the server has the last word. */
  const requireOp = (s: IrcSession, channel: Channel, what: string) => {
    if (!/[qaoh]/.test(s.ownModes(channel.name))) throw new ActionError(Retcode.FAILED, `${what} needs channel operator status in ${channel.name}, which the bot does not have`);
  };
  const banMask = (member: Member) => {
    const host = member.userhost.split('@')[1];
    return host ? `*!*@${host}` : `${member.nick}!*@*`;
  };
  /** Masks the bot banned, per channel and user: a later unban lifts the same mask. */
  const bans = new Map<string, string>();

  return {
    ...messages.actions(() => {
      throw new ActionError(Retcode.FAILED, 'IRC cannot delete a message once sent');
    }),
    // Answered while reconnecting too: Koishi asks it right after connecting, and the id
    // does not depend on the link.
    get_login_info: () => ({ user_id: state.selfId(), nickname: state.nick() }),
    send_group_msg: sendGroup,
    send_private_msg: sendPrivate,
    send_msg: (p) => {
      const type = p.optionalString('message_type');
      // Without message_type, user_id wins over group_id, as in go-cqhttp (and the sandbox).
      if (type === 'private' || (type === '' && (p.has('user_id') || !p.has('group_id')))) return sendPrivate(p);
      if (type === 'group' || type === '') return sendGroup(p);
      throw new ActionError(Retcode.BAD_REQUEST, `param message_type: expected "private" or "group", got ${JSON.stringify(type)}`);
    },
    can_send_image: () => ({ yes: false }),
    can_send_record: () => ({ yes: false }),
    get_group_list: () => [...state.session().channels.values()].map(groupInfo),
    get_group_info: (p) => groupInfo(channelFor(state.session(), p.int('group_id'))),
    get_group_member_list: (p) => {
      const s = state.session();
      const channel = channelFor(s, p.int('group_id'));
      return [...channel.members.values()].map((m) => memberInfo(s, channel, m));
    },
    get_group_member_info: (p) => {
      const s = state.session();
      const channel = channelFor(s, p.int('group_id'));
      return memberInfo(s, channel, memberOf(s, channel, p.int('user_id')));
    },
    get_stranger_info: (p) => {
      const userId = p.int('user_id');
      const nick = userId === state.selfId() ? state.nick() : users.require(userId);
      return { user_id: userId, nickname: nick, sex: 'unknown', age: 0 };
    },
    get_friend_list: () => [...state.queries].map(([userId, nick]) => ({ user_id: userId, nickname: nick, remark: '' })),
    set_group_kick: (p) => {
      const s = state.session();
      const channel = channelFor(s, p.int('group_id'));
      const member = memberOf(s, channel, p.int('user_id'));
      requireOp(s, channel, 'set_group_kick');
      s.command('KICK', channel.name, member.nick, 'kicked by the bot');
      return null;
    },
    set_group_ban: (p) => {
      const s = state.session();
      const channel = channelFor(s, p.int('group_id'));
      const userId = p.int('user_id');
      const member = memberOf(s, channel, userId);
      requireOp(s, channel, 'set_group_ban');
      const duration = Math.min(Math.max(p.optionalInt('duration', 30 * 60), 0), MAX_BAN_S);
      const key = `${foldCase(channel.name)} ${userId}`;
      const mask = bans.get(key) ?? banMask(member);
      if (duration === 0) {
        bans.delete(key);
        s.command('MODE', channel.name, '-b', mask);
        return null;
      }
      bans.set(key, mask);
      s.command('MODE', channel.name, '+b', mask);
      const timer = setTimeout(() => {
        state.unbanTimers.delete(timer);
        if (bans.get(key) !== mask) return;
        bans.delete(key);
        try {
          state.session().command('MODE', channel.name, '-b', mask);
        } catch {
          // Not connected when the ban ends: it stays; a channel operator lifts it by hand.
        }
      }, duration * 1000);
      state.unbanTimers.add(timer);
      return null;
    },
    set_group_leave: (p) => {
      const s = state.session();
      const channel = channelFor(s, p.int('group_id'));
      state.wanted.delete(foldCase(channel.name));
      s.command('PART', channel.name, 'leaving');
      return null;
    },
  };
}
