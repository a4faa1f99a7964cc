/**
 * `data.task: sequences` (SPEC §4), the whole kind: labelled sequences read from JSON Lines,
 * checked line by line, split, labelled and scaled, and served as a Dataset.
 *
 * One sequence per line, `{"x": [[f1, f2, ...], ...] | [v1, v2, ...] | ["tok", ...], "y": "label" |
 * number | [numbers]}`; lengths vary, the feature count may not. Token steps (strings) are read
 * through an embedding: their vocabulary (vocabulary.ts) comes from the training lines only. The validation split is a second file
 * (`valPath`) or a seeded random `valFraction` of the lines; class labels, normalisation
 * statistics (features, and targets for values) come from the training split only. Labels are
 * sorted (numbers ascending, then strings by code point), not taken in first-seen order, so a
 * shuffled file gives the same model outputs; the checkpoint stores them in index order.
 *
 * As a Dataset, sequences of different lengths are padded to the longest (seqLen), with each
 * one's length in the batch so the kernels mask past its end (SPEC §2); one target per sequence
 * (`outputs: last`), a class index or values.
 */
import { Rng } from '../../shared/model/rng.js';
import { inputError } from '../errors.js';
import { checkBatch, checkCapacity } from './checks.js';
import type { BatchArrays, Dataset, Split } from './dataset.js';
import type { SequencesMeta } from './metadata.js';
import { fitColumn, scaleValue, unscaleValue, type ColumnScale, type Normalization, type NormalizeKind } from './normalize.js';
import { readDataFile, readJsonLines } from './read.js';
import { middleQuantile, sortedQuantiles } from './quantiles.js';
import { AccuracySums, CoverageSums, ErrorSums, majorityLabel, type Scorer } from './scores.js';
import { SEQUENCES_DEFAULTS, type SequencesSpec } from './spec.js';
import { buildVocabulary, tokenId, vocabularyIndex } from './vocabulary.js';


/** One line of the file, read but not yet scaled. */
export interface RawSequence {
  /** 1-based line of the file. */
  line: number;
  /** Steps of the sequence. */
  length: number;
  /** [length · F] features, row-major (token steps: empty). */
  x: Float64Array;
  /** Token steps: the strings; numeric steps: null. */
  tokens: string[] | null;
  y: string | number | number[];
}

export interface SequencesFile {
  path: string;
  /** Numbers per step; 1 for token steps. */
  features: number;
  /** The steps are tokens (strings), not numbers. */
  tokens: boolean;
  sequences: RawSequence[];
}

export interface SequencesOptions {
  target: 'auto' | 'class' | 'value';
  normalize: NormalizeKind;
  /** Without a validation file: the fraction of lines drawn (seeded) for validation. */
  valFraction: number;
  seed: number;
  /** train.loss quantile (value targets): the levels, Q outputs per target; absent or null: one output each. */
  quantiles?: number[] | null;
  /** Token steps: a token seen fewer times in the training lines is `<unk>` (default 1). */
  minCount?: number;
}

/** One sequence ready for the model. */
export interface Sequence {
  line: number;
  length: number;
  /** [length · F] normalised features (token steps: empty). */
  x: Float32Array;
  /** Token steps: [length] vocabulary ids; numeric steps: empty. */
  ids: Int32Array;
  /** class: the label's index; value: -1. */
  label: number;
  /** value: [G] normalised targets; class: empty. */
  y: Float32Array;
  /** value: [G] targets in the data's units; class: empty. */
  raw: Float64Array;
}

export interface SequencesData {
  meta: SequencesMeta;
  train: Sequence[];
  val: Sequence[];
  /** Lines of the training and validation sequences (of the one file when split by valFraction). */
  trainLines: number[];
  valLines: number[];
}

/** The random stream of the seed that draws the validation lines (apart from the epochs' shuffles). */
const SPLIT_STREAM = 77;

/**
 * Loads a sequences experiment's JSON Lines file(s): each line read and checked as it is parsed,
 * then split, labelled and scaled. `fitted` (a checkpoint's metadata) replaces fitting.
 */
