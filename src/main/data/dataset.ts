/**
 * The dataset contract (SPEC §4): what every kind of data offers the trainer.
 *
 * Every dataset writes batches time-major (element [t][j] of a batch of n sequences lives at
 * t * n + j) straight into caller-owned typed arrays, so a training step allocates nothing here.
 */
import type { DataMeta } from './metadata.js';
import type { Scorer } from './scores.js';

export type Split = 'train' | 'val';

/** A text model's symbols in index order: a string of characters, or an array of word tokens (`<unk>` first). */
export type Vocab = string | readonly string[];

/** Symbols in a vocabulary (characters are code points, not UTF-16 units). */
export function vocabSize(vocab: Vocab): number {
  return typeof vocab === 'string' ? Array.from(vocab).length : vocab.length;
}

export interface BatchArrays {
  /** One-hot tasks: [T * n] time-major: tokens[t * n + j] = symbol of sequence j at step t. */
  tokens: Int32Array;
  /** Dense tasks: [T * n * inputSize] time-major. */
  inputs: Float32Array;
  /** 'ce' loss: outputs 'all' → [T * n] time-major; 'last' → [n]. */
  targetIds: Int32Array;
  /** 'mse' loss: outputs 'all' → [T * n * outputSize]; 'last' → [n * outputSize]; 'quantile': outputSize / Q per row. */
  targetValues: Float32Array;
  /** Variable-length data: [n] steps of each sequence (non-increasing within a shard). */
  lengths?: Int32Array;
  /** Categorical columns (data.categorical): [n · C], sequence j's level of column c at j · C + c. */
  categories?: Int32Array;
}

export interface Dataset {
  task: 'text' | 'adding' | 'copy' | 'sine' | 'series' | 'sequences';
  /** 'quantile': the pinball loss over `quantiles` (outputSize = Q per target value). */
  loss: 'ce' | 'mse' | 'quantile';
  quantiles?: readonly number[] | null;
  input: 'onehot' | 'dense';
  /** Vocabulary size (onehot) or channels (dense). */
  inputSize: number;
  /** Classes (ce) or regression dims (mse). */
  outputSize: number;
  /** T = time steps of every sequence. */
  seqLen: number;
  /** Text only: characters in index order (sorted by code point), or word tokens (`<unk>` first). */
  vocab?: Vocab;
  /** Word text: the text is lowercased before it is tokenised. */
  lowercase?: boolean;
  outputsAllowed: ('all' | 'last')[];
  /** `series`, `sequences`: what prediction needs, saved in every checkpoint (SPEC §3). */
  meta?: DataMeta;
  /** series with data.categorical: per column, its embedding rows (`<unk>` included), in column order. */
  categorical?: readonly { column: string; levels: number }[];
  /** Sequences differ in length (padded to seqLen; `lengthOf` gives each one's). */
  variableLengths?: boolean;
  lengthOf?(split: Split, index: number): number;
  /** Tasks with metrics in the data's units (series, sequences): a fresh accumulator per evaluation. */
  scorer?(split: Split): Scorer;
  /**
   * Text with data.randomOffset: the training windows start `offset` characters (in [0, seqLen))
   * later from now on; validation windows never move. The trainer sets it at each epoch.
   */
  shiftTrainWindows?(offset: number): void;
  /** Number of sequences in the split. */
  size(split: Split): number;
  /**
   * Writes sequences indices[start .. start+count) of `split` (time-major over those count
   * sequences) into out's arrays, starting at element 0. Only the arrays this task uses are
   * written. For outputs 'last', only the last step's target per sequence.
   */
  fill(split: Split, indices: ArrayLike<number>, start: number, count: number, outputs: 'all' | 'last', out: BatchArrays): void;
}
