import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ActionError,
  Params,
  parseText,
  PlatformMessages,
  renderText,
  StableIds,
  type Message,
} from '../src/kit/index.js';

const ircLower = (nick: string) =>
  nick.toLowerCase().replace(/\[/g, '{').replace(/\]/g, '}').replace(/\\/g, '|').replace(/~/g, '^');

describe('StableIds', () => {
  it('the same name gives the same id in a fresh process (no store), within safe integers', () => {
    const names = ['alice', 'Bob', '#onebridge', 'user@example.org', '\u{1F600}'];
    const here = new StableIds({ namespace: 'irc:test:user' });
    const ids = names.map((n) => here.id(n));
    const kit = resolve(import.meta.dirname, '../dist/src/kit/index.js');
    const script = `import { StableIds } from ${JSON.stringify(kit)}; const s = new StableIds({ namespace: 'irc:test:user' }); process.stdout.write(JSON.stringify(${JSON.stringify(names)}.map((n) => s.id(n))));`;
    const there = JSON.parse(
      execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }),
    ) as number[];
    expect(there).toEqual(ids);
    for (const id of ids) expect(Number.isSafeInteger(id) && id > 0).toBe(true);
    expect(new Set(ids).size).toBe(names.length);
  });

  it('normalize makes platform-equal names one id; namespaces keep equal names apart', () => {
    const users = new StableIds({ namespace: 'irc:x:user', normalize: ircLower });
    expect(users.id('Alice[m]')).toBe(users.id('alice{M}'));
    const channels = new StableIds({ namespace: 'irc:x:channel', normalize: ircLower });
    expect(channels.id('alice')).not.toBe(users.id('alice'));
  });

  it('reverse lookup for actions: the name as last spelt, 100 (not 1404) for an id never seen', () => {
    const users = new StableIds({ namespace: 'xmpp:user', what: 'user_id', normalize: (j) => j.toLowerCase() });
    const id = users.id('Alice@Example.org');
    expect(users.name(id)).toBe('Alice@Example.org');
    expect(users.respell('alice@example.org')).toBe(id);
    expect(users.require(id)).toBe('alice@example.org');
    expect(() => users.require(12345)).toThrow(ActionError);
    try {
      users.require(12345);
    } catch (err) {
      expect((err as ActionError).retcode).toBe(100);
      expect((err as Error).message).toBe('unknown user_id 12345 (not seen since onebridge started)');
    }
  });

  it('no two names share an id within a process (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 200 }),
        (names) => {
          const ids = new StableIds({ namespace: 'p' });
          const got = names.map((n) => ids.id(n));
          expect(new Set(got).size).toBe(names.length);
          names.forEach((n, i) => expect(ids.name(got[i]!)).toBe(n));
        },
      ),
    );
  });
});

