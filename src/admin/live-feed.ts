import type { LogRing } from '../log-ring.js';
import type { ConnectionRegistry } from '../registry.js';
import type { AdminRoute } from './route.js';

/** Counters (traffic, age, last pong) change all the time: a fresh table this often. */
const TICK_MS = 1000;
/** Connects and disconnects within this window go out as one table. */
const COALESCE_MS = 25;

export interface LiveFeedDeps {
  readonly registry: ConnectionRegistry;
  readonly logs: LogRing;
  /** What `GET /status` answers (accounts with their online state, refusals, uptime). */
  readonly status: () => Record<string, unknown>;
  /** Descriptors open and the limit, client sockets against their budget (as `GET /connections`). */
  readonly fds: () => Record<string, unknown>;
}

/**
 * `GET /events`: the dashboard's feed, as server-sent events. `snapshot` carries every
 * connection, the status and the descriptor budget; it goes out at once, within `COALESCE_MS` of a connect, a
 * disconnect or a state change, and every `TICK_MS`. `logs` carries the recent lines once, then `log` each new
 * one. Timers and listeners live exactly as long as the reader.
 */
export function liveFeed(deps: LiveFeedDeps): AdminRoute {
  return {
    method: 'GET',
    path: '/events',
    handle: () => ({
      stream: (send, signal) => {
        let pending: NodeJS.Timeout | undefined;
        const snapshot = () => {
          pending = undefined;
          send('snapshot', {
            at: new Date().toISOString(),
            connections: deps.registry.snapshot(),
            status: deps.status(),
            fds: deps.fds(),
          });
        };
        const soon = () => {
          pending ??= setTimeout(snapshot, COALESCE_MS);
        };
        const tick = setInterval(snapshot, TICK_MS);
        deps.registry.on('added', soon);
        deps.registry.on('removed', soon);
        deps.registry.on('changed', soon);
        send('logs', deps.logs.lines());
        const unsubscribe = deps.logs.subscribe((line) => send('log', line));
        snapshot();
        signal.addEventListener(
          'abort',
          () => {
            clearInterval(tick);
            clearTimeout(pending);
            deps.registry.off('added', soon);
            deps.registry.off('removed', soon);
            deps.registry.off('changed', soon);
            unsubscribe();
          },
          { once: true },
        );
      },
    }),
  };
}
