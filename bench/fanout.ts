// (a) Event fan-out: events delivered per second to 1, 10 and 100 forward-WS clients, vs a raw
// `ws` server broadcasting the same JSON. Servers run here; clients in a worker thread.
import { Worker } from 'node:worker_threads';
import { WebSocket } from 'ws';
import type { App } from '../src/app.js';
import type { OneBotEvent } from '../src/onebot/types.js';
import type { FromWorker, ToWorker } from './fanout-clients.js';
import { groupMessages, HOST, median, portOf, rawWsServer, startApp, within } from './lib.js';
import type { Row, Suite } from './table.js';

/** BENCH_FANOUT_CLIENTS=1,10 narrows a run, e.g. while profiling. */
const CLIENT_COUNTS = process.env['BENCH_FANOUT_CLIENTS']?.split(',').map(Number) ?? [1, 10, 100];
/** Deliveries (events x clients) per measured round: large enough to swamp setup noise. */
const DELIVERIES = 100_000;
/** Events emitted per macrotask: a busy platform, yet the loop still turns between batches. */
const BATCH = 50;
const ROUNDS = 3;
const ROUND_TIMEOUT_MS = 30_000;

class Clients {
  readonly #worker = new Worker(new URL('./fanout-clients.js', import.meta.url));
  readonly #waiting = new Map<string, (msg: FromWorker) => void>();
  #failure: Error | undefined;

  constructor() {
    this.#worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'error') this.#failure = new Error(`fan-out client worker: ${msg.message}`);
      const waiter = this.#waiting.get(msg.type);
      this.#waiting.delete(msg.type);
      waiter?.(msg);
    });
    this.#worker.on('error', (err) => (this.#failure = err));
  }

  /** Waits for the worker's next `type` message (bounded); register before causing it. */
  waitFor(type: FromWorker['type'], ms = ROUND_TIMEOUT_MS): Promise<FromWorker> {
    const answer = new Promise<FromWorker>((resolve) => this.#waiting.set(type, resolve));
    return within(answer, ms, `fan-out worker ${type}`).finally(() => {
      this.#waiting.delete(type);
      if (this.#failure) throw this.#failure;
    });
  }

  async ask(msg: ToWorker, reply: FromWorker['type'], ms = ROUND_TIMEOUT_MS): Promise<FromWorker> {
    const answer = this.waitFor(reply, ms);
    this.#worker.postMessage(msg);
    return answer;
  }

  async close(): Promise<void> {
    await this.ask({ type: 'close' }, 'closed', 10_000).catch(() => {});
    await this.#worker.terminate();
  }
}

export interface Target {
  readonly name: string;
  readonly url: string;
  readonly greeting: boolean;
  /** Sends one event to every connected client, the way this server does it. */
  readonly broadcast: (event: OneBotEvent) => void;
}

/** Emits `events` in batches; resolves with deliveries per second once every client has all. */
async function round(clients: Clients, target: Target, n: number, events: OneBotEvent[]): Promise<{ rate: number; bytes: number }> {
  await clients.ask({ type: 'expect', count: events.length }, 'armed');
  const done = clients.waitFor('done');
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += BATCH) {
    for (let j = i; j < Math.min(i + BATCH, events.length); j++) target.broadcast(events[j]!);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const result = (await done) as Extract<FromWorker, { type: 'done' }>;
  const seconds = (performance.now() - t0) / 1000;
  if (result.frames !== events.length * n) throw new Error(`${target.name}: expected ${events.length * n} frames, got ${result.frames}`);
  return { rate: result.frames / seconds, bytes: result.bytes };
}

/** Best-of-rounds rate for one target and client count; each round uses fresh event objects. */
export async function measure(target: Target, n: number): Promise<{ rate: number; bytes: number }> {
  const clients = new Clients();
  try {
    await clients.ask({ type: 'connect', url: target.url, n, greeting: target.greeting }, 'ready');
    const perRound = Math.max(100, Math.round(DELIVERIES / n));
    await round(clients, target, n, groupMessages(Math.round(perRound / 4))); // warm-up
    const results: Array<{ rate: number; bytes: number }> = [];
    for (let r = 0; r < ROUNDS; r++) results.push(await round(clients, target, n, groupMessages(perRound)));
    return { rate: median(results.map((x) => x.rate)), bytes: results[0]!.bytes };
  } finally {
    await clients.close();
  }
}

export const fanout: Suite = {
  name: 'fanout',
  title: '(a) event fan-out: group message events delivered per second (events x clients), forward WS vs raw ws broadcast',
  async run(): Promise<Row[]> {
    let app: App | undefined;
    const raw = await rawWsServer();
    try {
      app = await startApp({ network: [{ type: 'ws', host: HOST, port: 0, heartbeat_interval_ms: 0 }] });
      const account = app.accounts.get(10001)!;
      const onebridge: Target = { name: 'onebridge', url: `ws://${HOST}:${portOf(app)}/event`, greeting: true, broadcast: (e) => account.emit('event', e) };
      const baseline: Target = {
        name: 'raw ws',
        url: `ws://${HOST}:${raw.port}/`,
        greeting: false,
        // The strongest plain broadcast: serialise once, the same Buffer to every open socket.
        broadcast: (e) => {
          const buf = Buffer.from(JSON.stringify(e));
          for (const ws of raw.wss.clients) if (ws.readyState === WebSocket.OPEN) ws.send(buf, { binary: false });
        },
      };
      const rows: Row[] = [];
      for (const n of CLIENT_COUNTS) {
        // Interleaved, raw first, so neither side always runs on a warmer process.
        const b = await measure(baseline, n);
        const o = await measure(onebridge, n);
        if (o.bytes !== b.bytes) throw new Error(`payload differs: onebridge ${o.bytes} bytes, raw ${b.bytes} bytes`);
        rows.push({ name: `fan-out to ${n} client${n === 1 ? '' : 's'}`, onebridge: o.rate, baseline: b.rate, unit: 'events/s', target: { min: 0.8 } });
      }
      return rows;
    } finally {
      await app?.stop();
      await raw.close();
    }
  },
};
