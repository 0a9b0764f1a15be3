import { once } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import {
  ActionError,
  groupMessageEvent,
  now,
  OneBridgeError,
  parseText,
  PlatformMessages,
  privateMessageEvent,
  ReconnectingLink,
  Retcode,
  StableIds,
  VERSION,
  withDeadline,
  type Adapter,
  type AdapterContext,
  type LinkAttempt,
  type OneBotEvent,
  type Sender,
  type TrackedLink,
} from '../../src/kit/index.js';
import { ircActions } from './actions.js';
import type { IrcAdapterConfig } from './config.js';
import { foldCase, stripFormatting, type CaseMapping } from './protocol.js';
import { IrcSession, type Channel, type IncomingText } from './session.js';

/** How long the server gets to close the link after our QUIT at shutdown. */
const QUIT_WAIT_MS = 500;
/** Messages kept for get_msg / reply. */
const STORE_CAPACITY = 5000;

/** The flood-control queue cannot take a message whole: retry later (as a connection's in-flight limit). */
export const QUEUE_FULL = 1429;

/** The OneBot role of a member with these prefix modes (ISUPPORT PREFIX letters). */
export function roleOf(modes: string): 'owner' | 'admin' | 'member' {
  if (modes.includes('q')) return 'owner';
  if (/[aoh]/.test(modes)) return 'admin';
  return 'member';
}

/** A session that ended, as the link sees it: `fatal` ones retry only at the longest backoff. */
class SessionEnded extends OneBridgeError {
  readonly fatal: boolean;

  constructor(reason: string, fatal: boolean) {
    super('ONEBRIDGE_IRC_LINK_LOST', reason);
    this.fatal = fatal;
  }
}

/** State the actions read: the live session (when registered), ids, messages. */
export interface IrcState {
  readonly config: IrcAdapterConfig;
  readonly users: StableIds;
  readonly channels: StableIds;
  readonly messages: PlatformMessages;
  readonly selfId: () => number;
  /** The registered session, or ActionError 1503. */
  session(): IrcSession;
  /** The nick in use, or the configured one while not connected. */
  nick(): string;
  /** Channels to be in (config, minus those left or kicked from): joined after every connect. */
  readonly wanted: Map<string, string>;
  /** Users who sent the bot a private message and have not quit since: `get_friend_list`. */
  readonly queries: Map<number, string>;
  /** Bans set with a duration: removed by a kept timer. */
  readonly unbanTimers: Set<NodeJS.Timeout>;
}

/**
 * One IRC account: a link to the server kept up by the kit's ReconnectingLink (backoff,
 * rejoin after every connect), the mapping of IRC traffic to OneBot events, and the actions.
 * Each connection is an `IrcSession`; this owns their succession and never reads a socket.
 */
