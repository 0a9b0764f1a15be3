#!/usr/bin/env node
// Second half of `npm run build`: bundles the compiled CLI (dist/bin/onebridge.js and all it
// imports, dependencies included) into a few files, so a start reads, resolves and compiles a
// handful of modules instead of ~300 (most of a cold start on Node 20 and on phones; see
// bench/README.md, start-up). esbuild-wasm: pure JS and WebAssembly, no install script, no
// native binary, so this runs wherever Node does (Termux included).
//
// Layout: dist/bin/onebridge.js is replaced by the bundle's tiny entry (it still catches the
// shutdown signals before anything else loads), the rest lands in dist/bin/chunks/, one chunk
// per dynamic import (`start`, the full command-line parser, each command, ...). The library
// (dist/src, dist/adapters) stays as tsc wrote it.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = join(import.meta.dirname, '..');
const esbuild = createRequire(import.meta.url)('esbuild-wasm');
const entry = join(root, 'dist', 'bin', 'onebridge.js');
const outdir = join(root, 'dist', 'bin');

/**
 * zod's `z.locales` re-exports ~40 languages (~300 KB, half of zod in a bundle); onebridge's
 * messages are English and set their own texts. Only English stays.
 */
const englishOnlyZod = {
  name: 'english-only-zod',
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer)
        ? { path: join(dirname(args.importer), '../locales/en-only.js'), namespace: 'zod-locales' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(join(dirname(args.path), 'en.js'))};`,
      resolveDir: dirname(args.path),
    }));
  },
};

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

if (!existsSync(entry)) {
  console.error(`bundle-cli: ${entry} is missing; run tsc first (npm run build)`);
  process.exit(1);
}
rmSync(join(outdir, 'chunks'), { recursive: true, force: true });
const result = await esbuild.build({
  entryPoints: [entry],
  outdir,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  allowOverwrite: true,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Loaded only after ready or by other commands, and some read their own files at run time.
  external: ['yargs', 'prom-client', '@xmpp/client'],
  plugins: [englishOnlyZod, leanWinston],
  metafile: Boolean(process.env.ONEBRIDGE_BUNDLE_META),
  minifyWhitespace: true,
  minifySyntax: true,
  // Bundled CommonJS (winston and its dependencies) calls require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __obRequire } from 'node:module'; const require = __obRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
if (result.errors.length > 0) process.exit(1);
if (process.env.ONEBRIDGE_BUNDLE_META)
  writeFileSync(process.env.ONEBRIDGE_BUNDLE_META, JSON.stringify(result.metafile));
// tsc's map and declarations describe the unbundled entry this replaced.
for (const stale of ['onebridge.js.map', 'onebridge.d.ts', 'onebridge.d.ts.map'])
  rmSync(join(outdir, stale), { force: true });
