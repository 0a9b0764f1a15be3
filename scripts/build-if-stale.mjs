#!/usr/bin/env node
// `npm run build` only when a source is newer than the build: what `npm start` and `npm test`
// (its pretest) run first, so a second start or test run skips the ~15 s of tsc and bundling.
// Run directly, it exits with the build's status.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, statSync } from 'node:fs';
import { Buffer } from 'node:buffer';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_BANNER } from './bundle-banner.mjs';

// fileURLToPath, not import.meta.dirname/filename: those came in Node 20.11, and we support 20.10.
const self = fileURLToPath(import.meta.url);
const root = join(dirname(self), '..');
/** The command npm would install: package.json's bin, wherever the build puts it. */
export const cli = join(root, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).bin.onebridge);

/** The newest mtime under `path`: in folders .ts and .json files, a file named here always. */
function newest(path, named = true) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return named || path.endsWith('.ts') || path.endsWith('.json') ? stat.mtimeMs : 0;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name), false)));
}

/** The bundle starts with bundle-cli.mjs's banner; tsc's own output (`npx tsc` alone) does not. */
function bundled() {
  const main = join(dirname(cli), 'onebridge-main.js');
  if (!existsSync(main)) return false;
  const fd = openSync(main, 'r');
  try {
    const head = Buffer.alloc(Buffer.byteLength(BUNDLE_BANNER));
    const n = readSync(fd, head, 0, head.length, 0);
    return head.subarray(0, n).toString() === BUNDLE_BANNER;
  } finally {
    closeSync(fd);
  }
}

/** Builds when stale; returns the build's exit status (0 when nothing needed building). */
export function buildIfStale() {
  // The build bundles the CLI with its dependencies (scripts/bundle-cli.mjs) and writes the
  // entry last: a changed bundler or a changed install (npm keeps node_modules/.package-lock.json
  // current) makes it stale too.
  const built = existsSync(cli) ? statSync(cli).mtimeMs : 0;
  const sources = Math.max(
    ...[
      'src',
      'adapters',
      'bin',
      'bench',
      'tsconfig.json',
      'package.json',
      'scripts/bundle-cli.mjs',
      'node_modules/.package-lock.json',
    ].map((p) => newest(join(root, p))),
  );
  // A bare `tsc` run writes a fresh entry over an unbundled main: stale too.
  if (sources <= built && bundled()) return 0;
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
  return r.status ?? 1;
}

if (self === process.argv[1]) process.exitCode = buildIfStale();
