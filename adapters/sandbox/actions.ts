import { createHash } from 'node:crypto';
import { getMsgData } from '../../src/onebot/message-store.js';
import { ActionError, type Params } from '../../src/onebot/params.js';
import type { ActionTable } from '../../src/onebot/router.js';
import { Retcode } from '../../src/onebot/types.js';
import { preview } from '../../src/untrusted-json.js';
import { extensionActions } from './extensions.js';
import type { SandboxWorld } from './world.js';

/** What the sandbox shows for honours: fixed, but spec-shaped. */
function honors(world: SandboxWorld, groupId: number, type: string) {
  const members = [...world.group(groupId).members.values()];
  const entry = (userId: number, description: string) => ({
    user_id: userId,
    nickname: world.displayName(userId),
    avatar: `https://sandbox.invalid/avatar/${userId}`,
    description,
  });
  const first = members[0]?.user_id ?? 0;
  const all = type === 'all';
  return {
    group_id: groupId,
    ...(all || type === 'talkative'
      ? {
          current_talkative: {
            user_id: first,
            nickname: world.displayName(first),
            avatar: `https://sandbox.invalid/avatar/${first}`,
            day_count: 1,
          },
          talkative_list: members.map((m) => entry(m.user_id, 'talkative')),
        }
      : {}),
    ...(all || type === 'performer' ? { performer_list: [] } : {}),
    ...(all || type === 'legend' ? { legend_list: [] } : {}),
    ...(all || type === 'strong_newbie' ? { strong_newbie_list: [] } : {}),
    ...(all || type === 'emotion' ? { emotion_list: [] } : {}),
  };
}

/**
 * The OneBot actions the sandbox carries out, as bot `selfId`: the spec's here, and the
 * go-cqhttp extensions bots call (forward messages, anonymous bans, essence, files, history …)
 * from their own modules.
 */
export interface SandboxActionHooks {
  /** `set_restart`: the bot's session restarts after `delayMs` (the router answered async). */
  restart?(delayMs: number): Promise<void>;
}

