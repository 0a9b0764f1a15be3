import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../src/app.js';
import { ConfigError } from '../src/errors.js';
import { compileFilter, FilterError } from '../src/policy/filter.js';
import type { OneBotEvent } from '../src/onebot/types.js';
import type { HttpServer } from '../src/transport/http-server.js';
import { parseTestConfig, startApp, TestClient, until, wsPort } from './support/app.js';
import { Framework } from './support/framework.js';

let app: App | undefined;
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await app?.stop();
  app = undefined;
});

const group = (over: Record<string, unknown> = {}): OneBotEvent => ({
  time: 1,
  self_id: 10001,
  post_type: 'message',
  message_type: 'group',
  sub_type: 'normal',
  message_id: 7,
  group_id: 30001,
  user_id: 20001,
  anonymous: null,
  message: [
    { type: 'text', data: { text: '!!ping' } },
    { type: 'face', data: { id: '1' } },
  ],
  raw_message: '!!ping[CQ:face,id=1]',
  sender: { user_id: 20001, nickname: 'Alice', sex: 'female' },
  ...over,
});
const match = (filter: unknown, event: OneBotEvent, format: 'array' | 'string' = 'array') =>
  compileFilter(filter)(event, format);

describe('filter language (go-cqhttp semantics)', () => {
  it('plain keys are an implicit .and of equalities, compared as text', () => {
    expect(match({ message_type: 'group', group_id: 30001 }, group())).toBe(true);
    expect(match({ message_type: 'group', group_id: '30001' }, group())).toBe(true);
    expect(match({ message_type: 'group', group_id: 30002 }, group())).toBe(false);
    expect(match({}, group())).toBe(true);
    expect(match({ '.not': {} }, group())).toBe(false);
  });

  it('.eq null matches null and missing fields; .neq is its negation', () => {
    expect(match({ anonymous: { '.eq': null } }, group())).toBe(true);
    expect(match({ nothing_here: { '.eq': null } }, group())).toBe(true);
    expect(match({ anonymous: { '.eq': null } }, group({ anonymous: { id: 1, name: 'x', flag: 'f' } }))).toBe(false);
    expect(match({ user_id: { '.neq': 12345 } }, group())).toBe(true);
    expect(match({ user_id: { '.neq': 20001 } }, group())).toBe(false);
  });

  it('.in with a list is membership, with a string a substring test; .contains and .regex search the text', () => {
    expect(match({ group_id: { '.in': [11111, 30001] } }, group())).toBe(true);
    expect(match({ group_id: { '.in': [11111] } }, group())).toBe(false);
    expect(match({ message_type: { '.in': 'group|discuss' } }, group())).toBe(true);
    expect(match({ raw_message: { '.contains': 'ping' } }, group())).toBe(true);
    expect(match({ raw_message: { '.regex': '^!!' } }, group())).toBe(true);
    expect(match({ raw_message: { '.regex': '^ping' } }, group())).toBe(false);
  });

  it('.or takes a list of filters; nesting and several operators on one field combine with and', () => {
    const f = {
      '.or': [
        { message_type: 'private', user_id: { '.not': { '.in': [11111, 22222] }, '.neq': 44444 } },
        {
          message_type: { '.regex': 'group|discuss' },
          '.or': [{ group_id: 12345 }, { raw_message: { '.contains': 'ping' } }],
        },
      ],
    };
    expect(match(f, group())).toBe(true);
    expect(match(f, group({ raw_message: 'hello' }))).toBe(false);
    expect(match(f, group({ message_type: 'private', user_id: 11111 }))).toBe(false);
    expect(match(f, group({ message_type: 'private', user_id: 5 }))).toBe(true);
  });

  it('dotted keys and array indices reach nested values, like the nested form', () => {
    expect(match({ 'sender.sex': 'female' }, group())).toBe(true);
    expect(match({ sender: { sex: 'female' } }, group())).toBe(true);
    expect(match({ 'message.0.type': 'text', 'message.1.data.id': 1 }, group())).toBe(true);
    expect(match({ 'message.5.type': { '.eq': null } }, group())).toBe(true);
  });

  it('message is seen in the entry format: a string-format entry filters the CQ text', () => {
    expect(match({ message: { '.contains': '[CQ:face,id=1]' } }, group(), 'string')).toBe(true);
    expect(match({ message: { '.contains': '[CQ:face,id=1]' } }, group(), 'array')).toBe(false);
    expect(match({ message: { '.contains': '"type":"face"' } }, group(), 'array')).toBe(true);
  });

  it('bad filters throw FilterError with the path inside the filter', () => {
    const bad = (f: unknown) => {
      try {
        compileFilter(f);
      } catch (err) {
        expect(err).toBeInstanceOf(FilterError);
        return { path: (err as FilterError).path, message: (err as Error).message };
      }
      throw new Error('compiled');
    };
    expect(bad([])).toMatchObject({ path: [], message: expect.stringMatching(/expected a mapping/) });
    expect(bad({ '.or': { a: 1 } })).toMatchObject({ path: ['.or'] });
    expect(bad({ '.or': [{}, { user_id: { '.regex': '(' } }] })).toMatchObject({
      path: ['.or', 1, 'user_id', '.regex'],
      message: expect.stringMatching(/invalid regular expression/),
    });
    expect(bad({ user_id: { '.between': [1, 2] } })).toMatchObject({
      path: ['user_id', '.between'],
      message: expect.stringMatching(/unknown operator/),
    });
    expect(bad({ group_id: { '.in': { a: 1 } } })).toMatchObject({ path: ['group_id', '.in'] });
    expect(bad({ '.not': [] })).toMatchObject({ path: ['.not'] });
    expect(bad({ 'message.#.type': 'text' })).toMatchObject({
      path: ['message.#.type'],
      message: expect.stringMatching(/unsupported path syntax/),
    });
  });
});

