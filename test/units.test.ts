import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatTable } from '../src/commands/status.js';
import { getLogger } from '../src/logger.js';
import { ConnectionRegistry, type ConnectionInfo } from '../src/registry.js';
import { handleShutdownSignals } from '../src/signals.js';
import { authorize, presentedToken, tokenMatches } from '../src/transport/auth.js';
import { roleForPath } from '../src/transport/ws-server.js';
import './support/app.js';

describe('ConnectionRegistry', () => {
  it('adds with increasing ids, removes once, and counts', () => {
    const reg = new ConnectionRegistry(getLogger('test'));
    const a = reg.add({ transport: 'ws', role: 'universal', endpoint: 'e', remote: 'r', selfId: 1 });
    const b = reg.add({ transport: 'ws', role: 'api', endpoint: 'e', remote: 'r', selfId: 1 });
    expect([a.id, b.id, reg.size]).toEqual([1, 2, 2]);
    expect(reg.remove(a)).toBe(true);
    expect(reg.remove(a)).toBe(false);
    expect(reg.snapshot().map((c) => c.id)).toEqual([2]);
  });

  it('whenEmpty resolves true on the last removal, false when the signal aborts first', async () => {
    const reg = new ConnectionRegistry(getLogger('test'));
    const a = reg.add({ transport: 'ws', role: 'universal', endpoint: 'e', remote: 'r', selfId: 1 });
    const never = new AbortController();
    const empty = reg.whenEmpty(never.signal);
    reg.remove(a);
    expect(await empty).toBe(true);
    reg.add({ transport: 'ws', role: 'universal', endpoint: 'e', remote: 'r', selfId: 1 });
    const stop = new AbortController();
    const waiting = reg.whenEmpty(stop.signal);
    stop.abort();
    expect(await waiting).toBe(false);
    expect(reg.listenerCount('removed')).toBe(0);
  });
});

describe('access tokens', () => {
  const req = (authorization?: string) => ({ headers: authorization ? { authorization } : {} }) as IncomingMessage;
  const url = (q = '') => new URL(`http://h/${q}`);

  it('reads Bearer, Token and ?access_token, header first', () => {
    expect(presentedToken(req('Bearer abc'), url())).toBe('abc');
    expect(presentedToken(req('token abc'), url())).toBe('abc');
    expect(presentedToken(req(), url('?access_token=q'))).toBe('q');
    expect(presentedToken(req('Bearer h'), url('?access_token=q'))).toBe('h');
    expect(presentedToken(req(), url())).toBeUndefined();
  });

  it('401 when missing, 403 when wrong, open when none is configured', () => {
    expect(authorize(req(), url(), 't')).toMatchObject({ ok: false, status: 401 });
    expect(authorize(req('Bearer '), url(), 't')).toMatchObject({ ok: false, status: 401 });
    expect(authorize(req('Bearer x'), url(), 't')).toMatchObject({ ok: false, status: 403 });
    expect(authorize(req('Bearer t'), url(), 't')).toEqual({ ok: true });
    expect(authorize(req(), url(), '')).toEqual({ ok: true });
  });

  it('compares whole tokens: prefixes and different lengths do not match', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('ab', 'abc')).toBe(false);
    expect(tokenMatches('abcd', 'abc')).toBe(false);
  });
});

describe('forward WS paths', () => {
  it.each([
    ['/', 'universal'],
    ['/api', 'api'],
    ['/api/', 'api'],
    ['/event', 'event'],
    ['/event/', 'event'],
    // Any other path is universal, as in go-cqhttp and NapCat.
    ['/apis', 'universal'],
    ['//', 'universal'],
    ['/onebot/v11/ws', 'universal'],
    ['/api/x', 'universal'],
  ])('%s -> %s', (path, role) => expect(roleForPath(path)).toBe(role));
});

