import { EventEmitter } from 'eventemitter3';
import type { Duplex } from 'node:stream';
import { withDeadline, type Logger } from '../../src/kit/index.js';
import { foldCase, formatCtcp, formatLine, isChannel, parseCtcp, parseLine, type CaseMapping, type IrcMessage } from './protocol.js';
import { SendQueue } from './send-queue.js';

export interface SessionOptions {
  readonly nick: string;
  readonly username: string;
  readonly realname: string;
  /** Server password (`PASS`); empty for none. */
  readonly password: string;
  readonly sasl: { readonly account: string; readonly password: string } | undefined;
  /** No welcome and end of MOTD within this: the attempt is abandoned. */
  readonly registrationTimeoutMs: number;
  /** Silence this long gets a PING from us; twice this long and the link is declared dead. */
  readonly pingIntervalMs: number;
  readonly sendIntervalMs: number;
  readonly maxQueue: number;
  /** Answer to CTCP VERSION. */
  readonly version: string;
  readonly logger: Logger;
  /** Each line read and written with its size, for the registry's traffic counters. */
  readonly onTraffic?: (direction: 'in' | 'out', bytes: number) => void;
}

export interface Member {
  nick: string;
  /** Channel prefix modes the member holds, e.g. `o`, `v`, `qo` (ISUPPORT PREFIX letters). */
  modes: string;
  /** `user@host`, once a line from them showed it. */
  userhost: string;
  /** ms since epoch when we saw them join; 0 when they were there before us. */
  joinedAt: number;
  lastSpokeAt: number;
}

export interface Channel {
  /**
   * As the server spells it: from NAMES (the JOIN echo repeats what the joiner typed, which
   * is not the channel's own spelling on every server).
   */
  name: string;
  /** NAMES has been read once since we joined (then a WHO fills in user@host). */
  named: boolean;
  readonly members: Map<string, Member>;
}

export interface IncomingText {
  readonly kind: 'privmsg' | 'notice' | 'action';
  readonly nick: string;
  readonly userhost: string;
  /** A channel name, or our nick for a private message. */
  readonly target: string;
  readonly channel: Channel | undefined;
  readonly text: string;
  readonly tags: ReadonlyMap<string, string>;
}

/** Why a session ended: `fatal` ones (bad password, SASL refused) retry only at the longest backoff. */
export interface SessionEnd {
  readonly reason: string;
  readonly fatal: boolean;
}

type Events = {
  registered: [nick: string];
  text: [message: IncomingText];
  join: [channel: Channel, member: Member, self: boolean];
  part: [channel: Channel, nick: string, reason: string, self: boolean];
  kick: [channel: Channel, nick: string, by: string, reason: string, self: boolean];
  quit: [nick: string, channels: Channel[], reason: string];
  nick: [from: string, to: string, self: boolean];
  /** A member list was (re)read with NAMES. */
  names: [channel: Channel];
  /** A numeric error reply to something we sent (482 not an operator, 404 cannot send …). */
  refused: [numeric: string, params: readonly string[]];
  end: [end: SessionEnd];
};

type State = 'registering' | 'registered' | 'ended';

/** Server features from RPL_ISUPPORT (005) that change how lines are read. */
interface Features {
  caseMapping: CaseMapping;
  chanTypes: string;
  /** Prefix mode letters and their symbols, highest first: `qaohv` / `~&@%+`. */
  prefixModes: string;
  prefixSymbols: string;
  /** CHANMODES groups A,B,C,D: which modes take a parameter. */
  chanModes: [string, string, string, string];
  nickLen: number;
}

/** The most a server line may be before we call the peer broken (tags 8191 + 512). */
const MAX_LINE = 8704;

/** Error numerics that answer a command we sent, reported as `refused`. */
const REFUSALS = new Set(['401', '403', '404', '405', '441', '442', '461', '471', '473', '474', '475', '477', '481', '482']);

/**
 * One IRC connection's life, from the first byte to the end: registration (CAP, SASL PLAIN,
 * PASS, NICK, USER; another nick when ours is taken), keepalive (PONG to the server's PINGs,
 * our own PING after silence, dead after twice that), CTCP VERSION/PING/TIME answers, and the
 * state of joined channels (members and their prefix modes, from NAMES, JOIN, PART, KICK,
 * QUIT, NICK and MODE). Text the bot says goes through the session's flood-control queue.
 *
 * It is given a connected socket and never reconnects: the adapter's link does that and
 * makes a new session. It does not map anything to OneBot. `end()` is idempotent and closes
 * the socket; every timer is cleared then.
 */
