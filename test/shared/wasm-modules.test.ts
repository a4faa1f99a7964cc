// The WebAssembly matrix kernels (packBT / packB + gemmPacked, gemmAtB with its scratch) against
// the float64 reference products of gemm.ts: every M, N, K of a set of sizes that are and are not
// multiples of the tiles, beta 0 and 1, regions on and off 64-byte alignment, guards around every
// region (nothing written outside the output and scratch); K longer than one chunk and the LSTM's
// shapes; K = 0; and two threads on one shared memory computing halves of a product that equal
// the whole, bit for bit.
import t from 'tap';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gemmAB, gemmABt, gemmAtB } from '../../src/shared/model/gemm.js';
import { Rng } from '../../src/shared/model/rng.js';
import { worse } from '../helpers/max-error.js';

import type { WasmNetworkModules } from '../../src/shared/backends/wasm-modules.js';
import { bareKernels, GuardedArena } from '../helpers/kernels.js';
import { REPO_ROOT } from '../helpers/cli.js';

const SIZES = [1, 3, 5, 15, 16, 17, 33, 65, 130];

/** Uniform(−1, 1) values in `x`. */
function fillRandom(x: Float32Array, rng: Rng): void {
  for (let i = 0; i < x.length; i++) x[i] = rng.uniform() * 2 - 1;
}

/** `x` as float64 (exactly its float32 values). */
const read = (x: Float32Array): Float64Array => Float64Array.from(x);

type Product = 'ABt' | 'AB' | 'AtB';
const REFERENCE = { ABt: gemmABt, AB: gemmAB, AtB: gemmAtB };

/**
 * Runs one kernel on random operands and compares with the float64 reference on the same float32
 * values. Error allowed per element: 1e-5 of the sum of magnitudes that went into it
 * (|beta·C| + Σ|a||b|), which bounds float32 rounding for these K and catches any misplaced term.
 * Returns the worst error as a fraction of that allowance (≤ 1 passes), or Infinity if a guard
 * around an output was overwritten.
 */
function checkProduct(
  kernels: WasmNetworkModules, arena: GuardedArena, skew: number, rng: Rng, product: Product, M: number, N: number, K: number, beta: 0 | 1,
): number {
  const aView = arena.f32(M * K, skew), bView = arena.f32(K * N, skew), cView = arena.f32(M * N, skew);
  fillRandom(aView, rng);
  fillRandom(bView, rng);
  fillRandom(cView, rng);
  const [a, b, c] = [aView.byteOffset, bView.byteOffset, cView.byteOffset];
  const aRef = read(aView), bRef = read(bView), cRef = read(cView);
  const magnitude = cRef.map((x) => beta * Math.abs(x));
  REFERENCE[product](cRef, 0, aRef, 0, bRef, 0, M, N, K, beta);
  REFERENCE[product](magnitude, 0, aRef.map(Math.abs), 0, bRef.map(Math.abs), 0, M, N, K, 1);

  if (product === 'AtB') {
    const scratch = arena.f32(kernels.scratchFloats(M, N, K), skew).byteOffset;
    kernels.gemmAtB(c, a, b, M, N, K, beta, scratch);
  } else {
    const packed = arena.f32(kernels.packedSize(N, K), skew).byteOffset;
    if (product === 'ABt') kernels.packBT(packed, b, N, K);
    else kernels.packB(packed, b, K, N);
    kernels.gemmPacked(c, a, packed, M, N, K, beta);
  }
  // Every region's guards: the output's and the scratch's, and the inputs' (never written).
  if (!arena.guardsIntact()) return Infinity;
  const got = read(cView);
  let worst = 0;
  for (let i = 0; i < M * N; i++) {
    worst = worse(worst, Math.abs(got[i]! - cRef[i]!) / (1e-5 * (1 + magnitude[i]!)));
  }
  return worst;
}

const { memory, modules: kernels } = bareKernels(256);

