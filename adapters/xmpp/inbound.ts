import type { Element } from '@xmpp/client';
import { groupMessageEvent, now, parseText, privateMessageEvent, type Logger, type Message, type OneBotEvent, type PlatformMessages } from '../../src/kit/index.js';
import type { Directory } from './directory.js';
import type { Room, RoomChange } from './room.js';
import { allIds, parseJid, parseMessage, parseOccupantPresence, referenceId, type ParsedMessage, type ParsedRetraction } from './stanza.js';

/** Messages the bot sent, by the ids it gave them: so the room's echo teaches the stanza-id. */
export interface SentLog {
  /** The message_id of our message with this origin id in `chat`, if we sent it. */
  find(chat: string, originId: string): number | undefined;
  /** The room assigned `stanzaId` to the stanza of our message we sent as `originId`. */
  learn(messageId: number, chat: string, originId: string, stanzaId: string): void;
}

export interface InboundDeps {
  readonly dir: Directory;
  readonly messages: PlatformMessages;
  readonly sent: SentLog;
  readonly logger: Logger;
  /** The account's self_id (read late: it may be learned after start). */
  selfId(): number;
  /** The bot's account name: also a name it answers to in text. */
  readonly username: string;
  emit(event: OneBotEvent): void;
  /** A room was joined (each time): fetch its name. */
  joined(room: Room): void;
  /** A join was refused (`error` is the condition): the bot may try again with another nick. */
  joinFailed(room: Room, error: string): void;
}

/** A platform message id as the store keys it: the conversation, then the id. */
export const scoped = (chat: string, id: string): string => `${chat}\n${id}`;

/**
 * Stanzas from the server -> OneBot events: room and direct messages (with their ids recorded,
 * replies and mentions as segments), retractions as recall notices, occupant presences as
 * member notices, subscription requests as friend requests. What it does not report: the
 * bot's own messages, room history (delayed) and anything from a room it is not in.
 */
export class Inbound {
  readonly #d: InboundDeps;

  constructor(deps: InboundDeps) {
    this.#d = deps;
  }

  stanza(s: Element): void {
    if (s.is('message')) this.#message(s);
    else if (s.is('presence')) this.#presence(s);
  }

