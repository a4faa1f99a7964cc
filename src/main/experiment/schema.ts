/** The experiment file's schema (SPEC §6): every key, its type and its default. */
import * as z from 'zod';
import { DEFAULT_KERNELS, KERNEL_CHOICES, SCHEDULE_NAMES } from './options.js';
import { expecting, schemas as is } from './schema-blocks.js';

const TASKS = ['text', 'adding', 'copy', 'sine', 'series', 'sequences'] as const;

export const experimentSchema = z.strictObject(
  {
    name: is.nonEmptyString().optional(),
    seed: is.nonNegativeInt().default(1),
    data: is.section({
      task: is.oneOf(TASKS),
      path: is.nonEmptyString().optional(),
      seqLen: is.positiveInt().optional(), // required but for sequences
      valFraction: is.unitInterval().default(0.05),
      trainSize: is.positiveInt().default(10000),
      valSize: is.positiveInt().default(1000),
      symbols: is.positiveInt().default(8),
      copyLength: is.positiveInt().default(10),
      stateful: is.boolean().default(false),
      // series and sequences only (defaults filled per task in experiment.ts)
      valPath: is.nonEmptyString().optional(),
      target: is.oneOf(['auto', 'class', 'value']).optional(),
      time: is.nonEmptyString().nullable().optional(),
      group: is.nonEmptyString().nullable().optional(),
      features: is.names().nullable().optional(),
      targets: is.names().nullable().optional(),
      horizon: is.positiveInt().optional(),
      stride: is.positiveInt().optional(),
      normalize: is.oneOf(['zscore', 'minmax', 'none']).optional(),
      missing: is.oneOf(['error', 'ffill']).optional(),
      difference: is.boolean().optional(),
      delimiter: is.oneCharacter().optional(),
    }),
    model: is
      .section({
        cell: is.oneOf(['lstm', 'gru', 'rnn']),
        hidden: is.positiveInt(),
        layers: is.positiveInt().default(1),
        recurrence: is.oneOf(['hidden', 'output']).default('hidden'),
        outputs: is.oneOf(['all', 'last']).optional(), // default depends on data.task
        forgetBias: is.finiteNumber().default(1),
        initScale: is.positiveNumber().nullable().default(null),
        dropout: is.unitInterval().default(0),
      })
      .optional(),
    train: is
      .section({
        batch: is.positiveInt().default(32),
        steps: is.positiveInt().default(1000),
        workers: is.positiveInt().nullable().default(null),
        optimizer: is
          .section({
            name: is.oneOf(['sgd', 'momentum', 'adam', 'adamw']).default('adam'),
            lr: is.positiveNumber().default(0.002),
            momentum: is.unitInterval().default(0.9),
            beta1: is.unitInterval().default(0.9),
            beta2: is.unitInterval().default(0.999),
            eps: is.positiveNumber().default(1e-8),
            weightDecay: is.nonNegativeNumber().optional(), // default depends on optimizer.name
            nesterov: is.boolean().default(false),
          })
          .prefault({}),
        clip: is.positiveNumber().nullable().default(5),
        shuffle: is.boolean().default(true),
        evalEvery: is.positiveInt().default(200),
        checkpointEvery: is.positiveInt().default(500),
        logEvery: is.positiveInt().default(10),
        evalBatches: is.positiveInt().nullable().default(null),
        teacherForcing: is.boolean().default(false),
        kernels: is.oneOf(KERNEL_CHOICES).default(DEFAULT_KERNELS),
        init: is.nonEmptyString().nullable().default(null),
        // Which keys a schedule takes, and their defaults, are checked in experiment.ts.
        schedule: is
          .section({
            name: is.oneOf(SCHEDULE_NAMES).default('constant'),
            warmup: is.nonNegativeInt().default(0),
            minLr: is.nonNegativeNumber().optional(),
            every: is.positiveInt().optional(),
            gamma: is.decayFactor().optional(),
            factor: is.greaterThanOne().optional(),
            patience: is.positiveInt().optional(),
            minDelta: is.nonNegativeNumber().optional(),
          })
          .prefault({}),
        earlyStopping: is
          .section({ patience: is.positiveInt(), minDelta: is.nonNegativeNumber().default(0) })
          .nullable()
          .default(null),
      })
      .prefault({}),
    output: is.section({ dir: is.nonEmptyString().optional() }).prefault({}),
  },
  expecting('a mapping'),
);
