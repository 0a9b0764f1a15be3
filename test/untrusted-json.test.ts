import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clip, parseUntrustedJson, preview } from '../src/untrusted-json.js';

/** Reference depth: arrays and objects count one level each; scalars 0. (Recursive: test values are shallow.) */
function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (typeof v === 'object' && v !== null) return 1 + Math.max(0, ...Object.values(v).map(depthOf));
  return 0;
}

// Strings with the characters the scanner must not mistake for structure.
const tricky = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', ':', ',', 'a', 'é', '\n') });
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    tricky,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(tricky, tie('value'), { maxKeys: 4 }),
  ),
})).value;

describe('parseUntrustedJson', () => {
  it('agrees with JSON.parse on every value within the limit, and refuses exactly those deeper', () => {
    fc.assert(
      fc.property(json, fc.integer({ min: 0, max: 8 }), fc.boolean(), (value, max, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        const got = parseUntrustedJson(text, max);
        if (depthOf(value) > max) expect(got).toMatchObject({ ok: false, reason: 'depth' });
        else expect(got).toEqual({ ok: true, value: JSON.parse(text) });
      }),
      { numRuns: 2000 },
    );
  });

  it("recovers a too-deep frame's echo exactly when the echo itself is within the limit", () => {
    fc.assert(
      fc.property(json, json, fc.integer({ min: 1, max: 6 }), (echo, params, max) => {
        const frame = { action: 'x', params: { p: params }, echo };
        const got = parseUntrustedJson(JSON.stringify(frame), max, { wantEcho: true });
        if (depthOf(frame) <= max) {
          expect(got.ok).toBe(true);
          return;
        }
        expect(got).toMatchObject({ ok: false, reason: 'depth' });
        if (echo !== undefined && 1 + depthOf(echo) <= max)
          expect(got).toEqual({ ok: false, reason: 'depth', echo: JSON.parse(JSON.stringify(echo)) as unknown });
        else expect(got).not.toHaveProperty('echo');
      }),
      { numRuns: 2000 },
    );
  });

  it('reads an escaped "echo" key, and ignores "echo" in nested objects', () => {
    const deep = '['.repeat(100) + ']'.repeat(100);
    expect(parseUntrustedJson(`{"\\u0065cho":7,"x":${deep}}`, 10, { wantEcho: true })).toEqual({
      ok: false,
      reason: 'depth',
      echo: 7,
    });
    expect(parseUntrustedJson(`{"p":{"echo":7},"x":${deep}}`, 10, { wantEcho: true })).toEqual({
      ok: false,
      reason: 'depth',
    });
  });

  it('scans 1,000,000 levels without recursion and without building them', () => {
    const text = `{"echo":"e","x":${'[{"a":'.repeat(500_000)}0${'}]'.repeat(500_000)}}`;
    expect(parseUntrustedJson(text, 64, { wantEcho: true })).toEqual({ ok: false, reason: 'depth', echo: 'e' });
    expect(parseUntrustedJson('['.repeat(1_000_000), 64)).toEqual({ ok: false, reason: 'depth' });
  });

  it('malformed text is a syntax error, within or past the limit', () => {
    expect(parseUntrustedJson('{"a":', 64)).toEqual({ ok: false, reason: 'syntax' });
    expect(parseUntrustedJson('"unterminated', 64)).toEqual({ ok: false, reason: 'syntax' });
    expect(parseUntrustedJson(']]]]', 64)).toEqual({ ok: false, reason: 'syntax' });
  });
});

describe('preview and clip', () => {
  it('never throws and stays short, however deep or wide the value', () => {
    let deep: unknown = 0;
    for (let i = 0; i < 100_000; i++) deep = i % 2 ? [deep] : { k: deep };
    const wide = Array.from({ length: 1_000_000 }, (_, i) => i);
    for (const v of [
      deep,
      wide,
      Object.fromEntries(wide.slice(0, 100_000).map((i) => [`k${i}`, i])),
      'x'.repeat(1e6),
      10n,
      Symbol('s'),
      undefined,
    ]) {
      const s = preview(v);
      expect(s.length).toBeLessThanOrEqual(49);
    }
    expect(preview({ a: [1, 'two', null], b: true })).toBe('{"a":[1,"two",null],"b":true}');
    expect(preview('x'.repeat(100))).toBe(`"${'x'.repeat(47)}…`);
    expect(clip('abc', 2)).toBe('ab…');
  });
});
