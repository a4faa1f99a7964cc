import { checkBatch, checkCapacity } from './checks.js';
import type { BatchArrays, Dataset, Split } from './dataset.js';
import { generateSplits, type SplitSizes } from './synthetic.js';

/**
 * Copying-memory task (Arjovsky, Shah & Bengio 2016) with delay D, S symbols and copy length L.
 * Alphabet: 0 = blank, 1..S = symbols, S+1 = delimiter (input only). T = D + 2L steps:
 *
 *   step:    0 .. L-1       L .. L+D-2    L+D-1 (= T-L-1)   T-L .. T-1
 *   input:   s_1 .. s_L     blank         delimiter         blank
 *   target:  blank          blank         blank             s_1 .. s_L
 *
 * so the model must hold the L symbols for D steps and reproduce them after the delimiter.
 */
export class CopyDataset implements Dataset {
  readonly task = 'copy';
  readonly loss = 'ce';
  readonly input = 'onehot';
  readonly inputSize: number;
  readonly outputSize: number;
  readonly seqLen: number;
  readonly outputsAllowed: ('all' | 'last')[] = ['all', 'last'];
  private readonly delimiter: number;
  /** The L symbols of each sequence, sequence-major; the rest of a sequence is implied. */
  private readonly splits: Record<Split, Int32Array>;

  constructor(delay: number, symbols: number, private readonly copyLength: number, sizes: SplitSizes, seed: number) {
    this.seqLen = delay + 2 * copyLength;
    this.inputSize = symbols + 2;
    this.outputSize = symbols + 1;
    this.delimiter = symbols + 1;
    this.splits = generateSplits(sizes, seed, (count, rng) => {
      const payload = new Int32Array(count * copyLength);
      for (let i = 0; i < payload.length; i++) payload[i] = 1 + rng.int(symbols);
      return payload;
    });
  }

  size(split: Split): number {
    return this.splits[split].length / this.copyLength;
  }

  fill(split: Split, indices: ArrayLike<number>, start: number, count: number, outputs: 'all' | 'last', out: BatchArrays): void {
    const T = this.seqLen;
    const L = this.copyLength;
    const recallStart = T - L;
    checkBatch(this, split, indices, start, count, outputs);
    checkCapacity(out.tokens, 'tokens', T * count);
    checkCapacity(out.targetIds, 'targetIds', outputs === 'all' ? T * count : count);
    const payload = this.splits[split];
    for (let j = 0; j < count; j++) {
      const offset = indices[start + j]! * L;
      for (let t = 0; t < T; t++) {
        out.tokens[t * count + j] = t < L ? payload[offset + t]! : t === recallStart - 1 ? this.delimiter : 0;
      }
      if (outputs === 'all') {
        for (let t = 0; t < T; t++) out.targetIds[t * count + j] = t < recallStart ? 0 : payload[offset + t - recallStart]!;
      } else {
        out.targetIds[j] = payload[offset + L - 1]!;
      }
    }
  }
}
