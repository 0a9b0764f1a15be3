import { WebSocket } from 'ws';
import type { Account } from '../account.js';
import type { LimitsConfig, WsReverseConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { EventEncoder } from '../onebot/encoder.js';
import { heartbeatEvent, lifecycleEvent } from '../onebot/events.js';
import type { OneBotEvent } from '../onebot/types.js';
import { USER_AGENT } from '../package-info.js';
import type { NetworkPolicy } from '../policy/network-policy.js';
import type { Connection, ConnectionRegistry, Role } from '../registry.js';
import { HeldEvents } from './held-events.js';
import { OneBotSocket } from './onebot-socket.js';
import { ReconnectingLink } from './reconnecting-link.js';
import type { Transport } from './transport.js';

const CLIENT_ROLE: Readonly<Record<Role, string>> = { universal: 'Universal', api: 'API', event: 'Event' };

export interface WsReverseDeps {
  readonly account: Account;
  readonly registry: ConnectionRegistry;
  readonly encoder: EventEncoder;
  readonly logger: Logger;
  readonly limits: LimitsConfig;
  readonly policy?: NetworkPolicy | undefined;
  /** Tests pin the jitter. */
  readonly random?: () => number;
}

/**
 * One socket onebridge keeps open to a bot framework, in one role. Holds events while the
 * framework is away or not reading, sends lifecycle first and the held events next on every
 * (re)connect, pings to find half-open TCP, and serves actions like the forward server.
 */
class ReverseLink extends ReconnectingLink {
  readonly role: Role;
  readonly conn: Connection;
  readonly #url: string;
  readonly #config: WsReverseConfig;
  readonly #deps: WsReverseDeps;
  readonly #held: HeldEvents;
  #socket: OneBotSocket | undefined;
  #keepalive: NodeJS.Timeout | undefined;
  #missedPongs = 0;
  /** Dropped from the held store since the last connect, for the line that reports it. */
  #droppedAway = 0;

  constructor(url: string, role: Role, config: WsReverseConfig, key: string, deps: WsReverseDeps) {
    super({
      name: `${key} ${role}`,
      logger: deps.logger,
      reconnect: { initialMs: config.reconnect.initial_ms, maxMs: config.reconnect.max_ms },
      handshakeTimeoutMs: config.handshake_timeout_ms,
      maxPayloadBytes: config.max_payload_bytes,
      compression: config.compression,
      random: deps.random,
    });
    this.role = role;
    this.#url = url;
    this.#config = config;
    this.#deps = deps;
    this.#held = new HeldEvents({ maxEvents: config.buffer.max_events, maxAgeMs: config.buffer.max_age_ms });
    const target = new URL(url);
    this.conn = deps.registry.add({ transport: 'ws-reverse', role, endpoint: url, remote: target.host, selfId: deps.account.selfId, state: 'connecting' });
    this.conn.link = { reconnects: 0, held: () => this.#held.size, dropped: 0 };
  }

  get carriesEvents(): boolean {
    return this.role !== 'api';
  }

  protected prepare(): { url: string; headers: Record<string, string> } {
    const headers: Record<string, string> = {
      'X-Self-ID': String(this.#deps.account.selfId),
      'X-Client-Role': CLIENT_ROLE[this.role],
      'User-Agent': USER_AGENT,
    };
    if (this.#config.access_token) headers['Authorization'] = `Bearer ${this.#config.access_token}`;
    this.conn.state = 'connecting';
    this.conn.link!.reconnects = this.reconnects;
    return { url: this.#url, headers };
  }

  protected accept(ws: WebSocket): void {
    const { account, encoder, logger } = this.#deps;
    this.conn.state = 'open';
    this.conn.closing = () => ws.readyState === WebSocket.CLOSING;
    this.#socket = new OneBotSocket(ws, this.conn, { account, logger, policy: this.#deps.policy }, this.#config.message_format, { maxJsonDepth: this.#deps.limits.max_json_depth });
    ws.on('pong', () => {
      this.#missedPongs = 0;
    });
    this.#missedPongs = 0;
    const interval = this.#config.heartbeat_interval_ms;
    if (interval > 0) {
      this.#keepalive = setInterval(() => this.#tick(interval), interval);
    }
    if (!this.carriesEvents) return;
    // First frame: lifecycle. Then what was held, in order, before anything new.
    this.#socket.send(encoder.encode(lifecycleEvent(account.selfId, 'connect'), this.#config.message_format));
    const held = this.#held.drain();
    const aged = this.#held.takeDropped();
    this.conn.link!.dropped += aged;
    if (this.#deps.policy) this.#deps.policy.counts.dropped += aged;
    const dropped = this.#droppedAway + aged;
    this.#droppedAway = 0;
    if (held.length || dropped) logger.info(`${this.name}: delivering ${held.length} held event${held.length === 1 ? '' : 's'}${dropped ? `; ${dropped} dropped while away (buffer.max_events ${this.#config.buffer.max_events}, max_age_ms ${this.#config.buffer.max_age_ms})` : ''}`);
    for (const event of held) this.#sent(this.#socket.send(encoder.encode(event, this.#config.message_format)));
  }

  protected closed(): void {
    clearInterval(this.#keepalive);
    this.#keepalive = undefined;
    this.#socket = undefined;
    this.conn.closing = undefined;
    if (this.state === 'stopped') this.#deps.registry.remove(this.conn, 'stopped');
    else this.conn.state = 'connecting';
  }

  /** Heartbeat event and ping; a peer that missed two pongs is cut and redialled. */
  #tick(interval: number): void {
    const socket = this.#socket;
    if (!socket) return;
    if (this.#missedPongs >= 2) {
      this.logger.warn(`${this.name}: no pong for ${2 * interval} ms; reconnecting`);
      socket.ws.terminate();
      return;
    }
    this.#missedPongs++;
    socket.ws.ping();
    if (this.carriesEvents) this.deliver(heartbeatEvent(this.#deps.account.selfId, this.#deps.account.status(), interval));
  }

  /**
   * Sends now, or holds the event exactly as when the link is down: also while the socket is
   * closing (either side started it), when nothing sent would be read. A peer that never
   * finishes its close is cut after CLOSE_TIMEOUT_MS, and the held events go on the next link.
   */
  deliver(event: OneBotEvent): void {
    const socket = this.#socket;
    if (!socket || socket.ws.readyState !== WebSocket.OPEN) {
      this.#hold(event);
      return;
    }
    if (socket.ws.bufferedAmount > this.#config.max_buffered_bytes) {
      // The peer stopped reading: hold its events and recycle the socket, rather than let
      // its send buffer grow without bound.
      this.#hold(event);
      this.logger.warn(`${this.name}: peer is not reading (${socket.ws.bufferedAmount} bytes unsent > max_buffered_bytes); holding events and reconnecting`);
      socket.ws.terminate();
      return;
    }
    const ok = socket.send(this.#deps.encoder.encode(event, this.#config.message_format));
    this.#sent(ok);
    if (!ok) this.#hold(event);
  }

  #sent(ok: boolean): void {
    if (ok && this.#deps.policy) this.#deps.policy.counts.delivered++;
  }

  /** Held; one pushed out of a full store is counted as dropped now, so the registry shows it while away. */
  #hold(event: OneBotEvent): void {
    this.#held.push(event);
    const dropped = this.#held.takeDropped();
    if (dropped === 0) return;
    this.conn.link!.dropped += dropped;
    if (this.#deps.policy) this.#deps.policy.counts.dropped += dropped;
    this.#droppedAway += dropped;
  }

  /** For shutdown: a link that has no socket leaves the registry now. */
  forgetIfIdle(): void {
    if (!this.socket) this.#deps.registry.remove(this.conn, 'stopped');
  }
}

/**
 * OneBot v11 reverse WebSocket (`type: ws-reverse`): onebridge dials the framework. Universal
 * (one socket) unless `api_url`/`event_url` are set: then two sockets, API and Event.
 */
export class WsReverse implements Transport {
  readonly key: string;
  readonly #links: ReverseLink[];
  readonly #deps: WsReverseDeps;
  readonly #format: WsReverseConfig['message_format'];

  constructor(config: WsReverseConfig, key: string, deps: WsReverseDeps) {
    this.key = key;
    this.#deps = deps;
    this.#format = config.message_format;
    const split = Boolean(config.api_url || config.event_url);
    this.#links = split
      ? [new ReverseLink((config.api_url ?? config.url)!, 'api', config, key, deps), new ReverseLink((config.event_url ?? config.url)!, 'event', config, key, deps)]
      : [new ReverseLink(config.url!, 'universal', config, key, deps)];
  }

  async start(): Promise<void> {
    this.#deps.account.on('event', this.#onEvent);
    for (const link of this.#links) link.start();
    this.#deps.logger.info(`reverse WS for account ${this.#deps.account.selfId}: ${this.#links.map((l) => `${l.role} → ${l.conn.endpoint}`).join(', ')}`);
  }

  stopAccepting(): void {
    this.#deps.account.off('event', this.#onEvent);
    for (const link of this.#links) {
      link.stop();
      link.forgetIfIdle();
    }
  }

  abortPending(): number {
    let n = 0;
    for (const link of this.#links) if (link.abortConnecting()) n++;
    return n;
  }

  closeConnections(): void {
    for (const link of this.#links) {
      if (link.conn.state === 'open') link.conn.state = 'closing';
      link.close(1001, 'server shutting down');
    }
  }

  terminate(): number {
    let n = 0;
    for (const link of this.#links) if (link.terminate()) n++;
    return n;
  }

  readonly #onEvent = (event: OneBotEvent): void => {
    if (this.#deps.policy && !this.#deps.policy.admit(event, this.#format)) return;
    for (const link of this.#links) if (link.carriesEvents) link.deliver(event);
  };
}
