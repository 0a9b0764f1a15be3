// (c) Shutdown: time from SIGINT to process exit of the real CLI with 1,000 connected clients,
// none mute and 10% mute (handshake done, then never read nor answer). The raw column is a
// `ws` server child doing the same close protocol (1001, grace, terminate) with no logging:
// the floor set by the clients and the close handshakes themselves.
import type { ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { forkServer, median, openMany, openMute, spawnCli, terminateAll, within } from './lib.js';
import type { Row, Suite } from './table.js';

const CLIENTS = 1000;
const GRACE_MS = 1000;
const RUNS = 3;

const YAML = `# written by bench/shutdown.ts
network:
  - type: ws
    host: 127.0.0.1
    port: 0
shutdown: { grace_ms: ${GRACE_MS} }
sandbox: { console: false }
log: { level: info }
`;

interface Server {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** Resolves once the server has registered `n` connections. */
  ready(n: number): Promise<void>;
  kill(): Promise<void>;
  log(): string;
}

async function onebridgeServer(): Promise<Server> {
  const cli = await spawnCli(YAML);
  return {
    ...cli,
    log: cli.log,
    async ready(n) {
      const t0 = performance.now();
      const live = new RegExp(`; ${n} live`);
      while (!live.test(cli.log())) {
        if (performance.now() - t0 > 10_000) throw new Error(`onebridge never logged "${n} live"`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

async function rawServer(): Promise<Server> {
  const s = await forkServer('raw', GRACE_MS);
  // A raw server registers a client before its 101 goes out: open clients are registered.
  return { ...s, ready: async () => {}, log: () => '' };
}

/** One spawn, CLIENTS connections, SIGINT; ms from the signal to the exit event. */
async function once(start: () => Promise<Server>, muteShare: number): Promise<number> {
  const server = await start();
  let clients: WebSocket[] = [];
  const mutes: Socket[] = [];
  try {
    const muteCount = Math.round(CLIENTS * muteShare);
    clients = await openMany(`ws://127.0.0.1:${server.port}/`, CLIENTS - muteCount);
    for (let i = 0; i < muteCount; i++) mutes.push(await openMute(server.port));
    await server.ready(CLIENTS);
    const closes = clients.map((ws) => new Promise<number>((resolve) => ws.once('close', resolve)));
    const t0 = performance.now();
    server.child.kill('SIGINT');
    const code = await within(server.exited, GRACE_MS + 5000, 'exit after SIGINT');
    const ms = performance.now() - t0;
    if (code !== 0) throw new Error(`server exited with ${String(code)}:\n${server.log().slice(-2000)}`);
    const codes = await within(Promise.all(closes), 5000, 'client close events');
    const not1001 = codes.filter((c) => c !== 1001).length;
    if (not1001) throw new Error(`${not1001} well-behaved clients did not get close code 1001`);
    if (
      server.log() &&
      !new RegExp(`shutdown complete: closed ${CLIENTS} connections, ${muteCount} terminated`).test(server.log())
    ) {
      throw new Error(`wrong shutdown summary: ${/shutdown complete.*/.exec(server.log())?.[0] ?? 'none'}`);
    }
    return ms;
  } finally {
    for (const s of mutes) s.destroy();
    await terminateAll(clients);
    await server.kill();
  }
}

async function row(muteShare: number, target: number): Promise<Row> {
  const ob: number[] = [];
  const raw: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    raw.push(await once(rawServer, muteShare));
    ob.push(await once(onebridgeServer, muteShare));
  }
  return {
    name: `SIGINT to exit, ${CLIENTS} clients, ${Math.round(muteShare * 100)}% mute`,
    onebridge: median(ob),
    baseline: median(raw),
    unit: 'ms',
    target: { max: target },
    targetOn: 'value',
    note: `median of ${RUNS}, onebridge worst ${Math.round(Math.max(...ob))} ms`,
  };
}

export const shutdown: Suite = {
  name: 'shutdown',
  title: `(c) shutdown of the real CLI, grace_ms ${GRACE_MS} (target on onebridge's time; raw = ws server child, same close protocol, no logs)`,
  async run(): Promise<Row[]> {
    return [await row(0, 300), await row(0.1, GRACE_MS + 200)];
  },
};
