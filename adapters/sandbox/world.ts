import { EventEmitter } from 'eventemitter3';
import { stringifyCQ } from '../../src/onebot/cqcode.js';
import { now, type Sender } from '../../src/onebot/events.js';
import { MessageStore, type StoredMessage } from '../../src/onebot/message-store.js';
import { ActionError } from '../../src/onebot/params.js';
import { Retcode, type Message, type OneBotEvent } from '../../src/onebot/types.js';
import { anonymousSender, type AnonymousIdentity } from './anonymous.js';
import type { SandboxWorldConfig } from './config.js';
import { ForwardStore, packForward } from './forward.js';

export interface User {
  user_id: number;
  nickname: string;
  sex: 'male' | 'female' | 'unknown';
  age: number;
}

export type Role = 'owner' | 'admin' | 'member';

export interface Member {
  user_id: number;
  role: Role;
  card: string;
  title: string;
  join_time: number;
  last_sent_time: number;
  /** Unix seconds until which the member may not speak; 0 = not muted. */
  muted_until: number;
}

export interface Group {
  group_id: number;
  group_name: string;
  members: Map<number, Member>;
  whole_ban: boolean;
  anonymous: boolean;
}

/** A message in the world. Private messages have `to`; group messages have `group_id`. */
export interface WorldMessage {
  message_id: number;
  time: number;
  /** Sender: a user, or a bot's self_id. */
  from: number;
  /** Set when a bot sent it. */
  bot: boolean;
  group_id?: number;
  to?: number;
  message: Message;
  raw_message: string;
  /** Sent anonymously: who the group sees; `from` stays the real author (for recalls). */
  anonymous?: AnonymousIdentity;
}

/**
 * Something that happened in the world that bots may hear of: who hears it (`audience`), the
 * OneBot event each of them gets, and a line for the console.
 */
export interface WorldNotice {
  readonly text: string;
  audience(selfId: number): boolean;
  event(selfId: number): OneBotEvent;
}

interface PendingRequest {
  kind: 'friend' | 'group';
  user_id: number;
  /** friend: the bot asked; group: the group. */
  target: number;
  comment: string;
}

const OUTBOX_LIMIT = 1000;
const INT32_MAX = 2 ** 31 - 1;
const RANK: Readonly<Record<Role, number>> = { owner: 3, admin: 2, member: 1 };

const failed = (message: string) => new ActionError(Retcode.FAILED, message);

/**
 * The simulated chat world shared by every sandbox account of an app: users, bots, groups,
 * friendships, requests, the messages between them and a bounded message store. Operations
 * check permissions as a chat platform would (an admin cannot kick the owner, a muted member
 * cannot speak) and announce what changed as `notice` events with the spec's notice shapes.
 * It knows nothing of OneBot transports.
 */
export class SandboxWorld extends EventEmitter<{ message: [WorldMessage]; notice: [WorldNotice] }> {
  readonly users = new Map<number, User>();
  readonly groups = new Map<number, Group>();
  readonly bots = new Map<number, string>();
  /** bot → friend user → remark. */
  readonly friends = new Map<number, Map<number, string>>();
  readonly store: MessageStore;
  /** Forward messages (merged chats) by id, as `forward` segments and get_forward_msg see them. */
  readonly forwards: ForwardStore;
  readonly files = new Map<string, { kind: 'image' | 'record'; url: string }>();
  readonly likes = new Map<number, number>();
  readonly #requests = new Map<string, PendingRequest>();
  readonly #outbox: WorldMessage[] = [];
  readonly #botRole: Role;
  #nextId = 1;
  #nextFlag = 1;
  #attached = 0;

  constructor(config: SandboxWorldConfig) {
    super();
    this.#botRole = config.bot_role;
    this.store = new MessageStore(config.message_capacity);
    this.forwards = new ForwardStore(config.message_capacity);
    for (const u of config.users) this.users.set(u.user_id, { ...u });
    for (const g of config.groups) {
      const members = new Map<number, Member>();
      for (const m of g.members) members.set(m.user_id, this.#member(m.user_id, m.role, m.card));
      // Anonymous chat on, so bots' handling of anonymous messages can be tried at once.
      this.groups.set(g.group_id, { group_id: g.group_id, group_name: g.group_name, members, whole_ban: false, anonymous: true });
    }
  }

  #member(userId: number, role: Role, card = ''): Member {
    return { user_id: userId, role, card, title: '', join_time: now(), last_sent_time: 0, muted_until: 0 };
  }

