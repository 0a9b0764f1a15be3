import { existsSync } from 'node:fs';
import { ensureDebianPackage } from './debian-package.js';

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
export { INSTALL_MS } from './debian-package.js';

/**
 * Makes sure Chromium is there: as platform-servers.md asks, install the Debian package when
 * we can (root + apt), else throw one line naming it. Never a silent skip. Call in beforeAll
 * with `INSTALL_MS` as its timeout.
 */
export function ensureChromium(): void {
  ensureDebianPackage({ name: 'chromium', present: () => existsSync(CHROMIUM), neededBy: 'browser tests' });
}
