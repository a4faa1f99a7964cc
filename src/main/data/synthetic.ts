/**
 * What the synthetic tasks share: split sizes from the `data` section, and each split generated
 * from its own stream of the run's seed.
 */
import { Rng } from '../../shared/model/rng.js';
import { positiveInteger } from './checks.js';
import type { Split } from './dataset.js';
import { DATA_DEFAULTS, type DataSpec } from './spec.js';

const DEFAULT_TRAIN_SIZE = DATA_DEFAULTS.trainSize;
const DEFAULT_VAL_SIZE = DATA_DEFAULTS.valSize;
// Independent RNG streams of the run's seed, so the val set never depends on trainSize.
const TRAIN_STREAM = 1;
const VAL_STREAM = 2;

export interface SplitSizes { train: number; val: number }

export function syntheticSizes(spec: DataSpec, file: string): SplitSizes {
  return {
    train: positiveInteger(spec.trainSize ?? DEFAULT_TRAIN_SIZE, 'trainSize', file),
    val: positiveInteger(spec.valSize ?? DEFAULT_VAL_SIZE, 'valSize', file),
  };
}

/** Generates each split from its own stream of the seed. */
export function generateSplits<S>(sizes: SplitSizes, seed: number, generate: (count: number, rng: Rng) => S): Record<Split, S> {
  return {
    train: generate(sizes.train, new Rng(seed, TRAIN_STREAM)),
    val: generate(sizes.val, new Rng(seed, VAL_STREAM)),
  };
}
