/**
 * Datasets (SPEC §4): character-level text windows and the synthetic `adding`, `copy` and `sine`
 * tasks, plus the batch schedule and the sharding of a batch over workers.
 *
 * Every dataset writes batches time-major (element [t][j] of a batch of n sequences lives at
 * t * n + j) straight into caller-owned typed arrays, so a training step allocates nothing here.
 */
import { readFileSync } from 'node:fs';
import { Rng } from '../shared/rng.js';
import { inputError } from './errors.js';

export type Split = 'train' | 'val';

export interface BatchArrays {
  /** One-hot tasks: [T * n] time-major: tokens[t * n + j] = symbol of sequence j at step t. */
  tokens: Int32Array;
  /** Dense tasks: [T * n * inputSize] time-major. */
  inputs: Float32Array;
  /** 'ce' loss: outputs 'all' → [T * n] time-major; 'last' → [n]. */
  targetIds: Int32Array;
  /** 'mse' loss: outputs 'all' → [T * n * outputSize]; 'last' → [n * outputSize]. */
  targetValues: Float32Array;
}

export interface Dataset {
  task: 'text' | 'adding' | 'copy' | 'sine';
  loss: 'ce' | 'mse';
  input: 'onehot' | 'dense';
  /** Vocabulary size (onehot) or channels (dense). */
  inputSize: number;
  /** Classes (ce) or regression dims (mse). */
  outputSize: number;
  /** T = time steps of every sequence. */
  seqLen: number;
  /** Text only: characters in index order (sorted by code point). */
  vocab?: string;
  outputsAllowed: ('all' | 'last')[];
  /** Number of sequences in the split. */
  size(split: Split): number;
  /**
   * Writes sequences indices[start .. start+count) of `split` (time-major over those count
   * sequences) into out's arrays, starting at element 0. Only the arrays this task uses are
   * written. For outputs 'last', only the last step's target per sequence.
   */
  fill(split: Split, indices: ArrayLike<number>, start: number, count: number, outputs: 'all' | 'last', out: BatchArrays): void;
}

export interface DataSpec {
  task: 'text' | 'adding' | 'copy' | 'sine';
  path?: string;
  seqLen: number;
  valFraction?: number;
  trainSize?: number;
  valSize?: number;
  symbols?: number;
  copyLength?: number;
}

const DEFAULT_VAL_FRACTION = 0.05;
const DEFAULT_TRAIN_SIZE = 10000;
const DEFAULT_VAL_SIZE = 1000;
const DEFAULT_COPY_SYMBOLS = 8;
const DEFAULT_COPY_LENGTH = 10;
// Independent RNG streams of the run's seed, so the val set never depends on trainSize.
const TRAIN_STREAM = 1;
const VAL_STREAM = 2;
const SHUFFLE_STREAM_BASE = 1000;

/**
 * `file` is the experiment file (for error messages, keys like `data.path`); `vocab` forces a
 * vocabulary (from a checkpoint).
 */
export function loadDataset(spec: DataSpec, seed: number, file: string, vocab?: string): Dataset {
  const seqLen = positiveInteger(spec.seqLen, 'seqLen', file);
  switch (spec.task) {
    case 'text':
      return loadText(spec, seqLen, file, vocab);
    case 'adding':
      if (seqLen < 2) throw inputError(file, 'data.seqLen', `must be at least 2 for task adding (one marker in each half), got ${seqLen}`);
      return new AddingDataset(seqLen, syntheticSizes(spec, file), seed);
    case 'copy': {
      const symbols = positiveInteger(spec.symbols ?? DEFAULT_COPY_SYMBOLS, 'symbols', file);
      const copyLength = positiveInteger(spec.copyLength ?? DEFAULT_COPY_LENGTH, 'copyLength', file);
      return new CopyDataset(seqLen, symbols, copyLength, syntheticSizes(spec, file), seed);
    }
    case 'sine':
      return new SineDataset(seqLen, syntheticSizes(spec, file), seed);
    default:
      throw inputError(file, 'data.task', `unknown task ${JSON.stringify(spec.task)}; expected text, adding, copy or sine`);
  }
}

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

