/**
 * A model's forward pass on the calling thread, for prediction inside an app: no worker pool and
 * no training state, one WebAssembly memory per sequence length with the kernels resolved for the
 * checkpoint (resolveCheckpointKernels; the browser: wasm), sequences in batches. The memory is not
 * shared (no other thread uses it), so the same code runs in a browser page. Imports nothing of
 * Node: the BLAS, for the blas kernels, is handed in.
 *
 * Sequences of different lengths run longest first in batches of up to `batch`, each batch padded
 * to its longest and masked (SPEC §2: equal to running each sequence alone); a model with output
 * recurrence cannot be masked, so its batches hold sequences of one length.
 */
import type { Blas } from '../../shared/backends/blas.js';
import { sharedViews, workerModel, type SharedViews, type WorkerModel } from '../../shared/memory/views.js';
import type { LossKind, ModelConfig } from '../../shared/model/model-config.js';
import { createPlanMemory, planSharedMemory, type EngineKernels, type EngineSpec } from '../../shared/memory/shared-memory.js';

/** Sequences per forward pass: enough to amortise the products, small enough for a request handler. */
export const DEFAULT_PREDICT_BATCH = 32;
/** Networks kept, one per padded length; a server sees a few lengths over and over. */
const CACHED_LENGTHS = 4;

/** One network sized for T steps and its input views. */
interface Pass {
  model: WorkerModel;
  inputs: Float32Array;
  /** Token models: [T · batch] ids, time-major. */
  tokens: Int32Array;
  lengths: Int32Array;
  /** [batch · C] each sequence's categorical level ids (empty without data.categorical). */
  categories: Int32Array;
}

/** What a single-thread model is planned for: the engine spec's shape without training. */
export type SingleThreadShape = Pick<EngineSpec, 'cfg' | 'loss' | 'input' | 'seqLen' | 'batch' | 'kernels' | 'variableLengths'>;

/**
 * A model on the calling thread: one worker's plan on a fresh unshared memory, `params` copied in,
 * and its network with the kernels of shape.kernels (for blas `blas`: the BLAS the main thread
 * loaded when it resolved them).
 */
export function singleThreadModel(shape: SingleThreadShape, params: Float32Array, blas: Blas | null = null): { views: SharedViews; model: WorkerModel } {
  const spec: EngineSpec = {
    ...shape, workers: 1,
    optimizer: { name: 'sgd', lr: 0, momentum: 0, beta1: 0, beta2: 0, eps: 0, weightDecay: 0, nesterov: false },
    clip: null, teacherForcing: false,
  };
  const plan = planSharedMemory(spec, 0);
  const memory = createPlanMemory(plan, false);
  const views = sharedViews(memory, plan);
  views.params.set(params);
  const model = workerModel(memory, plan, views, 0, { blas });
  return { views, model };
}

export class Forward {
  readonly batch: number;
  private readonly passes = new Map<number, Pass>();

  /** `kernels`: resolved on this (the main) thread, never 'auto'; `blas`: the BLAS the blas kernels run on (loadedBlas). */
  constructor(readonly cfg: ModelConfig, readonly params: Float32Array, readonly loss: LossKind, readonly kernels: EngineKernels, batch = DEFAULT_PREDICT_BATCH, private readonly blas: Blas | null = null) {
    this.batch = Math.max(1, batch);
  }

  /**
   * The model's outputs for `sequences` (each [length · inputSize], row-major, already in the
   * model's units; a token model's: [length] vocabulary ids), one [outputSize] row per sequence
   * at its own last step, in input order. A model with categorical columns also takes each
   * sequence's level ids [C] (`categories`).
   */
  run(sequences: ArrayLike<number>[], categories: ArrayLike<number>[] = []): Float32Array[] {
    const tokens = this.cfg.embedding !== undefined, F = tokens ? 1 : this.cfg.inputSize, O = this.cfg.outputSize, C = this.cfg.categorical?.length ?? 0;
    if (C > 0 && categories.length !== sequences.length) throw new RangeError(`${sequences.length} sequences but level ids for ${categories.length}`);
    const lengths = sequences.map((x, i) => {
      if (x.length === 0 || x.length % F !== 0) throw new RangeError(`sequence ${i} has ${x.length} values, not a positive multiple of ${F} features`);
      return x.length / F;
    });
    // Longest first, ties in input order: the masked network wants non-increasing lengths.
    const order = sequences.map((_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
    const results: Float32Array[] = new Array(sequences.length);
    const oneLengthPerBatch = this.cfg.recurrence === 'output';
    for (let start = 0; start < order.length;) {
      const T = lengths[order[start]];
      let end = start + 1;
      while (end < order.length && end - start < this.batch && (!oneLengthPerBatch || lengths[order[end]] === T)) end++;
      const pass = this.pass(T), B = end - start;
      for (let j = 0; j < B; j++) {
        const x = sequences[order[start + j]], n = lengths[order[start + j]];
        pass.lengths[j] = n;
        for (let c = 0; c < C; c++) pass.categories[j * C + c] = categories[order[start + j]][c];
        // Padding (masked, never read) is token 0 or zeros.
        if (tokens) for (let t = 0; t < T; t++) pass.tokens[t * B + j] = t < n ? x[t] : 0;
        else for (let t = 0; t < T; t++) {
          const to = (t * B + j) * F;
          if (t < n) for (let f = 0; f < F; f++) pass.inputs[to + f] = x[t * F + f];
          else pass.inputs.fill(0, to, to + F);
        }
      }
      const m = pass.model;
      m.net.forward(m.params, m.shard, B, { teacherForcing: false, gradScale: null });
      const y = m.net.y;
      for (let j = 0; j < B; j++) {
        // Where sequence j's prediction sits (see Network.predictedRows): row j for hidden
        // recurrence with outputs 'last', else its own last step.
        const row = this.cfg.outputs === 'last' && this.cfg.recurrence === 'hidden' ? j : (lengths[order[start + j]] - 1) * B + j;
        results[order[start + j]] = y.slice(row * O, row * O + O);
      }
      start = end;
    }
    return results;
  }

  /** The network for T steps: cached, else planned on a fresh memory. */
  private pass(T: number): Pass {
    let pass = this.passes.get(T);
    if (pass) return pass;
    pass = this.plan(T);
    if (this.passes.size >= CACHED_LENGTHS) this.passes.delete(this.passes.keys().next().value!);
    this.passes.set(T, pass);
    return pass;
  }

  private plan(T: number): Pass {
    const { views, model } = singleThreadModel({
      cfg: this.cfg, loss: this.loss, input: this.cfg.embedding !== undefined ? 'onehot' : 'dense', seqLen: T, batch: this.batch, kernels: this.kernels,
      variableLengths: this.cfg.recurrence === 'hidden',
    }, this.params, this.blas);
    return { model, inputs: views.shards[0].inputs, tokens: views.shards[0].tokens, lengths: views.shards[0].lengths, categories: views.shards[0].categories };
  }
}