export function sandboxActions(
  world: SandboxWorld,
  selfId: number,
  nickname: string,
  hooks: SandboxActionHooks = {},
): ActionTable {
  const member = (groupId: number, userId: number) => {
    const m = world.member(groupId, userId);
    const u = world.users.get(userId);
    return {
      group_id: groupId,
      user_id: userId,
      nickname: u?.nickname ?? String(userId),
      card: m.card,
      sex: u?.sex ?? 'unknown',
      age: u?.age ?? 0,
      area: '',
      join_time: m.join_time,
      last_sent_time: m.last_sent_time,
      level: '1',
      role: m.role,
      unfriendly: false,
      title: m.title,
      title_expire_time: 0,
      card_changeable: true,
    };
  };
  const send = (target: { group_id: number } | { to: number }, p: Params) => {
    return { message_id: world.botSay(selfId, target, p.message()).message_id };
  };
  const cookies = (domain: string) =>
    `uin=o${selfId}; skey=@${createHash('sha1').update(`${selfId}:${domain}`).digest('hex').slice(0, 9)}; p_uin=o${selfId}`;
  const csrf = (c: string) => {
    // The bkn hash peers use on the skey: well-formed, stable per account.
    const skey = /skey=([^;]+)/.exec(c)?.[1] ?? '';
    let hash = 5381;
    for (const ch of skey) hash += (hash << 5) + ch.charCodeAt(0);
    return hash & 0x7fffffff;
  };
  const file = (name: string, kind: 'image' | 'record') => {
    const f = world.files.get(name);
    if (!f || f.kind !== kind)
      throw new ActionError(
        Retcode.FAILED,
        `no ${kind} named ${name} in the sandbox (it holds files sent in messages)`,
      );
    return f;
  };

  return {
    get_login_info: () => ({ user_id: selfId, nickname }),
    send_private_msg: (p) => send({ to: p.int('user_id') }, p),
    send_group_msg: (p) => send({ group_id: p.int('group_id') }, p),
    send_msg: (p) => {
      const type = p.optionalString('message_type');
      // Without message_type, user_id wins over group_id, as in go-cqhttp (CQSendMessage).
      if (type === 'private' || (type === '' && (p.has('user_id') || !p.has('group_id'))))
        return send({ to: p.int('user_id') }, p);
      if (type === 'group' || type === '') return send({ group_id: p.int('group_id') }, p);
      throw new ActionError(
        Retcode.BAD_REQUEST,
        `param message_type: expected "private" or "group", got ${preview(type)}`,
      );
    },
    delete_msg: (p) => void world.recall(selfId, p.int('message_id')),
    get_msg: (p, ctx) => getMsgData(world.store.get(p.int('message_id')), ctx.format),
    send_like: (p) => {
      const user = p.int('user_id');
      world.user(user);
      world.likes.set(user, (world.likes.get(user) ?? 0) + Math.min(Math.max(p.optionalInt('times', 1), 1), 10));
      return null;
    },
    set_group_kick: (p) => void world.kick(selfId, p.int('group_id'), p.int('user_id')),
    set_group_ban: (p) =>
      void world.ban(selfId, p.int('group_id'), p.int('user_id'), p.optionalInt('duration', 30 * 60)),
    set_group_whole_ban: (p) => void world.wholeBan(selfId, p.int('group_id'), p.bool('enable', true)),
    set_group_admin: (p) => void world.setAdmin(selfId, p.int('group_id'), p.int('user_id'), p.bool('enable', true)),
    set_group_anonymous: (p) => void world.setAnonymous(selfId, p.int('group_id'), p.bool('enable', true)),
    set_group_card: (p) => void world.setCard(selfId, p.int('group_id'), p.int('user_id'), p.optionalString('card')),
    set_group_name: (p) => void world.setName(selfId, p.int('group_id'), p.string('group_name')),
    set_group_leave: (p) => void world.leave(selfId, p.int('group_id'), p.bool('is_dismiss', false)),
    set_group_special_title: (p) =>
      void world.setTitle(selfId, p.int('group_id'), p.int('user_id'), p.optionalString('special_title')),
    set_friend_add_request: (p) =>
      void world.answerFriend(selfId, p.string('flag'), p.bool('approve', true), p.optionalString('remark')),
    set_group_add_request: (p) => void world.answerJoin(selfId, p.string('flag'), p.bool('approve', true)),
    get_stranger_info: (p) => {
      const u = world.user(p.int('user_id'));
      return { user_id: u.user_id, nickname: u.nickname, sex: u.sex, age: u.age };
    },
    get_friend_list: () =>
      [...(world.friends.get(selfId) ?? new Map<number, string>())].map(([id, remark]) => ({
        user_id: id,
        nickname: world.displayName(id),
        remark,
      })),
    get_group_info: (p) => {
      const g = world.group(p.int('group_id'));
      if (!g.members.has(selfId)) throw new ActionError(Retcode.FAILED, `the bot is not in group ${g.group_id}`);
      return { group_id: g.group_id, group_name: g.group_name, member_count: g.members.size, max_member_count: 500 };
    },
    get_group_list: () =>
      [...world.groups.values()]
        .filter((g) => g.members.has(selfId))
        .map((g) => ({
          group_id: g.group_id,
          group_name: g.group_name,
          member_count: g.members.size,
          max_member_count: 500,
        })),
    get_group_member_info: (p) => member(p.int('group_id'), p.int('user_id')),
    get_group_member_list: (p) => {
      const groupId = p.int('group_id');
      return [...world.group(groupId).members.keys()].map((id) => member(groupId, id));
    },
    get_group_honor_info: (p) => honors(world, p.int('group_id'), p.string('type')),
    get_cookies: (p) => ({ cookies: cookies(p.optionalString('domain')) }),
    get_csrf_token: () => ({ token: csrf(cookies('')) }),
    get_credentials: (p) => {
      const c = cookies(p.optionalString('domain'));
      return { cookies: c, csrf_token: csrf(cookies('')) };
    },
    get_image: (p) => ({ file: file(p.string('file'), 'image').url }),
    get_record: (p) => {
      const format = p.string('out_format');
      if (!['mp3', 'amr', 'wma', 'm4a', 'spx', 'ogg', 'wav', 'flac'].includes(format))
        throw new ActionError(
          Retcode.BAD_REQUEST,
          `param out_format: expected one of mp3, amr, wma, m4a, spx, ogg, wav, flac, got ${preview(format)}`,
        );
      return { file: `${file(p.string('file'), 'record').url}.${format}` };
    },
    can_send_image: () => ({ yes: true }),
    can_send_record: () => ({ yes: true }),
    set_restart: async (p) => {
      await hooks.restart?.(Math.max(0, p.optionalInt('delay', 0)));
      return null;
    },
    clean_cache: () => null,
    ...extensionActions(world, selfId),
  };
}
