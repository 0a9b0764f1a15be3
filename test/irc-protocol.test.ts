import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { foldCase, formatCtcp, formatLine, IrcLineError, isChannel, parseCtcp, parseLine, stripFormatting } from '../adapters/irc/protocol.js';
import { SendQueue } from '../adapters/irc/send-queue.js';
import { splitText, textBudget } from '../adapters/irc/split.js';

const bytes = (s: string) => Buffer.byteLength(s);

describe('IRC lines', () => {
  it('parses tags, prefix, command and params, trailing with spaces and colons', () => {
    const m = parseLine('@msgid=abc;time=2026-01-01T00:00:00Z;+x=a\\sb\\:c :alice!~al@host.example PRIVMSG #Chan :hi: there :)')!;
    expect(m.tags.get('msgid')).toBe('abc');
    expect(m.tags.get('+x')).toBe('a b;c');
    expect(m).toMatchObject({ prefix: 'alice!~al@host.example', nick: 'alice', command: 'PRIVMSG', params: ['#Chan', 'hi: there :)'] });
  });

  it('tolerates lowercase commands, runs of spaces, no prefix, no trailing colon; skips empty lines', () => {
    expect(parseLine('ping  irc.test')).toMatchObject({ prefix: '', command: 'PING', params: ['irc.test'] });
    expect(parseLine(':irc.test 001 bot :Welcome')).toMatchObject({ nick: 'irc.test', command: '001', params: ['bot', 'Welcome'] });
    expect(parseLine(':nick JOIN #a')).toMatchObject({ nick: 'nick', params: ['#a'] });
    expect(parseLine('')).toBeUndefined();
    expect(parseLine(':only-prefix')).toBeUndefined();
    expect(parseLine('PRIVMSG #a :')).toMatchObject({ params: ['#a', ''] });
  });

  it('writes the last param as trailing only when it must, and refuses CR, LF, NUL and bad middles', () => {
    expect(formatLine('PRIVMSG', '#a', 'hello')).toBe('PRIVMSG #a hello');
    expect(formatLine('PRIVMSG', '#a', 'hello world')).toBe('PRIVMSG #a :hello world');
    expect(formatLine('PRIVMSG', '#a', ':)')).toBe('PRIVMSG #a ::)');
    expect(formatLine('PRIVMSG', '#a', '')).toBe('PRIVMSG #a :');
    expect(() => formatLine('PRIVMSG', '#a', 'x\r\nQUIT')).toThrow(IrcLineError);
    expect(() => formatLine('PRIVMSG', '#a', 'x\0')).toThrow(IrcLineError);
    expect(() => formatLine('KICK', '#a b', 'x')).toThrow(/param 1/);
  });

  it('round-trips any params through format and parse', () => {
    const middle = fc.stringMatching(/^[^\s:\0\r\n][^\s\0\r\n]{0,10}$/);
    const trailing = fc.string({ maxLength: 40 }).map((s) => s.replace(/[\0\r\n]/g, ''));
    fc.assert(
      fc.property(fc.array(middle, { maxLength: 4 }), trailing, (mids, last) => {
        const line = formatLine('PRIVMSG', ...mids, last);
        expect(parseLine(line)!.params).toEqual([...mids, last]);
      }),
    );
  });

  it('folds case as the server says: rfc1459 by default, ascii when told', () => {
    expect(foldCase('Bot[Away]\\~')).toBe('bot{away}|^');
    expect(foldCase('Bot[Away]\\~', 'strict-rfc1459')).toBe('bot{away}|~');
    expect(foldCase('Bot[Away]\\~', 'ascii')).toBe('bot[away]\\~');
    expect(isChannel('#a')).toBe(true);
    expect(isChannel('&a')).toBe(true);
    expect(isChannel('+a', '#')).toBe(false);
    expect(isChannel('alice')).toBe(false);
  });

  it('strips every formatting code, colour digits included, and leaves text alone', () => {
    expect(stripFormatting('\x02bold\x02 \x0304red\x03 \x0304,12on blue\x0f \x1ditalic\x1d \x1funder\x1f \x16rev\x16 \x11mono\x11 \x1estrike\x1e')).toBe('bold red on blue italic under rev mono strike');
    expect(stripFormatting('\x04FF0000hex\x04 \x04FF0000,00FF00both\x04')).toBe('hex both');
    // A colour code takes at most two digits: the third is text.
    expect(stripFormatting('\x03123')).toBe('3');
    expect(stripFormatting('\x03,5 comma stays')).toBe(',5 comma stays');
    expect(stripFormatting('plain 123, ok')).toBe('plain 123, ok');
  });

  it('reads and writes CTCP, with or without the closing delimiter', () => {
    expect(parseCtcp('\x01ACTION waves\x01')).toEqual({ command: 'ACTION', args: 'waves' });
    expect(parseCtcp('\x01action waves')).toEqual({ command: 'ACTION', args: 'waves' });
    expect(parseCtcp('\x01VERSION\x01')).toEqual({ command: 'VERSION', args: '' });
    expect(parseCtcp('not ctcp')).toBeUndefined();
    expect(formatCtcp('PING', '123')).toBe('\x01PING 123\x01');
  });
});

