import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ActionError, Backoff, groupMessageEvent, MessageStore, now, privateMessageEvent, VERSION, type Adapter, type AdapterContext, type Message, type OneBotEvent, type Sender, type TrackedLink } from '../../src/kit/index.js';
import { ircActions } from './actions.js';
import type { IrcAdapterConfig } from './config.js';
import { IrcIds } from './ids.js';
import { textToMessage } from './mentions.js';
import { foldCase, stripFormatting } from './protocol.js';
import { IrcSession, type Channel, type IncomingText, type SessionEnd } from './session.js';

/** How long the server gets to close the link after our QUIT at shutdown. */
const QUIT_WAIT_MS = 500;
/** Messages kept for get_msg / reply. */
const STORE_CAPACITY = 5000;
/** A link that stayed registered this long starts its backoff over. */
const STABLE_MS = 10_000;

/** Retcodes an IRC account answers besides the router's. */
export const IrcRetcode = {
  /** The flood-control queue cannot take the message: retry later. */
  QUEUE_FULL: 1429,
  /** Not registered on the server right now (connecting, or reconnecting). */
  NOT_CONNECTED: 1503,
} as const;

/** The OneBot role of a member with these prefix modes (ISUPPORT PREFIX letters). */
export function roleOf(modes: string): 'owner' | 'admin' | 'member' {
  if (modes.includes('q')) return 'owner';
  if (/[aoh]/.test(modes)) return 'admin';
  return 'member';
}

/** State the actions read: the live session (when registered), ids, the message store. */
export interface IrcState {
  readonly config: IrcAdapterConfig;
  readonly ids: IrcIds;
  readonly store: MessageStore;
  readonly selfId: () => number;
  /** The registered session, or ActionError 1503. */
  session(): IrcSession;
  /** Channels to be in (config plus joined by action, minus left): rejoined after a reconnect. */
  readonly wanted: Map<string, string>;
  /** Users who sent the bot a private message and have not quit since: `get_friend_list`. */
  readonly queries: Map<number, string>;
  /** Bans set with a duration: removed by a kept timer. */
  readonly unbanTimers: Set<NodeJS.Timeout>;
  /** A message id no other message of this account has had recently (int32, positive). */
  nextMessageId(): number;
}

/**
 * One IRC account: a link to the server that is kept up (reconnect with backoff, rejoin), the
 * mapping of IRC traffic to OneBot events, and the actions. Each connection is an
 * `IrcSession`; this owns their succession and never touches a socket's bytes.
 */