  /** A bot joins: it becomes a user, a member of every group that does not list it, everyone's friend. */
  addBot(selfId: number, nickname: string): void {
    this.bots.set(selfId, nickname);
    if (!this.users.has(selfId)) this.users.set(selfId, { user_id: selfId, nickname, sex: 'unknown', age: 0 });
    for (const group of this.groups.values()) {
      if (!group.members.has(selfId)) group.members.set(selfId, this.#member(selfId, this.#botRole));
    }
    const friends = new Map<number, string>();
    for (const id of this.users.keys()) if (id !== selfId && !this.bots.has(id)) friends.set(id, '');
    this.friends.set(selfId, friends);
  }

  /** Reference count of attached adapters; the first attach and last detach return true. */
  attach(): boolean {
    return ++this.#attached === 1;
  }

  detach(): boolean {
    if (this.#attached === 0) return false;
    return --this.#attached === 0;
  }

  user(userId: number): User {
    const user = this.users.get(userId);
    if (!user) throw failed(`user ${userId} does not exist in the sandbox`);
    return user;
  }

  group(groupId: number): Group {
    const group = this.groups.get(groupId);
    if (!group) throw failed(`group ${groupId} does not exist in the sandbox`);
    return group;
  }

  member(groupId: number, userId: number): Member {
    const member = this.group(groupId).members.get(userId);
    if (!member) throw failed(`user ${userId} is not a member of group ${groupId}`);
    return member;
  }

  displayName(userId: number, groupId?: number): string {
    const card = groupId === undefined ? '' : (this.groups.get(groupId)?.members.get(userId)?.card ?? '');
    return card || this.users.get(userId)?.nickname || String(userId);
  }

  isFriend(selfId: number, userId: number): boolean {
    return this.friends.get(selfId)?.has(userId) ?? false;
  }

  sender(userId: number, groupId?: number): Sender {
    const user = this.users.get(userId);
    const base: Sender = { user_id: userId, nickname: user?.nickname ?? String(userId), sex: user?.sex ?? 'unknown', age: user?.age ?? 0 };
    if (groupId === undefined) return base;
    const m = this.groups.get(groupId)?.members.get(userId);
    return { ...base, card: m?.card ?? '', role: m?.role ?? 'member', title: m?.title ?? '' };
  }

  /**
   * A person (or a test, or the console) says something, in a group or to a bot; `node`
   * segments become one forward message. `anonymous` (groups only; see anonymous.ts for the
   * checks) hides the author behind that identity.
   */
  say(from: number, target: { group_id: number } | { to: number }, message: Message, options: { anonymous?: AnonymousIdentity } = {}): WorldMessage {
    this.user(from);
    if ('group_id' in target) this.#mayTalk(target.group_id, from);
    else if (!this.users.has(target.to)) throw failed(`user ${target.to} does not exist in the sandbox`);
    return this.#publish(from, false, target, packForward(this, from, message, 'group_id' in target ? target.group_id : undefined), options.anonymous);
  }

  /** A bot sends a message; it lands in the outbox and reaches everyone else in the chat. */
  botSay(selfId: number, target: { group_id: number } | { to: number }, message: Message): WorldMessage {
    if ('group_id' in target) this.#mayTalk(target.group_id, selfId);
    else this.user(target.to);
    if (message.length === 0) throw new ActionError(Retcode.BAD_REQUEST, 'param message: the message is empty');
    return this.#publish(selfId, true, target, packForward(this, selfId, message, 'group_id' in target ? target.group_id : undefined));
  }

  #mayTalk(groupId: number, userId: number): void {
    const group = this.group(groupId);
    const m = this.member(groupId, userId);
    if (m.muted_until > now()) throw failed(`${this.displayName(userId, groupId)} is muted in group ${groupId} for ${m.muted_until - now()} more s`);
    if (group.whole_ban && m.role === 'member') throw failed(`group ${groupId} is muted for members (whole-group ban)`);
  }

  /** Bot messages with an id above `since`, waiting up to `timeoutMs` for the first one. */
  async botMessagesSince(since: number, timeoutMs: number, signal: AbortSignal): Promise<WorldMessage[]> {
    const pick = () => this.#outbox.filter((m) => m.message_id > since);
    const ready = pick();
    if (ready.length > 0 || timeoutMs <= 0 || signal.aborted) return ready;
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.off('message', onMessage);
        signal.removeEventListener('abort', finish);
        resolve(pick());
      };
      const onMessage = (m: WorldMessage) => {
        if (m.bot && m.message_id > since) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.on('message', onMessage);
      signal.addEventListener('abort', finish, { once: true });
    });
  }

  #publish(from: number, bot: boolean, target: { group_id: number } | { to: number }, message: Message, anonymous?: AnonymousIdentity): WorldMessage {
    const id = this.#nextId;
    // int32 as the spec's message_id; wrap long before overflow.
    this.#nextId = id >= INT32_MAX ? 1 : id + 1;
    const msg: WorldMessage = { message_id: id, time: now(), from, bot, ...target, message, raw_message: stringifyCQ(message), ...(anonymous ? { anonymous } : {}) };
    const groupId = 'group_id' in target ? target.group_id : undefined;
    if (groupId !== undefined) this.member(groupId, from).last_sent_time = msg.time;
    this.store.put({
      message_id: id,
      time: msg.time,
      message_type: groupId === undefined ? 'private' : 'group',
      user_id: from,
      sender: anonymous ? anonymousSender(anonymous) : this.sender(from, groupId),
      message,
      raw_message: msg.raw_message,
      ...(anonymous ? { anonymous } : {}),
      ...(groupId === undefined ? { to: (target as { to: number }).to } : { group_id: groupId }),
    });
    for (const seg of message) {
      const file = seg.data['file'];
      if ((seg.type === 'image' || seg.type === 'record') && typeof file === 'string' && file) {
        this.files.set(file, { kind: seg.type, url: typeof seg.data['url'] === 'string' ? seg.data['url'] : `https://sandbox.invalid/${encodeURIComponent(file)}` });
      }
    }
    // Into the outbox before anyone hears of it: a long poll woken by the event must find it.
    if (bot) {
      this.#outbox.push(msg);
      if (this.#outbox.length > OUTBOX_LIMIT) this.#outbox.shift();
    }
    this.emit('message', msg);
    return msg;
  }

  // ---- notices -------------------------------------------------------------------------

  /** For the extensions (essence.ts, files.ts …): announce a notice, as the world's own do. */
  announce(text: string, audience: (selfId: number) => boolean, fields: (selfId: number) => Record<string, unknown>): void {
    this.#notify(text, audience, fields);
  }

  /** Bots in the group, except `except`. */
  groupAudience(groupId: number, except?: number): (selfId: number) => boolean {
    return this.#groupAudience(groupId, except);
  }

  /** Throws a clear failure unless `actor` has at least `role` in the group. */
  requireRole(groupId: number, actor: number, role: Role): Member {
    return this.#atLeast(groupId, actor, role);
  }

  /** Requests nobody has answered yet, with their flags (get_group_system_msg). */
  pendingRequests(): Array<{ flag: string; kind: 'friend' | 'group'; user_id: number; target: number; comment: string }> {
    return [...this.#requests].map(([flag, r]) => ({ flag, ...r }));
  }

  #notify(text: string, audience: (selfId: number) => boolean, fields: (selfId: number) => Record<string, unknown>): void {
    this.emit('notice', { text, audience, event: (selfId) => ({ time: now(), self_id: selfId, post_type: 'notice', ...fields(selfId) }) });
  }

  #groupAudience(groupId: number, except?: number): (selfId: number) => boolean {
    return (selfId) => selfId !== except && (this.groups.get(groupId)?.members.has(selfId) ?? false);
  }

  #request(kind: 'friend' | 'group', text: string, audience: (selfId: number) => boolean, fields: Record<string, unknown>): string {
    const flag = `sandbox-${kind}-${this.#nextFlag++}`;
    this.#requests.set(flag, { kind, user_id: fields['user_id'] as number, target: (kind === 'group' ? fields['group_id'] : fields['bot']) as number, comment: String(fields['comment'] ?? '') });
    const { bot: _bot, ...rest } = fields;
    this.emit('notice', { text, audience, event: (selfId) => ({ time: now(), self_id: selfId, post_type: 'request', request_type: kind, ...rest, flag }) });
    return flag;
  }

  /** Whether `actor` outranks `target` in the group (owner > admin > member). */
  #outranks(groupId: number, actor: number, target: number): void {
    const a = this.member(groupId, actor);
    const t = this.member(groupId, target);
    if (RANK[a.role] <= RANK[t.role]) throw failed(`${this.displayName(actor, groupId)} (${a.role}) cannot manage ${this.displayName(target, groupId)} (${t.role}) in group ${groupId}`);
  }

  #atLeast(groupId: number, actor: number, role: Role): Member {
    const m = this.member(groupId, actor);
    if (RANK[m.role] < RANK[role]) throw failed(`${this.displayName(actor, groupId)} must be ${role} of group ${groupId} (is ${m.role})`);
    return m;
  }

  /** Recall: the sender may recall; in groups, anyone who outranks the sender too. */
  recall(actor: number, messageId: number): StoredMessage {
    const m = this.store.get(messageId);
    if (m.group_id !== undefined) {
      if (actor !== m.user_id) this.#outranks(m.group_id, actor, m.user_id);
      this.store.delete(messageId);
      this.#notify(`[group ${m.group_id}] ${this.displayName(actor, m.group_id)} recalled message ${messageId}`, this.#groupAudience(m.group_id), () => ({ notice_type: 'group_recall', group_id: m.group_id, user_id: m.user_id, operator_id: actor, message_id: messageId }));
    } else {
      if (actor !== m.user_id) throw failed(`only the sender can recall private message ${messageId}`);
      this.store.delete(messageId);
      this.#notify(`[private] ${this.displayName(actor)} recalled message ${messageId}`, (selfId) => selfId === m.to && selfId !== actor, () => ({ notice_type: 'friend_recall', user_id: m.user_id, message_id: messageId }));
    }
    return m;
  }

  kick(actor: number, groupId: number, userId: number): void {
    this.#outranks(groupId, actor, userId);
    this.group(groupId).members.delete(userId);
    this.#notify(`[group ${groupId}] ${this.displayName(actor)} kicked ${this.displayName(userId)}`, (selfId) => selfId === userId || this.#groupAudience(groupId)(selfId), (selfId) => ({
      notice_type: 'group_decrease',
      sub_type: selfId === userId ? 'kick_me' : 'kick',
      group_id: groupId,
      operator_id: actor,
      user_id: userId,
    }));
  }

  /** `duration` seconds; 0 lifts the ban. */
  ban(actor: number, groupId: number, userId: number, duration: number): void {
    this.#outranks(groupId, actor, userId);
    const m = this.member(groupId, userId);
    m.muted_until = duration > 0 ? now() + duration : 0;
    const sub = duration > 0 ? 'ban' : 'lift_ban';
    this.#notify(`[group ${groupId}] ${this.displayName(actor, groupId)} ${duration > 0 ? `muted ${this.displayName(userId, groupId)} for ${duration} s` : `unmuted ${this.displayName(userId, groupId)}`}`, this.#groupAudience(groupId), () => ({
      notice_type: 'group_ban',
      sub_type: sub,
      group_id: groupId,
      operator_id: actor,
      user_id: userId,
      duration: Math.max(0, duration),
    }));
  }

  /** Whole-group ban; announced as group_ban with user_id 0, as peers do. */
  wholeBan(actor: number, groupId: number, enable: boolean): void {
    this.#atLeast(groupId, actor, 'admin');
    this.group(groupId).whole_ban = enable;
    this.#notify(`[group ${groupId}] ${this.displayName(actor, groupId)} ${enable ? 'muted' : 'unmuted'} the whole group`, this.#groupAudience(groupId), () => ({
      notice_type: 'group_ban',
      sub_type: enable ? 'ban' : 'lift_ban',
      group_id: groupId,
      operator_id: actor,
      user_id: 0,
      duration: 0,
    }));
  }

  setAdmin(actor: number, groupId: number, userId: number, enable: boolean): void {
    this.#atLeast(groupId, actor, 'owner');
    const m = this.member(groupId, userId);
    if (m.role === 'owner') throw failed(`the owner of group ${groupId} cannot be made ${enable ? 'admin' : 'member'}`);
    if ((m.role === 'admin') === enable) return;
    m.role = enable ? 'admin' : 'member';
    this.#notify(`[group ${groupId}] ${this.displayName(userId, groupId)} is ${enable ? 'now' : 'no longer'} an admin`, this.#groupAudience(groupId), () => ({ notice_type: 'group_admin', sub_type: enable ? 'set' : 'unset', group_id: groupId, user_id: userId }));
  }

  setAnonymous(actor: number, groupId: number, enable: boolean): void {
    this.#atLeast(groupId, actor, 'admin');
    this.group(groupId).anonymous = enable;
  }

  setCard(actor: number, groupId: number, userId: number, card: string): void {
    if (actor !== userId) this.#outranks(groupId, actor, userId);
    this.member(groupId, userId).card = card;
  }

  setName(actor: number, groupId: number, name: string): void {
    this.#atLeast(groupId, actor, 'admin');
    if (!name) throw new ActionError(Retcode.BAD_REQUEST, 'param group_name: must not be empty');
    this.group(groupId).group_name = name;
  }

  setTitle(actor: number, groupId: number, userId: number, title: string): void {
    this.#atLeast(groupId, actor, 'owner');
    this.member(groupId, userId).title = title;
  }

  /** The actor leaves; an owner with `dismiss` dissolves the group. */
  leave(actor: number, groupId: number, dismiss: boolean): void {
    const m = this.member(groupId, actor);
    if (dismiss && m.role === 'owner') {
      const audience = [...this.group(groupId).members.keys()];
      this.groups.delete(groupId);
      this.#notify(`[group ${groupId}] dismissed by ${this.displayName(actor)}`, (selfId) => selfId !== actor && audience.includes(selfId), () => ({ notice_type: 'group_decrease', sub_type: 'kick_me', group_id: groupId, operator_id: actor, user_id: actor }));
      return;
    }
    if (m.role === 'owner') throw failed(`the owner cannot leave group ${groupId}; pass is_dismiss to dissolve it`);
    this.group(groupId).members.delete(actor);
    this.#notify(`[group ${groupId}] ${this.displayName(actor)} left`, this.#groupAudience(groupId, actor), () => ({ notice_type: 'group_decrease', sub_type: 'leave', group_id: groupId, operator_id: actor, user_id: actor }));
  }

  /** A user asks a bot for friendship; returns the request's flag. */
  requestFriend(userId: number, botId: number, comment = ''): string {
    this.user(userId);
    if (!this.bots.has(botId)) throw failed(`${botId} is not a bot in the sandbox`);
    this.friends.get(botId)!.delete(userId);
    return this.#request('friend', `[request] ${this.displayName(userId)} asks ${this.displayName(botId)} to be friends`, (selfId) => selfId === botId, { user_id: userId, comment, bot: botId });
  }

  /** A user asks to join a group; the group's admin bots hear of it. */
  requestJoin(userId: number, groupId: number, comment = ''): string {
    this.user(userId);
    const group = this.group(groupId);
    if (group.members.has(userId)) throw failed(`${this.displayName(userId)} is already in group ${groupId}`);
    return this.#request('group', `[request] ${this.displayName(userId)} asks to join group ${groupId}`, (selfId) => RANK[group.members.get(selfId)?.role ?? 'member'] >= RANK.admin, { sub_type: 'add', group_id: groupId, user_id: userId, comment });
  }

  answerFriend(botId: number, flag: string, approve: boolean, remark: string): void {
    const req = this.#requests.get(flag);
    if (!req || req.kind !== 'friend' || req.target !== botId) throw failed(`no pending friend request with flag ${flag}`);
    this.#requests.delete(flag);
    if (!approve) return;
    this.friends.get(botId)!.set(req.user_id, remark);
    this.#notify(`[friend] ${this.displayName(req.user_id)} and ${this.displayName(botId)} are now friends`, (selfId) => selfId === botId, () => ({ notice_type: 'friend_add', user_id: req.user_id }));
  }

  answerJoin(botId: number, flag: string, approve: boolean): void {
    const req = this.#requests.get(flag);
    if (!req || req.kind !== 'group') throw failed(`no pending group request with flag ${flag}`);
    this.#atLeast(req.target, botId, 'admin');
    this.#requests.delete(flag);
    if (!approve) return;
    this.group(req.target).members.set(req.user_id, this.#member(req.user_id, 'member'));
    this.#notify(`[group ${req.target}] ${this.displayName(req.user_id)} joined`, this.#groupAudience(req.target), () => ({ notice_type: 'group_increase', sub_type: 'approve', group_id: req.target, operator_id: botId, user_id: req.user_id }));
  }

  poke(from: number, target: number, groupId?: number): void {
    this.user(from);
    this.user(target);
    if (groupId !== undefined) this.member(groupId, from);
    const audience = groupId === undefined ? (selfId: number) => selfId === target : this.#groupAudience(groupId);
    this.#notify(`${groupId === undefined ? '[private]' : `[group ${groupId}]`} ${this.displayName(from, groupId)} poked ${this.displayName(target, groupId)}`, audience, () => ({
      notice_type: 'notify',
      sub_type: 'poke',
      ...(groupId === undefined ? {} : { group_id: groupId }),
      user_id: from,
      // go-cqhttp adds sender_id to group and private pokes alike; bots read either field.
      sender_id: from,
      target_id: target,
    }));
  }

  get lastMessageId(): number {
    return this.#nextId - 1;
  }
}