export function createIrcAdapter(config: IrcAdapterConfig, ctx: AdapterContext): Adapter {
  const logger = ctx.logger;
  const endpoint = `${config.tls ? 'ircs' : 'irc'}://${config.host}:${config.port}`;
  const network = config.network || config.host;
  // Ids follow the server's case mapping (rfc1459 until it says otherwise), so `Bob` and `bob`
  // are one user, as on IRC.
  let caseMapping: CaseMapping = 'rfc1459';
  const normalize = (name: string) => foldCase(name, caseMapping);
  const users = new StableIds({ namespace: `irc:${network}:user`, normalize, what: 'user_id' });
  const channelIds = new StableIds({ namespace: `irc:${network}:channel`, normalize, what: 'group_id' });
  const messages = new PlatformMessages({ capacity: STORE_CAPACITY });
  const wanted = new Map<string, string>();
  for (const entry of config.channels) {
    const [name = ''] = entry.split(' ');
    wanted.set(foldCase(name), entry);
  }
  const queries = new Map<number, string>();
  const unbanTimers = new Set<NodeJS.Timeout>();
  let link: ReconnectingLink<IrcSession> | undefined;
  let track: TrackedLink | undefined;
  let stopped = false;

  const selfId = () => ctx.selfId || users.id(config.nick);

  const state: IrcState = {
    config,
    users,
    channels: channelIds,
    messages,
    selfId,
    wanted,
    queries,
    unbanTimers,
    session() {
      const s = link?.current;
      if (!s?.registered)
        throw new ActionError(
          Retcode.UNAVAILABLE,
          `not connected to ${endpoint} right now (${stopped ? 'stopping' : 'reconnecting'}); try again later`,
        );
      return s;
    },
    nick: () => (link?.current?.registered ? link.current.nick : config.nick),
  };

  const userId = (nick: string, s: IrcSession) => (s.isSelf(nick) ? selfId() : users.id(nick));
  const groupId = (channel: Channel) => channelIds.id(channel.name);

  const sender = (nick: string, s: IrcSession, channel?: Channel): Sender => {
    const member = channel?.members.get(s.fold(nick));
    return {
      user_id: userId(nick, s),
      nickname: nick,
      card: '',
      sex: 'unknown',
      age: 0,
      ...(channel ? { role: roleOf(member?.modes ?? '') } : {}),
    };
  };

  const onText = (s: IrcSession, t: IncomingText) => {
    if (t.kind === 'notice') {
      // RFC 2812: NOTICE must never be answered automatically, and a bot framework would.
      logger.debug(`NOTICE from ${t.nick} to ${t.target} not delivered: ${t.text.slice(0, 200)}`);
      return;
    }
    if (s.isSelf(t.nick)) return;
    const text = stripFormatting(t.kind === 'action' ? `* ${t.nick} ${t.text}` : t.text);
    const message = parseText(text, { selfId: selfId(), selfNames: [...new Set([s.nick, config.nick])] });
    const from = sender(t.nick, s, t.channel);
    const platformId = t.tags.get('msgid');
    let event: OneBotEvent;
    if (t.channel) {
      const group = groupId(t.channel);
      const m = messages.record({
        platformId,
        message_type: 'group',
        group_id: group,
        user_id: from.user_id,
        sender: from,
        message,
      });
      event = groupMessageEvent(ctx.selfId, {
        message_id: m.message_id,
        group_id: group,
        user_id: from.user_id,
        message,
        sender: from,
        time: m.time,
      });
      // Not in OneBot v11's group message, but what a bot needs to name an IRC channel.
      event['group_name'] = t.channel.name;
    } else if (s.isSelf(t.target)) {
      queries.set(from.user_id, t.nick);
      const m = messages.record({
        platformId,
        message_type: 'private',
        user_id: from.user_id,
        to: selfId(),
        sender: from,
        message,
      });
      event = privateMessageEvent(ctx.selfId, {
        message_id: m.message_id,
        user_id: from.user_id,
        message,
        sender: from,
        sub_type: 'friend',
        time: m.time,
      });
    } else {
      // To a channel we are not in (servers allow it on -n channels): not for us.
      return;
    }
    ctx.emit(event);
  };

  const notice = (
    noticeType: 'group_increase' | 'group_decrease',
    subType: string,
    group: number,
    user: number,
    operator: number,
  ): OneBotEvent => ({
    time: now(),
    self_id: ctx.selfId,
    post_type: 'notice',
    notice_type: noticeType,
    sub_type: subType,
    group_id: group,
    operator_id: operator,
    user_id: user,
  });

  /** Everything a session reports, as OneBot events. Attached before registration completes. */
  const wire = (s: IrcSession) => {
    s.on('text', (t) => onText(s, t));
    s.on('join', (channel, member, self) => {
      if (self) {
        logger.info(`joined ${channel.name}`);
        return;
      }
      const id = userId(member.nick, s);
      ctx.emit(notice('group_increase', 'approve', groupId(channel), id, id));
    });
    s.on('part', (channel, nick, _reason, self) => {
      if (self) {
        logger.info(`left ${channel.name}`);
        return;
      }
      const id = userId(nick, s);
      ctx.emit(notice('group_decrease', 'leave', groupId(channel), id, id));
    });
    s.on('kick', (channel, nick, by, reason, self) => {
      if (self) {
        logger.warn(`kicked from ${channel.name} by ${by}${reason ? ` (${reason})` : ''}; not rejoining it`);
        wanted.delete(foldCase(channel.name));
        ctx.emit(notice('group_decrease', 'kick_me', groupId(channel), selfId(), userId(by, s)));
        return;
      }
      ctx.emit(notice('group_decrease', 'kick', groupId(channel), userId(nick, s), userId(by, s)));
    });
    s.on('quit', (nick, channels) => {
      const id = userId(nick, s);
      queries.delete(id);
      for (const channel of channels) ctx.emit(notice('group_decrease', 'leave', groupId(channel), id, id));
    });
    s.on('refused', (numeric, params) =>
      logger.warn(`the server refused a command: ${numeric} ${params.slice(1).join(' ')}`),
    );
  };

  /** One attempt: TCP (or TLS) within registration_timeout_ms, then registration. */
  const connect = async (attempt: LinkAttempt): Promise<IrcSession> => {
    const socket: Socket = config.tls
      ? tlsConnect({ host: config.host, port: config.port, servername: config.host })
      : tcpConnect({ host: config.host, port: config.port });
    // Chat lines are small and paced by flood control: Nagle would only add latency.
    socket.setNoDelay(true);
    const abort = () => socket.destroy();
    attempt.signal.addEventListener('abort', abort, { once: true });
    try {
      await withDeadline(
        once(socket, config.tls ? 'secureConnect' : 'connect'),
        config.registration_timeout_ms,
        attempt.signal,
        { what: `TCP connection to ${endpoint}` },
      );
    } catch (err) {
      socket.destroy();
      attempt.signal.removeEventListener('abort', abort);
      throw err;
    }
    logger.info(`connected to ${endpoint}; registering as ${config.nick}`);
    const s = new IrcSession(socket, {
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
      onTraffic: (direction, bytes) => (direction === 'in' ? track?.countIn(bytes) : track?.countOut(bytes)),
    });
    wire(s);
    const ended = new Promise<never>((_, reject) => {
      s.once('end', (end) => {
        const err = new SessionEnded(end.reason, end.fatal);
        attempt.lost(err);
        reject(err);
      });
    });
    ended.catch(() => {});
    // The registration timer inside the session bounds this.
    await Promise.race([new Promise<void>((resolve) => s.once('registered', () => resolve())), ended]);
    // Registered: from now on the link ends it (QUIT first at stop), not the attempt's abort.
    attempt.signal.removeEventListener('abort', abort);
    caseMapping = s.features.caseMapping;
    return s;
  };

  const adapter: Adapter = {
    actions: ircActions(state),
    status: () => {
      const online = link?.current?.registered ?? false;
      return { online, good: online };
    },
    async identify() {
      return users.id(config.nick);
    },
    selfIdSource: `derived from the nick ${JSON.stringify(config.nick)}`,
    async start() {
      if (link || stopped) return;
      track = ctx.trackLink({ endpoint, remote: `${config.host}:${config.port}` });
      link = new ReconnectingLink<IrcSession>({
        name: 'irc',
        target: endpoint,
        logger,
        reconnect: { initialMs: config.reconnect.initial_ms, maxMs: config.reconnect.max_ms },
        track,
        connect,
        onOpen: (s) => {
          // One JOIN per channel: a keyed channel's key must line up with its name.
          for (const entry of wanted.values()) {
            const [name = '', key] = entry.split(' ');
            if (key) s.command('JOIN', name, key);
            else s.command('JOIN', name);
          }
        },
        advise: (err) => (err instanceof SessionEnded && err.fatal ? 'slow' : 'retry'),
        close: (s) => s.quit(config.quit_message, QUIT_WAIT_MS),
        destroy: (s) => s.end('closed by onebridge'),
      });
      link.start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const timer of unbanTimers) clearTimeout(timer);
      unbanTimers.clear();
      // The link says QUIT and waits for the server at most this long, then cuts the socket.
      await link?.stop(QUIT_WAIT_MS + 100);
    },
  };
  return adapter;
}
