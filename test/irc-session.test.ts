import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IrcSession, type SessionEnd, type SessionOptions } from '../adapters/irc/session.js';
import { getLogger } from '../src/logger.js';
import './support/app.js';

/** A socket stand-in: what the session writes is in `written`; `serve()` feeds it lines. */
class FakeSocket extends Duplex {
  readonly written: string[] = [];
  override _read(): void {}
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.written.push(...String(chunk).split('\r\n').filter(Boolean));
    cb();
  }
  serve(...lines: string[]): void {
    this.push(lines.map((l) => `${l}\r\n`).join(''));
  }
}

const flush = () => new Promise<void>((r) => setImmediate(r));

const base: SessionOptions = {
  nick: 'bot',
  username: 'onebridge',
  realname: 'onebridge bot',
  password: '',
  sasl: undefined,
  registrationTimeoutMs: 5000,
  pingIntervalMs: 10_000,
  sendIntervalMs: 0,
  maxQueue: 10,
  version: 'onebridge test',
  logger: getLogger('irc-test'),
};

const sessions: IrcSession[] = [];
function open(options: Partial<SessionOptions> = {}) {
  const socket = new FakeSocket();
  const session = new IrcSession(socket, { ...base, ...options });
  sessions.push(session);
  const ends: SessionEnd[] = [];
  session.on('end', (e) => ends.push(e));
  return { socket, session, ends };
}

async function registered(options: Partial<SessionOptions> = {}) {
  const s = open(options);
  s.socket.serve(':irc.test CAP * LS :multi-prefix', ':irc.test 001 bot :Welcome to the network bot!~onebridge@127.0.0.1', ':irc.test 005 bot PREFIX=(qaohv)~&@%+ CHANMODES=beI,k,l,imnst CASEMAPPING=ascii CHANTYPES=#& :are supported', ':irc.test 376 bot :End of MOTD');
  await flush();
  expect(s.session.registered).toBe(true);
  s.socket.written.length = 0;
  return s;
}

afterEach(() => {
  for (const s of sessions.splice(0)) s.end('test over');
  vi.useRealTimers();
});

