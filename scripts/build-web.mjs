// Bundles the browser runtime, recur/web (src/web/recur.ts, from tsc's output in dist/src), into
// one ES module, dist/web/recur.js, with esbuild: platform browser, minified, the WebAssembly
// kernels inlined. The one Node-reading module on the way, src/shared/backends/wasm-bytes.ts, is
// swapped for src/web/wasm-bytes.ts; anything else that needs Node (a node: built-in, a
// Node-only package) cannot resolve for the browser and FAILS the build — nothing is stubbed.
// Prints the size, raw and gzipped.
//
//   node scripts/build-web.mjs [ENTRY OUTFILE]   (default: dist/src/web/recur.js → dist/web/recur.js)
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const root = new URL('../', import.meta.url);
const [entry = fileURLToPath(new URL('dist/src/web/recur.js', root)), outfile = fileURLToPath(new URL('dist/web/recur.js', root))] = process.argv.slice(2);
const browserWasmBytes = fileURLToPath(new URL('dist/src/web/wasm-bytes.js', root));

/** The Node wasm-bytes.js (fs) → the browser's, whose bytes are inlined. */
const browserWasm = {
  name: 'recur-browser-wasm',
  setup(build) {
    build.onResolve({ filter: /\/wasm-bytes\.js$/ }, (args) =>
      args.importer.includes('/shared/backends/') ? { path: browserWasmBytes } : undefined);
  },
};

/**
 * csv-parse builds constants with Node's Buffer when loaded, and nothing else: it has no side
 * effects, and saying so lets esbuild leave it out, since the browser never parses CSV text
 * (forecastCsv reads a file's text in Node; a page passes rows to forecast). Were it ever called
 * from the bundle, it would be kept — and fail on Buffer at once, in the browser test.
 */
const sideEffectFree = {
  name: 'recur-side-effect-free',
  setup(build) {
    build.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData?.sideEffectFree) return undefined;
      const inCsvParse = args.path.startsWith('csv-parse') || args.importer.includes('/node_modules/csv-parse/');
      if (!inCsvParse) return undefined;
      const resolved = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: { sideEffectFree: true } });
      return resolved.errors.length > 0 ? { errors: resolved.errors } : { path: resolved.path, sideEffects: false };
    });
  },
};

mkdirSync(dirname(outfile), { recursive: true });
try {
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'eof',
    loader: { '.wasm': 'binary' },
    plugins: [browserWasm, sideEffectFree],
    logLevel: 'silent',
  });
} catch (err) {
  for (const e of err.errors ?? []) console.error(`build-web: ${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`);
  if ((err.errors ?? []).some((e) => /Could not resolve/.test(e.text))) console.error('build-web: the browser bundle must not need Node (see src/web/recur.ts)');
  process.exit(1);
}
const bytes = readFileSync(outfile);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
console.log(`build-web: ${relative(fileURLToPath(root), outfile)} ${kb(bytes.length)}, ${kb(gzipSync(bytes, { level: 9 }).length)} gzipped (JS and inlined wasm)`);
