import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { TestClient } from './support/app.js';
import { QUIET_CONFIG, runCli, RunningCli, tempDir } from './support/cli.js';
import { Prosody } from './support/prosody.js';
import { slow } from './support/slow.js';

const ROOM = 'room@conference.localhost';

/**
 * A module-resolution hook for the child: records every `@xmpp/...` import in `file`, so a
 * test sees whether xmpp.js was loaded at all.
 */
function importTracer(dir: { dir: string; write(name: string, text: string): string }): {
  env: NodeJS.ProcessEnv;
  loaded: () => string[];
} {
  const trace = join(dir.dir, 'imports.txt');
  const hooks = dir.write(
    'hooks.mjs',
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (specifier.startsWith('@xmpp/')) appendFileSync(${JSON.stringify(trace)}, specifier + '\\n');
  return next(specifier, context);
}
`,
  );
  const register = dir.write(
    'register.mjs',
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  return {
    env: { NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --import ${pathToFileURL(register).href}`.trim() },
    loaded: () => (existsSync(trace) ? readFileSync(trace, 'utf8').split('\n').filter(Boolean) : []),
  };
}

// Child processes and a real server: room for emulated arm64 on a loaded machine. Each test
// has its own server and onebridge: they run concurrently, cleaning up through their context.
describe.concurrent('XMPP through the real CLI', { timeout: slow(120_000) }, () => {
  it('link in /connections and `onebridge status`; SIGINT with the server frozen exits within grace', async (ctx) => {
    const server = await Prosody.start({ bot: 'botpw' });
    ctx.onTestFinished(() => server.stop());
    const t = tempDir();
    ctx.onTestFinished(t.cleanup);
    const tracer = importTracer(t);
    const grace = 1000;
    const file = t.write(
      'xmpp.yaml',
      `accounts:
  - adapter:
      type: xmpp
      service: ${server.service}
      domain: localhost
      username: bot
      password: botpw
      rooms: [{ jid: ${ROOM}, nick: Bot }]
network:
  - { type: ws, port: 0, heartbeat_interval_ms: 0 }
admin: { port: 0 }
shutdown: { grace_ms: ${grace} }
`,
    );
    const cli = new RunningCli(['-c', file], { env: tracer.env });
    ctx.onTestFinished(() => cli.kill());
    await cli.waitForLog(/^ready: /, 60_000);
    const { ws, admin } = await cli.ready();
    await cli.waitForLog(new RegExp(`joined ${ROOM}`), 60_000);

    const body = (await (await fetch(`http://127.0.0.1:${admin}/connections`)).json()) as {
      connections: Array<Record<string, unknown>>;
    };
    expect(body.connections.find((x) => x['endpoint'] === server.service)).toMatchObject({
      transport: 'upstream',
      state: 'open',
      reconnects: 0,
    });
    const status = await runCli(['status', '--admin', `http://127.0.0.1:${admin}`], { timeoutMs: 60_000 });
    expect(status.code).toBe(0);
    const row = status.stdout.split('\n').find((l) => l.includes(server.service));
    expect(row).toMatch(/upstream .* open /);

    // A client on the OneBot side, and the XMPP server hangs: the exit is bounded all the same.
    const c = await TestClient.open(`ws://127.0.0.1:${ws[0]}/`);
    ctx.onTestFinished(() => c.close());
    server.freeze();
    ctx.onTestFinished(() => server.thaw());
    const sentAt = cli.signal('SIGINT');
    const exit = await cli.exited;
    expect(exit.code).toBe(0);
    // Grace for the clients, then the adapter's bounded goodbye (500 ms) and the hard step.
    expect(exit.at - sentAt).toBeLessThan(grace + 2500);
    expect(tracer.loaded()).toContain('@xmpp/client');
  });

  it('xmpp.js is imported only when an xmpp account starts: a sandbox-only run never loads it', async (ctx) => {
    const t = tempDir();
    ctx.onTestFinished(t.cleanup);
    const tracer = importTracer(t);
    const cli = new RunningCli(['-c', t.write('sandbox.yaml', QUIET_CONFIG())], { env: tracer.env });
    ctx.onTestFinished(() => cli.kill());
    await cli.waitForLog(/^ready: /, 60_000);
    cli.signal('SIGINT');
    expect((await cli.exited).code).toBe(0);
    expect(tracer.loaded()).toEqual([]);
  });
});

describe.concurrent('XMPP over TLS through the real CLI', { timeout: slow(120_000) }, () => {
  it('xmpps:// and STARTTLS (required by the server) log in when the certificate is trusted; an untrusted one is refused', async (ctx) => {
    const server = await Prosody.start({ bot: 'botpw', bot2: 'botpw' }, { tls: true });
    ctx.onTestFinished(() => server.stop());
    const t = tempDir();
    ctx.onTestFinished(t.cleanup);
    const ca = t.write('ca.pem', server.certificate);
    const file = t.write(
      'tls.yaml',
      `accounts:
  - self_id: 1
    adapter: { type: xmpp, service: "${server.tlsService}", domain: localhost, username: bot, password: botpw, reconnect: { initial_ms: 100, max_ms: 500 } }
  - self_id: 2
    adapter: { type: xmpp, service: "${server.service}", domain: localhost, username: bot2, password: botpw, reconnect: { initial_ms: 100, max_ms: 500 } }
admin: { port: 0 }
shutdown: { grace_ms: 2000 }
`,
    );
    const links = async (admin: number) =>
      (
        (await (await fetch(`http://127.0.0.1:${admin}/connections`)).json()) as {
          connections: Array<Record<string, unknown>>;
        }
      ).connections;

    const trusted = new RunningCli(['-c', file], { env: { NODE_EXTRA_CA_CERTS: ca } });
    ctx.onTestFinished(() => trusted.kill());
    await trusted.waitForLog(/^ready: /, 60_000);
    const { admin } = await trusted.ready();
    await trusted.waitUntil(
      () => (trusted.logs.filter((l) => /xmpp: connected to/.test(l.message)).length >= 2 ? true : undefined),
      60_000,
      'both accounts logged in',
    );
    expect((await links(admin!)).map((c) => [c['endpoint'], c['state']]).sort()).toEqual(
      [
        [server.service, 'open'],
        [server.tlsService, 'open'],
      ].sort(),
    );
    // Over TLS too, a hung server cannot hold the exit (the TLS socket sits inside a wrapper).
    server.freeze();
    ctx.onTestFinished(() => server.thaw());
    const sentAt = trusted.signal('SIGINT');
    const exit = await trusted.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - sentAt).toBeLessThan(2000 + 2500);
    expect(trusted.logs.some((l) => /destroy failed/.test(l.message))).toBe(false);
    server.thaw();

    const untrusted = new RunningCli(['-c', file], { env: { NODE_EXTRA_CA_CERTS: '' } });
    ctx.onTestFinished(() => untrusted.kill());
    await untrusted.waitForLog(/^ready: /, 60_000);
    const second = await untrusted.ready();
    // Both paths say why and how to fix it, and retry at the slowest pace (it cannot pass sooner).
    await untrusted.waitUntil(
      () =>
        untrusted.logs.filter(
          (l) => l.level === 'error' && /TLS certificate is not trusted .*NODE_EXTRA_CA_CERTS/.test(l.message),
        ).length >= 2
          ? true
          : undefined,
      60_000,
      'two certificate errors',
    );
    expect((await links(second.admin!)).every((c) => c['state'] === 'connecting')).toBe(true);
    untrusted.signal('SIGINT');
    expect((await untrusted.exited).code).toBe(0);
  });
});