describe('splitting outgoing text', () => {
  it('splits at newlines, drops empty lines, keeps short lines whole', () => {
    expect(splitText('a\r\nb\rc\n\n\nd', 100)).toEqual(['a', 'b', 'c', 'd']);
    expect(splitText('', 100)).toEqual([]);
    expect(splitText('x\0y', 100)).toEqual(['xy']);
  });

  it('breaks a long line at a space when that keeps the piece at least half full', () => {
    expect(splitText('aaaa bbbb cccc', 10)).toEqual(['aaaa bbbb', 'cccc']);
    // The only space is too early: cut at the byte limit instead.
    expect(splitText('a bbbbbbbbbbbbbbbbbbb', 10)).toEqual(['a bbbbbbbb', 'bbbbbbbbbbb'.slice(0, 10), 'b']);
  });

  it('never cuts inside a UTF-8 character or a grapheme cluster', () => {
    const text = '你好世界'.repeat(10); // 3 bytes each
    const parts = splitText(text, 10);
    expect(parts.every((p) => bytes(p) <= 10)).toBe(true);
    expect(parts.join('')).toBe(text);
    expect(parts[0]).toBe('你好世');
    const family = '👨‍👩‍👧'; // 18 bytes, one grapheme
    expect(splitText(`ab${family}cd`, 20)).toEqual([`ab${family}`, 'cd']);
    // One cluster bigger than a line is cut by code point, never into bytes.
    expect(splitText(family, 8).every((p) => bytes(p) <= 8 && !p.includes('\uFFFD'))).toBe(true);
  });

  it('holds for any text: pieces fit, are valid UTF-8, and give the text back (spaces at breaks aside)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.integer({ min: 30, max: 120 }), (text, max) => {
        const parts = splitText(text, max);
        for (const p of parts) {
          expect(bytes(p)).toBeLessThanOrEqual(max);
          expect(p.length).toBeGreaterThan(0);
          expect(Buffer.from(p).toString()).toBe(p);
          expect(p).not.toMatch(/[\r\n\0]/);
        }
        const squash = (s: string) => s.replace(/[\s\0]+/g, '');
        expect(squash(parts.join(''))).toBe(squash(text));
      }),
      { numRuns: 300 },
    );
  });

  it('leaves room for the prefix the server adds when relaying', () => {
    const mask = 'bot!~bot@127.0.0.1';
    const budget = textBudget('#chan', mask);
    expect(bytes(`:${mask} PRIVMSG #chan :${'x'.repeat(budget)}\r\n`)).toBe(512);
    // Unknown mask: a conservative guess, smaller than with a short mask.
    expect(textBudget('#chan', undefined)).toBeLessThan(budget);
  });
});

describe('flood-control queue', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes the first line at once and the rest one interval apart', () => {
    vi.useFakeTimers();
    const written: Array<[string, number]> = [];
    const q = new SendQueue({ intervalMs: 500, maxLines: 10, write: (l) => written.push([l, Date.now()]), now: () => Date.now() });
    const t0 = Date.now();
    expect(q.offer(['a', 'b', 'c'])).toBe(true);
    expect(written.map(([l]) => l)).toEqual(['a']);
    expect(q.size).toBe(2);
    vi.advanceTimersByTime(499);
    expect(written).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(written.map(([l]) => l)).toEqual(['a', 'b']);
    vi.advanceTimersByTime(500);
    expect(written.map(([l, t]) => [l, t - t0])).toEqual([['a', 0], ['b', 500], ['c', 1000]]);
    // Idle longer than the interval: the next line goes at once again.
    vi.advanceTimersByTime(2000);
    q.offer(['d']);
    expect(written.at(-1)![0]).toBe('d');
    q.close();
  });

  it('refuses a message whose lines do not all fit, and sends none of it', () => {
    vi.useFakeTimers();
    const written: string[] = [];
    const q = new SendQueue({ intervalMs: 1000, maxLines: 3, write: (l) => written.push(l), now: () => Date.now() });
    expect(q.offer(['1', '2', '3'])).toBe(true); // '1' written, 2 waiting
    expect(q.offer(['x', 'y'])).toBe(false);
    expect(q.offer(['4'])).toBe(true);
    vi.advanceTimersByTime(5000);
    expect(written).toEqual(['1', '2', '3', '4']);
    q.close();
  });

  it('interval 0 writes everything at once; clear() and close() drop what waits and leave no timer', () => {
    vi.useFakeTimers();
    const written: string[] = [];
    const zero = new SendQueue({ intervalMs: 0, maxLines: 5, write: (l) => written.push(l) });
    expect(zero.offer(['a', 'b', 'c'])).toBe(true);
    expect(written).toEqual(['a', 'b', 'c']);
    const q = new SendQueue({ intervalMs: 100, maxLines: 5, write: (l) => written.push(l), now: () => Date.now() });
    q.offer(['1', '2', '3']);
    expect(q.clear()).toBe(2);
    expect(vi.getTimerCount()).toBe(0);
    // '1' left just now: both wait for the interval, and close() drops them.
    q.offer(['4', '5']);
    expect(q.close()).toBe(2);
    expect(q.close()).toBe(0);
    expect(q.offer(['6'])).toBe(false);
    vi.advanceTimersByTime(1000);
    expect(written).toEqual(['a', 'b', 'c', '1']);
    expect(vi.getTimerCount()).toBe(0);
  });
});
