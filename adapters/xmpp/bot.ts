import { randomUUID } from 'node:crypto';
import type { Element } from '@xmpp/client';
import {
  ActionError,
  LruMap,
  OneBridgeError,
  PlatformMessages,
  ReconnectingLink,
  Retcode,
  withDeadline,
  type AdapterContext,
  type Message,
  type RecordedMessage,
  type TrackedLink,
} from '../../src/kit/index.js';
import { domainOf, type XmppAdapterConfig } from './config.js';
import { Directory } from './directory.js';
import { Inbound, scoped, type SentLog } from './inbound.js';
import { planMessage } from './outbound.js';
import { Room } from './room.js';
import { XmppAuthError, XmppSession, XmppTlsError } from './session.js';
import { buildJoin, buildMessage, buildRetraction, NS, parseJid, parseRoster } from './stanza.js';

/** How long delete_msg waits for the room's echo of a message just sent. */
const ECHO_WAIT_MS = 2000;

/** Our message in a conversation: where it went and every id it is known by (for retraction). */
interface SentRef {
  readonly to: string;
  readonly type: 'groupchat' | 'chat';
  readonly ids: string[];
  /** Our id -> the room's stanza-id, learned from its echo: what retractions in a room point at. */
  readonly stanzaIds: Map<string, string>;
}

/**
 * One XMPP account behind onebridge: a reconnecting link (kit `ReconnectingLink`) to the
 * server; on every connection it fetches the roster, sends presence and (re)joins its rooms;
 * incoming stanzas go through `Inbound`, actions call `sendTo`, `retract` and friends.
 * While the link is down, actions that need the server answer 1503 at once.
 */
export class XmppBot {
  readonly config: XmppAdapterConfig;
  readonly ctx: AdapterContext;
  readonly dir: Directory;
  readonly messages = new PlatformMessages();
  readonly link: ReconnectingLink<XmppSession>;
  /** Bounded like the message store: a message it forgot cannot be retracted anyway. */
  readonly #sent = new LruMap<number, SentRef>(10_000);
  /** retract() of a room message whose echo (with the room's stanza-id) has not come yet. */
  readonly #echoWaiters = new Map<number, () => void>();
  readonly #inbound: Inbound;
  readonly #track: TrackedLink;
  readonly domain: string;

