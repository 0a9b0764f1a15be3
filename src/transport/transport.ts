import type { Account } from '../account.js';
import type { LimitsConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { EventEncoder } from '../onebot/encoder.js';
import type { NetworkPolicy } from '../policy/network-policy.js';
import type { ConnectionRegistry } from '../registry.js';

/** What the app hands every transport it creates. */
export interface TransportDeps {
  /** The account this entry serves: its actions, and the events it emits. */
  readonly account: Account;
  readonly registry: ConnectionRegistry;
  /** Encodes each event once per message format, shared by every client. */
  readonly encoder: EventEncoder;
  readonly logger: Logger;
  /** Process-wide input limits (`limits:`). */
  readonly limits: LimitsConfig;
  /** The entry's filter, action permissions and counters; none = everything passes. */
  readonly policy?: NetworkPolicy | undefined;
}

/**
 * A client-facing connection point: forward WS, HTTP API (+ SSE), reverse WS, HTTP POST, admin.
 * The app drives every transport through the same shutdown phases, all transports at once
 * per phase, so one slow transport cannot delay another's close frames:
 *   1. stopAccepting  — refuse new clients (503) and close listeners;
 *   2. abortPending   — destroy sockets still in handshake or auth, or that never sent a request;
 *   3. closeConnections — ask each open connection to close (WebSocket 1001);
 *   4. (the app waits until the registry is empty or the grace deadline passes)
 *   5. terminate      — cut whatever is left.
 * Every phase is idempotent and synchronous: none may wait on a peer.
 */
export interface Transport {
  /** Config key of the entry, e.g. `network[0]`, used in errors and logs. */
  readonly key: string;
  start(): Promise<void>;
  stopAccepting(): void;
  abortPending(): number;
  closeConnections(): void;
  /**
   * Optional: for work that is not a registered connection (admin requests in flight).
   * Resolves true when none is left, false when `signal` aborts first.
   */
  whenDrained?(signal: AbortSignal): Promise<boolean>;
  terminate(): number;
}
