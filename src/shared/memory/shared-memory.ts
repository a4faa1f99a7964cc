/**
 * The engine's shared memory: one shared WebAssembly.Memory (its buffer is a SharedArrayBuffer,
 * and the WebAssembly modules work on the very same bytes) holding, at fixed byte offsets,
 * the control block, the scalars, the parameters, one gradient slot per worker, the optimizer
 * state, each worker's shard of the batch, each worker's activation scratch and, with the wasm
 * kernels, each worker's kernel scratch (packed weights, one-hot table, gemmAtB scratch).
 *
 * The plan (every region's offset and size) is plain data: the main thread computes it once and
 * sends it to the workers, and every thread builds the same typed views from it.
 */
import { projectsOneHot, type LossKind, type ModelConfig } from '../model/model-config.js';
import { activationLayout, alignUp, paramLayout, type ActivationLayout, type ParamLayout } from '../model/layout.js';
import type { OptimizerSpec } from '../model/optim.js';
import { kernelScratchLayout } from '../backends/wasm-ops.js';

/** Int32 control slots (Atomics). Named, never bare indices. */
export const CONTROL = {
  /** Generation counter: the main thread increments it to start an operation. */
  command: 0,
  /** Which operation the current generation runs (OP). */
  op: 1,
  /** Workers that finished the current generation; the main thread waits for N. */
  done: 2,
  /** Barrier: workers arrived in the current phase. */
  barrierArrived: 3,
  /** Barrier: bumped when the last worker arrives. */
  barrierGeneration: 4,
  /** Non-zero: stop at the next barrier or wait (a worker failed or the run is shutting down). */
  abort: 5,
  /** 1-based optimizer step of the current train operation (Adam bias correction). */
  step: 6,
  slots: 16,
} as const;

export const OP = { trainStep: 1, evaluate: 2, exit: 3 } as const;

/** Float64 scalar slots. */
export const SCALARS = {
  /** 1 / predicted steps of the global batch. */
  gradScale: 0,
  /** Global gradient norm of the step (before clipping), written by every worker alike. */
  gradNorm: 1,
  lr: 2,
  slots: 8,
} as const;

export interface Region {
  byteOffset: number;
  byteLength: number;
}

export interface ShardRegions {
  tokens: Region;
  inputs: Region;
  targetIds: Region;
  targetValues: Region;
  /** Int32 [shardCapacity]: steps of each sequence (variable-length data; empty otherwise). */
  lengths: Region;
  /** Int32 [shardCapacity, C]: each sequence's level of each categorical column (empty without). */
  categories: Region;
}

export type EngineKernels = 'ts' | 'wasm' | 'blas';

export interface EngineSpec {
  cfg: ModelConfig;
  loss: LossKind;
  input: 'onehot' | 'dense';
  seqLen: number;
  /** Global batch (sequences). */
  batch: number;
  workers: number;
  optimizer: OptimizerSpec;
  clip: number | null;
  teacherForcing: boolean;
  /**
   * The network's kernels (products, cells, one-hot input): the TypeScript reference, WebAssembly
   * SIMD, or WebAssembly with the products on the system BLAS (resolved: never 'auto' here).
   */
  kernels: EngineKernels;
  /** Sequences of the batch may be shorter than seqLen (padded; lengths written per shard). */
  variableLengths?: boolean;
  /**
   * The recurrent regularisers and the run's seed, which with the step fixes every mask: p is
   * model.dropout; lockedDropout and weightDrop the model's keys of those names (each default 0).
   */
  dropout?: { p: number; seed: number; lockedDropout?: number; weightDrop?: number };
  /** data.stateful: every worker keeps its streams' states from one training step to the next. */
  stateful?: boolean;
  /** loss 'quantile': train.quantiles, ascending. */
  quantiles?: readonly number[] | null;
}

export interface SharedPlan {
  spec: EngineSpec;
  layout: ParamLayout;
  /** Each worker's scratch: one Network's activations for a shard of shardCapacity sequences. */
  activations: ActivationLayout;
  /** Sequences the biggest shard holds: ⌈batch / workers⌉. */
  shardCapacity: number;
  control: Region;
  scalars: Region;
  /** Per-worker: sequences in its shard for the current operation. */
  shardSizes: Region;
  /** Per-worker Float64: loss sum of its shard. */
  lossSums: Region;
  /** Per-worker Float64: sum of squares of its chunk of the reduced gradient. */
  sumsOfSquares: Region;
  params: Region;
  grads: Region[];
  optimizerSlots: Region[];
  shards: ShardRegions[];
  scratch: Region[];
  /** Per-worker: the wasm kernels' packed weights, one-hot table and gemmAtB scratch (kernelScratchLayout); empty for 'ts'. */
  kernelScratch: Region[];
  /**
   * Per-worker, stateful text only: the carried states of its shard's streams, [layer][h, c][shardCapacity][H]
   * (c for LSTM only); empty otherwise.
   */
  states: Region[];
  /** Contiguous ranges [lo, hi) of the parameter block that each worker reduces and steps. */
  chunks: [number, number][];
  totalBytes: number;
}

const REGION_ALIGN = 64;
/** The first page stays free for the WebAssembly kernels' own use. */
const RESERVED_BYTES = 65536;
const WASM_PAGE = 65536;