  constructor(config: XmppAdapterConfig, ctx: AdapterContext) {
    this.config = config;
    this.ctx = ctx;
    this.domain = domainOf(config);
    this.dir = new Directory(`${config.username}@${this.domain}`);
    for (const r of config.rooms) this.dir.rooms.set(r.jid, new Room(r.jid, r.nick ?? config.username, r.password));
    const sentLog: SentLog = {
      find: (chat, originId) => {
        const id = this.messages.idOf(scoped(chat, originId));
        return id !== undefined && this.#sent.has(id) ? id : undefined;
      },
      learn: (messageId, chat, originId, stanzaId) => {
        const sent = this.#sent.get(messageId);
        sent?.stanzaIds.set(originId, stanzaId);
        this.messages.alias(messageId, scoped(chat, stanzaId));
        if (sent && sent.stanzaIds.size >= sent.ids.length) this.#echoWaiters.get(messageId)?.();
      },
    };
    this.#inbound = new Inbound({
      dir: this.dir,
      messages: this.messages,
      sent: sentLog,
      logger: ctx.logger,
      selfId: () => ctx.selfId,
      username: config.username,
      emit: (e) => ctx.emit(e),
      joined: (room) => void this.#fetchRoomName(room),
      joinFailed: (room, error) => {
        // The nick is taken (often our own ghost from before a reconnect): try nick_, up to 3 times.
        const s = this.link.current;
        if (error !== 'conflict' || room.nickRetries >= 3 || !room.wanted || !s) return;
        room.retryAs(`${room.nick}_`);
        this.ctx.logger.info(`joining ${room.jid} as ${room.nick} instead`);
        s.send(buildJoin(s.xml, room.jid, room.nick, room.password)).catch(() => {});
      },
    });
    const url = new URL(config.service);
    this.#track = ctx.trackLink({
      endpoint: config.service,
      remote: `${url.hostname}:${url.port || (url.protocol === 'xmpps:' ? 5223 : 5222)}`,
    });
    this.link = new ReconnectingLink<XmppSession>({
      name: 'xmpp',
      target: `${this.dir.self} at ${config.service}`,
      logger: ctx.logger,
      reconnect: { initialMs: config.reconnect.initial_ms, maxMs: config.reconnect.max_ms },
      track: this.#track,
      connect: async (attempt) => {
        const session = await XmppSession.open(
          {
            service: config.service,
            domain: this.domain,
            username: config.username,
            password: config.password,
            resource: config.resource,
            timeoutMs: config.connect_timeout_ms,
            pingIntervalMs: config.ping_interval_ms,
            logger: ctx.logger,
            onStanza: (s) => this.#inbound.stanza(s),
            onRosterPush: (items) => this.#rosterPush(items),
            onBytesIn: (n) => this.#track.countIn(n),
            onBytesOut: (n) => this.#track.countOut(n),
          },
          attempt.signal,
        );
        void session.closed.then((why) => attempt.lost(new Error(why)));
        return session;
      },
      onOpen: (session) => void this.#online(session),
      onLost: () => {
        for (const room of this.dir.rooms.values()) room.reset();
      },
      advise: (err) => (err instanceof XmppAuthError || err instanceof XmppTlsError ? 'slow' : 'retry'),
      close: (session) => session.goodbye(),
      destroy: (session) => session.destroy(),
    });
  }

  /** The session, or ActionError 1503 while the link is down. */
  session(): XmppSession {
    const s = this.link.current;
    if (!s || !s.online)
      throw new ActionError(
        Retcode.UNAVAILABLE,
        `the XMPP server is not connected (${this.link.state}); nothing was sent`,
      );
    return s;
  }

  async #online(session: XmppSession): Promise<void> {
    const { xml } = session;
    try {
      const roster = await session.iq(xml('iq', { type: 'get' }, xml('query', { xmlns: NS.ROSTER })));
      this.dir.roster.clear();
      for (const item of parseRoster(roster.is('query') ? roster : roster.getChild('query', NS.ROSTER)))
        this.dir.roster.set(item.jid, item);
    } catch (err) {
      this.ctx.logger.warn(`could not fetch the roster: ${(err as Error).message}`);
    }
    try {
      await session.send(xml('presence'));
      for (const room of this.dir.rooms.values()) {
        room.reset();
        if (room.wanted) await session.send(buildJoin(xml, room.jid, room.nick, room.password));
      }
    } catch (err) {
      this.ctx.logger.warn(`could not send presence or join rooms: ${(err as Error).message}`);
    }
  }

  #rosterPush(items: ReturnType<typeof parseRoster>): void {
    for (const item of items) {
      const before = this.dir.roster.get(item.jid)?.subscription ?? 'none';
      if (item.subscription === 'remove') {
        this.dir.roster.delete(item.jid);
        continue;
      }
      this.dir.roster.set(item.jid, item);
      // They may now see us: the request was approved (by set_friend_add_request or another client).
      const granted = (s: string) => s === 'from' || s === 'both';
      if (!granted(before) && granted(item.subscription)) {
        this.ctx.emit({
          time: Math.floor(Date.now() / 1000),
          self_id: this.ctx.selfId,
          post_type: 'notice',
          notice_type: 'friend_add',
          user_id: this.dir.users.id(item.jid),
        });
      }
    }
  }

  async #fetchRoomName(room: Room): Promise<void> {
    const s = this.link.current;
    if (!s) return;
    try {
      const info = await s.iq(s.xml('iq', { type: 'get', to: room.jid }, s.xml('query', { xmlns: NS.DISCO_INFO })));
      const q = info.is('query') ? info : info.getChild('query', NS.DISCO_INFO);
      const name = q?.getChildren('identity').find((i) => i.attrs['category'] === 'conference')?.attrs['name'];
      if (name) room.name = name;
    } catch (err) {
      this.ctx.logger.debug(`disco#info of ${room.jid}: ${(err as Error).message}`);
    }
  }

  /**
   * Sends a OneBot message to a room (`groupchat`) or a person (`chat`) and records it; returns
   * its message_id. Text and each image go as separate stanzas (see `planMessage`); all of
   * them share the message_id, and delete_msg retracts them all.
   */
  async sendTo(
    target: { to: string; type: 'groupchat' | 'chat'; room?: Room; userId?: number },
    message: Message,
  ): Promise<number> {
    const session = this.session();
    const chat = target.room ? target.room.jid : target.to;
    const parts = planMessage(message, {
      nameOf: (id) => this.dir.nameOf(id, target.room),
      quoteOf: (id) => {
        try {
          const m = this.messages.get(id);
          return { name: m.sender.card || m.sender.nickname, text: renderPlain(m.message) };
        } catch {
          return undefined;
        }
      },
      replyTarget: (id) => this.#replyTarget(id, chat, target.type),
    });
    if (parts.length === 0) throw new ActionError(Retcode.BAD_REQUEST, 'param message: nothing to send (empty text)');
    const ids = parts.map(() => `ob-${randomUUID()}`);
    const selfId = this.ctx.selfId;
    const nickname = target.room?.nick ?? this.config.username;
    const rec = this.messages.record({
      platformId: scoped(chat, ids[0]!),
      message_type: target.type === 'groupchat' ? 'group' : 'private',
      ...(target.room ? { group_id: this.dir.groupId(target.room) } : {}),
      user_id: selfId,
      ...(target.userId !== undefined ? { to: target.userId } : {}),
      sender: { user_id: selfId, nickname, ...(target.room ? { card: nickname, role: 'member' } : {}) },
      message,
    });
    for (const id of ids.slice(1)) this.messages.alias(rec.message_id, scoped(chat, id));
    // Recorded before sending: the room's echo (which teaches the stanza-id) may come back fast.
    this.#sent.set(rec.message_id, { to: target.to, type: target.type, ids, stanzaIds: new Map() });
    try {
      for (const [i, part] of parts.entries())
        await session.send(buildMessage(session.xml, target.to, target.type, ids[i]!, part));
    } catch (err) {
      this.messages.delete(rec.message_id);
      this.#sent.delete(rec.message_id);
      throw down(err);
    }
    return rec.message_id;
  }

  #replyTarget(
    messageId: number,
    chat: string,
    type: 'groupchat' | 'chat',
  ): { id: string; to: string | undefined } | undefined {
    let m: RecordedMessage;
    try {
      m = this.messages.get(messageId);
    } catch {
      return undefined;
    }
    if (!m.platformId?.startsWith(`${chat}\n`)) return undefined;
    const sent = this.#sent.get(messageId);
    // Ours in a room: the room's stanza-id once its echo taught it, else our origin-id.
    const id = sent
      ? ((type === 'groupchat' ? sent.stanzaIds.get(sent.ids[0]!) : undefined) ?? sent.ids[0]!)
      : m.platformId.slice(chat.length + 1);
    const to = type === 'groupchat' ? `${chat}/${m.sender.nickname}` : chat;
    return { id, to };
  }

  /** XEP-0424: retracts our message (every stanza it was sent as). Others' messages: 100. */
  async retract(m: RecordedMessage): Promise<void> {
    const sent = this.#sent.get(m.message_id);
    if (!sent)
      throw new ActionError(
        Retcode.FAILED,
        `message ${m.message_id} is not the bot's: XMPP lets a client retract only its own messages`,
      );
    let session = this.session();
    if (sent.type === 'groupchat' && sent.stanzaIds.size < sent.ids.length) {
      // Other clients know a room message by the room's stanza-id, which its echo brings; a
      // retraction right after sending waits for it (bounded), else falls back to our id.
      await withDeadline(
        new Promise<void>((resolve) => this.#echoWaiters.set(m.message_id, resolve)),
        ECHO_WAIT_MS,
        this.ctx.signal,
      ).catch(() => {});
      this.#echoWaiters.delete(m.message_id);
      session = this.session();
    }
    const targets = sent.type === 'groupchat' ? sent.ids.map((id) => sent.stanzaIds.get(id) ?? id) : sent.ids;
    try {
      for (const target of targets)
        await session.send(buildRetraction(session.xml, sent.to, sent.type, `ob-${randomUUID()}`, target));
    } catch (err) {
      throw down(err);
    }
    this.#sent.delete(m.message_id);
  }

  /** A plain stanza that needs the link (presence, iq). */
  async send(build: (xml: XmppSession['xml']) => Element): Promise<void> {
    const s = this.session();
    try {
      await s.send(build(s.xml));
    } catch (err) {
      throw down(err);
    }
  }

  async iq(build: (xml: XmppSession['xml']) => Element): Promise<Element> {
    const s = this.session();
    try {
      return await s.iq(build(s.xml));
    } catch (err) {
      if (err instanceof OneBridgeError && err.code === 'ONEBRIDGE_XMPP_DOWN')
        throw new ActionError(Retcode.UNAVAILABLE, err.message);
      const condition = (err as { condition?: string }).condition;
      throw new ActionError(Retcode.FAILED, condition ? `the server refused: ${condition}` : (err as Error).message);
    }
  }

  /** The JID to write to for a user_id in a private message. */
  privateAddress(userId: number): string {
    const key = this.dir.address(userId);
    return parseJid(key).resource ? key : parseJid(key).bare;
  }
}

/** A send that failed because the connection went: 1503, like a link that was down already. */
function down(err: unknown): ActionError {
  return new ActionError(Retcode.UNAVAILABLE, `the XMPP connection broke while sending: ${(err as Error).message}`);
}

/** A stored message's text for a quote: text as is, other segments left out. */
function renderPlain(message: Message): string {
  return message
    .filter((s) => s.type === 'text')
    .map((s) => String(s.data['text'] ?? ''))
    .join('');
}
