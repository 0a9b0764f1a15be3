import { xml } from '@xmpp/client';
import { describe, expect, it } from 'vitest';
import { Room } from '../adapters/xmpp/room.js';
import { allIds, buildJoin, buildMessage, buildRetraction, NS, parseJid, parseMessage, parseOccupantPresence, parseRoster, referenceId, roleOf } from '../adapters/xmpp/stanza.js';

const ROOM = 'room@conference.localhost';

/** A room message as Prosody delivers it (copied from a real one, ids shortened). */
const groupchat = (body: string, ...extra: ReturnType<typeof xml>[]) =>
  xml(
    'message',
    { type: 'groupchat', id: 'o1', from: `${ROOM}/Alice`, to: 'bot@localhost/onebridge' },
    xml('body', {}, body),
    xml('origin-id', { xmlns: NS.SID, id: 'o1' }),
    xml('stanza-id', { xmlns: NS.SID, by: ROOM, id: 'S1' }),
    ...extra,
  );

const presence = (nick: string, attrs: Record<string, string> = {}, item: Record<string, string> = { affiliation: 'none', role: 'participant' }, ...codes: string[]) =>
  xml('presence', { from: `${ROOM}/${nick}`, ...attrs }, xml('x', { xmlns: NS.MUC_USER }, xml('item', item), ...codes.map((code) => xml('status', { code }))));

