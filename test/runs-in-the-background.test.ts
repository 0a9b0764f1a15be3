import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { consoleInput, inForeground } from '../adapters/sandbox/console-mode.js';
import { getLogger } from '../src/logger.js';
import { TestClient, until } from './support/app.js';
import { CLI, runningFor, tempDirFor, type Finishing, type RunningCli } from './support/cli.js';
import { execLine, spawnUnderPty } from './support/pty.js';

// Independent real-CLI tests that mostly wait on their child: they run concurrently, each
// cleaning up through its own test context.

/** What the CLI has written to `file` so far ('' before it exists). */
function logSoFar(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** What the console logs when it is done with stdin (debug lines among them: run at debug). */
const NOT_A_TERMINAL = /^sandbox console off: stdin is not a terminal/;
const INPUT_ENDED = /^console input ended/;
const UNREADABLE = /^sandbox console off: cannot read stdin \(EBADF\)/;

const CONFIG = (console: string) =>
  `sandbox: { console: ${console} }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\nshutdown: { grace_ms: 1000 }\n`;

async function getStatus(ctx: Finishing, port: number): Promise<Record<string, unknown>> {
  const c = await TestClient.open(`ws://127.0.0.1:${port}/api`);
  ctx.onTestFinished(() => c.close());
  return c.call('get_status', {}, 's', 10_000);
}

/**
 * Once `stdinDone` is logged (the console's last word on stdin), still serves a client, then
 * SIGTERM: exit 0, no error line.
 */
async function servesThenStops(ctx: Finishing, cli: RunningCli, stdinDone: RegExp): Promise<void> {
  const {
    ws: [port],
  } = await cli.ready();
  await cli.waitForLog(stdinDone);
  // Nothing read from stdin has ended it.
  expect(await getStatus(ctx, port!)).toMatchObject({ status: 'ok' });
  expect(cli.child.exitCode).toBeNull();
  cli.signal('SIGTERM');
  expect((await cli.exited).code).toBe(0);
  expect(cli.logs.filter((l) => l.level === 'error')).toEqual([]);
}

describe.concurrent('stdin that cannot be read is never fatal (real CLI)', () => {
  for (const setting of ['auto', 'true']) {
    it(`nohup's write-only /dev/null as stdin (EBADF on read), sandbox.console: ${setting}: serves, exits 0`, async (ctx) => {
      const t = tempDirFor(ctx);
      const fd = openSync('/dev/null', 'w');
      ctx.onTestFinished(() => closeSync(fd));
      const cli = runningFor(ctx, ['--log-level', 'debug', '-c', t.write('c.yaml', CONFIG(setting))], { stdin: fd });
      await servesThenStops(ctx, cli, setting === 'true' ? UNREADABLE : NOT_A_TERMINAL);
    });
  }

  for (const [name, setting] of [
    ['/dev/null (end of input at once)', 'true'],
    ['/dev/null', 'auto'],
  ] as const) {
    it(`stdin ${name}, sandbox.console: ${setting}: serves, exits 0`, async (ctx) => {
      const t = tempDirFor(ctx);
      const cli = runningFor(ctx, ['--log-level', 'debug', '-c', t.write('c.yaml', CONFIG(setting))], {
        stdin: 'ignore',
      });
      await servesThenStops(ctx, cli, setting === 'true' ? INPUT_ENDED : NOT_A_TERMINAL);
    });
  }

  it('stdin closed (<&-): serves, exits 0', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write('c.yaml', CONFIG('true'));
    const child = spawn('sh', ['-c', `exec "${process.execPath}" "${CLI}" --log-format json -c "${file}" <&-`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    ctx.onTestFinished(() => void child.kill('SIGKILL'));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    // 'close', not 'exit': the stderr check below must see the child's last lines.
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await until(() => /"ready: /.test(stderr), 20_000, 'ready');
    const port = Number(/listening on ws:\/\/[^:]+:(\d+)/.exec(stderr)![1]);
    expect(await getStatus(ctx, port)).toMatchObject({ status: 'ok' });
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/"level":"error"/);
  });
});

describe.concurrent('in the background of an interactive terminal (real CLI under a pseudo-terminal)', () => {
  /** Runs `shell` under script(1): a real terminal, with job control. Returns the screen so far. */
  function underPty(
    ctx: Finishing,
    shellCommand: string,
  ): { screen: () => string; exited: Promise<number | null>; kill: () => void } {
    const child = spawnUnderPty(shellCommand);
    ctx.onTestFinished(() => void child.kill('SIGKILL'));
    let screen = '';
    child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
    return {
      screen: () => screen,
      exited: new Promise((r) => child.on('exit', (code) => r(code))),
      kill: () => void child.kill('SIGKILL'),
    };
  }

  it('`onebridge &` with job control: no console, not stopped by the terminal, answers; SIGTERM exits 0', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write('c.yaml', CONFIG('auto'));
    const log = `${t.dir}/log`;
    // set -m: a job control shell, as an interactive one; the job gets its own process group.
    const pty = underPty(
      ctx,
      `sh -c 'set -m; "${process.execPath}" "${CLI}" --log-format json -c "${file}" 2>"${log}" & echo "job=$!"; wait $!; echo "exit=$?"'`,
    );
    await until(() => /job=\d+/.test(pty.screen()), 20_000, 'the job');
    const pid = Number(/job=(\d+)/.exec(pty.screen())![1]);
    const text = () => logSoFar(log);
    // Logged by the sandbox right after the ready line.
    await until(() => /sandbox console off: running in the background/.test(text()), 20_000, 'the console decision');
    const port = Number(/listening on ws:\/\/[^:]+:(\d+)/.exec(text())![1]);
    expect(await getStatus(ctx, port)).toMatchObject({ status: 'ok' });
    process.kill(pid, 'SIGTERM');
    await until(() => /exit=\d+/.test(pty.screen()), 20_000, 'the job to end');
    expect(pty.screen()).toMatch(/exit=0/);
    expect(pty.screen()).not.toMatch(/Stopped|suspended/i);
    expect(text()).toMatch(/shutdown complete/);
  });

  it('`nohup onebridge > log 2>&1`: stdin is the write-only /dev/null nohup gives a terminal; serves, exits 0', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write('c.yaml', CONFIG('auto'));
    const log = `${t.dir}/log`;
    const pty = underPty(
      ctx,
      `sh -c 'nohup "${process.execPath}" "${CLI}" --log-format json -c "${file}" >"${log}" 2>&1 & echo "job=$!"; wait $!; echo "exit=$?"'`,
    );
    await until(() => /job=\d+/.test(pty.screen()), 20_000, 'the job');
    const pid = Number(/job=(\d+)/.exec(pty.screen())![1]);
    const text = () => logSoFar(log);
    await until(() => /"ready: /.test(text()), 20_000, 'ready');
    const port = Number(/listening on ws:\/\/[^:]+:(\d+)/.exec(text())![1]);
    expect(await getStatus(ctx, port)).toMatchObject({ status: 'ok' });
    process.kill(pid, 'SIGTERM');
    await until(() => /exit=\d+/.test(pty.screen()), 20_000, 'the job to end');
    expect(pty.screen()).toMatch(/exit=0/);
    expect(text()).not.toMatch(/"level":"error"/);
  });

  it('in the foreground of a terminal, auto gives the console', async (ctx) => {
    const t = tempDirFor(ctx);
    const pty = underPty(ctx, execLine([CLI, '-c', t.write('c.yaml', CONFIG('auto'))]));
    await until(() => /Alice\(20001\) @ group 30001> /.test(pty.screen()), 20_000, 'the console prompt');
  });

  it('the terminal goes away under the console (window closed): no error loop, SIGHUP shuts down cleanly', async (ctx) => {
    const t = tempDirFor(ctx);
    const log = `${t.dir}/log`;
    const pty = underPty(
      ctx,
      `${execLine([CLI, '--log-format', 'json', '-c', t.write('c.yaml', CONFIG('auto'))])} 2>'${log}'`,
    );
    const text = () => logSoFar(log);
    await until(() => /Alice\(20001\) @ group 30001> /.test(pty.screen()), 20_000, 'the console prompt');
    const pid = Number(/pid (\d+)/.exec(text())![1]);
    ctx.onTestFinished(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone, as it should be */
      }
    });
    // SIGKILL to script(1) closes the terminal's master side: reads and writes on the
    // terminal fail with EIO and the kernel hangs up onebridge's session (SIGHUP).
    pty.kill();
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await until(() => !alive(), 20_000, 'onebridge to exit after the hang-up');
    const lines = text()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    expect(text()).toMatch(/"SIGHUP: shutting down/);
    expect(text()).toMatch(/shutdown complete: closed \d+ connections?, \d+ terminated/);
    expect(text()).not.toMatch(/uncaught exception|did not finish within grace/);
    // Before the fix, each failed write to the dead terminal logged another failed write: tens
    // of thousands of lines a second until the shutdown backstop.
    expect(lines.length).toBeLessThan(30);
  });
});

