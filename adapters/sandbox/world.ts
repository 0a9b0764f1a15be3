import { EventEmitter } from 'eventemitter3';
import { stringifyCQ } from '../../src/onebot/cqcode.js';
import { now } from '../../src/onebot/events.js';
import { ActionError } from '../../src/onebot/params.js';
import { Retcode, type Message } from '../../src/onebot/types.js';
import type { SandboxWorldConfig } from './config.js';

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
  join_time: number;
}

export interface Group {
  group_id: number;
  group_name: string;
  members: Map<number, Member>;
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
}

const OUTBOX_LIMIT = 1000;
const INT32_MAX = 2 ** 31 - 1;

/**
 * The simulated chat world shared by every sandbox account of an app: users, bots, groups
 * and the messages between them. It validates who may talk where; it knows nothing of OneBot
 * transports. The outbox keeps the last bot messages for `GET /sandbox/messages`.
 */
export class SandboxWorld extends EventEmitter<{ message: [WorldMessage] }> {
  readonly users = new Map<number, User>();
  readonly groups = new Map<number, Group>();
  readonly bots = new Map<number, string>();
  readonly #outbox: WorldMessage[] = [];
  #nextId = 1;
  #attached = 0;

  constructor(config: SandboxWorldConfig) {
    super();
    for (const u of config.users) this.users.set(u.user_id, { ...u });
    for (const g of config.groups) {
      const members = new Map<number, Member>();
      for (const m of g.members) members.set(m.user_id, { ...m, join_time: now() });
      this.groups.set(g.group_id, { group_id: g.group_id, group_name: g.group_name, members });
    }
  }

  /** A bot joins: it becomes a user, and a member of every group that does not list it. */
  addBot(selfId: number, nickname: string): void {
    this.bots.set(selfId, nickname);
    if (!this.users.has(selfId)) this.users.set(selfId, { user_id: selfId, nickname, sex: 'unknown', age: 0 });
    for (const group of this.groups.values()) {
      if (!group.members.has(selfId)) group.members.set(selfId, { user_id: selfId, role: 'member', card: '', join_time: now() });
    }
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
    if (!user) throw new ActionError(Retcode.FAILED, `user ${userId} does not exist in the sandbox`);
    return user;
  }

  group(groupId: number): Group {
    const group = this.groups.get(groupId);
    if (!group) throw new ActionError(Retcode.FAILED, `group ${groupId} does not exist in the sandbox`);
    return group;
  }

  member(groupId: number, userId: number): Member {
    const member = this.group(groupId).members.get(userId);
    if (!member) throw new ActionError(Retcode.FAILED, `user ${userId} is not a member of group ${groupId}`);
    return member;
  }

  displayName(userId: number, groupId?: number): string {
    const card = groupId === undefined ? '' : (this.groups.get(groupId)?.members.get(userId)?.card ?? '');
    return card || this.users.get(userId)?.nickname || String(userId);
  }

  /** A person (or a test, or the console) says something, in a group or to a bot. */
  say(from: number, target: { group_id: number } | { to: number }, message: Message): WorldMessage {
    this.user(from);
    if ('group_id' in target) this.member(target.group_id, from);
    else if (!this.users.has(target.to)) throw new ActionError(Retcode.FAILED, `user ${target.to} does not exist in the sandbox`);
    return this.#publish(from, false, target, message);
  }

  /** A bot sends a message; it lands in the outbox and reaches everyone else in the chat. */
  botSay(selfId: number, target: { group_id: number } | { to: number }, message: Message): WorldMessage {
    if ('group_id' in target) this.member(target.group_id, selfId);
    else this.user(target.to);
    if (message.length === 0) throw new ActionError(Retcode.BAD_REQUEST, 'param message: the message is empty');
    return this.#publish(selfId, true, target, message);
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

  get lastMessageId(): number {
    return this.#nextId - 1;
  }

  #publish(from: number, bot: boolean, target: { group_id: number } | { to: number }, message: Message): WorldMessage {
    const id = this.#nextId;
    // int32 as the spec's message_id; wrap long before overflow.
    this.#nextId = id >= INT32_MAX ? 1 : id + 1;
    const msg: WorldMessage = { message_id: id, time: now(), from, bot, ...target, message, raw_message: stringifyCQ(message) };
    // Into the outbox before anyone hears of it: a long poll woken by the event must find it.
    if (bot) {
      this.#outbox.push(msg);
      if (this.#outbox.length > OUTBOX_LIMIT) this.#outbox.shift();
    }
    this.emit('message', msg);
    return msg;
  }
}