describe('XMPP stanzas -> what the adapter reports', () => {
  it('a room message: type, sender, every id, body', () => {
    const m = parseMessage(groupchat('hello'));
    expect(m).toEqual({ kind: 'message', type: 'groupchat', from: { bare: ROOM, resource: 'Alice' }, ids: { id: 'o1', originId: 'o1', stanzaIds: [{ by: ROOM, id: 'S1' }] }, body: 'hello', urls: [], replyTo: undefined, delayed: false, mentions: [] });
    if (m?.kind !== 'message') throw new Error('not a message');
    expect(allIds(m.ids)).toEqual(['S1', 'o1']);
    // Replies and retractions in a room point at the room's stanza-id; in a chat at the origin-id.
    expect(referenceId(m.ids, 'groupchat', ROOM)).toBe('S1');
    expect(referenceId(m.ids, 'chat')).toBe('o1');
    expect(referenceId({ id: 'x', stanzaIds: [{ by: 'other@host', id: 'S9' }] }, 'groupchat', ROOM)).toBe('x');
  });

  it('history replayed at join carries a delay and is marked so', () => {
    const m = parseMessage(groupchat('old', xml('delay', { xmlns: NS.DELAY, stamp: '2026-01-01T00:00:00Z', from: ROOM })));
    expect(m).toMatchObject({ kind: 'message', delayed: true });
  });

  it('what is not a chat message is ignored: subject, chat state, error, headline, no sender', () => {
    expect(parseMessage(xml('message', { type: 'groupchat', from: ROOM }, xml('subject', {}, 'topic')))).toBeUndefined();
    expect(parseMessage(xml('message', { type: 'chat', from: 'a@localhost/x' }, xml('composing', { xmlns: 'http://jabber.org/protocol/chatstates' })))).toBeUndefined();
    expect(parseMessage(xml('message', { type: 'error', from: 'a@localhost' }, xml('body', {}, 'x')))).toBeUndefined();
    expect(parseMessage(xml('message', { type: 'headline', from: 'a@localhost' }, xml('body', {}, 'x')))).toBeUndefined();
    expect(parseMessage(xml('message', { type: 'chat' }, xml('body', {}, 'x')))).toBeUndefined();
    expect(parseMessage(xml('presence', { from: 'a@localhost' }))).toBeUndefined();
  });

  it('a normal message with a body is a chat; JIDs are case-folded, resources kept', () => {
    expect(parseMessage(xml('message', { from: 'Bob@LocalHost/Phone' }, xml('body', {}, 'hi')))).toMatchObject({ type: 'chat', from: { bare: 'bob@localhost', resource: 'Phone' } });
    expect(parseJid('room@conference.localhost/Nick/with/slash')).toEqual({ bare: 'room@conference.localhost', resource: 'Nick/with/slash' });
  });

  it('XEP-0461 reply: the target id, and the quoted fallback cut off the body (code points)', () => {
    const quote = '> Alice: héllo 😀\n';
    const m = parseMessage(
      groupchat(
        `${quote}answer`,
        xml('reply', { xmlns: NS.REPLY, to: `${ROOM}/Alice`, id: 'S0' }),
        xml('fallback', { xmlns: NS.FALLBACK, for: NS.REPLY }, xml('body', { start: '0', end: String(Array.from(quote).length) })),
      ),
    );
    expect(m).toMatchObject({ replyTo: 'S0', body: 'answer' });
    // A bad range leaves the body whole rather than cutting the wrong text.
    const bad = parseMessage(groupchat('text', xml('reply', { xmlns: NS.REPLY, id: 'S0' }), xml('fallback', { xmlns: NS.FALLBACK, for: NS.REPLY }, xml('body', { start: '0', end: '99' }))));
    expect(bad).toMatchObject({ replyTo: 'S0', body: 'text' });
  });

  it('XEP-0424 retraction, current and version-0 (fastening) forms', () => {
    expect(parseMessage(xml('message', { type: 'groupchat', from: `${ROOM}/Alice` }, xml('retract', { xmlns: NS.RETRACT, id: 'S1' }), xml('body', {}, 'fallback text')))).toEqual({
      kind: 'retraction',
      type: 'groupchat',
      from: { bare: ROOM, resource: 'Alice' },
      target: 'S1',
      delayed: false,
    });
    expect(parseMessage(xml('message', { type: 'chat', from: 'a@localhost/x' }, xml('apply-to', { xmlns: NS.FASTEN, id: 'o7' }, xml('retract', { xmlns: NS.RETRACT_0 }))))).toMatchObject({ kind: 'retraction', target: 'o7' });
  });

  it('XEP-0066: body = URL is an image, not text; only http(s) URLs count', () => {
    const url = 'https://example.org/cat.png';
    expect(parseMessage(groupchat(url, xml('x', { xmlns: NS.OOB }, xml('url', {}, url))))).toMatchObject({ body: '', urls: [url] });
    expect(parseMessage(groupchat('look', xml('x', { xmlns: NS.OOB }, xml('url', {}, url))))).toMatchObject({ body: 'look', urls: [url] });
    expect(parseMessage(groupchat('x', xml('x', { xmlns: NS.OOB }, xml('url', {}, 'javascript:alert(1)'))))).toMatchObject({ body: 'x', urls: [] });
    // An image without a body is still a message.
    expect(parseMessage(xml('message', { type: 'chat', from: 'a@localhost/x' }, xml('x', { xmlns: NS.OOB }, xml('url', {}, url))))).toMatchObject({ body: '', urls: [url] });
  });

  it('XEP-0372 mention references', () => {
    const m = parseMessage(groupchat('bot: hi', xml('reference', { xmlns: NS.REFERENCE, type: 'mention', uri: `xmpp:${ROOM}/bot`, begin: '0', end: '3' })));
    expect(m).toMatchObject({ mentions: [`${ROOM}/bot`] });
  });

  it('occupant presences: real JID, affiliation, codes, nick change, actor, join error', () => {
    const p = parseOccupantPresence(presence('Alice', {}, { affiliation: 'owner', role: 'moderator', jid: 'Alice@localhost/peer' }, '110', '201'));
    expect(p).toMatchObject({ room: ROOM, nick: 'Alice', available: true, realJid: 'alice@localhost', affiliation: 'owner', role: 'moderator' });
    expect([...p!.codes]).toEqual(['110', '201']);
    const kicked = parseOccupantPresence(xml('presence', { from: `${ROOM}/Bob`, type: 'unavailable' }, xml('x', { xmlns: NS.MUC_USER }, xml('item', { affiliation: 'none', role: 'none' }, xml('actor', { nick: 'Alice' })), xml('status', { code: '307' }))));
    expect(kicked).toMatchObject({ available: false, actor: 'Alice' });
    expect(parseOccupantPresence(presence('Bob', { type: 'unavailable' }, { affiliation: 'none', role: 'none', nick: 'Robert' }, '303'))).toMatchObject({ newNick: 'Robert' });
    expect(parseOccupantPresence(xml('presence', { from: `${ROOM}/bot`, type: 'error' }, xml('error', { type: 'auth' }, xml('not-authorized', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }))))).toMatchObject({ error: 'not-authorized' });
    // A contact's presence is not an occupant's.
    expect(parseOccupantPresence(xml('presence', { from: 'alice@localhost/peer' }))).toBeUndefined();
    expect([roleOf('owner'), roleOf('admin'), roleOf('member'), roleOf('none')]).toEqual(['owner', 'admin', 'member', 'member']);
  });

  it('roster items', () => {
    const q = xml('query', { xmlns: NS.ROSTER }, xml('item', { jid: 'Alice@localhost', name: 'Alice', subscription: 'both' }), xml('item', { jid: 'bob@localhost', ask: 'subscribe' }), xml('item', {}));
    expect(parseRoster(q)).toEqual([
      { jid: 'alice@localhost', name: 'Alice', subscription: 'both', ask: false },
      { jid: 'bob@localhost', name: undefined, subscription: 'none', ask: true },
    ]);
    expect(parseRoster(undefined)).toEqual([]);
  });
});

