// The first line of the bundled command (dist/bin/onebridge-main.js): bundled CommonJS (winston
// and its dependencies) calls require() for Node's built-ins. bundle-cli.mjs writes it;
// build-if-stale.mjs reads it to tell the bundle from tsc's own, unbundled output.
export const BUNDLE_BANNER =
  "import { createRequire as __obRequire } from 'node:module'; const require = __obRequire(import.meta.url);";
