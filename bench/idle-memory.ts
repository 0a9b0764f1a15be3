// (d) Memory per idle connection at 5,000 connections: onebridge and a raw `ws` server, each
// alone in a child process; (RSS after - RSS before) / N measured inside the server process
// after a full GC. Clients live in the bench process.
import type { WebSocket } from 'ws';
import { forkServer, median, openMany, terminateAll } from './lib.js';
import type { Row, Suite } from './table.js';

const CONNECTIONS = 5000;
const WARMUP = 100;
const RUNS = 3;

interface PerConnection {
  readonly rss: number;
  readonly heap: number;
}

async function once(mode: 'raw' | 'onebridge'): Promise<PerConnection> {
  const server = await forkServer(mode);
  let clients: WebSocket[] = [];
  try {
    // Code paths run once (JIT, lazily built tables) are per process, not per connection.
    const url = `ws://127.0.0.1:${server.port}/`;
    await terminateAll(await openMany(url, WARMUP, mode === 'onebridge'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = await server.memory();
    clients = await openMany(url, CONNECTIONS, mode === 'onebridge');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = await server.memory();
    return { rss: (after.rss - before.rss) / CONNECTIONS, heap: (after.heapUsed - before.heapUsed) / CONNECTIONS };
  } finally {
    await terminateAll(clients);
    await server.kill();
  }
}

export const idleMemory: Suite = {
  name: 'idle-memory',
  title: `(d) memory per idle forward-WS connection at ${CONNECTIONS.toLocaleString('en-US')} connections (server in a child process, after GC)`,
  async run(): Promise<Row[]> {
    const ob: PerConnection[] = [];
    const raw: PerConnection[] = [];
    for (let r = 0; r < RUNS; r++) {
      raw.push(await once('raw'));
      ob.push(await once('onebridge'));
    }
    const kib = (xs: PerConnection[], key: keyof PerConnection) => median(xs.map((x) => x[key])) / 1024;
    return [
      {
        name: 'RSS per idle connection',
        onebridge: kib(ob, 'rss'),
        baseline: kib(raw, 'rss'),
        unit: 'KiB',
        target: { max: 1.5 },
        note: `median of ${RUNS}`,
      },
      { name: 'JS heap per idle connection', onebridge: kib(ob, 'heap'), baseline: kib(raw, 'heap'), unit: 'KiB' },
    ];
  },
};
