/** The `data` section of an experiment as the loaders read it: every kind's keys in one shape. */
import type { SeriesSpec } from './series-dataset.js';
import type { SequencesSpec } from './sequences-dataset.js';

export interface DataSpec extends SeriesSpec, SequencesSpec {
  task: 'text' | 'adding' | 'copy' | 'sine' | 'series' | 'sequences';
  path?: string;
  seqLen?: number;
  valFraction?: number;
  trainSize?: number;
  valSize?: number;
  symbols?: number;
  copyLength?: number;
}