describe('shutdown signals', () => {
  let dispose: (() => void) | undefined;
  afterEach(() => {
    dispose?.();
    vi.useRealTimers();
  });

  it('first signal shuts down; a repeat within 500 ms is the same keypress; a later one forces', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const onShutdown = vi.fn();
    const onForce = vi.fn();
    dispose = handleShutdownSignals({ onShutdown, onForce });
    process.emit('SIGINT', 'SIGINT');
    vi.advanceTimersByTime(5);
    process.emit('SIGINT', 'SIGINT');
    expect(onShutdown).toHaveBeenCalledTimes(1);
    expect(onForce).not.toHaveBeenCalled();
    vi.advanceTimersByTime(600);
    process.emit('SIGTERM', 'SIGTERM');
    expect(onForce).toHaveBeenCalledWith('SIGTERM');
  });

  it('removes its handlers', () => {
    const before = process.listenerCount('SIGHUP');
    const off = handleShutdownSignals({ onShutdown: () => {}, onForce: () => {} });
    expect(process.listenerCount('SIGHUP')).toBe(before + 1);
    off();
    expect(process.listenerCount('SIGHUP')).toBe(before);
  });
});

describe('status table', () => {
  const conn = (over: Partial<ConnectionInfo>): ConnectionInfo => ({
    id: 1,
    transport: 'ws',
    role: 'universal',
    endpoint: 'ws://127.0.0.1:6700',
    remote: '127.0.0.1:50000',
    self_id: 10001,
    connected_at: new Date(Date.now() - 65_000).toISOString(),
    state: 'open',
    frames_in: 3,
    frames_out: 5,
    bytes_in: 2048,
    bytes_out: 100,
    ...over,
  });

  it('prints aligned columns, one row per connection, and the count', () => {
    const out = formatTable([conn({}), conn({ id: 12, role: 'api', remote: '[::1]:6' })]).split('\n');
    expect(out[0]).toMatch(/^ID\s+TRANSPORT\s+ROLE\s+ACCOUNT\s+REMOTE\s+ENDPOINT\s+UP\s+STATE\s+IN\s+OUT$/);
    expect(out[1]).toMatch(/^1\s+ws\s+universal\s+10001\s+127\.0\.0\.1:50000\s+ws:\/\/127\.0\.0\.1:6700\s+1m5s\s+open\s+3\/2\.0K\s+5\/100B$/);
    expect(out[2]).toMatch(/^12\s+ws\s+api\s+/);
    expect(out[1]!.indexOf('10001')).toBe(out[2]!.indexOf('10001'));
    expect(out[3]).toBe('2 live connections');
  });

  it('says so when there is nothing', () => {
    expect(formatTable([])).toBe('no live connections\n');
  });
});

describe('EventEncoder', () => {
  it('encodes each event once per format and hands every caller the same Buffer', async () => {
    const { EventEncoder } = await import('../src/onebot/encoder.js');
    const enc = new EventEncoder();
    const event = { time: 1, self_id: 1, post_type: 'message', message: [{ type: 'text', data: { text: 'a[b]' } }, { type: 'face', data: { id: '1' } }], raw_message: 'a&#91;b&#93;[CQ:face,id=1]' };
    const a1 = enc.encode(event, 'array');
    expect(enc.encode(event, 'array')).toBe(a1);
    const s1 = enc.encode(event, 'string');
    expect(enc.encode(event, 'string')).toBe(s1);
    expect(JSON.parse(a1.toString())).toEqual(event);
    expect(JSON.parse(s1.toString())).toEqual({ ...event, message: 'a&#91;b&#93;[CQ:face,id=1]' });
    // The event object itself is never rewritten for the string format.
    expect(Array.isArray(event.message)).toBe(true);
  });
});

describe('status table for reverse links', () => {
  it('adds a LINK column with reconnects, held and dropped when a link is listed', () => {
    const base = { transport: 'ws-reverse' as const, role: 'universal' as const, endpoint: 'ws://f/ws', remote: 'f:80', self_id: 1, connected_at: new Date().toISOString(), state: 'connecting' as const, frames_in: 0, frames_out: 0, bytes_in: 0, bytes_out: 0 };
    const out = formatTable([{ ...base, id: 1, reconnects: 3, events_held: 5, events_dropped: 2 }]).split('\n');
    expect(out[0]).toMatch(/\sLINK$/);
    expect(out[1]).toMatch(/\sconnecting\s.*3 reconnects, 5 held, 2 dropped$/);
  });
});
