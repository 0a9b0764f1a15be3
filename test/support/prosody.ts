import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianPackage } from './debian-package.js';

/**
 * A real Prosody for tests: Debian package `prosody`, installed here when missing (root + apt),
 * else one clear error naming the package. Each instance has its own temp config and data
 * folder, listens for c2s on a free 127.0.0.1 port, runs in the foreground as our child, and is
 * stopped by PID (`stop()` in afterEach; also when a test failed).
 *
 * The domain is `localhost`, rooms live on `conference.localhost` (created by joining, not
 * locked; the room archive gives XEP-0359 stanza ids), accounts have MAM for 1:1 stanza ids.
 */
export class Prosody {
  static readonly DOMAIN = 'localhost';
  static readonly MUC = 'conference.localhost';

  readonly dir: string;
  readonly config: string;
  port = 0;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  private constructor(dir: string) {
    this.dir = dir;
    this.config = join(dir, 'prosody.cfg.lua');
  }

  /** With `tls`: the direct-TLS port (`xmpps://`); c2s then offers STARTTLS too. */
  tlsPort = 0;
  /** With `tls`: the self-signed certificate (PEM) the server presents, for clients to trust. */
  certificate = '';

  /**
   * Installs if needed, writes a config, registers `accounts`, starts, waits for the port.
   * `tls: true` makes a self-signed certificate for localhost/127.0.0.1 (openssl) and turns on
   * STARTTLS on the c2s port (then required: no login in the clear) and direct TLS on `tlsPort`.
   */
  static async start(accounts: Record<string, string> = {}, options: { tls?: boolean } = {}): Promise<Prosody> {
    ensureProsody();
    const p = new Prosody(mkdtempSync(join(tmpdir(), 'onebridge-prosody-')));
    try {
      p.port = await freePort();
      if (options.tls) {
        p.tlsPort = await freePort();
        // Prosody finds <host>.crt / <host>.key in its certificates folder by itself.
        mkdirSync(join(p.dir, 'certs'));
        execFileSync(
          'openssl',
          [
            'req',
            '-x509',
            '-newkey',
            'rsa:2048',
            '-nodes',
            '-keyout',
            join(p.dir, 'certs', 'localhost.key'),
            '-out',
            join(p.dir, 'certs', 'localhost.crt'),
            '-days',
            '2',
            '-subj',
            '/CN=localhost',
            '-addext',
            'subjectAltName=DNS:localhost,IP:127.0.0.1',
          ],
          { stdio: 'ignore', timeout: 60_000 },
        );
        p.certificate = readFileSync(join(p.dir, 'certs', 'localhost.crt'), 'utf8');
      }
      mkdirSync(join(p.dir, 'data'), { recursive: true });
      p.#writeConfig(options.tls ?? false);
      await Promise.all(Object.entries(accounts).map(([user, password]) => p.register(user, password)));
      await p.#spawn();
      return p;
    } catch (err) {
      await p.stop();
      throw err;
    }
  }

  get service(): string {
    return `xmpp://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get tlsService(): string {
    return `xmpps://127.0.0.1:${this.tlsPort}`;
  }

  /**
   * `prosodyctl register`: works with the server stopped or running (same data folder). Async, so
   * start() registers its accounts side by side (each run is a Lua start-up, a few hundred ms)
   * and the test's own sockets and timers keep running meanwhile.
   */
  register(user: string, password: string): Promise<void> {
    return new Promise((resolve, reject) => {
      execFile(
        'prosodyctl',
        ['--config', this.config, 'register', user, Prosody.DOMAIN, password],
        { encoding: 'utf8', timeout: 30_000 },
        (err, stdout, stderr) => {
          if (err)
            reject(new Error(`prosodyctl register ${user} failed (${err.code ?? err.signal}): ${stderr || stdout}`));
          else resolve();
        },
      );
    });
  }

  /** SIGSTOP: the TCP port stays open but nothing answers (a hung server). */
  freeze(): void {
    this.#child?.kill('SIGSTOP');
  }

  thaw(): void {
    this.#child?.kill('SIGCONT');
  }

  /** SIGKILL and wait for the exit: clients see their connection drop. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    this.#child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    }
    await this.#exited;
  }

  /** Starts again on the same port with the same data (accounts, rooms' archives). */
  async restart(): Promise<void> {
    await this.kill();
    await this.#spawn();
  }

  /** Kills the server (by PID) and removes its folder. Safe to call twice. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Prosody's own log, for failure messages. */
  log(): string {
    try {
      return readFileSync(join(this.dir, 'prosody.log'), 'utf8') + readFileSync(join(this.dir, 'err.log'), 'utf8');
    } catch {
      return '';
    }
  }

  #writeConfig(tls: boolean): void {
    const d = this.dir;
    const tlsLines = tls ? `certificates = "${d}/certs"\nc2s_direct_tls_ports = { ${this.tlsPort} }\n` : '';
    writeFileSync(
      this.config,
      `-- written by test/support/prosody.ts
run_as_root = true
pidfile = "${d}/prosody.pid"
data_path = "${d}/data"
daemonize = false
log = { info = "${d}/prosody.log"; error = "${d}/err.log" }
c2s_ports = { ${this.port} }
s2s_ports = { }
interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
http_ports = { }
https_ports = { }
c2s_require_encryption = ${tls}
allow_unencrypted_plain_auth = true
authentication = "internal_plain"
modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "register"; "mam"${tls ? '; "tls"' : ''} }
modules_disabled = { "s2s"${tls ? '' : '; "tls"'} }
archive_expires_after = "never"
${tlsLines}VirtualHost "${Prosody.DOMAIN}"
Component "${Prosody.MUC}" "muc"
    modules_enabled = { "muc_mam" }
    muc_room_locking = false
    restrict_room_creation = false
`,
    );
  }

  async #spawn(): Promise<void> {
    const child = spawn('prosody', ['-F', '--config', this.config], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const failed = new Promise<never>((_, reject) =>
      child.once('exit', (code, signal) =>
        reject(new Error(`prosody exited (${code ?? signal}) before listening: ${output}${this.log()}`)),
      ),
    );
    failed.catch(() => {});
    // Bound scales with the machine: Prosody starts in ~0.3 s here, emulated arm64 is ~10x slower.
    const deadline = Date.now() + 30_000;
    while (!(await Promise.race([canConnect(this.port), failed]))) {
      if (Date.now() > deadline)
        throw new Error(`prosody did not listen on 127.0.0.1:${this.port} within 30 s: ${output}${this.log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

let checked = false;

/** Installs the Debian package when missing and we can (root + apt); else one line naming it. */
export function ensureProsody(): void {
  if (checked) return;
  ensureDebianPackage({
    name: 'prosody',
    present: () =>
      spawnSync('sh', ['-c', 'command -v prosody && command -v prosodyctl'], { stdio: 'ignore' }).status === 0,
    neededBy: 'XMPP tests',
    // As before: lua-event and lua-unbound came with the server the XMPP tests ran against.
    recommends: true,
  });
  checked = true;
}

/** A port free on 127.0.0.1 right now (the OS picks it; released before Prosody binds). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

// At import, while vitest collects the file: a first install (apt-get update + install, a
// minute or two on a fresh machine) then runs outside any test's or hook's timeout.
ensureProsody();
