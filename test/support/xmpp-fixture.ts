import { slow } from './slow.js';
import type { TestClient } from './app.js';
import type { Prosody } from './prosody.js';

/** The room the bot of the XMPP tests joins. */
export const ROOM = 'room@conference.localhost';

/**
 * Bounds against a hang, not expectations: generous, so the suite also passes on emulated
 * arm64 (~10x slower) on a loaded machine. A healthy run waits milliseconds.
 */
export const WAIT = 15_000;

/** A OneBot action over `c`, bounded by WAIT (scaled by SLOWDOWN in TestClient.call). */
export const call = (c: TestClient, action: string, params: Record<string, unknown> = {}) =>
  c.call(action, params, undefined, WAIT);

/** An xmpp account against `server` (bot/botpw, in ROOM unless `rooms` says otherwise) and a forward WS. */
export function xmppYaml(server: Prosody, extra = '', rooms = `[{ jid: ${ROOM}, nick: Bot }]`): string {
  return `accounts:
  - adapter:
      type: xmpp
      service: ${server.service}
      domain: localhost
      username: bot
      password: botpw
      rooms: ${rooms}
      reconnect: { initial_ms: 50, max_ms: 300 }
${extra}network:
  - { type: ws, port: 0, heartbeat_interval_ms: 0 }
`;
}

/**
 * Polls an async check (a OneBot call, a server query) until it returns a value, not
 * undefined; `ms` is a hang bound, scaled by SLOWDOWN.
 */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  ms = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + slow(ms);
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
