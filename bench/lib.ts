// Shared plumbing for bench suites: in-process apps, raw baselines, bulk clients, the CLI.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';
import { App } from '../src/app.js';
import { builtinAdapters } from '../adapters/index.js';
import { buildConfigSchema } from '../src/config/schema.js';
import { groupMessageEvent } from '../src/onebot/events.js';
import type { OneBotEvent } from '../src/onebot/types.js';
import { configureLogging } from '../src/logger.js';
import type { ChildMessage } from './server-child.js';

export const HOST = '127.0.0.1';

/** Children still running; killed when the bench exits, even after a suite timed out mid-run. */
const liveChildren = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  return child;
}
/** dist/bin/onebridge.js (the `onebridge` command), next to this file's compiled dist/bench/ directory. */
export const CLI = fileURLToPath(new URL('../bin/onebridge.js', import.meta.url));

/**
 * Starts onebridge in this process on the given config (sandbox console off, logs at warn so
 * thousands of connect lines do not drown the table). The caller stops it with `app.stop()`.
 */
export async function startApp(config: Record<string, unknown>): Promise<App> {
  configureLogging({ level: 'warn' });
  const app = new App(buildConfigSchema(builtinAdapters).parse({ sandbox: { console: false }, shutdown: { grace_ms: 1000 }, ...config }), { adapters: builtinAdapters });
  await app.start();
  return app;
}

/** The real port of transport `index` (listening on port 0), for transports that expose one. */
export function portOf(app: App, index = 0): number {
  const t = app.transports[index] as unknown as { port?: number };
  if (typeof t.port !== 'number') throw new Error(`transport ${index} has no port`);
  return t.port;
}

/** A raw `ws` server on 127.0.0.1:0 with the options onebridge uses (no compression). */
export async function rawWsServer(): Promise<{ wss: WebSocketServer; port: number; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: HOST, port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const port = (wss.address() as { port: number }).port;
  return {
    wss,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** Rejects after `ms` unless `work` settles first; the timer never outlives the call. */
export async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Opens one WebSocket; resolves once open and, with `greeting`, once its first frame arrived
 * (onebridge's lifecycle event), so that frame is never counted as work.
 */
export function openWs(url: string, greeting = false): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('error', reject);
    const done = () => {
      ws.off('error', reject);
      ws.on('error', () => {});
      resolve(ws);
    };
    if (greeting) ws.once('message', done);
    else ws.once('open', done);
  });
}

/** Opens `n` WebSockets, at most `parallel` handshakes at a time (the listen backlog is finite). */
export async function openMany(url: string, n: number, greeting = false, parallel = 200): Promise<WebSocket[]> {
  const out: WebSocket[] = [];
  for (let i = 0; i < n; i += parallel) {
    const batch = await Promise.all(Array.from({ length: Math.min(parallel, n - i) }, () => openWs(url, greeting)));
    out.push(...batch);
  }
  return out;
}

/** Cuts every socket and resolves once all report close (bounded: 5 s). */
export async function terminateAll(sockets: Iterable<WebSocket>): Promise<void> {
  const closes: Promise<unknown>[] = [];
  for (const ws of sockets) {
    if (ws.readyState === WebSocket.CLOSED) continue;
    closes.push(new Promise((resolve) => ws.once('close', resolve)));
    ws.terminate();
  }
  await within(Promise.all(closes), 5000, 'terminating clients').catch(() => {});
}

/**
 * A "mute" client: raw TCP that completes the WebSocket handshake, then never reads or
 * answers anything (a frozen or stopped-reading peer). Resolves once the 101 arrived.
 */
export function openMute(port: number, path = '/'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: HOST, port });
    let head = '';
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.pause();
      socket.off('error', reject);
      socket.on('error', () => {});
      if (head.startsWith('HTTP/1.1 101')) resolve(socket);
      else reject(new Error(`mute client: no 101: ${head.split('\r\n')[0]}`));
    };
    socket.on('data', onData);
  });
}

