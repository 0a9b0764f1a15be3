import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeParam, escapeText, parseCQ, stringifyCQ, unescapeParam, unescapeText } from '../src/onebot/cqcode.js';
import { toMessage } from '../src/onebot/message.js';
import type { Message, Segment } from '../src/onebot/types.js';

describe('CQ escapes, exactly per spec', () => {
  it.each([
    ['&', '&amp;', '&amp;'],
    ['[', '&#91;', '&#91;'],
    [']', '&#93;', '&#93;'],
    [',', ',', '&#44;'],
    ['a&[b],c', 'a&amp;&#91;b&#93;,c', 'a&amp;&#91;b&#93;&#44;c'],
    ['&#91;', '&amp;#91;', '&amp;#91;'],
  ])('%j -> text %j, param %j, and back', (raw, text, param) => {
    expect(escapeText(raw)).toBe(text);
    expect(escapeParam(raw)).toBe(param);
    expect(unescapeText(text)).toBe(raw);
    expect(unescapeParam(param)).toBe(raw);
  });
});

describe('parse and stringify', () => {
  it('parses text and codes with escaped params', () => {
    expect(parseCQ('hi [CQ:at,qq=10001] look [CQ:image,file=a.jpg,url=http://x/?a=1&#44;2] &#91;ok&#93;')).toEqual([
      { type: 'text', data: { text: 'hi ' } },
      { type: 'at', data: { qq: '10001' } },
      { type: 'text', data: { text: ' look ' } },
      { type: 'image', data: { file: 'a.jpg', url: 'http://x/?a=1,2' } },
      { type: 'text', data: { text: ' [ok]' } },
    ]);
  });

  it('parses codes without params', () => {
    expect(parseCQ('[CQ:shake][CQ:rps]')).toEqual([
      { type: 'shake', data: {} },
      { type: 'rps', data: {} },
    ]);
  });

  it.each([
    ['an unclosed code', 'a [CQ:face,id=1', [{ type: 'text', data: { text: 'a [CQ:face,id=1' } }]],
    ['an empty type', '[CQ:] x', [{ type: 'text', data: { text: '[CQ:] x' } }]],
    ['a bad key', '[CQ:face,i d=1]', [{ type: 'text', data: { text: '[CQ:face,i d=1]' } }]],
    ['a nested open bracket', '[CQ:face,id=[CQ:at,qq=1]', [{ type: 'text', data: { text: '[CQ:face,id=' } }, { type: 'at', data: { qq: '1' } }]],
    ['a param without = (as NoneBot2 and Koishi read it)', 'a [CQ:at,qq] b', [{ type: 'text', data: { text: 'a [CQ:at,qq] b' } }]],
    ['a param without = after a good one', '[CQ:image,file=a.jpg,flash]', [{ type: 'text', data: { text: '[CQ:image,file=a.jpg,flash]' } }]],
    ['a lone bracket', ']', [{ type: 'text', data: { text: ']' } }]],
  ])('degrades %s to text, never throws', (_n, input, expected) => {
    expect(parseCQ(input)).toEqual(expected);
  });

  it('serialises numbers and booleans in params, skips null, escapes strings', () => {
    expect(stringifyCQ([{ type: 'music', data: { type: 'qq', id: 123, ok: true, none: null, title: 'a,b' } }])).toBe('[CQ:music,type=qq,id=123,ok=true,title=a&#44;b]');
  });

  it('message params accept a string, a segment or a list; auto_escape keeps codes as text', () => {
    expect(toMessage('[CQ:face,id=1]')).toEqual([{ type: 'face', data: { id: '1' } }]);
    expect(toMessage('[CQ:face,id=1]', true)).toEqual([{ type: 'text', data: { text: '[CQ:face,id=1]' } }]);
    expect(toMessage({ type: 'dice', data: {} })).toEqual([{ type: 'dice', data: {} }]);
    expect(toMessage([{ type: 'unknown_ext', data: { x: { deep: 1 } } }])).toEqual([{ type: 'unknown_ext', data: { x: { deep: 1 } } }]);
    expect(() => toMessage(5)).toThrow(/expected a string, a segment or a list of segments/);
    expect(() => toMessage([{ data: {} }])).toThrow(/message\[0\]: expected a segment/);
  });
});

/** What parse returns for a message: adjacent texts merged, empty texts gone, values strings. */
function normalise(message: Message): Message {
  const out: Message = [];
  for (const seg of message) {
    if (seg.type === 'text') {
      const text = String(seg.data['text']);
      if (!text) continue;
      const last = out.at(-1);
      if (last?.type === 'text') last.data['text'] = String(last.data['text']) + text;
      else out.push({ type: 'text', data: { text } });
    } else out.push({ type: seg.type, data: Object.fromEntries(Object.entries(seg.data).map(([k, v]) => [k, String(v)])) });
  }
  return out;
}

const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,7}$/);
const segment: fc.Arbitrary<Segment> = fc.oneof(
  fc.string().map((text) => ({ type: 'text', data: { text } })),
  fc.record({
    type: name.filter((t) => t !== 'text'),
    data: fc.dictionary(name, fc.oneof(fc.string(), fc.integer().map(String))),
  }),
);

describe('round-trip properties (fast-check)', () => {
  it('parse(stringify(m)) equals m, normalised, for any segments incl. & [ ] , in texts and params', () => {
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 12 }), (m) => {
        expect(parseCQ(stringifyCQ(m))).toEqual(normalise(m));
      }),
      { numRuns: 2000, seed: 20261122 },
    );
  });

  it('parse never throws and stringify(parse(s)) is a fixed point for any string', () => {
    const cqish = fc.stringMatching(/^(?:[a-z&#;,=\][]|\[CQ:|&#91;|&#93;|&amp;|&#44;){0,40}$/);
    fc.assert(
      fc.property(fc.oneof(fc.string(), cqish), (s) => {
        const once = stringifyCQ(parseCQ(s));
        expect(stringifyCQ(parseCQ(once))).toBe(once);
      }),
      { numRuns: 3000, seed: 7 },
    );
  });
});
