#!/usr/bin/env node
// `npm start`: build only when a source is newer than the build (build-if-stale.mjs), then run the CLI in this
// process (signals reach it directly). Also gives back the flags npm takes for itself:
// `npm start --log-level debug` reaches us as npm_config_log_level=true plus a stray `debug`.
import { pathToFileURL } from 'node:url';
import { buildIfStale, cli } from './build-if-stale.mjs';

const status = buildIfStale();
if (status !== 0) process.exit(status);

const args = process.argv.slice(2);
const given = new Set(args.filter((a) => a.startsWith('-')).map((a) => a.split('=')[0]));
const back = [];
const take = (fits) => {
  const i = args.findIndex((a) => !a.startsWith('-') && fits(a));
  return i < 0 ? undefined : args.splice(i, 1)[0];
};
for (const [flag, values] of [
  ['log-level', ['error', 'warn', 'info', 'debug']],
  ['log-format', ['text', 'json']],
  ['config', undefined],
]) {
  const value = process.env[`npm_config_${flag.replace('-', '_')}`];
  if (value === undefined || given.has(`--${flag}`)) continue;
  const got = value !== 'true' ? value : take(values ? (a) => values.includes(a) : (a) => a !== 'start');
  if (got !== undefined) back.push(`--${flag}`, got);
}
process.argv = [process.argv[0], cli, ...back, ...args];
await import(pathToFileURL(cli).href);
