import type { Client, Element } from '@xmpp/client';
import { DeadlineError, OneBridgeError, withDeadline, type Logger } from '../../src/kit/index.js';
import { logIn } from './login.js';
import { ScramSha1 } from './scram.js';
import { NS, parseJid, parseRoster, type RosterItem, type XmlFactory } from './stanza.js';

type XmppLibrary = typeof import('@xmpp/client');

let library: Promise<XmppLibrary> | undefined;

/**
 * Destroys the client's socket now. Over TLS xmpp.js holds the TLSSocket inside a wrapper
 * (`@xmpp/tls` Socket, also after STARTTLS) that has no `destroy()` of its own.
 */
function cutSocket(client: Client): void {
  const s = client.socket;
  if (!s) return;
  if (typeof s.destroy === 'function') s.destroy();
  else s.socket?.destroy();
}

/**
 * xmpp.js, imported on first use: it costs ~280 ms and ~3 MiB at import, which users of other
 * adapters never pay. Only an xmpp account's start calls this.
 */
export function loadXmpp(): Promise<XmppLibrary> {
  library ??= import('@xmpp/client');
  return library;
}

export interface SessionOptions {
  readonly service: string;
  readonly domain: string;
  readonly username: string;
  readonly password: string;
  readonly resource: string;
  /** Connect + TLS + login + bind must finish within this; also each iq's answer. */
  readonly timeoutMs: number;
  /** XEP-0199 ping interval; 0 = none. An unanswered ping ends the session. */
  readonly pingIntervalMs: number;
  readonly logger: Logger;
  /** Every stanza received, after the session is online. */
  readonly onStanza: (stanza: Element) => void;
  /** RFC 6121 roster pushes (answered here); only from our own account, others are refused. */
  readonly onRosterPush?: (items: RosterItem[]) => void;
  readonly onBytesIn?: (bytes: number) => void;
  readonly onBytesOut?: (bytes: number) => void;
}

/** The server refused our credentials: retrying sooner cannot help. */
export class XmppAuthError extends OneBridgeError {
  constructor(message: string, options?: ErrorOptions) {
    super('ONEBRIDGE_XMPP_AUTH', message, options);
  }
}

/** The server's TLS certificate is not trusted: retrying sooner cannot help either. */
export class XmppTlsError extends OneBridgeError {
  constructor(message: string, options?: ErrorOptions) {
    super('ONEBRIDGE_XMPP_TLS', message, options);
  }
}

const CERT_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

/**
 * One connection to the XMPP server, from connect to close: never reconnects by itself (the
 * adapter's link decides when to try again), so there is exactly one socket per session.
 * `closed` resolves once, when the connection is gone for whatever reason; `close()` is bounded
 * and idempotent: a polite end of stream, then the socket is destroyed whatever the server does.
 */
export class XmppSession {
  readonly xml: XmlFactory;
  /** The full JID the server bound. */
  readonly jid: string;
  readonly closed: Promise<string>;
  readonly #client: Client;
  readonly #opts: SessionOptions;
  #ping: NodeJS.Timeout | undefined;
  #streamError: string | undefined;
  /** The socket's error (`read ECONNRESET`): xmpp.js's 'disconnect' does not carry it. */
  #socketError: string | undefined;
  #done = false;
  #markClosed!: (why: string) => void;
  /** Fails the iq requests still waiting for an answer: called once, when the connection ends. */
  readonly #waiting = new Set<(err: Error) => void>();