export function loadSequences(spec: SequencesSpec, seed: number, file: string, fitted: SequencesMeta | null = null, quantiles: number[] | null = null): SequencesDataset {
  if (spec.path === undefined) throw inputError(file, 'data.path', "required for task 'sequences'");
  const train = parseSequences(readDataFile(spec.path), spec.path);
  const val = spec.valPath === undefined ? null : parseSequences(readDataFile(spec.valPath), spec.valPath, train.features, train.tokens);
  const data = buildSequences(train, val, {
    target: spec.target ?? SEQUENCES_DEFAULTS.target, normalize: spec.normalize ?? SEQUENCES_DEFAULTS.normalize, valFraction: spec.valFraction ?? SEQUENCES_DEFAULTS.valFraction, seed, quantiles,
    minCount: spec.minCount ?? SEQUENCES_DEFAULTS.minCount,
  }, file, fitted);
  return new SequencesDataset(data);
}

export class SequencesDataset implements Dataset {
  readonly task = 'sequences' as const;
  readonly loss: 'ce' | 'mse' | 'quantile';
  /** Value targets under train.loss quantile: the levels (Q outputs per target, output g·Q + q). */
  readonly quantiles: number[] | null;
  /** Targets per sequence: 1 class, or G values (each with Q outputs under the quantile loss). */
  private readonly targetWidth: number;
  /** Token steps: ids of the vocabulary (an embedding reads them); else features. */
  readonly input: 'onehot' | 'dense';
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
    this.quantiles = data.meta.quantiles ?? null;
    this.loss = data.meta.target === 'class' ? 'ce' : this.quantiles ? 'quantile' : 'mse';
    this.input = data.meta.vocabulary ? 'onehot' : 'dense';
    this.inputSize = data.meta.vocabulary ? data.meta.vocabulary.length : data.meta.features.length;
    this.targetWidth = data.meta.targets.length;
    this.outputSize = data.meta.target === 'class' ? data.meta.labels!.length : this.targetWidth * (this.quantiles?.length ?? 1);
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
    // Quantile models: errors of the middle quantile, coverage of the outer ones (sorted, so they never cross).
    const G = this.targetWidth, Q = this.quantiles?.length ?? 1, middle = this.quantiles ? middleQuantile(this.quantiles) : 0;
    const sums = new ErrorSums(), coverage = this.quantiles ? new CoverageSums() : null;
    const scales = this.meta.targets.map((name) => this.meta.normalization.columns[name]);
    const sorted = new Float64Array(G * Q);
    return {
      add: (index, y, offset) => {
        const s = seqs[index];
        sortedQuantiles(y, offset, G, Q, sorted);
        for (let g = 0; g < G; g++) {
          sums.add(unscaleValue(scales[g], sorted[g * Q + middle]), s.raw[g], NaN);
          coverage?.add(unscaleValue(scales[g], sorted[g * Q]), unscaleValue(scales[g], sorted[g * Q + Q - 1]), s.raw[g]);
        }
      },
      result: () => ({ ...sums.result(false), ...coverage?.result() }),
    };
  }

  fill(split: Split, indices: ArrayLike<number>, start: number, count: number, outputs: 'all' | 'last', out: BatchArrays): void {
    checkBatch(this, split, indices, start, count, outputs);
    const T = this.seqLen, tokens = this.input === 'onehot', F = tokens ? 1 : this.inputSize, G = this.targetWidth;
    if (tokens) checkCapacity(out.tokens, 'tokens', T * count);
    else checkCapacity(out.inputs, 'inputs', T * count * F);
    if (!out.lengths) throw new RangeError('out.lengths is needed for variable-length sequences');
    checkCapacity(out.lengths, 'lengths', count);
    if (this.loss === 'ce') checkCapacity(out.targetIds, 'targetIds', count);
    else checkCapacity(out.targetValues, 'targetValues', count * G);
    for (let j = 0; j < count; j++) {
      const s = this.splits[split][indices[start + j]];
      out.lengths[j] = s.length;
      // Padding is token 0 or zeros; its values never matter (the kernels mask it), fixed keeps runs reproducible.
      if (tokens) for (let t = 0; t < T; t++) out.tokens[t * count + j] = t < s.length ? s.ids[t] : 0;
      else for (let t = 0; t < T; t++) {
        const to = (t * count + j) * F;
        if (t < s.length) for (let f = 0; f < F; f++) out.inputs[to + f] = s.x[t * F + f];
        else out.inputs.fill(0, to, to + F);
      }
      if (this.loss === 'ce') out.targetIds[j] = s.label;
      else for (let g = 0; g < G; g++) out.targetValues[j * G + g] = s.y[g];
    }
  }
}

