import type { WebSocket } from 'ws';
import { onCleanup, type Cleanups } from './cleanups.js';
import { Framework } from './framework.js';

export interface StubUpstreamOptions<F> {
  /** Gets every frame the relay sends, parsed, and the socket it came on; answers on `ws`, or not at all. */
  answer?: (frame: F, ws: WebSocket) => void;
  /** Greet each connection with a lifecycle connect event for 10001, as implementations do; default true. */
  lifecycle?: boolean;
  /** Listen on this port instead of a free one (to come up where a relay already dials). */
  port?: number;
}

/**
 * A stub OneBot implementation for the relay adapter to dial (upstream `mode: ws`): a Framework
 * on 127.0.0.1 whose every connection is greeted with a lifecycle connect event for self_id
 * 10001 (unless `lifecycle: false`) and has each frame it receives handed to `answer`. Closed
 * through `cleanups`. The Framework records connections and frames as always (`connection(i)`,
 * `until`), and a test may still send events on `connection(i).ws` itself.
 *
 * It answers nothing by itself, get_login_info included: an action `answer` ignores is never
 * answered. It sends no heartbeats, checks no token and does not validate frames (`F` is a
 * cast, like the JSON.parse it stands for).
 */
export async function stubUpstream<F = Record<string, unknown>>(
  cleanups: Cleanups,
  options: StubUpstreamOptions<F> = {},
): Promise<Framework> {
  const f = await Framework.start(options.port === undefined ? {} : { port: options.port });
  onCleanup(cleanups, () => f.close());
  f.wss.on('connection', (ws) => {
    if (options.lifecycle ?? true)
      ws.send(
        JSON.stringify({
          time: 1,
          self_id: 10001,
          post_type: 'meta_event',
          meta_event_type: 'lifecycle',
          sub_type: 'connect',
        }),
      );
    const answer = options.answer;
    if (answer) ws.on('message', (d) => answer(JSON.parse(d.toString()) as F, ws));
  });
  return f;
}
