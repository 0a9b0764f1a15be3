/**
 * JSON from outside the process (client frames, HTTP bodies, webhook replies, upstream
 * frames, admin bodies), read within one nesting limit, and client values quoted in error
 * texts within a few dozen characters.
 *
 * The limit is checked by a single iterative scan of the raw text before `JSON.parse`, so a
 * value nested deeper than the limit is never built: nothing later (serialising an answer, CQ
 * encoding, a log line) can recurse into it. It does not limit width or size: byte limits
 * (`max_payload_bytes`, `max_body_bytes`) do.
 */

/** Default for `limits.max_json_depth`: far above any real OneBot message (nested forwards reach ~20). */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/** The config key, for error texts and logs. */
export const MAX_JSON_DEPTH_KEY = 'limits.max_json_depth';

export type UntrustedJson =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: 'syntax' }
  /** `echo`: the top-level object's `echo`, when it is itself within the limit (only if asked for). */
  | { readonly ok: false; readonly reason: 'depth'; readonly echo?: unknown };

/** "<what> nests deeper than 64 levels (limits.max_json_depth)". */
export function depthMessage(what: string, maxDepth: number): string {
  return `${what} nests deeper than ${maxDepth} levels (${MAX_JSON_DEPTH_KEY})`;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

/** Index of the quote that ends the string opened at `open`, or -1 when it is not closed. */
function stringEnd(text: string, open: number): number {
  let j = text.indexOf('"', open + 1);
  while (j !== -1) {
    let backslashes = 0;
    for (let k = j - 1; k > open && text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return j;
    j = text.indexOf('"', j + 1);
  }
  return -1;
}

interface Scan {
  readonly tooDeep: boolean;
  /** Where the top-level object's `echo` value is, and how deep it reaches (absolute). */
  readonly echo?: { readonly start: number; readonly end: number; readonly depth: number };
}

/**
 * One pass, no recursion: the deepest nesting (stopping early once past `maxDepth` unless the
 * echo is wanted), and the span of a top-level `echo` member. Malformed text is scanned as
 * far as it goes; `JSON.parse` judges it afterwards.
 */
function scan(text: string, maxDepth: number, wantEcho: boolean): Scan {
  let depth = 0;
  let tooDeep = false;
  let topIsObject = false;
  // Top-level member being read: its key (raw, quotes included) and where its value began.
  let expectKey = false;
  let key: string | undefined;
  let valueStart = -1;
  let valueDepth = 0;
  let echo: Scan['echo'];
  const endMember = (end: number) => {
    if (key !== undefined && valueStart >= 0 && isEchoKey(key)) echo = { start: valueStart, end, depth: valueDepth };
    key = undefined;
    valueStart = -1;
    valueDepth = 0;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end === -1) break;
      if (depth === 1 && expectKey) {
        key = text.slice(i, end + 1);
        expectKey = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth++;
      if (depth === 1) {
        topIsObject = c === OPEN_OBJECT;
        expectKey = topIsObject;
      }
      if (valueStart >= 0 && depth > valueDepth) valueDepth = depth;
      if (depth > maxDepth) {
        tooDeep = true;
        if (!wantEcho || !topIsObject) break;
      }
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (depth === 1 && topIsObject) endMember(i);
      depth--;
      if (depth < 0) break;
    } else if (depth === 1 && topIsObject) {
      if (c === COLON && key !== undefined) {
        valueStart = i + 1;
        valueDepth = 1;
      } else if (c === COMMA) {
        endMember(i);
        expectKey = true;
      }
    }
  }
  return echo ? { tooDeep, echo } : { tooDeep };
}

function isEchoKey(raw: string): boolean {
  if (raw === '"echo"') return true;
  // An escaped spelling ("\u0065cho") is still "echo"; only short keys can be.
  if (raw.length > 40 || !raw.includes('\\')) return false;
  try {
    return JSON.parse(raw) === 'echo';
  } catch {
    return false;
  }
}

/**
 * `JSON.parse` within a nesting limit: a value nested deeper than `maxDepth` (arrays and
 * objects; a bare scalar is depth 0) is refused before it is built. With `wantEcho`, a frame
 * refused for depth still yields its top-level `echo` when that is itself within the limit,
 * so clients waiting on echoes get their answer.
 */
export function parseUntrustedJson(
  text: string,
  maxDepth: number,
  options: { wantEcho?: boolean } = {},
): UntrustedJson {
  const found = scan(text, maxDepth, options.wantEcho ?? false);
  if (found.tooDeep) {
    const span = found.echo;
    if (!span || span.depth > maxDepth) return { ok: false, reason: 'depth' };
    try {
      return { ok: false, reason: 'depth', echo: JSON.parse(text.slice(span.start, span.end)) as unknown };
    } catch {
      return { ok: false, reason: 'depth' };
    }
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false, reason: 'syntax' };
  }
}

/** Longest quote of a client's value in an error text or log line. */
export const PREVIEW_CHARS = 48;

/** A client's string, cut to `max` characters with an ellipsis: for names put in messages. */
export function clip(text: string, max = PREVIEW_CHARS): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * A client's value as JSON, at most `max` characters (then `…`): never throws, never
 * recurses, and stops walking as soon as the budget is spent, however deep or wide the value.
 */
export function preview(value: unknown, max = PREVIEW_CHARS): string {
  let out = '';
  // Explicit stack of containers being written: [remaining entries, is array].
  const stack: Array<{ entries: Iterator<[string, unknown]>; array: boolean; first: boolean }> = [];
  const scalar = (v: unknown): string | undefined => {
    if (v === null) return 'null';
    switch (typeof v) {
      case 'string':
        return JSON.stringify(v.length > max ? v.slice(0, max) : v);
      case 'number':
      case 'boolean':
      case 'bigint':
        return String(v);
      case 'undefined':
        return 'undefined';
      case 'object':
        return undefined;
      default:
        return `<${typeof v}>`;
    }
  };
  let next: unknown = value;
  let pending = true;
  while (out.length <= max) {
    if (pending) {
      pending = false;
      const s = scalar(next);
      if (s !== undefined) out += s;
      else if (Array.isArray(next)) {
        out += '[';
        stack.push({ entries: items(next as unknown[]), array: true, first: true });
      } else {
        out += '{';
        stack.push({ entries: members(next as Record<string, unknown>), array: false, first: true });
      }
      continue;
    }
    const top = stack.at(-1);
    if (!top) break;
    const step = top.entries.next();
    if (step.done) {
      out += top.array ? ']' : '}';
      stack.pop();
      continue;
    }
    if (!top.first) out += ',';
    top.first = false;
    if (!top.array) out += `${JSON.stringify(clip(step.value[0], max))}:`;
    next = step.value[1];
    pending = true;
  }
  return out.length > max ? `${out.slice(0, max)}…` : out;
}

/** Lazily, so a preview of a wide value costs what it shows, not the value's width. */
function* items(array: readonly unknown[]): Generator<[string, unknown]> {
  for (let i = 0; i < array.length; i++) yield [String(i), array[i]];
}

function* members(object: Record<string, unknown>): Generator<[string, unknown]> {
  for (const key in object) if (Object.hasOwn(object, key)) yield [key, object[key]];
}