for (const product of ['ABt', 'AB', 'AtB'] as const) {
  t.test(`${product}: every M, N, K in {${SIZES.join(',')}}, beta 0 and 1`, async (t) => {
    const rng = new Rng(7, SIZES.length);
    let cases = 0;
    const failures: string[] = [];
    for (const M of SIZES) for (const N of SIZES) for (const K of SIZES) for (const beta of [0, 1] as const) {
      // Every other case one float off 64-byte alignment.
      const error = checkProduct(kernels, new GuardedArena(memory), cases++ % 2, rng, product, M, N, K, beta);
      if (!(error <= 1)) failures.push(`M=${M} N=${N} K=${K} beta=${beta}: error ${error}`);
    }
    t.same(failures.slice(0, 10), [], `${cases} shapes within tolerance, outputs stay in bounds`);
  });
}

t.test('K longer than one chunk, and the LSTM shapes', async (t) => {
  const rng = new Rng(8);
  const shapes: [Product, number, number, number][] = [
    ['ABt', 64, 1024, 256], ['ABt', 17, 100, 700], ['AB', 33, 130, 1000], ['ABt', 16, 512, 65],
    ['AtB', 512, 128, 2049], ['AtB', 130, 65, 1500], ['AtB', 3, 17, 513],
  ];
  for (const [product, M, N, K] of shapes) {
    for (const beta of [0, 1] as const) {
      const error = checkProduct(kernels, new GuardedArena(memory), 0, rng, product, M, N, K, beta);
      t.ok(error <= 1, `${product} M=${M} N=${N} K=${K} beta=${beta}: error ${error.toFixed(3)} of tolerance`);
    }
  }
});

t.test('a single row (M = 1, its own kernel) is bit for bit that row of a taller product', async (t) => {
  const rng = new Rng(11);
  const failures: string[] = [];
  let cases = 0;
  // N across panel pairs, a lone last panel and partial panels; K across chunks (256).
  for (const N of [1, 15, 16, 17, 31, 32, 33, 48, 65, 130, 512]) {
    for (const K of [0, 1, 5, 64, 256, 257, 600]) {
      for (const beta of [0, 1] as const) {
        const M = 3, skew = cases++ % 2, arena = new GuardedArena(memory);
        const a = arena.f32(M * K, skew), w = arena.f32(N * K, skew), packed = arena.f32(kernels.packedSize(N, K), skew);
        const tall = arena.f32(M * N, skew), rows = [0, 1, 2].map(() => arena.f32(N, skew));
        fillRandom(a, rng);
        fillRandom(w, rng);
        fillRandom(tall, rng);
        rows.forEach((row, m) => row.set(tall.subarray(m * N, (m + 1) * N)));
        kernels.packBT(packed.byteOffset, w.byteOffset, N, K);
        kernels.gemmPacked(tall.byteOffset, a.byteOffset, packed.byteOffset, M, N, K, beta);
        rows.forEach((row, m) => {
          kernels.gemmPacked(row.byteOffset, a.byteOffset + m * K * 4, packed.byteOffset, 1, N, K, beta);
          if (!row.every((v, j) => Object.is(v, tall[m * N + j]))) failures.push(`N=${N} K=${K} beta=${beta} row ${m}`);
        });
        if (!arena.guardsIntact()) failures.push(`N=${N} K=${K} beta=${beta}: a guard was overwritten`);
      }
    }
  }
  t.same(failures.slice(0, 10), [], `${cases} shapes, every row bit-identical, outputs stay in bounds`);
});

