import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_FILE, VERSION } from '../src/package-info.js';
import { QUIET_CONFIG, runCli, runningFor, tempDirFor, type Finishing } from './support/cli.js';
import { runCliInProcess } from './support/cli-in-process.js';
import { startApp, TestClient } from './support/app.js';
import { slow } from './support/slow.js';

// What a command prints or validates is checked in process (runCliInProcess: the same parser,
// command bodies and error lines, without a Node start-up per run); each behaviour keeps a
// real-CLI smoke test for what only a process shows: the exit status and the bytes on stdout
// and stderr. Tests are independent and wait on child processes, so they run concurrently,
// each cleaning up through its own context.

/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const blocker: Server = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  await new Promise<void>((r) => blocker.close(() => r()));
  return port;
}

/** A loopback port held by another listener until the test ends. */
async function busyPort(ctx: Finishing): Promise<number> {
  const blocker: Server = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  ctx.onTestFinished(() => new Promise<void>((r) => blocker.close(() => r())));
  return (blocker.address() as { port: number }).port;
}

describe.concurrent('onebridge --help / --version / usage errors', () => {
  it('--version prints the package version (real CLI)', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
  });

  it('--help lists every command', async () => {
    const r = await runCliInProcess(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['start', 'init', 'check', 'status', '--log-level', '--version']) expect(r.stdout).toContain(cmd);
  });

  it('an unknown command exits 1 with a message (real CLI)', async () => {
    const cmd = await runCli(['frobnicate']);
    expect(cmd.code).toBe(1);
    expect(cmd.stderr).toMatch(/^onebridge: Unknown argument: frobnicate/);
    expect(cmd.stdout).toBe('');
  });

  it('an unknown option of a command exits 1 with a message', async () => {
    const opt = await runCliInProcess(['check', '--nope']);
    expect(opt.code).toBe(1);
    expect(opt.stderr).toMatch(/^onebridge: Unknown argument: nope/);
  });
});

