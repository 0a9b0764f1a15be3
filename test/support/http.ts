import { once } from 'node:events';
import { connect } from 'node:net';
import { expect } from 'vitest';
import type { App } from '../../src/app.js';
import type { ActionHandler } from '../../src/onebot/router.js';

/** Adds an action `slow_echo` that answers after `ms`: async completion for connection tests. */
export function addSlowAction(app: App, ms: number): void {
  const actions = app.accounts.get(10001)!.adapter.actions as Record<string, ActionHandler>;
  actions['slow_echo'] = async (p) => {
    await new Promise((r) => setTimeout(r, ms));
    return { text: p.optionalString('text', 'done') };
  };
}

/** Sends raw bytes, returns everything received until the server closes (FIN). */
export async function rawExchange(port: number, data: string, cleanups: Array<() => unknown>): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  cleanups.push(() => socket.destroy());
  await once(socket, 'connect');
  let got = '';
  socket.on('data', (d: Buffer) => (got += d.toString()));
  socket.write(data);
  await once(socket, 'end');
  return got;
}

/** The JSON bodies of raw HTTP responses, each checked against its Content-Length. */
export function bodies(raw: string): unknown[] {
  return raw
    .split(/HTTP\/1\.[01] /)
    .filter(Boolean)
    .map((r) => {
      const [head, body] = r.split('\r\n\r\n');
      const len = Number(/content-length: (\d+)/i.exec(head!)?.[1]);
      expect(Buffer.byteLength(body!.slice(0, len))).toBe(len);
      return JSON.parse(body!.slice(0, len));
    });
}
