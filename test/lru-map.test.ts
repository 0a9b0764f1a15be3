import { describe, expect, it } from 'vitest';
import { LruMap } from '../src/lru-map.js';
import { MessageStore } from '../src/onebot/message-store.js';
import { PlatformMessages } from '../src/kit/index.js';

describe('LruMap', () => {
  it('forgets the least recently used entry first, and get counts as a use', () => {
    const removed: [string, number][] = [];
    const m = new LruMap<string, number>(3, (v, k) => removed.push([k, v]));
    m.set('a', 1).set('b', 2).set('c', 3);
    expect(m.get('a')).toBe(1); // a is now the newest; b the oldest
    m.set('d', 4);
    expect([...m.keys()]).toEqual(['c', 'a', 'd']);
    expect(removed).toEqual([['b', 2]]);
    expect(m.size).toBe(3);
  });

  it('has, peek and iteration do not touch recency', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1).set('b', 2);
    expect(m.has('a')).toBe(true);
    expect(m.peek('a')).toBe(1);
    expect([...m.values()]).toEqual([1, 2]);
    m.set('c', 3);
    expect(m.has('a')).toBe(false);
    expect([...m.keys()]).toEqual(['b', 'c']);
  });

  it('tells onRemove of deletes and of overwrites with another value, not of clear', () => {
    const removed: [string, number][] = [];
    const m = new LruMap<string, number>(5, (v, k) => removed.push([k, v]));
    m.set('a', 1).set('a', 1); // same value: nothing left
    m.set('a', 2); // the 1 left
    expect(m.delete('a')).toBe(true);
    expect(m.delete('a')).toBe(false);
    m.set('b', 3);
    m.clear();
    expect(removed).toEqual([
      ['a', 1],
      ['a', 2],
    ]);
    expect(m.size).toBe(0);
  });

  it('an overwrite is a use and never evicts', () => {
    const m = new LruMap<string, number>(2);
    m.set('a', 1).set('b', 2).set('a', 3);
    expect(m.size).toBe(2);
    m.set('c', 4);
    expect([...m.keys()]).toEqual(['a', 'c']);
    expect(m.get('b')).toBeUndefined();
  });

  it('stores undefined as a value, told apart from a missing key by has', () => {
    const m = new LruMap<string, number | undefined>(2);
    m.set('u', undefined).set('x', 1);
    expect(m.get('u')).toBeUndefined();
    m.set('y', 2); // u was used last by get, so x goes
    expect(m.has('u')).toBe(true);
    expect(m.has('x')).toBe(false);
  });

  it('refuses a max below 1 with a clear message', () => {
    expect(() => new LruMap(0)).toThrow('LruMap max must be an integer >= 1, got 0');
    expect(() => new LruMap(1.5)).toThrow(RangeError);
  });
});

describe('bounded stores on LruMap', () => {
  it('MessageStore keeps the newest `capacity` messages and a read keeps one alive', () => {
    const store = new MessageStore(2);
    const msg = (id: number) => ({
      message_id: id,
      real_id: id,
      time: 0,
      message_type: 'private' as const,
      user_id: 1,
      sender: { user_id: 1, nickname: 'u' },
      message: [],
      raw_message: '',
    });
    store.put(msg(1));
    store.put(msg(2));
    expect(store.get(1).message_id).toBe(1); // 2 is now the oldest
    store.put(msg(3));
    expect(store.has(2)).toBe(false);
    expect(store.has(1) && store.has(3)).toBe(true);
    expect(store.size).toBe(2);
    expect(() => store.get(2)).toThrow('message 2 not found');
  });

  it('PlatformMessages forgets a deleted message and its platform id together', () => {
    const messages = new PlatformMessages({ capacity: 4, firstId: 100 });
    const rec = messages.record({
      message_type: 'private',
      user_id: 7,
      sender: { user_id: 7, nickname: 'u' },
      message: [{ type: 'text', data: { text: 'hi' } }],
      platformId: 'p-1',
    });
    messages.alias(rec.message_id, 'p-1-echo');
    expect(messages.idOf('p-1')).toBe(rec.message_id);
    expect(messages.idOf('p-1-echo')).toBe(rec.message_id);
    expect(messages.delete(rec.message_id)).toBe(true);
    expect(messages.idOf('p-1')).toBeUndefined();
    expect(messages.idOf('p-1-echo')).toBeUndefined();
  });

  it('PlatformMessages: a platform id taken over by another message leaves the first without it', () => {
    const messages = new PlatformMessages({ capacity: 4, firstId: 100 });
    const base = { message_type: 'private' as const, user_id: 7, sender: { user_id: 7, nickname: 'u' }, message: [] };
    const first = messages.record({ ...base, platformId: 'same' });
    const second = messages.record({ ...base, platformId: 'same' });
    expect(messages.idOf('same')).toBe(second.message_id);
    expect(messages.get(first.message_id).platformId).toBeUndefined();
    expect(messages.get(second.message_id).platformId).toBe('same');
  });
});
