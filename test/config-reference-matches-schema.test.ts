import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseTestConfig as parseConfig } from './support/app.js';

// Defaults live in one place, the zod schema (src/config/schema.ts). config/default.yaml and the
// reference in docs/configuration.md show them; this test fails when either says otherwise, or
// when the reference leaves a key out.

const ROOT = resolve(import.meta.dirname, '..');
const DEFAULT_YAML = readFileSync(resolve(ROOT, 'config/default.yaml'), 'utf8');
const REFERENCE = readFileSync(resolve(ROOT, 'docs/configuration.md'), 'utf8');

type Tree = Record<string, unknown>;
const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

function at(tree: unknown, path: string[]): unknown {
  return path.reduce<unknown>((t, k) => (isTree(t) || Array.isArray(t) ? (t as Tree)[k] : undefined), tree);
}

/**
 * Every path to a scalar in `tree`. The `accounts` and `network` lists are walked by index (their
 * entries have defaults); other lists (sandbox users, groups) are example data, taken as values.
 */
function leaves(tree: unknown, prefix: string[] = []): string[][] {
  if (Array.isArray(tree) && prefix.length === 1 && ['accounts', 'network'].includes(prefix[0]!) && tree.every(isTree))
    return tree.flatMap((v, i) => leaves(v, [...prefix, String(i)]));
  if (!isTree(tree)) return [prefix];
  return Object.entries(tree).flatMap(([k, v]) => leaves(v, [...prefix, k]));
}

/** Values a YAML config sets that differ from what the schema fills in when the key is left out. */
function disagreements(text: string): string[] {
  const raw = parseYaml(text) as Tree;
  const full = parseConfig(text) as unknown as Tree;
  const out: string[] = [];
  for (const path of leaves(raw)) {
    let withoutIt: Tree;
    try {
      withoutIt = parseConfig(yamlOf(without(raw, path))) as unknown as Tree;
    } catch {
      continue; // a required key (e.g. self_id, url): an example, not a default
    }
    const schemaDefault = at(withoutIt, path);
    if (schemaDefault === undefined) continue; // an example value for an optional key
    if (JSON.stringify(schemaDefault) !== JSON.stringify(at(full, path)))
      out.push(
        `${path.join('.')}: says ${JSON.stringify(at(full, path))}, the schema default is ${JSON.stringify(schemaDefault)}`,
      );
  }
  return out;
}

