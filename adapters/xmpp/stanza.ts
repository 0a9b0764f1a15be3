import type { Element } from '@xmpp/client';

/** The XML namespaces the adapter reads and writes. */
export const NS = {
  MUC: 'http://jabber.org/protocol/muc',
  MUC_USER: 'http://jabber.org/protocol/muc#user',
  MUC_ADMIN: 'http://jabber.org/protocol/muc#admin',
  DISCO_INFO: 'http://jabber.org/protocol/disco#info',
  ROSTER: 'jabber:iq:roster',
  PING: 'urn:xmpp:ping',
  /** XEP-0359 unique and stable stanza ids. */
  SID: 'urn:xmpp:sid:0',
  /** XEP-0461 message replies. */
  REPLY: 'urn:xmpp:reply:0',
  /** XEP-0424 message retraction (current, and the version-0 form inside XEP-0422 fastening). */
  RETRACT: 'urn:xmpp:message-retract:1',
  RETRACT_0: 'urn:xmpp:message-retract:0',
  FASTEN: 'urn:xmpp:fasten:0',
  /** XEP-0428 fallback indication. */
  FALLBACK: 'urn:xmpp:fallback:0',
  /** XEP-0066 out-of-band data. */
  OOB: 'jabber:x:oob',
  /** XEP-0203 delayed delivery: set on room history replayed at join. */
  DELAY: 'urn:xmpp:delay',
  /** XEP-0372 references (mentions). */
  REFERENCE: 'urn:xmpp:reference:0',
  /** XEP-0334 hints: a retraction should be archived. */
  HINTS: 'urn:xmpp:hints',
} as const;

/** A parsed address; `bare` is `local@domain` (or `domain`), `resource` may be ''. */
export interface Jid {
  readonly bare: string;
  readonly resource: string;
}

/** Splits a JID (RFC 7622: the first `/` starts the resource; case-folds local and domain). */
export function parseJid(address: string): Jid {
  const slash = address.indexOf('/');
  const bare = slash < 0 ? address : address.slice(0, slash);
  return { bare: bare.toLowerCase(), resource: slash < 0 ? '' : address.slice(slash + 1) };
}

/** The local part of a bare JID (the whole JID when it has none). */
export function localPart(bare: string): string {
  const at = bare.indexOf('@');
  return at < 0 ? bare : bare.slice(0, at);
}

/** A chat message (groupchat, chat or normal with a body) as the adapter sees it. */
export interface ParsedMessage {
  readonly kind: 'message';
  readonly type: 'groupchat' | 'chat';
  readonly from: Jid;
  /** Every id it is known by: the stanza's `id`, XEP-0359 origin-id, and stanza-ids. */
  readonly ids: MessageIds;
  /** The body without reply fallback text. */
  readonly body: string;
  /** XEP-0066 URLs; when the body is just that URL it is not repeated in `body`. */
  readonly urls: string[];
  /** XEP-0461: the message this one answers (its id as the sender's client put it). */
  readonly replyTo: string | undefined;
  /** XEP-0203: sent earlier (room history at join, offline storage). */
  readonly delayed: boolean;
  /** XEP-0372 mention targets (`xmpp:` URIs stripped). */
  readonly mentions: string[];
}

/** XEP-0424: `from` retracts its message `target` (the id the retractor used). */
export interface ParsedRetraction {
  readonly kind: 'retraction';
  readonly type: 'groupchat' | 'chat';
  readonly from: Jid;
  readonly target: string;
  readonly delayed: boolean;
}

export interface MessageIds {
  readonly id?: string | undefined;
  readonly originId?: string | undefined;
  /** The stanza-id added by `by` (the room for groupchat, our account's archive for chat). */
  readonly stanzaIds: ReadonlyArray<{ by: string; id: string }>;
}

/** Every id a message is known by, stanza-id first: for lookups by replies and retractions. */
export function allIds(ids: MessageIds): string[] {
  const out = ids.stanzaIds.map((s) => s.id);
  if (ids.originId) out.push(ids.originId);
  if (ids.id) out.push(ids.id);
  return [...new Set(out)];
}

/**
 * The id other clients use to point at a message (replies, retractions): in a room the room's
 * stanza-id (XEP-0424/0461 say so for groupchat), elsewhere the origin-id, else the `id`.
 */
export function referenceId(ids: MessageIds, type: 'groupchat' | 'chat', room?: string): string | undefined {
  if (type === 'groupchat') {
    const byRoom = ids.stanzaIds.find((s) => s.by === room)?.id;
    if (byRoom) return byRoom;
  }
  return ids.originId ?? ids.id;
}