describe('filter config', () => {
  it('an inline filter error names the key path inside the filter', () => {
    const err = (() => {
      try {
        parseTestConfig(
          'network:\n  - type: ws\n    filter: { ".or": [ { user_id: 1 }, { raw_message: { ".regex": "(" } } ] }\n',
        );
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('parsed');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.problems[0]!.path).toBe('network[0].filter[".or"][1].raw_message[".regex"]');
    expect(err.problems[0]!.message).toMatch(/invalid regular expression/);
  });

  it('filter_file is read relative to the config file; its errors name file and inner path; both keys at once is an error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onebridge-filter-'));
    writeFileSync(join(dir, 'good.json'), JSON.stringify({ group_id: { '.in': [30001] } }));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ '.or': [{ user_id: { '.contains': [1] } }] }));
    const config = parseTestConfig('network:\n  - { type: ws, filter_file: good.json }\n', join(dir, 'onebridge.yaml'));
    expect(config.network[0]!.filter).toEqual({ group_id: { '.in': [30001] } });
    const problems = (yaml: string) => {
      try {
        parseTestConfig(yaml, join(dir, 'onebridge.yaml'));
      } catch (e) {
        return (e as ConfigError).problems;
      }
      throw new Error('parsed');
    };
    expect(problems('network:\n  - { type: ws, filter_file: bad.json }\n')[0]).toEqual({
      path: 'network[0].filter_file',
      message: expect.stringContaining(
        `invalid filter in ${join(dir, 'bad.json')} at [".or"][0].user_id[".contains"]: expected a string`,
      ),
    });
    expect(problems('network:\n  - { type: ws, filter_file: none.json }\n')[0]).toEqual({
      path: 'network[0].filter_file',
      message: expect.stringContaining('no such file'),
    });
    expect(problems('network:\n  - { type: ws, filter: {}, filter_file: good.json }\n')[0]).toEqual({
      path: 'network[0].filter_file',
      message: 'set either filter (inline) or filter_file, not both',
    });
  });
});