/**
 * The labelled sequences of a JSON Lines text (a file's bytes), each line checked as it is
 * parsed; blank lines are skipped. `features` forces the feature count (a validation file).
 */
export function parseSequences(input: string | Buffer, path: string, features: number | null = null, tokens: boolean | null = null): SequencesFile {
  const sequences: RawSequence[] = [];
  let F = features;
  let firstLine = 0;
  let tokenSteps = tokens;
  let kindLine = 0;
  for (const { line, value: parsed } of readJsonLines(input, path)) {
    const where = `line ${line}`;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw inputError(path, where, 'expected an object {"x": [...], "y": ...}');
    const { x, y } = parsed as { x?: unknown; y?: unknown };
    if (!Array.isArray(x) || x.length === 0) throw inputError(path, `${where}, x`, `expected a non-empty list of steps, got ${brief(x)}`);
    // Steps are tokens (strings) or numbers, the same kind on every line (and in the validation file).
    const lineTokens = typeof x[0] === 'string';
    if (tokenSteps === null) {
      tokenSteps = lineTokens;
      kindLine = line;
    } else if (lineTokens !== tokenSteps) {
      const since = kindLine > 0 ? `line ${kindLine} has` : 'the training file has';
      throw inputError(path, `${where}, x`, `has ${lineTokens ? 'tokens (strings)' : 'numbers'}, ${since} ${tokenSteps ? 'tokens (strings)' : 'numbers'}; every line's steps must be of one kind`);
    }
    if (lineTokens) {
      const bad = x.findIndex((v) => typeof v !== 'string');
      if (bad >= 0) throw inputError(path, `${where}, x[${bad}]`, `expected a token (a string) like the line's other steps, got ${brief(x[bad])}`);
      F = 1;
      sequences.push({ line, length: x.length, x: new Float64Array(0), tokens: x as string[], y: checkedY(y, path, where) });
      continue;
    }
    // A list of numbers is one feature per step; a list of lists, a row of features per step.
    const rows = x.every((v) => typeof v === 'number') ? x.map((v) => [v as number]) : x;
    const width = Array.isArray(rows[0]) ? (rows[0] as unknown[]).length : -1;
    if (F === null) {
      F = width;
      firstLine = line;
    }
    const values = new Float64Array(rows.length * Math.max(F, 0));
    rows.forEach((row, t) => {
      if (!Array.isArray(row) || row.length === 0 || !row.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw inputError(path, `${where}, x[${t}]`, `expected a list of numbers (a step's features), got ${brief(row)}`);
      }
      if (row.length !== F) {
        const since = firstLine > 0 ? `line ${firstLine}` : 'the training file';
        throw inputError(path, `${where}, x[${t}]`, `has ${row.length} feature${row.length === 1 ? '' : 's'}, ${since} has ${F}; every step of every line needs the same feature count`);
      }
      for (let f = 0; f < F; f++) values[t * F + f] = row[f] as number;
    });
    sequences.push({ line, length: rows.length, x: values, tokens: null, y: checkedY(y, path, where) });
  }
  if (sequences.length === 0) throw inputError(path, 'line 1', 'the file is empty: expected one JSON object per line, {"x": [...], "y": ...}');
  return { path, features: F!, tokens: tokenSteps === true, sequences };
}

function checkedY(y: unknown, path: string, where: string): RawSequence['y'] {
  if (y === undefined) throw inputError(path, where, 'missing "y" (a label, a number or a list of numbers)');
  const okY = typeof y === 'string' || (typeof y === 'number' && Number.isFinite(y))
    || (Array.isArray(y) && y.length > 0 && y.every((v) => typeof v === 'number' && Number.isFinite(v)));
  if (!okY) throw inputError(path, `${where}, y`, `expected a label, a number or a non-empty list of numbers, got ${brief(y)}`);
  return y as RawSequence['y'];
}

