/**
 * `data.task: sequences` as a Dataset (SPEC §4): sequences of different lengths padded to the
 * longest (seqLen), with each one's length in the batch so the kernels mask past its end
 * (SPEC §2); one target per sequence (`outputs: last`), a class index or values.
 */
import { readFileSync } from 'node:fs';
import { inputError } from '../errors.js';
import { checkBatch, checkCapacity } from './checks.js';
import type { BatchArrays, Dataset, Split } from './dataset.js';
import type { SequencesMeta } from './metadata.js';
import { unscaleValue, type NormalizeKind } from './normalize.js';
import { AccuracySums, ErrorSums, majorityLabel, type Scorer } from './scores.js';
import { buildSequences, readSequences, type Sequence, type SequencesData } from './sequences.js';

import { SEQUENCES_DEFAULTS, type SequencesSpec } from './spec.js';

export class SequencesDataset implements Dataset {
  readonly task = 'sequences' as const;
  readonly loss: 'ce' | 'mse';
  readonly input = 'dense' as const;
  readonly inputSize: number;
  readonly outputSize: number;
  /** The longest sequence of either split: the padded batch's steps. */
  readonly seqLen: number;
  readonly outputsAllowed: ('all' | 'last')[] = ['last'];
  readonly variableLengths = true;
  readonly meta: SequencesMeta;
  private readonly splits: Record<Split, Sequence[]>;

  constructor(readonly data: SequencesData) {
    this.meta = data.meta;
    this.splits = { train: data.train, val: data.val };
    this.loss = data.meta.target === 'class' ? 'ce' : 'mse';
    this.inputSize = data.meta.features.length;
    this.outputSize = data.meta.target === 'class' ? data.meta.labels!.length : data.meta.targets.length;
    this.seqLen = Math.max(...[...data.train, ...data.val].map((s) => s.length));
  }

  size(split: Split): number {
    return this.splits[split].length;
  }

  sequence(split: Split, index: number): Sequence {
    return this.splits[split][index];
  }

  lengthOf(split: Split, index: number): number {
    return this.splits[split][index].length;
  }

  /** Accuracy against the training split's majority label, or errors in the targets' units. */
  scorer(split: Split): Scorer {
    const seqs = this.splits[split], O = this.outputSize;
    if (this.loss === 'ce') {
      const sums = new AccuracySums(majorityLabel(this.splits.train.map((s) => s.label), O));
      return { add: (index, y, offset) => sums.add(y, offset, O, seqs[index].label), result: () => sums.result() };
    }
    const sums = new ErrorSums(), scales = this.meta.targets.map((name) => this.meta.normalization.columns[name]);
    return {
      add: (index, y, offset) => {
        const s = seqs[index];
        for (let g = 0; g < O; g++) sums.add(unscaleValue(scales[g], y[offset + g]), s.raw[g], NaN);
      },
      result: () => sums.result(false),
    };
  }

  fill(split: Split, indices: ArrayLike<number>, start: number, count: number, outputs: 'all' | 'last', out: BatchArrays): void {
    checkBatch(this, split, indices, start, count, outputs);
    const T = this.seqLen, F = this.inputSize, O = this.outputSize;
    checkCapacity(out.inputs, 'inputs', T * count * F);
    if (!out.lengths) throw new RangeError('out.lengths is needed for variable-length sequences');
    checkCapacity(out.lengths, 'lengths', count);
    if (this.loss === 'ce') checkCapacity(out.targetIds, 'targetIds', count);
    else checkCapacity(out.targetValues, 'targetValues', count * O);
    for (let j = 0; j < count; j++) {
      const s = this.splits[split][indices[start + j]];
      out.lengths[j] = s.length;
      for (let t = 0; t < T; t++) {
        const to = (t * count + j) * F;
        // Padding is zero; its values never matter (the kernels mask it), zero keeps runs reproducible.
        if (t < s.length) for (let f = 0; f < F; f++) out.inputs[to + f] = s.x[t * F + f];
        else out.inputs.fill(0, to, to + F);
      }
      if (this.loss === 'ce') out.targetIds[j] = s.label;
      else for (let g = 0; g < O; g++) out.targetValues[j * O + g] = s.y[g];
    }
  }
}

/** Loads a sequences experiment's JSON Lines file(s); `fitted` (a checkpoint's metadata) replaces fitting. */
export function loadSequences(spec: SequencesSpec, seed: number, file: string, fitted: SequencesMeta | null = null): SequencesDataset {
  if (spec.path === undefined) throw inputError(file, 'data.path', "required for task 'sequences'");
  const train = readSequences(readText(spec.path, file, 'data.path'), spec.path);
  const val = spec.valPath === undefined ? null : readSequences(readText(spec.valPath, file, 'data.valPath'), spec.valPath, train.features);
  const data = buildSequences(train, val, {
    target: spec.target ?? SEQUENCES_DEFAULTS.target, normalize: spec.normalize ?? SEQUENCES_DEFAULTS.normalize, valFraction: spec.valFraction ?? SEQUENCES_DEFAULTS.valFraction, seed,
  }, file, fitted);
  return new SequencesDataset(data);
}

function readText(path: string, file: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw inputError(file, key, `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
