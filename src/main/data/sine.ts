import { checkBatch, checkCapacity } from './checks.js';
import type { BatchArrays, Dataset, Split } from './dataset.js';
import { generateSplits, type SplitSizes } from './synthetic.js';

/**
 * Next-value regression on sine waves: x_t = sin(ω·t + φ) for t = 0..T with ω uniform in
 * [0.1, 0.5] and φ uniform in [0, 2π); input x_0..x_{T-1}, target x_1..x_T.
 */
export class SineDataset implements Dataset {
  readonly task = 'sine';
  readonly loss = 'mse';
  readonly input = 'dense';
  readonly inputSize = 1;
  readonly outputSize = 1;
  readonly outputsAllowed: ('all' | 'last')[] = ['all', 'last'];
  /** T+1 samples per sequence, sequence-major. */
  private readonly splits: Record<Split, Float32Array>;

  constructor(readonly seqLen: number, sizes: SplitSizes, seed: number) {
    const samples = seqLen + 1;
    this.splits = generateSplits(sizes, seed, (count, rng) => {
      const waves = new Float32Array(count * samples);
      for (let s = 0; s < count; s++) {
        const omega = 0.1 + 0.4 * rng.uniform();
        const phase = 2 * Math.PI * rng.uniform();
        for (let t = 0; t < samples; t++) waves[s * samples + t] = Math.sin(omega * t + phase);
      }
      return waves;
    });
  }

  size(split: Split): number {
    return this.splits[split].length / (this.seqLen + 1);
  }

  fill(split: Split, indices: ArrayLike<number>, start: number, count: number, outputs: 'all' | 'last', out: BatchArrays): void {
    const T = this.seqLen;
    checkBatch(this, split, indices, start, count, outputs);
    checkCapacity(out.inputs, 'inputs', T * count);
    checkCapacity(out.targetValues, 'targetValues', outputs === 'all' ? T * count : count);
    const waves = this.splits[split];
    for (let j = 0; j < count; j++) {
      const offset = indices[start + j]! * (T + 1);
      for (let t = 0; t < T; t++) out.inputs[t * count + j] = waves[offset + t]!;
      if (outputs === 'all') {
        for (let t = 0; t < T; t++) out.targetValues[t * count + j] = waves[offset + t + 1]!;
      } else {
        out.targetValues[j] = waves[offset + T]!;
      }
    }
  }
}
