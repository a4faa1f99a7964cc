/**
 * The one kernel harness of the tests. Which kernel sets run here (`KERNELS_UNDER_TEST`, with
 * 'blas' skipped, saying what to install, where no BLAS loads); one engine plan whose ranks each
 * compute on a kernel set of their choice, their ops built by the engine's own `workerModel`
 * (never a copy of it); the ops alone on a bare memory, for op-by-op tests; and a bump allocator
 * of guarded regions on a WebAssembly memory, so a kernel that writes out of bounds is caught.
 */
import { BLAS_INSTALL_HINT, loadBlas, type Blas } from '../../src/shared/backends/blas.js';
import { blasNetworkOps } from '../../src/shared/backends/blas-ops.js';
import { createWasmMemory, instantiateNetworkModules, type WasmNetworkModules } from '../../src/shared/backends/wasm-modules.js';
import { wasmNetworkOps, type WasmNetworkOps } from '../../src/shared/backends/wasm-ops.js';
import { createPlanMemory, planSharedMemory, type EngineKernels, type EngineSpec, type SharedPlan } from '../../src/shared/memory/shared-memory.js';
import { sharedViews, workerModel, type SharedViews, type WorkerModel } from '../../src/shared/memory/views.js';
import { initParams } from '../../src/shared/model/init.js';
import type { ParamLayout } from '../../src/shared/model/layout.js';
import type { LossKind, ModelConfig } from '../../src/shared/model/model-config.js';
import type { DropoutStream } from '../../src/shared/model/dropout.js';
import { Rng } from '../../src/shared/model/rng.js';
import { worse } from './max-error.js';

export type Kernels = EngineKernels;

const load = loadBlas();

/** This machine's BLAS, or null where none loads. */
export const BLAS: Blas | null = load.ok ? load.blas : null;

/** `{ skip: blasSkip }` on a test of the BLAS path reports it skipped, with what to install (CI installs libopenblas0). */
export const blasSkip: string | false = load.ok ? false : `no BLAS: ${load.reason}; ${BLAS_INSTALL_HINT}`;

/** The kernels a test parametrised over kernels runs, with 'blas' skipped (not dropped) when unavailable. */
export const KERNELS_UNDER_TEST = ['ts', 'wasm', 'blas'] as const;

/** `{ skip }` for a test on `kernels`. */
export const skipFor = (kernels: string): { skip: string | false } => ({ skip: kernels === 'blas' ? blasSkip : false });

/** A plain SGD step: the kernel tests compute losses and gradients, they never step. */
const SGD = { name: 'sgd', lr: 0.1, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, nesterov: false } as const;

/** A model and data shape for the kernel tests: one shard of `shardSize` sequences per rank. */
export interface KernelCase {
  cfg: ModelConfig;
  loss: LossKind;
  input: 'onehot' | 'dense';
  seqLen: number;
  shardSize: number;
  teacherForcing?: boolean;
  variableLengths?: boolean;
  dropout?: EngineSpec['dropout'];
}

/** The engine spec of `ranks` workers on `planKernels` (which sizes the kernel scratch: none for 'ts'). */
export function kernelSpec(c: KernelCase, ranks: number, planKernels: Kernels): EngineSpec {
  return {
    cfg: c.cfg, loss: c.loss, input: c.input, seqLen: c.seqLen, batch: ranks * c.shardSize, workers: ranks,
    optimizer: { ...SGD }, clip: null, teacherForcing: c.teacherForcing ?? false, kernels: planKernels,
    variableLengths: c.variableLengths, dropout: c.dropout,
  };
}

export interface KernelModels {
  memory: WebAssembly.Memory;
  plan: SharedPlan;
  views: SharedViews;
  layout: ParamLayout;
  /** Rank k's model, computing with kernels[k]. */
  models: WorkerModel[];
}

/**
 * One plan of `kernels.length` ranks (on 'blas' if any rank is, else 'wasm': both have kernel
 * scratch), its params initialised (seed 3, scale 0.5, forget bias 1), every shard filled with the
 * same inputs and targets (a fresh Rng(`seed`) per shard; `lengths` for variable lengths), and
 * rank k's model computing with kernels[k], built by workerModel. `blas`: the BLAS the blas ranks
 * call (default this machine's; a test may count its calls).
 */
export function modelsOnKernels(c: KernelCase, kernels: readonly Kernels[], opts: { seed?: number; lengths?: ArrayLike<number>; blas?: Blas | null } = {}): KernelModels {
  const spec = kernelSpec(c, kernels.length, kernels.includes('blas') ? 'blas' : 'wasm');
  const plan = planSharedMemory(spec, 0);
  const memory = createPlanMemory(plan);
  const views = sharedViews(memory, plan);
  initParams(c.cfg, plan.layout, views.params, 3, { scale: 0.5, forgetBias: 1 });
  for (const shard of views.shards) {
    const rng = new Rng(opts.seed ?? 5);
    for (let k = 0; k < shard.tokens.length; k++) shard.tokens[k] = rng.int(c.cfg.inputSize);
    for (let k = 0; k < shard.inputs.length; k++) shard.inputs[k] = rng.normal();
    for (let k = 0; k < shard.targetIds.length; k++) shard.targetIds[k] = rng.int(c.cfg.outputSize);
    for (let k = 0; k < shard.targetValues.length; k++) shard.targetValues[k] = rng.normal();
    if (opts.lengths) shard.lengths.set(opts.lengths);
    const statics = c.cfg.categorical ?? [];
    for (let k = 0; k < shard.categories.length; k++) shard.categories[k] = rng.int(statics[k % statics.length]!.levels);
  }
  const blas = opts.blas === undefined ? BLAS : opts.blas;
  const models = kernels.map((k, rank) => workerModel(memory, plan, views, rank, { kernels: k, blas: k === 'blas' ? blas : null }));
  return { memory, plan, views, layout: plan.layout, models };
}

