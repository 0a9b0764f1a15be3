#!/usr/bin/env node
// Project rules tsc cannot check. Exit 1 with one line per violation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const problems = [];
/** Error codes used in src/ and adapters/, with where first seen. */
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
  const lines = readFileSync(path, 'utf8').split('\n');
  lines.forEach((line, i) => {
    const at = `${rel}:${i + 1}`;
    // Library code logs through winston (stderr); stdout belongs to the console and CLI output.
    if (/^(src|adapters)\//.test(rel) && /\bconsole\.(log|info|warn|error|debug)\(/.test(line)) problems.push(`${at}: console.* in library code; use getLogger(component)`);
    if (rel.startsWith('test/') && /\b(it|test|describe)\.only\(/.test(line)) problems.push(`${at}: .only left in a test`);
    if (/\bdebugger;/.test(line)) problems.push(`${at}: debugger statement`);
    // One error base class, so every error has a stable code (docs/errors.md).
    if (/^(src|adapters)\//.test(rel) && rel !== 'src/errors.ts' && /\bextends Error\b/.test(line)) problems.push(`${at}: error class extends Error; extend OneBridgeError with a code`);
    for (const m of line.matchAll(/'(ONEBRIDGE_[A-Z_]+)'/g)) if (/^(src|adapters)\//.test(rel) && m[1] !== 'ONEBRIDGE_CONFIG') codes.set(m[1], at);
    // Core is a library the adapters plug into; only bin/ and tests join the two.
    if (rel.startsWith('src/') && /\b(from|import)\s*\(?\s*['"][^'"]*\/adapters\//.test(line)) problems.push(`${at}: src/ imports adapters/; take adapter definitions as a parameter`);
  });
}

for (const dir of ['src', 'adapters', 'bin', 'test', 'bench']) {
  try {
    walk(join(root, dir));
  } catch (err) {
    if (err.code !== 'ENOENT') throw err;
  }
}
const table = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
for (const [code, at] of codes) if (!table.includes(`| \`${code}\` |`)) problems.push(`${at}: error code ${code} has no row in docs/errors.md`);
for (const p of problems) console.error(p);
if (problems.length) {
  console.error(`lint: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log('lint: ok');
