import { EventEmitter } from 'eventemitter3';
import type { TrackedLink } from './adapter.js';
import type { Logger } from './logger.js';

export type TransportKind = 'ws' | 'ws-reverse' | 'http' | 'sse' | 'http-post' | 'upstream';
export type Role = 'universal' | 'api' | 'event';
export type ConnectionState = 'connecting' | 'open' | 'closing';

/** A connection as `GET /connections` and `onebridge status` show it. */
export interface ConnectionInfo {
  id: number;
  transport: TransportKind;
  role: Role;
  /** The connection point it belongs to, e.g. `ws://127.0.0.1:6700`. */
  endpoint: string;
  remote: string;
  self_id: number;
  connected_at: string;
  state: ConnectionState;
  frames_in: number;
  frames_out: number;
  bytes_in: number;
  bytes_out: number;
  user_agent?: string;
  /** Links onebridge dials (reverse WS): reconnects so far, events held and dropped. */
  reconnects?: number;
  events_held?: number;
  events_dropped?: number;
  /** The relay's upstream link: actions waiting for its answer. */
  actions_in_flight?: number;
  /** Milliseconds since the client last answered a ping (forward WS keepalive). */
  last_pong_ms?: number;
  /** Actions refused by the entry's `actions:` policy (shown once there is one). */
  actions_refused?: number;
}

export interface ConnectionInit {
  transport: TransportKind;
  role: Role;
  endpoint: string;
  remote: string;
  selfId: number;
  userAgent?: string | undefined;
  state?: ConnectionState;
}

/** One tracked client connection. Transports update its counters and state in place. */
export class Connection {
  readonly id: number;
  readonly transport: TransportKind;
  readonly role: Role;
  readonly endpoint: string;
  readonly remote: string;
  /** Set once the account id is known (a relay may learn it after its link is tracked). */
  selfId: number;
  readonly userAgent: string | undefined;
  readonly connectedAt = new Date();
  #state: ConnectionState;
  readonly #onStateChange: ((conn: Connection) => void) | undefined;
  /** Set by transports that dial out and hold events; shown when defined. */
  link: { reconnects: number; held: () => number; dropped: number; inFlight?: () => number } | undefined;
  /** Events not sent because the client was not reading (forward WS, SSE). */
  eventsDropped = 0;
  /** When the client last answered a ping (ms since epoch). */
  lastPongAt: number | undefined;
  /** Actions refused by the entry's `actions:` policy. */
  actionsRefused = 0;
  /**
   * Set by transports whose socket can start closing without telling them (a peer's close
   * frame): read at snapshot time, it shows `closing` until the socket is gone.
   */
  closing: (() => boolean) | undefined;
  framesIn = 0;
  framesOut = 0;
  bytesIn = 0;
  bytesOut = 0;

