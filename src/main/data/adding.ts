import { checkBatch, checkCapacity } from './checks.js';
import type { BatchArrays, Dataset, Split } from './dataset.js';
import { generateSplits, type SplitSizes } from './synthetic.js';

/**
 * Adding problem (Hochreiter & Schmidhuber): channel 0 holds uniform [0,1) values, channel 1 is a
 * marker with exactly two 1s, the first in [0, ⌊T/2⌋) and the second in [⌊T/2⌋, T). The target,
 * after the last step only, is the sum of the two marked values; predicting its mean gives
 * MSE = Var(U + U) = 1/6 ≈ 0.167.
 */
export class AddingDataset implements Dataset {
  readonly task = 'adding';
  readonly loss = 'mse';
  readonly input = 'dense';
  readonly inputSize = 2;
  readonly outputSize = 1;
  readonly outputsAllowed: ('all' | 'last')[] = ['last'];
  private readonly splits: Record<Split, { values: Float32Array; markers: Int32Array; targets: Float32Array }>;

  constructor(readonly seqLen: number, sizes: SplitSizes, seed: number) {
    const T = seqLen;
    const half = Math.floor(T / 2);
    this.splits = generateSplits(sizes, seed, (count, rng) => {
      const values = new Float32Array(count * T);
      const markers = new Int32Array(count * 2);
      const targets = new Float32Array(count);
      for (let s = 0; s < count; s++) {
        for (let t = 0; t < T; t++) values[s * T + t] = rng.uniform();
        const first = rng.int(half);
        const second = half + rng.int(T - half);
        markers[2 * s] = first;
        markers[2 * s + 1] = second;
        targets[s] = values[s * T + first]! + values[s * T + second]!;
      }
      return { values, markers, targets };
    });
  }

  size(split: Split): number {
    return this.splits[split].targets.length;
  }

  fill(split: Split, indices: ArrayLike<number>, start: number, count: number, outputs: 'all' | 'last', out: BatchArrays): void {
    const T = this.seqLen;
    checkBatch(this, split, indices, start, count, outputs);
    checkCapacity(out.inputs, 'inputs', T * count * 2);
    checkCapacity(out.targetValues, 'targetValues', count);
    const { values, markers, targets } = this.splits[split];
    for (let j = 0; j < count; j++) {
      const s = indices[start + j]!;
      for (let t = 0; t < T; t++) {
        out.inputs[(t * count + j) * 2] = values[s * T + t]!;
        out.inputs[(t * count + j) * 2 + 1] = 0;
      }
      out.inputs[(markers[2 * s]! * count + j) * 2 + 1] = 1;
      out.inputs[(markers[2 * s + 1]! * count + j) * 2 + 1] = 1;
      out.targetValues[j] = targets[s]!;
    }
  }
}
