import { afterEach, describe, expect, it, vi } from 'vitest';
import { TestClient } from './support/app.js';
import { CLI, CLI_BOUND_MS, CLI_TEST_MS, tempDir } from './support/cli.js';
import { execLine, spawnUnderPty } from './support/pty.js';
import { slow } from './support/slow.js';

// Several CLI runs per test: bounds for emulated arm64 (~10x slower), not for speed.
vi.setConfig({ testTimeout: slow(CLI_TEST_MS), hookTimeout: slow(CLI_TEST_MS) });

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PROMPT = 'Alice(20001) @ group 30001> ';

describe('the sandbox console on a terminal (a pty from script(1))', () => {
  it('keeps log lines out of the prompt, shows message ids, cuts huge messages, says what /as 99999 and Ctrl+D do', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const file = t.write('c.yaml', 'network:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\n');
    const child = spawnUnderPty(execLine([CLI, '-c', file]), { NO_COLOR: '1' });
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let out = '';
    const waiters: Array<() => void> = [];
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const w of waiters.splice(0)) w();
    });
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    /** Wait until the output after `from` matches; returns the index just past the match. */
    const waitFor = async (pattern: RegExp, from = 0): Promise<number> => {
      const deadline = Date.now() + slow(CLI_BOUND_MS);
      for (;;) {
        const m = pattern.exec(out.slice(from));
        if (m) return from + m.index + m[0].length;
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${pattern}; output:\n${JSON.stringify(out.slice(-3000))}`);
        await new Promise<void>((r) => {
          const timer = setTimeout(r, 500);
          waiters.push(() => {
            clearTimeout(timer);
            r();
          });
        });
      }
    };
    const type = (keys: string) => child.stdin.write(keys);

    await waitFor(/forward WS listening on ws:\/\/127\.0\.0\.1:\d+/);
    const port = Number(/forward WS listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
    let at = await waitFor(new RegExp(PROMPT.replace(/[()]/g, '\\$&')));

    // Your own message: its id, which /recall needs.
    type('hello\r');
    at = await waitFor(/ {2}sent #1\r?\n/, at);

    // A log line while the prompt is on screen (with a half-typed line): it clears the prompt
    // line first, and the prompt comes back after it with what was typed.
    type('half');
    await waitFor(/half/, at);
    const client = await TestClient.open(`ws://127.0.0.1:${port}/`);
    cleanups.push(() => client.close());
    at = await waitFor(/connected #\d+[^\n]*\n/, at);
    const logLine = out.lastIndexOf('connected #', at);
    expect(out.slice(logLine - 200, logLine)).toMatch(/\r\x1b\[K[^\r\n]*$/);
    at = await waitFor(new RegExp(`${PROMPT.replace(/[()]/g, '\\$&')}half`), at);
    type('\x15'); // Ctrl+U: clear the half line

    // A bot's message with its id; a 1 MB message is cut on screen.
    await client.call('send_group_msg', { group_id: 30001, message: 'x'.repeat(1_000_000) }, 1, CLI_BOUND_MS);
    at = await waitFor(/\[group 30001\] #2 onebridge-bot\(10001\): x{2000}… \(998000 more characters\)/, at);
    expect(out.length).toBeLessThan(200_000);

    type('/as 99999\r');
    at = await waitFor(/! no such user 99999; users: 20001, 20002, 20003/, at);

    // Ctrl+D ends the console, says so, and onebridge keeps running until Ctrl+C.
    type('\x04');
    at = await waitFor(/console closed \(Ctrl\+D\); onebridge keeps running\. Ctrl\+C or SIGTERM stops it\./, at);
    expect(child.exitCode).toBeNull();
    type('\x03');
    await waitFor(/shutdown complete/, at);
    expect(await exited).toBe(0);
  });
});
