import { client, xml, type Element } from '@xmpp/client';
import { logIn } from '../../adapters/xmpp/login.js';
import { ScramSha1 } from '../../adapters/xmpp/scram.js';
import type { Prosody } from './prosody.js';

export { xml, type Element };

/**
 * A plain XMPP user for tests (xmpp.js, no onebridge code): the person the bot talks to.
 * Records every stanza it receives; `waitFor` waits on arrivals, not on sleeps.
 */
export class XmppPeer {
  readonly stanzas: Element[] = [];
  /**
   * Every error xmpp.js reported on this peer's connection (a reset when the server dies, a
   * stream error): kept, not thrown, since a peer losing its server is what some tests do;
   * `waitFor` shows them when it gives up.
   */
  readonly errors: Error[] = [];
  readonly jid: string;
  readonly #client: ReturnType<typeof client>;
  #waiters: Array<() => void> = [];
  #seq = 0;

  private constructor(c: ReturnType<typeof client>, jid: string) {
    this.#client = c;
    this.jid = jid;
    c.on('stanza', (s: Element) => {
      this.stanzas.push(s);
      for (const w of this.#waiters.splice(0)) w();
    });
    c.on('error', (err: Error) => this.errors.push(err));
  }

  static async connect(server: Prosody, username: string, password: string, resource = 'peer'): Promise<XmppPeer> {
    const c = client({ service: server.service, domain: 'localhost', username, password, resource });
    c.reconnect.stop();
    // The adapter's SCRAM (node:crypto): xmpp.js's own takes ~2 s per login here.
    const scram = c.saslFactory._mechs.find((m) => m.name === ScramSha1.mechanismName);
    if (scram) scram.mech = ScramSha1;
    // Peers answer roster pushes like any client would (xmpp.js answers unknown iqs with an error).
    c.iqCallee.set('jabber:iq:roster', 'query', () => ({}));
    const peer = new XmppPeer(c, `${username}@localhost`);
    // Not c.start(): a reset while the stream opens would leave an unhandled rejection (see logIn).
    const login = new AbortController();
    try {
      await logIn(c, login.signal);
    } catch (err) {
      login.abort();
      await peer.close();
      throw err;
    }
    // Like any client: the roster first, so the server treats this resource as interested in
    // subscription presences (it delivers `subscribed` only to such resources).
    await c.iqCaller.get(xml('query', { xmlns: 'jabber:iq:roster' }));
    await c.send(xml('presence'));
    return peer;
  }

  get xmpp(): ReturnType<typeof client> {
    return this.#client;
  }

  nextId(): string {
    return `peer-${++this.#seq}-${Math.random().toString(36).slice(2, 8)}`;
  }

  send(el: Element): Promise<void> {
    return this.#client.send(el);
  }

  /** The first stanza (received from `since` on) that matches, waiting up to `ms`. */
  async waitFor(pred: (s: Element) => boolean, ms = 5000, what = 'stanza', since = 0): Promise<Element> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.stanzas.slice(since).find(pred);
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `${this.jid}: no ${what} within ${ms} ms; got:\n${this.stanzas.slice(-8).map(String).join('\n')}` +
            (this.errors.length ? `\nconnection errors: ${this.errors.map((e) => e.message).join('; ')}` : ''),
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Joins a room (no history) and waits for its self-presence (status 110). */
  async join(room: string, nick: string): Promise<void> {
    const since = this.stanzas.length;
    await this.send(
      xml(
        'presence',
        { to: `${room}/${nick}` },
        xml('x', { xmlns: 'http://jabber.org/protocol/muc' }, xml('history', { maxstanzas: '0' })),
      ),
    );
    await this.waitFor(
      (s) => s.is('presence') && s.attrs['from'] === `${room}/${nick}` && hasStatus(s, '110'),
      5000,
      `self-presence in ${room}`,
      since,
    );
  }

  async leave(room: string, nick: string): Promise<void> {
    await this.send(xml('presence', { to: `${room}/${nick}`, type: 'unavailable' }));
  }

  /** Sends a groupchat message; returns its id (also sent as XEP-0359 origin-id). */
  async groupchat(room: string, body: string, ...extra: Element[]): Promise<string> {
    const id = this.nextId();
    await this.send(
      xml(
        'message',
        { to: room, type: 'groupchat', id },
        xml('body', {}, body),
        xml('origin-id', { xmlns: 'urn:xmpp:sid:0', id }),
        ...extra,
      ),
    );
    return id;
  }

  async chat(to: string, body: string, ...extra: Element[]): Promise<string> {
    const id = this.nextId();
    await this.send(
      xml(
        'message',
        { to, type: 'chat', id },
        xml('body', {}, body),
        xml('origin-id', { xmlns: 'urn:xmpp:sid:0', id }),
        ...extra,
      ),
    );
    return id;
  }

  async close(): Promise<void> {
    const c = this.#client;
    if (c.status === 'offline') return;
    // Bounded: a frozen server must not hold a test's cleanup.
    await Promise.race([c.stop().catch(() => {}), new Promise((r) => setTimeout(r, 1000))]);
    const s = c.socket;
    if (typeof s?.destroy === 'function') s.destroy();
    else s?.socket?.destroy();
  }
}

export function hasStatus(s: Element, code: string): boolean {
  const x = s.getChild('x', 'http://jabber.org/protocol/muc#user');
  return !!x?.getChildren('status').some((st) => st.attrs['code'] === code);
}

/** A message's body, or undefined. */
export function bodyOf(s: Element): string | undefined {
  return s.is('message') ? (s.getChildText('body') ?? undefined) : undefined;
}
