import { once } from 'node:events';
import type { Client, JID } from '@xmpp/client';

/**
 * Connects, opens the stream and waits until xmpp.js is online (TLS, SASL, bind done): what
 * `client.start()` does, without its unhandled rejection. xmpp.js 0.14 `start()` creates its
 * wait for `online` (which rejects on the client's next `error`) before it opens the stream; when
 * the socket fails while the stream opens (ECONNRESET before the server's stream header), that
 * error rejects `open()`, `start()` returns its rejection, and the wait for `online` rejects
 * with nobody listening: an unhandled rejection from every reset at that moment. Here both
 * promises are always observed; the first failure rejects.
 *
 * `signal` aborting removes the listeners; the caller cuts the socket.
 */
export async function logIn(client: Client, signal: AbortSignal): Promise<JID> {
  if (client.status !== 'offline') throw new Error(`the XMPP client is ${client.status}, not offline`);
  // events.once rejects on the emitter's 'error' and removes both listeners once it settles.
  const online = once(client, 'online', { signal }) as Promise<[JID]>;
  const opened = (async () => {
    await client.connect(client.options.service);
    await client.open({ domain: client.options.domain, lang: client.options.lang });
  })();
  const [, [address]] = await Promise.all([opened, online]);
  return address;
}