describe('PlatformMessages', () => {
  const sender = { user_id: 7, nickname: 'alice' };
  const hello: Message = [{ type: 'text', data: { text: 'hello' } }];

  it('gives int32 message ids, finds them by platform id, and serves get_msg / delete_msg', async () => {
    const removed: string[] = [];
    const store = new PlatformMessages({ capacity: 10, firstId: 0x7ffffffe });
    const a = store.record({
      platformId: 'msg-a',
      message_type: 'group',
      group_id: 5,
      user_id: 7,
      sender,
      message: hello,
      time: 100,
    });
    const b = store.record({ message_type: 'private', user_id: 7, to: 1, sender, message: hello });
    const c = store.record({ message_type: 'private', user_id: 7, sender, message: hello });
    expect([a.message_id, b.message_id, c.message_id]).toEqual([0x7ffffffe, 0x7fffffff, 1]);
    expect(store.idOf('msg-a')).toBe(a.message_id);
    const actions = store.actions((m) => void removed.push(m.platformId ?? '?'));
    const got = await actions['get_msg']!(new Params({ message_id: a.message_id }), { selfId: 1, format: 'string' });
    expect(got).toEqual({
      time: 100,
      message_type: 'group',
      message_id: a.message_id,
      real_id: a.message_id,
      sender,
      message: 'hello',
      raw_message: 'hello',
      group_id: 5,
    });
    await actions['delete_msg']!(new Params({ message_id: a.message_id }), { selfId: 1, format: 'array' });
    expect(removed).toEqual(['msg-a']);
    expect(store.idOf('msg-a')).toBeUndefined();
    expect(() => actions['get_msg']!(new Params({ message_id: a.message_id }), { selfId: 1, format: 'array' })).toThrow(
      /not found/,
    );
  });

  it('stays bounded: the least recently used go first', () => {
    const store = new PlatformMessages({ capacity: 3, firstId: 1 });
    for (let i = 0; i < 10; i++)
      store.record({ platformId: `p${i}`, message_type: 'private', user_id: 7, sender, message: hello });
    expect(store.store.size).toBe(3);
    expect(store.idOf('p0')).toBeUndefined();
    expect(store.idOf('p9')).toBe(10);
  });

  it('alias: a second platform id (learned on echo) finds the same message, until it is gone', () => {
    const store = new PlatformMessages({ capacity: 2, firstId: 1 });
    const a = store.record({
      platformId: 'origin-a',
      message_type: 'group',
      group_id: 5,
      user_id: 7,
      sender,
      message: hello,
    });
    store.alias(a.message_id, 'stanza-a');
    expect(store.idOf('stanza-a')).toBe(a.message_id);
    expect(store.idOf('origin-a')).toBe(a.message_id);
    // The first id stays the message's own.
    expect(store.get(a.message_id).platformId).toBe('origin-a');
    store.delete(a.message_id);
    expect(store.idOf('stanza-a')).toBeUndefined();
    store.alias(a.message_id, 'late');
    expect(store.idOf('late')).toBeUndefined();
    // Evicted from the store: its aliases find nothing either.
    const b = store.record({ platformId: 'b', message_type: 'private', user_id: 7, sender, message: hello });
    store.alias(b.message_id, 'b2');
    for (let i = 0; i < 3; i++)
      store.record({ platformId: `x${i}`, message_type: 'private', user_id: 7, sender, message: hello });
    expect(store.idOf('b2')).toBeUndefined();
  });
});

describe('renderText', () => {
  const names: Record<number, string> = { 7: 'alice' };
  const opts = {
    nameOf: (id: number) => names[id],
    quoteOf: (id: number) =>
      id === 42 ? { name: 'bob', text: 'a rather long message that goes on and on\nover lines' } : undefined,
    quoteLength: 20,
  };

  it('falls back sensibly for every segment a text platform cannot show', () => {
    expect(
      renderText(
        [
          { type: 'at', data: { qq: '7' } },
          { type: 'text', data: { text: ' hi' } },
        ],
        opts,
      ),
    ).toBe('@alice hi');
    expect(
      renderText(
        [
          { type: 'text', data: { text: 'hi' } },
          { type: 'at', data: { qq: '9' } },
        ],
        opts,
      ),
    ).toBe('hi @9');
    expect(
      renderText(
        [
          { type: 'at', data: { qq: 'all' } },
          { type: 'text', data: { text: 'news' } },
        ],
        opts,
      ),
    ).toBe('@all news');
    expect(
      renderText([
        { type: 'text', data: { text: 'look' } },
        { type: 'image', data: { file: 'x.png', url: 'https://e.org/x.png' } },
        { type: 'text', data: { text: 'nice' } },
      ]),
    ).toBe('look https://e.org/x.png nice');
    expect(renderText([{ type: 'record', data: { file: 'http://e.org/a.amr' } }])).toBe('http://e.org/a.amr');
    expect(renderText([{ type: 'video', data: { file: 'base64://AAAA' } }])).toBe('[video]');
    expect(
      renderText([
        { type: 'face', data: { id: '14' } },
        { type: 'face', data: { id: '999' } },
      ]),
    ).toBe(':) [face:999]');
    expect(
      renderText(
        [
          { type: 'reply', data: { id: '42' } },
          { type: 'text', data: { text: 'agreed' } },
        ],
        opts,
      ),
    ).toBe('> bob: a rather long messa…\nagreed');
    expect(
      renderText(
        [
          { type: 'reply', data: { id: '43' } },
          { type: 'text', data: { text: 'agreed' } },
        ],
        opts,
      ),
    ).toBe('agreed');
    expect(renderText([{ type: 'share', data: { url: 'https://e.org', title: 'E' } }])).toBe('E https://e.org');
    expect(renderText([{ type: 'location', data: { lat: '1.5', lon: '2' } }])).toBe('geo:1.5,2');
    expect(renderText([{ type: 'dice', data: {} }])).toBe('[dice]');
  });

  it('mentions read as the platform wants them', () => {
    const irc = (name: string, where: 'start' | 'inline') => (where === 'start' ? `${name}:` : name);
    expect(
      renderText(
        [
          { type: 'at', data: { qq: '7' } },
          { type: 'text', data: { text: 'hi' } },
        ],
        { ...opts, mention: irc },
      ),
    ).toBe('alice: hi');
  });
});

