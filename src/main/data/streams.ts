/**
 * Stateful text (SPEC §6, char-rnn's batching): the training windows are cut into B streams of
 * L = ⌊windows / B⌋ consecutive windows; batch j of an epoch holds window j of every stream, so a
 * stream's consecutive windows are consecutive batches and its state carries from one to the
 * next. An epoch is L batches. Shuffling permutes which stream (which starting offset) each row
 * of the batch reads, per epoch; the windows of a stream always stay in order.
 */
import { epochOrder } from './batching.js';

export class StreamSchedule {
  /** Windows per stream: the batches of one epoch. */
  readonly batchesPerEpoch: number;
  private cachedEpoch = -1;
  private order: Int32Array = new Int32Array(0);
  private readonly indices: Int32Array;

  constructor(
    private readonly windows: number,
    private readonly batch: number,
    private readonly seed: number,
    private readonly shuffle: boolean,
  ) {
    if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`batch must be a positive integer, got ${batch}`);
    if (windows < batch) throw new RangeError(`${batch} streams need at least ${batch} training windows, got ${windows}`);
    this.batchesPerEpoch = Math.floor(windows / batch);
    this.indices = new Int32Array(batch);
  }

  /** The windows of batch `step` (row r reads stream order[r]); the array is reused. */
  at(step: number): { epoch: number; indices: Int32Array } {
    if (!Number.isInteger(step) || step < 0) throw new RangeError(`step must be a nonnegative integer, got ${step}`);
    const L = this.batchesPerEpoch;
    const epoch = Math.floor(step / L), j = step % L;
    if (epoch !== this.cachedEpoch) {
      this.order = epochOrder(this.batch, this.seed, epoch, this.shuffle);
      this.cachedEpoch = epoch;
    }
    for (let r = 0; r < this.batch; r++) this.indices[r] = this.order[r] * L + j;
    return { epoch, indices: this.indices };
  }

  /** Whether batch `step` starts an epoch, where every stream's state resets to zero. */
  startsEpoch(step: number): boolean {
    return step % this.batchesPerEpoch === 0;
  }
}
