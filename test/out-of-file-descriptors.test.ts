import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { FdBudget, fdLimit } from '../src/transport/fd-budget.js';
import { until } from './support/app.js';
import { CLI, runCli, tempDir, type LogLine } from './support/cli.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Opens a WebSocket; resolves with 101 (kept open) or the refusal's HTTP status, or 0 for a reset. */
function dial(port: number, open: WebSocket[]): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      open.push(ws);
      resolve(101);
    });
    ws.on('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) resolve(0);
    });
  });
}

describe('near the open-file limit (real CLI under ulimit -n 256)', () => {
  it('warns at start, refuses extra clients with 503 and one EMFILE line naming the limit and fix, keeps admin and status working, recovers', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const file = t.write('c.yaml', 'sandbox: { console: false }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0, max_connections: 1000 }\nadmin: { port: 0 }\nshutdown: { grace_ms: 1000 }\n');
    const child = spawn('sh', ['-c', `ulimit -n 256 && exec "${process.execPath}" "${CLI}" --log-format json -c "${file}"`], { stdio: ['ignore', 'ignore', 'pipe'] });
    cleanups.push(() => void child.kill('SIGKILL'));
    const logs: LogLine[] = [];
    let partial = '';
    child.stderr!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) logs.push(JSON.parse(l) as LogLine);
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    await until(() => logs.some((l) => /^ready: /.test(l.message)), 20_000, 'ready');
    const port = Number(logs.map((l) => /listening on ws:\/\/[^:]+:(\d+)/.exec(l.message)?.[1]).find(Boolean));
    const admin = logs.map((l) => /admin endpoint on (http:\/\/\S+)/.exec(l.message)?.[1]).find(Boolean)!;
    expect(logs.find((l) => /open-file limit \(256\) is below what network\[0\]\.max_connections \(1000\) need/.test(l.message))?.message).toMatch(/ulimit -n/);

    const open: WebSocket[] = [];
    cleanups.push(() => open.forEach((ws) => ws.terminate()));
    const results = await Promise.all(Array.from({ length: 400 }, () => dial(port, open)));
    const count = (s: number) => results.filter((r) => r === s).length;
    // Some in, the rest told why (503), none left hanging or reset.
    expect(count(101)).toBeGreaterThan(50);
    expect(count(503)).toBeGreaterThan(50);
    expect(count(101) + count(503)).toBe(400);
    const warnings = logs.filter((l) => /out of file descriptors \(EMFILE\)/.test(l.message));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/open-file limit 256, \d+ open; .*refused new connections .*ulimit -n .*max_connections/);

    // The admin endpoint still answers, and status shows the descriptors.
    const res = await fetch(`${admin}/connections`);
    const body = (await res.json()) as { fds: { open: number; limit: number; client_sockets: number; client_budget: number } };
    expect(body.fds).toMatchObject({ limit: 256, client_sockets: count(101) });
    expect(body.fds.open).toBeGreaterThan(count(101));
    const status = await runCli(['status', '--admin', admin], { timeoutMs: 20_000 });
    expect(status.stdout).toMatch(new RegExp(`file descriptors: \\d+ open of 256; client sockets ${count(101)} of \\d+`));

    // Recovers: once clients leave, new ones get in.
    for (const ws of open.splice(0)) ws.terminate();
    await until(() => logs.filter((l) => /^disconnected /.test(l.message)).length >= count(101), 20_000, 'clients gone');
    const again: WebSocket[] = [];
    cleanups.push(() => again.forEach((ws) => ws.terminate()));
    expect(await dial(port, again)).toBe(101);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 90_000);
});

describe('FdBudget', () => {
  it('has no cap where the limit is unknown, and reads the soft limit', () => {
    expect(new FdBudget({ limit: () => undefined }).cap).toBe(Number.POSITIVE_INFINITY);
    expect(fdLimit(() => 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            256                  4096                 files\n')).toBe(256);
    expect(fdLimit(() => 'Max open files            unlimited            unlimited            files\n')).toBe(Number.POSITIVE_INFINITY);
    expect(fdLimit(() => {
      throw new Error('no /proc');
    })).toBeUndefined();
  });
});
