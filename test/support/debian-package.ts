import { spawnSync } from 'node:child_process';
import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Node built-ins only: test/support/ngircd.ts uses this, and the IRC bench builds that file.

/** The longest an install may take, waiting for another file's install and `apt-get update` included. */
export const INSTALL_MS = 600_000;

export interface DebianPackage {
  /** The package, e.g. `ngircd`. */
  name: string;
  /** Whether what the tests use from it is there (a binary, say); asked before and after installing. */
  present: () => boolean;
  /** Who needs it, for the error message: `IRC tests`. */
  neededBy: string;
  /** Install its Recommends too; by default they are left out (--no-install-recommends). */
  recommends?: boolean;
}

/**
 * Makes sure a Debian package is there, as docs/adapters.md asks of the servers tests run: when
 * `present()` says it is missing and this process is root with apt-get, installs it (apt-get
 * install; when that fails, apt-get update and install again), one install at a time across test
 * files (a lock folder in the temp dir, taken over when older than an install can be); otherwise
 * throws one line naming the package. Never a silent skip. Synchronous, so it may run at import;
 * in a beforeAll, give the hook INSTALL_MS.
 *
 * It does not use sudo, pin a version or know other package managers, and it remembers
 * nothing: callers that ask often cache the answer.
 */
export function ensureDebianPackage(pkg: DebianPackage): void {
  if (pkg.present()) return;
  const needs = `${pkg.neededBy} need the Debian package "${pkg.name}"`;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!isRoot || !hasApt)
    throw new Error(
      `${needs} (apt-get install ${pkg.name}); it is missing and this process ${isRoot ? 'has no apt-get' : 'is not root'} to install it`,
    );
  const deadline = Date.now() + INSTALL_MS;
  const lock = join(tmpdir(), 'onebridge-apt-install.lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another test file is installing (this package or another): apt runs one at a time. A
      // lock older than the longest install was left by a killed run: take it over.
      if (pkg.present()) return;
      try {
        if (Date.now() - statSync(lock).mtimeMs > INSTALL_MS + 60_000) rmdirSync(lock);
      } catch {
        /* gone meanwhile */
      }
      if (Date.now() > deadline) throw new Error(`${needs}: waited 10 min for another install (lock ${lock})`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
  try {
    if (!pkg.present()) {
      const apt = (args: string[]) => {
        const r = spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', ...args], {
          env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
          stdio: ['ignore', 'ignore', 'pipe'],
          encoding: 'utf8',
          timeout: Math.max(1, deadline - Date.now()),
        });
        const why =
          r.error?.message ??
          (r.status === 0 ? '' : r.stderr.trim().split('\n').at(-1) || `exit ${r.status ?? r.signal}`);
        if (why) throw new Error(`${needs}; apt-get ${args[0]} failed: ${why}`);
      };
      const install = ['install', '-y', ...(pkg.recommends ? [] : ['--no-install-recommends']), pkg.name];
      try {
        apt(install);
      } catch {
        // A fresh machine has no package lists yet.
        apt(['update']);
        apt(install);
      }
    }
  } finally {
    rmdirSync(lock);
  }
  if (!pkg.present()) throw new Error(`${needs}; apt-get install ${pkg.name} did not provide it`);
}