/** Value at quantile `q` (0..1) of an ascending array. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function median(values: readonly number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

export interface Cli {
  readonly child: ChildProcess;
  readonly port: number;
  /** Resolves with the exit code (or signal) once the process is gone. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** Everything written to stderr so far. */
  log(): string;
  /** SIGKILL if still running, and remove the temp config. Idempotent. */
  kill(): Promise<void>;
}

/**
 * Spawns the real CLI (`node dist/bin/onebridge.js -c <tmp yaml>`) and resolves once its forward WS
 * server logged "forward WS listening on ws://127.0.0.1:PORT". The yaml should use port 0.
 */
export async function spawnCli(yaml: string, timeoutMs = 10_000): Promise<Cli> {
  // e.g. BENCH_NODE_ARGS=--cpu-prof to profile the server side of a run.
  const nodeArgs = process.env['BENCH_NODE_ARGS']?.split(' ').filter(Boolean) ?? [];
  const dir = mkdtempSync(join(tmpdir(), 'onebridge-bench-'));
  const file = join(dir, 'onebridge.yaml');
  writeFileSync(file, yaml);
  const child = track(spawn(process.execPath, [...nodeArgs, CLI, '-c', file], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const port = new Promise<number>((resolve, reject) => {
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
      const m = /forward WS listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((code) => reject(new Error(`onebridge exited (${String(code)}) before listening:\n${stderr}`)));
  });
  try {
    return { child, port: await within(port, timeoutMs, 'onebridge start'), exited, log: () => stderr, kill };
  } catch (err) {
    await kill();
    throw err;
  }
}

export interface ServerChild {
  readonly child: ChildProcess;
  readonly port: number;
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** RSS and heap of the child after a full GC. */
  memory(): Promise<{ rss: number; heapUsed: number }>;
  /** SIGKILL if still running. Idempotent. */
  kill(): Promise<void>;
}

/**
 * Forks bench/server-child.js: onebridge (in-process App, default forward WS settings) or a raw
 * `ws` server, each alone in its process with --expose-gc. Resolves once it listens.
 */
export async function forkServer(mode: 'raw' | 'onebridge', graceMs = 1000): Promise<ServerChild> {
  // The young generation is pinned at its usual maximum: V8 otherwise grows it from 1 to 16 MiB
  // mid-run, whenever allocation picks up, which adds ~3 KiB "per connection" to one run and
  // not the next. A per-process cost, identical for both servers; pinned, the delta is per socket.
  const execArgv = ['--expose-gc', '--min-semi-space-size=16', '--max-semi-space-size=16'];
  const child = track(fork(fileURLToPath(new URL('./server-child.js', import.meta.url)), [mode, String(graceMs)], { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }));
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const next = <T extends ChildMessage['type']>(type: T) =>
    within(
      new Promise<Extract<ChildMessage, { type: T }>>((resolve, reject) => {
        const onMessage = (msg: ChildMessage) => {
          if (msg.type !== type) return;
          child.off('message', onMessage);
          resolve(msg as Extract<ChildMessage, { type: T }>);
        };
        child.on('message', onMessage);
        void exited.then((code) => reject(new Error(`${mode} server child exited (${String(code)})`)));
      }),
      10_000,
      `${mode} server child ${type}`,
    );
  try {
    const { port } = await next('listening');
    return {
      child,
      port,
      exited,
      kill,
      memory: async () => {
        const reply = next('memory');
        child.send({ type: 'memory' });
        const { rss, heapUsed } = await reply;
        return { rss, heapUsed };
      },
    };
  } catch (err) {
    await kill();
    throw err;
  }
}

/** A typical group message: what bots mostly receive. Fresh objects, so nothing is pre-encoded. */
export function groupMessages(count: number): OneBotEvent[] {
  return Array.from({ length: count }, (_, i) =>
    groupMessageEvent(10001, {
      message_id: i + 1,
      group_id: 30001,
      user_id: 20001,
      message: [
        { type: 'text', data: { text: `hello from the bench, message ${i}` } },
        { type: 'at', data: { qq: '10001' } },
      ],
      sender: { user_id: 20001, nickname: 'Alice', sex: 'female', age: 0, card: '', role: 'owner', title: '' },
    }),
  );
}