describe('stanzas the adapter sends', () => {
  it('a message with origin-id, OOB image, and a reply with its fallback range', () => {
    const m = buildMessage(xml, ROOM, 'groupchat', 'ob-1', { body: '> q\nhi', reply: { id: 'S1', to: `${ROOM}/Alice`, quoteLength: 4 } });
    const parsed = parseMessage(xml('message', { ...m.attrs, from: `${ROOM}/bot` }, ...m.children));
    expect(parsed).toMatchObject({ kind: 'message', body: 'hi', replyTo: 'S1', ids: { id: 'ob-1', originId: 'ob-1' } });
    const img = buildMessage(xml, 'a@localhost', 'chat', 'ob-2', { body: 'https://x.org/a.png', oob: 'https://x.org/a.png' });
    expect(parseMessage(xml('message', { ...img.attrs, from: 'bot@localhost/x' }, ...img.children))).toMatchObject({ type: 'chat', body: '', urls: ['https://x.org/a.png'] });
  });

  it('a retraction parses back to its target; a join asks for no history', () => {
    const r = buildRetraction(xml, ROOM, 'groupchat', 'ob-3', 'S1');
    expect(parseMessage(xml('message', { ...r.attrs, from: `${ROOM}/bot` }, ...r.children))).toMatchObject({ kind: 'retraction', target: 'S1' });
    const j = buildJoin(xml, ROOM, 'bot', 'secret');
    expect(j.attrs['to']).toBe(`${ROOM}/bot`);
    expect(j.getChild('x', NS.MUC)?.getChild('history')?.attrs['maxstanzas']).toBe('0');
    expect(j.getChild('x', NS.MUC)?.getChildText('password')).toBe('secret');
    expect(buildJoin(xml, ROOM, 'bot', undefined).getChild('x', NS.MUC)?.getChild('password')).toBeUndefined();
  });
});