describe('parseText', () => {
  const o = { selfId: 10001, selfNames: ['onebot'] };
  const at = { type: 'at', data: { qq: '10001' } };
  const text = (t: string) => ({ type: 'text', data: { text: t } });

  it('addressing the bot becomes a leading at; an inline @bot an at where it stands', () => {
    expect(parseText('onebot: hello', o)).toEqual([at, text('hello')]);
    expect(parseText('OneBot, hello', o)).toEqual([at, text('hello')]);
    expect(parseText('@onebot hello', o)).toEqual([at, text('hello')]);
    expect(parseText('hey @onebot, look', o)).toEqual([text('hey '), at, text(', look')]);
    expect(parseText('onebot is a word here', o)).toEqual([text('onebot is a word here')]);
    expect(parseText('@oneboter hi', o)).toEqual([text('@oneboter hi')]);
    expect(parseText('onebot:', o)).toEqual([at]);
    expect(parseText('', o)).toEqual([]);
    expect(parseText('Onebot: x', { ...o, caseSensitive: true })).toEqual([text('Onebot: x')]);
  });

  it('names with regex characters are taken literally', () => {
    expect(parseText('[bot]: hi', { selfId: 1, selfNames: ['[bot]'] })).toEqual([
      { type: 'at', data: { qq: '1' } },
      text('hi'),
    ]);
    expect(parseText('b.t: hi', { selfId: 1, selfNames: ['[bot]'] })).toEqual([text('b.t: hi')]);
  });

  it('builds its matchers once per set of names, not per message; a name change takes effect at once', () => {
    // Counts `new RegExp(…)` anywhere while it is installed (literals do not go through it).
    const Real = globalThis.RegExp;
    let built = 0;
    globalThis.RegExp = new Proxy(Real, {
      construct(target, args: [string, string?], newTarget: NewableFunction) {
        built++;
        return Reflect.construct(target, args, newTarget) as object;
      },
    });
    try {
      // Names no other test uses, so nothing is cached for them yet.
      const before = { selfId: 7, selfNames: ['cachebot'] };
      for (let i = 0; i < 100; i++) expect(parseText(`cachebot: hi ${i}`, before)[0]).toEqual(at7);
      expect(built).toBe(2);
      // A nick change (IRC keeps the configured nick too): new names, new matchers, used at once.
      const after = { selfId: 7, selfNames: ['cachebot_', 'cachebot'] };
      expect(parseText('cachebot_: hi', after)).toEqual([at7, text('hi')]);
      expect(parseText('cachebot_: hi', before)).toEqual([text('cachebot_: hi')]);
      expect(parseText('hey @cachebot_ and @cachebot', after)).toEqual([text('hey '), at7, text(' and '), at7]);
      expect(built).toBe(4);
      // The case rule is part of the configuration.
      expect(parseText('CacheBot: hi', { ...before, caseSensitive: true })).toEqual([text('CacheBot: hi')]);
      expect(parseText('CacheBot: hi', before)).toEqual([at7, text('hi')]);
      expect(built).toBe(6);
      // A caller that changes its array in place is seen too.
      const names = ['mutbot'];
      expect(parseText('mutbot: x', { selfId: 7, selfNames: names })).toEqual([at7, text('x')]);
      names[0] = 'otherbot';
      expect(parseText('otherbot: x', { selfId: 7, selfNames: names })).toEqual([at7, text('x')]);
      expect(parseText('mutbot: x', { selfId: 7, selfNames: names })).toEqual([text('mutbot: x')]);
    } finally {
      globalThis.RegExp = Real;
    }
  });
});

const at7 = { type: 'at', data: { qq: '7' } };
