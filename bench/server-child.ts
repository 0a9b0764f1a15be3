// A server in its own process, for benches that measure a whole process (RSS, exit time).
// `node server-child.js raw|onebridge`, forked with an IPC channel:
//   child -> parent {type: 'listening', port}; parent -> child {type: 'memory'} ->
//   child -> parent {type: 'memory', rss, heapUsed} (after a full GC when --expose-gc is set).
// In raw mode, SIGINT runs the same close protocol onebridge does: 1001 to every client, wait
// up to GRACE_MS, cut the rest, exit 0 - a baseline for the shutdown bench.
import { WebSocket } from 'ws';
import { HOST, portOf, rawWsServer, startApp } from './lib.js';

export type ChildMessage = { type: 'listening'; port: number } | { type: 'memory'; rss: number; heapUsed: number };

const mode = process.argv[2];
const graceMs = Number(process.argv[3] ?? 1000);

function memory(): ChildMessage {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { type: 'memory', rss: m.rss, heapUsed: m.heapUsed };
}

async function main(): Promise<void> {
  let port: number;
  if (mode === 'onebridge') {
    // max_connections: 0 (no limit): the idle-memory suite holds 5,000 clients, past the default
    // 1,000 (which answers 503); the raw ws baseline has no limit either.
    const app = await startApp({ network: [{ type: 'ws', host: HOST, port: 0, max_connections: 0 }] });
    port = portOf(app);
  } else if (mode === 'raw') {
    const raw = await rawWsServer();
    port = raw.port;
    process.once('SIGINT', () => {
      raw.wss.close();
      const exitWhenEmpty = () => {
        if (raw.wss.clients.size === 0) process.exit(0);
      };
      for (const ws of raw.wss.clients) {
        ws.once('close', exitWhenEmpty);
        if (ws.readyState === WebSocket.OPEN) ws.close(1001, 'server shutting down');
      }
      exitWhenEmpty();
      setTimeout(() => {
        for (const ws of raw.wss.clients) ws.terminate();
        setTimeout(() => process.exit(0), 250).unref();
      }, graceMs).unref();
    });
  } else {
    throw new Error(`usage: server-child.js raw|onebridge [grace_ms]; got ${mode}`);
  }
  process.on('message', (msg: { type?: string }) => {
    if (msg.type === 'memory') process.send!(memory());
  });
  // The parent going away (a crashed bench) must not leave this process behind.
  process.on('disconnect', () => process.exit(0));
  process.send!({ type: 'listening', port } satisfies ChildMessage);
}

void main().catch((err: unknown) => {
  process.stderr.write(`server-child: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
