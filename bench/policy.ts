// (policy) What gateway policy costs: event fan-out through a typical go-cqhttp filter vs the
// same forward-WS fan-out with none. Both sides are onebridge in one process, interleaved.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from '../src/app.js';
import { measure, type Target } from './fanout.js';
import { compileFilter } from '../src/policy/filter.js';
import { groupMessages, HOST, median, portOf, startApp } from './lib.js';
import type { Row, Suite } from './table.js';

const CLIENTS = [1, 10];

/** A filter as users write them: a private branch, and a group list with a text test. Every bench event passes it. */
export const TYPICAL_FILTER = {
  '.or': [
    { message_type: 'private', user_id: { '.not': { '.in': [11111, 22222] } } },
    {
      message_type: 'group',
      group_id: { '.in': [30001, 30002, 30003] },
      anonymous: { '.eq': null },
      raw_message: { '.regex': '^hello' },
    },
  ],
};

// The installed command's entry (dist/bin/onebridge.js), as users start it.
const CLI = new URL('../bin/onebridge.js', import.meta.url).pathname;

/** Milliseconds from spawning the CLI to its "ready" log line; the child is stopped with SIGTERM. */
async function startup(config: string): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, '-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    return await new Promise<number>((resolve, reject) => {
      let err = '';
      const timer = setTimeout(() => reject(new Error(`no ready line within 20 s: ${err.slice(-300)}`)), 20_000);
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes('] ready:')) {
          clearTimeout(timer);
          resolve(performance.now() - t0);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`onebridge exited ${code} before ready: ${err.slice(-300)}`));
      });
    });
  } finally {
    // A child that already exited (it failed before ready) has no 'exit' left to wait for.
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
  }
}

export const policy: Suite = {
  name: 'policy',
  title: '(policy) fan-out with a typical event filter vs none (events x clients per second, forward WS)',
  async run(): Promise<Row[]> {
    let app: App | undefined;
    try {
      app = await startApp({
        network: [
          { type: 'ws', host: HOST, port: 0, heartbeat_interval_ms: 0 },
          { type: 'ws', host: HOST, port: 0, heartbeat_interval_ms: 0, filter: TYPICAL_FILTER },
        ],
      });
      const account = app.accounts.get(10001)!;
      // Both entries hear every event; each target's clients sit on one entry only.
      const target = (i: number, name: string): Target => ({
        name,
        url: `ws://${HOST}:${portOf(app!, i)}/event`,
        greeting: true,
        broadcast: (e) => account.emit('event', e),
      });
      const rows: Row[] = [];
      for (const n of CLIENTS) {
        const plain = await measure(target(0, 'no filter'), n);
        const filtered = await measure(target(1, 'filter'), n);
        rows.push({
          name: `fan-out to ${n} client${n === 1 ? '' : 's'}, filter vs none`,
          onebridge: filtered.rate,
          baseline: plain.rate,
          unit: 'events/s',
          target: { min: 0.8 },
          note: 'baseline = onebridge without filter',
        });
      }
      // The predicate alone, on the same events: what the filter adds per event, whatever the clients.
      const predicate = compileFilter(TYPICAL_FILTER);
      const events = groupMessages(10_000);
      let passed = 0;
      const t0 = performance.now();
      for (let r = 0; r < 20; r++) for (const e of events) if (predicate(e, 'array')) passed++;
      const seconds = (performance.now() - t0) / 1000;
      if (passed !== 200_000) throw new Error(`typical filter passed ${passed} of 200000 bench events`);
      rows.push({
        name: 'typical filter alone',
        onebridge: passed / seconds,
        unit: 'events/s',
        note: 'informational: evaluations per second, no I/O',
      });

      // prom-client is loaded only with admin on: startup to "ready" with admin (metrics) vs without.
      const dir = mkdtempSync(join(tmpdir(), 'onebridge-bench-'));
      try {
        const base =
          'sandbox: { console: false }\nlog: { level: info }\nnetwork:\n  - { type: ws, host: 127.0.0.1, port: 0 }\n';
        writeFileSync(join(dir, 'plain.yaml'), base);
        writeFileSync(join(dir, 'admin.yaml'), `${base}admin: { host: 127.0.0.1, port: 0 }\n`);
        const plain: number[] = [];
        const admin: number[] = [];
        for (let i = 0; i < 5; i++) {
          plain.push(await startup(join(dir, 'plain.yaml')));
          admin.push(await startup(join(dir, 'admin.yaml')));
        }
        rows.push({
          name: 'CLI start to ready, admin + /metrics on',
          onebridge: median(admin),
          baseline: median(plain),
          unit: 'ms',
          note: 'baseline = admin off (prom-client not loaded); informational',
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      return rows;
    } finally {
      await app?.stop();
    }
  },
};
