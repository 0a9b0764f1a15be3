// HTTP: get_status requests per second over keep-alive vs a raw node:http server answering the
// same JSON; and webhook deliveries per second to a local receiver vs a raw in-order POST loop.
import { once } from 'node:events';
import { Agent, createServer, request, type Server } from 'node:http';
import type { App } from '../src/app.js';
import { groupMessages, HOST, median, portOf, startApp, within } from './lib.js';
import type { Row, Suite } from './table.js';

const REQUESTS = 20_000;
const CONCURRENCY = 16;
const WEBHOOKS = 2_000;
const ROUNDS = 3;
// Webhook rounds are short: seven back-to-back pairs, as the host's speed drifts between rounds.
const WEBHOOK_ROUNDS = 7;

/** `total` GETs of `path` over `CONCURRENCY` keep-alive sockets; requests per second. */
async function load(port: number, path: string, total: number): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let sent = 0;
  const worker = async () => {
    while (sent < total) {
      sent++;
      await new Promise<void>((resolve, reject) => {
        request({ host: HOST, port, path, agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
          .on('error', reject)
          .end();
      });
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const rate = total / ((performance.now() - t0) / 1000);
  agent.destroy();
  return rate;
}

async function listen(server: Server): Promise<number> {
  server.listen(0, HOST);
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

async function api(): Promise<{ onebridge: number; raw: number; pairs: number[] }> {
  const app = await startApp({ network: [{ type: 'http', port: 0 }] });
  // The raw server answers exactly what onebridge answers.
  const sample = await (await fetch(`http://${HOST}:${portOf(app)}/get_status`)).text();
  const raw = createServer((req, res) => {
    req.resume();
    res.writeHead(200, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(sample),
    });
    res.end(sample);
  });
  const rawPort = await listen(raw);
  try {
    const ob: number[] = [];
    const rw: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      ob.push(await within(load(portOf(app), '/get_status', REQUESTS), 60_000, 'onebridge http'));
      rw.push(await within(load(rawPort, '/', REQUESTS), 60_000, 'raw http'));
    }
    return { onebridge: median(ob), raw: median(rw), pairs: ob.map((v, i) => v / rw[i]!) };
  } finally {
    await app.stop();
    raw.closeAllConnections();
    raw.close();
  }
}

async function webhooks(): Promise<{ onebridge: number; raw: number; pairs: number[] }> {
  let count = 0;
  let waiter: { want: number; resolve: () => void } | undefined;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(204).end();
      if (++count >= (waiter?.want ?? Infinity)) waiter!.resolve();
    });
  });
  const port = await listen(receiver);
  const url = `http://${HOST}:${port}/`;
  const events = () => groupMessages(WEBHOOKS);
  const arrived = (want: number) => {
    count = 0;
    return new Promise<void>((resolve) => (waiter = { want, resolve }));
  };
  let app: App | undefined;
  try {
    const enabled = arrived(1); // lifecycle enable
    app = await startApp({ network: [{ type: 'http-post', url, buffer: { max_events: WEBHOOKS * 2 } }] });
    await within(enabled, 10_000, 'lifecycle enable');
    const account = app.accounts.get(10001)!;
    // Rounds alternate, each onebridge round followed by a raw one (the same bodies POSTed one
    // after another with fetch, as onebridge does), so each pair sees the same host.
    const ob: number[] = [];
    const rw: number[] = [];
    for (let r = 0; r < WEBHOOK_ROUNDS; r++) {
      const batch = events();
      let done = arrived(WEBHOOKS);
      let t0 = performance.now();
      for (const e of batch) account.emit('event', e);
      await within(done, 60_000, 'webhooks');
      ob.push(WEBHOOKS / ((performance.now() - t0) / 1000));
      const bodies = events().map((e) => JSON.stringify(e));
      done = arrived(WEBHOOKS);
      t0 = performance.now();
      for (const body of bodies)
        await (await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body })).text();
      await within(done, 60_000, 'raw webhooks');
      rw.push(WEBHOOKS / ((performance.now() - t0) / 1000));
    }
    return { onebridge: median(ob), raw: median(rw), pairs: ob.map((v, i) => v / rw[i]!) };
  } finally {
    await app?.stop();
    receiver.closeAllConnections();
    receiver.close();
  }
}

export const http: Suite = {
  name: 'http',
  title: `HTTP API get_status over ${CONCURRENCY} keep-alive sockets vs raw node:http; webhooks vs a raw in-order POST loop`,
  async run(): Promise<Row[]> {
    const a = await api();
    const w = await webhooks();
    return [
      {
        name: 'HTTP API get_status',
        onebridge: a.onebridge,
        baseline: a.raw,
        pairedRatios: a.pairs,
        unit: 'req/s',
        target: { min: 0.6 },
      },
      {
        name: 'webhook deliveries, in order',
        onebridge: w.onebridge,
        baseline: w.raw,
        pairedRatios: w.pairs,
        unit: 'events/s',
        target: { min: 0.8 },
      },
    ];
  },
};
