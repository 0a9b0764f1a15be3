import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_DIR } from '../src/admin/dashboard-assets.js';
import { VERSION } from '../src/package-info.js';
import { tempDir } from './support/cli.js';
import { machineTrust } from './support/machine-trust.js';
import { npmEnv } from './support/npm-env.js';
import { slow } from './support/slow.js';

const ROOT = resolve(import.meta.dirname, '..');
/** npm pack + install: a hang guard, x10 on emulated arm64 (test/support/slow.ts). */
const NPM_TIMEOUT_MS = slow(60_000);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, timeoutMs = NPM_TIMEOUT_MS): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    // npm may fetch what the cache lacks from the registry: it trusts what the machine trusts.
    const env = cmd === 'npm' ? { ...npmEnv(), ...machineTrust() } : npmEnv();
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

describe('installed as a command from the packed tarball', () => {
  const t = tempDir();
  const prefix = join(t.dir, 'prefix');
  let files: string[] = [];
  let bin = '';

  beforeAll(async () => {
    // `npm test` has just brought dist/ up to date (pretest): pack what is there, without running prepare again.
    const pack = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', t.dir], ROOT);
    expect(pack.code, pack.stderr).toBe(0);
    const [info] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    files = info!.files.map((f) => f.path);
    // Offline from the npm cache that `npm ci` filled; the registry only for what is missing.
    const install = await run(
      'npm',
      [
        'install',
        '--global',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        join(t.dir, info!.filename),
      ],
      t.dir,
    );
    expect(install.code, install.stderr).toBe(0);
    bin = join(prefix, 'bin', 'onebridge');
  }, NPM_TIMEOUT_MS * 2);

  afterAll(() => t.cleanup());

  it('ships the compiled CLI, adapters, default config, LICENSE and README, and nothing else', () => {
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'config/default.yaml',
      'dist/bin/onebridge.js',
      'dist/adapters/index.js',
    ])
      expect(files).toContain(f);
    // The command: its entry and the one bundled file it loads (scripts/bundle-cli.mjs).
    expect(files.filter((f) => f.startsWith('dist/bin/'))).toEqual([
      'dist/bin/onebridge-main.js',
      'dist/bin/onebridge.js',
    ]);
    expect(
      files.filter(
        (f) =>
          f.startsWith('dist/bench/') || f.startsWith('test/') || f.startsWith('src/') || f.startsWith('adapters/'),
      ),
    ).toEqual([]);
    // Type declarations (.d.ts) are for library users; sources and maps are not shipped.
    expect(files.filter((f) => f.endsWith('.map') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))).toEqual([]);
  });

  // The dashboard has no build step: its files ship as they are, and the page must name only
  // files that exist (a global install serves them from the package, see README).
  it('ships every dashboard file, and the page refers only to shipped files', () => {
    const dashboard = readdirSync(DASHBOARD_DIR);
    expect(dashboard).toContain('index.html');
    expect(dashboard.filter((f) => !files.includes(`web/dashboard/${f}`))).toEqual([]);
    const html = readFileSync(join(DASHBOARD_DIR, 'index.html'), 'utf8');
    const refs = [...html.matchAll(/(?:src|href)="\/dashboard\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    expect(refs.filter((r) => !dashboard.includes(r))).toEqual([]);
  });

  it(
    'gives a working `onebridge` with runtime dependencies only',
    async () => {
      expect(existsSync(bin)).toBe(true);
      const installed = join(prefix, 'lib', 'node_modules', 'onebridge', 'node_modules');
      const deps = readdirSync(installed);
      expect(deps).toEqual(expect.arrayContaining(['ws', 'yaml', 'zod', 'winston', 'yargs']));
      for (const dev of ['typescript', 'vitest', 'fast-check']) expect(deps).not.toContain(dev);
      expect(existsSync(join(installed, '@types', 'node'))).toBe(false);

      // Bundled: besides Node's built-ins it imports only the entry's signal handlers and the
      // dependencies it loads late (metrics after ready, xmpp.js when an xmpp account starts).
      const main = readFileSync(
        join(prefix, 'lib', 'node_modules', 'onebridge', 'dist', 'bin', 'onebridge-main.js'),
        'utf8',
      );
      const imports = new Set(
        [...main.matchAll(/\bimport\s*(?:\(\s*|[\w$*{},\s]+?from\s*)?["']([^"'\s]+)["']/g)]
          .map((m) => m[1]!)
          .filter((s) => !s.startsWith('node:')),
      );
      expect([...imports].sort()).toEqual(['../src/signals.js', '@xmpp/client', 'prom-client']);

      const version = await run(bin, ['--version'], t.dir, 60_000);
      expect(version.stdout.trim()).toBe(VERSION);
      // init writes the config shipped in the package; check validates it with the installed code.
      const init = await run(bin, ['init', 'mine.yaml'], t.dir, 60_000);
      expect(init.code, init.stderr).toBe(0);
      const check = await run(bin, ['check', '-c', 'mine.yaml'], t.dir, 60_000);
      expect(check.code, check.stderr).toBe(0);
      expect(check.stdout).toMatch(/mine\.yaml: ok/);
    },
    NPM_TIMEOUT_MS,
  );
});
