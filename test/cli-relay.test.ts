import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from './support/app.js';
import { RunningCli, tempDir } from './support/cli.js';
import { slow } from './support/slow.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function spawnCli(name: string, yaml: string): RunningCli {
  const t = tempDir();
  cleanups.push(t.cleanup);
  const cli = new RunningCli(['-c', t.write(`${name}.yaml`, yaml)]);
  cleanups.push(() => cli.kill());
  return cli;
}

describe('relay between two real onebridge processes', () => {
  it('a client of the relay drives the upstream sandbox; SIGINT closes the relay within grace + 1 s', async () => {
    const upstream = spawnCli(
      'upstream',
      'sandbox: { console: false }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\nadmin: { port: 0 }\n',
    );
    const up = await upstream.ready();
    const relay = spawnCli(
      'relay',
      `accounts:\n  - self_id: 10001\n    adapter: { type: relay, upstream: { mode: ws, url: "ws://127.0.0.1:${up.ws[0]}/" } }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0 }\nshutdown: { grace_ms: 1500 }\n`,
    );
    const { ws } = await relay.ready();
    await relay.waitForLog(/upstream link open/);
    const c = await TestClient.open(`ws://127.0.0.1:${ws[0]}/`);
    cleanups.push(() => c.close());
    await c.next();
    expect(await c.call('get_group_list', {}, 'g')).toMatchObject({
      status: 'ok',
      data: [{ group_id: 30001, group_name: 'Sandbox Group' }],
      echo: 'g',
    });
    const sent = await c.call('send_group_msg', { group_id: 30001, message: 'relayed' });
    const id = (sent['data'] as { message_id: number }).message_id;
    const out = (await (
      await fetch(`http://127.0.0.1:${up.admin}/sandbox/messages?since=${id - 1}&timeout_ms=2000`)
    ).json()) as { messages: Array<{ raw_message: string }> };
    expect(out.messages.map((m) => m.raw_message)).toEqual(['relayed']);

    const sentAt = relay.signal('SIGINT');
    const exit = await relay.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - sentAt).toBeLessThan(slow(2500));
    // The upstream saw the relay leave cleanly and keeps running.
    await upstream.waitForLog(/disconnected #\d+ ws\/universal .*\(code 1000 onebridge shutting down\)/);
    expect(upstream.child.exitCode).toBeNull();
  });
});