export function createIrcAdapter(config: IrcAdapterConfig, ctx: AdapterContext): Adapter {
  const logger = ctx.logger;
  const endpoint = `${config.tls ? 'ircs' : 'irc'}://${config.host}:${config.port}`;
  const ids = new IrcIds();
  const store = new MessageStore(STORE_CAPACITY);
  const backoff = new Backoff({ initialMs: config.reconnect.initial_ms, maxMs: config.reconnect.max_ms });
  const wanted = new Map<string, string>();
  for (const entry of config.channels) {
    const [name = '', key = ''] = entry.split(' ');
    wanted.set(foldCase(name), key ? `${name} ${key}` : name);
  }
  const queries = new Map<number, string>();
  const unbanTimers = new Set<NodeJS.Timeout>();
  let session: IrcSession | undefined;
  let link: TrackedLink | undefined;
  let socket: Socket | undefined;
  let retry: NodeJS.Timeout | undefined;
  let connectTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  let attempts = 0;
  let nextMessageId = 1;

  const selfId = () => ctx.selfId || ids.selfId(config.nick);

  const state: IrcState = {
    config,
    ids,
    store,
    selfId,
    wanted,
    queries,
    unbanTimers,
    nextMessageId: () => messageId(),
    session() {
      if (!session?.registered) throw new ActionError(IrcRetcode.NOT_CONNECTED, `not connected to ${endpoint} right now (${session ? 'registering' : 'reconnecting'}); try again later`);
      return session;
    },
  };

  /** A message id no other message in this process has (int32, positive). */
  const messageId = () => {
    const id = nextMessageId;
    nextMessageId = nextMessageId >= 0x7fffffff ? 1 : nextMessageId + 1;
    return id;
  };

  const userId = (nick: string, s: IrcSession) => (s.isSelf(nick) ? selfId() : ids.user(nick, s.fold(nick)));
  const groupId = (channel: Channel, s: IrcSession) => ids.group(channel.name, s.fold(channel.name));

  const sender = (nick: string, s: IrcSession, channel?: Channel): Sender => {
    const member = channel?.members.get(s.fold(nick));
    return { user_id: userId(nick, s), nickname: nick, card: '', sex: 'unknown', age: 0, ...(channel ? { role: roleOf(member?.modes ?? '') } : {}) };
  };

  const onText = (s: IrcSession, t: IncomingText) => {
    if (t.kind === 'notice') {
      // RFC 2812: NOTICE must never be answered automatically; a bot framework would.
      logger.debug(`NOTICE from ${t.nick} to ${t.target} not delivered: ${t.text.slice(0, 200)}`);
      return;
    }
    if (s.isSelf(t.nick)) return;
    const text = stripFormatting(t.kind === 'action' ? `* ${t.nick} ${t.text}` : t.text);
    const message: Message = textToMessage(text, s.nick, selfId());
    const id = messageId();
    const from = sender(t.nick, s, t.channel);
    let event: OneBotEvent;
    if (t.channel) {
      const group = groupId(t.channel, s);
      event = groupMessageEvent(ctx.selfId, { message_id: id, group_id: group, user_id: from.user_id, message, sender: from });
      event['group_name'] = t.channel.name;
      store.put({ message_id: id, time: event.time, message_type: 'group', group_id: group, user_id: from.user_id, sender: from, message, raw_message: String(event['raw_message']) });
    } else if (s.isSelf(t.target)) {
      queries.set(from.user_id, t.nick);
      event = privateMessageEvent(ctx.selfId, { message_id: id, user_id: from.user_id, message, sender: from, sub_type: 'friend' });
      store.put({ message_id: id, time: event.time, message_type: 'private', user_id: from.user_id, to: selfId(), sender: from, message, raw_message: String(event['raw_message']) });
    } else {
      // A channel we are not in (a +n-less channel, or a server-wide message): not for us.
      return;
    }
    ctx.emit(event);
  };

  const notice = (noticeType: 'group_increase' | 'group_decrease', subType: string, group: number, user: number, operator: number): OneBotEvent => ({
    time: now(),
    self_id: ctx.selfId,
    post_type: 'notice',
    notice_type: noticeType,
    sub_type: subType,
    group_id: group,
    operator_id: operator,
    user_id: user,
  });

  const wire = (s: IrcSession) => {
    s.on('registered', () => {
      link && (link.state = 'open');
      const channels = [...wanted.values()];
      // One JOIN per channel: a keyed channel's key must line up with its name.
      for (const entry of channels) {
        const [name = '', key] = entry.split(' ');
        if (key) s.command('JOIN', name, key);
        else s.command('JOIN', name);
      }
      setStable();
    });
    s.on('text', (t) => onText(s, t));
    s.on('join', (channel, member, self) => {
      if (self) {
        logger.info(`joined ${channel.name}`);
        return;
      }
      const id = userId(member.nick, s);
      ctx.emit(notice('group_increase', 'approve', groupId(channel, s), id, id));
    });
    s.on('part', (channel, nick, _reason, self) => {
      if (self) {
        logger.info(`left ${channel.name}`);
        return;
      }
      const id = userId(nick, s);
      ctx.emit(notice('group_decrease', 'leave', groupId(channel, s), id, id));
    });
    s.on('kick', (channel, nick, by, reason, self) => {
      const group = groupId(channel, s);
      if (self) {
        logger.warn(`kicked from ${channel.name} by ${by}${reason ? ` (${reason})` : ''}; not rejoining`);
        wanted.delete(foldCase(channel.name));
        ctx.emit(notice('group_decrease', 'kick_me', group, selfId(), userId(by, s)));
        return;
      }
      ctx.emit(notice('group_decrease', 'kick', group, userId(nick, s), userId(by, s)));
    });
    s.on('quit', (nick, channels) => {
      const id = userId(nick, s);
      queries.delete(id);
      for (const channel of channels) ctx.emit(notice('group_decrease', 'leave', groupId(channel, s), id, id));
    });
    s.on('refused', (numeric, params) => logger.warn(`the server refused: ${numeric} ${params.slice(1).join(' ')}`));
    s.on('end', (end) => ended(s, end));
  };

  let stableTimer: NodeJS.Timeout | undefined;
  const setStable = () => {
    clearTimeout(stableTimer);
    stableTimer = setTimeout(() => backoff.reset(), STABLE_MS);
  };

  const ended = (s: IrcSession, end: SessionEnd) => {
    if (session !== s) return;
    session = undefined;
    socket = undefined;
    clearTimeout(stableTimer);
    if (stopped) return;
    if (link) link.state = 'connecting';
    schedule(end.fatal ? backoff.max() : backoff.next(), end.reason);
  };

  const schedule = (delay: number, why: string) => {
    if (stopped) return;
    attempts++;
    logger.warn(`IRC link to ${endpoint} down (${why}); retrying in ${delay} ms`);
    retry = setTimeout(() => {
      retry = undefined;
      link?.reconnected();
      dial();
    }, delay);
  };

  const dial = () => {
    if (stopped) return;
    const sock = config.tls ? tlsConnect({ host: config.host, port: config.port, servername: config.host }) : tcpConnect({ host: config.host, port: config.port });
    socket = sock;
    // Chat lines are small and paced by flood control: Nagle would only add latency and jitter.
    sock.setNoDelay(true);
    let settled = false;
    const failed = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      sock.destroy();
      if (socket === sock) socket = undefined;
      schedule(backoff.next(), why);
    };
    connectTimer = setTimeout(() => failed(`no TCP connection within ${config.registration_timeout_ms} ms`), config.registration_timeout_ms);
    sock.once('error', (err: Error & { code?: string }) => failed(err.code ?? err.message));
    sock.once(config.tls ? 'secureConnect' : 'connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      if (stopped) {
        sock.destroy();
        return;
      }
      logger.info(`connected to ${endpoint}${attempts ? ` (attempt ${attempts + 1})` : ''}; registering as ${config.nick}`);
      const s = new IrcSession(sock, {
        nick: config.nick,
        username: config.username || config.nick,
        realname: config.realname,
        password: config.password,
        sasl: config.sasl,
        registrationTimeoutMs: config.registration_timeout_ms,
        pingIntervalMs: config.ping_interval_ms,
        sendIntervalMs: config.send_interval_ms,
        maxQueue: config.max_queue,
        version: `onebridge ${VERSION}`,
        logger,
        onTraffic: (direction, bytes) => (direction === 'in' ? link?.countIn(bytes) : link?.countOut(bytes)),
      });
      session = s;
      wire(s);
    });
  };

  const adapter: Adapter = {
    actions: ircActions(state),
    status: () => ({ online: session?.registered ?? false, good: session?.registered ?? false }),
    async identify() {
      return ids.selfId(config.nick);
    },
    async start() {
      if (link || stopped) return;
      link = ctx.trackLink({ endpoint, remote: `${config.host}:${config.port}` });
      dial();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(retry);
      clearTimeout(connectTimer);
      clearTimeout(stableTimer);
      for (const timer of unbanTimers) clearTimeout(timer);
      unbanTimers.clear();
      if (link) link.state = 'closing';
      const s = session;
      if (s) await s.quit(config.quit_message, QUIT_WAIT_MS);
      socket?.destroy();
      link?.close('stopped');
    },
  };
  return adapter;
}
