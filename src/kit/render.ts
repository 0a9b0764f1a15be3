import type { Message, Segment } from '../onebot/types.js';

/**
 * Text emoticons for the QQ faces bots use most (`face` ids from the classic set), for
 * platforms that have only text. An id not here renders as `[face:<id>]`.
 */
export const FACE_EMOTICONS: Readonly<Record<string, string>> = {
  '0': ':O',
  '1': ':/',
  '2': '*_*',
  '4': 'B-)',
  '5': ":'(",
  '6': '^///^',
  '7': ':x',
  '8': '-_-zzz',
  '9': 'T_T',
  '10': '^^;',
  '11': '>:(',
  '12': ':P',
  '13': ':D',
  '14': ':)',
  '15': ':(',
  '16': 'B)',
  '21': '^_^',
  '26': 'D:',
  '27': '^^;;',
  '28': 'XD',
  '32': '?_?',
  '33': 'shh',
  '66': '<3',
  '76': '(y)',
  '77': '(n)',
  '79': 'V',
  '99': '*clap*',
  '109': ':*',
  '124': '(ok)',
};

export interface RenderTextOptions {
  /** Display name for an `at` segment's `qq`; the id itself when undefined. */
  readonly nameOf?: (userId: number) => string | undefined;
  /** How a mention reads. Default `@name` (`@all` for everyone). */
  readonly mention?: (name: string, position: 'start' | 'inline') => string;
  /** The quoted message of a `reply` segment (from the message store), if known. */
  readonly quoteOf?: (messageId: number) => { readonly name: string; readonly text: string } | undefined;
  /** Longest quote snippet, in characters; longer is cut with `…`. Default 50. */
  readonly quoteLength?: number;
}

