import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPackage } from './debian-package.js';

/**
 * A real IRC server for adapter tests: Debian's `ngircd`, in the foreground (`-n`) with a
 * temporary config on a free 127.0.0.1 port, stopped by PID. Every server started here is
 * also SIGKILLed when the test process exits, so a failed or interrupted test never leaves one
 * behind. Self-contained (node built-ins only): the IRC bench (bench/irc.ts) uses it too.
 */

const CANDIDATES = ['/usr/sbin/ngircd', '/usr/bin/ngircd', '/usr/local/sbin/ngircd', '/usr/local/bin/ngircd'];

function findBinary(): string | undefined {
  for (const path of CANDIDATES) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/**
 * The ngircd binary; installs the Debian package when it is missing and we are root with apt
 * (see ensureDebianPackage). Otherwise throws one line that names the package.
 */
export function ensureNgircd(): string {
  ensureDebianPackage({ name: 'ngircd', present: () => findBinary() !== undefined, neededBy: 'IRC tests' });
  return findBinary()!;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

export interface NgircdOptions {
  /** Extra `[Limits]` lines, e.g. `{ MaxNickLength: 9 }`. */
  readonly limits?: Record<string, string | number>;
  /** Seconds between server PINGs to idle clients (ngircd's default is 120). */
  readonly pingTimeout?: number;
}

/** One running ngircd. `stop()` in afterEach; it is idempotent. */
export class Ngircd {
  readonly port: number;
  readonly #binary: string;
  readonly #dir: string;
  readonly #config: string;
  #child: ChildProcess | undefined;
  #output = '';

  private constructor(binary: string, dir: string, port: number, options: NgircdOptions) {
    this.#binary = binary;
    this.#dir = dir;
    this.port = port;
    this.#config = join(dir, 'ngircd.conf');
    const limits = {
      MaxConnectionsIP: 0,
      MaxNickLength: 30,
      MaxJoins: 0,
      ...(options.pingTimeout ? { PingTimeout: options.pingTimeout, PongTimeout: options.pingTimeout } : {}),
      ...options.limits,
    };
    writeFileSync(
      this.#config,
      [
        '[Global]',
        'Name = irc.test',
        'Info = onebridge test server',
        'Listen = 127.0.0.1',
        `Ports = ${port}`,
        `PidFile = ${join(dir, 'pid')}`,
        'MotdPhrase = hi',
        '[Limits]',
        ...Object.entries(limits).map(([k, v]) => `${k} = ${v}`),
        '[Options]',
        'PAM = no',
        'Ident = no',
        'DNS = no',
        '',
      ].join('\n'),
    );
  }

  /** Starts a server on a free port, retrying with another port if the one picked was taken. */
  static async start(options: NgircdOptions = {}): Promise<Ngircd> {
    const binary = ensureNgircd();
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const dir = mkdtempSync(join(tmpdir(), 'onebridge-ngircd-'));
      // Started as root, ngircd drops to "nobody" before it writes its PID file.
      chmodSync(dir, 0o777);
      const server = new Ngircd(binary, dir, await freePort(), options);
      try {
        await server.#spawn();
        return server;
      } catch (err) {
        lastError = err;
        await server.stop();
      }
    }
    throw lastError;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** What the server printed (it logs to the console in the foreground). */
  get output(): string {
    return this.#output;
  }

  async #spawn(): Promise<void> {
    const child = spawn(this.#binary, ['-n', '-f', this.#config], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    live.add(child);
    child.once('exit', () => live.delete(child));
    const collect = (d: Buffer) => {
      // Bounded: a long test must not grow this without limit.
      this.#output = (this.#output + d.toString()).slice(-20_000);
    };
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const exited = once(child, 'exit').then(([code, signal]) => {
      throw new Error(
        `ngircd exited during start (code ${String(code)}, signal ${String(signal)}): ${this.#output.trim().split('\n').slice(-3).join(' | ')}`,
      );
    });
    exited.catch(() => {});
    const deadline = Date.now() + 15_000;
    for (;;) {
      const ok = await Promise.race([canConnect(this.port), exited]);
      if (ok) return;
      if (Date.now() > deadline)
        throw new Error(`ngircd did not listen on 127.0.0.1:${this.port} within 15 s: ${this.#output.slice(-500)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Starts the server again on the same port (after `kill()`), same config. */
  async restart(): Promise<void> {
    if (this.#child && this.#child.exitCode === null && this.#child.signalCode === null)
      throw new Error('ngircd is still running');
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await this.#spawn();
        return;
      } catch (err) {
        // The port may be held for a moment by the old process's sockets.
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** SIGSTOP: the server keeps its sockets open and answers nothing. */
  freeze(): void {
    this.#child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.#child?.kill('SIGCONT');
  }

  /** SIGKILL and wait for the exit: the server vanishes at once, as in a crash. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Stops the server (SIGTERM, then SIGKILL after 3 s) and removes its files. Idempotent. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGCONT');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => done(false), 1000);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}