export class IrcSession extends EventEmitter<Events> {
  readonly #socket: Duplex;
  readonly #opts: SessionOptions;
  readonly #logger: Logger;
  readonly queue: SendQueue;
  readonly channels = new Map<string, Channel>();
  readonly features: Features = { caseMapping: 'rfc1459', chanTypes: '#&', prefixModes: 'ov', prefixSymbols: '@+', chanModes: ['b', 'k', 'l', ''], nickLen: 30 };
  #state: State = 'registering';
  #nick: string;
  #nickAttempt = 0;
  #welcomed = false;
  /** Our `nick!user@host` as others see it, once the server showed it. */
  #hostmask: string | undefined;
  #buffer = '';
  #corked = false;
  #quitting = false;
  #lastIn = Date.now();
  #pinged = false;
  #registrationTimer: NodeJS.Timeout | undefined;
  #keepalive: NodeJS.Timeout | undefined;
  #capsPending = false;
  /** Capabilities the server listed in CAP LS. */
  readonly #offered: string[] = [];
  /** NAMES replies being collected, per folded channel name. */
  readonly #names = new Map<string, Map<string, Member>>();

  constructor(socket: Duplex, options: SessionOptions) {
    super();
    this.#socket = socket;
    this.#opts = options;
    this.#logger = options.logger;
    this.#nick = options.nick;
    this.queue = new SendQueue({ intervalMs: options.sendIntervalMs, maxLines: options.maxQueue, write: (line) => this.#write(line) });
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#read(chunk));
    socket.on('error', (err: Error & { code?: string }) => this.#logger.warn(`IRC socket error: ${err.code ?? err.message}`));
    socket.on('close', () => this.#end('connection closed by the server', false));
    this.#registrationTimer = setTimeout(() => {
      this.#registrationTimer = undefined;
      // Welcomed but no end of MOTD: some servers send none; go on as registered.
      if (this.#welcomed) this.#registered();
      else this.#end(`no welcome from the server within ${options.registrationTimeoutMs} ms (registration timeout)`, false);
    }, options.registrationTimeoutMs);
    const tick = Math.max(50, Math.floor(options.pingIntervalMs / 2));
    this.#keepalive = setInterval(() => this.#checkAlive(), tick);
    this.#register();
  }

  get state(): State {
    return this.#state;
  }

  get registered(): boolean {
    return this.#state === 'registered';
  }

  /** Our nick now (another one when the configured nick was taken). */
  get nick(): string {
    return this.#nick;
  }

  get hostmask(): string | undefined {
    return this.#hostmask;
  }

  fold(name: string): string {
    return foldCase(name, this.features.caseMapping);
  }

  isChannel(target: string): boolean {
    return isChannel(target, this.features.chanTypes);
  }

  isSelf(nick: string): boolean {
    return this.fold(nick) === this.fold(this.#nick);
  }

  channel(name: string): Channel | undefined {
    return this.channels.get(this.fold(name));
  }

  /** Our prefix modes in a channel ('' when none or not joined). */
  ownModes(channel: string): string {
    return this.channel(channel)?.members.get(this.fold(this.#nick))?.modes ?? '';
  }

  /** A protocol command, written now (not flood-controlled): JOIN, PART, MODE, KICK, QUIT. */
  command(command: string, ...params: string[]): void {
    this.#write(formatLine(command, ...params));
  }

  /** Lines of text for one target, flood-controlled; false when the queue cannot take them all. */
  say(target: string, lines: readonly string[], command: 'PRIVMSG' | 'NOTICE' = 'PRIVMSG'): boolean {
    return this.queue.offer(lines.map((text) => formatLine(command, target, text)));
  }

  /**
   * Sends QUIT and resolves when the server has closed the link or `ms` passed; then the socket
   * is destroyed either way. A frozen server cannot hold it longer than `ms`.
   */
  async quit(reason: string, ms: number): Promise<void> {
    if (this.#state === 'ended') return;
    this.#quitting = true;
    const dropped = this.queue.close();
    if (dropped) this.#logger.warn(`${dropped} queued line(s) not sent: shutting down`);
    const closed = new Promise<void>((resolve) => this.once('end', () => resolve()));
    try {
      this.#write(formatLine('QUIT', reason));
    } catch {
      /* a socket already broken: end below */
    }
    await withDeadline(closed, ms, undefined, { what: 'QUIT answer' }).catch(() => {
      // The server did not close in time (frozen, or slow): we close.
    });
    this.#end('quit', false);
  }

  /** Ends the session now (socket destroyed). Idempotent. */
  end(reason: string, fatal = false): void {
    this.#end(reason, fatal);
  }

  #end(reason: string, fatal: boolean): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    clearTimeout(this.#registrationTimer);
    clearInterval(this.#keepalive);
    this.#registrationTimer = undefined;
    this.#keepalive = undefined;
    const dropped = this.queue.close();
    if (dropped) this.#logger.warn(`${dropped} queued line(s) not sent: the IRC link went down`);
    this.#socket.destroy();
    this.emit('end', { reason, fatal });
  }

  #write(line: string): void {
    if (this.#state === 'ended' || this.#socket.destroyed) return;
    const data = `${line}\r\n`;
    this.#opts.onTraffic?.('out', Buffer.byteLength(data));
    // Lines written in one turn of the event loop leave in one system call.
    if (!this.#corked) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(() => {
        this.#corked = false;
        this.#socket.uncork();
      });
    }
    this.#socket.write(data);
  }

  #register(): void {
    const o = this.#opts;
    // CAP first: a server that knows it holds registration until CAP END; one that does not
    // answers 421 and registers as usual.
    this.#capsPending = true;
    this.#write('CAP LS 302');
    if (o.password) this.#write(formatLine('PASS', o.password));
    this.#write(formatLine('NICK', this.#nick));
    this.#write(formatLine('USER', o.username, '0', '*', o.realname));
  }

  #checkAlive(): void {
    const idle = Date.now() - this.#lastIn;
    const limit = this.#opts.pingIntervalMs;
    if (idle >= 2 * limit) this.#end(`no answer from the server for ${Math.round(idle / 1000)} s (ping timeout)`, false);
    else if (idle >= limit && !this.#pinged) {
      this.#pinged = true;
      this.#write(`PING :onebridge-${Date.now()}`);
    }
  }

  #read(chunk: string): void {
    this.#lastIn = Date.now();
    this.#pinged = false;
    this.#buffer += chunk;
    let nl: number;
    while ((nl = this.#buffer.indexOf('\n')) >= 0) {
      const raw = this.#buffer.slice(0, nl).replace(/\r$/, '');
      this.#buffer = this.#buffer.slice(nl + 1);
      this.#opts.onTraffic?.('in', Buffer.byteLength(raw) + 2);
      const message = parseLine(raw);
      if (!message) continue;
      try {
        this.#handle(message);
      } catch (err) {
        // One odd line must not take the link down; it is logged and skipped.
        this.#logger.warn(`IRC line not understood (${(err as Error).message}): ${raw.slice(0, 200)}`);
      }
      if (this.#state === 'ended') return;
    }
    if (this.#buffer.length > MAX_LINE) this.#end(`the server sent a line longer than ${MAX_LINE} bytes`, false);
  }

  #handle(m: IrcMessage): void {
    const p = m.params;
    switch (m.command) {
      case 'PING':
        this.#write(formatLine('PONG', p[0] ?? ''));
        return;
      case 'CAP':
        return this.#cap(p);
      case 'AUTHENTICATE':
        return this.#authenticate(p[0] ?? '');
      case '903':
        this.#logger.info(`SASL: logged in as ${this.#opts.sasl?.account}`);
        this.#capEnd();
        return;
      case '902':
      case '904':
      case '905':
      case '906':
      case '908':
        return this.#end(`SASL authentication failed for account ${this.#opts.sasl?.account} (${m.command} ${p.at(-1) ?? ''}); check sasl.account and sasl.password`, true);
      case '421':
        // A server without CAP: registration goes on without it.
        if (p[1]?.toUpperCase() === 'CAP') this.#capsPending = false;
        return;
      case '001':
        return this.#welcome(p);
      case '005':
        return this.#isupport(p.slice(1, -1));
      case '376':
      case '422':
        if (this.#welcomed) this.#registered();
        return;
      case '432':
      case '433':
      case '436':
      case '437':
        return this.#nickRefused(m.command, p);
      case '464':
        return this.#end('the server refused our password (464); check password', true);
      case '465':
        return this.#end(`the server has banned us (465 ${p.at(-1) ?? ''})`, true);
      case 'ERROR':
        // The answer to our QUIT is expected; any other ERROR is the server dropping us.
        if (this.#quitting) this.#logger.debug(`the server closes the link: ${p[0] ?? ''}`);
        else this.#logger.warn(`the server closes the link: ${p[0] ?? ''}`);
        return;
      case '353':
        return this.#namesReply(p);
      case '366':
        return this.#namesEnd(p[1] ?? '');
      case '352':
        return this.#whoReply(p);
      case 'JOIN':
        return this.#join(m);
      case 'PART':
        return this.#part(m.nick, p[0] ?? '', p[1] ?? '');
      case 'KICK':
        return this.#kick(m.nick, p[0] ?? '', p[1] ?? '', p[2] ?? '');
      case 'QUIT':
        return this.#quit(m.nick, p[0] ?? '');
      case 'NICK':
        return this.#nickChange(m.nick, p[0] ?? '');
      case 'MODE':
        return this.#mode(p);
      case 'PRIVMSG':
      case 'NOTICE':
        return this.#text(m);
      default:
        if (REFUSALS.has(m.command)) this.emit('refused', m.command, p);
    }
  }

  #cap(p: readonly string[]): void {
    const sub = p[1]?.toUpperCase();
    if (sub === 'LS') {
      // `CAP * LS * :caps` continues on the next line; the last one has no `*`.
      const more = p[2] === '*';
      const caps = (p.at(-1) ?? '').split(' ').map((c) => c.split('=')[0]!);
      this.#offered.push(...caps);
      if (more) return;
      const want = ['multi-prefix', 'userhost-in-names', ...(this.#opts.sasl ? ['sasl'] : [])].filter((c) => this.#offered.includes(c));
      if (this.#opts.sasl && !want.includes('sasl')) return this.#end('the server does not offer SASL; remove sasl from the config or use password', true);
      if (want.length) this.#write(formatLine('CAP', 'REQ', want.join(' ')));
      else this.#capEnd();
    } else if (sub === 'ACK') {
      const acked = (p.at(-1) ?? '').split(' ');
      if (acked.includes('sasl') && this.#opts.sasl) this.#write('AUTHENTICATE PLAIN');
      else this.#capEnd();
    } else if (sub === 'NAK') {
      if (this.#opts.sasl) return this.#end('the server refused the SASL capability; check the sasl settings', true);
      this.#capEnd();
    }
  }

  #capEnd(): void {
    if (!this.#capsPending) return;
    this.#capsPending = false;
    this.#write('CAP END');
  }

  #authenticate(challenge: string): void {
    const sasl = this.#opts.sasl;
    if (challenge !== '+' || !sasl) return;
    const payload = Buffer.from(`${sasl.account}\0${sasl.account}\0${sasl.password}`).toString('base64');
    // 400-byte pieces; a payload that ends exactly on a piece is closed by a lone "+".
    for (let i = 0; i < payload.length; i += 400) this.#write(`AUTHENTICATE ${payload.slice(i, i + 400)}`);
    if (payload.length % 400 === 0) this.#write('AUTHENTICATE +');
  }

  #welcome(p: readonly string[]): void {
    this.#welcomed = true;
    if (p[0]) this.#nick = p[0];
    // "Welcome to the … Network nick!user@host" on most servers: our mask as others see it.
    const mask = /(\S+!\S+@\S+)\s*$/.exec(p.at(-1) ?? '')?.[1];
    if (mask && this.isSelf(mask.split('!')[0]!)) this.#hostmask = mask;
  }

  #registered(): void {
    if (this.#state !== 'registering') return;
    clearTimeout(this.#registrationTimer);
    this.#registrationTimer = undefined;
    this.#state = 'registered';
    this.#logger.info(`registered as ${this.#nick}${this.#nick === this.#opts.nick ? '' : ` (${this.#opts.nick} was taken)`}`);
    this.emit('registered', this.#nick);
  }

  #isupport(tokens: readonly string[]): void {
    for (const token of tokens) {
      const eq = token.indexOf('=');
      const key = (eq < 0 ? token : token.slice(0, eq)).toUpperCase();
      const value = eq < 0 ? '' : token.slice(eq + 1);
      if (key === 'CASEMAPPING' && (value === 'ascii' || value === 'rfc1459' || value === 'strict-rfc1459')) this.features.caseMapping = value;
      else if (key === 'CHANTYPES' && value) this.features.chanTypes = value;
      else if (key === 'NICKLEN' && Number(value) > 0) this.features.nickLen = Number(value);
      else if (key === 'PREFIX') {
        const match = /^\(([^)]*)\)(.*)$/.exec(value);
        if (match && match[1]!.length === match[2]!.length) {
          this.features.prefixModes = match[1]!;
          this.features.prefixSymbols = match[2]!;
        }
      } else if (key === 'CHANMODES') {
        const [a = '', b = '', c = '', d = ''] = value.split(',');
        this.features.chanModes = [a, b, c, d];
      }
    }
  }

  #nickRefused(numeric: string, p: readonly string[]): void {
    if (this.#state !== 'registering') {
      this.#logger.warn(`nick change refused (${numeric} ${p.at(-1) ?? ''})`);
      return;
    }
    this.#nickAttempt++;
    if (this.#nickAttempt > 20) return this.#end(`no free nick after 20 tries (last refused: ${this.#nick})`, false);
    const base = this.#opts.nick;
    const next = this.#nickAttempt <= 2 ? `${base}${'_'.repeat(this.#nickAttempt)}` : `${base.slice(0, Math.max(1, Math.min(base.length, this.features.nickLen - 4)))}${Math.floor(1000 + Math.random() * 9000)}`;
    this.#logger.warn(`nick ${this.#nick} refused (${numeric} ${p.at(-1) ?? ''}); trying ${next}`);
    this.#nick = next;
    this.#write(formatLine('NICK', next));
  }

  #member(nick: string, userhost = ''): Member {
    return { nick, modes: '', userhost, joinedAt: 0, lastSpokeAt: 0 };
  }

  #join(m: IrcMessage): void {
    const name = m.params[0] ?? '';
    const userhost = m.prefix.slice(m.nick.length + 1);
    if (this.isSelf(m.nick)) {
      this.#hostmask = m.prefix;
      const channel: Channel = { name, named: false, members: new Map() };
      this.channels.set(this.fold(name), channel);
      const me = this.#member(m.nick, userhost);
      me.joinedAt = Date.now();
      channel.members.set(this.fold(m.nick), me);
      this.emit('join', channel, me, true);
      return;
    }
    const channel = this.channel(name);
    if (!channel) return;
    const member = this.#member(m.nick, userhost);
    member.joinedAt = Date.now();
    channel.members.set(this.fold(m.nick), member);
    this.emit('join', channel, member, false);
  }

  #part(nick: string, name: string, reason: string): void {
    const channel = this.channel(name);
    if (!channel) return;
    const self = this.isSelf(nick);
    if (self) this.channels.delete(this.fold(name));
    else channel.members.delete(this.fold(nick));
    this.emit('part', channel, nick, reason, self);
  }

  #kick(by: string, name: string, nick: string, reason: string): void {
    const channel = this.channel(name);
    if (!channel) return;
    const self = this.isSelf(nick);
    if (self) this.channels.delete(this.fold(name));
    else channel.members.delete(this.fold(nick));
    this.emit('kick', channel, nick, by, reason, self);
  }

  #quit(nick: string, reason: string): void {
    const key = this.fold(nick);
    const left: Channel[] = [];
    for (const channel of this.channels.values()) if (channel.members.delete(key)) left.push(channel);
    this.emit('quit', nick, left, reason);
  }

  #nickChange(from: string, to: string): void {
    if (!to) return;
    const self = this.isSelf(from);
    if (self) this.#nick = to;
    const fromKey = this.fold(from);
    for (const channel of this.channels.values()) {
      const member = channel.members.get(fromKey);
      if (!member) continue;
      channel.members.delete(fromKey);
      member.nick = to;
      channel.members.set(this.fold(to), member);
    }
    this.emit('nick', from, to, self);
  }

  #mode(p: readonly string[]): void {
    const channel = this.channel(p[0] ?? '');
    if (!channel) return;
    const [a, b, c] = this.features.chanModes;
    let sign = '+';
    let arg = 2;
    for (const ch of p[1] ?? '') {
      if (ch === '+' || ch === '-') {
        sign = ch;
        continue;
      }
      if (this.features.prefixModes.includes(ch)) {
        const member = channel.members.get(this.fold(p[arg++] ?? ''));
        if (!member) continue;
        const modes = member.modes.replace(ch, '');
        member.modes = sign === '+' ? this.#sortModes(modes + ch) : modes;
      } else if (a.includes(ch) || b.includes(ch) || (c.includes(ch) && sign === '+')) arg++;
    }
  }

  #sortModes(modes: string): string {
    const order = this.features.prefixModes;
    return [...modes].sort((x, y) => order.indexOf(x) - order.indexOf(y)).join('');
  }

