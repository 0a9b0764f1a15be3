import type { Message, Segment } from './types.js';

/**
 * CQ code codec for OneBot v11's string message format: `text[CQ:type,key=value]text`.
 * Escapes, exactly as the spec's message chapter gives them: text escapes `&`, `[`, `]`;
 * parameter values also escape `,`. Malformed CQ text never throws: it stays plain text.
 */

export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/\[/g, '&#91;').replace(/\]/g, '&#93;');
}

export function escapeParam(value: string): string {
  return escapeText(value).replace(/,/g, '&#44;');
}

export function unescapeText(text: string): string {
  // &amp; last, so "&amp;#91;" yields "&#91;" rather than "[".
  return text.replace(/&#91;/g, '[').replace(/&#93;/g, ']').replace(/&amp;/g, '&');
}

export function unescapeParam(value: string): string {
  return value.replace(/&#44;/g, ',').replace(/&#91;/g, '[').replace(/&#93;/g, ']').replace(/&amp;/g, '&');
}

const TYPE = /^[A-Za-z0-9_.-]+$/;
const KEY = /^[A-Za-z0-9_.-]+$/;

/** Parse one `[CQ:…]` body (between `[CQ:` and `]`), or undefined when it is not well formed. */
function parseCode(body: string): Segment | undefined {
  const parts = body.split(',');
  const type = parts[0] ?? '';
  if (!TYPE.test(type)) return undefined;
  const data: Record<string, string> = {};
  for (const part of parts.slice(1)) {
    // A parameter without `=` makes the whole code text, as NoneBot2 and Koishi read it: an
    // `at` with an empty `qq` must never reach a platform.
    const eq = part.indexOf('=');
    if (eq < 0) return undefined;
    const key = part.slice(0, eq);
    if (!KEY.test(key)) return undefined;
    data[key] = unescapeParam(part.slice(eq + 1));
  }
  return { type, data };
}

export function parseCQ(input: string): Message {
  const out: Message = [];
  let text = '';
  const flush = () => {
    if (text) out.push({ type: 'text', data: { text: unescapeText(text) } });
    text = '';
  };
  let i = 0;
  while (i < input.length) {
    const start = input.indexOf('[CQ:', i);
    if (start < 0) break;
    const end = input.indexOf(']', start + 4);
    if (end < 0) break;
    const body = input.slice(start + 4, end);
    // A `[` inside means the earlier `[CQ:` was never closed: keep it as text, rescan from there.
    const nested = body.indexOf('[');
    const seg = nested < 0 ? parseCode(body) : undefined;
    if (!seg) {
      const resume = nested < 0 ? start + 1 : start + 4 + nested;
      text += input.slice(i, resume);
      i = resume;
      continue;
    }
    text += input.slice(i, start);
    flush();
    out.push(seg);
    i = end + 1;
  }
  text += input.slice(i);
  flush();
  return out;
}

function paramString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

export function segmentToCQ(seg: Segment): string {
  if (seg.type === 'text') return escapeText(paramString(seg.data['text']) ?? '');
  let out = `[CQ:${seg.type}`;
  for (const [key, value] of Object.entries(seg.data ?? {})) {
    const s = paramString(value);
    if (s !== undefined) out += `,${key}=${escapeParam(s)}`;
  }
  return `${out}]`;
}

export function stringifyCQ(message: Message): string {
  let out = '';
  for (const seg of message) out += segmentToCQ(seg);
  return out;
}
