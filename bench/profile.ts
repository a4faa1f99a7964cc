/**
 * Where a training step's time goes at N workers: each kernel, the rest of forward+backward,
 * the all-reduce, the optimizer, synchronisation (barrier waits and waiting for the next step,
 * which includes the main thread's batch fill and handshake). Shares of the step's wall time,
 * averaged over the workers.
 *
 * With the blas kernels it then compares each matrix product's GFLOP/s inside the step (every
 * shape the step multiplies, timed per call) with the same BLAS's single-threaded cblas_sgemm
 * on that shape alone (fresh operands, warm, in a loop): how close the products run to what the
 * library itself reaches.
 *
 *   node dist/bench/profile.js [--workloads W2,W3] [--workers 2] [--steps 40] [--kernels auto] [--cell lstm]
 */
import { runBench } from '../src/main/bench/bench.js';
import { Engine } from '../src/main/engine/engine.js';
import { KERNEL_CHOICES, type KernelsChoice } from '../src/main/experiment/options.js';
import { loadBlas, type Blas } from '../src/shared/backends/blas.js';
import { PRODUCT_KEY } from '../src/shared/profile.js';
import { Rng } from '../src/shared/model/rng.js';
import { createWasmMemory } from '../src/shared/backends/wasm-modules.js';
import { secondsPerCall } from './timing.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

process.env.RECUR_PROFILE = '1';
const workers = Number(arg('workers', '2'));
const steps = Number(arg('steps', '40'));
const kernels = arg('kernels', 'auto') as KernelsChoice;
if (!KERNEL_CHOICES.includes(kernels)) throw new Error(`--kernels: one of ${KERNEL_CHOICES.join(', ')}`);
const cell = arg('cell', 'lstm') as 'lstm' | 'gru' | 'rnn';

for (const workload of arg('workloads', 'W2,W3').split(',')) {
  // Capture the engine's per-worker profiles by wrapping close().
  let profiles: Record<string, number>[] = [];
  const close = Engine.prototype.close;
  Engine.prototype.close = async function (this: Engine) {
    await close.call(this);
    profiles = this.profiles;
  };
  const t0 = performance.now();
  const report = await runBench({ workloads: [workload], workers: [workers], cell, kernels, steps, warmup: 3, seconds: 0 });
  const wall = performance.now() - t0;
  Engine.prototype.close = close;
  const point = report.results.find((r) => r.workers === workers)!;
  const mean: Record<string, number> = {};
  for (const p of profiles) for (const [k, v] of Object.entries(p)) mean[k] = (mean[k] ?? 0) + v / profiles.length;
  // forward+backward includes the kernels; show the remainder as "other compute".
  const kernelTimes = Object.entries(mean).filter(([k]) => k.startsWith('kernel:'));
  const kernelSum = kernelTimes.reduce((a, [, v]) => a + v, 0);
  const rows: [string, number][] = [...kernelTimes, ['other forward+backward (loss, bias sums, fills)', (mean['forward+backward'] ?? 0) - kernelSum]];
  for (const k of ['all-reduce', 'optimizer', 'sync:barrier', 'sync:between steps']) rows.push([k, mean[k] ?? 0]);
  const total = rows.reduce((a, [, v]) => a + v, 0);
  console.log(`\n${workload} ${cell}, ${workers} workers, ${report.kernels.chosen} kernels (${report.kernels.why}): ${point.tokensPerSec.toFixed(0)} tok/s (median step ${point.stepMs.toFixed(1)} ms; profiled wall ${(wall / 1000).toFixed(1)} s incl. start-up)`);
  for (const [k, v] of rows.sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(52)} ${(100 * v / total).toFixed(1).padStart(5)}%`);

  const blas = loadBlas();
  if (report.kernels.chosen === 'blas' && blas.ok) compareProducts(mean, blas.blas);
}

/** Each product shape's GFLOP/s in the step against cblas_sgemm alone on it; then all of them. */
function compareProducts(mean: Record<string, number>, blas: Blas): void {
  const shapes = Object.keys(mean).filter((k) => k.startsWith(PRODUCT_KEY)).map((key) => {
    const [name, dims] = key.slice(PRODUCT_KEY.length).split(' ');
    const [M, N, K] = dims!.split('x').map(Number) as [number, number, number];
    return { name: name!, M, N, K, ms: mean[key]!, flops: mean[`flops:${key}`]! };
  }).sort((a, b) => b.ms - a.ms);
  const productMs = shapes.reduce((a, s) => a + s.ms, 0);
  let aloneMs = 0, flops = 0;
  console.log(`  products in the step vs ${blas.library}${blas.core ? ` (${blas.core})` : ''} cblas_sgemm alone, single-threaded, same shapes:`);
  console.log(`    ${'product M×N×K'.padEnd(26)} ${'share'.padStart(6)} ${'in step'.padStart(8)} ${'alone'.padStart(7)} ${'ratio'.padStart(6)}  (GFLOP/s)`);
  for (const s of shapes) {
    const inStep = s.flops / (s.ms * 1e6);
    const alone = aloneGflops(blas, s.name, s.M, s.N, s.K);
    aloneMs += s.flops / (alone * 1e6);
    flops += s.flops;
    console.log(`    ${`${s.name} ${s.M}×${s.N}×${s.K}`.padEnd(26)} ${(100 * s.ms / productMs).toFixed(1).padStart(5)}% ${inStep.toFixed(1).padStart(8)} ${alone.toFixed(1).padStart(7)} ${(100 * inStep / alone).toFixed(0).padStart(5)}%`);
  }
  const inStep = flops / (productMs * 1e6), alone = flops / (aloneMs * 1e6);
  console.log(`    ${'all products'.padEnd(26)} ${'100.0%'.padStart(6)} ${inStep.toFixed(1).padStart(8)} ${alone.toFixed(1).padStart(7)} ${(100 * inStep / alone).toFixed(0).padStart(5)}%`);
}

/** cblas_sgemm alone on random operands in a shared WebAssembly memory, as the products' transposes are. */
function aloneGflops(blas: Blas, name: string, M: number, N: number, K: number): number {
  const floats = M * K + K * N + M * N;
  const memory = createWasmMemory(Math.ceil((floats * 4 + 256) / 65536), Math.ceil((floats * 4 + 256) / 65536));
  const heap = new Float32Array(memory.buffer);
  const rng = new Rng(1);
  for (let i = 0; i < floats; i++) heap[i] = rng.uniform() * 2 - 1;
  const base = blas.address(memory.buffer);
  const a = base, b = base + 4 * M * K, c = base + 4 * (M * K + K * N);
  const [transA, transB, lda, ldb] = name === 'abt' ? [false, true, K, K] : name === 'ab' ? [false, false, K, N] : [true, false, M, N];
  return 2 * M * N * K / secondsPerCall(() => blas.sgemm(transA, transB, M, N, K, a, lda, b, ldb, 0, c, N)) / 1e9;
}