/** A user of the sandbox world says something: a real event through the adapter. */
async function say(user: number, text: string, groupId?: number): Promise<void> {
  const res = await fetch(`${app!.admin!.url}/sandbox/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user_id: user, message: text, ...(groupId ? { group_id: groupId } : {}) }),
  });
  expect(res.status).toBe(200);
}

const FILTER = `{ ".or": [ { message_type: private }, { group_id: 30001, raw_message: { ".regex": "^!" } } ] }`;

describe('filter end to end, on every transport', () => {
  it('forward WS, SSE, reverse WS and HTTP POST deliver only matching events; lifecycle and heartbeat pass an all-blocking filter', async () => {
    const f = await Framework.start();
    cleanups.push(() => f.close());
    const posted: Record<string, unknown>[] = [];
    const hook: Server = createServer((req, res) => {
      let raw = '';
      req.on('data', (d: Buffer) => (raw += d.toString()));
      req.on('end', () => {
        posted.push(JSON.parse(raw) as Record<string, unknown>);
        res.writeHead(204).end();
      });
    });
    hook.listen(0, '127.0.0.1');
    await once(hook, 'listening');
    cleanups.push(() => new Promise((r) => hook.close(r)));
    const hookPort = (hook.address() as { port: number }).port;
    app = await startApp(
      [
        'admin: { port: 0 }',
        'network:',
        `  - { type: ws, port: 0, heartbeat_interval_ms: 0, filter: ${FILTER} }`,
        `  - { type: http, port: 0, sse: true, heartbeat_interval_ms: 0, filter: ${FILTER} }`,
        `  - { type: ws-reverse, url: "${f.url()}", heartbeat_interval_ms: 0, filter: ${FILTER} }`,
        `  - { type: http-post, url: "http://127.0.0.1:${hookPort}/", filter: ${FILTER} }`,
        `  - { type: ws, port: 0, heartbeat_interval_ms: 50, filter: { ".not": {} } }`,
        '',
      ].join('\n'),
    );
    // Stopped before the webhook receiver and the framework close (last in, first out), so the
    // shutdown's `disable` event is delivered rather than retried until the grace deadline.
    cleanups.push(() => app?.stop());
    const ws = await TestClient.open(`ws://127.0.0.1:${wsPort(app, 0)}/event`);
    const blocked = await TestClient.open(`ws://127.0.0.1:${wsPort(app, 4)}/event`);
    cleanups.push(
      () => ws.close(),
      () => blocked.close(),
    );
    const sseFrames: Record<string, unknown>[] = [];
    const abort = new AbortController();
    cleanups.push(() => abort.abort());
    const sse = await fetch(`http://127.0.0.1:${(app.transports[1] as HttpServer).port}/_events`, {
      signal: abort.signal,
    });
    void (async () => {
      let buf = '';
      try {
        for await (const chunk of sse.body as unknown as AsyncIterable<Uint8Array>) {
          buf += Buffer.from(chunk).toString();
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            sseFrames.push(JSON.parse(buf.slice(6, i)) as Record<string, unknown>);
            buf = buf.slice(i + 2);
          }
        }
      } catch {
        /* aborted */
      }
    })();
    const rev = await f.connection(0);
    await until(() => sseFrames.length >= 1 && rev.frames.length >= 1 && posted.length >= 1);

    await say(20001, 'hello', 30001); // group, no "!": filtered
    await say(20002, '!echo hi', 30001); // passes
    await say(20003, 'in private'); // passes
    await say(20001, '!last', 30001); // passes
    const texts = (frames: Record<string, unknown>[]) =>
      frames.filter((x) => x['post_type'] === 'message').map((x) => x['raw_message']);
    const want = ['!echo hi', 'in private', '!last'];
    await until(
      () =>
        texts(ws.frames).length >= 3 &&
        texts(sseFrames).length >= 3 &&
        texts(rev.frames).length >= 3 &&
        texts(posted).length >= 3,
      5000,
      'filtered events',
    );
    expect(texts(ws.frames)).toEqual(want);
    expect(texts(sseFrames)).toEqual(want);
    expect(texts(rev.frames)).toEqual(want);
    expect(texts(posted)).toEqual(want);
    // Lifecycle is first everywhere, filter or not.
    expect(ws.frames[0]).toMatchObject({ meta_event_type: 'lifecycle', sub_type: 'connect' });
    expect(posted[0]).toMatchObject({ meta_event_type: 'lifecycle', sub_type: 'enable' });
    // The all-blocking entry: lifecycle and heartbeats, no message.
    await until(
      () => blocked.frames.filter((x) => x['meta_event_type'] === 'heartbeat').length >= 2,
      3000,
      'heartbeats',
    );
    expect(blocked.frames[0]).toMatchObject({ meta_event_type: 'lifecycle' });
    expect(blocked.frames.every((x) => x['post_type'] === 'meta_event')).toBe(true);
    expect(app.policies.get('network[0]')!.counts.filtered).toBe(1);
    expect(app.policies.get('network[4]')!.counts.filtered).toBe(4);
  });
});

describe('filter on the relay adapter', () => {
  it("upstream events are filtered per entry: each entry's clients get only what its filter admits", async () => {
    const up = await Framework.start();
    cleanups.push(() => up.close());
    app = await startApp(
      `accounts:\n  - self_id: 10001\n    adapter: { type: relay, upstream: { mode: ws, url: "${up.url('/')}" } }\nnetwork:\n  - { type: ws, port: 0, heartbeat_interval_ms: 0, filter: { user_id: { ".neq": 5 } } }\n  - { type: ws, port: 0, heartbeat_interval_ms: 0, message_format: string, filter: { message: { ".contains": "[CQ:at,qq=10001]" } } }\n`,
    );
    const link = await up.connection(0);
    const all = await TestClient.open(`ws://127.0.0.1:${wsPort(app, 0)}/event`);
    const mentions = await TestClient.open(`ws://127.0.0.1:${wsPort(app, 1)}/event`);
    cleanups.push(
      () => all.close(),
      () => mentions.close(),
    );
    await all.next();
    await mentions.next();
    const push = (user: number, message: string) =>
      link.ws.send(
        JSON.stringify({
          time: 1,
          self_id: 10001,
          post_type: 'message',
          message_type: 'private',
          sub_type: 'friend',
          message_id: user,
          user_id: user,
          message,
          raw_message: message,
          font: 0,
          sender: { user_id: user },
        }),
      );
    push(5, 'from the muted user [CQ:at,qq=10001]');
    push(6, 'plain');
    push(7, 'hey [CQ:at,qq=10001]');
    await until(() => all.frames.length >= 3 && mentions.frames.length >= 3, 3000, 'relayed events');
    expect(all.frames.slice(1).map((f) => f['user_id'])).toEqual([6, 7]);
    expect(mentions.frames.slice(1).map((f) => f['user_id'])).toEqual([5, 7]);
  });
});