describe('IRC session: registration', () => {
  it('negotiates CAP, registers, learns ISUPPORT and its host mask', async () => {
    const { socket, session } = open({ password: 'secret pass' });
    const seen: string[] = [];
    session.on('registered', (nick) => seen.push(nick));
    await flush(); // writes of one turn leave together (corked until the next tick)
    expect(socket.written).toEqual(['CAP LS 302', 'PASS :secret pass', 'NICK bot', 'USER onebridge 0 * :onebridge bot']);
    socket.serve(':irc.test CAP * LS * :away-notify multi-prefix', ':irc.test CAP * LS :userhost-in-names cap-notify');
    await flush();
    expect(socket.written.at(-1)).toBe('CAP REQ :multi-prefix userhost-in-names');
    socket.serve(':irc.test CAP * ACK :multi-prefix userhost-in-names');
    await flush();
    expect(socket.written.at(-1)).toBe('CAP END');
    socket.serve(':irc.test 001 bot :Welcome to the Internet Relay Network bot!~onebridge@127.0.0.1', ':irc.test 005 bot CASEMAPPING=ascii NICKLEN=9 PREFIX=(ov)@+ :are supported');
    await flush();
    expect(session.registered).toBe(false); // not before the end of the MOTD: ISUPPORT may continue
    socket.serve(':irc.test 422 bot :MOTD File is missing');
    await flush();
    expect(seen).toEqual(['bot']);
    expect(session.hostmask).toBe('bot!~onebridge@127.0.0.1');
    expect(session.features).toMatchObject({ caseMapping: 'ascii', nickLen: 9 });
    expect(session.fold('Bot[x]')).toBe('bot[x]');
  });

  it('a server without CAP (421) still registers', async () => {
    const { socket, session } = open();
    socket.serve(':irc.test 421 * CAP :Unknown command', ':irc.test 001 bot :Welcome', ':irc.test 376 bot :End');
    await flush();
    expect(session.registered).toBe(true);
    expect(socket.written).not.toContain('CAP END');
  });

  it('takes another nick when its own is in use, and says so', async () => {
    const { socket, session } = open();
    socket.serve(':irc.test 433 * bot :Nickname already in use');
    await flush();
    expect(socket.written.at(-1)).toBe('NICK bot_');
    socket.serve(':irc.test 433 * bot_ :Nickname already in use');
    await flush();
    expect(socket.written.at(-1)).toBe('NICK bot__');
    socket.serve(':irc.test 433 * bot__ :Nickname already in use');
    await flush();
    expect(socket.written.at(-1)).toMatch(/^NICK bot\d{4}$/);
    const nick = socket.written.at(-1)!.slice(5);
    socket.serve(`:irc.test 001 ${nick} :Welcome`, `:irc.test 376 ${nick} :End`);
    await flush();
    expect(session.nick).toBe(nick);
  });

  it('logs in with SASL PLAIN before CAP END; a refusal ends the session as fatal', async () => {
    const { socket, ends } = open({ sasl: { account: 'acct', password: 'pw' } });
    socket.serve(':irc.test CAP * LS :sasl=PLAIN,EXTERNAL multi-prefix');
    await flush();
    expect(socket.written.at(-1)).toBe('CAP REQ :multi-prefix sasl');
    socket.serve(':irc.test CAP bot ACK :multi-prefix sasl');
    await flush();
    expect(socket.written.at(-1)).toBe('AUTHENTICATE PLAIN');
    socket.serve('AUTHENTICATE +');
    await flush();
    expect(socket.written.at(-1)).toBe(`AUTHENTICATE ${Buffer.from('acct\0acct\0pw').toString('base64')}`);
    socket.serve(':irc.test 904 bot :SASL authentication failed');
    await flush();
    expect(ends).toEqual([{ reason: expect.stringMatching(/SASL authentication failed for account acct.*check sasl/), fatal: true }]);

    const ok = open({ sasl: { account: 'acct', password: 'pw' } });
    ok.socket.serve(':irc.test CAP * LS :sasl', ':irc.test CAP bot ACK :sasl', 'AUTHENTICATE +', ':irc.test 903 bot :SASL successful');
    await flush();
    expect(ok.socket.written.at(-1)).toBe('CAP END');
  });

  it('a wrong server password (464) is fatal', async () => {
    const { socket, ends } = open({ password: 'x' });
    socket.serve(':irc.test 464 * :Password incorrect');
    await flush();
    expect(ends[0]).toMatchObject({ fatal: true, reason: expect.stringMatching(/check password/) });
  });

  it('gives up registration after registrationTimeoutMs, and leaves no timer', () => {
    vi.useFakeTimers();
    const { socket, ends } = open({ registrationTimeoutMs: 3000 });
    vi.advanceTimersByTime(2999);
    expect(ends).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ends).toEqual([{ reason: expect.stringMatching(/registration timeout/), fatal: false }]);
    expect(socket.destroyed).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('IRC session: keepalive', () => {
  it('answers PING, pings after silence, and declares the link dead after twice that', async () => {
    // setImmediate stays real so flush() works; the session's clocks are fake.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const { socket, ends } = await registered({ pingIntervalMs: 1000 });
    socket.serve('PING :irc.test');
    await flush();
    expect(socket.written).toEqual(['PONG irc.test']);
    vi.advanceTimersByTime(999);
    await flush();
    expect(socket.written).toHaveLength(1);
    vi.advanceTimersByTime(1);
    await flush();
    expect(socket.written.at(-1)).toMatch(/^PING :onebridge-\d+$/);
    // Any line resets the clock.
    socket.serve(':irc.test PONG irc.test :x');
    await flush();
    vi.advanceTimersByTime(1500);
    await flush();
    expect(ends).toEqual([]);
    expect(socket.written.filter((l) => l.startsWith('PING'))).toHaveLength(2);
    vi.advanceTimersByTime(500);
    expect(ends).toEqual([{ reason: expect.stringMatching(/ping timeout/), fatal: false }]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('IRC session: channels', () => {
  it('tracks members and prefix modes through NAMES, JOIN, MODE, NICK, PART, KICK and QUIT', async () => {
    const { socket, session } = await registered();
    const events: string[] = [];
    session.on('join', (c, m, self) => events.push(`join ${c.name} ${m.nick}${self ? ' self' : ''}`));
    session.on('part', (c, n, r, self) => events.push(`part ${c.name} ${n} ${r}${self ? ' self' : ''}`));
    session.on('kick', (c, n, by, r) => events.push(`kick ${c.name} ${n} by ${by} ${r}`));
    session.on('quit', (n, cs, r) => events.push(`quit ${n} ${cs.map((c) => c.name).join(',')} ${r}`));
    session.on('nick', (a, b) => events.push(`nick ${a} ${b}`));
    // The JOIN echo repeats our spelling; NAMES gives the channel's own.
    socket.serve(':bot!~onebridge@10.0.0.1 JOIN :#chan', ':irc.test 353 bot = #Chan :bot @alice +bob ~&carol', ':irc.test 366 bot #Chan :End of NAMES');
    await flush();
    const chan = session.channel('#CHAN')!;
    expect(chan.name).toBe('#Chan');
    expect(session.hostmask).toBe('bot!~onebridge@10.0.0.1');
    const modes = () => Object.fromEntries([...chan.members.values()].map((m) => [m.nick, m.modes]));
    expect(modes()).toEqual({ bot: '', alice: 'o', bob: 'v', carol: 'qa' });
    socket.serve(':alice!a@h MODE #chan +o-v+lk bot bob 10 key', ':alice!a@h MODE #chan +b *!*@x');
    await flush();
    expect(modes()).toMatchObject({ bot: 'o', bob: '' });
    expect(session.ownModes('#chan')).toBe('o');
    socket.serve(':dave!~d@host JOIN #chan', ':bob!b@h NICK :robert', ':robert!b@h PART #chan :later', ':alice!a@h KICK #chan dave :spam', ':carol!c@h QUIT :gone');
    await flush();
    expect(events).toEqual(['join #chan bot self', 'join #Chan dave', 'nick bob robert', 'part #Chan robert later', 'kick #Chan dave by alice spam', 'quit carol #Chan gone']);
    expect(modes()).toEqual({ bot: 'o', alice: 'o' });
    socket.serve(':bot!~onebridge@10.0.0.1 PART #chan');
    await flush();
    expect(session.channel('#chan')).toBeUndefined();
  });

  it('reads userhost-in-names, and keeps join times across a NAMES refresh', async () => {
    const { socket, session } = await registered();
    socket.serve(':bot!u@h JOIN #c', ':irc.test 353 bot = #c :bot @alice!al@home', ':irc.test 366 bot #c :End');
    await flush();
    expect(session.channel('#c')!.members.get('alice')).toMatchObject({ nick: 'alice', modes: 'o', userhost: 'al@home' });
    const joined = session.channel('#c')!.members.get('bot')!.joinedAt;
    expect(joined).toBeGreaterThan(0);
    socket.serve(':irc.test 353 bot = #c :@bot alice', ':irc.test 366 bot #c :End');
    await flush();
    expect(session.channel('#c')!.members.get('bot')).toMatchObject({ modes: 'o', joinedAt: joined });
  });
});

describe('IRC session: text', () => {
  it('reports PRIVMSG, NOTICE and CTCP ACTION; answers CTCP VERSION by NOTICE and hides it', async () => {
    const { socket, session } = await registered();
    const texts: unknown[] = [];
    session.on('text', (t) => texts.push({ kind: t.kind, nick: t.nick, userhost: t.userhost, target: t.target, text: t.text }));
    socket.serve(':alice!al@h PRIVMSG #c :hello', ':alice!al@h PRIVMSG bot :\x01ACTION waves\x01', ':alice!al@h NOTICE bot :psst', ':alice!al@h PRIVMSG bot :\x01VERSION\x01', ':irc.test NOTICE * :*** Looking up your hostname');
    await flush();
    expect(texts).toEqual([
      { kind: 'privmsg', nick: 'alice', userhost: 'al@h', target: '#c', text: 'hello' },
      { kind: 'action', nick: 'alice', userhost: 'al@h', target: 'bot', text: 'waves' },
      { kind: 'notice', nick: 'alice', userhost: 'al@h', target: 'bot', text: 'psst' },
    ]);
    expect(socket.written).toEqual(['NOTICE alice :\x01VERSION onebridge test\x01']);
  });

  it('survives garbage and ends on a line longer than any server sends', async () => {
    const { socket, session, ends } = await registered();
    socket.serve(':x', '', ':a!b@c 353', ':a!b@c MODE', 'PRIVMSG');
    await flush();
    expect(session.registered).toBe(true);
    socket.push('x'.repeat(10_000));
    await flush();
    expect(ends[0]?.reason).toMatch(/longer than/);
  });

  it('quit() sends QUIT and gives up waiting for the server after its deadline', async () => {
    const { socket, session, ends } = await registered();
    const t0 = Date.now();
    await session.quit('bye', 200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
    expect(socket.written).toEqual(['QUIT bye']);
    expect(ends).toEqual([{ reason: 'quit', fatal: false }]);
    expect(socket.destroyed).toBe(true);
    await session.quit('again', 200); // idempotent, at once
  });
});
