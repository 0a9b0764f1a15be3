// Start fast and small: cold start of `onebridge` (CLI process, config read and validated,
// sandbox account, one forward-WS listener) to its "ready" line, and its RSS at that moment,
// against a minimal CommonJS `ws` server (one WebSocketServer on port 0) started the same way.
// Both are fresh processes; the two alternate, and the median of RUNS counts.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { median } from './lib.js';
import type { Row, Suite } from './table.js';

const RUNS = 11;
const CLI = resolve(import.meta.dirname, '../bin/onebridge.js');

interface Start {
  readonly ms: number;
  readonly rssMiB: number;
}

/** RSS of a live process, from /proc (Linux and Android); what the kernel charges it. */
function rssOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) / 1024;
}

/**
 * Spawns a fresh process and times it from spawn to its ready line, with its RSS then. `end`
 * says how it goes after: SIGKILL (a measured run: nothing it does after ready counts), or
 * SIGTERM and a wait for its exit (the run that fills the compile cache: Node writes the cache
 * when a process exits, never when it is killed).
 */
function startOnce(
  args: string[],
  ready: RegExp,
  env: NodeJS.ProcessEnv,
  end: 'kill' | 'exit' = 'kill',
): Promise<Start> {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let done = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ready line, or no exit, within 30 s from ${args.join(' ')}:\n${out}`));
    }, 30_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (done || !ready.test(out)) return;
      done = true;
      const ms = performance.now() - t0;
      const rssMiB = rssOf(child.pid!);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (end === 'exit' && code !== 0)
          reject(new Error(`${args.join(' ')} exited with ${code ?? signal} after SIGTERM:\n${out}`));
        else resolvePromise({ ms, rssMiB });
      });
      child.kill(end === 'kill' ? 'SIGKILL' : 'SIGTERM');
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
  });
}

export const startup: Suite = {
  name: 'startup',
  title:
    '(s) cold start to ready, and RSS at ready: onebridge (sandbox + one forward WS) vs a minimal CommonJS ws server',
  async run(): Promise<Row[]> {
    const dir = mkdtempSync(join(tmpdir(), 'onebridge-bench-start-'));
    try {
      const wsPath = createRequire(import.meta.url).resolve('ws');
      const minimal = join(dir, 'minimal-ws.cjs');
      writeFileSync(
        minimal,
        `const { WebSocketServer } = require(${JSON.stringify(wsPath)});\nconst wss = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => console.log('ready ' + wss.address().port));\nprocess.on('SIGTERM', () => wss.close());\n`,
      );
      const config = join(dir, 'c.yaml');
      writeFileSync(config, 'sandbox: { console: false }\nnetwork:\n  - { type: ws, port: 0 }\n');
      // Node >= 22.1 keeps compiled code here (the CLI turns the cache on; NODE_COMPILE_CACHE
      // turns it on for the minimal server too). The first, discarded run of each fills it, as
      // the first start after an install does, and ends the way a user stops it (SIGTERM, a
      // clean exit), since Node writes the cache only at exit.
      const env = { NODE_COMPILE_CACHE: join(dir, 'compile-cache') };
      const ob = (end?: 'exit') => startOnce([CLI, '-c', config, '--log-format', 'json'], /"ready: /, env, end);
      const raw = (end?: 'exit') => startOnce([minimal], /ready \d+/, env, end);
      const first = await ob('exit');
      await raw('exit');
      const obRuns: Start[] = [];
      const rawRuns: Start[] = [];
      for (let i = 0; i < RUNS; i++) {
        rawRuns.push(await raw());
        obRuns.push(await ob());
      }
      const med = (xs: Start[], key: keyof Start) => median(xs.map((x) => x[key]));
      const cache =
        typeof ((await import('node:module')).default as { enableCompileCache?: unknown }).enableCompileCache ===
        'function'
          ? 'compile cache on'
          : `no compile cache in node ${process.version}`;
      return [
        {
          name: 'cold start to ready',
          onebridge: med(obRuns, 'ms'),
          baseline: med(rawRuns, 'ms'),
          unit: 'ms',
          target: { max: 2 },
          note: `median of ${RUNS}; ${cache}`,
        },
        { name: 'first start (empty compile cache)', onebridge: first.ms, unit: 'ms' },
        {
          name: 'RSS at ready',
          onebridge: med(obRuns, 'rssMiB'),
          baseline: med(rawRuns, 'rssMiB'),
          unit: 'MiB',
          target: { max: 1.15 },
          note: `median of ${RUNS}`,
        },
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
