// (h) Hardening: fan-out to 99 healthy forward-WS clients with and without one slow consumer
// (a client that stopped reading) among them, and server heap after 10,000 compressed
// connect/close cycles. Server and clients share this process, so the two fan-out rows are
// compared with each other (same conditions), not with a raw server.
import type { WebSocket } from 'ws';
import { groupMessages, HOST, median, openMany, openMute, portOf, startApp, terminateAll, within } from './lib.js';
import type { Row, Suite } from './table.js';

const HEALTHY = 99;
const EVENTS = 2000;
const BATCH = 50;
const ROUNDS = 3;
const CYCLES = 10_000;

/** Healthy-client deliveries per second while EVENTS events fan out; `slow` adds one mute client. */
async function fanoutRate(slow: boolean): Promise<number> {
  const app = await startApp({
    network: [
      { type: 'ws', port: 0, heartbeat_interval_ms: 0, max_buffered_bytes: 1 << 20, max_dropped_events: 1_000_000 },
    ],
  });
  let clients: WebSocket[] = [];
  try {
    const port = portOf(app);
    clients = await openMany(`ws://${HOST}:${port}/event`, HEALTHY, true);
    const mute = slow ? await openMute(port, '/event') : undefined;
    const account = app.accounts.get(10001)!;
    const events = groupMessages(EVENTS);
    let received = 0;
    const done = new Promise<void>((resolve) => {
      for (const c of clients) c.on('message', () => ++received === HEALTHY * EVENTS && resolve());
    });
    const start = performance.now();
    for (let i = 0; i < EVENTS; i += BATCH) {
      for (const e of events.slice(i, i + BATCH)) account.emit('event', e);
      await new Promise((r) => setImmediate(r));
    }
    await within(done, 60_000, 'fan-out to the healthy clients');
    const rate = received / ((performance.now() - start) / 1000);
    mute?.destroy();
    return rate;
  } finally {
    await terminateAll(clients);
    await app.stop();
  }
}

/** Heap growth (MiB) after CYCLES compressed connect/close cycles, after GC when exposed. */
async function compressedCycles(): Promise<number> {
  const app = await startApp({ network: [{ type: 'ws', port: 0, heartbeat_interval_ms: 0, compression: true }] });
  try {
    const url = `ws://${HOST}:${portOf(app)}/api`;
    await terminateAll(await openMany(url, 100));
    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < CYCLES; i += 200) {
      const batch = await openMany(url, 200);
      await Promise.all(
        batch.map(
          (ws) =>
            new Promise<void>((resolve) => {
              ws.once('close', () => resolve());
              ws.close();
            }),
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 200));
    globalThis.gc?.();
    return (process.memoryUsage().heapUsed - before) / 1024 / 1024;
  } finally {
    await app.stop();
  }
}

export const hardening: Suite = {
  name: 'hardening',
  title: `(h) hardening: fan-out to ${HEALTHY} healthy clients with one slow consumer vs none; heap after ${CYCLES.toLocaleString('en-US')} compressed connect/close cycles`,
  async run(): Promise<Row[]> {
    const none: number[] = [];
    const slow: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      none.push(await fanoutRate(false));
      slow.push(await fanoutRate(true));
    }
    const growth = await compressedCycles();
    return [
      // baseline = the same fan-out without the slow client: healthy clients keep >= 0.9x.
      {
        name: 'healthy deliveries/s, one slow consumer (vs none)',
        onebridge: median(slow),
        baseline: median(none),
        unit: 'msg/s',
        target: { min: 0.9 },
        note: `median of ${ROUNDS}`,
      },
      {
        name: `heap growth after ${CYCLES} compressed cycles`,
        onebridge: growth,
        unit: 'MiB',
        target: { max: 16 },
        note: globalThis.gc ? 'after GC' : 'no --expose-gc: upper bound',
      },
    ];
  },
};