/**
 * Splits, labels and scales: `val` is the validation file, or null to draw ⌈valFraction · n⌉
 * lines of `file` with the seed. `fitted` (a checkpoint's metadata) replaces the labels and
 * statistics fitted on the training split. `experiment` names the experiment file for key errors.
 */
export function buildSequences(file: SequencesFile, val: SequencesFile | null, opt: SequencesOptions, experiment: string, fitted: SequencesMeta | null = null): SequencesData {
  let trainRaw: RawSequence[], valRaw: RawSequence[];
  if (val) {
    trainRaw = file.sequences;
    valRaw = val.sequences;
  } else {
    const picked = splitIndices(file.sequences.length, opt.valFraction, opt.seed);
    trainRaw = picked.train.map((i) => file.sequences[i]);
    valRaw = picked.val.map((i) => file.sequences[i]);
    if (trainRaw.length === 0) throw inputError(experiment, 'data.valFraction', `leaves no training sequence of the ${file.sequences.length} in ${file.path}`);
  }
  const valPath = val?.path ?? file.path;
  const F = file.features;
  const target = fitted?.target ?? resolveTarget(opt.target, file);

  let labels: (string | number)[] | null = null, G: number, scalarTarget = false;
  if (target === 'class') {
    labels = fitted?.labels ?? sortedLabels(trainRaw.map((s) => classKey(s, file.path)));
    G = 1;
  } else {
    const first = file.sequences[0];
    G = Array.isArray(first.y) ? first.y.length : 1;
    scalarTarget = !Array.isArray(first.y);
    for (const [s, path] of [...file.sequences.map((s) => [s, file.path] as const), ...(val?.sequences ?? []).map((s) => [s, val!.path] as const)]) {
      if (typeof s.y === 'string') throw inputError(path, `line ${s.line}, y`, `${JSON.stringify(s.y)} is a label, but the targets are values (data.target: value, or numbers on line ${first.line})`);
      const n = Array.isArray(s.y) ? s.y.length : 1;
      if (n !== G || Array.isArray(s.y) === scalarTarget) throw inputError(path, `line ${s.line}, y`, `has ${n} value${n === 1 ? '' : 's'}${Array.isArray(s.y) ? ' (a list)' : ''}, line ${first.line} has ${scalarTarget ? 'one number' : `a list of ${G}`}`);
    }
  }
  const tokens = file.tokens;
  if (fitted && (fitted.vocabulary !== undefined) !== tokens) {
    throw inputError(file.path, 'line 1', `has ${tokens ? 'tokens (strings)' : 'numbers'} as steps, the checkpoint's model reads ${tokens ? 'numbers' : 'tokens (strings)'}`);
  }
  if (fitted && (fitted.features.length !== F || (target === 'value' && fitted.targets.length !== G))) {
    throw inputError(file.path, 'line 1', `has ${F} features and ${G} targets, the checkpoint's model reads ${fitted.features.length} and predicts ${fitted.targets.length}`);
  }
  const features = Array.from({ length: F }, (_, f) => `x${f}`);
  const targets = target === 'class' ? ['y'] : Array.from({ length: G }, (_, g) => `y${g}`);

  const vocabulary = !tokens ? null : (fitted?.vocabulary ?? buildVocabulary(trainRaw.flatMap((s) => s.tokens!), opt.minCount ?? 1));
  const vocabularyIds = vocabulary && vocabularyIndex(vocabulary);

  let normalization: Normalization;
  if (fitted) normalization = fitted.normalization;
  else {
    const columns: Record<string, ColumnScale> = {};
    // Token ids are not scaled.
    if (!tokens) features.forEach((name, f) => {
      const values: number[] = [];
      for (const s of trainRaw) for (let t = 0; t < s.length; t++) values.push(s.x[t * F + f]);
      columns[name] = fitColumn(opt.normalize, values);
    });
    if (target === 'value') {
      targets.forEach((name, g) => { columns[name] = fitColumn(opt.normalize, trainRaw.map((s) => valueOf(s.y, g))); });
    }
    normalization = { kind: opt.normalize, columns };
  }

  const index = new Map(labels?.map((l, i) => [classKey({ y: l, line: 0 } as RawSequence, ''), i]));
  const prepare = (s: RawSequence, path: string): Sequence => {
    const x = new Float32Array(tokens ? 0 : s.length * F);
    for (let t = 0; t < s.length && !tokens; t++) {
      for (let f = 0; f < F; f++) x[t * F + f] = scaleValue(normalization.columns[features[f]], s.x[t * F + f]);
    }
    // Unseen and rare tokens are `<unk>`.
    const ids = vocabularyIds ? Int32Array.from(s.tokens!, (token) => tokenId(vocabularyIds, token)) : new Int32Array(0);
    if (target === 'class') {
      const label = index.get(classKey(s, path));
      if (label === undefined) {
        throw inputError(path, `line ${s.line}, y`, `label ${JSON.stringify(s.y)} is not among the ${labels!.length} labels of the training split (${labels!.slice(0, 10).map((l) => JSON.stringify(l)).join(', ')}${labels!.length > 10 ? ', …' : ''})`);
      }
      return { line: s.line, length: s.length, x, ids, label, y: new Float32Array(0), raw: new Float64Array(0) };
    }
    const raw = Float64Array.from({ length: G }, (_, g) => valueOf(s.y, g));
    const y = Float32Array.from(raw, (v, g) => scaleValue(normalization.columns[targets[g]], v));
    return { line: s.line, length: s.length, x, ids, label: -1, y, raw };
  };
  const quantiles = fitted ? (fitted.quantiles ?? null) : (opt.quantiles ?? null);
  if (quantiles && target === 'class') throw inputError(experiment, 'train.loss', `'quantile' needs value targets, but ${file.path} has class labels (data.target: auto)`);
  const meta: SequencesMeta = { task: 'sequences', features, targets, target, labels, scalarTarget, normalization, ...(vocabulary ? { vocabulary } : {}) };
  if (quantiles) meta.quantiles = quantiles;
  if (target === 'class' && labels!.length < 2 && !fitted) {
    throw inputError(file.path, 'y', `the training split has only one label (${JSON.stringify(labels![0])}); classification needs at least two`);
  }
  return {
    meta,
    train: trainRaw.map((s) => prepare(s, file.path)),
    val: valRaw.map((s) => prepare(s, valPath)),
    trainLines: trainRaw.map((s) => s.line),
    valLines: valRaw.map((s) => s.line),
  };
}

