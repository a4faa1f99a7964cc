/** The one place that picks a dataset kind from the `data` section: character text or a synthetic task. */
import { inputError } from '../errors.js';
import { AddingDataset } from './adding.js';
import { positiveInteger } from './checks.js';
import { CopyDataset } from './copy.js';
import type { Dataset, DataSpec } from './dataset.js';
import { SineDataset } from './sine.js';
import { syntheticSizes } from './synthetic.js';
import { loadText } from './text.js';

const DEFAULT_COPY_SYMBOLS = 8;
const DEFAULT_COPY_LENGTH = 10;

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