  private constructor(lib: XmppLibrary, client: Client, jid: string, opts: SessionOptions) {
    this.xml = lib.xml;
    this.#client = client;
    this.jid = jid;
    this.#opts = opts;
    this.closed = new Promise((resolve) => (this.#markClosed = resolve));
  }

  /** Connects and logs in, within `timeoutMs`; rejects (XmppAuthError for bad credentials) and leaves nothing open. */
  static async open(opts: SessionOptions, signal: AbortSignal): Promise<XmppSession> {
    const lib = await loadXmpp();
    const client = lib.client({
      service: opts.service,
      domain: opts.domain,
      username: opts.username,
      password: opts.password,
      resource: opts.resource,
      timeout: opts.timeoutMs,
    });
    // One socket per session: the link owns retries, not xmpp.js.
    client.reconnect.stop();
    // Our SCRAM-SHA-1 (node:crypto) in place of xmpp.js's, which takes seconds per login.
    const scram = client.saslFactory._mechs.find((m) => m.name === ScramSha1.mechanismName);
    if (scram) scram.mech = ScramSha1;
    let lastError: Error | undefined;
    // xmpp.js emits 'error' for socket and stream errors; unheard, an EventEmitter would throw.
    client.on('error', (err: Error) => {
      lastError = err;
      opts.logger.debug(`xmpp: ${err.message}`);
    });
    client.iqCallee.set(NS.ROSTER, 'query', ({ stanza, element }) => {
      const from = stanza.attrs['from'];
      // A push from anyone but our own account would let them edit our friend list.
      if (from && parseJid(from).bare !== `${opts.username}@${opts.domain}`.toLowerCase())
        throw new Error('roster push from a foreign JID');
      opts.onRosterPush?.(parseRoster(element));
      return {};
    });
    client.on('element', (el: Element) => opts.onBytesIn?.(Buffer.byteLength(el.toString())));
    client.on('send', (el: Element) => opts.onBytesOut?.(Buffer.byteLength(el.toString())));
    let session: XmppSession | undefined;
    // Ends logIn's wait for `online` when the attempt fails for any reason (deadline, abort, error).
    const login = new AbortController();
    try {
      const address = await withDeadline(logIn(client, login.signal), opts.timeoutMs, signal, {
        what: `XMPP login to ${opts.service}`,
      });
      session = new XmppSession(lib, client, address.toString(), opts);
    } catch (err) {
      login.abort();
      client.removeAllListeners('element');
      client.on('error', () => {});
      cutSocket(client);
      const cause = lastError ?? (err as Error);
      if ((cause as { condition?: string }).condition === 'not-authorized' || /not-authorized/.test(cause.message))
        throw new XmppAuthError(
          `the server refused ${opts.username}@${opts.domain}'s password (not-authorized); check username, domain and password`,
          { cause },
        );
      const code = (cause as { code?: string }).code ?? '';
      if (CERT_ERROR.test(code))
        throw new XmppTlsError(
          `the server's TLS certificate is not trusted (${code}); if it is self-signed or from a private CA, start onebridge with NODE_EXTRA_CA_CERTS=/path/to/ca.pem`,
          { cause },
        );
      if (err instanceof DeadlineError) throw err;
      throw new OneBridgeError(
        'ONEBRIDGE_XMPP_CONNECT',
        `cannot connect to ${opts.service}: ${(cause as { code?: string }).code ?? cause.message}`,
        { cause },
      );
    }
    session.#watch();
    return session;
  }

  get online(): boolean {
    return !this.#done && this.#client.status === 'online';
  }

  #watch(): void {
    const c = this.#client;
    c.on('stanza', (s: Element) => {
      if (this.#done) return;
      try {
        this.#opts.onStanza(s);
      } catch (err) {
        this.#opts.logger.error(`xmpp: handling a stanza failed: ${(err as Error).message}`, {
          stack: (err as Error).stack,
        });
      }
    });
    c.on('error', (err: Error & { condition?: string }) => {
      // A stream error ends the stream: say why (conflict = another client took our resource).
      if (err.name === 'StreamError' && !this.#done) {
        this.#streamError = err.condition ?? err.message;
        const hint =
          err.condition === 'conflict'
            ? `: another client logged in as ${this.jid}; give each onebridge its own resource`
            : '';
        this.#opts.logger.warn(`xmpp: the server ended the stream: ${this.#streamError}${hint}`);
      } else if ((err as NodeJS.ErrnoException).syscall !== undefined) this.#socketError ??= err.message;
    });
    c.on('disconnect', (info?: { reason?: Error }) =>
      this.#end(
        this.#streamError
          ? `stream error: ${this.#streamError}`
          : info?.reason || this.#socketError
            ? `connection lost (${info?.reason?.message ?? this.#socketError})`
            : 'connection closed by the server',
      ),
    );
    c.on('offline', () => this.#end('offline'));
    if (this.#opts.pingIntervalMs > 0) {
      this.#ping = setInterval(() => {
        this.iq(this.xml('iq', { type: 'get', to: this.#opts.domain }, this.xml('ping', { xmlns: NS.PING }))).catch(
          (err: Error) => {
            if (this.#done) return;
            this.#opts.logger.warn(`xmpp: the server did not answer a ping (${err.message}); reconnecting`);
            this.#end('ping timeout');
            cutSocket(c);
          },
        );
      }, this.#opts.pingIntervalMs);
    }
  }

  #end(why: string): void {
    if (this.#done) return;
    this.#done = true;
    clearInterval(this.#ping);
    this.#ping = undefined;
    this.#markClosed(why);
    for (const fail of this.#waiting)
      fail(new OneBridgeError('ONEBRIDGE_XMPP_DOWN', `the XMPP connection closed before the server answered (${why})`));
    this.#waiting.clear();
  }

  /** Sends one stanza; rejects when the connection is gone. */
  async send(stanza: Element): Promise<void> {
    if (this.#done) throw new OneBridgeError('ONEBRIDGE_XMPP_DOWN', 'the XMPP connection is closed');
    await this.#client.send(stanza);
  }

  /**
   * An iq request and its result, within `timeoutMs`; an error answer rejects with its condition.
   * A connection that ends first rejects it at once (ONEBRIDGE_XMPP_DOWN): xmpp.js would wait
   * out the timeout for an answer that can no longer come.
   */
  async iq(stanza: Element, timeoutMs = this.#opts.timeoutMs): Promise<Element> {
    if (this.#done) throw new OneBridgeError('ONEBRIDGE_XMPP_DOWN', 'the XMPP connection is closed');
    const caller = this.#client.iqCaller;
    const answer = caller.request(stanza, timeoutMs);
    const id = String(stanza.attrs['id']); // request() gives it one before it first waits
    let fail!: (err: Error) => void;
    const cut = new Promise<never>((_resolve, reject) => {
      fail = (err) => {
        reject(err);
        // Settles xmpp.js's own wait too, so its timeout timer goes now, not in timeoutMs.
        caller.handlers?.get(id)?.reject(err);
      };
    });
    this.#waiting.add(fail);
    try {
      return await Promise.race([answer, cut]);
    } finally {
      this.#waiting.delete(fail);
      answer.catch(() => undefined);
    }
  }

  /** Answers iq `set` requests of a namespace (roster pushes). */
  onIqSet(ns: string, name: string, handler: (stanza: Element, element: Element) => void): void {
    this.#client.iqCallee.set(ns, name, ({ stanza, element }) => {
      handler(stanza, element);
      return {};
    });
  }

  /**
   * The polite end: `</stream:stream>` and the server's answer. Unbounded by itself: the link
   * bounds it and then calls `destroy()`, so a frozen server cannot hold shutdown.
   */
  async goodbye(): Promise<void> {
    const c = this.#client;
    const wasOnline = !this.#done && c.status === 'online';
    this.#end('closed by onebridge');
    // xmpp.js waits `timeout` for each of stream end and socket close; keep its timers short.
    c.timeout = 500;
    if (wasOnline) await c.stop();
  }

  /** Cuts the socket now. Idempotent. */
  destroy(): void {
    this.#end('closed by onebridge');
    cutSocket(this.#client);
  }
}
