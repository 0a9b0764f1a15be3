import { WebSocket } from 'ws';
import type { WsReverseConfig } from '../config/schema.js';
import { ReconnectingLink } from '../kit/link.js';
import { webSocketDialer } from '../kit/ws-dial.js';
import { heartbeatEvent, lifecycleEvent } from '../onebot/events.js';
import type { OneBotEvent } from '../onebot/types.js';
import { USER_AGENT } from '../package-info.js';
import type { Connection, Role } from '../registry.js';
import { HeldEvents } from './held-events.js';
import { OneBotSocket } from './onebot-socket.js';
import type { Transport, TransportDeps } from './transport.js';

const CLIENT_ROLE: Readonly<Record<Role, string>> = { universal: 'Universal', api: 'API', event: 'Event' };

export interface WsReverseDeps extends TransportDeps {
  /** Tests pin the jitter. */
  readonly random?: () => number;
}

/**
 * One socket onebridge keeps open to a bot framework, in one role, dialled and redialled by
 * the kit's ReconnectingLink. Holds events while the framework is away or not reading, sends
 * lifecycle first and the held events next on every (re)connect, pings to find half-open TCP,
 * and serves actions like the forward server.
 */
class ReverseLink {
  readonly name: string;
  readonly role: Role;
  readonly conn: Connection;
  readonly link: ReconnectingLink<WebSocket>;
  readonly #config: WsReverseConfig;
  readonly #deps: WsReverseDeps;
  readonly #held: HeldEvents;
  #socket: OneBotSocket | undefined;
  #keepalive: NodeJS.Timeout | undefined;
  #missedPongs = 0;
  /** Dropped from the held store since the last connect, for the line that reports it. */
  #droppedAway = 0;
  /** What the last connect delivered, logged after the link's "connected" line. */
  #delivered: { held: number; dropped: number } | undefined;

