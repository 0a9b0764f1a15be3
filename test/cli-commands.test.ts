import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_FILE, VERSION } from '../src/package-info.js';
import { QUIET_CONFIG, RunningCli, runCli, tempDir } from './support/cli.js';
import { TestClient, until } from './support/app.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tmp() {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t;
}

function running(args: string[], options?: ConstructorParameters<typeof RunningCli>[1]): RunningCli {
  const cli = new RunningCli(args, options);
  cleanups.push(() => cli.kill());
  return cli;
}

describe('onebridge --help / --version / usage errors', () => {
  it('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
  });

  it('--help lists every command', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['start', 'init', 'check', 'status', '--log-level', '--version']) expect(r.stdout).toContain(cmd);
  });

  it('an unknown command or option exits 1 with a message', async () => {
    const cmd = await runCli(['frobnicate']);
    expect(cmd.code).toBe(1);
    expect(cmd.stderr).toMatch(/^onebridge: Unknown argument: frobnicate/);
    const opt = await runCli(['check', '--nope']);
    expect(opt.code).toBe(1);
    expect(opt.stderr).toMatch(/Unknown argument: nope/);
  });
});

describe('onebridge init', () => {
  it('writes the commented default config, which validates, and refuses to overwrite without --force', async () => {
    const t = tmp();
    const first = await runCli(['init', 'my.yaml'], { cwd: t.dir });
    expect(first.code).toBe(0);
    const written = readFileSync(`${t.dir}/my.yaml`, 'utf8');
    expect(written).toBe(readFileSync(DEFAULT_CONFIG_FILE, 'utf8'));
    expect(written).toMatch(/^# onebridge configuration/);
    expect((await runCli(['check', '-c', 'my.yaml'], { cwd: t.dir })).code).toBe(0);

    t.write('my.yaml', 'mine: true\n');
    const again = await runCli(['init', 'my.yaml'], { cwd: t.dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`onebridge: ${t.dir}/my.yaml already exists; use --force to overwrite it\n`);
    expect(readFileSync(`${t.dir}/my.yaml`, 'utf8')).toBe('mine: true\n');
    expect((await runCli(['init', 'my.yaml', '--force'], { cwd: t.dir })).code).toBe(0);
    expect(readFileSync(`${t.dir}/my.yaml`, 'utf8')).toBe(written);
  });

  it('writes ./onebridge.yaml by default', async () => {
    const t = tmp();
    expect((await runCli(['init'], { cwd: t.dir })).code).toBe(0);
    expect(readFileSync(`${t.dir}/onebridge.yaml`, 'utf8')).toContain('type: sandbox');
  });
});

describe('onebridge check', () => {
  it('exits 0 for a valid file and summarises it', async () => {
    const t = tmp();
    const file = t.write('ok.yaml', QUIET_CONFIG());
    const r = await runCli(['check', '-c', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${file}: ok (1 account(s), 1 network entry, admin 127.0.0.1:0)\n`);
  });

  it('prints every problem with its key path and exits 1', async () => {
    const t = tmp();
    const file = t.write('bad.yaml', ['accounts:', '  - { self_id: 1, adapter: { type: sandbox } }', '  - { self_id: 1, adapter: { type: sandbox } }', 'network:', '  - { type: ws, port: abc, self_id: 1, prot: 1 }', ''].join('\n'));
    const r = await runCli(['check', '-c', file]);
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
    const dup = t.write('dup.yaml', 'accounts:\n  - { self_id: 1, adapter: { type: sandbox } }\n  - { self_id: 1, adapter: { type: sandbox } }\nnetwork: []\n');
    const r2 = await runCli(['check', '-c', dup]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain(`${dup}: accounts[1].self_id: duplicate self_id 1 (also accounts[0].self_id); give each account its own id`);
  });

  it('warns about risky but valid settings on stderr and still exits 0', async () => {
    const t = tmp();
    const file = t.write('risky.yaml', 'network:\n  - { type: ws, port: 0 }\n  - { type: http, host: 0.0.0.0, port: 0, allowed_origins: ["*"] }\n');
    const r = await runCli(['check', '-c', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${file}: ok`);
    expect(r.stderr.trim().split('\n')).toEqual([
      `${file}: network[1].host: warning: 0.0.0.0 is reachable from other machines and there is no access_token: anyone who reaches the port can use this HTTP API; set network[1].access_token, or bind 127.0.0.1`,
      `${file}: network[1].allowed_origins: warning: "*" lets every web page you open use this HTTP API, and there is no access_token; list the origins you need, or set network[1].access_token`,
    ]);
  });

  it('reports a YAML syntax error with its line', async () => {
    const t = tmp();
    const file = t.write('syntax.yaml', 'network:\n  - type: ws\n   port: 1\n');
    const r = await runCli(['check', '-c', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^${file}: YAML syntax error at line 3, column \\d+: `));
  });

  it('names a missing file and how to create it', async () => {
    const t = tmp();
    const r = await runCli(['check', '-c', `${t.dir}/nope.yaml`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${t.dir}/nope.yaml: cannot read the file: no such file; create it with "onebridge init ${t.dir}/nope.yaml"`);
  });
});

describe('config lookup', () => {
  it('uses $ONEBRIDGE_CONFIG when no -c is given, and -c over it', async () => {
    const t = tmp();
    const env = t.write('env.yaml', QUIET_CONFIG());
    const flag = t.write('flag.yaml', 'log: { level: loud }\n');
    expect((await runCli(['check'], { cwd: t.dir, env: { ONEBRIDGE_CONFIG: env } })).stdout).toContain(`${env}: ok`);
    const r = await runCli(['check', '-c', flag], { cwd: t.dir, env: { ONEBRIDGE_CONFIG: env } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${flag}: log.level`);
  });

  it('then ./onebridge.yaml, then the built-in defaults', async () => {
    const t = tmp();
    const env = { ONEBRIDGE_CONFIG: undefined };
    expect((await runCli(['check'], { cwd: t.dir, env })).stdout).toBe(`${DEFAULT_CONFIG_FILE}: ok (1 account(s), 1 network entry, admin 127.0.0.1:6790)\n`);
    t.write('onebridge.yaml', QUIET_CONFIG());
    expect((await runCli(['check'], { cwd: t.dir, env })).stdout).toContain(`${t.dir}/onebridge.yaml: ok`);
  });

  it('start names the file it runs with', async () => {
    const t = tmp();
    t.write('onebridge.yaml', QUIET_CONFIG());
    const cli = running([], { cwd: t.dir, env: { ONEBRIDGE_CONFIG: undefined } });
    await cli.ready();
    expect(cli.logs[0]!.message).toContain(`with config ${t.dir}/onebridge.yaml`);
  });
});

describe('startup failures', () => {
  it('a bad config: one line naming the key, exit 1, no stack', async () => {
    const t = tmp();
    const file = t.write('bad.yaml', 'network:\n  - { type: ws, port: 99999 }\n');
    const r = await runCli(['-c', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`onebridge: config ${file}: network[0].port: expected integer 0-65535 (0 picks a free port), got 99999\n`);
  });

  it('a port in use: one line naming the key and the address, exit 1, no stack unless debug', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as { port: number }).port;
    const t = tmp();
    const file = t.write('busy.yaml', `sandbox: { console: false }\nnetwork:\n  - { type: ws, port: ${port} }\n`);
    const r = await runCli(['-c', file, '--log-level', 'warn']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`onebridge: network[0].port: 127.0.0.1:${port} is already in use (EADDRINUSE); stop the other process or choose another port\n`);
    const debug = await runCli(['-c', file, '--log-level', 'debug']);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toContain('EADDRINUSE');
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('the admin port in use names admin.port, and nothing stays listening', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as { port: number }).port;
    const t = tmp();
    const file = t.write('busy.yaml', `sandbox: { console: false }\nnetwork:\n  - { type: ws, port: 0 }\nadmin: { port: ${port} }\n`);
    const t0 = Date.now();
    const r = await runCli(['-c', file, '--log-level', 'error']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`onebridge: admin.port: 127.0.0.1:${port} is already in use (EADDRINUSE); stop the other process or choose another port\n`);
    expect(Date.now() - t0).toBeLessThan(5000);
  });
});

describe('onebridge status', () => {
  it('prints the live connections of a running instance as a table, and as JSON', async () => {
    const t = tmp();
    const file = t.write('c.yaml', QUIET_CONFIG());
    const cli = running(['-c', file]);
    const { ws, admin } = await cli.ready();
    const a = await TestClient.open(`ws://127.0.0.1:${ws[0]}/`);
    const b = await TestClient.open(`ws://127.0.0.1:${ws[0]}/api`);
    cleanups.push(() => a.close(), () => b.close());
    await b.call('get_status', {}, 1);
    const aPort = (a.ws as unknown as { _socket: { localPort: number } })._socket.localPort;
    const bPort = (b.ws as unknown as { _socket: { localPort: number } })._socket.localPort;
    await until(() => cli.logs.filter((l) => l.message.startsWith('connected #')).length === 2, 3000, 'two connects');

    const r = await runCli(['status', '--admin', `http://127.0.0.1:${admin}`]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TRANSPORT\s+ROLE\s+ACCOUNT\s+REMOTE/);
    expect(lines[1]).toMatch(new RegExp(`^1\\s+ws\\s+universal\\s+10001\\s+127\\.0\\.0\\.1:${aPort}\\s+ws://127\\.0\\.0\\.1:${ws[0]}\\s+\\d+s\\s+open\\s+0/0B\\s+1/`));
    expect(lines[2]).toMatch(new RegExp(`^2\\s+ws\\s+api\\s+10001\\s+127\\.0\\.0\\.1:${bPort}\\s+.*\\s+1/\\d+B\\s+1/\\d+B$`));
    expect(lines[3]).toBe('2 live connections');

    const json = await runCli(['status', '--json', '--admin', `http://127.0.0.1:${admin}`]);
    const body = JSON.parse(json.stdout) as { count: number; connections: Array<{ remote: string; role: string }> };
    expect(body.count).toBe(2);
    expect(body.connections.map((c) => [c.role, c.remote])).toEqual([
      ['universal', `127.0.0.1:${aPort}`],
      ['api', `127.0.0.1:${bPort}`],
    ]);
  });

  it('finds the admin endpoint from the config and sends its token', async () => {
    const t = tmp();
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    await new Promise<void>((r) => blocker.close(() => r()));
    const file = t.write('c.yaml', `sandbox: { console: false }\nnetwork: []\nadmin: { port: ${port}, access_token: adm }\n`);
    const cli = running(['-c', file]);
    await cli.ready();
    const ok = await runCli(['status', '-c', file]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^no live connections\nfile descriptors: \d+ open of \d+; client sockets 0 of \d+\n$/);
    const refused = await runCli(['status', '--admin', `http://127.0.0.1:${port}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`onebridge: admin endpoint http://127.0.0.1:${port} refused the token (401); pass --token or set admin.access_token\n`);
    expect((await runCli(['status', '--admin', `http://127.0.0.1:${port}`, '--token', 'adm'])).code).toBe(0);
  });

  it('says clearly when nothing is running there', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    await new Promise<void>((r) => blocker.close(() => r()));
    const r = await runCli(['status', '--admin', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`onebridge: no onebridge answering at http://127.0.0.1:${port} (ECONNREFUSED); is it running, and is admin: set in its config?\n`);
  });

  it('says when the config has no admin endpoint', async () => {
    const t = tmp();
    const file = t.write('c.yaml', 'network: []\n');
    const r = await runCli(['status', '-c', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`admin: the admin endpoint is off in ${file}`);
  });
});
