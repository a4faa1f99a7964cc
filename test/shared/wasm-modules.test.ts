import t from 'tap';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { gemmAB, gemmABt, gemmAtB } from '../../src/shared/backends/gemm.js';
import { Rng } from '../../src/shared/model/rng.js';
import { worse } from '../helpers/max-error.js';

import {
  createWasmMemory, instantiateNetworkModules, type WasmNetworkModules,
} from '../../src/shared/backends/wasm-modules.js';
const SIZES = [1, 3, 5, 15, 16, 17, 33, 65, 130];
/** Written around every output region; must survive every kernel call. */
const GUARD = 12345.5;
const GUARD_FLOATS = 16;

const sharedMemory = (pages: number): WebAssembly.Memory => createWasmMemory(pages, pages);

/** Bump allocator over the memory; `skew` bytes (0 or 4) shift every region off 64-byte alignment. */
class Arena {
  private next = 64;
  readonly f32: Float32Array;
  constructor(readonly memory: WebAssembly.Memory, private readonly skew: number) {
    this.f32 = new Float32Array(memory.buffer);
  }
  /** Byte offset of `floats` floats, with guard floats on both sides. */
  alloc(floats: number): number {
    const start = this.next + GUARD_FLOATS * 4 + this.skew;
    this.next = Math.ceil((start + (floats + GUARD_FLOATS) * 4) / 64) * 64;
    if (this.next > this.memory.buffer.byteLength) throw new Error('test arena is full');
    this.f32.fill(GUARD, start / 4 - GUARD_FLOATS, start / 4);
    this.f32.fill(GUARD, start / 4 + floats, start / 4 + floats + GUARD_FLOATS);
    return start;
  }
  random(ptr: number, floats: number, rng: Rng): void {
    for (let i = 0; i < floats; i++) this.f32[ptr / 4 + i] = rng.uniform() * 2 - 1;
  }
  /** The region as float64 (exactly the float32 values). */
  read(ptr: number, floats: number): Float64Array {
    return Float64Array.from(this.f32.subarray(ptr / 4, ptr / 4 + floats));
  }
  guardsIntact(ptr: number, floats: number): boolean {
    const at = ptr / 4;
    for (let i = 1; i <= GUARD_FLOATS; i++) {
      if (this.f32[at - i] !== GUARD || this.f32[at + floats - 1 + i] !== GUARD) return false;
    }
    return true;
  }
}

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
  kernels: WasmNetworkModules, arena: Arena, rng: Rng, product: Product, M: number, N: number, K: number, beta: 0 | 1,
): number {
  const a = arena.alloc(M * K);
  const b = arena.alloc(K * N);
  const c = arena.alloc(M * N);
  arena.random(a, M * K, rng);
  arena.random(b, K * N, rng);
  arena.random(c, M * N, rng);
  const aRef = arena.read(a, M * K), bRef = arena.read(b, K * N), cRef = arena.read(c, M * N);
  const magnitude = cRef.map((x) => beta * Math.abs(x));
  REFERENCE[product](cRef, 0, aRef, 0, bRef, 0, M, N, K, beta);
  REFERENCE[product](magnitude, 0, aRef.map(Math.abs), 0, bRef.map(Math.abs), 0, M, N, K, 1);

  let guardsIntact = true;
  if (product === 'AtB') {
    const scratchFloats = kernels.scratchFloats(M, N, K);
    const scratch = arena.alloc(scratchFloats);
    kernels.gemmAtB(c, a, b, M, N, K, beta, scratch);
    guardsIntact = arena.guardsIntact(scratch, scratchFloats);
  } else {
    const packedFloats = kernels.packedSize(N, K);
    const packed = arena.alloc(packedFloats);
    if (product === 'ABt') kernels.packBT(packed, b, N, K);
    else kernels.packB(packed, b, K, N);
    guardsIntact = arena.guardsIntact(packed, packedFloats);
    kernels.gemmPacked(c, a, packed, M, N, K, beta);
  }
  if (!guardsIntact || !arena.guardsIntact(c, M * N)) return Infinity;
  const got = arena.read(c, M * N);
  let worst = 0;
  for (let i = 0; i < M * N; i++) {
    worst = worse(worst, Math.abs(got[i]! - cRef[i]!) / (1e-5 * (1 + magnitude[i]!)));
  }
  return worst;
}

