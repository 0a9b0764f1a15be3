import { describe, expect, it } from 'vitest';
import { EventEncoder } from '../src/onebot/encoder.js';
import type { OneBotEvent } from '../src/onebot/types.js';

const event = (i: number): OneBotEvent => ({
  time: i,
  self_id: 1,
  post_type: 'message',
  message: [{ type: 'text', data: { text: `m${i}` } }],
});

describe('EventEncoder recent-event cache', () => {
  it('shares one Buffer while events are interleaved, and re-encodes correctly once an event has aged out', () => {
    const enc = new EventEncoder();
    const a = event(1);
    const b = event(2);
    const a1 = enc.encode(a, 'array');
    const b1 = enc.encode(b, 'array');
    // Several transports encode the same event in turn: each gets the same Buffer.
    expect(enc.encode(a, 'array')).toBe(a1);
    expect(enc.encode(b, 'array')).toBe(b1);
    // Bounded: after many other events, `a` is no longer held and is encoded afresh.
    for (let i = 3; i < 100; i++) enc.encode(event(i), 'string');
    const a2 = enc.encode(a, 'array');
    expect(a2).not.toBe(a1);
    expect(a2.equals(a1)).toBe(true);
    expect(JSON.parse(enc.encode(b, 'string').toString())).toEqual({ ...b, message: 'm2' });
  });

  it('never confuses two distinct events with equal content', () => {
    const enc = new EventEncoder();
    const x = event(7);
    const y = { ...event(7), message: 'plain' };
    expect(JSON.parse(enc.encode(x, 'array').toString()).message).toEqual(x['message']);
    expect(JSON.parse(enc.encode(y, 'array').toString()).message).toBe('plain');
  });
});
