import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { slow } from './slow.js';

export interface Seen {
  ws: WebSocket;
  headers: IncomingMessage['headers'];
  path: string;
  frames: Record<string, unknown>[];
  closed: Promise<number>;
}

/**
 * A bot framework stand-in: a ws server on port 0 (or a given port) that records each
 * connection's handshake and frames. `verify` may refuse a handshake like real frameworks do.
 */
export class Framework {
  readonly wss: WebSocketServer;
  readonly seen: Seen[] = [];
  #waiters: Array<() => void> = [];

  private constructor(wss: WebSocketServer) {
    this.wss = wss;
    wss.on('connection', (ws, req) => {
      const s: Seen = {
        ws,
        headers: req.headers,
        path: req.url ?? '',
        frames: [],
        closed: once(ws, 'close').then(([code]) => code as number),
      };
      ws.on('message', (d) => {
        s.frames.push(JSON.parse(d.toString()) as Record<string, unknown>);
        this.#wake();
      });
      ws.on('error', () => {});
      this.seen.push(s);
      this.#wake();
    });
  }

  static async start(
    options: { port?: number; autoPong?: boolean; verify?: (req: IncomingMessage) => true | [number, string] } = {},
  ): Promise<Framework> {
    const wss = new WebSocketServer({
      port: options.port ?? 0,
      host: '127.0.0.1',
      autoPong: options.autoPong ?? true,
      verifyClient: options.verify
        ? (info, cb) => {
            const v = options.verify!(info.req);
            if (v === true) cb(true);
            else cb(false, v[0], v[1]);
          }
        : undefined,
    });
    await once(wss, 'listening');
    return new Framework(wss);
  }

  get port(): number {
    return (this.wss.address() as AddressInfo).port;
  }

  url(path = '/onebot/v11/ws'): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves with `check()`'s first truthy value, re-checked on every connection and frame; `ms` is scaled by SLOWDOWN. */
  async until<T>(check: () => T | undefined | false, ms = 3000, what = 'framework condition'): Promise<T> {
    const deadline = Date.now() + slow(ms);
    for (;;) {
      const v = check();
      if (v !== undefined && v !== false) return v;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 25));
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  connection(i: number, ms?: number): Promise<Seen> {
    return this.until(() => this.seen[i], ms, `connection #${i}`);
  }

  async close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }
}

/** A port nothing listens on (for "framework is down"). */
export async function freePort(): Promise<number> {
  const srv: Server = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A TCP server that accepts and never answers: a handshake that never completes. */
export async function silentServer(): Promise<{ port: number; sockets: Socket[]; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const srv = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: (srv.address() as AddressInfo).port,
    sockets,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}
