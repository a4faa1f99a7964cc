/**
 * The `data` section as the loaders read it: the experiment schema's input, one shape per task
 * (keys with defaults may be absent), and those defaults, which the schema states once.
 */
import type * as z from 'zod';
import { dataSchema, everyTask, sequencesDataSchema, seriesDataSchema } from '../experiment/schema.js';
import { defaultsOf } from '../experiment/zod-paths.js';

export type DataSpec = z.input<typeof dataSchema>;
export type SeriesSpec = z.input<typeof seriesDataSchema>;
export type SequencesSpec = z.input<typeof sequencesDataSchema>;

/** The defaults of the keys every task accepts (split sizes, copy's symbols, valFraction). */
export const DATA_DEFAULTS = defaultsOf(everyTask);
export const SERIES_DEFAULTS = defaultsOf(seriesDataSchema.shape);
export const SEQUENCES_DEFAULTS = defaultsOf(sequencesDataSchema.shape);
