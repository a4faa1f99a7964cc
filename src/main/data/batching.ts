/**
 * The order in which training sequences are visited: one seeded permutation per epoch, walked
 * batch by batch.
 */
import { Rng } from '../../shared/model/rng.js';

const SHUFFLE_STREAM_BASE = 1000;
/** Far above any shuffle stream (1000 + epoch), so an offset never reuses a permutation's numbers. */
const WINDOW_OFFSET_STREAM_BASE = 0x40000000;

/**
 * Order of training sequences for an epoch: identity when !shuffle, else
 * Rng(seed, 1000 + epoch).permutation(n) — a pure function of (seed, epoch) so resume can
 * recompute it.
 */
export function epochOrder(n: number, seed: number, epoch: number, shuffle: boolean): Int32Array {
  if (shuffle) return new Rng(seed, SHUFFLE_STREAM_BASE + epoch).permutation(n);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order;
}

/**
 * data.randomOffset: where an epoch's training windows start, in [0, seqLen):
 * Rng(seed, 2³⁰ + epoch).int(seqLen), a pure function of (seed, epoch) as epochOrder is.
 */
export function windowOffset(seed: number, epoch: number, seqLen: number): number {
  return new Rng(seed, WINDOW_OFFSET_STREAM_BASE + epoch).int(seqLen);
}

/**
 * Global batch number → sequence indices, walking epochOrder epoch by epoch. Batch b of an epoch
 * is order[b*B .. b*B+B); the incomplete last batch of each epoch is dropped.
 */
export class BatchSchedule {
  readonly batchesPerEpoch: number;
  private cachedEpoch = -1;
  private cachedOrder: Int32Array = new Int32Array(0);

  constructor(
    private readonly n: number,
    private readonly batch: number,
    private readonly seed: number,
    private readonly shuffle: boolean,
  ) {
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, got ${batch}`);
    if (n < batch) throw new RangeError(`batch of ${batch} sequences is larger than the ${n} training sequences`);
    this.batchesPerEpoch = Math.floor(n / batch);
  }

  at(step: number): { epoch: number; indices: Int32Array } {
    if (!Number.isInteger(step) || step < 0) throw new RangeError(`step must be a nonnegative integer, got ${step}`);
    const epoch = Math.floor(step / this.batchesPerEpoch);
    if (epoch !== this.cachedEpoch) {
      this.cachedOrder = epochOrder(this.n, this.seed, epoch, this.shuffle);
      this.cachedEpoch = epoch;
    }
    const first = (step % this.batchesPerEpoch) * this.batch;
    return { epoch, indices: this.cachedOrder.subarray(first, first + this.batch) };
  }
}
