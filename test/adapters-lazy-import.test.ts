import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { slow } from './support/slow.js';

const DIST = resolve(import.meta.dirname, '../dist/adapters/index.js');

/**
 * In a fresh Node process, records every module URL resolved (a module.register hook), imports
 * the built-in adapter list as the CLI does, then creates one account's adapter of `type`.
 * Prints the adapters/<type> files loaded after each step, read once the hook has reported them.
 */
function script(type: 'relay' | 'xmpp' | 'irc', config: object): string {
  return `
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
const mine = () => seen.filter((u) => u.includes('/adapters/${type}/')).map((u) => u.split('/adapters/${type}/')[1]);
const { builtinAdapters } = await import(${JSON.stringify(DIST)});
const definition = builtinAdapters.find((a) => a.type === ${JSON.stringify(type)});
await settle();
const before = mine();
const config = definition.schema.parse(${JSON.stringify(config)});
const logger = { debug() {}, info() {}, warn() {}, error() {} };
await definition.create(config, { selfId: 1, logger, signal: new AbortController().signal, emit() {}, trackLink() { return {}; }, countRefused() {}, limits: { max_json_depth: 32 }, shared: undefined });
await settle();
console.log(JSON.stringify({ before, after: mine() }));
`;
}

async function loaded(type: 'relay' | 'xmpp' | 'irc', config: object): Promise<{ before: string[]; after: string[] }> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script(type, config)], {
    encoding: 'utf8',
    timeout: slow(30_000),
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { before: string[]; after: string[] };
}

// Each test is its own Node process: they run side by side.
describe.concurrent('adapter implementations loaded lazily (a start without them never reads them)', () => {
  it('irc: importing the adapters loads only its definition and config; creating an irc account loads the client', async () => {
    const { before, after } = await loaded('irc', { type: 'irc', host: '127.0.0.1', nick: 'lazy' });
    expect(before.sort()).toEqual(['config.js', 'index.js']);
    expect(after).toEqual(expect.arrayContaining(['adapter.js', 'session.js', 'protocol.js', 'actions.js']));
  });

  it('relay: importing the adapters loads only its definition and config; creating a relay account loads the rest', async () => {
    const { before, after } = await loaded('relay', {
      type: 'relay',
      upstream: { mode: 'ws', url: 'ws://127.0.0.1:1/' },
    });
    expect(before.sort()).toEqual(['config.js', 'index.js']);
    expect(after).toEqual(expect.arrayContaining(['adapter.js', 'channel.js', 'http-upstream.js']));
  });

  it('xmpp: importing the adapters loads only its definition and config; creating an xmpp account loads the rest', async () => {
    const { before, after } = await loaded('xmpp', {
      type: 'xmpp',
      service: 'xmpp://127.0.0.1:1',
      username: 'bot',
      password: 'secret',
    });
    expect(before.sort()).toEqual(['config.js', 'index.js']);
    expect(after).toEqual(expect.arrayContaining(['adapter.js', 'bot.js', 'session.js', 'actions.js']));
  });
});