/** One forward + BPTT pass of rank `rank`'s model over its whole shard, its gradient slot zeroed first; the loss. */
export function lossAndGradients(k: KernelModels, rank: number, c: KernelCase, opts: { gradScale?: number; dropout?: DropoutStream | null } = {}): number {
  const m = k.models[rank]!, B = c.shardSize, teacherForcing = c.teacherForcing ?? false;
  k.views.grads[rank]!.fill(0);
  const loss = m.net.forward(m.params, m.shard, B, { teacherForcing, gradScale: opts.gradScale ?? 1 / (c.seqLen * B), dropout: opts.dropout ?? null });
  m.net.backward(m.params, m.grads, m.shard, B, teacherForcing);
  return loss;
}

/**
 * Worst |other − reference| of any tensor as a fraction of that tensor's largest |reference|, and
 * which tensor. A NaN or infinite value on either side is the worst there is (Infinity).
 */
export function worstTensorError(layout: ParamLayout, reference: Float32Array, other: Float32Array): { worst: number; tensor: string } {
  let worst = 0, tensor = '';
  for (const spec of layout.tensors) {
    let scale = 0, error = 0;
    for (let k = spec.offset; k < spec.offset + spec.size; k++) {
      scale = worse(scale, Math.abs(reference[k]!));
      error = worse(error, Math.abs(other[k]! - reference[k]!));
    }
    const relative = scale === 0 ? error : error / scale;
    if (!(relative <= worst)) [worst, tensor] = [worse(worst, relative), spec.name];
  }
  return { worst, tensor };
}

/** `pages` of shared WebAssembly memory with the network kernels on it, and their ops with no weights (no kernel scratch). */
export function bareKernels(pages: number): { memory: WebAssembly.Memory; modules: WasmNetworkModules; wasm: WasmNetworkOps } {
  const memory = createWasmMemory(pages, pages);
  const modules = instantiateNetworkModules(memory);
  const wasm = wasmNetworkOps(modules, {
    paramsByteOffset: 0, scratchByteOffset: 0,
    scratch: { weights: [], oneHot: [], atbScratch: 0, atbScratchFloats: 0, bytes: 0 },
  });
  return { memory, modules, wasm };
}

/** `blas` with its sgemm calls counted (to show a test's products ran on it). */
export function countedBlas(blas: Blas): { blas: Blas; calls: () => number } {
  let calls = 0;
  return { blas: { ...blas, sgemm: (...args) => { calls++; blas.sgemm(...args); } }, calls: () => calls };
}

/** The blas ops of a bare memory (`bareKernels`): the products on `blas`, the rest wasm. */
export const bareBlasOps = (k: ReturnType<typeof bareKernels>, blas: Blas): WasmNetworkOps => blasNetworkOps(k.wasm, blas, k.memory.buffer);

const GUARD = 12345.5;
const GUARD_FLOATS = 16;

/** A bump allocator of typed views on a WebAssembly memory, with guard values on both sides of every region. */
export class GuardedArena {
  private next = 1024;
  private readonly regions: [number, number][] = [];

  constructor(private readonly memory: WebAssembly.Memory) {}

  /** `skew` floats (0..3) put the region off 16-byte alignment. */
  f32(n: number, skew = 0): Float32Array {
    return new Float32Array(this.memory.buffer, this.take(n, skew) * 4, n);
  }

  i32(n: number): Int32Array {
    return new Int32Array(this.memory.buffer, this.take(n, 0) * 4, n);
  }

  private take(n: number, skew: number): number {
    const heap = new Float32Array(this.memory.buffer);
    const start = this.next / 4 + GUARD_FLOATS + skew;
    this.next = Math.ceil(((start + n + GUARD_FLOATS) * 4) / 64) * 64;
    if (this.next > this.memory.buffer.byteLength) throw new Error('test arena is full');
    heap.fill(GUARD, start - GUARD_FLOATS, start);
    heap.fill(GUARD, start + n, start + n + GUARD_FLOATS);
    this.regions.push([start, n]);
    return start;
  }

  /** Every region's guards still hold. */
  guardsIntact(): boolean {
    const heap = new Float32Array(this.memory.buffer);
    return this.regions.every(([start, n]) => {
      for (let i = 1; i <= GUARD_FLOATS; i++) if (heap[start - i] !== GUARD || heap[start + n - 1 + i] !== GUARD) return false;
      return true;
    });
  }
}
