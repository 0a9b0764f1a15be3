import { WebSocket } from 'ws';
import type { Logger } from '../../src/logger.js';
import { withArrayMessage } from '../../src/kit/index.js';
import { ActionError } from '../../src/onebot/params.js';
import type { ActionRequest, ActionResponse, OneBotEvent } from '../../src/onebot/types.js';
import { depthMessage, parseUntrustedJson } from '../../src/untrusted-json.js';

/** Documented relay retcodes, after the HTTP statuses they mean (as 1400/1404 are). */
export const RelayRetcode = {
  /** The upstream link is down (or went down while the action waited). */
  UPSTREAM_DOWN: 1503,
  /** Upstream's answer could not be read (nested deeper than `limits.max_json_depth`). */
  BAD_UPSTREAM_ANSWER: 1502,
  /** Upstream did not answer within `action_timeout_ms`. */
  UPSTREAM_TIMEOUT: 1504,
} as const;

interface Pending {
  readonly action: string;
  readonly resolve: (res: Omit<ActionResponse, 'echo'>) => void;
  readonly timer: NodeJS.Timeout;
}

const down = (message: string) => ({ status: 'failed' as const, retcode: RelayRetcode.UPSTREAM_DOWN, data: null, message, wording: message });

/**
 * The OneBot conversation over the current upstream socket: actions go out with onebridge's
 * own echo and their answers come back to the caller that sent them; events come in and are
 * normalised (string messages parsed to segments) before they reach onebridge's clients.
 * Upstream lifecycle and heartbeat events are consumed here. It does not dial or listen.
 */
export class UpstreamChannel {
  readonly #pending = new Map<string, Pending>();
  readonly #onEvent: (event: OneBotEvent) => void;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  readonly #maxJsonDepth: number;
  #ws: WebSocket | undefined;
  #next = 1;
  /** What the upstream's last heartbeat said of its own platform connection. */
  upstreamOnline = true;
  /** Told the size of each frame sent upstream (for the registry's traffic counts). */
  onSent: ((bytes: number) => void) | undefined;

  constructor(onEvent: (event: OneBotEvent) => void, logger: Logger, timeoutMs: number, maxJsonDepth: number) {
    this.#onEvent = onEvent;
    this.#logger = logger;
    this.#timeoutMs = timeoutMs;
    this.#maxJsonDepth = maxJsonDepth;
  }

  get connected(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  get inFlight(): number {
    return this.#pending.size;
  }

  attach(ws: WebSocket): void {
    this.#ws = ws;
    // A new link says nothing yet of the platform: don't keep a stale "offline" from the last one.
    this.upstreamOnline = true;
    ws.on('message', (data, isBinary) => {
      if (this.#ws !== ws || isBinary) return;
      try {
        this.#onFrame(data.toString());
      } catch (err) {
        // A bug of ours on upstream input: this link goes (and is redialled), not the process.
        this.#logger.error(`upstream link closed with 1011: internal error handling its frame: ${(err as Error).message}`, { stack: (err as Error).stack });
        if (ws.readyState === WebSocket.OPEN) ws.close(1011, 'internal error');
      }
    });
  }

  /** The socket is gone: every action still waiting fails now, not at its timeout. */
  detach(reason: string): void {
    this.#ws = undefined;
    for (const [echo, p] of this.#pending) {
      clearTimeout(p.timer);
      p.resolve(down(`upstream ${reason} before answering ${p.action}`));
      this.#pending.delete(echo);
    }
  }

  call(req: ActionRequest): Promise<Omit<ActionResponse, 'echo'>> {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) throw new ActionError(RelayRetcode.UPSTREAM_DOWN, `upstream is not connected; ${req.action} was not sent`);
    const echo = `onebridge:${this.#next++}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(echo);
        const message = `upstream did not answer ${req.action} within ${this.#timeoutMs} ms (action_timeout_ms)`;
        resolve({ status: 'failed', retcode: RelayRetcode.UPSTREAM_TIMEOUT, data: null, message, wording: message });
      }, this.#timeoutMs);
      this.#pending.set(echo, { action: req.action, resolve, timer });
      const frame = JSON.stringify({ action: req.action, params: req.params, echo });
      ws.send(frame);
      this.onSent?.(Buffer.byteLength(frame));
    });
  }

  #onFrame(text: string): void {
    const parsed = parseUntrustedJson(text, this.#maxJsonDepth, { wantEcho: true });
    if (!parsed.ok) {
      if (parsed.reason === 'syntax') {
        this.#logger.warn(`upstream sent a frame that is not JSON (${text.slice(0, 80)}); ignored`);
        return;
      }
      // An answer we cannot read still settles its action now, rather than at its timeout.
      const echo = parsed.echo;
      const pending = typeof echo === 'string' ? this.#pending.get(echo) : undefined;
      this.#logger.warn(`${depthMessage('a frame from upstream', this.#maxJsonDepth)}; ${pending ? `${pending.action} fails with ${RelayRetcode.BAD_UPSTREAM_ANSWER}` : 'ignored'}`);
      if (pending) {
        const message = depthMessage(`upstream's answer to ${pending.action}`, this.#maxJsonDepth);
        this.#settle(echo as string, pending, { status: 'failed', retcode: RelayRetcode.BAD_UPSTREAM_ANSWER, data: null, message, wording: message });
      }
      return;
    }
    const frame = parsed.value as Record<string, unknown>;
    if (typeof frame !== 'object' || frame === null) return;
    if (typeof frame['post_type'] === 'string') return this.#event(frame as OneBotEvent);
    const echo = frame['echo'];
    const pending = typeof echo === 'string' ? this.#pending.get(echo) : undefined;
    if (!pending) return;
    const { echo: _ours, ...res } = frame;
    this.#settle(echo as string, pending, { status: 'failed', retcode: 0, data: null, message: '', wording: '', ...(res as Partial<ActionResponse>) } as Omit<ActionResponse, 'echo'>);
  }

  #settle(echo: string, pending: Pending, answer: Omit<ActionResponse, 'echo'>): void {
    this.#pending.delete(echo);
    clearTimeout(pending.timer);
    pending.resolve(answer);
  }

  #event(event: OneBotEvent): void {
    if (event.post_type === 'meta_event') {
      // onebridge sends its own lifecycle and heartbeats; upstream's tell us its state.
      const status = event['status'] as { online?: unknown } | undefined;
      if (event['meta_event_type'] === 'heartbeat' && status && typeof status.online === 'boolean') this.upstreamOnline = status.online;
      return;
    }
    this.#onEvent(withArrayMessage(event));
  }
}