describe('Room: presences -> increase/decrease/admin notices', () => {
  const p = (nick: string, attrs: Record<string, string> = {}, item?: Record<string, string>, ...codes: string[]) => parseOccupantPresence(presence(nick, attrs, item, ...codes))!;

  it('occupants present before our own presence are recorded, not reported; later ones are', () => {
    const room = new Room(ROOM, 'bot');
    expect(room.apply(p('Alice', {}, { affiliation: 'owner', role: 'moderator', jid: 'alice@localhost/x' }), 100)).toEqual([]);
    expect(room.apply(p('bot', {}, { affiliation: 'none', role: 'participant' }, '110'), 100)).toEqual([{ kind: 'joined' }]);
    expect(room.state).toBe('joined');
    expect([...room.occupants.keys()]).toEqual(['Alice']);
    const changes = room.apply(p('Bob'), 200);
    expect(changes).toMatchObject([{ kind: 'increase', occupant: { nick: 'Bob', joinedAt: 200 } }]);
    // The same presence again (a status change) is no new member.
    expect(room.apply(p('Bob'), 201)).toEqual([]);
    expect(room.byRealJid('alice@localhost')?.nick).toBe('Alice');
  });

  it('leave, kick (with actor), nick change (no notice), affiliation to and from admin', () => {
    const room = new Room(ROOM, 'bot');
    room.apply(p('bot', {}, undefined, '110'), 1);
    room.apply(p('Bob'), 2);
    room.apply(p('Carol'), 2);
    expect(room.apply(p('Bob', { type: 'unavailable' }, { affiliation: 'none', role: 'none', nick: 'Robert' }, '303'), 3)).toEqual([]);
    expect(room.apply(p('Robert'), 3)).toEqual([]);
    expect([...room.occupants.keys()].sort()).toEqual(['Carol', 'Robert']);
    expect(room.apply(p('Robert', {}, { affiliation: 'admin', role: 'moderator' }), 4)).toMatchObject([{ kind: 'admin', set: true, occupant: { nick: 'Robert' } }]);
    expect(room.apply(p('Robert', {}, { affiliation: 'member', role: 'participant' }), 4)).toMatchObject([{ kind: 'admin', set: false }]);
    expect(room.apply(p('Robert', { type: 'unavailable' }, { affiliation: 'member', role: 'none' }), 5)).toMatchObject([{ kind: 'decrease', kicked: false, occupant: { nick: 'Robert' } }]);
    const kick = parseOccupantPresence(xml('presence', { from: `${ROOM}/Carol`, type: 'unavailable' }, xml('x', { xmlns: NS.MUC_USER }, xml('item', { affiliation: 'none', role: 'none' }, xml('actor', { nick: 'bot' })), xml('status', { code: '307' }))))!;
    expect(room.apply(kick, 6)).toMatchObject([{ kind: 'decrease', kicked: true, actor: 'bot', occupant: { nick: 'Carol' } }]);
    // An unknown occupant leaving changes nothing.
    expect(room.apply(p('Zed', { type: 'unavailable' }), 7)).toEqual([]);
  });

  it('reset after a lost link rejoins silently; kicked or left rooms are not rejoined', () => {
    const room = new Room(ROOM, 'bot');
    room.apply(p('bot', {}, undefined, '110'), 1);
    room.apply(p('Bob'), 2);
    room.reset();
    expect(room.state).toBe('joining');
    expect(room.occupants.size).toBe(0);
    expect(room.apply(p('Bob'), 3)).toEqual([]);
    expect(room.apply(p('bot', {}, undefined, '110'), 3)).toEqual([{ kind: 'joined' }]);
    expect(room.apply(p('bot', { type: 'unavailable' }, { affiliation: 'none', role: 'none' }, '110', '307'), 4)).toEqual([{ kind: 'removed', kicked: true, actor: undefined }]);
    room.reset();
    expect(room.state).toBe('left');
  });

  it('a refused join fails the room once', () => {
    const room = new Room(ROOM, 'bot', 'wrong');
    const err = parseOccupantPresence(xml('presence', { from: `${ROOM}/bot`, type: 'error' }, xml('error', { type: 'auth' }, xml('not-authorized', { xmlns: 'urn:ietf:params:xml:ns:xmpp-stanzas' }))))!;
    expect(room.apply(err, 1)).toEqual([{ kind: 'join-failed', error: 'not-authorized' }]);
    expect(room.apply(err, 1)).toEqual([]);
    // Still wanted: the next connection tries again.
    room.reset();
    expect(room.state).toBe('joining');
  });
});