function attr(el: Element | undefined, name: string): string | undefined {
  const v = el?.attrs[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** Removes [start, end) counted in code points (XEP-0426) from `text`. */
function cut(text: string, start: number, end: number): string {
  const chars = Array.from(text);
  if (!(start >= 0 && end > start && end <= chars.length)) return text;
  return chars.slice(0, start).join('') + chars.slice(end).join('');
}

/**
 * A `<message>` stanza as a chat message or a retraction, or undefined for what is neither
 * (subject changes, chat states, receipts, errors, headlines). It does not decide whether the
 * sender is trusted, nor whether a groupchat message is the bot's own echo: the caller knows.
 */
export function parseMessage(stanza: Element): ParsedMessage | ParsedRetraction | undefined {
  if (!stanza.is('message')) return undefined;
  const rawType = stanza.attrs['type'] ?? 'normal';
  if (rawType === 'error' || rawType === 'headline') return undefined;
  const type = rawType === 'groupchat' ? 'groupchat' : 'chat';
  const fromAttr = attr(stanza, 'from');
  if (!fromAttr) return undefined;
  const from = parseJid(fromAttr);
  const delayed = !!stanza.getChild('delay', NS.DELAY);

  const retract = stanza.getChild('retract', NS.RETRACT);
  const target0 = stanza.getChild('apply-to', NS.FASTEN);
  const target = attr(retract, 'id') ?? (target0?.getChild('retract', NS.RETRACT_0) ? attr(target0, 'id') : undefined);
  if (target) return { kind: 'retraction', type, from, target, delayed };

  let body = stanza.getChildText('body');
  if (body === null) {
    // An image alone may come without a body; everything else without one is not a message.
    if (!stanza.getChild('x', NS.OOB)) return undefined;
    body = '';
  }
  const replyEl = stanza.getChild('reply', NS.REPLY);
  const replyTo = attr(replyEl, 'id');
  if (replyTo) {
    for (const fb of stanza.getChildren('fallback', NS.FALLBACK)) {
      if (fb.attrs['for'] !== NS.REPLY) continue;
      const range = fb.getChild('body');
      if (range) body = cut(body, Number(range.attrs['start'] ?? 0), Number(range.attrs['end']));
    }
  }
  const urls = stanza
    .getChildren('x', NS.OOB)
    .map((x) => x.getChildText('url')?.trim() ?? '')
    .filter((u) => /^https?:\/\//i.test(u));
  // Clients send an image as body = URL + OOB (XEP-0066 usage); the URL is the image, not text.
  if (urls.length > 0 && urls.includes(body.trim())) body = '';

  const mentions = stanza
    .getChildren('reference', NS.REFERENCE)
    .filter((r) => r.attrs['type'] === 'mention')
    .map((r) => (r.attrs['uri'] ?? '').replace(/^xmpp:/, ''))
    .filter(Boolean);

  const ids: MessageIds = {
    id: attr(stanza, 'id'),
    originId: attr(stanza.getChild('origin-id', NS.SID), 'id'),
    stanzaIds: stanza
      .getChildren('stanza-id', NS.SID)
      .map((s) => ({ by: (s.attrs['by'] ?? '').toLowerCase(), id: s.attrs['id'] ?? '' }))
      .filter((s) => s.id !== ''),
  };
  return { kind: 'message', type, from, ids, body, urls, replyTo, delayed, mentions };
}

/** MUC presence data (XEP-0045 `<x xmlns='…muc#user'>`). */
export interface OccupantPresence {
  readonly room: string;
  readonly nick: string;
  readonly available: boolean;
  /** The occupant's real JID (bare) when the room shows it to us. */
  readonly realJid: string | undefined;
  readonly affiliation: Affiliation;
  readonly role: string;
  /** Status codes: 110 self, 201 room created, 303 nick change, 307 kicked, 301 banned, 321/322/332 removed. */
  readonly codes: ReadonlySet<string>;
  /** With code 303: the new nick. */
  readonly newNick: string | undefined;
  /** Who kicked or banned (the actor's nick), when the room says. */
  readonly actor: string | undefined;
  /** The error condition of a join refused (`type='error'`). */
  readonly error: string | undefined;
}

export type Affiliation = 'owner' | 'admin' | 'member' | 'none' | 'outcast';

/** A presence from a room occupant, or undefined for any other presence. */
export function parseOccupantPresence(stanza: Element): OccupantPresence | undefined {
  if (!stanza.is('presence')) return undefined;
  const fromAttr = attr(stanza, 'from');
  if (!fromAttr) return undefined;
  const from = parseJid(fromAttr);
  const type = stanza.attrs['type'];
  const x = stanza.getChild('x', NS.MUC_USER);
  if (type === 'error') {
    const err = stanza.getChild('error')?.getChildElements()[0]?.getName();
    return { room: from.bare, nick: from.resource, available: false, realJid: undefined, affiliation: 'none', role: 'none', codes: new Set(), newNick: undefined, actor: undefined, error: err ?? 'error' };
  }
  if (!x || !from.resource) return undefined;
  const item = x.getChild('item');
  const aff = item?.attrs['affiliation'];
  const affiliation: Affiliation = aff === 'owner' || aff === 'admin' || aff === 'member' || aff === 'outcast' ? aff : 'none';
  const real = attr(item, 'jid');
  return {
    room: from.bare,
    nick: from.resource,
    available: type !== 'unavailable',
    realJid: real ? parseJid(real).bare : undefined,
    affiliation,
    role: item?.attrs['role'] ?? 'none',
    codes: new Set(x.getChildren('status').map((s) => s.attrs['code'] ?? '')),
    newNick: attr(item, 'nick'),
    actor: attr(item?.getChild('actor'), 'nick'),
    error: undefined,
  };
}

/** OneBot's member role for a room affiliation: owner, admin, else member. */
export function roleOf(affiliation: Affiliation): 'owner' | 'admin' | 'member' {
  return affiliation === 'owner' ? 'owner' : affiliation === 'admin' ? 'admin' : 'member';
}

/** A roster item (RFC 6121). */
export interface RosterItem {
  readonly jid: string;
  readonly name: string | undefined;
  readonly subscription: 'none' | 'to' | 'from' | 'both' | 'remove';
  readonly ask: boolean;
}

/** The items of a roster result or roster push (`<query xmlns='jabber:iq:roster'>`). */
export function parseRoster(query: Element | undefined): RosterItem[] {
  if (!query) return [];
  return query.getChildren('item').flatMap((item): RosterItem[] => {
    const jid = attr(item, 'jid');
    if (!jid) return [];
    const sub = item.attrs['subscription'];
    return [
      {
        jid: parseJid(jid).bare,
        name: attr(item, 'name'),
        subscription: sub === 'to' || sub === 'from' || sub === 'both' || sub === 'remove' ? sub : 'none',
        ask: item.attrs['ask'] === 'subscribe',
      },
    ];
  });
}

/** The `xml()` element factory of the lazily imported library. */
export type XmlFactory = typeof import('@xmpp/client').xml;

/** One outgoing stanza's content: text, or an image (body = its URL, as clients expect). */
export interface OutgoingPart {
  readonly body: string;
  /** XEP-0066: the body is this URL and clients show it inline. */
  readonly oob?: string | undefined;
  /** XEP-0461: answers `id` (sent by `to`); the first `quoteLength` code points of the body quote it. */
  readonly reply?: { readonly id: string; readonly to: string | undefined; readonly quoteLength: number } | undefined;
}

/** A `<message>` carrying `part`, with `id` also as XEP-0359 origin-id (for retractions). */
export function buildMessage(xml: XmlFactory, to: string, type: 'groupchat' | 'chat', id: string, part: OutgoingPart): Element {
  const children: Element[] = [xml('body', {}, part.body)];
  if (part.oob) children.push(xml('x', { xmlns: NS.OOB }, xml('url', {}, part.oob)));
  if (part.reply) {
    children.push(xml('reply', { xmlns: NS.REPLY, id: part.reply.id, to: part.reply.to }));
    if (part.reply.quoteLength > 0) children.push(xml('fallback', { xmlns: NS.FALLBACK, for: NS.REPLY }, xml('body', { start: '0', end: String(part.reply.quoteLength) })));
  }
  children.push(xml('origin-id', { xmlns: NS.SID, id }));
  if (type === 'chat') children.push(xml('active', { xmlns: 'http://jabber.org/protocol/chatstates' }));
  return xml('message', { to, type, id }, ...children);
}

/** XEP-0424 retraction of our message `target`, with a fallback body for older clients. */
export function buildRetraction(xml: XmlFactory, to: string, type: 'groupchat' | 'chat', id: string, target: string): Element {
  return xml(
    'message',
    { to, type, id },
    xml('retract', { xmlns: NS.RETRACT, id: target }),
    xml('fallback', { xmlns: NS.FALLBACK, for: NS.RETRACT }),
    xml('body', {}, 'This person attempted to retract a previous message, but it is unsupported by your client.'),
    xml('store', { xmlns: NS.HINTS }),
  );
}

/** Joining a room: no history (it would replay as new messages), the password when set. */
export function buildJoin(xml: XmlFactory, room: string, nick: string, password: string | undefined): Element {
  return xml('presence', { to: `${room}/${nick}` }, xml('x', { xmlns: NS.MUC }, xml('history', { maxstanzas: '0' }), password ? xml('password', {}, password) : undefined));
}
