/** Feeding a split to the engine's shards, and the mean loss over a split. */
import type { ModelConfig } from '../../shared/model-config.js';
import type { Dataset, Split } from '../data/dataset.js';
import { shardRange } from '../data/sharding.js';
import type { Engine } from './engine.js';

/** Predicted steps in a batch of `sequences`: the denominator of the mean loss. */
export function predictedSteps(cfg: ModelConfig, seqLen: number, sequences: number): number {
  return cfg.outputs === 'all' ? seqLen * sequences : sequences;
}

/** Writes batch `indices` of `split` into the workers' shards. */
export function loadShards(engine: Engine, dataset: Dataset, cfg: ModelConfig, split: Split, indices: ArrayLike<number>, start: number, count: number): void {
  const N = engine.workers;
  for (let k = 0; k < N; k++) {
    const shard = shardRange(count, N, k);
    engine.views.shardSizes[k] = shard.count;
    if (shard.count > 0) dataset.fill(split, indices, start + shard.start, shard.count, cfg.outputs, engine.views.shards[k]);
  }
}

/** Mean loss over a split (whole, or its first `maxBatches` batches) and the predicted steps. */
export async function evaluateSplit(engine: Engine, dataset: Dataset, cfg: ModelConfig, split: Split, maxBatches: number | null): Promise<{ loss: number; tokens: number }> {
  const n = dataset.size(split);
  const B = engine.plan.spec.batch;
  const indices = Int32Array.from({ length: n }, (_, i) => i);
  let sum = 0, tokens = 0, batches = 0;
  for (let start = 0; start < n && (maxBatches === null || batches < maxBatches); start += B, batches++) {
    const count = Math.min(B, n - start);
    loadShards(engine, dataset, cfg, split, indices, start, count);
    sum += await engine.evaluate();
    tokens += predictedSteps(cfg, dataset.seqLen, count);
  }
  return { loss: tokens > 0 ? sum / tokens : NaN, tokens };
}