  #message(s: Element): void {
    if (s.attrs['type'] === 'error') {
      // A message the server could not deliver (occupant gone, room refused us): say so, once.
      const condition = s.getChild('error')?.getChildElements()[0]?.getName() ?? 'error';
      this.#d.logger.warn(`the server returned a message to ${s.attrs['from'] ?? '?'} as undeliverable: ${condition}`);
      return;
    }
    const m = parseMessage(s);
    if (!m) return;
    const { dir } = this.#d;
    const room = dir.rooms.get(m.from.bare);
    if (m.type === 'groupchat') {
      if (!room || room.state !== 'joined' || !m.from.resource || m.delayed) return;
      if (m.from.resource === room.nick) {
        if (m.kind === 'message') this.#ownEcho(room, m);
        return;
      }
      if (m.kind === 'retraction') this.#groupRecall(room, m);
      else this.#groupMessage(room, m);
      return;
    }
    // Ours (another resource of the account), or from a room itself (invites, voice requests).
    if (m.from.bare === dir.self || (room && !m.from.resource)) return;
    // A direct message from a room occupant comes from room/nick; from anyone else, from their JID.
    const fromRoom = room !== undefined && m.from.resource !== '';
    const key = fromRoom ? (room.occupants.get(m.from.resource)?.realJid ?? `${room.jid}/${m.from.resource}`) : m.from.bare;
    if (m.kind === 'retraction') this.#friendRecall(key, m);
    else this.#privateMessage(key, fromRoom ? room : undefined, m, s);
  }

  #segments(m: ParsedMessage, chat: string, names: string[]): Message {
    const { messages } = this.#d;
    const selfId = this.#d.selfId();
    const out: Message = [];
    if (m.replyTo) {
      const id = messages.idOf(scoped(chat, m.replyTo));
      if (id !== undefined) out.push({ type: 'reply', data: { id: String(id) } });
    }
    const text = parseText(m.body, { selfId, selfNames: names });
    const self = new Set([this.#d.dir.self, ...names.map((n) => `${chat}/${n}`.toLowerCase())]);
    const atSelf = text.some((seg) => seg.type === 'at');
    if (!atSelf && m.mentions.some((uri) => self.has(uri.toLowerCase()))) out.push({ type: 'at', data: { qq: String(selfId) } });
    out.push(...text);
    for (const url of m.urls) out.push({ type: 'image', data: { file: url, url } });
    return out;
  }

  #record(chat: string, m: ParsedMessage, type: 'groupchat' | 'chat', entry: Parameters<PlatformMessages['record']>[0]): number {
    const { messages } = this.#d;
    const ref = referenceId(m.ids, type, chat);
    const rec = messages.record({ ...entry, platformId: ref === undefined ? undefined : scoped(chat, ref) });
    for (const id of allIds(m.ids)) if (id !== ref) messages.alias(rec.message_id, scoped(chat, id));
    return rec.message_id;
  }

  #groupMessage(room: Room, m: ParsedMessage): void {
    const { dir } = this.#d;
    const t = now();
    let occupant = room.occupants.get(m.from.resource);
    if (!occupant) {
      // A message from someone whose presence we did not see (a race at join): known by nick.
      occupant = { nick: m.from.resource, realJid: undefined, affiliation: 'none', role: 'participant', joinedAt: t, lastSentAt: 0 };
    }
    occupant.lastSentAt = t;
    const sender = dir.groupSender(room, occupant);
    const message = this.#segments(m, room.jid, [room.nick, this.#d.username]);
    if (message.length === 0) return;
    const group_id = dir.groupId(room);
    const message_id = this.#record(room.jid, m, 'groupchat', { message_type: 'group', group_id, user_id: sender.user_id, sender, message, time: t });
    this.#d.emit(groupMessageEvent(this.#d.selfId(), { message_id, group_id, user_id: sender.user_id, message, sender, time: t }));
  }

  #privateMessage(key: string, room: Room | undefined, m: ParsedMessage, s: Element): void {
    const { dir } = this.#d;
    const user_id = dir.users.id(key);
    const nickname = dir.nameOf(user_id, room) ?? key;
    const message = this.#segments(m, key, [this.#d.username]);
    if (message.length === 0) return;
    // Offline storage delivers what was sent while the bot was away, stamped with that time.
    const stamp = m.delayed ? Date.parse(s.getChild('delay', 'urn:xmpp:delay')?.attrs['stamp'] ?? '') : NaN;
    const time = Number.isFinite(stamp) ? Math.floor(stamp / 1000) : now();
    const sender = { user_id, nickname, sex: 'unknown', age: 0 };
    const message_id = this.#record(key, m, 'chat', { message_type: 'private', user_id, to: this.#d.selfId(), sender, message, time });
    const sub_type = room ? 'group' : dir.isFriend(key) ? 'friend' : 'other';
    this.#d.emit(privateMessageEvent(this.#d.selfId(), { message_id, user_id, message, sender, sub_type, time }));
  }

  #ownEcho(room: Room, m: ParsedMessage): void {
    const origin = m.ids.originId ?? m.ids.id;
    if (!origin) return;
    const id = this.#d.sent.find(room.jid, origin);
    const stanzaId = m.ids.stanzaIds.find((x) => x.by === room.jid)?.id;
    if (id !== undefined && stanzaId) this.#d.sent.learn(id, room.jid, origin, stanzaId);
  }

  /** The stored message a retraction names, if the retractor is its sender (anyone else is ignored). */
  #retracted(chat: string, r: ParsedRetraction, userId: number) {
    const { messages, logger } = this.#d;
    const id = messages.idOf(scoped(chat, r.target));
    if (id === undefined) return undefined;
    const stored = messages.get(id);
    if (stored.user_id !== userId) {
      logger.warn(`ignored a retraction of message ${id} in ${chat}: sent by someone else than its author`);
      return undefined;
    }
    messages.delete(id);
    return stored;
  }

  #groupRecall(room: Room, r: ParsedRetraction): void {
    const { dir } = this.#d;
    const occupant = room.occupants.get(r.from.resource);
    const user_id = occupant ? dir.occupantId(room, occupant) : dir.users.id(`${room.jid}/${r.from.resource}`);
    const stored = this.#retracted(room.jid, r, user_id);
    if (!stored) return;
    this.#notice('group_recall', { group_id: dir.groupId(room), user_id, operator_id: user_id, message_id: stored.message_id });
  }

  #friendRecall(key: string, r: ParsedRetraction): void {
    const user_id = this.#d.dir.users.id(key);
    const stored = this.#retracted(key, r, user_id);
    if (!stored) return;
    this.#notice('friend_recall', { user_id, message_id: stored.message_id });
  }

  #notice(notice_type: string, fields: Record<string, unknown>): void {
    this.#d.emit({ time: now(), self_id: this.#d.selfId(), post_type: 'notice', notice_type, ...fields });
  }

  #presence(s: Element): void {
    const { dir } = this.#d;
    const from = parseJid(s.attrs['from'] ?? '');
    const room = dir.rooms.get(from.bare);
    if (room) {
      const p = parseOccupantPresence(s);
      if (p) for (const change of room.apply(p, now())) this.#roomChange(room, change);
      return;
    }
    const type = s.attrs['type'];
    if (type === 'subscribe' && from.bare) {
      const user_id = dir.users.id(from.bare);
      // The JID is the flag: set_friend_add_request answers it without any state of ours.
      this.#d.emit({ time: now(), self_id: this.#d.selfId(), post_type: 'request', request_type: 'friend', user_id, comment: s.getChildText('status') ?? '', flag: from.bare });
    }
  }

  #roomChange(room: Room, c: RoomChange): void {
    const { dir, logger } = this.#d;
    const group_id = dir.groupId(room);
    switch (c.kind) {
      case 'joined':
        logger.info(`joined ${room.jid} as ${room.nick} (${room.occupants.size} other occupant${room.occupants.size === 1 ? '' : 's'})`);
        this.#d.joined(room);
        return;
      case 'join-failed':
        logger.warn(`could not join ${room.jid} as ${room.nick}: ${c.error}${c.error === 'not-authorized' ? ' (check rooms[].password)' : ''}`);
        this.#d.joinFailed(room, c.error);
        return;
      case 'increase':
        this.#notice('group_increase', { sub_type: 'approve', group_id, user_id: dir.occupantId(room, c.occupant), operator_id: 0 });
        return;
      case 'decrease': {
        const user_id = dir.occupantId(room, c.occupant);
        const actor = c.actor ? room.occupants.get(c.actor) : undefined;
        const operator_id = c.kicked ? (actor ? dir.occupantId(room, actor) : c.actor === room.nick ? this.#d.selfId() : 0) : user_id;
        this.#notice('group_decrease', { sub_type: c.kicked ? 'kick' : 'leave', group_id, user_id, operator_id });
        return;
      }
      case 'removed': {
        logger.warn(`removed from ${room.jid}${c.kicked ? ` (kicked${c.actor ? ` by ${c.actor}` : ''})` : ''}`);
        if (!c.kicked) return;
        this.#notice('group_decrease', { sub_type: 'kick_me', group_id, user_id: this.#d.selfId(), operator_id: c.by ? dir.occupantId(room, c.by) : 0 });
        return;
      }
      case 'admin':
        this.#notice('group_admin', { sub_type: c.set ? 'set' : 'unset', group_id, user_id: dir.occupantId(room, c.occupant) });
        return;
    }
  }
}
