import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { slow } from './support/slow.js';

const DIST = resolve(import.meta.dirname, '../dist/adapters/index.js');

type AdapterType = 'irc' | 'relay' | 'xmpp';
type Loaded = Record<AdapterType, string[]>;

/** One account of each type, created in this order: each step must load that adapter alone. */
const ACCOUNTS: Array<[AdapterType, object]> = [
  ['irc', { type: 'irc', host: '127.0.0.1', nick: 'lazy' }],
  ['relay', { type: 'relay', upstream: { mode: 'ws', url: 'ws://127.0.0.1:1/' } }],
  ['xmpp', { type: 'xmpp', service: 'xmpp://127.0.0.1:1', username: 'bot', password: 'secret' }],
];

/**
 * In a fresh Node process, records every module URL resolved (a module.register hook), imports
 * the built-in adapter list as the CLI does, then creates one account of each type in turn.
 * Prints, after the import and after each creation, the adapters/<type> files loaded so far,
 * read once the hook has reported them.
 */
const SCRIPT = `
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const seen = [];
port1.on('message', (u) => seen.push(u));
port1.unref();
register('data:text/javascript,let p;export function initialize(d){p=d.port}export async function resolve(s,c,n){const r=await n(s,c);p.postMessage(r.url);return r}', { data: { port: port2 }, transferList: [port2] });
// The hook thread's messages arrive in order: once it has reported a marker imported after
// everything else, it has reported everything resolved before the marker.
let marks = 0;
const settle = async () => {
  const mark = 'settle-' + ++marks;
  port1.ref();
  const heard = new Promise((r) => {
    const on = (u) => {
      if (!u.endsWith(mark)) return;
      port1.off('message', on);
      r();
    };
    port1.on('message', on);
  });
  await import('data:text/javascript,export{}//' + mark);
  await heard;
  port1.unref();
};
const accounts = ${JSON.stringify(ACCOUNTS)};
const files = () =>
  Object.fromEntries(
    accounts.map(([type]) => [
      type,
      seen.filter((u) => u.includes('/adapters/' + type + '/')).map((u) => u.split('/adapters/' + type + '/')[1]).sort(),
    ]),
  );
const { builtinAdapters } = await import(${JSON.stringify(DIST)});
await settle();
const steps = { import: files() };
const logger = { debug() {}, info() {}, warn() {}, error() {} };
for (const [type, raw] of accounts) {
  const definition = builtinAdapters.find((a) => a.type === type);
  const config = definition.schema.parse(raw);
  await definition.create(config, { selfId: 1, logger, signal: new AbortController().signal, emit() {}, trackLink() { return {}; }, countRefused() {}, limits: { max_json_depth: 32 }, shared: undefined });
  await settle();
  steps[type] = files();
}
console.log(JSON.stringify(steps));
`;

let run: Promise<Record<'import' | AdapterType, Loaded>> | undefined;

/** The one process's report, shared by the tests below (one Node start with a hook thread, not three). */
function loaded(): Promise<Record<'import' | AdapterType, Loaded>> {
  run ??= promisify(execFile)(process.execPath, ['--input-type=module', '-e', SCRIPT], {
    encoding: 'utf8',
    timeout: slow(30_000),
  }).then(({ stdout }) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<'import' | AdapterType, Loaded>);
  return run;
}

const DEFINITION_ONLY = ['config.js', 'index.js'];

describe('adapter implementations loaded lazily (a start without them never reads them)', () => {
  it("importing the adapters loads only each one's definition and config", async () => {
    const { import: imported } = await loaded();
    expect(imported).toEqual({ irc: DEFINITION_ONLY, relay: DEFINITION_ONLY, xmpp: DEFINITION_ONLY });
  });

  it("creating an irc account loads the irc client, and no other adapter's", async () => {
    const { irc } = await loaded();
    expect(irc.irc).toEqual(expect.arrayContaining(['adapter.js', 'session.js', 'protocol.js', 'actions.js']));
    expect([irc.relay, irc.xmpp]).toEqual([DEFINITION_ONLY, DEFINITION_ONLY]);
  });

  it("creating a relay account loads the relay, and not xmpp's", async () => {
    const { relay } = await loaded();
    expect(relay.relay).toEqual(expect.arrayContaining(['adapter.js', 'channel.js', 'http-upstream.js']));
    expect(relay.xmpp).toEqual(DEFINITION_ONLY);
  });

  it('creating an xmpp account loads the xmpp adapter', async () => {
    const { xmpp } = await loaded();
    expect(xmpp.xmpp).toEqual(expect.arrayContaining(['adapter.js', 'bot.js', 'session.js', 'actions.js']));
  });
});
