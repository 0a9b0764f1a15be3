// (b) Action round trip: sequential get_status calls on one socket, vs a raw `ws` echo server.
import type { WebSocket } from 'ws';
import type { App } from '../src/app.js';
import { HOST, median, openWs, portOf, quantile, rawWsServer, startApp, within } from './lib.js';
import type { Row, Suite } from './table.js';

const WARMUP = 2000;
const CALLS = 20_000;
const ROUNDS = 3;
/** A round stops early at this time, so a slow machine still finishes. */
const ROUND_BUDGET_MS = 10_000;

/** One request at a time: send, wait for the matching echo, repeat. Latencies in ms. */
async function calls(ws: WebSocket, count: number): Promise<{ perSecond: number; latencies: number[] }> {
  const latencies: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < count && performance.now() - t0 < ROUND_BUDGET_MS; i++) {
    const start = performance.now();
    const reply = new Promise<Buffer>((resolve) => ws.once('message', resolve));
    ws.send(JSON.stringify({ action: 'get_status', params: {}, echo: i }));
    const res = JSON.parse((await within(reply, 5000, 'round trip')).toString()) as { echo?: unknown; status?: string };
    if (res.echo !== i) throw new Error(`reply ${i}: wrong echo ${JSON.stringify(res.echo)}`);
    latencies.push(performance.now() - start);
  }
  return { perSecond: latencies.length / ((performance.now() - t0) / 1000), latencies };
}

async function measure(ws: WebSocket): Promise<{ perSecond: number; p50: number; p99: number }> {
  await calls(ws, WARMUP);
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(await calls(ws, CALLS));
  const all = rounds.flatMap((r) => r.latencies).sort((a, b) => a - b);
  return { perSecond: median(rounds.map((r) => r.perSecond)), p50: quantile(all, 0.5), p99: quantile(all, 0.99) };
}

export const roundtrip: Suite = {
  name: 'roundtrip',
  title: '(b) action round trip: sequential get_status on one socket (/api) vs raw ws echo',
  async run(): Promise<Row[]> {
    let app: App | undefined;
    const raw = await rawWsServer();
    const sockets: WebSocket[] = [];
    try {
      raw.wss.on('connection', (ws) =>
        ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary })),
      );
      app = await startApp({ network: [{ type: 'ws', host: HOST, port: 0, heartbeat_interval_ms: 0 }] });
      const rawWs = await openWs(`ws://${HOST}:${raw.port}/`);
      const obWs = await openWs(`ws://${HOST}:${portOf(app)}/api`);
      sockets.push(rawWs, obWs);
      const b = await measure(rawWs);
      const o = await measure(obWs);
      return [
        {
          name: 'get_status calls per second',
          onebridge: o.perSecond,
          baseline: b.perSecond,
          unit: 'calls/s',
          target: { min: 0.6 },
        },
        { name: 'latency p50', onebridge: o.p50 * 1000, baseline: b.p50 * 1000, unit: 'µs' },
        { name: 'latency p99', onebridge: o.p99 * 1000, baseline: b.p99 * 1000, unit: 'µs' },
      ];
    } finally {
      for (const ws of sockets) ws.terminate();
      await app?.stop();
      await raw.close();
    }
  },
};
