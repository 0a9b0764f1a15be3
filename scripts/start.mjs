#!/usr/bin/env node
// `npm start`: build only when a source is newer than the build, then run the CLI in this
// process (signals reach it directly). Also gives back the flags npm takes for itself:
// `npm start --log-level debug` reaches us as npm_config_log_level=true plus a stray `debug`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = join(import.meta.dirname, '..');
// The command npm would install: package.json's bin, wherever the build puts it.
const cli = join(root, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).bin.onebridge);

/** The newest mtime under `path`: in folders .ts and .json files, a file named here always. */
function newest(path, named = true) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return named || path.endsWith('.ts') || path.endsWith('.json') ? stat.mtimeMs : 0;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name), false)));
}

// The build bundles the CLI with its dependencies (scripts/bundle-cli.mjs) and writes the
// entry last: a changed bundler or a changed install (npm keeps node_modules/.package-lock.json
// current) makes it stale too.
const built = existsSync(cli) ? statSync(cli).mtimeMs : 0;
const sources = Math.max(
  ...[
    'src',
    'adapters',
    'bin',
    'tsconfig.json',
    'package.json',
    'scripts/bundle-cli.mjs',
    'node_modules/.package-lock.json',
  ].map((p) => newest(join(root, p))),
);
if (sources > built) {
  process.stderr.write(
    built ? 'onebridge: sources changed since the last build; building…\n' : 'onebridge: building…\n',
  );
  const npm = process.env.npm_execpath;
  const r =
    npm && npm.endsWith('.js')
      ? spawnSync(process.execPath, [npm, 'run', 'build', '--silent'], { cwd: root, stdio: 'inherit' })
      : spawnSync('npm', ['run', 'build', '--silent'], {
          cwd: root,
          stdio: 'inherit',
          shell: process.platform === 'win32',
        });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

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
