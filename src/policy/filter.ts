import { stringifyCQ } from '../onebot/cqcode.js';
import type { Message, MessageFormat, OneBotEvent } from '../onebot/types.js';
import { OneBridgeError } from '../errors.js';

/**
 * go-cqhttp's event filter language, compiled once into a predicate. A filter is a JSON
 * object; every entry must match (an implicit `.and`). A key starting with `.` is an operator,
 * any other key selects a field of the event (dotted paths and array indices: `sender.sex`,
 * `message.0.type`) and its value is either a sub-filter (an object) or a value to equal.
 *
 * Values are compared as text, as go-cqhttp does: `123` equals `"123"`, a missing field or
 * `null` is `""`, objects and arrays are their JSON. `.in` with a string tests whether the
 * field's text is a substring of it; with an array, whether it equals one element's text.
 * `.regex` is an unanchored search (JavaScript syntax, Unicode mode when the pattern allows).
 *
 * What it does not do: GJSON's other path syntax (`#`, `*`, `?`, `@`, `|`) is refused as a
 * config error rather than silently never matching; it never filters lifecycle and heartbeat
 * meta events (see `admits`), unlike go-cqhttp.
 */
export type EventPredicate = (event: OneBotEvent, format: MessageFormat) => boolean;

type Path = readonly (string | number)[];

/**
 * A filter that cannot be compiled. `path` is where inside the filter, as config key segments:
 * `['.or', 1, 'user_id', '.regex']`, shown as `filter[".or"][1].user_id[".regex"]`.
 */
export class FilterError extends OneBridgeError {
  constructor(
    readonly path: Path,
    message: string,
  ) {
    super('ONEBRIDGE_FILTER_INVALID', message);
  }
}

type Node = (value: unknown, root: Root) => boolean;
/** The event plus the entry's message format, for `message` as the client would see it. */
interface Root {
  readonly event: OneBotEvent;
  readonly format: MessageFormat;
}

const OPERATORS = ['.not', '.and', '.or', '.eq', '.neq', '.in', '.contains', '.regex'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The text go-cqhttp compares: strings as is, null/missing empty, objects and arrays as JSON. */
export function textOf(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return JSON.stringify(v);
}


function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** `sender.sex` → ['sender', 'sex']; `a\.b` is one key. Refuses GJSON syntax we do not implement. */
function splitPath(key: string, at: Path): string[] {
  if (/[#*?@|]/.test(key.replace(/\\./g, ''))) {
    throw new FilterError(at, `unsupported path syntax in ${JSON.stringify(key)}; use dotted keys and array indices (sender.sex, message.0.type)`);
  }
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < key.length; i++) {
    const ch = key[i]!;
    if (ch === '\\' && i + 1 < key.length) cur += key[++i];
    else if (ch === '.') {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  if (parts.some((p) => p === '')) throw new FilterError(at, `empty segment in field path ${JSON.stringify(key)}`);
  return parts;
}

function lookup(value: unknown, parts: readonly string[], root: Root): unknown {
  const fromRoot = value === root.event;
  let cur = value;
  for (const [i, part] of parts.entries()) {
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(part)) return undefined;
      cur = cur[Number(part)];
    } else if (isObject(cur)) {
      cur = Object.hasOwn(cur, part) ? cur[part] : undefined;
    } else return undefined;
    // The client on a `string`-format entry sees `message` as CQ code text: filter on that.
    if (fromRoot && i === 0 && part === 'message' && root.format === 'string' && Array.isArray(cur)) cur = stringifyCQ(cur as Message);
  }
  return cur;
}

function compileAnd(arg: unknown, at: Path): Node {
  if (!isObject(arg)) throw new FilterError(at, `expected a mapping (an object of conditions), got ${describe(arg)}`);
  const parts: Node[] = [];
  for (const [key, value] of Object.entries(arg)) {
    if (key.startsWith('.')) {
      parts.push(compileOperator(key, value, [...at, key]));
      continue;
    }
    const here = [...at, key];
    const path = splitPath(key, here);
    const sub: Node = isObject(value) ? compileAnd(value, here) : compileEq(value);
    parts.push((v, root) => sub(lookup(v, path, root), root));
  }
  if (parts.length === 1) return parts[0]!;
  return (v, root) => {
    for (const p of parts) if (!p(v, root)) return false;
    return true;
  };
}

function compileEq(arg: unknown): Node {
  const want = textOf(arg);
  return (v) => textOf(v) === want;
}

function compileOperator(key: string, arg: unknown, at: Path): Node {
  switch (key) {
    case '.not': {
      if (!isObject(arg)) throw new FilterError(at, `expected a mapping, got ${describe(arg)}`);
      const inner = compileAnd(arg, at);
      return (v, root) => !inner(v, root);
    }
    case '.and':
      return compileAnd(arg, at);
    case '.or': {
      if (!Array.isArray(arg)) throw new FilterError(at, `expected a list of mappings, got ${describe(arg)}`);
      const branches = arg.map((b, i) => compileAnd(b, [...at, i]));
      return (v, root) => {
        for (const b of branches) if (b(v, root)) return true;
        return false;
      };
    }
    case '.eq':
      return compileEq(arg);
    case '.neq': {
      const eq = compileEq(arg);
      return (v, root) => !eq(v, root);
    }
    case '.in': {
      if (Array.isArray(arg)) {
        const set = new Set(arg.map(textOf));
        return (v) => set.has(textOf(v));
      }
      if (isObject(arg)) throw new FilterError(at, `expected a list or a string, got a mapping`);
      const hay = textOf(arg);
      return (v) => hay.includes(textOf(v));
    }
    case '.contains': {
      if (isObject(arg) || Array.isArray(arg)) throw new FilterError(at, `expected a string, got ${describe(arg)}`);
      const needle = textOf(arg);
      return (v) => textOf(v).includes(needle);
    }
    case '.regex': {
      if (isObject(arg) || Array.isArray(arg)) throw new FilterError(at, `expected a regular expression string, got ${describe(arg)}`);
      const re = compileRegex(textOf(arg), at);
      return (v) => re.test(textOf(v));
    }
    default:
      throw new FilterError(at, `unknown operator ${JSON.stringify(key)}; expected one of ${OPERATORS.join(', ')}`);
  }
}

function compileRegex(source: string, at: Path): RegExp {
  try {
    return new RegExp(source, 'u');
  } catch {
    try {
      return new RegExp(source);
    } catch (err) {
      throw new FilterError(at, `invalid regular expression: ${(err as Error).message}`);
    }
  }
}

/** Compiles a filter; throws FilterError naming the path of the first problem. */
export function compileFilter(filter: unknown): EventPredicate {
  const node = compileAnd(filter, []);
  return (event, format) => node(event, { event, format });
}

/** Lifecycle and heartbeat meta events: always delivered, whatever the filter says. */
export function isExempt(event: OneBotEvent): boolean {
  if (event.post_type !== 'meta_event') return false;
  const type = event['meta_event_type'];
  return type === 'lifecycle' || type === 'heartbeat';
}
