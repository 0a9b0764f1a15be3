// The part of xmpp.js (`@xmpp/client` 0.14, plain JavaScript without bundled types) that
// onebridge uses. Written here rather than pulling DefinitelyTyped's 34 type packages.
declare module '@xmpp/client' {
  import type { EventEmitter } from 'node:events';
  import type { Socket } from 'node:net';

  /** An ltx element: a stanza or one of its children. */
  export interface Element {
    name: string;
    attrs: Record<string, string | undefined>;
    children: Array<Element | string>;
    parent: Element | null;
    is(name: string, xmlns?: string): boolean;
    getName(): string;
    getNS(): string | undefined;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildText(name: string, xmlns?: string): string | null;
    getChildElements(): Element[];
    getText(): string;
    text(): string;
    toString(): string;
  }

  export type Child = Element | string | undefined | null | false;
  export function xml(
    name: string,
    attrs?: Record<string, string | undefined> | null,
    ...children: Array<Child | Child[]>
  ): Element;

  export interface JID {
    local: string;
    domain: string;
    resource: string;
    bare(): JID;
    toString(): string;
  }
  export function jid(address: string): JID;

  export type Status =
    | 'offline'
    | 'connecting'
    | 'connect'
    | 'opening'
    | 'open'
    | 'online'
    | 'closing'
    | 'close'
    | 'disconnecting'
    | 'disconnect';

  export interface IqCaller {
    request(stanza: Element, timeout?: number): Promise<Element>;
    /** The requests waiting for an answer, by stanza id (0.14: each holds a timeout timer). */
    handlers?: Map<string, { reject(err: Error): void }>;
    get(child: Element, to?: string, timeout?: number): Promise<Element>;
    set(child: Element, to?: string, timeout?: number): Promise<Element>;
  }

  export interface IqCallee {
    get(
      ns: string,
      name: string,
      handler: (ctx: {
        stanza: Element;
        element: Element;
      }) => Element | Record<string, never> | Promise<Element | Record<string, never>>,
    ): void;
    set(
      ns: string,
      name: string,
      handler: (ctx: {
        stanza: Element;
        element: Element;
      }) => Element | Record<string, never> | Promise<Element | Record<string, never>>,
    ): void;
  }

  export interface Client extends EventEmitter {
    status: Status;
    jid: JID | null;
    /** A net.Socket for plain xmpp://; over TLS (xmpps:// or after STARTTLS) @xmpp/tls's wrapper, its TLSSocket in `socket`. */
    socket: { destroy?(): void; socket?: Socket | null } | null;
    timeout: number;
    reconnect: { stop(): void };
    iqCaller: IqCaller;
    iqCallee: IqCallee;
    /** saslmechanisms' factory: entries in priority order; `mech` is instantiated per login. */
    saslFactory: { _mechs: Array<{ name: string; mech: new () => object }> };
    options: Options & { lang?: string };
    start(): Promise<JID>;
    /** start()'s first half: the socket (resolves on connect). */
    connect(service: string): Promise<void>;
    /** start()'s second half: sends the stream header; resolves with the server's. */
    open(options: { domain?: string; lang?: string }): Promise<Element>;
    stop(): Promise<unknown>;
    send(element: Element): Promise<void>;
  }

  export interface Options {
    service: string;
    domain?: string;
    username?: string;
    password?: string;
    resource?: string;
    timeout?: number;
  }
  export function client(options: Options): Client;
}
