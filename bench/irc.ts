// IRC: messages per second channel -> bot (raw IRC user -> ngircd -> onebridge -> OneBot client
// on forward WS) and bot -> channel (OneBot client -> onebridge -> ngircd -> raw IRC user),
// against the same traffic between two raw IRC users on the same server.
import type { WebSocket } from 'ws';
import type { App } from '../src/app.js';
import { Ngircd } from '../test/support/ngircd.js';
import { RawIrc } from '../test/support/raw-irc.js';
import { HOST, median, openWs, portOf, startApp, within } from './lib.js';
import type { Row, Suite } from './table.js';

const MESSAGES = 5000;
const ROUNDS = 3;
const CHANNEL = '#bench';
/** Actions the OneBot client keeps in flight (forward WS allows 100 by default). */
const WINDOW = 50;

/** Raw user `from` says MESSAGES lines; resolves with lines/s once `arrived()` counts them all. */
async function say(from: RawIrc, target: string, round: number, arrived: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < MESSAGES; i++) from.say(target, `r${round} message ${i} with some ordinary chat text`);
  await within(arrived(), 120_000, 'IRC messages');
  return MESSAGES / ((performance.now() - t0) / 1000);
}

/** Waits until `ws` received `n` group message events. */
function groupEvents(ws: WebSocket, n: number): Promise<void> {
  return new Promise((resolve) => {
    let count = 0;
    const onMessage = (d: Buffer) => {
      if (d.includes('"message_type":"group"') && d.includes('"post_type":"message"') && ++count === n) {
        ws.off('message', onMessage);
        resolve();
      }
    };
    ws.on('message', onMessage);
  });
}

/** The OneBot client sends MESSAGES send_group_msg, WINDOW in flight; resolves with lines/s once `to` has them all. */
async function botSays(ws: WebSocket, groupId: number, to: RawIrc, round: number): Promise<number> {
  const arrived = to.messages(MESSAGES, (l) => l.params[1]?.startsWith(`b${round} `) ?? false, 120_000);
  const t0 = performance.now();
  let sent = 0;
  let answered = 0;
  let failed = '';
  await within(
    new Promise<void>((resolve) => {
      const pump = () => {
        while (sent < MESSAGES && sent - answered < WINDOW) {
          ws.send(JSON.stringify({ action: 'send_group_msg', params: { group_id: groupId, message: `b${round} message ${sent} with some ordinary chat text`, auto_escape: true }, echo: sent }));
          sent++;
        }
      };
      ws.on('message', function onMessage(d: Buffer) {
        if (!d.includes('"echo"')) return;
        const res = JSON.parse(d.toString()) as { status: string; message: string };
        if (res.status !== 'ok') failed ||= res.message;
        if (++answered === MESSAGES) {
          ws.off('message', onMessage);
          resolve();
        } else pump();
      });
      pump();
    }),
    120_000,
    'send_group_msg answers',
  );
  if (failed) throw new Error(`send_group_msg failed: ${failed}`);
  await within(arrived, 120_000, 'bot lines at the channel');
  return MESSAGES / ((performance.now() - t0) / 1000);
}

export const irc: Suite = {
  name: 'irc',
  title: `IRC: ${MESSAGES} channel messages each way through onebridge vs between two raw IRC users (ngircd, flood penalties off, send_interval_ms 0)`,
  async run(): Promise<Row[]> {
    // Penalties off: with them ngircd lets any client say ~3 lines/s, and both sides would
    // only measure that.
    const server = await Ngircd.start({ limits: { MaxPenaltyTime: 0 } });
    let app: App | undefined;
    const users: RawIrc[] = [];
    let ws: WebSocket | undefined;
    try {
      const alice = await RawIrc.connect(server.port, 'alice');
      const bob = await RawIrc.connect(server.port, 'bob');
      users.push(alice, bob);
      await alice.join(CHANNEL);
      await bob.join(CHANNEL);
      app = await startApp({
        accounts: [{ adapter: { type: 'irc', host: HOST, port: server.port, nick: 'benchbot', channels: [CHANNEL], send_interval_ms: 0, max_queue: 100_000 } }],
        network: [{ type: 'ws', host: HOST, port: 0, heartbeat_interval_ms: 0 }],
      });
      await alice.waitFor((l) => l.command === 'JOIN' && l.nick === 'benchbot', 15_000, 'benchbot joining');
      ws = await openWs(`ws://${HOST}:${portOf(app)}/`);
      // The group id as the bot reports it.
      const first = new Promise<number>((resolve) => {
        ws!.on('message', function onMessage(d: Buffer) {
          const e = JSON.parse(d.toString()) as { message_type?: string; group_id?: number };
          if (e.message_type === 'group') {
            ws!.off('message', onMessage);
            resolve(e.group_id!);
          }
        });
      });
      alice.say(CHANNEL, 'hello bot');
      const groupId = await within(first, 10_000, 'first group message');

      const inRaw: number[] = [];
      const inBot: number[] = [];
      const outRaw: number[] = [];
      const outBot: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        // channel -> reader: bob reads alice (raw), the OneBot client reads alice (through onebridge).
        const bobGot = bob.messages(MESSAGES, (l) => l.params[1]?.startsWith(`r${2 * r} `) ?? false, 120_000);
        inRaw.push(await say(alice, CHANNEL, 2 * r, () => bobGot.then(() => {})));
        const botGot = groupEvents(ws, MESSAGES);
        inBot.push(await say(alice, CHANNEL, 2 * r + 1, () => botGot));
        // writer -> channel: bob writes (raw), the OneBot client writes through onebridge; alice reads both.
        const aliceGot = alice.messages(MESSAGES, (l) => l.nick === 'bob' && (l.params[1]?.startsWith(`r${2 * r + 100} `) ?? false), 120_000);
        outRaw.push(await say(bob, CHANNEL, 2 * r + 100, () => aliceGot.then(() => {})));
        outBot.push(await botSays(ws, groupId, alice, r));
      }
      return [
        // No target: onebridge does far more per message than a raw reader (parse, map, record,
        // JSON, a WebSocket frame each, and the OneBot client's side, all in this process), and
        // the ngircd process shares the two cores; the ratio is what it costs.
        { name: 'channel -> bot (OneBot event) vs channel -> raw user', onebridge: median(inBot), baseline: median(inRaw), unit: 'msgs/s' },
        { name: 'bot (send_group_msg) -> channel vs raw user -> channel', onebridge: median(outBot), baseline: median(outRaw), unit: 'msgs/s' },
      ];
    } finally {
      ws?.terminate();
      await app?.stop();
      for (const u of users) await u.quit();
      await server.stop();
    }
  },
};