describe.concurrent('console mode', () => {
  const logger = getLogger('test');
  it('auto: a terminal in the foreground only; true: also lines from a pipe; false: never', () => {
    const fg = () => true;
    const bg = () => false;
    expect(consoleInput('auto', { isTTY: true }, logger, fg)).toBe('terminal');
    expect(consoleInput('auto', { isTTY: true }, logger, bg)).toBeUndefined();
    expect(consoleInput('auto', {}, logger, fg)).toBeUndefined();
    expect(consoleInput(true, {}, logger, fg)).toBe('lines');
    expect(consoleInput(true, { isTTY: true }, logger, bg)).toBeUndefined();
    expect(consoleInput(false, { isTTY: true }, logger, fg)).toBeUndefined();
  });

  it('reads the foreground from /proc/self/stat (comm may hold spaces and parentheses)', () => {
    expect(inForeground(() => '123 (node) x) S 1 123 123 34816 123 4194304')).toBe(true);
    expect(inForeground(() => '123 (node) S 1 123 123 34816 456 4194304')).toBe(false);
    expect(inForeground(() => '123 (node) S 1 123 123 0 -1 4194304')).toBe(false);
    expect(
      inForeground(() => {
        throw new Error('no /proc');
      }),
    ).toBe(true);
  });
});
