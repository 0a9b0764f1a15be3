import { describe, expect, it, vi } from 'vitest';
import { TestClient } from './support/app.js';
import { CLI_BOUND_MS, CLI_TEST_MS, runningFor, tempDirFor } from './support/cli.js';
import { slow } from './support/slow.js';

// Several CLI runs per test: bounds for emulated arm64 (~10x slower), not for speed.
vi.setConfig({ testTimeout: slow(CLI_TEST_MS), hookTimeout: slow(CLI_TEST_MS) });

// Independent real-CLI tests that mostly wait on their child: run concurrently, each cleaning
// up through its own context.

describe.concurrent('after start: the lines to paste into NoneBot2 and Koishi', () => {
  it('once per entry, at info, with the bound port; the printed URL works', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write(
      'c.yaml',
      `sandbox: { console: false }
network:
  - { type: ws, port: 0, heartbeat_interval_ms: 0, access_token: sesame }
  - { type: http, port: 0 }
  - { type: http-post, url: "http://127.0.0.1:9/onebot/v11/http", secret: s, retries: { max: 0 } }
`,
    );
    const cli = runningFor(ctx, ['-c', file]);
    const { ws } = await cli.ready(CLI_BOUND_MS);
    const hints = await cli.waitUntil(() => {
      const lines = cli.logs.filter((l) => l.component === 'main' && /^network\[\d\]: /.test(l.message));
      return lines.length >= 6 ? lines : undefined;
    });
    expect(hints.every((l) => l.level === 'info')).toBe(true);
    expect(hints.map((l) => l.message)).toEqual([
      `network[0]: NoneBot2 .env: DRIVER=~websockets ONEBOT_WS_URLS=["ws://127.0.0.1:${ws[0]}/"] ONEBOT_ACCESS_TOKEN=<network[0].access_token>`,
      `network[0]: Koishi adapter-onebot: protocol: ws, endpoint: ws://127.0.0.1:${ws[0]}/, selfId: '10001', token: <network[0].access_token>`,
      expect.stringMatching(
        /^network\[1\]: NoneBot2 \.env: ONEBOT_API_ROOTS=\{"10001": "http:\/\/127\.0\.0\.1:\d+\/"\} \(events: add an http-post entry\)$/,
      ),
      expect.stringMatching(
        /^network\[1\]: Koishi adapter-onebot: protocol: http, endpoint: http:\/\/127\.0\.0\.1:\d+\/, selfId: '10001'$/,
      ),
      'network[2]: posts events to http://127.0.0.1:9/onebot/v11/http; NoneBot2 .env: DRIVER=~fastapi HOST=127.0.0.1 PORT=9 ONEBOT_SECRET=<network[2].secret> (it serves /onebot/v11/http)',
      "network[2]: Koishi adapter-onebot: protocol: http, path: /onebot/v11/http, selfId: '10001', secret: <network[2].secret>",
    ]);
    // The token itself is never printed.
    expect(cli.stderr).not.toContain('sesame');
    // What NoneBot2 would dial from the pasted line is a working OneBot endpoint.
    const url = /ONEBOT_WS_URLS=\["([^"]+)"\]/.exec(hints[0]!.message)![1]!;
    const client = await TestClient.open(url, { headers: { Authorization: 'Bearer sesame' } });
    ctx.onTestFinished(() => client.close());
    expect((await client.next(CLI_BOUND_MS)).meta_event_type).toBe('lifecycle');
  });
});

describe.concurrent('no config file', () => {
  it('says the built-in defaults are in use and how to make your own', async (ctx) => {
    const t = tempDirFor(ctx);
    // The defaults listen on 6700/6790; the line comes before any listening, so a busy port
    // on this machine does not matter to what is tested.
    const cli = runningFor(ctx, [], { cwd: t.dir, env: { ONEBRIDGE_CONFIG: undefined } });
    const line = await cli.waitForLog(/^no \.\/onebridge\.yaml here/, CLI_BOUND_MS);
    expect(line.level).toBe('info');
    expect(line.message).toBe(
      'no ./onebridge.yaml here: running the built-in defaults; to make your own, run "onebridge init" (writes ./onebridge.yaml, used from this folder) or pass -c FILE',
    );
  });
});

describe.concurrent('a config with nothing to serve (the console reading a pipe)', () => {
  it('warns that nothing will be served, and keeps running after the end of input until a signal', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write('empty.yaml', 'sandbox: { console: true }\n');
    const cli = runningFor(ctx, ['-c', file, '--log-level', 'debug'], { stdin: 'pipe' });
    const warn = await cli.waitForLog(/^nothing will be served/, CLI_BOUND_MS);
    expect(warn.level).toBe('warn');
    await cli.ready(CLI_BOUND_MS);
    cli.child.stdin!.end();
    await cli.waitForLog(/console input ended/, CLI_BOUND_MS);
    // It used to exit 0 about 0.3 s after the input ended: give it well over that.
    const early = await Promise.race([cli.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 1500))]);
    expect(early).toBe('running');
    cli.signal('SIGINT');
    expect((await cli.exited).code).toBe(0);
  });
});
