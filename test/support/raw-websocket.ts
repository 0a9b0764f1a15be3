import { once } from 'node:events';
import type { Socket } from 'node:net';
import type { Cleanups } from './cleanups.js';
import { rawTcp } from './raw-tcp.js';

export interface RawUpgrade {
  /** The request path; '/' unless given. */
  path?: string;
  /** Offer permessage-deflate, and fail unless the server accepts it. */
  deflate?: boolean;
}

// The RFC 6455 sample key: the server's Sec-WebSocket-Accept is never checked here.
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/**
 * A WebSocket client made by hand: a rawTcp() connection to 127.0.0.1:`port` that sends the
 * opening handshake and resolves once the server answered 101 (with `deflate`, once it also
 * accepted permessage-deflate); rejects on any other answer. For tests that must write frames
 * the `ws` client never would, or not answer what it always does.
 *
 * As with rawTcp(), its destroy is registered in `cleanups` before it connects, so it is closed
 * even when the handshake fails or hangs, and socket errors are swallowed.
 *
 * It does not check Sec-WebSocket-Accept, and it frames, masks and answers nothing: a test writes
 * its own bytes. It assumes the 101 arrives in one chunk (it does on loopback); bytes that follow
 * in that chunk are not handed back. The socket keeps flowing: add a 'data' listener at once or
 * use muteClient().
 */
export async function rawWebSocket(cleanups: Cleanups, port: number, options: RawUpgrade = {}): Promise<Socket> {
  const socket = await rawTcp(cleanups, port);
  socket.write(
    [
      `GET ${options.path ?? '/'} HTTP/1.1`,
      'Host: 127.0.0.1',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${KEY}`,
      'Sec-WebSocket-Version: 13',
      ...(options.deflate ? ['Sec-WebSocket-Extensions: permessage-deflate'] : []),
      '',
      '',
    ].join('\r\n'),
  );
  const [chunk] = (await once(socket, 'data')) as [Buffer];
  const head = chunk.toString('latin1');
  if (!head.startsWith('HTTP/1.1 101 ')) throw new Error(`raw WebSocket: no 101: ${head.split('\r\n')[0]}`);
  if (options.deflate && !/^sec-websocket-extensions:[^\r]*permessage-deflate/im.test(head))
    throw new Error('raw WebSocket: permessage-deflate not negotiated');
  return socket;
}

/**
 * rawWebSocket(), then paused for good: a frozen peer that never reads again, so it answers no
 * ping and no close frame, and what the server sends piles up in the kernel's buffers until the
 * server's writes back up. For shutdown deadlines and slow-consumer limits.
 *
 * A paused socket reports neither data nor the server's FIN: a test that waits for its 'close'
 * must resume() it first. It does not stall before the handshake: that client is a rawTcp()
 * that writes nothing.
 */
export async function muteClient(cleanups: Cleanups, port: number, options: RawUpgrade = {}): Promise<Socket> {
  const socket = await rawWebSocket(cleanups, port, options);
  socket.pause();
  return socket;
}