describe('SCRAM-SHA-1 (node:crypto, replacing the seconds-long one in xmpp.js)', () => {
  it('RFC 5802 example: client proof and server signature', async () => {
    const { ScramSha1 } = await import('../adapters/xmpp/scram.js');
    const m = new ScramSha1('fyko+d2lbbFgONRv9qkxdawL');
    expect(await m.response({ username: 'user', password: 'pencil' })).toBe('n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
    await m.challenge('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096');
    expect(await m.response({ username: 'user', password: 'pencil' })).toBe('c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=');
    expect(m.verify('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=')).toBe(true);
    expect(m.verify('v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=')).toBe(false);
  });

  it('refuses a server nonce that does not extend ours, and absurd iteration counts', async () => {
    const { ScramSha1 } = await import('../adapters/xmpp/scram.js');
    const a = new ScramSha1('abc');
    await a.response({ username: 'u', password: 'p' });
    await expect(a.challenge('r=xyz123,s=QSXCR+Q6sek8bf92,i=4096')).rejects.toThrow(/nonce/);
    const b = new ScramSha1('abc');
    await b.response({ username: 'u', password: 'p' });
    await expect(b.challenge('r=abc123,s=QSXCR+Q6sek8bf92,i=999999999')).rejects.toThrow(/iteration/);
  });
});

describe('planMessage: OneBot segments -> the stanzas that carry them', () => {
  const plan = async (message: Parameters<typeof import('../adapters/xmpp/outbound.js').planMessage>[0], known = true) => {
    const { planMessage } = await import('../adapters/xmpp/outbound.js');
    return planMessage(message, {
      nameOf: (id) => (id === 7 ? 'Alice' : undefined),
      quoteOf: (id) => (known && id === 99 ? { name: 'Alice', text: 'what time is it?' } : undefined),
      replyTarget: (id) => (known && id === 99 ? { id: 'S99', to: `${ROOM}/Alice` } : undefined),
    });
  };

  it('at -> "Nick:" at the start and the nick inline; faces and unknown segments as text', async () => {
    expect(await plan([{ type: 'at', data: { qq: '7' } }, { type: 'text', data: { text: 'hi ' } }, { type: 'at', data: { qq: '7' } }, { type: 'face', data: { id: '14' } }])).toEqual([{ body: 'Alice: hi Alice :)', reply: undefined }]);
  });

  it('a reply: XEP-0461 target and the quote length in code points; unknown target: no reply element', async () => {
    const [part] = await plan([{ type: 'reply', data: { id: '99' } }, { type: 'text', data: { text: 'noon' } }]);
    expect(part).toEqual({ body: '> Alice: what time is it?\nnoon', reply: { id: 'S99', to: `${ROOM}/Alice`, quoteLength: Array.from('> Alice: what time is it?\n').length } });
    expect(await plan([{ type: 'reply', data: { id: '99' } }, { type: 'text', data: { text: 'noon' } }], false)).toEqual([{ body: 'noon', reply: undefined }]);
  });

  it('images with http(s) URLs go as their own stanzas (body = URL + OOB); others stay text; nothing -> no stanza', async () => {
    expect(await plan([{ type: 'text', data: { text: 'look' } }, { type: 'image', data: { file: 'https://x.org/a.png' } }, { type: 'image', data: { file: 'base64://AAAA' } }])).toEqual([
      { body: 'look [image]', reply: undefined },
      { body: 'https://x.org/a.png', oob: 'https://x.org/a.png', reply: undefined },
    ]);
    // An image alone still answers the message it replies to.
    const [img] = await plan([{ type: 'reply', data: { id: '99' } }, { type: 'image', data: { url: 'https://x.org/b.png', file: 'b.png' } }]);
    expect(img).toMatchObject({ oob: 'https://x.org/b.png', reply: { id: 'S99' } });
    expect(await plan([{ type: 'text', data: { text: '  ' } }])).toEqual([]);
  });
});
