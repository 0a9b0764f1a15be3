import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CLI_BOUND_MS, CLI_TEST_MS, tempDir } from './support/cli.js';
import { slow } from './support/slow.js';

// Several CLI runs per test: bounds for emulated arm64 (~10x slower), not for speed.
vi.setConfig({ testTimeout: slow(CLI_TEST_MS), hookTimeout: slow(CLI_TEST_MS) });

const ROOT = resolve(import.meta.dirname, '..');
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The outer `npm test` exports npm_config_*: the inner npm must see only what the test passes. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^npm_/i.test(k) || /^npm_config_(cache|registry|userconfig)$/i.test(k),
    ),
  );
}

/**
 * A copy of the package whose `build` script is a stub that records it ran (a real tsc run
 * takes minutes on emulated arm64; what is tested is the decision to build, and the flags).
 */
function packageCopy() {
  const t = tempDir();
  cleanups.push(t.cleanup);
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
  const setTime = (rel: string, secondsAgo: number) => {
    const at = new Date(Date.now() - secondsAgo * 1000);
    utimesSync(join(t.dir, rel), at, at);
  };
  return { dir: t.dir, setTime };
}

/** `npm start …` until `until` matches its stderr; then its process group is ended. */
function npmStart(cwd: string, args: string[], until: RegExp): Promise<string> {
  const child = spawn('npm', ['start', '--silent', ...args], {
    cwd,
    env: cleanEnv(),
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

describe('npm start', () => {
  it('does not build when the build is newer than every source; npm-eaten flags still arrive', async () => {
    const p = packageCopy();
    p.setTime('dist/bin/onebridge.js', 0);
    p.setTime('package.json', 60);
    p.setTime('tsconfig.json', 60);
    p.setTime('scripts/bundle-cli.mjs', 60);
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

  it('builds first when a source changed since the last build', async () => {
    const p = packageCopy();
    p.setTime('dist/bin/onebridge.js', 60);
    p.setTime('package.json', 120);
    p.setTime('tsconfig.json', 120);
    p.setTime('src/app.ts', 10);
    const err = await npmStart(p.dir, ['--', '-c', 'q.yaml'], /ready: /);
    expect(err).toMatch(/^onebridge: sources changed since the last build; building…\n/);
    expect(existsSync(join(p.dir, 'dist', 'built'))).toBe(true);
  });

  it('builds first when the command is not bundled (a bare `tsc` run wrote a fresh, unbundled dist/bin)', async () => {
    const p = packageCopy();
    const main = join(p.dir, 'dist', 'bin', 'onebridge-main.js');
    writeFileSync(main, `// as tsc alone leaves it\n${readFileSync(main, 'utf8')}`);
    p.setTime('dist/bin/onebridge.js', 0);
    p.setTime('package.json', 60);
    p.setTime('tsconfig.json', 60);
    p.setTime('scripts/bundle-cli.mjs', 60);
    const err = await npmStart(p.dir, ['--', '-c', 'q.yaml'], /ready: /);
    expect(err).toMatch(/^onebridge: sources changed since the last build; building…\n/);
    expect(existsSync(join(p.dir, 'dist', 'built'))).toBe(true);
  });

  it('builds first when the CLI bundler changed since the last build (the bundle is part of the build)', async () => {
    const p = packageCopy();
    p.setTime('dist/bin/onebridge.js', 60);
    p.setTime('package.json', 120);
    p.setTime('tsconfig.json', 120);
    p.setTime('scripts/bundle-cli.mjs', 10);
    const err = await npmStart(p.dir, ['--', '-c', 'q.yaml'], /ready: /);
    expect(err).toMatch(/^onebridge: sources changed since the last build; building…\n/);
    expect(existsSync(join(p.dir, 'dist', 'built'))).toBe(true);
  });
});
