import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const DIST = resolve(import.meta.dirname, '../dist/adapters/index.js');

/**
 * In a fresh Node process, records every module URL resolved (a module.register hook), imports
 * the built-in adapter list as the CLI does, then creates an irc account's adapter. Prints the
 * adapters/irc files loaded after each step.
 */
const SCRIPT = `
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const { port1, port2 } = new MessageChannel();
const seen = [];
port1.on('message', (u) => seen.push(u));
port1.unref();
register('data:text/javascript,let p;export function initialize(d){p=d.port}export async function resolve(s,c,n){const r=await n(s,c);p.postMessage(r.url);return r}', { data: { port: port2 }, transferList: [port2] });
const settle = () => new Promise((r) => setTimeout(r, 200));
const irc = () => seen.filter((u) => u.includes('/adapters/irc/')).map((u) => u.split('/adapters/irc/')[1]);
const { ircAdapter } = await import(${JSON.stringify(DIST)});
await settle();
const before = irc();
const config = ircAdapter.schema.parse({ type: 'irc', host: '127.0.0.1', nick: 'lazy' });
await ircAdapter.create(config, { selfId: 1, logger: { debug() {}, info() {}, warn() {}, error() {} }, signal: new AbortController().signal, emit() {}, trackLink() { throw new Error('not started'); }, shared: undefined });
await settle();
console.log(JSON.stringify({ before, after: irc() }));
`;

describe('IRC client loaded lazily', () => {
  it('importing the adapters (as the CLI does) loads only the irc config; creating an irc account loads the client', () => {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', SCRIPT], { encoding: 'utf8', timeout: 30_000 });
    const { before, after } = JSON.parse(out.trim().split('\n').at(-1)!) as { before: string[]; after: string[] };
    expect(before.sort()).toEqual(['config.js', 'index.js']);
    expect(after).toEqual(expect.arrayContaining(['adapter.js', 'session.js', 'protocol.js', 'actions.js']));
  });
});
