import { beforeAll, describe, expect, it } from 'vitest';
import { TestClient } from './support/app.js';
import { runCli, runningFor, tempDirFor, type Finishing, type RunningCli } from './support/cli.js';
import { runCliInProcess } from './support/cli-in-process.js';
import { ensureNgircd, Ngircd } from './support/ngircd.js';
import { RawIrc } from './support/raw-irc.js';
import { slow } from './support/slow.js';

// On a fresh machine this installs the Debian package: minutes, not a test's 20 s.
beforeAll(() => void ensureNgircd(), 600_000);

// Each test has its own ngircd and onebridge and mostly waits on them: they run concurrently,
// each cleaning up through its own test context.

const GRACE_MS = 1500;
/** Each test spawns the CLI against ngircd with its flood penalties: a hang bound, scaled for emulated arm64. */
const TEST_MS = slow(90_000);

async function start(
  ctx: Finishing,
  server: Ngircd,
  extra = '',
): Promise<{ cli: RunningCli; ws: number; admin: number; file: string }> {
  const t = tempDirFor(ctx);
  const file = t.write(
    'irc.yaml',
    `accounts:
  - adapter: { type: irc, host: 127.0.0.1, port: ${server.port}, nick: clibot, channels: ["#cli"], reconnect: { initial_ms: 50, max_ms: 200 }${extra} }
network:
  - { type: ws, port: 0, heartbeat_interval_ms: 0 }
admin: { port: 0 }
shutdown: { grace_ms: ${GRACE_MS} }
`,
  );
  const cli = runningFor(ctx, ['-c', file]);
  const ports = await cli.ready();
  await cli.waitForLog(/^registered as clibot/, 15_000);
  return { cli, ws: ports.ws[0]!, admin: ports.admin!, file };
}

describe.concurrent('onebridge with an irc account (real CLI, real ngircd)', () => {
  it(
    '`onebridge status` shows the IRC link; SIGINT with the server frozen still exits within grace',
    async (ctx) => {
      const server = await Ngircd.start();
      ctx.onTestFinished(() => server.stop());
      const alice = await RawIrc.connect(server.port, 'alice');
      ctx.onTestFinished(() => alice.quit());
      await alice.join('#cli');
      const { cli, ws, admin } = await start(ctx, server);
      await alice.waitFor((l) => l.command === 'JOIN' && l.nick === 'clibot', 10_000, 'clibot joining');
      const client = await TestClient.open(`ws://127.0.0.1:${ws}/`);
      ctx.onTestFinished(() => client.close());
      await client.next();
      alice.say('#cli', 'through the CLI');
      expect(await client.nextWhere((f) => f['message_type'] === 'group', 10_000)).toMatchObject({
        raw_message: 'through the CLI',
        group_name: '#cli',
      });

      const status = await runCli(['status', '--admin', `http://127.0.0.1:${admin}`]);
      expect(status.code).toBe(0);
      const row = status.stdout.split('\n').find((l) => l.includes(`irc://127.0.0.1:${server.port}`));
      expect(row).toMatch(/upstream .* open .* 0 reconnects/);
      const json = JSON.parse(
        (await runCliInProcess(['status', '--json', '--admin', `http://127.0.0.1:${admin}`])).stdout,
      ) as {
        connections: Array<Record<string, unknown>>;
      };
      const link = json.connections.find((c) => c['endpoint'] === `irc://127.0.0.1:${server.port}`)!;
      expect(link).toMatchObject({ transport: 'upstream', state: 'open', reconnects: 0 });
      expect(link['frames_in']).toBeGreaterThan(5);
      expect(link['frames_out']).toBeGreaterThan(3);

      // The server stops answering anything: QUIT cannot be answered, the link cannot close cleanly.
      server.freeze();
      const sentAt = cli.signal('SIGINT');
      const exit = await cli.exited;
      expect(exit.code).toBe(0);
      expect(exit.at - sentAt).toBeLessThan(GRACE_MS + 2000);
      server.thaw();
    },
    TEST_MS,
  );

  it(
    'SIGINT with a live server: QUIT reaches the channel and the process exits promptly',
    async (ctx) => {
      const server = await Ngircd.start();
      ctx.onTestFinished(() => server.stop());
      const alice = await RawIrc.connect(server.port, 'alice');
      ctx.onTestFinished(() => alice.quit());
      await alice.join('#cli');
      const { cli } = await start(ctx, server, ', quit_message: "bye from onebridge"');
      await alice.waitFor((l) => l.command === 'JOIN' && l.nick === 'clibot', 10_000, 'clibot joining');
      const sentAt = cli.signal('SIGINT');
      expect((await alice.waitFor((l) => l.command === 'QUIT' && l.nick === 'clibot')).params[0]).toMatch(
        /bye from onebridge/,
      );
      const exit = await cli.exited;
      expect(exit.code).toBe(0);
      expect(exit.at - sentAt).toBeLessThan(GRACE_MS + 2000);
    },
    TEST_MS,
  );

  it(
    '`onebridge check` names the exact key of a bad irc setting',
    async (ctx) => {
      const t = tempDirFor(ctx);
      const file = t.write(
        'bad.yaml',
        'accounts:\n  - adapter: { type: irc, host: 127.0.0.1, nick: "9bad nick", channels: ["nochan"], send_interval_ms: -1 }\n',
      );
      // What check prints runs in process; its exit status has real-CLI tests in cli-commands.
      const res = await runCliInProcess(['check', '-c', file]);
      expect(res.code).not.toBe(0);
      const out = res.stdout + res.stderr;
      expect(out).toMatch(/accounts\[0\]\.adapter\.nick: expected an IRC nick/);
      expect(out).toMatch(/accounts\[0\]\.adapter\.channels\[0\]: expected a channel name/);
      expect(out).toMatch(/accounts\[0\]\.adapter\.send_interval_ms: expected integer 0-60000/);
      const good = t.write(
        'good.yaml',
        'accounts:\n  - adapter: { type: irc, host: irc.libera.chat, port: 6697, tls: true, nick: mybot, channels: ["#mybot", "#secret key"], sasl: { account: mybot, password: pw } }\n',
      );
      expect((await runCliInProcess(['check', '-c', good])).code).toBe(0);
    },
    TEST_MS,
  );
});
