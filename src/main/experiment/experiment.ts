/**
 * Experiment files (SPEC §6): read YAML or JSON, apply `--set` overrides, validate, fill every
 * default and resolve paths, so the rest of the program sees one fully specified Experiment.
 * Every bad input becomes a single-line InputError `<file>: <key.path>: <problem>`.
 */
import { basename, dirname, extname, resolve } from 'node:path';
import { inputError } from '../errors.js';
import type { OptimizerSpec } from '../../shared/model/optim.js';
import type { ModelConfig } from '../../shared/model/model-config.js';
import { SCHEDULE_KEYS, type EarlyStoppingSpec, type KernelsChoice, type ScheduleSpec } from './options.js';
import { SERIES_DEFAULTS } from '../data/series-dataset.js';
import { readMappingFile } from './file.js';
import { applyOverride } from './overrides.js';
import { experimentSchema } from './schema.js';
import { describeValue, firstIssueError } from './schema-blocks.js';

export interface Experiment {
  name: string;
  seed: number;
  data: {
    task: 'text' | 'adding' | 'copy' | 'sine' | 'series' | 'sequences';
    path?: string;
    /** Every task but sequences (whose lines set their own lengths). */
    seqLen?: number;
    valFraction: number;
    trainSize: number;
    valSize: number;
    symbols: number;
    copyLength: number;
    /** Text: B parallel streams, each window starting from the state its stream's last one ended in. */
    stateful: boolean;
    /** sequences: a JSON Lines file of validation sequences (else a seeded valFraction). */
    valPath?: string;
    /** sequences: class labels (softmax-CE) or values (MSE); auto: class if any y is a string. */
    target?: 'auto' | 'class' | 'value';
    /** series (SPEC §4): columns, window shape, scaling, gaps, differencing, CSV delimiter. */
    time?: string | null;
    group?: string | null;
    features?: string[] | null;
    targets?: string[] | null;
    horizon?: number;
    stride?: number;
    /** series and sequences. */
    normalize?: 'zscore' | 'minmax' | 'none';
    missing?: 'error' | 'ffill';
    difference?: boolean;
    delimiter?: string;
  };
  /** Absent only when train.init is set: the checkpoint supplies the model. */
  model?: {
    cell: ModelConfig['cell'];
    hidden: number;
    layers: number;
    recurrence: 'hidden' | 'output';
    outputs: 'all' | 'last';
    forgetBias: number;
    /** null = 1/√hidden. */
    initScale: number | null;
    /** Inverted dropout on every layer's output (training only). */
    dropout: number;
  };
  train: {
    batch: number;
    steps: number;
    /** null = the machine's available parallelism, decided by the caller. */
    workers: number | null;
    optimizer: OptimizerSpec;
    /** null = no clipping. */
    clip: number | null;
    shuffle: boolean;
    evalEvery: number;
    checkpointEvery: number;
    logEvery: number;
    /** null = the whole validation set. */
    evalBatches: number | null;
    teacherForcing: boolean;
    /** What was asked for; the kernels a run chose are in config.json's `kernels` and the checkpoint. */
    kernels: KernelsChoice;
    /** Absolute path of a checkpoint to start from. */
    init: string | null;
    /** The learning rate over the steps; only the named schedule's keys, defaults filled. */
    schedule: ScheduleSpec;
    /** Stop when the validation loss has not improved for `patience` evaluations; null = off. */
    earlyStopping: EarlyStoppingSpec | null;
  };
  output: { dir: string };
}

/** Keys of the data section that only some tasks read. */
const TASK_KEYS: Partial<Record<keyof Experiment['data'], Experiment['data']['task'][]>> = {
  valPath: ['sequences'], target: ['sequences'], normalize: ['series', 'sequences'],
  time: ['series'], group: ['series'], features: ['series'], targets: ['series'], horizon: ['series'],
  stride: ['series'], missing: ['series'], difference: ['series'], delimiter: ['series'],
};
const SEQUENCES_DEFAULTS = { target: 'auto', normalize: 'zscore' } as const;

/** The keys of `o` whose values are not undefined (so spreading them keeps defaults). */
function definedOnly<O extends object>(o: O): Partial<O> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<O>;
}

/** What `--resume` lets differ from the checkpointed experiment (SPEC §5). */
export const RESUME_MUTABLE_KEYS: string[] = ['train.steps', 'train.evalEvery', 'train.checkpointEvery', 'train.logEvery'];

export function loadExperiment(file: string, overrides: string[] = []): Experiment {
  const raw = readMappingFile(file);
  for (const assignment of overrides) applyOverride(raw, assignment, file);
  return parseExperiment(raw, file, dirname(resolve(file)));
}

