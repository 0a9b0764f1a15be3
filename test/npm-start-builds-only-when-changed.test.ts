import { spawn } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { CLI_BOUND_MS, CLI_TEST_MS, tempDir } from './support/cli.js';
import { npmEnv } from './support/npm-env.js';
import { slow } from './support/slow.js';

// Several CLI runs per test: bounds for emulated arm64 (~10x slower), not for speed.
vi.setConfig({ testTimeout: slow(CLI_TEST_MS), hookTimeout: slow(CLI_TEST_MS) });

const ROOT = resolve(import.meta.dirname, '..');
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * One copy of the package for the file, whose `build` script is a stub that records it ran (a
 * real tsc run takes minutes on emulated arm64; what is tested is the decision to build, and the
 * flags). `reset()` puts it back before each test: every source an hour old, the stub's mark gone,
 * the bundle as built; each test then dates what it is about.
 */
function packageCopy() {
  const t = tempDir();
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  pkg.scripts['build'] =
    `node -e "const f=require('fs');f.writeFileSync('dist/built','');const t=new Date();f.utimesSync('dist/bin/onebridge.js',t,t)"`;
  for (const dir of ['src', 'adapters', 'bin', 'config', 'scripts'])
    cpSync(join(ROOT, dir), join(t.dir, dir), { recursive: true });
  cpSync(join(ROOT, 'tsconfig.json'), join(t.dir, 'tsconfig.json'));
  cpSync(join(ROOT, 'dist', 'src'), join(t.dir, 'dist', 'src'), { recursive: true });
  cpSync(join(ROOT, 'dist', 'adapters'), join(t.dir, 'dist', 'adapters'), { recursive: true });
  cpSync(join(ROOT, 'dist', 'bin'), join(t.dir, 'dist', 'bin'), { recursive: true });
  writeFileSync(join(t.dir, 'package.json'), JSON.stringify(pkg, null, 2));
  symlinkSync(join(ROOT, 'node_modules'), join(t.dir, 'node_modules'), 'dir');
  t.write('q.yaml', 'network: []\nadmin: { port: 0 }\nsandbox: { console: true }\n');
  const main = join(t.dir, 'dist', 'bin', 'onebridge-main.js');
  const bundle = readFileSync(main, 'utf8');
  const setTime = (rel: string, secondsAgo: number) => {
    const at = new Date(Date.now() - secondsAgo * 1000);
    utimesSync(join(t.dir, rel), at, at);
  };
  const age = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true, recursive: true }))
      if (entry.isFile()) setTime(relative(t.dir, join(entry.parentPath, entry.name)), 3600);
  };
  const reset = () => {
    rmSync(join(t.dir, 'dist', 'built'), { force: true });
    writeFileSync(main, bundle);
    for (const dir of ['src', 'adapters', 'bin', 'scripts']) age(join(t.dir, dir));
    for (const file of ['package.json', 'tsconfig.json']) setTime(file, 3600);
  };
  return { dir: t.dir, main, setTime, reset, cleanup: t.cleanup };
}

/** `npm start …` until `until` matches its stderr; then its process group is ended. */
function npmStart(cwd: string, args: string[], until: RegExp): Promise<string> {
  const child = spawn('npm', ['start', '--silent', ...args], {
    cwd,
    env: npmEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const end = () => {
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  };
  cleanups.push(end);
  return new Promise((resolvePromise, reject) => {
    let err = '';
    const timer = setTimeout(
      () => reject(new Error(`npm start did not print ${until} within the bound:\n${err}`)),
      slow(CLI_BOUND_MS),
    );
    const check = () => {
      if (until.test(err)) {
        clearTimeout(timer);
        end();
        resolvePromise(err);
      }
    };
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      check();
    });
    child.stdout.on('data', () => undefined);
    child.on('error', reject);
  });
}

/** `node scripts/build-if-stale.mjs`, as `npm test` runs it first (pretest): its exit code and stderr. */
function buildIfStale(cwd: string): Promise<{ code: number | null; err: string }> {
  const child = spawn(process.execPath, ['scripts/build-if-stale.mjs'], {
    cwd,
    env: npmEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  cleanups.push(() => void child.kill('SIGKILL'));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`build-if-stale did not end within the bound:\n${err}`)),
      slow(CLI_BOUND_MS),
    );
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, err });
    });
  });
}

// One package copy for the file: copying it is most of a test's own work.
let p: ReturnType<typeof packageCopy>;
beforeAll(() => {
  p = packageCopy();
});
afterAll(() => p?.cleanup());
beforeEach(() => p.reset());

describe('npm start', () => {
  it('does not build when the build is newer than every source; npm-eaten flags still arrive', async () => {
    p.setTime('dist/bin/onebridge.js', 0);
    // `--log-level debug --log-format json` without `--`: npm takes them as its own config.
    const err = await npmStart(
      p.dir,
      ['--log-level', 'debug', '--log-format', 'json', '--', '-c', 'q.yaml'],
      /console input ended/,
    );
    expect(err).not.toMatch(/building/);
    expect(existsSync(join(p.dir, 'dist', 'built'))).toBe(false);
    const lines = err
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; message: string });
    expect(lines[0]!.message).toContain(`with config ${p.dir}/q.yaml`);
    expect(lines.some((l) => l.level === 'debug' && /console input ended/.test(l.message))).toBe(true);
  });

  it('builds first when a source changed since the last build, then runs the new build', async () => {
    p.setTime('dist/bin/onebridge.js', 60);
    p.setTime('src/app.ts', 10);
    const err = await npmStart(p.dir, ['--', '-c', 'q.yaml'], /ready: /);
    expect(err).toMatch(/^onebridge: sources changed since the last build; building…\n/);
    expect(existsSync(join(p.dir, 'dist', 'built'))).toBe(true);
  });
});

// The same decision, as `npm test` makes it before the suite (pretest), without npm around it.
describe('build-if-stale', () => {
  it('does nothing when the build is newer than every source', async () => {
    p.setTime('dist/bin/onebridge.js', 60);
    const r = await buildIfStale(p.dir);
    expect(r).toEqual({ code: 0, err: '' });
    expect(existsSync(join(p.dir, 'dist', 'built'))).toBe(false);
  });

  it('builds when the command is not bundled (a bare `tsc` run wrote a fresh, unbundled dist/bin)', async () => {
    writeFileSync(p.main, `// as tsc alone leaves it\n${readFileSync(p.main, 'utf8')}`);
    p.setTime('dist/bin/onebridge.js', 0);
    const r = await buildIfStale(p.dir);
    expect(r).toEqual({ code: 0, err: 'onebridge: sources changed since the last build; building…\n' });
    expect(existsSync(join(p.dir, 'dist', 'built'))).toBe(true);
  });

  it('builds when the CLI bundler changed since the last build (the bundle is part of the build)', async () => {
    p.setTime('dist/bin/onebridge.js', 60);
    p.setTime('scripts/bundle-cli.mjs', 10);
    const r = await buildIfStale(p.dir);
    expect(r).toEqual({ code: 0, err: 'onebridge: sources changed since the last build; building…\n' });
    expect(existsSync(join(p.dir, 'dist', 'built'))).toBe(true);
  });
});
