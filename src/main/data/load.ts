/** The one place that picks a dataset kind from the `data` section: text, series, sequences or a synthetic task. */
import { inputError } from '../errors.js';
import { AddingDataset } from './adding.js';
import { positiveInteger } from './checks.js';
import { CopyDataset } from './copy.js';
import type { Dataset, Vocab } from './dataset.js';
import { DATA_DEFAULTS, type DataSpec } from './spec.js';
import { SineDataset } from './sine.js';
import { syntheticSizes } from './synthetic.js';
import { loadText } from './text.js';
import { loadWordText } from './words.js';
import type { DataMeta } from './metadata.js';
import { loadSeries } from './series.js';
import { loadSequences } from './sequences.js';

const DEFAULT_COPY_SYMBOLS = DATA_DEFAULTS.symbols;
const DEFAULT_COPY_LENGTH = DATA_DEFAULTS.copyLength;

export interface LoadOptions {
  /** Text: a vocabulary to use (from a checkpoint): characters, or word tokens. */
  vocab?: Vocab;
  /** series, sequences: the model's outputs, which decide the targets (default 'last'). */
  outputs?: 'all' | 'last';
  /** series, sequences: a checkpoint's metadata, whose statistics (and labels, quantiles) replace fitting. */
  fitted?: DataMeta;
  /** train.loss quantile: the levels (when no checkpoint's metadata gives them). */
  quantiles?: number[] | null;
  /** series: a checkpoint's categorical level lists (train.init), when `fitted` does not give them. */
  categoryLevels?: string[][] | null;
}

/** `file` is the experiment file (for error messages, keys like `data.path`). */
export function loadDataset(spec: DataSpec, seed: number, file: string, opts: LoadOptions = {}): Dataset {
  if (spec.task === 'series') {
    const fitted = opts.fitted?.task === 'series' ? opts.fitted.normalization : null;
    const quantiles = opts.fitted?.task === 'series' ? opts.fitted.quantiles : (opts.quantiles ?? null);
    const categoryLevels = opts.fitted?.task === 'series' ? opts.fitted.categorical.map((c) => c.levels) : (opts.categoryLevels ?? null);
    return loadSeries(spec, opts.outputs ?? 'last', file, fitted, quantiles, categoryLevels);
  }
  if (spec.task === 'sequences') return loadSequences(spec, seed, file, opts.fitted?.task === 'sequences' ? opts.fitted : null, opts.quantiles ?? null);
  const seqLen = positiveInteger(spec.seqLen, 'seqLen', file);
  const vocab = opts.vocab;
  switch (spec.task) {
    case 'text':
      if (spec.tokens === 'word') {
        if (typeof vocab === 'string') throw inputError(file, 'data.tokens', "'word', but the checkpoint is a character model");
        return loadWordText(spec, seqLen, file, vocab);
      }
      if (vocab !== undefined && typeof vocab !== 'string') throw inputError(file, 'data.tokens', "'char', but the checkpoint is a word model");
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
      throw inputError(file, 'data.task', `unknown task ${JSON.stringify((spec as { task: unknown }).task)}; expected text, adding, copy, sine, series or sequences`);
  }
}

