import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { slow } from './slow.js';

/** The installed `onebridge` command's entry point (it catches signals before the CLI loads). */
export const CLI = resolve(import.meta.dirname, '../../dist/bin/onebridge.js');
/**
 * Hang guards for one CLI run and for a test of several, as on native x64. The helpers here scale
 * them by SLOWDOWN (x10 on emulated arm64); a test that uses them directly wraps them in slow().
 */
export const CLI_BOUND_MS = 20_000;
export const CLI_TEST_MS = 60_000;

/**
 * The environment and folder children start from, as they were when the suite started:
 * runCliInProcess swaps process.env and the working directory while a run is in progress,
 * and a concurrent test spawning a child then must not inherit them.
 */
const BASE_ENV: NodeJS.ProcessEnv = { ...process.env };
const BASE_CWD = process.cwd();

/** The part of vitest's test context that per-test cleanup needs (safe in concurrent tests). */
export interface Finishing {
  onTestFinished(fn: () => void | Promise<void>): void;
}

/** A temp dir removed when the test `ctx` finishes. */
export function tempDirFor(ctx: Finishing): ReturnType<typeof tempDir> {
  const t = tempDir();
  ctx.onTestFinished(t.cleanup);
  return t;
}

/** A RunningCli killed when the test `ctx` finishes. */
export function runningFor(ctx: Finishing, args: string[], options?: ConstructorParameters<typeof RunningCli>[1]) {
  const cli = new RunningCli(args, options);
  ctx.onTestFinished(() => cli.kill());
  return cli;
}

/** A temp dir removed by `cleanup()`; tests call it in afterEach. */
export function tempDir(): { dir: string; write(name: string, text: string): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'onebridge-test-'));
  return {
    dir,
    write: (name, text) => {
      const file = join(dir, name);
      writeFileSync(file, text);
      return file;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI to completion (commands that exit by themselves), bounded by `timeoutMs` (scaled by SLOWDOWN). */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; uid?: number; gid?: number } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? BASE_CWD,
      env: { ...BASE_ENV, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const limit = slow(options.timeoutMs ?? 10_000);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`onebridge ${args.join(' ')} did not exit within ${limit} ms\n${stderr}`));
    }, limit);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

export interface LogLine {
  level: string;
  message: string;
  component: string;
  [key: string]: unknown;
}

/**
 * A running `onebridge start` with JSON logs on stderr. `waitFor` finds log lines;
 * `exited` resolves with code/signal and the time of exit, once all its output is read. `kill()` in afterEach.
 */
export class RunningCli {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  #waiters: Array<() => void> = [];
  #partial = '';

  constructor(
    args: string[],
    options: {
      cwd?: string;
      env?: NodeJS.ProcessEnv;
      /** 'ignore' is /dev/null for reading; a number is a file descriptor. */ stdin?: 'pipe' | 'ignore' | number;
    } = {},
  ) {
    this.child = spawn(process.execPath, [CLI, '--log-format', 'json', ...args], {
      cwd: options.cwd ?? BASE_CWD,
      env: { ...BASE_ENV, ...options.env },
      stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.stdout += d.toString();
      this.#wake();
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      const text = d.toString();
      this.stderr += text;
      const lines = (this.#partial + text).split('\n');
      this.#partial = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          /* a non-JSON line (fatal startup error): kept in stderr */
        }
      }
      this.#wake();
    });
    // Timed at 'exit', resolved at 'close': the child's last output can still be in the pipes when
    // it exits, and a test that reads the shutdown summary after `exited` must find it.
    this.exited = new Promise((resolvePromise) => {
      let at = 0;
      this.child.once('exit', () => (at = Date.now()));
      this.child.once('close', (code, signal) => {
        resolvePromise({ code, signal, at: at || Date.now() });
        this.#wake();
      });
    });
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Wait until `check` returns a value (not undefined), re-checked on every output; `ms` is scaled by SLOWDOWN. */
  async waitUntil<T>(check: () => T | undefined, ms = 8000, what = 'output'): Promise<T> {
    const deadline = Date.now() + slow(ms);
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; stderr so far:\n${this.stderr.slice(-3000)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  waitForLog(pattern: RegExp, ms?: number): Promise<LogLine> {
    return this.waitUntil(() => this.logs.find((l) => pattern.test(l.message)), ms, `log ${pattern}`);
  }

  /** Ports from the startup log lines, once the app is ready. */
  async ready(ms?: number): Promise<{ ws: number[]; admin?: number }> {
    await this.waitForLog(/^ready: /, ms);
    const ws = this.logs
      .map((l) => /forward WS listening on ws:\/\/[^:]+:(\d+)/.exec(l.message)?.[1])
      .filter((p): p is string => !!p)
      .map(Number);
    const admin = this.logs.map((l) => /admin endpoint on http:\/\/[^:]+:(\d+)/.exec(l.message)?.[1]).find(Boolean);
    return admin ? { ws, admin: Number(admin) } : { ws };
  }

  signal(sig: NodeJS.Signals): number {
    this.child.kill(sig);
    return Date.now();
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

export const QUIET_CONFIG = (extra = '') => `sandbox: { console: false }
network:
  - { type: ws, port: 0, heartbeat_interval_ms: 0 }
admin: { port: 0 }
${extra}`;