/**
 * The seeded split of n lines: ⌈valFraction · n⌉ validation lines drawn by a permutation of
 * Rng(seed, 77); both lists in file order.
 */
export function splitIndices(n: number, valFraction: number, seed: number): { train: number[]; val: number[] } {
  const valCount = valFraction > 0 ? Math.ceil(valFraction * n) : 0;
  const order = new Rng(seed, SPLIT_STREAM).permutation(n);
  const isVal = new Uint8Array(n);
  for (let k = 0; k < valCount; k++) isVal[order[k]] = 1;
  const train: number[] = [], val: number[] = [];
  for (let i = 0; i < n; i++) (isVal[i] ? val : train).push(i);
  return { train, val };
}

/** auto: class labels when any `y` is a string, else values. */
function resolveTarget(target: SequencesOptions['target'], file: SequencesFile): 'class' | 'value' {
  if (target !== 'auto') return target;
  return file.sequences.some((s) => typeof s.y === 'string') ? 'class' : 'value';
}

/** A label's identity: strings and numbers kept apart ("1" is not 1). */
function classKey(s: Pick<RawSequence, 'y' | 'line'>, path: string): string {
  if (Array.isArray(s.y)) throw inputError(path, `line ${s.line}, y`, 'a list of numbers cannot be a class label (data.target: class)');
  return typeof s.y === 'string' ? `s${s.y}` : `n${s.y}`;
}

/** Distinct labels from their keys: numbers ascending, then strings by code point. */
function sortedLabels(keys: string[]): (string | number)[] {
  const unique = [...new Set(keys)];
  const numbers = unique.filter((k) => k[0] === 'n').map((k) => Number(k.slice(1))).sort((a, b) => a - b);
  const strings = unique.filter((k) => k[0] === 's').map((k) => k.slice(1)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return [...numbers, ...strings];
}

const valueOf = (y: RawSequence['y'], g: number): number => (Array.isArray(y) ? y[g] : (y as number));

function brief(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