const memory = sharedMemory(256);
const kernels = instantiateNetworkModules(memory);

for (const product of ['ABt', 'AB', 'AtB'] as const) {
  t.test(`${product}: every M, N, K in {${SIZES.join(',')}}, beta 0 and 1`, async (t) => {
    const rng = new Rng(7, SIZES.length);
    let cases = 0;
    const failures: string[] = [];
    for (const M of SIZES) for (const N of SIZES) for (const K of SIZES) for (const beta of [0, 1] as const) {
      const arena = new Arena(memory, (cases++ % 2) * 4);
      const error = checkProduct(kernels, arena, rng, product, M, N, K, beta);
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
      const error = checkProduct(kernels, new Arena(memory, 0), rng, product, M, N, K, beta);
      t.ok(error <= 1, `${product} M=${M} N=${N} K=${K} beta=${beta}: error ${error.toFixed(3)} of tolerance`);
    }
  }
});

t.test('K = 0 scales C by beta', async (t) => {
  const arena = new Arena(memory, 0);
  const c = arena.alloc(6), packed = arena.alloc(16), scratch = arena.alloc(kernels.scratchFloats(2, 3, 0) + 1);
  arena.random(c, 6, new Rng(9));
  const before = arena.read(c, 6);
  kernels.gemmPacked(c, 0, packed, 2, 3, 0, 1);
  kernels.gemmAtB(c, 0, 0, 2, 3, 0, 1, scratch);
  t.same(arena.read(c, 6), before, 'beta 1 keeps C');
  kernels.gemmPacked(c, 0, packed, 2, 3, 0, 0);
  t.same(arena.read(c, 6), new Float64Array(6), 'beta 0 zeroes C');
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
  const memory = sharedMemory(256);
  const kernels = instantiateNetworkModules(memory);
  const arena = new Arena(memory, 0);
  const rng = new Rng(10);
  const [M, N, K] = [65, 1024, 256];
  const a = arena.alloc(M * K), w = arena.alloc(N * K), packed = arena.alloc(kernels.packedSize(N, K));
  const whole = arena.alloc(M * N), halves = arena.alloc(M * N);
  arena.random(a, M * K, rng);
  arena.random(w, N * K, rng);
  kernels.packBT(packed, w, N, K);
  kernels.gemmPacked(whole, a, packed, M, N, K, 0);
  // Weight gradient shape, each thread with its own scratch and output.
  const [gM, gN, gK] = [256, 64, 1000];
  const g = arena.alloc(gK * gM), h = arena.alloc(gK * gN);
  arena.random(g, gK * gM, rng);
  arena.random(h, gK * gN, rng);
  const gradOut = [arena.alloc(gM * gN), arena.alloc(gM * gN), arena.alloc(gM * gN)];
  const gradScratch = [0, 1].map(() => arena.alloc(kernels.scratchFloats(gM, gN, gK)));
  kernels.gemmAtB(gradOut[2]!, g, h, gM, gN, gK, 0, gradScratch[0]!);

  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { memory, modulesUrl: new URL('../../src/shared/backends/wasm-modules.js', import.meta.url).href },
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
      t.same(arena.read(halves, M * N), arena.read(whole, M * N), `round ${round}: rows split across threads`);

      const gradDone = next();
      worker.postMessage({ kernel: 'gemmAtB', args: [gradOut[1], g, h, gM, gN, gK, 0, gradScratch[1]] });
      kernels.gemmAtB(gradOut[0]!, g, h, gM, gN, gK, 0, gradScratch[0]!);
      await gradDone;
      t.same(arena.read(gradOut[0]!, gM * gN), arena.read(gradOut[2]!, gM * gN), `round ${round}: main gemmAtB`);
      t.same(arena.read(gradOut[1]!, gM * gN), arena.read(gradOut[2]!, gM * gN), `round ${round}: worker gemmAtB`);
    }
  } finally {
    await worker.terminate();
  }
});
