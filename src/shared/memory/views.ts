/**
 * Typed views over the engine's shared memory, built once per thread from the plan. The main
 * thread and every worker see the same bytes through these.
 */
import { modelViews, type ModelViews } from '../model/layout.js';
import { Network, type CarriedState, type NetworkOps, type ShardInput } from '../model/network.js';
import { f32, f64, i32, regionAllocator, type SharedPlan } from './shared-memory.js';
import { instantiateKernels } from '../backends/wasm-modules.js';
import { kernelScratchLayout, wasmNetworkOps, type WasmNetworkOps } from '../backends/wasm-ops.js';
import { loadBlas } from '../backends/blas.js';
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
  shards: { tokens: Int32Array; inputs: Float32Array; targetIds: Int32Array; targetValues: Float32Array; lengths: Int32Array }[];
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
    })),
  };
}

/** What one worker computes with: its network on its scratch, and model views of params/grads. */
export interface WorkerModel {
  net: Network<Float32Array>;
  params: ModelViews<Float32Array>;
  grads: ModelViews<Float32Array>;
  shard: ShardInput;
  /** Stateful text: this worker's streams' carried states (views on its states region); else null. */
  state: CarriedState<Float32Array> | null;
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

export function workerModel(memory: WebAssembly.Memory, plan: SharedPlan, views: SharedViews, rank: number, ops: NetworkOps): WorkerModel {
  const { spec, layout } = plan;
  const net = new Network(
    { cfg: spec.cfg, loss: spec.loss, input: spec.input, batch: plan.shardCapacity, seqLen: spec.seqLen, dropout: spec.dropout?.p ?? 0 },
    regionAllocator(memory, plan.scratch[rank]),
    ops,
  );
  const s = views.shards[rank];
  return {
    net,
    params: modelViews(spec.cfg, layout, views.params),
    grads: modelViews(spec.cfg, layout, views.grads[rank]),
    shard: {
      tokens: spec.input === 'onehot' ? s.tokens : null,
      inputs: spec.input === 'dense' ? s.inputs : null,
      targetIds: spec.loss === 'ce' ? s.targetIds : null,
      targetValues: spec.loss === 'mse' ? s.targetValues : null,
      lengths: spec.variableLengths ? s.lengths : null,
    },
    state: carriedStateViews(memory, plan, rank),
  };
}

/** A worker's kernels on WebAssembly, packing weights into its own kernel scratch. */
export function workerWasmOps(memory: WebAssembly.Memory, plan: SharedPlan, rank: number): WasmNetworkOps {
  const scratch = kernelScratchLayout(plan.layout, plan.spec.seqLen * plan.shardCapacity, plan.spec.input);
  const region = plan.kernelScratch[rank];
  if (scratch.bytes > region.byteLength) throw new Error('the plan has no kernel scratch for the wasm kernels');
  return wasmNetworkOps(instantiateKernels(memory), {
    paramsByteOffset: plan.params.byteOffset,
    scratchByteOffset: region.byteOffset,
    scratch,
  });
}

/** A worker's kernels for plan.spec.kernels 'wasm' or 'blas' (the wasm ones with the products on the BLAS). */
export function workerFastOps(memory: WebAssembly.Memory, plan: SharedPlan, rank: number): WasmNetworkOps {
  const wasmOps = workerWasmOps(memory, plan, rank);
  if (plan.spec.kernels !== 'blas') return wasmOps;
  const load = loadBlas();
  if (!load.ok) throw new Error(`worker ${rank}: kernels 'blas': ${load.reason}`);
  return blasNetworkOps(wasmOps, load.blas, memory.buffer);
}
