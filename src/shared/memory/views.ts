/**
 * Typed views over the engine's shared memory, built once per thread from the plan. The main
 * thread and every worker see the same bytes through these.
 */
import { modelViews, type ModelViews } from '../model/layout.js';
import { projectsOneHot } from '../model/model-config.js';
import { Network, referenceOps, type CarriedState, type NetworkOps, type ShardInput } from '../model/network.js';
import { f32, f64, i32, regionAllocator, type EngineKernels, type SharedPlan } from './shared-memory.js';
import { instantiateNetworkModules } from '../backends/wasm-modules.js';
import { kernelScratchLayout, wasmNetworkOps, type WasmNetworkOps } from '../backends/wasm-ops.js';
import type { Blas } from '../backends/blas.js';
import { blasNetworkOps } from '../backends/blas-ops.js';

export interface SharedViews {
  control: Int32Array;
  scalars: Float64Array;
  shardSizes: Int32Array;
  lossSums: Float64Array;
  sumsOfSquares: Float64Array;
  params: Float32Array;
  grads: Float32Array[];
  optimizerSlots: Float32Array[];
  /** Per worker: its shard of the batch, time-major (the data module's BatchArrays shape). */
  shards: { tokens: Int32Array; inputs: Float32Array; targetIds: Int32Array; targetValues: Float32Array; lengths: Int32Array; categories: Int32Array }[];
}

export function sharedViews(memory: WebAssembly.Memory, plan: SharedPlan): SharedViews {
  return {
    control: i32(memory, plan.control),
    scalars: f64(memory, plan.scalars),
    shardSizes: i32(memory, plan.shardSizes),
    lossSums: f64(memory, plan.lossSums),
    sumsOfSquares: f64(memory, plan.sumsOfSquares),
    params: f32(memory, plan.params),
    grads: plan.grads.map((r) => f32(memory, r)),
    optimizerSlots: plan.optimizerSlots.map((r) => f32(memory, r)),
    shards: plan.shards.map((s) => ({
      tokens: i32(memory, s.tokens),
      inputs: f32(memory, s.inputs),
      targetIds: i32(memory, s.targetIds),
      targetValues: f32(memory, s.targetValues),
      lengths: i32(memory, s.lengths),
      categories: i32(memory, s.categories),
    })),
  };
}

/** What one thread computes with: its network on its scratch, and model views of params/grads. */
export interface WorkerModel {
  net: Network<Float32Array>;
  params: ModelViews<Float32Array>;
  grads: ModelViews<Float32Array>;
  shard: ShardInput;
  /** Stateful text: this worker's streams' carried states (views on its states region); else null. */
  state: CarriedState<Float32Array> | null;
  /** The params changed: the ops repack the weights on their next use (a no-op for the TS reference). */
  invalidateWeights(): void;
}

/** Views of worker `rank`'s carried states, [layer][h, c][shardCapacity][H] (see SharedPlan.states). */
export function carriedStateViews(memory: WebAssembly.Memory, plan: SharedPlan, rank: number): CarriedState<Float32Array> | null {
  if (!plan.spec.stateful) return null;
  const { cfg } = plan.spec, all = f32(memory, plan.states[rank]), n = plan.shardCapacity * cfg.hidden;
  const lstm = cfg.cell === 'lstm', per = lstm ? 2 : 1;
  return {
    h: Array.from({ length: cfg.layers }, (_, k) => all.subarray(k * per * n, (k * per + 1) * n)),
    c: Array.from({ length: cfg.layers }, (_, k) => (lstm ? all.subarray((k * per + 1) * n, (k * per + 2) * n) : null)),
  };
}

/** How a thread's model computes: kernels resolved on the main thread, never 'auto'. */
export interface ModelKernels {
  /** Default: the plan's (plan.spec.kernels); a test may run other kernels on its own rank. */
  kernels?: EngineKernels;
  /** For 'blas': the main thread's BLAS (loadedBlas), or in a worker the library it named (bindBlasLibrary). */
  blas?: Blas | null;
  /** Wraps the ops the network calls (RECUR_PROFILE's timing); invalidateWeights still reaches the unwrapped ones. */
  wrap?: ((ops: NetworkOps) => NetworkOps) | null;
}

