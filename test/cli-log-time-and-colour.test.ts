import { spawn } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { CLI, CLI_BOUND_MS, CLI_TEST_MS, tempDirFor, type Finishing } from './support/cli.js';
import { execLine, spawnUnderPty } from './support/pty.js';
import { slow } from './support/slow.js';

// Several CLI runs per test: bounds for emulated arm64 (~10x slower), not for speed.
vi.setConfig({ testTimeout: slow(CLI_TEST_MS), hookTimeout: slow(CLI_TEST_MS) });

// The runs are independent and each waits on its own child: they run side by side.

/**
 * Runs `onebridge` (through script(1) for a pty when asked) until its ready line, then SIGINT;
 * returns everything it printed. Text logs, as a person would see them.
 */
function runUntilReady(ctx: Finishing, config: string, env: NodeJS.ProcessEnv, pty = false): Promise<string> {
  const t = tempDirFor(ctx);
  const file = t.write('c.yaml', config);
  const child = pty
    ? spawnUnderPty(execLine([CLI, '-c', file]), env)
    : spawn(process.execPath, [CLI, '-c', file], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
  ctx.onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    let out = '';
    let stopped = false;
    const timer = setTimeout(() => reject(new Error(`no ready line within the bound:\n${out}`)), slow(CLI_BOUND_MS));
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!stopped && /ready: /.test(out)) {
        stopped = true;
        // Through a pty Ctrl+C is the way in; without one, the signal.
        if (pty) child.stdin!.write('\x03');
        else child.kill('SIGINT');
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', (err) =>
      reject(new Error(`script(1) is needed for the pty test (Debian package bsdutils/util-linux): ${err.message}`)),
    );
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

const CONFIG = 'sandbox: { console: false }\nnetwork: []\nadmin: { port: 0 }\n';

/** Minutes between a logged wall-clock time (read as if it were UTC) and now. */
function offsetMinutes(line: string): number {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3}) /.exec(line);
  if (!m) throw new Error(`no local timestamp at the start of: ${line}`);
  return Math.round((Date.parse(`${m[1]}T${m[2]}Z`) - Date.now()) / 60_000);
}

describe.concurrent('log timestamps', () => {
  it('are local time by default (TZ honoured), UTC on request', async (ctx) => {
    const [local, utc] = await Promise.all([
      runUntilReady(ctx, CONFIG, { TZ: 'Asia/Kolkata' }),
      runUntilReady(ctx, `${CONFIG}log: { timezone: utc }\n`, { TZ: 'Asia/Kolkata' }),
    ]);
    const first = local.split('\n')[0]!;
    expect(first).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} info  \[main\] onebridge /);
    // Kolkata is UTC+5:30 all year: 330 minutes, give or take the time the run took.
    expect(Math.abs(offsetMinutes(first) - 330)).toBeLessThanOrEqual(1);

    const line = utc.split('\n')[0]!;
    const iso = /^(\S+Z) info  \[main\]/.exec(line)?.[1];
    expect(iso, line).toBeDefined();
    expect(Math.abs(Date.parse(iso!) - Date.now())).toBeLessThan(60_000);
  });
});

describe.concurrent('log colour', () => {
  it('on a terminal the level is coloured; NO_COLOR turns it off; a pipe never gets colour', async (ctx) => {
    const [tty, noColour, piped] = await Promise.all([
      runUntilReady(ctx, CONFIG, { NO_COLOR: '' }, true),
      runUntilReady(ctx, CONFIG, { NO_COLOR: '1' }, true),
      runUntilReady(ctx, CONFIG, { NO_COLOR: '' }),
    ]);
    expect(tty).toContain('\x1b[32minfo \x1b[0m [main] onebridge');
    expect(noColour).toMatch(/ info  \[main\] onebridge/);
    expect(noColour).not.toContain('\x1b[');
    expect(piped).not.toContain('\x1b[');
  });
});
