import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_DIR } from '../src/admin/dashboard-assets.js';

// The dashboard has no build step: its files must ship as they are, and the page must name
// only files that exist (a global install serves them from the package, see README).

describe('package contents', () => {
  it('npm pack ships every dashboard file, and the page refers only to shipped files', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 60_000,
    });
    const packed = new Set((JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
    const files = readdirSync(DASHBOARD_DIR);
    expect(files).toContain('index.html');
    expect(files.filter((f) => !packed.has(`web/dashboard/${f}`))).toEqual([]);
    const html = readFileSync(`${DASHBOARD_DIR}/index.html`, 'utf8');
    const refs = [...html.matchAll(/(?:src|href)="\/dashboard\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    expect(refs.filter((r) => !files.includes(r))).toEqual([]);
  }, 90_000);
});