/**
 * Thread `rank`'s model on its regions of `memory`: its network on its scratch, its ops, and views
 * of the params, its gradient slot, its shard and its carried states. The one place a network's ops
 * are built, for the engine's workers, Forward and sampling alike.
 *
 * The wasm and blas ops take every operand as a pointer into `memory` and check nothing per call,
 * so the buffers the model will hand them are checked here, once: a buffer off `memory` is a bug
 * (its numbers would be read at the wrong bytes), and throws.
 */
export function workerModel(memory: WebAssembly.Memory, plan: SharedPlan, views: SharedViews, rank: number, choice: ModelKernels = {}): WorkerModel {
  const { spec, layout } = plan;
  const s = views.shards[rank];
  const state = carriedStateViews(memory, plan, rank);
  const model = {
    params: modelViews(spec.cfg, layout, views.params),
    grads: modelViews(spec.cfg, layout, views.grads[rank]),
    shard: {
      tokens: spec.input === 'onehot' ? s.tokens : null,
      inputs: spec.input === 'dense' ? s.inputs : null,
      targetIds: spec.loss === 'ce' ? s.targetIds : null,
      targetValues: spec.loss === 'ce' ? null : s.targetValues,
      lengths: spec.variableLengths ? s.lengths : null,
      categories: spec.cfg.categorical?.length ? s.categories : null,
    },
    state,
  };
  const operands: [string, ArrayBufferView | null][] = [
    ['params', views.params], [`grads[${rank}]`, views.grads[rank]],
    ...Object.entries(model.shard).map(([name, view]): [string, ArrayBufferView | null] => [`shards[${rank}].${name}`, view]),
    ...(state ? [...state.h, ...state.c].map((view, k): [string, ArrayBufferView | null] => [`states[${rank}][${k}]`, view]) : []),
  ];
  for (const [name, view] of operands) {
    if (view && view.buffer !== memory.buffer) throw new Error(`${name} is not a view of the model's WebAssembly memory: its kernels would read other bytes`);
  }
  const ops = networkOps(memory, plan, rank, choice.kernels ?? spec.kernels, choice.blas ?? null);
  const net = new Network(
    {
      cfg: spec.cfg, loss: spec.loss, input: spec.input, batch: plan.shardCapacity, seqLen: spec.seqLen,
      dropout: spec.dropout?.p ?? 0, lockedDropout: spec.dropout?.lockedDropout ?? 0, weightDrop: spec.dropout?.weightDrop ?? 0,
      quantiles: spec.quantiles ?? null,
    },
    regionAllocator(memory, plan.scratch[rank]),
    choice.wrap ? choice.wrap(ops) : ops,
  );
  return { net, ...model, invalidateWeights: () => ops.invalidateWeights() };
}

/** Thread `rank`'s ops for `kernels`: the TS reference, the wasm ops in its kernel scratch, or those with the products on `blas`. */
function networkOps(memory: WebAssembly.Memory, plan: SharedPlan, rank: number, kernels: EngineKernels, blas: Blas | null): NetworkOps & { invalidateWeights(): void } {
  if (kernels === 'ts') return { ...referenceOps, invalidateWeights() {} };
  if (kernels === 'blas' && !blas) throw new Error('the blas kernels need the BLAS the main thread chose');
  const scratch = kernelScratchLayout(plan.layout, plan.spec.seqLen * plan.shardCapacity, projectsOneHot(plan.spec.cfg, plan.spec.input), plan.activations);
  const region = plan.kernelScratch[rank];
  if (scratch.bytes > region.byteLength) throw new Error(`the plan has no kernel scratch for the ${kernels} kernels`);
  const wasmOps: WasmNetworkOps = wasmNetworkOps(instantiateNetworkModules(memory), {
    paramsByteOffset: plan.params.byteOffset,
    activationsByteOffset: plan.scratch[rank].byteOffset,
    scratchByteOffset: region.byteOffset,
    scratch,
  });
  return kernels === 'blas' ? blasNetworkOps(wasmOps, blas!, memory.buffer) : wasmOps;
}
