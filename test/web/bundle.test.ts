// The browser bundle, dist/web/recur.js (npm run build): an ES module with nothing of Node in it,
// its size reported (goal ≤ 150 KB gzipped, JS and wasm together); a bundle that would need Node
// does not build. And the unshared .local.wasm kernels the browser runs compute exactly what the
// shared ones compute.
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { initParams } from '../../src/shared/model/init.js';
import { paramLayout } from '../../src/shared/model/layout.js';
import type { ModelConfig } from '../../src/shared/model/model-config.js';
import { Rng } from '../../src/shared/model/rng.js';
import { createPlanMemory, planSharedMemory, type EngineSpec } from '../../src/shared/memory/shared-memory.js';
import { sharedViews, workerModel } from '../../src/shared/memory/views.js';
import { isSharedMemory } from '../../src/shared/backends/wasm-modules.js';
import { REPO_ROOT, tempDir } from '../helpers/cli.js';
import { spawnSync } from 'node:child_process';

const BUNDLE = join(REPO_ROOT, 'dist', 'web', 'recur.js');
const GOAL_GZIPPED = 150 * 1024;

t.test('dist/web/recur.js: an ES module without Node, small', async (t) => {
  t.ok(existsSync(BUNDLE), 'npm run build wrote it');
  const text = readFileSync(BUNDLE, 'utf8');
  t.notMatch(text, /["'`]node:/, 'no node: specifier');
  const builtins = builtinModules.filter((m) => !m.startsWith('_'));
  const required = [...text.matchAll(/\brequire\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((m) => m[1]);
  t.same(required, [], 'no require() of anything');
  const imported = [...text.matchAll(/\bfrom\s*["'`]([^"'`]+)["'`]|\bimport\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((m) => m[1] ?? m[2]);
  t.same(imported.filter((m) => builtins.includes(m!.replace(/^node:/, ''))), [], 'no import of a built-in');
  t.match(text, /export\s*\{[^}]*\bloadModel\b/, 'exports loadModel');
  const gzipped = gzipSync(readFileSync(BUNDLE), { level: 9 }).length;
  t.comment(`recur/web: ${(text.length / 1024).toFixed(1)} KB, ${(gzipped / 1024).toFixed(1)} KB gzipped (JS and the inlined wasm kernels)`);
  t.ok(gzipped <= GOAL_GZIPPED, `${(gzipped / 1024).toFixed(1)} KB gzipped ≤ 150 KB`);
});

t.test('a bundle that needs Node fails to build', async (t) => {
  const dir = tempDir(t, 'recur-web-');
  const entry = join(dir, 'node-side.js');
  // Node's loadModel: files and the BLAS chooser, which a page cannot have.
  writeFileSync(entry, `export { loadModel } from ${JSON.stringify(join(REPO_ROOT, 'dist', 'src', 'main', 'inference', 'predict.js'))};\n`);
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-web.mjs'), entry, join(dir, 'out.js')], { encoding: 'utf8' });
  t.equal(r.status, 1, 'exit 1');
  t.match(r.stderr, /Could not resolve "node:/, 'esbuild names the node: import');
  t.match(r.stderr, /must not need Node/);
  t.notOk(existsSync(join(dir, 'out.js')), 'nothing written');
});

t.test('the unshared kernels compute what the shared ones do, bit for bit', async (t) => {
  for (const cell of ['lstm', 'gru', 'rnn'] as const) {
    const cfg: ModelConfig = { cell, inputSize: 3, hidden: 20, layers: 2, outputSize: 4, recurrence: 'hidden', outputs: 'all' };
    const layout = paramLayout(cfg);
    const params = new Float32Array(layout.size);
    initParams(cfg, layout, params, 2, { scale: 0.5, forgetBias: 1 });
    const spec: EngineSpec = {
      cfg, loss: 'mse', input: 'dense', seqLen: 7, batch: 5, workers: 1, kernels: 'wasm',
      optimizer: { name: 'sgd', lr: 0, momentum: 0, beta1: 0, beta2: 0, eps: 0, weightDecay: 0, nesterov: false }, clip: null, teacherForcing: false,
    };
    const plan = planSharedMemory(spec, 0);
    const rng = new Rng(3, 1);
    const x = Float32Array.from({ length: 7 * 5 * 3 }, () => rng.normal());
    const outputs = [true, false].map((shared) => {
      const memory = createPlanMemory(plan, shared);
      t.equal(isSharedMemory(memory), shared, `${cell}: ${shared ? 'shared' : 'unshared'} memory`);
      const views = sharedViews(memory, plan);
      views.params.set(params);
      views.shards[0]!.inputs.set(x);
      const { net, params: p, shard } = workerModel(memory, plan, views, 0);
      net.forward(p, shard, 5, { teacherForcing: false, gradScale: null });
      return Float32Array.from(net.y);
    });
    t.ok(outputs[0]!.every((v, i) => Object.is(v, outputs[1]![i])), `${cell}: ${outputs[0]!.length} outputs identical`);
  }
});
