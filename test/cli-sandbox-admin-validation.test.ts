import { describe, expect, it, vi } from 'vitest';
import { CLI_BOUND_MS, CLI_TEST_MS, runningFor, tempDirFor } from './support/cli.js';
import { slow } from './support/slow.js';

// Several CLI runs per test: bounds for emulated arm64 (~10x slower), not for speed.
vi.setConfig({ testTimeout: slow(CLI_TEST_MS), hookTimeout: slow(CLI_TEST_MS) });

describe('sandbox admin routes validate what they are sent', () => {
  it('a list body, an empty message, a bot as sender, and ?since= past the newest id', async (ctx) => {
    const t = tempDirFor(ctx);
    const file = t.write('c.yaml', 'sandbox: { console: false }\nnetwork: []\nadmin: { port: 0 }\n');
    const cli = runningFor(ctx, ['-c', file]);
    const { admin } = await cli.ready(CLI_BOUND_MS);
    const base = `http://127.0.0.1:${admin}`;
    const post = async (path: string, body: string) => {
      const res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    expect(await post('/sandbox/messages', '[{"user_id": 20001, "message": "hi"}]')).toEqual({
      status: 400,
      body: { error: 'body: expected a JSON object, e.g. {"user_id": 20001, "message": "hi"}, got a list' },
    });
    expect(await post('/sandbox/poke', '[1]')).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^body: expected a JSON object/) },
    });
    for (const message of ['""', '"   "', '[]']) {
      expect(await post('/sandbox/messages', `{"user_id": 20001, "group_id": 30001, "message": ${message}}`)).toEqual({
        status: 400,
        body: { error: 'message: empty; send some text or segments' },
      });
    }
    expect(await post('/sandbox/messages', '{"user_id": 10001, "group_id": 30001, "message": "hi"}')).toEqual({
      status: 400,
      body: {
        error: 'user_id: 10001 is a bot; bots send with OneBot actions (send_msg), this route speaks for people',
      },
    });
    // Nothing was sent by any of those: the first real message gets id 1.
    expect(await post('/sandbox/messages', '{"user_id": 20001, "group_id": 30001, "message": "hi"}')).toEqual({
      status: 200,
      body: { message_id: 1 },
    });

    const res = await fetch(`${base}/sandbox/messages?since=1000&timeout_ms=0`);
    expect(await res.json()).toEqual({ messages: [], last_id: 1 });
  });
});
