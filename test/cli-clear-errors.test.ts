import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { WebSocketServer } from 'ws';
import { CLI_BOUND_MS, CLI_TEST_MS, runCli, tempDirFor } from './support/cli.js';
import { runCliInProcess } from './support/cli-in-process.js';
import { slow } from './support/slow.js';

// Several CLI runs per test: bounds for emulated arm64 (~10x slower), not for speed.
vi.setConfig({ testTimeout: slow(CLI_TEST_MS), hookTimeout: slow(CLI_TEST_MS) });

// The messages are checked in process (runCliInProcess: the CLI's own parser and error lines);
// what needs a process (start's fast path, a file read as another user) runs the real CLI.
// Independent tests, run concurrently, each cleaning up through its own context.

describe.concurrent('an empty config path is an error, never a silent fallback', () => {
  it('-c "", -c with no value, and an empty $ONEBRIDGE_CONFIG', async (ctx) => {
    const t = tempDirFor(ctx);
    // A ./onebridge.yaml that a fallback would pick up: none of these may use it.
    t.write('onebridge.yaml', 'sandbox: { console: false }\n');
    const empty = await runCliInProcess(['check', '-c', ''], { cwd: t.dir });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toBe(
      'onebridge: -c/--config needs a file path, e.g. -c onebridge.yaml (leave -c out to use ./onebridge.yaml or the built-in defaults)\n',
    );
    const dangling = await runCli(['-c'], { timeoutMs: CLI_BOUND_MS, cwd: t.dir });
    expect(dangling.code).toBe(1);
    expect(dangling.stderr).toMatch(/^onebridge: -c\/--config needs a file path/);
    const env = await runCliInProcess(['check'], { cwd: t.dir, env: { ONEBRIDGE_CONFIG: '' } });
    expect(env.code).toBe(1);
    expect(env.stderr).toBe(
      'onebridge: $ONEBRIDGE_CONFIG is set but empty; set it to a config file path, or unset it\n',
    );
    expect(empty.stdout + dangling.stdout + env.stdout).toBe('');
  });
});

describe.concurrent('a config path that is not a readable file', () => {
  it('a directory: says so and names a file in it, no init hint', async (ctx) => {
    const t = tempDirFor(ctx);
    mkdirSync(`${t.dir}/conf`);
    const r = await runCli(['-c', `${t.dir}/conf`], { timeoutMs: CLI_BOUND_MS });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `onebridge: config ${t.dir}/conf: cannot read the file: it is a directory, not a file; name the config file in it, e.g. -c ${t.dir}/conf/onebridge.yaml\n`,
    );
  });

  it('unreadable: permission denied, no init hint', async (ctx) => {
    const t = tempDirFor(ctx);
    chmodSync(t.dir, 0o755);
    const file = t.write('secret.yaml', '{}\n');
    chmodSync(file, 0o000);
    // root reads any file: run the CLI as nobody then, so the permission check is real.
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const r = await runCli(['check', '-c', file], { timeoutMs: CLI_BOUND_MS, ...asNobody });
    expect(r.stderr).toContain(`${file}: cannot read the file: permission denied; make it readable by this user`);
    expect(r.stderr).not.toContain('init');
    expect(r.code).toBe(1);
  });
});

describe.concurrent('onebridge init into a missing folder', () => {
  it('names the folder and how to create it, not an internal path', async (ctx) => {
    const t = tempDirFor(ctx);
    const r = await runCliInProcess(['init', 'sub/dir/x.yaml'], { cwd: t.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `onebridge: cannot write ${t.dir}/sub/dir/x.yaml: the folder ${t.dir}/sub/dir does not exist; create it first (mkdir -p ${t.dir}/sub/dir)\n`,
    );
    expect(existsSync(`${t.dir}/sub`)).toBe(false);
  });
});

describe.concurrent('onebridge status --admin', () => {
  it('takes HOST:PORT without a scheme, and says when the port is a WebSocket one', async (ctx) => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', r));
    ctx.onTestFinished(() => new Promise<void>((r) => wss.close(() => r())));
    const port = (wss.address() as { port: number }).port;
    // Without a scheme it reaches the server (which is a WebSocket port, hence the 426 advice).
    const r = await runCliInProcess(['status', '--admin', `127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `onebridge: 127.0.0.1:${port} is a WebSocket endpoint (answered 426 Upgrade Required), not the admin endpoint; pass the admin port instead (admin.port, 6790 by default)\n`,
    );
    const bad = await runCliInProcess(['status', '--admin', 'ftp://127.0.0.1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      'onebridge: --admin: expected the admin endpoint as http://HOST:PORT, e.g. http://127.0.0.1:6790, got "ftp://127.0.0.1"\n',
    );
  });
});

describe.concurrent('config contents', () => {
  it('accounts: [] says what to do, and YAML merge keys (<<: *base) work, with anchors under x- keys', async (ctx) => {
    const t = tempDirFor(ctx);
    const noAccounts = t.write('a.yaml', 'accounts: []\n');
    const merged = t.write(
      'm.yaml',
      `x-base: &base
  type: ws
  host: 127.0.0.1
  heartbeat_interval_ms: 0
sandbox: { console: false }
network:
  - <<: *base
    port: 6801
  - { <<: *base, port: 6802, message_format: string }
  - { <<: *base, port: 6803, colour: blue }
`,
    );
    const a = await runCliInProcess(['check', '-c', noAccounts]);
    expect(a.code).toBe(1);
    expect(a.stderr).toBe(
      `${noAccounts}: accounts: the list is empty; add an account, or remove accounts: to run the built-in sandbox bot\n1 problem found\n`,
    );
    // The merged entries validate; a misspelt key next to a merge is still caught, with its path.
    const m = await runCliInProcess(['check', '-c', merged]);
    expect(m.stderr).toBe(
      `${merged}: network[2].colour: unknown key; remove it, or check its spelling\n1 problem found\n`,
    );
    expect(m.code).toBe(1);
  });
});