t.test('K = 0 scales C by beta', async (t) => {
  const arena = new GuardedArena(memory);
  const cView = arena.f32(6), packed = arena.f32(16).byteOffset, scratch = arena.f32(kernels.scratchFloats(2, 3, 0) + 1).byteOffset;
  const c = cView.byteOffset;
  fillRandom(cView, new Rng(9));
  const before = read(cView);
  kernels.gemmPacked(c, 0, packed, 2, 3, 0, 1);
  kernels.gemmAtB(c, 0, 0, 2, 3, 0, 1, scratch);
  t.same(read(cView), before, 'beta 1 keeps C');
  kernels.gemmPacked(c, 0, packed, 2, 3, 0, 0);
  t.same(read(cView), new Float64Array(6), 'beta 0 zeroes C');
});

/** A worker that instantiates the kernels on `memory` and runs the calls it is sent. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData.modulesUrl).then(({ instantiateNetworkModules }) => {
  const kernels = instantiateNetworkModules(workerData.memory);
  parentPort.on('message', ({ kernel, args }) => {
    kernels[kernel](...args);
    parentPort.postMessage('done');
  });
  parentPort.postMessage('ready');
});
`;

t.test('two threads on one memory: halves of a product equal the whole', async (t) => {
  const { memory, modules: kernels } = bareKernels(256);
  const arena = new GuardedArena(memory);
  const rng = new Rng(10);
  const [M, N, K] = [65, 1024, 256];
  const aView = arena.f32(M * K), wView = arena.f32(N * K), packed = arena.f32(kernels.packedSize(N, K)).byteOffset;
  const wholeView = arena.f32(M * N), halvesView = arena.f32(M * N);
  const [a, w, whole, halves] = [aView.byteOffset, wView.byteOffset, wholeView.byteOffset, halvesView.byteOffset];
  fillRandom(aView, rng);
  fillRandom(wView, rng);
  kernels.packBT(packed, w, N, K);
  kernels.gemmPacked(whole, a, packed, M, N, K, 0);
  // Weight gradient shape, each thread with its own scratch and output.
  const [gM, gN, gK] = [256, 64, 1000];
  const gView = arena.f32(gK * gM), hView = arena.f32(gK * gN);
  const [g, h] = [gView.byteOffset, hView.byteOffset];
  fillRandom(gView, rng);
  fillRandom(hView, rng);
  const gradOutViews = [arena.f32(gM * gN), arena.f32(gM * gN), arena.f32(gM * gN)];
  const gradOut = gradOutViews.map((x) => x.byteOffset);
  const gradScratch = [0, 1].map(() => arena.f32(kernels.scratchFloats(gM, gN, gK)).byteOffset);
  kernels.gemmAtB(gradOut[2]!, g, h, gM, gN, gK, 0, gradScratch[0]!);

  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { memory, modulesUrl: pathToFileURL(join(REPO_ROOT, 'dist/src/shared/backends/wasm-modules.js')).href },
  });
  // Resolves on the worker's next message, rejects if it throws.
  const next = () => once(worker, 'message');
  try {
    await next(); // ready
    const top = 32, bottom = M - top;
    for (let round = 0; round < 5; round++) {
      // The worker's half starts as soon as it is posted, so both run at the same time.
      const workerDone = next();
      worker.postMessage({
        kernel: 'gemmPacked', args: [halves + top * N * 4, a + top * K * 4, packed, bottom, N, K, 0],
      });
      kernels.gemmPacked(halves, a, packed, top, N, K, 0);
      await workerDone;
      t.same(read(halvesView), read(wholeView), `round ${round}: rows split across threads`);

      const gradDone = next();
      worker.postMessage({ kernel: 'gemmAtB', args: [gradOut[1], g, h, gM, gN, gK, 0, gradScratch[1]] });
      kernels.gemmAtB(gradOut[0]!, g, h, gM, gN, gK, 0, gradScratch[0]!);
      await gradDone;
      t.same(read(gradOutViews[0]!), read(gradOutViews[2]!), `round ${round}: main gemmAtB`);
      t.same(read(gradOutViews[1]!), read(gradOutViews[2]!), `round ${round}: worker gemmAtB`);
    }
  } finally {
    await worker.terminate();
  }
});
