import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP pass-through in front of a server that records, with the time it saw them, the lines
 * clients send: to measure what the client under test does on the wire, apart from how the
 * server then paces it (ngircd throttles busy clients itself).
 */
export class LineTap {
  readonly lines: Array<{ line: string; at: number }> = [];
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(targetPort: number): Promise<LineTap> {
    const server = createServer();
    const tap = new LineTap(server);
    server.on('connection', (client) => {
      const upstream = connect({ host: '127.0.0.1', port: targetPort });
      for (const s of [client, upstream]) {
        tap.#sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => {
          tap.#sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      let partial = '';
      client.on('data', (chunk: Buffer) => {
        const at = performance.now();
        const parts = (partial + chunk.toString('utf8')).split('\r\n');
        partial = parts.pop() ?? '';
        for (const line of parts) tap.lines.push({ line, at });
        upstream.write(chunk);
      });
      upstream.pipe(client);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return tap;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}