/** Validates `raw`, fills every default and resolves relative paths against `baseDir`. */
export function parseExperiment(raw: unknown, file: string, baseDir: string): Experiment {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw inputError(file, null, `expected a mapping of keys at the top level, got ${describeValue(raw)}`);
  }
  const parsed = experimentSchema.safeParse(raw);
  if (!parsed.success) throw firstIssueError(experimentSchema, parsed.error, file);
  const { data, model, train, output } = parsed.data;

  if (!model && train.init === null) throw inputError(file, 'model', 'required unless train.init is set');
  if (['text', 'series', 'sequences'].includes(data.task) && data.path === undefined) throw inputError(file, 'data.path', `required for task '${data.task}'`);
  if (data.task !== 'sequences' && data.seqLen === undefined) throw inputError(file, 'data.seqLen', 'missing (expected a positive integer)');
  if (data.task === 'sequences' && data.seqLen !== undefined) throw inputError(file, 'data.seqLen', "not used by task 'sequences': each line's x has its own length");
  for (const key of Object.keys(data) as (keyof typeof data)[]) {
    const tasks = TASK_KEYS[key];
    if (tasks && data[key] !== undefined && !tasks.includes(data.task)) {
      throw inputError(file, `data.${key}`, `only for task ${tasks.map((t) => `'${t}'`).join(' or ')}, got '${data.task}'`);
    }
  }
  if (model?.recurrence === 'output' && model.layers !== 1) {
    throw inputError(file, 'model.layers', `recurrence 'output' needs exactly 1 layer, got ${model.layers}`);
  }
  if (train.teacherForcing && model && model.recurrence !== 'output') {
    throw inputError(file, 'train.teacherForcing', "needs model.recurrence 'output'");
  }
  if (data.stateful && data.task !== 'text') throw inputError(file, 'data.stateful', `needs task 'text', got '${data.task}'`);
  if (data.stateful && model?.recurrence === 'output') throw inputError(file, 'data.stateful', "needs model.recurrence 'hidden'");

  // Keys are written in schema order so config.json reads the same for every run.
  const name = parsed.data.name ?? basename(file, extname(file));
  const { optimizer } = train;
  return {
    name,
    seed: parsed.data.seed,
    data: {
      ...data,
      ...(data.task === 'series' ? { ...SERIES_DEFAULTS, ...definedOnly(data) } : {}),
      ...(data.task === 'sequences' ? { ...SEQUENCES_DEFAULTS, ...definedOnly(data) } : {}),
      path: data.path === undefined ? undefined : resolve(baseDir, data.path),
      ...(data.valPath === undefined ? {} : { valPath: resolve(baseDir, data.valPath) }),
    },
    model: model && {
      cell: model.cell,
      hidden: model.hidden,
      layers: model.layers,
      recurrence: model.recurrence,
      outputs: model.outputs ?? (['adding', 'series', 'sequences'].includes(data.task) ? 'last' : 'all'),
      forgetBias: model.forgetBias,
      initScale: model.initScale,
      dropout: model.dropout,
    },
    train: {
      ...train,
      optimizer: {
        name: optimizer.name,
        lr: optimizer.lr,
        momentum: optimizer.momentum,
        beta1: optimizer.beta1,
        beta2: optimizer.beta2,
        eps: optimizer.eps,
        weightDecay: optimizer.weightDecay ?? (optimizer.name === 'adamw' ? 0.01 : 0),
        nesterov: optimizer.nesterov,
      },
      init: train.init === null ? null : resolve(baseDir, train.init),
      schedule: resolveSchedule(train.schedule, file),
    },
    output: { dir: resolve(baseDir, output.dir ?? `runs/${name}`) },
  };
}

/** The named schedule with exactly its own keys, defaults filled; a key of another schedule is an error. */
function resolveSchedule(given: Record<string, unknown> & { name: ScheduleSpec['name']; warmup: number }, file: string): ScheduleSpec {
  const own = SCHEDULE_KEYS[given.name];
  const resolved: Record<string, unknown> = { name: given.name, warmup: given.warmup };
  for (const [key, value] of Object.entries(given)) {
    if (key === 'name' || key === 'warmup' || value === undefined) continue;
    if (!(key in own)) {
      const takes = Object.keys(own);
      throw inputError(file, `train.schedule.${key}`, `not a key of schedule '${given.name}' (it takes ${['warmup', ...takes].join(', ')})`);
    }
  }
  for (const [key, fallback] of Object.entries(own)) {
    const value = given[key] ?? fallback;
    if (value === undefined) throw inputError(file, `train.schedule.${key}`, `required by schedule '${given.name}'`);
    resolved[key] = value;
  }
  return resolved as ScheduleSpec;
}

/**
 * First key path where two resolved experiments differ, ignoring the `ignore` paths (and what
 * lies under them); null if equal. A missing key equals an undefined one, so experiments that
 * went through JSON compare equal to the originals. Differing top-level non-mappings give ''.
 */
export function firstDifference(a: unknown, b: unknown, ignore: string[]): string | null {
  return differenceAt(a, b, '', new Set(ignore));
}

function differenceAt(a: unknown, b: unknown, path: string, ignore: Set<string>): string | null {
  if (ignore.has(path)) return null;
  const bothContainers =
    typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && Array.isArray(a) === Array.isArray(b);
  if (!bothContainers) return Object.is(a, b) || a === b ? null : path;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  for (const key of new Set([...Object.keys(left), ...Object.keys(right)])) {
    const found = differenceAt(left[key], right[key], path ? `${path}.${key}` : key, ignore);
    if (found !== null) return found;
  }
  return null;
}
