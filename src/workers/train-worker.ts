/**
 * The piscina worker. The pool runs exactly one long-lived task per worker (its rank): the task
 * attaches to the shared memory once, then serves operations until told to exit. Per step the
 * main thread only bumps a counter (CONTROL.command); data, weights and gradients never travel
 * through messages.
 *
 * A train step: forward + BPTT on this worker's shard into its gradient slot; barrier;
 * reduce-scatter (sum chunk `rank` of every slot in worker order, into slot 0); barrier; global
 * norm from the per-chunk partial sums; the optimizer updates chunk `rank` of the parameters.
 * With the wasm kernels the reduce, its sum of squares and the optimizer run in WebAssembly
 * (src/wasm/optim.wat), bit-identical to the TypeScript loops; the blas kernels are the wasm ones
 * with the matrix products on the system BLAS (src/shared/backends/blas-ops.ts), the library the
 * main thread chose (WorkerData.blasLibrary).
 */
import { workerData } from 'piscina';
import { CONTROL, OP, SCALARS, regularised, type SharedPlan } from '../shared/memory/shared-memory.js';
import { sharedViews, workerModel } from '../shared/memory/views.js';
import type { WorkerData, WorkerTask } from '../shared/memory/protocol.js';
import { Profile, profiledOps } from '../shared/profile.js';
import { clipScale, optimizerStep, sumOfSquares, type OptimizerSpec } from '../shared/model/optim.js';
import { instantiateOptimModule } from '../shared/backends/wasm-modules.js';
import { bindBlasLibrary } from '../shared/backends/blas.js';

/** Thrown inside a worker when another thread asked everyone to stop. */
class AbortedError extends Error {
  override name = 'AbortedError';
}

/** Spin this many polls before sleeping in Atomics.wait: a wake-up costs ~25 µs, a poll ~ns. */
const SPIN_POLLS = 20000;
const WAIT_SLICE_MS = 100;

export default function serve(task: WorkerTask): string {
  const { memory, plan, blasLibrary } = workerData as WorkerData;
  const rank = task.rank;
  const N = plan.spec.workers;
  const views = sharedViews(memory, plan);
  const profile = process.env.RECUR_PROFILE ? new Profile() : null;
  const blas = blasLibrary === null ? null : bindBlasLibrary(blasLibrary);
  const model = workerModel(memory, plan, views, rank, { blas, wrap: profile && ((ops) => profiledOps(ops, profile)) });
  /** Runs fn, timed under `phase` when profiling. */
  const phase = <T>(name: string, fn: () => T): T => (profile ? profile.time(name, fn) : fn());
  const { control, scalars } = views;
  const [lo, hi] = plan.chunks[rank];
  const fault = parseFault(process.env.RECUR_TEST_FAULT, rank);
  const update = plan.spec.kernels === 'ts' ? null : wasmUpdate(memory, plan, lo, hi);

  /** Blocks until control[slot] differs from `value`; throws if the run was aborted. */
  const waitWhileEqual = (slot: number, value: number): void => {
    for (let i = 0; i < SPIN_POLLS; i++) if (Atomics.load(control, slot) !== value) return;
    while (Atomics.load(control, slot) === value) {
      if (Atomics.load(control, CONTROL.abort) !== 0) throw new AbortedError('run aborted');
      Atomics.wait(control, slot, value, WAIT_SLICE_MS);
    }
  };

  const barrier = (): void => {
    const generation = Atomics.load(control, CONTROL.barrierGeneration);
    if (Atomics.add(control, CONTROL.barrierArrived, 1) === N - 1) {
      Atomics.store(control, CONTROL.barrierArrived, 0);
      Atomics.add(control, CONTROL.barrierGeneration, 1);
      Atomics.notify(control, CONTROL.barrierGeneration);
      return;
    }
    waitWhileEqual(CONTROL.barrierGeneration, generation);
  };

  const trainStep = (): void => {
    const step = Atomics.load(control, CONTROL.step);
    if (fault && !fault.inEval && fault.step === step) injectFault(fault.kind, rank, step);
    const B = views.shardSizes[rank];
    const spec = plan.spec;
    let loss = 0;
    phase('forward+backward', () => {
      views.grads[rank].fill(0);
      if (B > 0) {
        const dropout = spec.dropout && regularised(spec)
          ? { seed: spec.dropout.seed, step, firstSequence: firstSequence(views.shardSizes, rank) }
          : null;
        loss = model.net.forward(model.params, model.shard, B, {
          teacherForcing: spec.teacherForcing, gradScale: scalars[SCALARS.gradScale], dropout, state: model.state,
        });
        model.net.backward(model.params, model.grads, model.shard, B, spec.teacherForcing);
      }
    });
    views.lossSums[rank] = loss;
    phase('sync:barrier', barrier);
    const sum = views.grads[0];
    phase('all-reduce', () => {
      if (update) {
        views.sumsOfSquares[rank] = update.reduce();
        return;
      }
      for (let s = 1; s < N; s++) {
        const g = views.grads[s];
        for (let k = lo; k < hi; k++) sum[k] += g[k];
      }
      views.sumsOfSquares[rank] = sumOfSquares(sum, lo, hi);
    });
    phase('sync:barrier', barrier);
    phase('optimizer', () => {
      let squares = 0;
      for (let k = 0; k < N; k++) squares += views.sumsOfSquares[k];
      const norm = Math.sqrt(squares);
      if (rank === 0) scalars[SCALARS.gradNorm] = norm;
      const optimizer = { ...spec.optimizer, lr: scalars[SCALARS.lr] };
      const gradScale = clipScale(norm, spec.clip);
      if (update) update.step(optimizer, step, gradScale);
      else optimizerStep(optimizer, step, views.params, sum, views.optimizerSlots, lo, hi, gradScale);
    });
  };

  const evaluate = (): void => {
    const step = Atomics.load(control, CONTROL.step);
    if (fault && fault.inEval && fault.step === step) injectFault(fault.kind, rank, step, true);
    const B = views.shardSizes[rank];
    views.lossSums[rank] = B > 0
      // Evaluation always runs free: teacher forcing is a training device (SPEC §2), and the model
      // is used — sampled, evaluated, predicted — feeding back its own outputs.
      ? model.net.forward(model.params, model.shard, B, { teacherForcing: false, gradScale: null })
      : 0;
  };

  // The counter starts at 0 in fresh memory; the main thread may already have bumped it
  // before this thread got here, so never take the current value as the baseline.
  let seen = 0;
  for (;;) {
    if (seen === 0) waitWhileEqual(CONTROL.command, seen); // start-up, not a step's cost
    else phase('sync:between steps', () => waitWhileEqual(CONTROL.command, seen));
    seen = Atomics.load(control, CONTROL.command);
    const op = Atomics.load(control, CONTROL.op);
    if (op === OP.exit) return profile ? JSON.stringify(profile.totals) : 'exited';
    // Packed weights are stale once anyone wrote the params: every worker's optimizer phase of
    // the previous step, or the main thread (initialisation, a loaded checkpoint). Both are over
    // before an operation starts: the main thread starts one only after all workers reported
    // done, and writes params only between operations. So repacking lazily from the start of
    // each operation is always correct, needs no extra barrier, and costs one pack per weight
    // per operation (a train step needs that anyway; an evaluation pays ~1% of its forward).
    model.invalidateWeights();
    if (op === OP.trainStep) trainStep();
    else if (op === OP.evaluate) evaluate();
    else throw new Error(`worker ${rank}: unknown operation ${op}`);
    if (Atomics.add(control, CONTROL.done, 1) === N - 1) Atomics.notify(control, CONTROL.done);
  }
}