/**
 * Contiguous shard of a batch of B sequences for worker k of N: sizes differ by at most one, the
 * first B % N shards get the extra one.
 */
export function shardRange(B: number, N: number, k: number): { start: number; count: number } {
  const base = Math.floor(B / N);
  const extra = B % N;
  return { start: k * base + Math.min(k, extra), count: base + (k < extra ? 1 : 0) };
}

// ---------------------------------------------------------------------------------------------
// text

function loadText(spec: DataSpec, seqLen: number, file: string, forcedVocab: string | undefined): Dataset {
  if (spec.path === undefined || spec.path === '') throw inputError(file, 'data.path', 'is required for task text');
  const path = spec.path;
  const valFraction = spec.valFraction ?? DEFAULT_VAL_FRACTION;
  if (typeof valFraction !== 'number' || !(valFraction >= 0 && valFraction < 1)) {
    throw inputError(file, 'data.valFraction', `must be a number in [0, 1), got ${JSON.stringify(valFraction)}`);
  }

  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw inputError(file, 'data.path', `cannot read ${path}: ${reason}`);
  }
  if (text.length === 0) throw inputError(file, 'data.path', `${path} is empty`);

  const codePoints = toCodePoints(text);
  const vocab = forcedVocab ?? sortedUniqueCharacters(codePoints);
  const symbolIds = encode(codePoints, vocab, path, file);

  const length = symbolIds.length;
  const windows = Math.floor((length - 1) / seqLen);
  const valWindows = valFraction > 0 ? Math.ceil(valFraction * windows) : 0;
  const trainWindows = windows - valWindows;
  if (windows < 1) {
    throw inputError(file, 'data.seqLen', `${seqLen} is too long for ${path}: the text is ${length} characters ` +
      `and a window needs seqLen + 1 = ${seqLen + 1}`);
  }
  if (trainWindows < 1) {
    throw inputError(file, 'data.seqLen', `${seqLen} is too long for ${path}: the text is ${length} characters, ` +
      `which gives ${windows} window(s), all taken for validation by valFraction ${valFraction}, and no training window`);
  }
  return new TextDataset(symbolIds, vocab, seqLen, trainWindows, valWindows);
}

/** Unicode code points of `text` (not UTF-16 units), so an astral character is one symbol. */
function toCodePoints(text: string): Int32Array {
  const scratch = new Int32Array(text.length);
  let count = 0;
  for (let i = 0; i < text.length; count++) {
    const codePoint = text.codePointAt(i)!;
    scratch[count] = codePoint;
    i += codePoint > 0xffff ? 2 : 1;
  }
  return scratch.subarray(0, count);
}

function sortedUniqueCharacters(codePoints: Int32Array): string {
  const unique = Int32Array.from(new Set(codePoints)).sort();
  let vocab = '';
  for (const codePoint of unique) vocab += String.fromCodePoint(codePoint);
  return vocab;
}

/** Symbol ids in vocabulary order; the narrowest array that holds them. */
function encode(codePoints: Int32Array, vocab: string, path: string, file: string): Uint16Array | Int32Array {
  const idOf = new Map<number, number>();
  for (const character of vocab) idOf.set(character.codePointAt(0)!, idOf.size);
  const ids = idOf.size <= 0x10000 ? new Uint16Array(codePoints.length) : new Int32Array(codePoints.length);
  for (let i = 0; i < codePoints.length; i++) {
    const id = idOf.get(codePoints[i]!);
    if (id === undefined) {
      const character = JSON.stringify(String.fromCodePoint(codePoints[i]!));
      throw inputError(file, 'data.path', `${path}: character ${character} (at character ${i}) is not in the checkpoint's vocabulary`);
    }
    ids[i] = id;
  }
  return ids;
}

class TextDataset implements Dataset {
  readonly task = 'text';
  readonly loss = 'ce';
  readonly input = 'onehot';
  readonly inputSize: number;
  readonly outputSize: number;
  readonly outputsAllowed: ('all' | 'last')[] = ['all', 'last'];