  constructor(url: string, role: Role, config: WsReverseConfig, key: string, deps: WsReverseDeps) {
    this.name = `${key} ${role}`;
    this.role = role;
    this.#config = config;
    this.#deps = deps;
    this.#held = new HeldEvents({ maxEvents: config.buffer.max_events, maxAgeMs: config.buffer.max_age_ms });
    this.conn = deps.registry.add({
      transport: 'ws-reverse',
      role,
      endpoint: url,
      remote: new URL(url).host,
      selfId: deps.account.selfId,
      state: 'connecting',
    });
    this.conn.link = { reconnects: 0, held: () => this.#held.size, dropped: 0 };
    this.link = new ReconnectingLink<WebSocket>({
      name: this.name,
      logger: deps.logger,
      reconnect: { initialMs: config.reconnect.initial_ms, maxMs: config.reconnect.max_ms },
      random: deps.random,
      track: deps.registry.tracked(this.conn),
      ...webSocketDialer({
        url,
        headers: () => this.#headers(),
        handshakeTimeoutMs: config.handshake_timeout_ms,
        maxPayloadBytes: config.max_payload_bytes,
        compression: config.compression,
        goodbye: { code: 1001, reason: 'server shutting down' },
        opening: (ws) => this.#accept(ws),
      }),
      onOpen: () => this.#reportDelivered(),
    });
  }

  get carriesEvents(): boolean {
    return this.role !== 'api';
  }

  #headers(): Record<string, string> {
    const headers: Record<string, string> = {
      'X-Self-ID': String(this.#deps.account.selfId),
      'X-Client-Role': CLIENT_ROLE[this.role],
      'User-Agent': USER_AGENT,
    };
    if (this.#config.access_token) headers['Authorization'] = `Bearer ${this.#config.access_token}`;
    return headers;
  }

  /** In the socket's open event, before the peer's first frame can arrive. */
  #accept(ws: WebSocket): void {
    // Opened as shutdown began: the link cuts it; held events stay held, not sent into it.
    if (this.link.state === 'stopped') return;
    const { account, encoder } = this.#deps;
    this.conn.closing = () => ws.readyState === WebSocket.CLOSING;
    const socket = new OneBotSocket(
      ws,
      this.conn,
      { account, logger: this.#deps.logger, policy: this.#deps.policy },
      this.#config.message_format,
      { maxJsonDepth: this.#deps.limits.max_json_depth },
    );
    this.#socket = socket;
    ws.once('close', () => this.#detach(socket));
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
    socket.send(encoder.encode(lifecycleEvent(account.selfId, 'connect'), this.#config.message_format));
    const held = this.#held.drain();
    const aged = this.#held.takeDropped();
    this.conn.link!.dropped += aged;
    if (this.#deps.policy) this.#deps.policy.counts.dropped += aged;
    this.#delivered = { held: held.length, dropped: this.#droppedAway + aged };
    this.#droppedAway = 0;
    for (const event of held) this.#sent(socket.send(encoder.encode(event, this.#config.message_format)));
  }

  #reportDelivered(): void {
    const delivered = this.#delivered;
    this.#delivered = undefined;
    if (!delivered || (!delivered.held && !delivered.dropped)) return;
    const { held, dropped } = delivered;
    this.#deps.logger.info(
      `${this.name}: delivering ${held} held event${held === 1 ? '' : 's'}${dropped ? `; ${dropped} dropped while away (buffer.max_events ${this.#config.buffer.max_events}, max_age_ms ${this.#config.buffer.max_age_ms})` : ''}`,
    );
  }

  #detach(socket: OneBotSocket): void {
    if (this.#socket !== socket) return;
    clearInterval(this.#keepalive);
    this.#keepalive = undefined;
    this.#socket = undefined;
    this.conn.closing = undefined;
  }

  /** Heartbeat event and ping; a peer that missed two pongs is cut and redialled. */
  #tick(interval: number): void {
    const socket = this.#socket;
    if (!socket) return;
    if (this.#missedPongs >= 2) {
      this.#deps.logger.warn(`${this.name}: no pong for ${2 * interval} ms; reconnecting`);
      socket.ws.terminate();
      return;
    }
    this.#missedPongs++;
    socket.ws.ping();
    if (this.carriesEvents)
      this.deliver(heartbeatEvent(this.#deps.account.selfId, this.#deps.account.status(), interval));
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
      this.#deps.logger.warn(
        `${this.name}: peer is not reading (${socket.ws.bufferedAmount} bytes unsent > max_buffered_bytes); holding events and reconnecting`,
      );
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
      ? [
          new ReverseLink((config.api_url ?? config.url)!, 'api', config, key, deps),
          new ReverseLink((config.event_url ?? config.url)!, 'event', config, key, deps),
        ]
      : [new ReverseLink(config.url!, 'universal', config, key, deps)];
  }

  async start(): Promise<void> {
    this.#deps.account.on('event', this.#onEvent);
    for (const { link } of this.#links) link.start();
    this.#deps.logger.info(
      `reverse WS for account ${this.#deps.account.selfId}: ${this.#links.map((l) => `${l.role} → ${l.conn.endpoint}`).join(', ')}`,
    );
  }

  stopAccepting(): void {
    this.#deps.account.off('event', this.#onEvent);
    // A link that is only waiting to retry leaves the registry now.
    for (const { link } of this.#links) link.stopRetrying();
  }

  abortPending(): number {
    let n = 0;
    for (const { link } of this.#links) if (link.abortAttempt()) n++;
    return n;
  }

  closeConnections(): void {
    // The app bounds the wait (grace_ms), then terminate() cuts what is left.
    for (const { link } of this.#links) void link.goodbye();
  }

  terminate(): number {
    let n = 0;
    for (const { link } of this.#links) if (link.cut()) n++;
    return n;
  }

  readonly #onEvent = (event: OneBotEvent): void => {
    if (this.#deps.policy && !this.#deps.policy.admit(event, this.#format)) return;
    for (const link of this.#links) if (link.carriesEvents) link.deliver(event);
  };
}
