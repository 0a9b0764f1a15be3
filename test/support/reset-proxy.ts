import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** One client connection through the proxy and its upstream half. */
export interface ProxiedConnection {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Everything the client sent so far (utf8). */
  fromClient: string;
  /** Everything the server sent so far (utf8). */
  fromServer: string;
}

/**
 * Decides, per chunk, whether the proxy resets the connection instead of passing the chunk on:
 * `'client'` for a chunk from the client, `'server'` for one from the server.
 */
export type ResetRule = (conn: ProxiedConnection, from: 'client' | 'server', chunk: string) => boolean;

/**
 * A TCP proxy on 127.0.0.1 in front of a server on loopback that resets connections (RST, as a
 * crashed server or a middlebox does: the client reads ECONNRESET) at moments a test chooses:
 * when a chunk matches `rule` (instead of passing it on), or on `reset()`.
 */
export class ResetProxy {
  readonly connections: ProxiedConnection[] = [];
  rule: ResetRule = () => false;
  /** How many connections were reset so far. */
  resets = 0;
  readonly #server: Server;
  readonly #upstreamPort: number;

  private constructor(server: Server, upstreamPort: number) {
    this.#server = server;
    this.#upstreamPort = upstreamPort;
  }

  static async start(upstreamPort: number): Promise<ResetProxy> {
    const server = createServer();
    const proxy = new ResetProxy(server, upstreamPort);
    server.on('connection', (s) => proxy.#accept(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  get service(): string {
    return `xmpp://127.0.0.1:${this.port}`;
  }

  /** Resets every open connection now. */
  reset(): void {
    for (const c of this.connections) this.#reset(c);
  }

  async close(): Promise<void> {
    for (const c of this.connections) {
      c.client.destroy();
      c.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    client.on('error', () => {});
    // Paused until upstream connects: nothing the client sends is lost or reordered.
    client.pause();
    const upstream = createConnection({ host: '127.0.0.1', port: this.#upstreamPort });
    upstream.on('error', () => client.destroy());
    const conn: ProxiedConnection = { client, upstream, fromClient: '', fromServer: '' };
    this.connections.push(conn);
    upstream.once('connect', () => client.resume());
    client.on('data', (d: Buffer) => {
      const s = d.toString('utf8');
      conn.fromClient += s;
      if (this.rule(conn, 'client', s)) this.#reset(conn);
      else upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      const s = d.toString('utf8');
      conn.fromServer += s;
      if (this.rule(conn, 'server', s)) this.#reset(conn);
      else client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }

  #reset(conn: ProxiedConnection): void {
    if (conn.client.destroyed) return;
    conn.client.resetAndDestroy();
    conn.upstream.destroy();
    this.resets++;
  }
}
