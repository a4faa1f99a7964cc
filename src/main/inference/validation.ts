/** Feeding a split to the engine's shards, and the mean loss over a split. */
import type { ModelConfig } from '../../shared/model/model-config.js';
import type { Dataset, Split } from '../data/dataset.js';
import { shardRange } from '../engine/shards.js';
import type { Engine } from '../engine/engine.js';
import { Rng } from '../../shared/model/rng.js';

/** The random stream of the evaluation sample (independent of the data's and the shuffle's). */
const EVAL_SAMPLE_STREAM = 500;
import type { Scorer, Scores } from '../data/scores.js';

/** Predicted steps in a batch of `sequences`: the denominator of the mean loss. */
export function predictedSteps(cfg: ModelConfig, seqLen: number, sequences: number): number {
  return cfg.outputs === 'all' ? seqLen * sequences : sequences;
}

/**
 * Writes batch `indices` of `split` into the workers' shards. Variable-length sequences go
 * longest first (ties in batch order) over the whole batch before it is sharded: every shard is
 * then in the non-increasing order the masked kernels need, and a sequence's place in the batch
 * (which fixes its dropout masks) is the same for any worker count.
 */
export function loadShards(engine: Engine, dataset: Dataset, cfg: ModelConfig, split: Split, indices: ArrayLike<number>, start: number, count: number): ArrayLike<number> {
  if (dataset.lengthOf) {
    const lengthOf = dataset.lengthOf.bind(dataset);
    const batch = Array.from({ length: count }, (_, j) => indices[start + j]);
    indices = Int32Array.from(batch.map((index, j) => ({ index, j })).sort((a, b) => lengthOf(split, b.index) - lengthOf(split, a.index) || a.j - b.j).map((e) => e.index));
    start = 0;
  }
  const N = engine.workers;
  for (let k = 0; k < N; k++) {
    const shard = shardRange(count, N, k);
    engine.views.shardSizes[k] = shard.count;
    if (shard.count > 0) dataset.fill(split, indices, start + shard.start, shard.count, cfg.outputs, engine.views.shards[k]);
  }
  return start === 0 && indices.length === count ? indices : Array.prototype.slice.call(indices, start, start + count) as number[];
}

/**
 * `count` of the `n` windows of a split, spread over all of it: the split cut into `count` equal
 * strata, one seeded random window from each, in order. The same for every call with the same
 * arguments, so every evaluation of a run reads the same windows. All of them when count ≥ n.
 */
export function spreadSample(n: number, count: number, seed: number): Int32Array {
  if (count >= n) return Int32Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(seed, EVAL_SAMPLE_STREAM);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const lo = Math.floor((i * n) / count), hi = Math.floor(((i + 1) * n) / count);
    out[i] = lo + rng.int(hi - lo);
  }
  return out;
}

export interface SplitEvaluation {
  loss: number;
  tokens: number;
  /** Tasks with metrics in the data's units (series, sequences); else null. */
  scores: Scores | null;
}

/** Mean loss over the windows `indices` of a split (null: the whole split), the predicted steps, and the task's scores. */
export async function evaluateSplit(engine: Engine, dataset: Dataset, cfg: ModelConfig, split: Split, indices: Int32Array | null): Promise<SplitEvaluation> {
  const scorer = dataset.scorer?.(split) ?? null;
  const windows = indices ?? Int32Array.from({ length: dataset.size(split) }, (_, i) => i);
  const n = windows.length;
  const B = engine.plan.spec.batch;
  let sum = 0, tokens = 0;
  for (let start = 0; start < n; start += B) {
    const count = Math.min(B, n - start);
    const batch = loadShards(engine, dataset, cfg, split, windows, start, count);
    sum += await engine.evaluate();
    if (scorer) scoreBatch(engine, scorer, cfg, dataset.seqLen, batch);
    tokens += predictedSteps(cfg, dataset.seqLen, count);
  }
  return { loss: tokens > 0 ? sum / tokens : NaN, tokens, scores: scorer && tokens > 0 ? scorer.result() : null };
}

/** Hands every sequence of the batch just evaluated its outputs, shard by shard. */
function scoreBatch(engine: Engine, scorer: Scorer, cfg: ModelConfig, seqLen: number, batch: ArrayLike<number>): void {
  const N = engine.workers, O = cfg.outputSize;
  for (let k = 0; k < N; k++) {
    const shard = shardRange(batch.length, N, k), y = engine.outputs(k);
    for (let j = 0; j < shard.count; j++) {
      const index = batch[shard.start + j];
      if (cfg.outputs === 'last') scorer.add(index, y, j * O, 0, 1);
      else scorer.add(index, y, j * O, shard.count * O, seqLen);
    }
  }
}
