#!/usr/bin/env node
// Second half of `npm run build`: bundles the compiled CLI (dist/bin/onebridge-main.js and all
// it imports, dependencies included) into that one file, so a start reads and compiles one
// module instead of ~300 (most of a cold start on Node 20 and on phones; see bench/README.md,
// start-up). One file, not chunks: each extra module costs RSS (measured ~4 MiB for a dozen
// chunks). esbuild-wasm: pure JS and WebAssembly, no install script, no native binary, so this
// runs wherever Node does (Termux included).
//
// dist/bin/onebridge.js, the entry that catches the shutdown signals before anything loads,
// stays as tsc wrote it; it and the bundle share the unbundled dist/src/signals.js (one module
// instance, so the signals caught early reach `start`). The library (dist/src, dist/adapters)
// stays as tsc wrote it. Without this step the command still works, unbundled.
import { existsSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_BANNER } from './bundle-banner.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const requireHere = createRequire(import.meta.url);
const esbuild = requireHere('esbuild-wasm');
const bin = join(root, 'dist', 'bin');
const main = join(bin, 'onebridge-main.js');
const signals = join(root, 'dist', 'src', 'signals.js');

/**
 * winston's dependencies, trimmed for a CLI: readable-stream (a copy of Node 10's streams) is
 * Node's own `stream`, and @dabh/diagnostics (winston's internal DEBUG=winston:* tracing; it
 * loads a colour library at start) is its own production build, which logs nothing.
 */
const leanWinston = {
  name: 'lean-winston',
  setup(build) {
    build.onResolve({ filter: /^readable-stream$/ }, () => ({ path: 'node:stream', external: true }));
    build.onResolve({ filter: /^readable-stream\/lib\/_stream_writable(\.js)?$/ }, () => ({
      path: 'writable',
      namespace: 'node-stream',
    }));
    build.onLoad({ filter: /.*/, namespace: 'node-stream' }, () => ({
      contents: "module.exports = require('node:stream').Writable;",
      loader: 'js',
    }));
    build.onResolve({ filter: /^@dabh\/diagnostics$/ }, (args) =>
      build.resolve('@dabh/diagnostics/node/production.js', { kind: args.kind, resolveDir: args.resolveDir }),
    );
  },
};

/**
 * Node's built-ins through require(), never `import`: an ES module import of a built-in makes
 * Node build its ESM facade, which reads every export, lazy ones included. node:http's lazy
 * WebSocket/EventSource exports load undici (~800 KB of code, ~10 MiB RSS on Node 26), and
 * others load what their getters guard (fs.promises, crypto.webcrypto, ...). require() is
 * what a CommonJS program gets, lazy exports stay lazy.
 *
 * Each built-in becomes a small ES module with one pure export per name, so esbuild keeps only
 * the names the code uses and reads each once. Wrapping it as CommonJS instead made esbuild copy
 * every export into a getter per importing module (~2,000 closures), and something on that path
 * read util's lazy exports, which loaded worker_threads and util.diff at every start.
 */
const builtinsViaRequire = {
  name: 'builtins-via-require',
  setup(build) {
    build.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) =>
      args.kind === 'import-statement' && isBuiltin(args.path)
        ? { path: args.path, namespace: 'node-builtin' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => {
      const id = args.path.startsWith('node:') ? args.path : `node:${args.path}`;
      const names = Object.keys(requireHere(id)).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
      return {
        contents: [
          `const m = require(${JSON.stringify(id)});`,
          'export default m;',
          ...names.map((k) => `export const ${k} = /* @__PURE__ */ (() => m.${k})();`),
        ].join('\n'),
        loader: 'js',
      };
    });
  },
};

/** The entry's signal handlers: imported from the same file, not copied into the bundle. */
const sharedSignals = {
  name: 'shared-signals',
  setup(build) {
    build.onResolve({ filter: /signals\.js$/ }, async (args) => {
      if (args.namespace !== 'file' || args.pluginData === 'shared-signals') return undefined;
      const found = await build.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: 'shared-signals',
      });
      return found.path === signals ? { path: '../src/signals.js', external: true } : found;
    });
  },
};

if (!existsSync(main) || !existsSync(signals)) {
  console.error(`bundle-cli: ${main} is missing; run tsc first (npm run build)`);
  process.exit(1);
}
// Until the bundle is written the command's entry counts as older than every source, so a build
// cut short here makes the next `npm start` build again (it compares the entry's time).
const entry = join(bin, 'onebridge.js');
utimesSync(entry, 0, 0);
const result = await esbuild.build({
  entryPoints: [main],
  outfile: main,
  allowOverwrite: true,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Loaded only after ready or by other commands, and some read their own files at run time.
  external: ['yargs', 'prom-client', '@xmpp/client'],
  plugins: [sharedSignals, builtinsViaRequire, leanWinston],
  metafile: Boolean(process.env.ONEBRIDGE_BUNDLE_META),
  minifyWhitespace: true,
  minifySyntax: true,
  banner: { js: BUNDLE_BANNER },
  logLevel: 'warning',
});
if (result.errors.length > 0) process.exit(1);
if (process.env.ONEBRIDGE_BUNDLE_META)
  writeFileSync(process.env.ONEBRIDGE_BUNDLE_META, JSON.stringify(result.metafile));
// tsc's map and declarations describe the unbundled file this replaced.
for (const stale of ['onebridge-main.js.map', 'onebridge-main.d.ts']) rmSync(join(bin, stale), { force: true });
const now = new Date();
utimesSync(entry, now, now);
