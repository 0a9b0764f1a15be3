/**
 * Cutting outgoing text into IRC lines. A line on the wire is at most 512 bytes with its
 * CR LF, and the server prefixes what it relays with our `:nick!user@host`, so the budget
 * for text is smaller still; the caller computes it (`textBudget`).
 */

const byteLength = (s: string): number => Buffer.byteLength(s, 'utf8');

const segmenter = typeof Intl.Segmenter === 'function' ? new Intl.Segmenter(undefined, { granularity: 'grapheme' }) : undefined;

/** Grapheme clusters where the runtime knows them, else code points: never half a character. */
function units(text: string): string[] {
  if (segmenter) return Array.from(segmenter.segment(text), (s) => s.segment);
  return Array.from(text);
}

/**
 * Splits text into lines of at most `maxBytes` UTF-8 bytes each, in order:
 * - at every newline (CR LF, CR or LF); empty lines are left out (IRC cannot send one);
 * - a longer line at the last space that leaves the piece at least half full (the space is
 *   dropped), else at the last character boundary that fits; a character (grapheme cluster,
 *   e.g. an emoji with modifiers) is never cut, unless one alone exceeds the budget, when its
 *   code points are;
 * - NUL characters are removed (the protocol forbids them).
 * It does not touch formatting codes or CTCP delimiters.
 */
export function splitText(text: string, maxBytes: number): string[] {
  if (!Number.isInteger(maxBytes) || maxBytes < 4) throw new RangeError(`maxBytes must be an integer >= 4, got ${maxBytes}`);
  const out: string[] = [];
  for (const line of text.replace(/\0/g, '').split(/\r\n|\r|\n/)) {
    if (!line) continue;
    if (byteLength(line) <= maxBytes) {
      out.push(line);
      continue;
    }
    splitLong(line, maxBytes, out);
  }
  return out;
}

function splitLong(line: string, maxBytes: number, out: string[]): void {
  let piece: string[] = [];
  let bytes = 0;
  /** Index in `piece` of the last space, and the bytes before it. */
  let space = -1;
  let spaceBytes = 0;
  const flush = (upTo: number, dropOne: boolean) => {
    const text = piece.slice(0, upTo).join('');
    if (text) out.push(text);
    piece = piece.slice(upTo + (dropOne ? 1 : 0));
    bytes = byteLength(piece.join(''));
    space = piece.lastIndexOf(' ');
    spaceBytes = space >= 0 ? byteLength(piece.slice(0, space).join('')) : 0;
  };
  const push = (unit: string) => {
    const size = byteLength(unit);
    if (size > maxBytes) {
      // One cluster larger than a whole line (a pathological combining run): cut it by code point.
      for (const cp of unit) push(cp);
      return;
    }
    while (bytes + size > maxBytes && piece.length) {
      if (space >= 0 && spaceBytes * 2 >= maxBytes) flush(space, true);
      else flush(piece.length, false);
    }
    if (unit === ' ') {
      space = piece.length;
      spaceBytes = bytes;
    }
    piece.push(unit);
    bytes += size;
  };
  for (const unit of units(line)) push(unit);
  // A piece made only of the rest after a dropped space may be empty.
  if (piece.length) out.push(piece.join(''));
}

/**
 * Bytes left for the text of `PRIVMSG <target> :<text>` as other users receive it:
 * `:<nick>!<user>@<host> PRIVMSG <target> :<text>\r\n` must fit in 512 bytes. `hostmask` is
 * ours as the server shows it; when not known yet, a conservative guess is used.
 */
export function textBudget(target: string, hostmask: string | undefined, command = 'PRIVMSG'): number {
  // nick 30 + user 10 + host 63 + separators: the largest common case.
  const mask = hostmask ? byteLength(hostmask) : 30 + 1 + 10 + 1 + 63;
  return 512 - 2 - (1 + mask + 1 + command.length + 1 + byteLength(target) + 2);
}
