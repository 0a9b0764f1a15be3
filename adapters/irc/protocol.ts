import { OneBridgeError } from '../../src/kit/index.js';

/**
 * The IRC wire format (RFC 1459/2812 with IRCv3 message tags): parsing a line, writing one
 * safely, case mapping, formatting codes and CTCP. Pure functions: no socket, no state.
 */

/** One line from the server. `params` has the trailing parameter last, without its colon. */
export interface IrcMessage {
  readonly tags: ReadonlyMap<string, string>;
  /** `nick!user@host` or a server name; empty when the line had none. */
  readonly prefix: string;
  /** The nick part of the prefix (the whole prefix for a server). */
  readonly nick: string;
  readonly command: string;
  readonly params: readonly string[];
}

const TAG_ESCAPES: Record<string, string> = { ':': ';', s: ' ', '\\': '\\', r: '\r', n: '\n' };

function unescapeTag(value: string): string {
  return value.replace(/\\(.?)/g, (_m, c: string) => TAG_ESCAPES[c] ?? c);
}

/**
 * Parses one line (without CR LF). Tolerant like servers are: runs of spaces between
 * params, a missing trailing colon, lowercase commands. Returns undefined for a line with no
 * command, which callers skip.
 */
export function parseLine(line: string): IrcMessage | undefined {
  let rest = line;
  const tags = new Map<string, string>();
  if (rest.startsWith('@')) {
    const sp = rest.indexOf(' ');
    if (sp < 0) return undefined;
    for (const part of rest.slice(1, sp).split(';')) {
      if (!part) continue;
      const eq = part.indexOf('=');
      if (eq < 0) tags.set(part, '');
      else tags.set(part.slice(0, eq), unescapeTag(part.slice(eq + 1)));
    }
    rest = rest.slice(sp + 1);
  }
  rest = rest.replace(/^ +/, '');
  let prefix = '';
  if (rest.startsWith(':')) {
    const sp = rest.indexOf(' ');
    if (sp < 0) return undefined;
    prefix = rest.slice(1, sp);
    rest = rest.slice(sp + 1);
  }
  const params: string[] = [];
  for (;;) {
    rest = rest.replace(/^ +/, '');
    if (!rest) break;
    if (rest.startsWith(':')) {
      params.push(rest.slice(1));
      break;
    }
    const sp = rest.indexOf(' ');
    if (sp < 0) {
      params.push(rest);
      break;
    }
    params.push(rest.slice(0, sp));
    rest = rest.slice(sp + 1);
  }
  const command = params.shift();
  if (!command) return undefined;
  const bang = prefix.indexOf('!');
  const at = prefix.indexOf('@');
  const nickEnd = bang >= 0 ? bang : at >= 0 ? at : prefix.length;
  return { tags, prefix, nick: prefix.slice(0, nickEnd), command: command.toUpperCase(), params };
}

/** Thrown for a line we refuse to write: it would smuggle a second command onto the wire. */
export class IrcLineError extends OneBridgeError {
  constructor(message: string) {
    super('ONEBRIDGE_IRC_BAD_LINE', message);
  }
}

/**
 * One command line (without CR LF). Middle params must not be empty, contain spaces or start
 * with a colon; the last param is sent as trailing when it needs to be. No param may contain
 * CR, LF or NUL: callers split text first (`splitText`), so this is a bug guard, not a filter.
 */
export function formatLine(command: string, ...params: string[]): string {
  let line = command;
  params.forEach((p, i) => {
    if (/[\r\n\0]/.test(p)) throw new IrcLineError(`IRC param ${i + 1} of ${command} contains CR, LF or NUL`);
    const last = i === params.length - 1;
    if (last && (p === '' || p.includes(' ') || p.startsWith(':'))) line += ` :${p}`;
    else if (!last && (p === '' || p.includes(' ') || p.startsWith(':'))) throw new IrcLineError(`IRC param ${i + 1} of ${command} cannot be empty, contain a space or start with ":"`);
    else line += ` ${p}`;
  });
  return line;
}

export type CaseMapping = 'ascii' | 'rfc1459' | 'strict-rfc1459';

/**
 * Folds a nick or channel name for comparison as the server does (ISUPPORT CASEMAPPING;
 * servers that do not say use rfc1459, where `[]\~` are the uppercase of `{}|^`).
 */
export function foldCase(name: string, mapping: CaseMapping = 'rfc1459'): string {
  // Most names are already folded: skip the three replaces (this runs for every line).
  if (!/[A-Z[\]\\~]/.test(name)) return name;
  const lower = name.replace(/[A-Z]/g, (c) => c.toLowerCase());
  if (mapping === 'ascii') return lower;
  const out = lower.replace(/[[\]\\]/g, (c) => (c === '[' ? '{' : c === ']' ? '}' : '|'));
  return mapping === 'rfc1459' ? out.replace(/~/g, '^') : out;
}

/**
 * IRC formatting: bold (0x02), colour (0x03 with up to two digits, optionally `,` and two
 * more), hex colour (0x04 with six hex digits, optionally `,` and six more), reset (0x0F),
 * monospace (0x11), reverse (0x16), italic (0x1D), strikethrough (0x1E), underline (0x1F).
 */
const FORMATTING = /\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?|[\x02\x0f\x11\x16\x1d\x1e\x1f]/g;

/** The text without IRC formatting codes (colours, bold, …): what a bot should read. */
export function stripFormatting(text: string): string {
  return text.replace(FORMATTING, '');
}

const CTCP_DELIM = '\x01';

/** A CTCP request inside a PRIVMSG/NOTICE: `\x01COMMAND args\x01` (closing delimiter optional). */
export interface Ctcp {
  readonly command: string;
  readonly args: string;
}

export function parseCtcp(text: string): Ctcp | undefined {
  if (!text.startsWith(CTCP_DELIM)) return undefined;
  const body = text.endsWith(CTCP_DELIM) && text.length > 1 ? text.slice(1, -1) : text.slice(1);
  const sp = body.indexOf(' ');
  return sp < 0 ? { command: body.toUpperCase(), args: '' } : { command: body.slice(0, sp).toUpperCase(), args: body.slice(sp + 1) };
}

export function formatCtcp(command: string, args = ''): string {
  return `${CTCP_DELIM}${command}${args ? ` ${args}` : ''}${CTCP_DELIM}`;
}

/** Whether a target is a channel, given the server's CHANTYPES (default `#&`). */
export function isChannel(target: string, chanTypes = '#&'): boolean {
  return target.length > 0 && chanTypes.includes(target[0]!);
}

/** Characters a nick may hold (RFC 2812 plus what servers allow in practice). */
export const NICK_CHAR = /[A-Za-z0-9[\]\\`_^{|}-]/;