  constructor(
    private readonly symbolIds: Uint16Array | Int32Array,
    readonly vocab: string,
    readonly seqLen: number,
    private readonly trainWindows: number,
    private readonly valWindows: number,
  ) {
    this.inputSize = this.outputSize = Array.from(vocab).length;
  }

  size(split: Split): number {
    return split === 'train' ? this.trainWindows : this.valWindows;
  }

  fill(split: Split, indices: ArrayLike<number>, start: number, count: number, outputs: 'all' | 'last', out: BatchArrays): void {
    const T = this.seqLen;
    checkBatch(this, split, indices, start, count, outputs);
    checkCapacity(out.tokens, 'tokens', T * count);
    checkCapacity(out.targetIds, 'targetIds', outputs === 'all' ? T * count : count);
    // Val windows follow the train windows in the text.
    const firstWindow = split === 'train' ? 0 : this.trainWindows;
    const ids = this.symbolIds;
    for (let j = 0; j < count; j++) {
      const offset = (firstWindow + indices[start + j]!) * T;
      for (let t = 0; t < T; t++) out.tokens[t * count + j] = ids[offset + t]!;
      if (outputs === 'all') {
        for (let t = 0; t < T; t++) out.targetIds[t * count + j] = ids[offset + t + 1]!;
      } else {
        out.targetIds[j] = ids[offset + T]!;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// synthetic tasks

interface SplitSizes { train: number; val: number }

function syntheticSizes(spec: DataSpec, file: string): SplitSizes {
  return {
    train: positiveInteger(spec.trainSize ?? DEFAULT_TRAIN_SIZE, 'trainSize', file),
    val: positiveInteger(spec.valSize ?? DEFAULT_VAL_SIZE, 'valSize', file),
  };
}

/** Generates each split from its own stream of the seed. */
function generateSplits<S>(sizes: SplitSizes, seed: number, generate: (count: number, rng: Rng) => S): Record<Split, S> {
  return {
    train: generate(sizes.train, new Rng(seed, TRAIN_STREAM)),
    val: generate(sizes.val, new Rng(seed, VAL_STREAM)),
  };
}

/**
 * Adding problem (Hochreiter & Schmidhuber): channel 0 holds uniform [0,1) values, channel 1 is a
 * marker with exactly two 1s, the first in [0, ⌊T/2⌋) and the second in [⌊T/2⌋, T). The target,
 * after the last step only, is the sum of the two marked values; predicting its mean gives
 * MSE = Var(U + U) = 1/6 ≈ 0.167.
 */
class AddingDataset implements Dataset {
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
class CopyDataset implements Dataset {
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

/**
 * Next-value regression on sine waves: x_t = sin(ω·t + φ) for t = 0..T with ω uniform in
 * [0.1, 0.5] and φ uniform in [0, 2π); input x_0..x_{T-1}, target x_1..x_T.
 */
class SineDataset implements Dataset {
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

// ---------------------------------------------------------------------------------------------
// checks

function positiveInteger(value: unknown, key: string, file: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw inputError(file, `data.${key}`, `must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Guards against caller bugs that typed arrays would otherwise hide: out-of-range indices read
 * as undefined and out-of-range writes are silently dropped.
 */
function checkBatch(dataset: Dataset, split: Split, indices: ArrayLike<number>, start: number, count: number, outputs: 'all' | 'last'): void {
  if (!dataset.outputsAllowed.includes(outputs)) throw new RangeError(`task ${dataset.task} does not support outputs '${outputs}'`);
  if (start < 0 || count < 0 || start + count > indices.length) {
    throw new RangeError(`sequences [${start}, ${start + count}) are outside the ${indices.length} indices`);
  }
  const size = dataset.size(split);
  for (let j = start; j < start + count; j++) {
    const index = indices[j]!;
    if (!(index >= 0 && index < size)) throw new RangeError(`sequence ${index} is outside the ${split} split of ${size}`);
  }
}

function checkCapacity(array: ArrayLike<number>, name: keyof BatchArrays, needed: number): void {
  if (array.length < needed) throw new RangeError(`out.${name} holds ${array.length} elements, the batch needs ${needed}`);
}
