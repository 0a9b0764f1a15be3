import { stringifyCQ, type Message, type MessageStore } from '../../src/kit/index.js';
import { foldCase, NICK_CHAR } from './protocol.js';

/**
 * IRC text -> OneBot segments: mentions of the bot become `at` segments. IRC's conventions:
 * the nick first followed by `:` or `,` (`bot: hi`, `bot, hi`), or `@bot` anywhere, with the
 * nick compared as IRC compares nicks. A nick inside a longer word (`@botany`) is not one.
 */
export function textToMessage(text: string, nick: string, selfId: number): Message {
  const out: Message = [];
  const at = () => out.push({ type: 'at', data: { qq: String(selfId) } });
  const plain = (s: string) => {
    if (!s) return;
    const last = out.at(-1);
    if (last?.type === 'text') last.data['text'] = String(last.data['text']) + s;
    else out.push({ type: 'text', data: { text: s } });
  };
  const folded = foldCase(nick);
  let rest = text;
  const lead = rest.slice(0, nick.length);
  const sep = rest[nick.length];
  if (foldCase(lead) === folded && (sep === ':' || sep === ',')) {
    at();
    rest = rest.slice(nick.length + 1);
  }
  let i = 0;
  while (i < rest.length) {
    const next = rest.indexOf('@', i);
    if (next < 0) break;
    const candidate = rest.slice(next + 1, next + 1 + nick.length);
    const after = rest[next + 1 + nick.length];
    const before = next > 0 ? rest[next - 1]! : ' ';
    if (foldCase(candidate) === folded && (after === undefined || !NICK_CHAR.test(after)) && !NICK_CHAR.test(before)) {
      plain(rest.slice(i, next));
      at();
      i = next + 1 + nick.length;
    } else {
      plain(rest.slice(i, next + 1));
      i = next + 1;
    }
  }
  plain(rest.slice(i));
  return out;
}

/**
 * OneBot segments -> IRC text. PROVISIONAL: replaced by the platform kit's rendering.
 */
export function messageToText(message: Message, nickOf: (id: number) => string | undefined, _store: MessageStore): string {
  return message
    .map((s) => {
      if (s.type === 'text') return String(s.data['text'] ?? '');
      if (s.type === 'at') {
        const id = Number(s.data['qq']);
        return s.data['qq'] === 'all' ? '@everyone' : `${nickOf(id) ?? String(s.data['qq'])}:`;
      }
      return stringifyCQ([s]);
    })
    .join('');
}
