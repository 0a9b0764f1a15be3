import { renderText, type Message, type Segment } from '../../src/kit/index.js';
import type { OutgoingPart } from './stanza.js';

export interface PlanOptions {
  /** A nick or name for an `at` segment's qq. */
  readonly nameOf: (userId: number) => string | undefined;
  /** The quoted message of a `reply` segment (for the fallback text). */
  readonly quoteOf: (messageId: number) => { readonly name: string; readonly text: string } | undefined;
  /** The XEP-0461 target of a reply: the id other clients know it by, and its sender's address. Undefined when the message is unknown or in another chat. */
  readonly replyTarget: (messageId: number) => { readonly id: string; readonly to: string | undefined } | undefined;
}

const httpUrl = (s: Segment): string | undefined => {
  for (const key of ['url', 'file']) {
    const v = s.data[key];
    if (typeof v === 'string' && /^https?:\/\//i.test(v)) return v;
  }
  return undefined;
};

/**
 * A OneBot message as the stanzas that carry it: the text (kit `renderText`: `at` -> the nick
 * as XMPP clients address people, `nick: ` at the start; faces, shares and the rest as text)
 * in one message, with a `reply` segment as an XEP-0461 reply and its quote as XEP-0428
 * fallback; then each image with an http(s) URL as its own message (body = URL + XEP-0066),
 * which is what makes clients show it inline. Images without a URL (base64://, file://) are
 * rendered as text by the kit; XMPP file upload is not done here.
 */
export function planMessage(message: Message, options: PlanOptions): OutgoingPart[] {
  const reply = message.find((s) => s.type === 'reply');
  const images = message.filter((s) => s.type === 'image' && httpUrl(s) !== undefined);
  const rest = message.filter((s) => s.type !== 'reply' && !(s.type === 'image' && httpUrl(s) !== undefined));
  const text = renderText(rest, { nameOf: options.nameOf, mention: (name, position) => (position === 'start' ? `${name}:` : name) });
  const parts: OutgoingPart[] = [];
  let replyInfo: OutgoingPart['reply'];
  let quote = '';
  if (reply) {
    const id = Number(reply.data['id']);
    if (Number.isSafeInteger(id)) {
      quote = renderText([reply], { quoteOf: options.quoteOf });
      const target = options.replyTarget(id);
      if (target) replyInfo = { id: target.id, to: target.to, quoteLength: Array.from(quote).length };
    }
  }
  if (text.trim() !== '') parts.push({ body: quote + text, reply: replyInfo });
  for (const [i, img] of images.entries()) {
    const url = httpUrl(img)!;
    // An image alone still answers the message it replies to.
    const first = i === 0 && parts.length === 0;
    parts.push({ body: first ? quote + url : url, oob: url, reply: first ? replyInfo : undefined });
  }
  return parts;
}