describe.concurrent('onebridge init', () => {
  it('writes the commented default config, which validates, and refuses to overwrite without --force', async (ctx) => {
    const t = tempDirFor(ctx);
    const first = await runCliInProcess(['init', 'my.yaml'], { cwd: t.dir });
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`wrote ${t.dir}/my.yaml; edit it, then run: onebridge -c my.yaml\n`);
    const written = readFileSync(`${t.dir}/my.yaml`, 'utf8');
    expect(written).toBe(readFileSync(DEFAULT_CONFIG_FILE, 'utf8'));
    expect(written).toMatch(/^# onebridge configuration/);
    expect((await runCliInProcess(['check', '-c', 'my.yaml'], { cwd: t.dir })).code).toBe(0);

    t.write('my.yaml', 'mine: true\n');
    const again = await runCliInProcess(['init', 'my.yaml'], { cwd: t.dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`onebridge: ${t.dir}/my.yaml already exists; use --force to overwrite it\n`);
    expect(readFileSync(`${t.dir}/my.yaml`, 'utf8')).toBe('mine: true\n');
    expect((await runCliInProcess(['init', 'my.yaml', '--force'], { cwd: t.dir })).code).toBe(0);
    expect(readFileSync(`${t.dir}/my.yaml`, 'utf8')).toBe(written);
  });

  it('writes ./onebridge.yaml by default, which start-up checks accept (real CLI)', async (ctx) => {
    const t = tempDirFor(ctx);
    const r = await runCli(['init'], { cwd: t.dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`wrote ${t.dir}/onebridge.yaml; edit it, then run: onebridge -c onebridge.yaml\n`);
    expect(readFileSync(`${t.dir}/onebridge.yaml`, 'utf8')).toContain('type: sandbox');
    // An existing file: exit 1 and the one-line reason, from the real process.
    const again = await runCli(['init'], { cwd: t.dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`onebridge: ${t.dir}/onebridge.yaml already exists; use --force to overwrite it\n`);
  });
});

describe.concurrent('onebridge check', () => {
  it('exits 0 for a valid file and summarises it (real CLI)', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write('ok.yaml', QUIET_CONFIG());
    const r = await runCli(['check', '-c', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${file}: ok (1 account(s), 1 network entry, admin 127.0.0.1:0)\n`);
    expect(r.stderr).toBe('');
  });

  it('exits 1 for a broken file, the problem on stderr (real CLI)', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write('bad.yaml', 'network:\n  - { type: ws, port: abc }\n');
    const r = await runCli(['check', '-c', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `${file}: network[0].port: expected integer 0-65535 (0 picks a free port), got "abc"\n1 problem found\n`,
    );
  });

  it('prints every problem with its key path and exits 1', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write(
      'bad.yaml',
      [
        'accounts:',
        '  - { self_id: 1, adapter: { type: sandbox } }',
        '  - { self_id: 1, adapter: { type: sandbox } }',
        'network:',
        '  - { type: ws, port: abc, self_id: 1, prot: 1 }',
        '',
      ].join('\n'),
    );
    const r = await runCliInProcess(['check', '-c', file]);
    expect(r.code).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        `${file}: network[0].port: expected integer 0-65535 (0 picks a free port), got "abc"`,
        `${file}: network[0].prot: unknown key; remove it, or check its spelling`,
      ]),
    );
    expect(lines.at(-1)).toBe('2 problems found');
    // Duplicate ids are a cross-entry check: reported once the entries themselves parse.
    const dup = t.write(
      'dup.yaml',
      'accounts:\n  - { self_id: 1, adapter: { type: sandbox } }\n  - { self_id: 1, adapter: { type: sandbox } }\nnetwork: []\n',
    );
    const r2 = await runCliInProcess(['check', '-c', dup]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain(
      `${dup}: accounts[1].self_id: duplicate self_id 1 (also accounts[0].self_id); give each account its own id`,
    );
  });

  it('warns about risky but valid settings on stderr and still exits 0', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write(
      'risky.yaml',
      'network:\n  - { type: ws, port: 0 }\n  - { type: http, host: 0.0.0.0, port: 0, allowed_origins: ["*"] }\n',
    );
    const r = await runCliInProcess(['check', '-c', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${file}: ok`);
    expect(r.stderr.trim().split('\n')).toEqual([
      `${file}: network[1].host: warning: 0.0.0.0 is reachable from other machines and there is no access_token: anyone who reaches the port can use this HTTP API; set network[1].access_token, or bind 127.0.0.1`,
      `${file}: network[1].allowed_origins: warning: "*" lets every web page you open use this HTTP API, and there is no access_token; list the origins you need, or set network[1].access_token`,
    ]);
  });

  it('reports a YAML syntax error with its line', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write('syntax.yaml', 'network:\n  - type: ws\n   port: 1\n');
    const r = await runCliInProcess(['check', '-c', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${file}: YAML syntax error at line 3, column \\d+: `));
  });

  it('names a missing file and how to create it', async (ctx) => {
    const t = tempDirFor(ctx);
    const r = await runCliInProcess(['check', '-c', `${t.dir}/nope.yaml`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `${t.dir}/nope.yaml: cannot read the file: no such file; create it with "onebridge init ${t.dir}/nope.yaml"`,
    );
  });
});

describe.concurrent('config lookup', () => {
  it('uses $ONEBRIDGE_CONFIG when no -c is given, and -c over it', async (ctx) => {
    const t = tempDirFor(ctx);
    const env = t.write('env.yaml', QUIET_CONFIG());
    const flag = t.write('flag.yaml', 'log: { level: loud }\n');
    const fromEnv = await runCliInProcess(['check'], { cwd: t.dir, env: { ONEBRIDGE_CONFIG: env } });
    expect(fromEnv.stdout).toContain(`${env}: ok`);
    const r = await runCliInProcess(['check', '-c', flag], { cwd: t.dir, env: { ONEBRIDGE_CONFIG: env } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${flag}: log.level`);
  });

  it('then ./onebridge.yaml, then the built-in defaults', async (ctx) => {
    const t = tempDirFor(ctx);
    const env = { ONEBRIDGE_CONFIG: undefined };
    expect((await runCliInProcess(['check'], { cwd: t.dir, env })).stdout).toBe(
      `${DEFAULT_CONFIG_FILE}: ok (1 account(s), 1 network entry, admin 127.0.0.1:6790)\n`,
    );
    t.write('onebridge.yaml', QUIET_CONFIG());
    expect((await runCliInProcess(['check'], { cwd: t.dir, env })).stdout).toContain(`${t.dir}/onebridge.yaml: ok`);
  });

  it('start names the file it runs with (real CLI, $ONEBRIDGE_CONFIG unset, ./onebridge.yaml)', async (ctx) => {
    const t = tempDirFor(ctx);
    t.write('onebridge.yaml', QUIET_CONFIG());
    const cli = runningFor(ctx, [], { cwd: t.dir, env: { ONEBRIDGE_CONFIG: undefined } });
    await cli.ready();
    expect(cli.logs[0]!.message).toContain(`with config ${t.dir}/onebridge.yaml`);
  });
});

describe.concurrent('startup failures (real CLI)', () => {
  it('a bad config: one line naming the key, exit 1, no stack', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write('bad.yaml', 'network:\n  - { type: ws, port: 99999 }\n');
    const r = await runCli(['-c', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `onebridge: config ${file}: network[0].port: expected integer 0-65535 (0 picks a free port), got 99999\n`,
    );
  });

  it('a port in use: one line naming the key and the address, exit 1, no stack unless debug', async (ctx) => {
    const port = await busyPort(ctx);
    const t = tempDirFor(ctx);
    const file = t.write('busy.yaml', `sandbox: { console: false }\nnetwork:\n  - { type: ws, port: ${port} }\n`);
    const [r, debug] = await Promise.all([
      runCli(['-c', file, '--log-level', 'warn']),
      runCli(['-c', file, '--log-level', 'debug']),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `onebridge: network[0].port: 127.0.0.1:${port} is already in use (EADDRINUSE); stop the other process or choose another port\n`,
    );
    expect(debug.code).toBe(1);
    expect(debug.stderr).toContain('EADDRINUSE');
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('the admin port in use names admin.port, and nothing stays listening', async (ctx) => {
    const port = await busyPort(ctx);
    const t = tempDirFor(ctx);
    const file = t.write(
      'busy.yaml',
      `sandbox: { console: false }\nnetwork:\n  - { type: ws, port: 0 }\nadmin: { port: ${port} }\n`,
    );
    const t0 = Date.now();
    const r = await runCli(['-c', file, '--log-level', 'error']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `onebridge: admin.port: 127.0.0.1:${port} is already in use (EADDRINUSE); stop the other process or choose another port\n`,
    );
    expect(Date.now() - t0).toBeLessThan(slow(5000));
  });
});

describe.concurrent('onebridge status', () => {
  it('prints the live connections of a running instance as a table (real CLI both sides), and as JSON', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write('c.yaml', QUIET_CONFIG());
    const cli = runningFor(ctx, ['-c', file]);
    const { ws, admin } = await cli.ready();
    const a = await TestClient.open(`ws://127.0.0.1:${ws[0]}/`);
    ctx.onTestFinished(() => a.close());
    const b = await TestClient.open(`ws://127.0.0.1:${ws[0]}/api`);
    ctx.onTestFinished(() => b.close());
    await b.call('get_status', {}, 1);
    const aPort = (a.ws as unknown as { _socket: { localPort: number } })._socket.localPort;
    const bPort = (b.ws as unknown as { _socket: { localPort: number } })._socket.localPort;
    await cli.waitUntil(
      () => (cli.logs.filter((l) => l.message.startsWith('connected #')).length === 2 ? true : undefined),
      3000,
      'two connects',
    );

    const r = await runCli(['status', '--admin', `http://127.0.0.1:${admin}`]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TRANSPORT\s+ROLE\s+ACCOUNT\s+REMOTE/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^1\\s+ws\\s+universal\\s+10001\\s+127\\.0\\.0\\.1:${aPort}\\s+ws://127\\.0\\.0\\.1:${ws[0]}\\s+\\d+s\\s+open\\s+0/0B\\s+1/`,
      ),
    );
    expect(lines[2]).toMatch(
      new RegExp(`^2\\s+ws\\s+api\\s+10001\\s+127\\.0\\.0\\.1:${bPort}\\s+.*\\s+1/\\d+B\\s+1/\\d+B$`),
    );
    expect(lines[3]).toBe('2 live connections');

    const json = await runCliInProcess(['status', '--json', '--admin', `http://127.0.0.1:${admin}`]);
    expect(json.code).toBe(0);
    const body = JSON.parse(json.stdout) as { count: number; connections: Array<{ remote: string; role: string }> };
    expect(body.count).toBe(2);
    expect(body.connections.map((c) => [c.role, c.remote])).toEqual([
      ['universal', `127.0.0.1:${aPort}`],
      ['api', `127.0.0.1:${bPort}`],
    ]);
  });

  it('finds the admin endpoint from the config and sends its token', async (ctx) => {
    const t = tempDirFor(ctx);
    const config = (port: number) =>
      `sandbox: { console: false }\nnetwork: []\nadmin: { port: ${port}, access_token: adm }\n`;
    const app = await startApp(config(0));
    ctx.onTestFinished(async () => void (await app.stop()));
    // The address the app bound, written into the config that `status -c` reads.
    const port = Number(new URL(app.admin!.url).port);
    const file = t.write('c.yaml', config(port));
    const ok = await runCliInProcess(['status', '-c', file]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^no live connections\nfile descriptors: \d+ open of \d+; client sockets 0 of \d+\n$/);
    const refused = await runCliInProcess(['status', '--admin', `http://127.0.0.1:${port}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(
      `onebridge: admin endpoint http://127.0.0.1:${port} refused the token (401); pass --token or set admin.access_token\n`,
    );
    expect((await runCliInProcess(['status', '--admin', `http://127.0.0.1:${port}`, '--token', 'adm'])).code).toBe(0);
  });

  it('says clearly when nothing is running there (real CLI)', async () => {
    const port = await closedPort();
    const r = await runCli(['status', '--admin', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `onebridge: no onebridge answering at http://127.0.0.1:${port} (ECONNREFUSED); is it running, and is admin: set in its config?\n`,
    );
  });

  it('says when something took the connection but never answered, after --timeout-ms', async (ctx) => {
    // A stopped onebridge: the kernel still accepts connections, nothing reads them.
    const held = new Set<Socket>();
    const silent: Server = createServer((socket) => void held.add(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    ctx.onTestFinished(async () => {
      const closed = new Promise<void>((r) => silent.close(() => r()));
      for (const socket of held) socket.destroy();
      await closed;
    });
    const port = (silent.address() as { port: number }).port;
    for (const command of ['status', 'reload']) {
      const r = await runCliInProcess([command, '--admin', `http://127.0.0.1:${port}`, '--timeout-ms', '200']);
      expect(r.code, command).toBe(1);
      expect(r.stderr, command).toBe(
        `onebridge: http://127.0.0.1:${port} took the connection but did not answer within 200 ms; is that onebridge stopped (Ctrl+Z, SIGSTOP) or overloaded? Try again, or wait longer with --timeout-ms\n`,
      );
    }
    const bad = await runCliInProcess(['status', '--admin', `http://127.0.0.1:${port}`, '--timeout-ms', '0']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      'onebridge: --timeout-ms: expected a whole number of milliseconds from 1 to 3600000, e.g. --timeout-ms 20000\n',
    );
  });

  it('says when the config has no admin endpoint', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write('c.yaml', 'network: []\n');
    const r = await runCliInProcess(['status', '-c', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`admin: the admin endpoint is off in ${file}`);
  });
});
