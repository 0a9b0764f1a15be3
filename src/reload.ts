import type { Config } from './config/schema.js';
import { formatPath } from './config/types.js';

/** What a reload did: live changes applied, changes that wait for a restart (not applied). */
export interface ReloadReport {
  readonly applied: readonly string[];
  readonly restart_required: readonly string[];
}

/** Keys a running onebridge applies on reload; everything else needs a restart. */
const LIVE: ReadonlyArray<readonly (string | RegExp)[]> = [
  ['network', /^\d+$/, 'filter'],
  ['network', /^\d+$/, 'filter_file'],
  ['network', /^\d+$/, 'actions'],
  ['accounts', /^\d+$/, 'rate_limit'],
  ['log', 'level'],
  ['log', 'format'],
  ['log', 'messages'],
];

type Path = Array<string | number>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The live key a path falls under (its first segments), or undefined for restart-only keys. */
function liveKey(path: Path): Path | undefined {
  for (const rule of LIVE) {
    if (path.length < rule.length) continue;
    if (rule.every((r, i) => (typeof r === 'string' ? path[i] === r : r.test(String(path[i]))))) return path.slice(0, rule.length);
  }
  return undefined;
}

/** Paths where `a` and `b` differ: objects key by key, arrays of equal length index by index. */
function differences(a: unknown, b: unknown, path: Path, out: Path[]): void {
  if (isObject(a) && isObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) differences(a[key], b[key], [...path, key], out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((item, i) => differences(item, b[i], [...path, i], out));
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(path);
}

/**
 * Compares the running config with a newly read one. Live keys (filters, action permissions,
 * rate limits, log settings) are listed once each under `applied`; every other difference, as
 * deep as it goes, under `restart_required`. A network or account list of another length is one
 * restart-only change (entries are matched by position), and then no entry's policy is applied:
 * positions no longer name the same entries.
 */
export function planReload(running: Config, next: Config): ReloadReport {
  const diffs: Path[] = [];
  differences(running, next, [], diffs);
  const applied = new Set<string>();
  const restart = new Set<string>();
  for (const path of diffs) {
    const live = liveKey(path);
    if (live) applied.add(formatPath(live));
    else restart.add(formatPath(path));
  }
  return { applied: [...applied], restart_required: [...restart] };
}