  #namesReply(p: readonly string[]): void {
    // 353 <me> <type> <channel> :<names>
    const key = this.fold(p[2] ?? '');
    let pending = this.#names.get(key);
    if (!pending) this.#names.set(key, (pending = new Map()));
    for (const entry of (p[3] ?? '').split(' ')) {
      if (!entry) continue;
      let i = 0;
      let modes = '';
      while (i < entry.length && this.features.prefixSymbols.includes(entry[i]!)) modes += this.features.prefixModes[this.features.prefixSymbols.indexOf(entry[i++]!)];
      const [nick = '', userhost = ''] = entry.slice(i).split(/!(.*)/s);
      if (!nick) continue;
      const member = this.#member(nick, userhost);
      member.modes = this.#sortModes(modes);
      pending.set(this.fold(nick), member);
    }
  }

  #namesEnd(name: string): void {
    const key = this.fold(name);
    const pending = this.#names.get(key) ?? new Map<string, Member>();
    this.#names.delete(key);
    const channel = this.channels.get(key);
    if (!channel) return;
    if (name) channel.name = name;
    for (const [k, member] of pending) {
      // Keep what we learned from JOIN and PRIVMSG lines; NAMES says who and which modes.
      const known = channel.members.get(k);
      if (known) {
        member.joinedAt = known.joinedAt;
        member.lastSpokeAt = known.lastSpokeAt;
        member.userhost ||= known.userhost;
      }
    }
    channel.members.clear();
    for (const [k, member] of pending) channel.members.set(k, member);
    if (!channel.named) {
      channel.named = true;
      // NAMES gives no user@host without userhost-in-names; WHO does, for ban masks.
      if (![...pending.values()].every((m) => m.userhost)) this.command('WHO', channel.name);
    }
    this.emit('names', channel);
  }

  #whoReply(p: readonly string[]): void {
    // 352 <me> <channel> <user> <host> <server> <nick> <flags> :<hops> <realname>
    const channel = this.channel(p[1] ?? '');
    const member = channel?.members.get(this.fold(p[5] ?? ''));
    if (member && p[2] && p[3]) member.userhost = `${p[2]}@${p[3]}`;
  }

  #text(m: IrcMessage): void {
    const target = m.params[0] ?? '';
    const raw = m.params[1] ?? '';
    const userhost = m.prefix.slice(m.nick.length + 1);
    // Server notices during registration have no user prefix; they are not chat.
    if (!userhost && m.command === 'NOTICE') {
      this.#logger.debug(`server notice: ${raw}`);
      return;
    }
    const channel = this.isChannel(target) ? this.channel(target) : undefined;
    const member = channel?.members.get(this.fold(m.nick));
    if (member) {
      member.lastSpokeAt = Date.now();
      member.userhost ||= userhost;
    }
    let kind: IncomingText['kind'] = m.command === 'NOTICE' ? 'notice' : 'privmsg';
    let text = raw;
    const ctcp = parseCtcp(raw);
    if (ctcp) {
      if (ctcp.command !== 'ACTION') {
        if (m.command === 'PRIVMSG') this.#ctcpReply(m.nick, ctcp.command, ctcp.args);
        return;
      }
      kind = 'action';
      text = ctcp.args;
    }
    this.emit('text', { kind, nick: m.nick, userhost, target, channel, text, tags: m.tags });
  }

  #ctcpReply(nick: string, command: string, args: string): void {
    const answer = command === 'VERSION' ? this.#opts.version : command === 'PING' ? args : command === 'TIME' ? new Date().toUTCString() : command === 'CLIENTINFO' ? 'ACTION CLIENTINFO PING TIME VERSION' : undefined;
    // Through the queue: a CTCP flood must not make us flood the server in turn.
    if (answer !== undefined) this.say(nick, [formatCtcp(command, answer)], 'NOTICE');
  }
}
