// Dumps the exact training sequences of recur's `adding` task for one seed into
// test/fixtures/golden/adding/data.json, so scripts/goldens/generate.py can compute the PyTorch
// reference on the very numbers recur trains on (test/training/golden-cases.test.ts checks they still agree).
// usage: npm run build && node scripts/goldens/dump-adding.mjs
import { existsSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const modulePath = ['dist/src/main/data/load.js', 'dist/src/main/data.js'].map((p) => repo + p).find((p) => existsSync(p));
if (!modulePath) throw new Error('build first: npm run build');
const { loadDataset } = await import(modulePath);

const seed = 7, seqLen = 10, trainSize = 16, valSize = 4;
const dataset = loadDataset({ task: 'adding', seqLen, trainSize, valSize }, seed, 'dump-adding');
const n = dataset.size('train');
const arrays = {
  tokens: new Int32Array(0), targetIds: new Int32Array(0),
  inputs: new Float32Array(seqLen * n * 2), targetValues: new Float32Array(n),
};
dataset.fill('train', Int32Array.from({ length: n }, (_, i) => i), 0, n, 'last', arrays);
// Time-major [T][n][2] → sequence-major [n][T][2]; every number is a float32 value written exactly.
const inputs = Array.from({ length: n }, (_, j) =>
  Array.from({ length: seqLen }, (_, t) => [arrays.inputs[(t * n + j) * 2], arrays.inputs[(t * n + j) * 2 + 1]]));
const out = fileURLToPath(new URL('../../test/fixtures/golden/adding/data.json', import.meta.url));
writeFileSync(out, JSON.stringify({ task: 'adding', seed, seqLen, trainSize, valSize, inputs, targets: Array.from(arrays.targetValues) }) + '\n');
console.log(`wrote ${out}: ${n} sequences of ${seqLen} steps`);
