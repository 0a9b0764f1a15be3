import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { onCleanup, type Cleanups } from './cleanups.js';

/**
 * A plain TCP connection to 127.0.0.1:`port`, resolved once connected; rejects when the
 * connection is refused. Its destroy is registered in `cleanups` before it connects, so it is
 * closed even when a test fails half way, and its errors are swallowed (a server cutting it is
 * usually what the test provokes).
 *
 * It sends nothing by itself: to an HTTP or WebSocket port it is a client stuck before its
 * request until the test writes one. It reads nothing for the test either: add a 'data'
 * listener (or resume()) to see answers, and the server's FIN with them.
 */
export async function rawTcp(cleanups: Cleanups, port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  onCleanup(cleanups, () => socket.destroy());
  socket.on('error', () => {});
  await once(socket, 'connect');
  return socket;
}
