#!/usr/bin/env node
// Every error code used in src/ and adapters/ ('ONEBRIDGE_…') has a row in docs/errors.md, so a
// user who sees a code can look it up. (The other project rules are eslint rules: eslint.config.js.)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
/** Error code -> where first seen. */
const codes = new Map();

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith('.ts')) check(path);
  }
}

function check(path) {
  const rel = relative(root, path);
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      // ONEBRIDGE_CONFIG is an environment variable, not an error code.
      for (const m of line.matchAll(/'(ONEBRIDGE_[A-Z_]+)'/g))
        if (m[1] !== 'ONEBRIDGE_CONFIG' && !codes.has(m[1])) codes.set(m[1], `${rel}:${i + 1}`);
    });
}

for (const dir of ['src', 'adapters']) walk(join(root, dir));
const table = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
const problems = [...codes]
  .filter(([code]) => !table.includes(`| \`${code}\` |`))
  .map(([code, at]) => `${at}: error code ${code} has no row in docs/errors.md`);
for (const p of problems) console.error(p);
if (problems.length) {
  console.error(`check-error-codes: ${problems.length} problem(s)`);
  process.exit(1);
}
