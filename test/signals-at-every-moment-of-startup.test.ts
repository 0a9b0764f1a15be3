import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { catchShutdownSignals, handleShutdownSignals } from '../src/signals.js';
import { until } from './support/app.js';
import { freePort } from './support/framework.js';
import { CLI, QUIET_CONFIG, RunningCli, tempDir } from './support/cli.js';
import { slow } from './support/slow.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * Whether the process has its own SIGHUP handler yet (bit 0 of SigCgt; Node itself catches SIGINT
 * and SIGTERM). Under qemu-user (emulated arm64) the kernel sees the emulator, which catches every
 * signal from its first instant (SIGQUIT, bit 2, included, which Node never catches): then the
 * mask says nothing about onebridge and `undefined` is returned.
 */
function catchesSignals(pid: number): boolean | undefined {
  try {
    const mask = BigInt(`0x${/SigCgt:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0'}`);
    if (mask & 4n) return undefined;
    return (mask & 1n) === 1n;
  } catch {
    return false;
  }
}

/**
 * Resolves once the child's handlers are in. Where the kernel cannot tell (emulation), from its
 * first output: onebridge's first log line comes after them, so the earliest moments before that
 * line are probed on native runs only.
 */
async function handlersInstalled(child: ChildProcess, printed: () => boolean): Promise<void> {
  const deadline = Date.now() + slow(20_000);
  for (;;) {
    const caught = catchesSignals(child.pid!);
    if (caught === true || (caught === undefined && printed())) return;
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error('onebridge never installed its signal handlers');
    // A 1 ms poll, not a setImmediate spin: the spin held a core the starting child needs.
    await new Promise((r) => setTimeout(r, 1));
  }
}

describe('signals at every moment of startup (real CLI)', () => {
  // From the moment bin.js has caught the signals (the first thing it does) through module
  // loading, config, listen and ready: every one ends in exit 0 with the summary line.
  for (const [signal, delayMs] of [
    ['SIGINT', 0],
    ['SIGINT', 5],
    ['SIGTERM', 15],
    ['SIGINT', 30],
    ['SIGHUP', 60],
    ['SIGINT', 120],
    ['SIGINT', 250],
  ] as const) {
    it(`${signal} ${delayMs} ms after the handlers are in: exit 0 with the summary`, async () => {
      const t = tempDir();
      cleanups.push(t.cleanup);
      const child = spawn(process.execPath, [CLI, '-c', t.write('c.yaml', QUIET_CONFIG())], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      cleanups.push(() => void child.kill('SIGKILL'));
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) =>
        child.on('exit', (code, sig) => r([code, sig])),
      );
      await handlersInstalled(child, () => stderr.length > 0);
      // Time is the subject: each case lands the signal at another moment of startup.
      await new Promise((r) => setTimeout(r, delayMs));
      child.kill(signal);
      expect(await exited, stderr).toEqual([0, null]);
      expect(stderr).toMatch(new RegExp(`${signal}( during startup)?: shutting down`));
      expect(stderr).toMatch(/shutdown complete: closed \d+ connections?, \d+ terminated after \d+ ms/);
      expect(stderr).not.toMatch(/ error /);
    });
  }

  it('a relay waiting to learn its self_id from a down upstream: SIGINT is a clean exit 0, not "start was aborted"', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const port = await freePort();
    const cli = new RunningCli([
      '-c',
      t.write(
        'c.yaml',
        `accounts:\n  - adapter: { type: relay, upstream: { mode: ws, url: "ws://127.0.0.1:${port}/", action_timeout_ms: 60000, reconnect: { initial_ms: 50, max_ms: 100 } } }\nnetwork:\n  - { type: ws, port: 0 }\n`,
      ),
    ]);
    cleanups.push(() => cli.kill());
    await cli.waitForLog(/cannot connect to/);
    cli.signal('SIGINT');
    const { code } = await cli.exited;
    expect(code).toBe(0);
    expect(cli.logs.some((l) => /^shutdown complete: /.test(l.message))).toBe(true);
    expect(cli.stderr).not.toMatch(/start was aborted|could not learn/);
    expect(cli.logs.filter((l) => l.level === 'error')).toEqual([]);
  });

  it('commands that run no server keep the default action: SIGINT during `status` ends it by the signal', async () => {
    // An admin endpoint that accepts and never answers: status waits on it.
    const { silentServer } = await import('./support/framework.js');
    const silent = await silentServer();
    cleanups.push(() => silent.close());
    const child = spawn(process.execPath, [CLI, 'status', '--admin', `http://127.0.0.1:${silent.port}`], {
      stdio: 'ignore',
    });
    cleanups.push(() => void child.kill('SIGKILL'));
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) =>
      child.on('exit', (code, sig) => r([code, sig])),
    );
    await until(() => silent.sockets.length > 0, 20_000, 'status to connect');
    child.kill('SIGINT');
    expect(await exited).toEqual([null, 'SIGINT']);
  });
});

describe('signals caught before a handler is given', () => {
  it('are replayed to it with their times: a repeat inside the window is ignored, a later one forces', async () => {
    catchShutdownSignals();
    const got: string[] = [];
    process.emit('SIGHUP', 'SIGHUP');
    process.emit('SIGHUP', 'SIGHUP');
    const remove = handleShutdownSignals({
      onShutdown: (s) => got.push(`shutdown ${s}`),
      onForce: (s) => got.push(`force ${s}`),
      repeatWindowMs: 50,
    });
    cleanups.push(remove);
    expect(got).toEqual(['shutdown SIGHUP']);
    // Time is the subject: the next one comes after the 50 ms repeat window.
    await new Promise((r) => setTimeout(r, 80));
    process.emit('SIGHUP', 'SIGHUP');
    expect(got).toEqual(['shutdown SIGHUP', 'force SIGHUP']);
  });
});