const urlOf = (s: Segment): string | undefined => {
  for (const key of ['url', 'file']) {
    const v = s.data[key];
    if (typeof v === 'string' && /^https?:\/\//i.test(v)) return v;
  }
  return undefined;
};

const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

/**
 * OneBot segments as the text a person reads on a text-only platform (IRC, XMPP bodies):
 * `text` as is; `at` as the name; `image`/`record`/`video` as their URL (`[image]` when there
 * is none); `face` as a text emoticon; `reply` as a short quote line first; `share`, `music`,
 * `location` as title and URL; anything else as `[type]`. Non-text parts get a space from the
 * text next to them.
 *
 * It does not split long text or escape platform syntax (IRC colour codes, XML): the adapter
 * does that, since it knows the platform's limits.
 */
export function renderText(message: Message, options: RenderTextOptions = {}): string {
  const mention = options.mention ?? ((name: string) => `@${name}`);
  const quoteLength = options.quoteLength ?? 50;
  let quote = '';
  const parts: Array<{ text: string; inline: boolean }> = [];
  for (const s of message) {
    switch (s.type) {
      case 'text':
        parts.push({ text: str(s.data['text']), inline: true });
        break;
      case 'at': {
        const qq = str(s.data['qq']);
        const name = qq === 'all' ? 'all' : (options.nameOf?.(Number(qq)) ?? (str(s.data['name']) || qq));
        parts.push({ text: mention(name, parts.length === 0 ? 'start' : 'inline'), inline: false });
        break;
      }
      case 'image':
      case 'record':
      case 'video':
        parts.push({ text: urlOf(s) ?? `[${s.type}]`, inline: false });
        break;
      case 'face': {
        const id = str(s.data['id']);
        parts.push({ text: FACE_EMOTICONS[id] ?? `[face:${id}]`, inline: false });
        break;
      }
      case 'reply': {
        const id = Number(s.data['id']);
        const q = Number.isSafeInteger(id) ? options.quoteOf?.(id) : undefined;
        if (q) {
          const flat = q.text.replace(/\s+/g, ' ').trim();
          quote = `> ${q.name}: ${flat.length > quoteLength ? `${flat.slice(0, quoteLength - 1)}…` : flat}\n`;
        } else quote = '';
        break;
      }
      case 'share':
      case 'music':
      case 'location': {
        const title = str(s.data['title']) || str(s.data['content']);
        const url =
          str(s.data['url']) ||
          str(s.data['jump_url']) ||
          (s.type === 'location' && s.data['lat'] !== undefined
            ? `geo:${str(s.data['lat'])},${str(s.data['lon'])}`
            : '');
        parts.push({ text: [title, url].filter(Boolean).join(' ') || `[${s.type}]`, inline: false });
        break;
      }
      default:
        parts.push({ text: `[${s.type}]`, inline: false });
    }
  }
  let out = '';
  parts.forEach((p, i) => {
    if (!p.text) return;
    const prev = out.at(-1);
    // A mention or URL glued to a word would not read (or link): give it room.
    if (prev !== undefined && !/\s/.test(prev) && (!p.inline || !parts[i - 1]?.inline) && !/^\s/.test(p.text))
      out += ' ';
    out += p.text;
  });
  return quote + out;
}

export interface ParseTextOptions {
  /** The bot's `self_id`: mentions of it become `at` segments with this `qq`. */
  readonly selfId: number;
  /** The names the bot answers to (its nick; for XMPP also its room nick). */
  readonly selfNames: readonly string[];
  /** Platform nick equality; default case-insensitive. */
  readonly caseSensitive?: boolean;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface Matchers {
  /** Addressing the bot at the start: `bot: `, `bot, `, `@bot `. */
  readonly lead: RegExp;
  /** `@bot` inside the text (global; `matchAll` copies it, so sharing it is safe). */
  readonly inline: RegExp;
}

/**
 * Compiled matchers by bot names and case rule. Building them cost more than matching on busy
 * channels (every message, see the IRC bench); names change rarely (a nick change, a room nick),
 * so a few configurations are kept, the oldest dropped first past the bound.
 */
const matchers = new Map<string, Matchers | null>();
const MATCHERS_MAX = 64;

/** The configuration asked for last: most calls repeat it, found without building a key. */
let last: { names: readonly string[]; caseSensitive: boolean; m: Matchers | null } | undefined;

const sameNames = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((n, i) => n === b[i]);

/** The matchers for these names, or null when no name is given (nothing can address the bot). */
function matchersFor(selfNames: readonly string[], caseSensitive: boolean): Matchers | null {
  if (last && last.caseSensitive === caseSensitive && sameNames(last.names, selfNames)) return last.m;
  const flags = caseSensitive ? '' : 'i';
  // Exact: no two lists of names share a key (a NUL-joined key would, in principle).
  const key = flags + JSON.stringify(selfNames);
  let m = matchers.get(key);
  if (m === undefined) {
    const names = selfNames.filter(Boolean).map(escapeRe);
    const alt = names.join('|');
    m = names.length
      ? {
          lead: new RegExp(`^\\s*(?:@(?:${alt})(?![\\w-])[:,]?|(?:${alt})[:,])\\s*`, flags),
          inline: new RegExp(`(^|\\s)@(?:${alt})(?![\\w-])`, `g${flags}`),
        }
      : null;
    if (matchers.size >= MATCHERS_MAX) matchers.delete(matchers.keys().next().value!);
    matchers.set(key, m);
  }
  // A copy: the caller may reuse and change its array.
  last = { names: [...selfNames], caseSensitive, m };
  return m;
}

/**
 * Text from a text-only platform as segments: addressing the bot (`bot: hi`, `bot, hi`,
 * `@bot hi` at the start) becomes a leading `at` of `selfId` (what bot frameworks read as
 * "to me"), an `@bot` inside the text becomes an `at` where it stands; the rest is `text`.
 *
 * It does not turn other users' nicks into `at` (a nick is often an ordinary word), nor URLs
 * into images.
 */
export function parseText(text: string, options: ParseTextOptions): Message {
  const found = matchersFor(options.selfNames, options.caseSensitive === true);
  if (!found) return text ? [{ type: 'text', data: { text } }] : [];
  const at = (): Segment => ({ type: 'at', data: { qq: String(options.selfId) } });
  const out: Message = [];
  let rest = text;
  const lead = found.lead.exec(rest);
  if (lead) {
    out.push(at());
    rest = rest.slice(lead[0].length);
  }
  let last = 0;
  for (const m of rest.matchAll(found.inline)) {
    const start = m.index + m[1]!.length;
    if (start > last) out.push({ type: 'text', data: { text: rest.slice(last, start) } });
    out.push(at());
    last = m.index + m[0].length;
  }
  if (last < rest.length) out.push({ type: 'text', data: { text: rest.slice(last) } });
  return out;
}