export function planSharedMemory(spec: EngineSpec, optimizerSlotCount: number): SharedPlan {
  const layout = paramLayout(spec.cfg);
  const N = spec.workers;
  const shardCapacity = Math.ceil(spec.batch / N);
  let cursor = RESERVED_BYTES;
  const take = (bytes: number): Region => {
    const r = { byteOffset: cursor, byteLength: bytes };
    cursor = alignUp(cursor + bytes, REGION_ALIGN);
    return r;
  };
  const P = layout.size, T = spec.seqLen, cfg = spec.cfg;
  const control = take(CONTROL.slots * 4);
  const scalars = take(SCALARS.slots * 8);
  const shardSizes = take(N * 4);
  const lossSums = take(N * 8);
  const sumsOfSquares = take(N * 8);
  const params = take(P * 4);
  const grads = Array.from({ length: N }, () => take(P * 4));
  const optimizerSlots = Array.from({ length: optimizerSlotCount }, () => take(P * 4));
  const rows = T * shardCapacity;
  const targetRows = cfg.outputs === 'all' ? rows : shardCapacity;
  const shards = Array.from({ length: N }, () => ({
    tokens: take(spec.input === 'onehot' ? rows * 4 : 0),
    inputs: take(spec.input === 'dense' ? rows * cfg.inputSize * 4 : 0),
    targetIds: take(spec.loss === 'ce' ? targetRows * 4 : 0),
    targetValues: take(spec.loss === 'ce' ? 0 : targetRows * targetWidth(spec) * 4),
    lengths: take(spec.variableLengths ? shardCapacity * 4 : 0),
    categories: take(shardCapacity * (cfg.categorical?.length ?? 0) * 4),
  }));
  const activations = activationLayout(cfg, shardCapacity, T, outputDropout(spec), spec.dropout?.weightDrop ?? 0);
  const scratch = Array.from({ length: N }, () => take(activations.size * 4));
  const kernelScratchBytes = spec.kernels !== 'ts' ? kernelScratchLayout(layout, rows, projectsOneHot(cfg, spec.input), activations).bytes : 0;
  const kernelScratch = Array.from({ length: N }, () => take(kernelScratchBytes));
  const stateBytes = spec.stateful ? stateFloats(cfg, shardCapacity) * 4 : 0;
  const states = Array.from({ length: N }, () => take(stateBytes));
  return {
    spec, layout, activations, shardCapacity, control, scalars, shardSizes, lossSums, sumsOfSquares,
    params, grads, optimizerSlots, shards, scratch, kernelScratch, states, chunks: splitChunks(P, N),
    totalBytes: alignUp(cursor, WASM_PAGE),
  };
}

/** The p of the dropout on the layers' outputs: model.dropout, or model.lockedDropout (the same buffers). */
export function outputDropout(spec: Pick<EngineSpec, 'dropout'>): number {
  return Math.max(spec.dropout?.p ?? 0, spec.dropout?.lockedDropout ?? 0);
}

/** Whether a training pass needs a dropout stream: any of the regularisers is on. */
export function regularised(spec: Pick<EngineSpec, 'dropout'>): boolean {
  return outputDropout(spec) > 0 || (spec.dropout?.weightDrop ?? 0) > 0;
}

/** Target values per predicted row: one per output, or per Q outputs with the quantile loss. */
export function targetWidth(spec: Pick<EngineSpec, 'cfg' | 'loss' | 'quantiles'>): number {
  return spec.loss === 'quantile' ? spec.cfg.outputSize / (spec.quantiles?.length ?? 1) : spec.cfg.outputSize;
}

/** Floats of one worker's carried states: per layer h (and c for an LSTM) of `capacity` streams. */
export function stateFloats(cfg: ModelConfig, capacity: number): number {
  return cfg.layers * (cfg.cell === 'lstm' ? 2 : 1) * capacity * cfg.hidden;
}

/** N contiguous ranges covering [0, P), aligned to 16 floats, sizes as equal as alignment allows. */
export function splitChunks(P: number, N: number): [number, number][] {
  const out: [number, number][] = [];
  for (let k = 0; k < N; k++) {
    const lo = Math.min(P, alignUp(Math.round((P * k) / N), 16));
    const hi = k === N - 1 ? P : Math.min(P, alignUp(Math.round((P * (k + 1)) / N), 16));
    out.push([lo, hi]);
  }
  return out;
}

/**
 * The one memory a plan lays out: shared for the engine and its workers; `shared: false` for a
 * single thread (Forward and sampling), which shares it with no one and so runs the same kernels
 * where shared memory is not allowed (a browser page that is not cross-origin isolated).
 */
export function createPlanMemory(plan: SharedPlan, shared = true): WebAssembly.Memory {
  const pages = plan.totalBytes / WASM_PAGE;
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared });
}

export const f32 = (memory: WebAssembly.Memory, r: Region): Float32Array => new Float32Array(memory.buffer, r.byteOffset, r.byteLength / 4);
export const f64 = (memory: WebAssembly.Memory, r: Region): Float64Array => new Float64Array(memory.buffer, r.byteOffset, r.byteLength / 8);
export const i32 = (memory: WebAssembly.Memory, r: Region): Int32Array => new Int32Array(memory.buffer, r.byteOffset, r.byteLength / 4);

/** A bump allocator of Float32Arrays over one region (a worker's activation scratch). */
export function regionAllocator(memory: WebAssembly.Memory, r: Region): (n: number) => Float32Array {
  let cursor = r.byteOffset;
  const end = r.byteOffset + r.byteLength;
  return (n: number) => {
    if (cursor + n * 4 > end) throw new Error('scratch region overflow');
    const view = new Float32Array(memory.buffer, cursor, n);
    cursor = alignUp(cursor + n * 4, REGION_ALIGN);
    return view;
  };
}
