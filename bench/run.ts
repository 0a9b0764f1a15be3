// Runs the registered suites in order and prints one table per suite.
// Usage: npm run bench [-- NAME...]   (NAME filters suites by substring of their name)
import { cqcode } from './cqcode.js';
import { fanout } from './fanout.js';
import { idleMemory } from './idle-memory.js';
import { irc } from './irc.js';
import { policy } from './policy.js';
import { relay } from './relay.js';
import { roundtrip } from './roundtrip.js';
import { http } from './http.js';
import { hardening } from './hardening.js';
import { shutdown } from './shutdown.js';
import { startup } from './startup.js';
import { wsReverse } from './ws-reverse.js';
import { formatTable, passes, type Row, type Suite } from './table.js';
// Convention: one file per suite, bench/<name>.ts, `export const <name>: Suite = { name, title, run }`,
// measuring onebridge and its raw baseline side by side in one run. One import line per suite here,
// plus one entry in `suites` below.

/** Run order. Suites that spawn processes or open thousands of sockets go last. */
const suites: Suite[] = [fanout, roundtrip, shutdown, idleMemory, wsReverse, http, cqcode, relay, hardening, policy, startup, irc];

/** Upper bound for one suite, so a wedged benchmark cannot hang `npm run bench`. */
const SUITE_TIMEOUT_MS = 180_000;

async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<number> {
  const filters = process.argv.slice(2);
  const selected = filters.length ? suites.filter((s) => filters.some((f) => s.name.includes(f))) : suites;
  if (selected.length === 0) {
    if (suites.length === 0) console.error('no suites registered in bench/run.ts');
    else console.error(`no suite matches ${filters.join(', ')}; suites: ${suites.map((s) => s.name).join(', ')}`);
    return 2;
  }
  console.log(`onebridge bench: node ${process.version}, ${new Date().toISOString()}\n`);
  let failed = 0;
  let crashed = 0;
  for (const suite of selected) {
    const t0 = performance.now();
    let rows: Row[];
    try {
      rows = await withTimeout(suite.run(), SUITE_TIMEOUT_MS, `suite ${suite.name}`);
    } catch (err) {
      console.error(`suite ${suite.name} crashed: ${(err as Error).stack ?? String(err)}\n`);
      crashed++;
      continue;
    }
    console.log(formatTable(suite.title, rows));
    console.log(`(${suite.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    failed += rows.filter((r) => passes(r) === false).length;
  }
  console.log(failed ? `${failed} row(s) missed their target` : 'all targets met');
  if (crashed) console.log(`${crashed} suite(s) crashed`);
  return crashed ? 1 : 0;
}

// A target miss is a finding to report (exit 0); a crashed suite is a broken bench (exit 1).
// Exit explicitly so a leaked handle in a suite cannot keep the bench process alive.
main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