  constructor(id: number, init: ConnectionInit, onStateChange?: (conn: Connection) => void) {
    this.id = id;
    this.transport = init.transport;
    this.role = init.role;
    this.endpoint = init.endpoint;
    this.remote = init.remote;
    this.selfId = init.selfId;
    this.userAgent = init.userAgent;
    this.#state = init.state ?? 'open';
    this.#onStateChange = onStateChange;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Transports set it in place; a change is announced (the registry's `changed` event). */
  set state(next: ConnectionState) {
    if (next === this.#state) return;
    this.#state = next;
    this.#onStateChange?.(this);
  }

  countIn(bytes: number): void {
    this.framesIn++;
    this.bytesIn += bytes;
  }

  countOut(bytes: number): void {
    this.framesOut++;
    this.bytesOut += bytes;
  }

  toJSON(): ConnectionInfo {
    const info: ConnectionInfo = {
      id: this.id,
      transport: this.transport,
      role: this.role,
      endpoint: this.endpoint,
      remote: this.remote,
      self_id: this.selfId,
      connected_at: this.connectedAt.toISOString(),
      state: this.closing?.() ? 'closing' : this.state,
      frames_in: this.framesIn,
      frames_out: this.framesOut,
      bytes_in: this.bytesIn,
      bytes_out: this.bytesOut,
    };
    if (this.userAgent) info.user_agent = this.userAgent;
    if (this.eventsDropped > 0) info.events_dropped = this.eventsDropped;
    if (this.lastPongAt !== undefined) info.last_pong_ms = Date.now() - this.lastPongAt;
    if (this.actionsRefused > 0) info.actions_refused = this.actionsRefused;
    if (this.link) {
      info.reconnects = this.link.reconnects;
      info.events_held = this.link.held();
      info.events_dropped = this.link.dropped;
      if (this.link.inFlight) info.actions_in_flight = this.link.inFlight();
    }
    return info;
  }
}

/**
 * Every live client connection of the process. Transports `add` where they accept and
 * `remove` in the connection's own close handler, so the registry is never ahead of or
 * behind the sockets. Connects and disconnects are logged here, with the live count.
 */
export class ConnectionRegistry extends EventEmitter<{
  added: [Connection];
  removed: [Connection];
  /** A tracked connection's `state` changed. */ changed: [Connection];
}> {
  readonly #items = new Map<number, Connection>();
  readonly #logger: Logger;
  readonly #refused = new Map<string, number>();
  #nextId = 1;

  constructor(logger: Logger) {
    super();
    this.#logger = logger;
  }

  get size(): number {
    return this.#items.size;
  }

  /** Connections that are clients of onebridge (everything but platform links). */
  get clients(): number {
    let n = 0;
    for (const c of this.#items.values()) if (c.transport !== 'upstream') n++;
    return n;
  }

  add(init: ConnectionInit): Connection {
    const conn = new Connection(this.#nextId++, init, (c) => this.emit('changed', c));
    this.#items.set(conn.id, conn);
    // A link onebridge dials is tracked from its first attempt; it logs its own connects.
    this.#logger.info(
      `${conn.state === 'connecting' ? 'tracking' : 'connected'} #${conn.id} ${conn.transport}/${conn.role} from ${conn.remote} on ${conn.endpoint} (account ${conn.selfId}); ${this.size} live`,
    );
    this.emit('added', conn);
    return conn;
  }

  /** Returns false when it was not registered (already removed): callers may race safely. */
  remove(conn: Connection, detail = ''): boolean {
    if (!this.#items.delete(conn.id)) return false;
    this.#logger.info(
      `disconnected #${conn.id} ${conn.transport}/${conn.role} from ${conn.remote}${detail ? ` (${detail})` : ''}; ${this.size} live`,
    );
    this.emit('removed', conn);
    return true;
  }

  /**
   * `conn` as the `TrackedLink` a ReconnectingLink keeps in step (state, reconnects); `close`
   * removes it, after `onClose`.
   */
  tracked(conn: Connection, onClose?: () => void): TrackedLink {
    return {
      get state() {
        return conn.state;
      },
      set state(value) {
        conn.state = value;
      },
      reconnected: () => {
        if (conn.link) conn.link.reconnects++;
      },
      countIn: (bytes) => conn.countIn(bytes),
      countOut: (bytes) => conn.countOut(bytes),
      close: (detail = 'closed') => {
        onClose?.();
        this.remove(conn, detail);
      },
    };
  }

  /** Count a request refused before it could become a connection (`origin`, `host`). */
  countRefused(reason: string): void {
    this.#refused.set(reason, (this.#refused.get(reason) ?? 0) + 1);
  }

  /** Requests refused so far by the request guards, by reason (see `countRefused`). */
  refusals(): Record<string, number> {
    return Object.fromEntries(this.#refused);
  }

  list(): Connection[] {
    return [...this.#items.values()];
  }

  snapshot(): ConnectionInfo[] {
    return this.list().map((c) => c.toJSON());
  }

  /**
   * Resolves true once no client connection is left, or false when `signal` aborts first.
   * Platform links (`upstream`) are not waited for: their adapters close them after clients.
   */
  whenEmpty(signal: AbortSignal): Promise<boolean> {
    if (this.clients === 0) return Promise.resolve(true);
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (result: boolean) => {
        this.off('removed', check);
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const check = () => {
        if (this.clients === 0) done(true);
      };
      const onAbort = () => done(false);
      this.on('removed', check);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
