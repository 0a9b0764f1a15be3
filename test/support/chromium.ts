import { existsSync } from 'node:fs';
import { ensureDebianPackage } from './debian-package.js';

/** Debian's browser (package `chromium`): what a user's browser sends is tested with it. */
export const CHROMIUM = '/usr/bin/chromium';
/**
 * The same Chromium build without the browser around it (Debian package
 * `chromium-headless-shell`, what Playwright itself drives for headless runs): Blink, V8 and the
 * network stack of `chromium`, for tests of a page's behaviour. It uses under half the CPU of the
 * full browser in headless mode, which on a 2-core machine is seconds off the suite.
 * `ONEBRIDGE_TEST_CHROMIUM=/usr/bin/chromium` runs those tests in the full browser instead.
 */
export const CHROMIUM_HEADLESS_SHELL = process.env['ONEBRIDGE_TEST_CHROMIUM'] ?? '/usr/bin/chromium-headless-shell';
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

/** As ensureChromium, for CHROMIUM_HEADLESS_SHELL (or the browser ONEBRIDGE_TEST_CHROMIUM names). */
export function ensureChromiumHeadlessShell(): void {
  if (process.env['ONEBRIDGE_TEST_CHROMIUM']) {
    if (!existsSync(CHROMIUM_HEADLESS_SHELL))
      throw new Error(`ONEBRIDGE_TEST_CHROMIUM names ${CHROMIUM_HEADLESS_SHELL}, which does not exist`);
    return;
  }
  ensureDebianPackage({
    name: 'chromium-headless-shell',
    present: () => existsSync(CHROMIUM_HEADLESS_SHELL),
    neededBy: 'dashboard tests',
  });
}