/** The text of the reference section whose heading matches. */
function sectionText(heading: RegExp): string | undefined {
  return REFERENCE.split(/^## /m).find((s) => heading.test(s));
}

function without(tree: unknown, path: string[]): unknown {
  const copy = structuredClone(tree) as Tree;
  const parent = at(copy, path.slice(0, -1)) as Tree;
  delete parent[path.at(-1)!];
  return copy;
}

const yamlOf = (tree: unknown) => JSON.stringify(tree); // JSON is YAML

/** The reference's tables, by section heading: rows of [keys, documented default]. */
function referenceTables(): Map<string, Array<{ keys: string[]; literals: string[] | undefined; line: string }>> {
  const tables = new Map<string, Array<{ keys: string[]; literals: string[] | undefined; line: string }>>();
  let section = '';
  for (const line of REFERENCE.split('\n')) {
    if (line.startsWith('## ')) section = line.slice(3).trim();
    const row = /^\| (`[^|]+`) \| ([^|]*) \|/.exec(line);
    if (!row) continue;
    const keys = [...row[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    // `1000` for one key, or `1000`, `30000` for as many keys; anything else is prose ("—", "off").
    const cell = row[2]!.trim();
    const literals = /^`[^`]*`(, `[^`]*`)*$/.test(cell)
      ? [...cell.matchAll(/`([^`]*)`/g)].map((m) => m[1]!)
      : undefined;
    if (!tables.has(section)) tables.set(section, []);
    tables.get(section)!.push({ keys, literals, line });
  }
  return tables;
}

/** Which config each reference section documents: YAML to parse, and where its keys start. */
const SECTIONS: Array<{ heading: RegExp; yaml: string; base: (c: Tree) => unknown }> = [
  { heading: /^`accounts\[\]`/, yaml: '', base: (c) => (c['accounts'] as unknown[])[0] },
  {
    heading: /^`network\[\]` — `type: ws`/,
    yaml: 'network: [{ type: ws }]',
    base: (c) => (c['network'] as unknown[])[0],
  },
  {
    heading: /^`network\[\]` — `type: ws-reverse`/,
    yaml: 'network: [{ type: ws-reverse, url: "ws://127.0.0.1:9/" }]',
    base: (c) => (c['network'] as unknown[])[0],
  },
  {
    heading: /^`network\[\]` — `type: http`/,
    yaml: 'network: [{ type: http }]',
    base: (c) => (c['network'] as unknown[])[0],
  },
  {
    heading: /^`network\[\]` — `type: http-post`/,
    yaml: 'network: [{ type: http-post, url: "http://127.0.0.1:9/" }]',
    base: (c) => (c['network'] as unknown[])[0],
  },
  { heading: /^`admin`/, yaml: 'admin: {}', base: (c) => c['admin'] },
  { heading: /^`shutdown`, `log`/, yaml: '', base: (c) => c },
  { heading: /^`limits`/, yaml: '', base: (c) => c },
];

describe('config/default.yaml agrees with the schema', () => {
  it('parses, and every value it sets is the schema default (it is an example only where the schema has none)', () => {
    expect(disagreements(DEFAULT_YAML)).toEqual([]);
  });

  it('can fail: a changed default is caught', () => {
    expect(disagreements(DEFAULT_YAML.replace('grace_ms: 3000', 'grace_ms: 3001'))).toEqual([
      'shutdown.grace_ms: says 3001, the schema default is 3000',
    ]);
  });
});

describe('docs/configuration.md agrees with the schema', () => {
  const tables = referenceTables();

  it('every YAML example in it sets only schema defaults (or example values for keys without one)', () => {
    // Blocks with `[...]` placeholders are sketches, not configs.
    const blocks = [...REFERENCE.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((m) => m[1]!)
      .filter((b) => /^(accounts|network|admin|shutdown|log|limits):/m.test(b) && !b.includes('[...]'));
    expect(blocks.length).toBeGreaterThan(0);
    expect(blocks.flatMap(disagreements)).toEqual([]);
  });

  it.each(SECTIONS.map((s) => [s.heading.source, s] as const))(
    'section %s: every documented default is the schema default, and every key is documented',
    (_name, section) => {
      const heading = [...tables.keys()].find((h) => section.heading.test(h));
      const text = sectionText(section.heading);
      expect(text, `docs/configuration.md has a section matching ${section.heading}`).toBeDefined();
      if (!heading) {
        // Documented by a YAML example and prose rather than a table: every key must appear in it.
        const config = parseConfig(`sandbox: { console: false }\n${section.yaml}`) as unknown as Tree;
        const names = new Set(leaves(section.base(config)).flatMap((p) => p));
        expect([...names].filter((k) => !/^\d+$/.test(k) && !new RegExp(`\\b${k}\\b`).test(text!))).toEqual([]);
        return;
      }
      const rows = tables.get(heading)!;
      const config = parseConfig(`sandbox: { console: false }\n${section.yaml}`) as unknown as Tree;
      const base = section.base(config);
      const wrong: string[] = [];
      for (const row of rows) {
        if (row.literals === undefined) continue; // "—", "off", "none": described, not a value
        row.keys.forEach((key, i) => {
          const literal = row.literals![row.literals!.length === row.keys.length ? i : 0]!;
          const actual = at(base, key.split('.'));
          const documented: unknown = literal === '""' ? '' : parseYaml(literal);
          if (JSON.stringify(actual) !== JSON.stringify(documented))
            wrong.push(`${key}: documented ${literal}, the schema default is ${JSON.stringify(actual)}`);
        });
      }
      expect(wrong).toEqual([]);
      // Completeness: each key the schema fills in for this section has a row.
      const documented = new Set(rows.flatMap((r) => r.keys));
      const own = (path: string[]) =>
        section.base(config) === config
          ? ['shutdown', 'log', 'limits'].includes(path[0]!) && heading.includes(path[0]!)
          : true;
      const missing = leaves(base)
        .filter(own)
        .map((p) => p.join('.'))
        .filter(
          (k) =>
            k !== 'type' &&
            !documented.has(k) &&
            !documented.has(k.split('.').at(-1)!) &&
            ![...documented].some((d) => k.startsWith(`${d}.`)),
        );
      expect(missing).toEqual([]);
    },
  );
});
