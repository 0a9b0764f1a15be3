// Reverse WS: events per second over one reverse socket vs a raw `ws` client sending the same
// JSON to the same framework stand-in; and how soon held events reach a framework that comes back.
import { once } from 'node:events';
import { WebSocket, WebSocketServer } from 'ws';
import type { App } from '../src/app.js';
import type { OneBotEvent } from '../src/onebot/types.js';
import { groupMessages, HOST, median, startApp, within } from './lib.js';
import type { Row, Suite } from './table.js';

const EVENTS = 50_000;
const BATCH = 50;
// Seven back-to-back pairs: on a shared 2-vCPU VM the host's speed drifts between rounds.
const ROUNDS = 7;
const HELD = 1000;

/** The framework stand-in: counts the message events it receives (not lifecycle/heartbeats). */
class Framework {
  readonly wss: WebSocketServer;
  count = 0;
  firstAt = 0;
  #waiter: { want: number; resolve: (at: number) => void } | undefined;

  private constructor(wss: WebSocketServer) {
    this.wss = wss;
    wss.on('connection', (ws) => ws.on('message', (data) => this.#onFrame(data as Buffer)));
  }

  static async start(port = 0): Promise<Framework> {
    const wss = new WebSocketServer({ host: HOST, port, perMessageDeflate: false });
    await once(wss, 'listening');
    return new Framework(wss);
  }

  get port(): number {
    return (this.wss.address() as { port: number }).port;
  }

  #onFrame(data: Buffer): void {
    if (!data.includes('"post_type":"message"')) return;
    if (this.count === 0) this.firstAt = performance.now();
    this.count++;
    if (this.#waiter && this.count >= this.#waiter.want) {
      this.#waiter.resolve(performance.now());
      this.#waiter = undefined;
    }
  }

  /** Resets the count; resolves with the time the `want`-th message event arrived. */
  received(want: number): Promise<number> {
    this.count = 0;
    return new Promise((resolve) => (this.#waiter = { want, resolve }));
  }

  close(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }
}

async function pump(send: (e: OneBotEvent) => void, events: OneBotEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += BATCH) {
    for (const e of events.slice(i, i + BATCH)) send(e);
    await new Promise((r) => setImmediate(r));
  }
}

async function throughput(): Promise<{ onebridge: number; raw: number; pairs: number[] }> {
  const fw = await Framework.start();
  let app: App | undefined;
  try {
    app = await startApp({
      network: [{ type: 'ws-reverse', url: `ws://${HOST}:${fw.port}/`, heartbeat_interval_ms: 0 }],
    });
    await within(once(fw.wss, 'connection'), 5000, 'reverse link');
    const account = app.accounts.get(10001)!;
    const raw = new WebSocket(`ws://${HOST}:${fw.port}/`, { perMessageDeflate: false });
    await once(raw, 'open');
    // Rounds alternate, so neither side always runs on a warmer (or more fragmented) heap.
    const ob: number[] = [];
    const rw: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      let events = groupMessages(EVENTS);
      let done = fw.received(EVENTS);
      let t0 = performance.now();
      await pump((e) => account.emit('event', e), events);
      ob.push(EVENTS / (((await within(done, 30_000, 'onebridge events')) - t0) / 1000));
      events = groupMessages(EVENTS);
      done = fw.received(EVENTS);
      t0 = performance.now();
      await pump((e) => raw.send(JSON.stringify(e)), events);
      rw.push(EVENTS / (((await within(done, 30_000, 'raw events')) - t0) / 1000));
    }
    raw.terminate();
    return { onebridge: median(ob), raw: median(rw), pairs: ob.map((v, i) => v / rw[i]!) };
  } finally {
    await app?.stop();
    await fw.close();
  }
}

async function comeback(): Promise<{ first: number; all: number }> {
  // Find a free port, then leave it closed: the framework is "down".
  const probe = await Framework.start();
  const port = probe.port;
  await probe.close();
  const app = await startApp({
    network: [
      {
        type: 'ws-reverse',
        url: `ws://${HOST}:${port}/`,
        heartbeat_interval_ms: 0,
        reconnect: { initial_ms: 100, max_ms: 200 },
        buffer: { max_events: HELD },
      },
    ],
  });
  try {
    const account = app.accounts.get(10001)!;
    for (const e of groupMessages(HELD)) account.emit('event', e);
    // Let it fail a few attempts so it is in steady backoff.
    await new Promise((r) => setTimeout(r, 500));
    const fw = await Framework.start(port);
    const back = performance.now();
    try {
      const all = await within(fw.received(HELD), 10_000, 'held events');
      return { first: fw.firstAt - back, all: all - back };
    } finally {
      await fw.close();
    }
  } finally {
    await app.stop();
  }
}

export const wsReverse: Suite = {
  name: 'ws-reverse',
  title: 'Reverse WebSocket: one socket to a framework, vs a raw ws client; held events on comeback',
  async run(): Promise<Row[]> {
    const t = await throughput();
    const c = await comeback();
    return [
      {
        name: 'events over one reverse socket',
        onebridge: t.onebridge,
        baseline: t.raw,
        pairedRatios: t.pairs,
        unit: 'events/s',
        target: { min: 0.8 },
      },
      {
        name: `framework back -> first of ${HELD} held events`,
        onebridge: c.first,
        unit: 'ms',
        note: 'includes the retry wait (reconnect.max_ms 200)',
      },
      { name: `framework back -> all ${HELD} held events`, onebridge: c.all, unit: 'ms' },
    ];
  },
};
