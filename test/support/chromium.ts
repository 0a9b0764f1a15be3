import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Debian's browser (package `chromium`): the only one tests use; nothing is downloaded. */
export const CHROMIUM = '/usr/bin/chromium';
/** Flags for a quiet headless Chromium run as root in a container. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
/** Long enough for `apt-get update` and the install on a slow mirror. */
export const INSTALL_MS = 600_000;

/**
 * Makes sure Chromium is there: as platform-servers.md asks, install the Debian package when
 * we can (root + apt), else throw one line naming it. Never a silent skip. Call in beforeAll
 * with `INSTALL_MS` as its timeout.
 */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() === 0) {
    const install = () =>
      spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
        stdio: 'ignore',
        timeout: INSTALL_MS / 2,
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
    // A fresh machine has no package lists yet: update once, then try again.
    if (install().status !== 0) {
      spawnSync('apt-get', ['update'], { stdio: 'ignore', timeout: INSTALL_MS / 2 });
      install();
    }
  }
  if (!existsSync(CHROMIUM)) throw new Error('this test needs the Debian package chromium (apt-get install chromium)');
}