/**
 * The WebAssembly reduce and optimizer step over this worker's chunk [lo, hi): byte pointers to
 * the chunk in slot 0 (where the reduce sums), the params and the optimizer state.
 */
function wasmUpdate(memory: WebAssembly.Memory, plan: SharedPlan, lo: number, hi: number) {
  const optim = instantiateOptimModule(memory);
  const at = (byteOffset: number): number => byteOffset + lo * 4;
  const n = hi - lo;
  const sum = at(plan.grads[0].byteOffset);
  const params = at(plan.params.byteOffset);
  const slots = plan.optimizerSlots.map((r) => at(r.byteOffset));
  const offsets = plan.grads.map((r) => r.byteOffset - plan.grads[0].byteOffset);
  const stride = offsets.length > 1 ? offsets[1] : 0;
  const evenlySpaced = offsets.every((offset, s) => offset === s * stride);
  return {
    /** Slot 0 += slots 1..N−1 in worker order over the chunk; returns its sum of squares. */
    reduce(): number {
      if (evenlySpaced) return optim.reduceSlots(sum, stride, offsets.length, n);
      for (let s = 1; s < offsets.length; s++) optim.reduceSlots(sum, offsets[s], 2, n);
      return optim.sumOfSquares(sum, n);
    },
    step(spec: OptimizerSpec, step: number, gradScale: number): void {
      optim.optimizerStep(spec, step, params, sum, slots, n, gradScale);
    },
  };
}

/** Global index in the batch of this worker's first sequence: shards are contiguous, in rank order. */
function firstSequence(shardSizes: Int32Array, rank: number): number {
  let first = 0;
  for (let r = 0; r < rank; r++) first += shardSizes[r];
  return first;
}

/**
 * Test hook: RECUR_TEST_FAULT=throw:RANK:STEP or exit:RANK:STEP makes that worker fail in that
 * training step; with a trailing `:eval`, in the evaluation after that step.
 */
function parseFault(value: string | undefined, rank: number): { kind: 'throw' | 'exit'; step: number; inEval: boolean } | null {
  const m = /^(throw|exit):(\d+):(\d+)(:eval)?$/.exec(value ?? '');
  if (!m || Number(m[2]) !== rank) return null;
  return { kind: m[1] as 'throw' | 'exit', step: Number(m[3]), inEval: m[4] !== undefined };
}

function injectFault(kind: 'throw' | 'exit', rank: number, step: number, inEval = false): void {
  if (kind === 'exit') process.exit(3);
  throw new Error(`injected fault in worker ${rank} ${inEval ? 'in the evaluation after' : 'at'} step ${step}`);
}
