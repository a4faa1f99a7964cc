/**
 * The main thread's side of the multi-core engine: plans and creates the shared memory, starts
 * one piscina worker per shard, and drives operations by bumping a counter in shared memory
 * (a message per step would cost ~40 µs; the Atomics handshake costs a few).
 */
import { Piscina } from 'piscina';
import { CONTROL, OP, SCALARS, createPlanMemory, planSharedMemory, type EngineSpec, type SharedPlan } from '../../shared/memory/shared-memory.js';
import { sharedViews, type SharedViews } from '../../shared/memory/views.js';
import { findTensor } from '../../shared/model/layout.js';
import { optimizerSlots } from '../../shared/model/optim.js';
import { firstLine, RunError } from '../errors.js';
import type { PhaseTotals } from '../../shared/profile.js';
import type { WorkerData, WorkerTask } from '../../shared/memory/protocol.js';
import { loadedBlas } from '../../shared/backends/blas.js';

const WORKER_FILE = new URL('../../workers/train-worker.js', import.meta.url).href;
/** How long the main thread sleeps between checks for a failed worker. */
const WAIT_SLICE_MS = 250;

export class Engine {
  readonly plan: SharedPlan;
  readonly memory: WebAssembly.Memory;
  readonly views: SharedViews;
  private readonly pool: Piscina;
  private readonly tasks: Promise<unknown>[];
  private failure: Error | null = null;
  private closed = false;
  /** Per worker, after close(): milliseconds per phase and kernel, when run with RECUR_PROFILE=1. */
  readonly profiles: PhaseTotals[] = [];

  private constructor(spec: EngineSpec) {
    this.plan = planSharedMemory(spec, optimizerSlots(spec.optimizer.name).length);
    this.memory = createPlanMemory(this.plan);
    this.views = sharedViews(this.memory, this.plan);
    // The workers bind the BLAS the main thread chose when it resolved the kernels.
    const blasLibrary = spec.kernels === 'blas' ? loadedBlas().library : null;
    const workerData: WorkerData = { memory: this.memory, plan: this.plan, blasLibrary };
    this.pool = new Piscina({
      filename: WORKER_FILE,
      minThreads: spec.workers,
      maxThreads: spec.workers,
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      workerData,
    });
    this.tasks = Array.from({ length: spec.workers }, (_, rank) => {
      const task: WorkerTask = { rank };
      return this.pool.run(task).then(
        (result) => {
          if (!this.closed) this.fail(new RunError(`worker ${rank} stopped unexpectedly (${String(result)})`));
          else if (typeof result === 'string' && result.startsWith('{')) this.profiles[rank] = JSON.parse(result) as PhaseTotals;
        },
        (err: unknown) => {
          if (!this.closed || !this.failure) this.fail(new RunError(`worker ${rank} failed: ${firstLine(err)}`));
        },
      );
    });
  }

  static create(spec: EngineSpec): Engine {
    if (!Number.isInteger(spec.workers) || spec.workers < 1) throw new Error('workers must be a positive integer');
    return new Engine(spec);
  }

  get workers(): number {
    return this.plan.spec.workers;
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    Atomics.store(this.views.control, CONTROL.abort, 1);
    Atomics.notify(this.views.control, CONTROL.barrierGeneration);
    Atomics.notify(this.views.control, CONTROL.command);
    // Wakes run()'s Atomics.waitAsync at once (it would otherwise see the failure within a slice).
    Atomics.notify(this.views.control, CONTROL.done);
  }

  /** Starts `op` on every worker and resolves when all have finished it. */
  private async run(op: number): Promise<void> {
    if (this.failure) throw this.failure;
    const control = this.views.control;
    Atomics.store(control, CONTROL.done, 0);
    Atomics.store(control, CONTROL.op, op);
    Atomics.add(control, CONTROL.command, 1);
    Atomics.notify(control, CONTROL.command);
    const N = this.workers;
    for (;;) {
      const done = Atomics.load(control, CONTROL.done);
      if (done >= N) return;
      if (this.failure) throw this.failure;
      // Only the wait itself: racing it against a promise that lives as long as the engine (one
      // that rejects on failure) would leave one pending reaction on that promise per operation,
      // ~650 bytes never freed (engine-memory.test.ts: the heap grew 7.1 MB over 10,000 steps;
      // RSS 11 MB over a 40-minute run). fail() notifies instead.
      const w = Atomics.waitAsync(control, CONTROL.done, done, WAIT_SLICE_MS);
      if (w.async) await w.value;
    }
  }

  /**
   * One optimizer step over the batch already written into the shards (views.shards[k], with
   * views.shardSizes[k] sequences each). Returns the loss SUM over the batch and the gradient norm.
   */
  async trainStep(step: number, lr: number, predictedSteps: number): Promise<{ lossSum: number; gradNorm: number }> {
    const { control, scalars } = this.views;
    Atomics.store(control, CONTROL.step, step);
    scalars[SCALARS.gradScale] = 1 / predictedSteps;
    scalars[SCALARS.lr] = lr;
    await this.run(OP.trainStep);
    return { lossSum: this.lossSum(), gradNorm: scalars[SCALARS.gradNorm] };
  }

  private outputViews: Float32Array[] | null = null;

  /**
   * Worker `rank`'s head outputs from its last forward pass, read in place: [n, O] for outputs
   * 'last', [T, n, O] time-major for 'all' (n = its shard size). The worker's Network lays the
   * plan's activation layout over its scratch region, so y sits at the layout's offset there.
   */
  outputs(rank: number): Float32Array {
    if (!this.outputViews) {
      const y = findTensor(this.plan.activations, 'y');
      this.outputViews = this.plan.scratch.map((region) => new Float32Array(this.memory.buffer, region.byteOffset + y.offset * 4, y.size));
    }
    return this.outputViews[rank];
  }

  /** Forward only over the shards; returns the loss sum. */
  async evaluate(): Promise<number> {
    await this.run(OP.evaluate);
    return this.lossSum();
  }

  private lossSum(): number {
    let s = 0;
    for (let k = 0; k < this.workers; k++) s += this.views.lossSums[k];
    return s;
  }

  /** Stops the workers and the pool; safe to call more than once, and after a failure. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const control = this.views.control;
    if (!this.failure) {
      Atomics.store(control, CONTROL.op, OP.exit);
      Atomics.add(control, CONTROL.command, 1);
      Atomics.notify(control, CONTROL.command);
      await Promise.allSettled(this.tasks);
    } else {
      Atomics.store(control, CONTROL.abort, 1);
      Atomics.notify(control, CONTROL.barrierGeneration);
      Atomics.notify(control, CONTROL.command);
    }
    await this.pool.destroy();
  }
}
