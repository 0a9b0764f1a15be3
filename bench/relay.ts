// Relay: action round trips client -> relay -> upstream vs straight to the upstream, and
// events per second through the relay to 10 clients vs from the upstream to 10 clients.
import type { WebSocket } from 'ws';
import type { App } from '../src/app.js';
import { groupMessages, HOST, median, openMany, openWs, portOf, startApp, terminateAll, within } from './lib.js';
import type { Row, Suite } from './table.js';

const CALLS = 5000;
const EVENTS = 5000;
const CLIENTS = 10;
const ROUNDS = 3;

async function roundTrips(ws: WebSocket): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const reply = new Promise<Buffer>((resolve) => ws.once('message', resolve));
    ws.send(JSON.stringify({ action: 'get_group_info', params: { group_id: 30001 }, echo: i }));
    const res = JSON.parse((await within(reply, 5000, 'relay round trip')).toString()) as { echo?: unknown };
    if (res.echo !== i) throw new Error(`round trip ${i}: wrong echo`);
  }
  return CALLS / ((performance.now() - t0) / 1000);
}

/** Emits EVENTS at the upstream account; resolves with events/s once every client has all. */
async function fanout(upstream: App, clients: WebSocket[]): Promise<number> {
  let received = 0;
  const want = EVENTS * clients.length;
  const done = new Promise<void>((resolve) => {
    for (const ws of clients) {
      ws.removeAllListeners('message');
      ws.on('message', (d: Buffer) => {
        if (d.includes('"post_type":"message"') && ++received === want) resolve();
      });
    }
  });
  const account = upstream.accounts.get(10001)!;
  const t0 = performance.now();
  const events = groupMessages(EVENTS);
  for (let i = 0; i < EVENTS; i += 50) {
    for (const e of events.slice(i, i + 50)) account.emit('event', e);
    await new Promise((r) => setImmediate(r));
  }
  await within(done, 60_000, 'fan-out through relay');
  return EVENTS / ((performance.now() - t0) / 1000);
}

export const relay: Suite = {
  name: 'relay',
  title: `Relay: client -> relay -> upstream onebridge vs straight to the upstream (one process, ${CLIENTS} clients for events)`,
  async run(): Promise<Row[]> {
    let upstream: App | undefined;
    let relayApp: App | undefined;
    const sockets: WebSocket[] = [];
    try {
      upstream = await startApp({ network: [{ type: 'ws', host: HOST, port: 0, heartbeat_interval_ms: 0 }] });
      relayApp = await startApp({
        accounts: [
          {
            self_id: 10001,
            adapter: { type: 'relay', upstream: { mode: 'ws', url: `ws://${HOST}:${portOf(upstream)}/` } },
          },
        ],
        network: [{ type: 'ws', host: HOST, port: 0, heartbeat_interval_ms: 0 }],
      });
      await within(
        (async () => {
          while (!relayApp!.accounts.get(10001)!.status().online) await new Promise((r) => setTimeout(r, 10));
        })(),
        5000,
        'relay link',
      );
      const direct = await openWs(`ws://${HOST}:${portOf(upstream)}/api`);
      const viaRelay = await openWs(`ws://${HOST}:${portOf(relayApp)}/api`);
      sockets.push(direct, viaRelay);
      const rtDirect: number[] = [];
      const rtRelay: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        rtDirect.push(await roundTrips(direct));
        rtRelay.push(await roundTrips(viaRelay));
      }
      const directClients = await openMany(`ws://${HOST}:${portOf(upstream)}/event`, CLIENTS, true);
      const relayClients = await openMany(`ws://${HOST}:${portOf(relayApp)}/event`, CLIENTS, true);
      sockets.push(...directClients, ...relayClients);
      // Upstream events go to its own clients and the relay link; measure each set alone.
      const evDirect: number[] = [];
      const evRelay: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        evDirect.push(await fanout(upstream, directClients));
        evRelay.push(await fanout(upstream, relayClients));
      }
      return [
        {
          name: 'get_group_info round trips, sequential',
          onebridge: median(rtRelay),
          baseline: median(rtDirect),
          unit: 'calls/s',
          note: 'onebridge = via relay, raw = direct to upstream',
        },
        {
          name: `events to ${CLIENTS} clients`,
          onebridge: median(evRelay),
          baseline: median(evDirect),
          unit: 'events/s',
          note: 'onebridge = via relay, raw = direct from upstream',
        },
      ];
    } finally {
      await terminateAll(sockets);
      await relayApp?.stop();
      await upstream?.stop();
    }
  },
};
