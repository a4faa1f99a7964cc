/**
 * The experiment file's schema (SPEC §6): every key, its type and its default, stated once; the
 * rules across keys; and the defaults that depend on other keys. The types of the resolved
 * experiment and of the `data` section are derived from it.
 */
import * as z from 'zod';
import { CELLS, OUTPUT_MODES, RECURRENCES, type ModelConfig } from '../../shared/model/model-config.js';
import { didYouMean } from './did-you-mean.js';
import {
  DEFAULT_KERNELS,
  DEFAULT_QUANTILES,
  KERNEL_CHOICES,
  LOSS_CHOICES,
  MISSING_POLICIES,
  NORMALIZE_KINDS,
  SCHEDULE_KEYS,
  SCHEDULE_NAMES,
  SEQUENCE_TARGETS,
  TASKS,
  TEXT_TOKENS,
  type ScheduleSpec,
  type Task,
} from './options.js';
import { expecting, mappingErrors, schemas as is } from './schema-blocks.js';

// ---------------------------------------------------------------------------------------------
// data: one shape per task, told apart by `task`

/** Keys every task accepts. */
export const everyTask = {
  valFraction: is.unitInterval().default(0.05),
  trainSize: is.positiveInt().default(10000),
  valSize: is.positiveInt().default(1000),
  symbols: is.positiveInt().default(8),
  copyLength: is.positiveInt().default(10),
};

/** series and sequences: scaling fitted on the training rows. */
const normalize = is.oneOf(NORMALIZE_KINDS).default('zscore');

function pathRequiredFor(task: Task) {
  const notAString = expecting('a non-empty string');
  const e = { error: (issue: z.core.$ZodRawIssue) => (issue.input === undefined ? `required for task '${task}'` : notAString.error(issue)) };
  return z.string(e).min(1, e);
}

/** Text: B parallel streams, each window starting from the state its stream's last one ended in. */
function statefulFor(task: Task) {
  return task === 'text' ? is.boolean().default(false) : is.boolean().refine((on) => !on, `needs task 'text', got '${task}'`).default(false);
}

function taskData<const T extends Task, Shape extends z.ZodRawShape>(task: T, shape: Shape) {
  return z.strictObject({ task: z.literal(task), ...shape }, mappingErrors((key) => dataKeyProblem(key, task)));
}

function syntheticData<const T extends 'adding' | 'copy' | 'sine'>(task: T) {
  return taskData(task, { path: is.nonEmptyString().optional(), seqLen: is.positiveInt(), ...everyTask, stateful: statefulFor(task) });
}

const textData = taskData('text', {
  path: pathRequiredFor('text'),
  seqLen: is.positiveInt(),
  ...everyTask,
  stateful: statefulFor('text'),
  /** Each epoch shifts the training windows by one seeded offset in [0, seqLen). */
  randomOffset: is.boolean().default(false),
  // Default 'char'; a character experiment resolves without the word keys, so it reads as before.
  tokens: is.oneOf(TEXT_TOKENS).optional(),
  /** Words seen fewer times in the training split read as `<unk>`; default 1 (tokens word). */
  minCount: is.positiveInt().optional(),
  /** Fold case before tokenising; default false (tokens word). */
  lowercase: is.boolean().optional(),
});

/** minCount and lowercase shape a token vocabulary: the problem is theirs. */
export function wordKeysProblem(data: z.output<typeof dataSchema>): { key: 'minCount' | 'lowercase'; problem: string } | null {
  if (data.task !== 'text' || data.tokens === 'word') return null;
  const key = data.minCount !== undefined ? 'minCount' : data.lowercase !== undefined ? 'lowercase' : null;
  return key && { key, problem: "needs data.tokens 'word'" };
}

/** Word text with its defaults filled; any other data as given. */
function resolveData(data: z.output<typeof dataSchema>): z.output<typeof dataSchema> {
  if (data.task !== 'text' || data.tokens !== 'word') return data;
  return { ...data, minCount: data.minCount ?? 1, lowercase: data.lowercase ?? false };
}

/** series (SPEC §4): columns, window shape, scaling, gaps, differencing, CSV delimiter. */
export const seriesDataSchema = taskData('series', {
  path: pathRequiredFor('series'),
  seqLen: is.positiveInt(),
  ...everyTask,
  stateful: statefulFor('series'),
  time: is.nonEmptyString().nullable().default(null),
  group: is.nonEmptyString().nullable().default(null),
  features: is.names().nullable().default(null),
  targets: is.names().nullable().default(null),
  /** Columns known in advance (calendar, holidays), read one row ahead; null = none. */
  futureFeatures: is.names().nullable().default(null),
  /** Columns constant within each series (store, region), each read through a learned embedding; absent or null = none. */
  categorical: is.names().nullable().optional(),
  horizon: is.positiveInt().default(1),
  stride: is.positiveInt().default(1),
  normalize,
  missing: is.oneOf(MISSING_POLICIES).default('error'),
  difference: is.boolean().default(false),
  delimiter: is.oneCharacter().default(','),
});

/** sequences (SPEC §4): JSON Lines of labelled sequences, each as long as its own x. */
export const sequencesDataSchema = taskData('sequences', {
  path: pathRequiredFor('sequences'),
  seqLen: z.undefined({ error: () => "not used by task 'sequences': each line's x has its own length" }).optional(),
  ...everyTask,
  stateful: statefulFor('sequences'),
  /** A JSON Lines file of validation sequences (else a seeded valFraction). */
  valPath: is.nonEmptyString().optional(),
  /** Class labels (softmax-CE) or values (MSE); auto: class if any y is a string. */
  target: is.oneOf(SEQUENCE_TARGETS).default('auto'),
  normalize,
  /** Token steps: a token seen fewer times in the training lines reads as `<unk>`. */
  minCount: is.positiveInt().default(1),
});

const DATA_SHAPES = [
  textData,
  syntheticData('adding'),
  syntheticData('copy'),
  syntheticData('sine'),
  seriesDataSchema,
  sequencesDataSchema,
] as const;

export const dataSchema = z.discriminatedUnion('task', DATA_SHAPES, {
  error: (issue) => (issue.code === 'invalid_union' ? taskProblem(issue.input) : expecting('a mapping').error(issue)),
});

/** A `task` that names no shape: the problem the task list words. */
function taskProblem(data: unknown): string {
  const task = (data as Record<string, unknown>).task;
  return is.oneOf(TASKS).safeParse(task).error?.issues[0]?.message ?? `no shape for task ${String(task)}`;
}

/** A key the shape of `task` lacks: another task's key, or a misspelling. */
function dataKeyProblem(key: string, task: Task): string {
  const owners = DATA_SHAPES.filter((shape) => key in shape.shape).map((shape) => `'${shape.shape.task.value}'`);
  if (owners.length > 0) return `only for task ${owners.join(' or ')}, got '${task}'`;
  const everyKey = [...new Set(DATA_SHAPES.flatMap((shape) => Object.keys(shape.shape)))];
  return `unknown key${didYouMean(key, everyKey)}`;
}

/** Tasks whose model predicts once, after the last step, unless `model.outputs` says otherwise. */
const PREDICT_AFTER_LAST_STEP: readonly Task[] = ['adding', 'series', 'sequences'];

// ---------------------------------------------------------------------------------------------
// Rules across keys, each stated once. The schema applies them to the experiment; a checkpoint's
// config and a run whose model comes from train.init's checkpoint apply them too.

/** Output recurrence feeds ŷ_{t-1} back into the one cell (SPEC §2); the problem is `layers`'. */
export function outputRecurrenceProblem(model: Pick<ModelConfig, 'recurrence' | 'layers'>): string | null {
  return model.recurrence === 'output' && model.layers !== 1 ? `recurrence 'output' needs exactly 1 layer, got ${model.layers}` : null;
}

/** Teacher forcing feeds y_{t-1} where ŷ_{t-1} would go, so it needs both; the problem is `train.teacherForcing`'s. */
export function teacherForcingProblem(model: Pick<ModelConfig, 'recurrence' | 'outputs'>): string | null {
  if (model.recurrence !== 'output') return "needs model.recurrence 'output'";
  if (model.outputs !== 'all') return "needs model.outputs 'all'";
  return null;
}

/**
 * The quantile loss predicts intervals of values: a series', or value sequences' (a `target: auto`
 * that turns out to be classes is refused when the data is read). The problem is `train.loss`'s.
 */
export function quantileLossProblem(data: { task: Task; target?: string }, model: Pick<ModelConfig, 'recurrence'> | undefined): string | null {
  if (data.task === 'sequences' && data.target === 'class') return "'quantile' needs value targets, got data.target 'class'";
  if (data.task !== 'series' && data.task !== 'sequences') return `'quantile' needs task 'series' or 'sequences', got '${data.task}'`;
  if (model?.recurrence === 'output') return "'quantile' needs model.recurrence 'hidden' (the fed-back output would be Q values per target)";
  return null;
}

/** Tasks whose target at each step is the next step's input (with outputs 'all'). */
const NEXT_INPUT_TARGETS: readonly Task[] = ['text', 'sine', 'series'];

/**
 * A bidirectional layer's reverse direction reads each sequence from its end, so the model sees
 * every step of its window: not for hidden state carried across windows, nor for targets that are
 * the next inputs (next-token text, next-value series), nor with an output fed back (one direction
 * only). The problem is `model.bidirectional`'s; `data` null: the model's own shape only.
 */
export function bidirectionalProblem(
  data: { task: Task; stateful?: boolean } | null,
  model: Pick<ModelConfig, 'recurrence' | 'outputs' | 'bidirectional'> & { weightDrop?: number },
): string | null {
  if (!model.bidirectional) return null;
  if (model.recurrence === 'output') return "needs model.recurrence 'hidden' (the output fed back runs forward only)";
  if ((model.weightDrop ?? 0) > 0) return 'not with model.weightDrop (the reverse direction has no DropConnect mask of its own)';
  if (data === null) return null;
  if (data.stateful) return 'not with data.stateful (a stream carries its state forward; the reverse direction would read the next window)';
  if (data.task === 'text') return "not for task 'text': the model predicts the next character, which the reverse direction reads";
  if (NEXT_INPUT_TARGETS.includes(data.task) && model.outputs === 'all') {
    return `not with outputs 'all' for task '${data.task}': each step's target is a later input, which the reverse direction reads (use outputs 'last')`;
  }
  return null;
}

/**
 * A categorical column is read only as its series' level: it cannot also be a numeric column or
 * the time column. The group column may be one (the series' own id as a category, as DeepAR's
 * item embedding). The problem is `data.categorical`'s (the first offending column).
 */
export function categoricalColumnProblem(data: { task: Task; time?: string | null; features?: string[] | null; targets?: string[] | null; futureFeatures?: string[] | null; categorical?: string[] | null }): { index: number; problem: string } | null {
  const columns = data.categorical ?? [];
  for (const [index, name] of columns.entries()) {
    if (columns.indexOf(name) !== index) return { index, problem: `${JSON.stringify(name)} is named twice` };
    const role = name === data.time ? 'the time column'
      : data.features?.includes(name) ? 'also in data.features' : data.targets?.includes(name) ? 'also in data.targets'
      : data.futureFeatures?.includes(name) ? 'also in data.futureFeatures' : null;
    if (role !== null) return { index, problem: `${JSON.stringify(name)} is ${role}; a categorical column is read only as its series' level (an embedding)` };
  }
  return null;
}

/** model.categoricalEmbedding sizes the embeddings of data.categorical: without those it has nothing to size. */
export function categoricalEmbeddingProblem(data: { categorical?: string[] | null }): string | null {
  return data.categorical == null ? 'needs data.categorical (the columns it embeds)' : null;
}

/**
 * The width of a categorical column's embedding: model.categoricalEmbedding, else
 * min(8, ⌈levels/2⌉) where `levels` counts the column's training levels (`<unk>` not counted).
 */
export function categoricalWidth(given: number | undefined, trainingLevels: number): number {
  return given ?? Math.min(8, Math.max(1, Math.ceil(trainingLevels / 2)));
}

/** lockedDropout and weightDrop (SPEC §2); the problem is the key named with it. */
export function regulariserProblem(model: Pick<ModelConfig, 'recurrence'> & { dropout: number; lockedDropout: number; weightDrop: number }): { key: 'lockedDropout' | 'weightDrop'; problem: string } | null {
  if (model.lockedDropout > 0 && model.dropout > 0) return { key: 'lockedDropout', problem: 'replaces model.dropout on the layers\' outputs: give only one of them (set model.dropout to 0)' };
  if (model.weightDrop > 0 && model.recurrence === 'output') return { key: 'weightDrop', problem: "needs model.recurrence 'hidden' (it masks weight_hh)" };
  return null;
}

/** randomOffset cuts the text anew each epoch; a stateful stream's windows must follow each other. */
export function randomOffsetProblem(data: { stateful: boolean; randomOffset?: boolean }): string | null {
  return data.randomOffset && data.stateful ? 'cannot be used with data.stateful (a stream\'s windows must follow each other)' : null;
}

/** model.embeddingInitScale starts the embedding tables: without one it has nothing to start. */
export function embeddingInitScaleProblem(data: { categorical?: string[] | null }, model: { embedding?: number }): string | null {
  return model.embedding === undefined && data.categorical == null ? 'needs an embedding table (model.embedding or data.categorical)' : null;
}

/** Tasks whose steps may be tokens read through an embedding (SPEC §2). */
const TOKEN_TASKS: readonly Task[] = ['text', 'sequences'];

/** An embedding reads token ids; the problem is `model.embedding`'s. */
export function embeddingProblem(data: { task: Task }, model: Pick<ModelConfig, 'embedding' | 'recurrence'>): string | null {
  if (model.embedding === undefined) return null;
  if (!TOKEN_TASKS.includes(data.task)) return `needs token steps (task 'text' or 'sequences'), got task '${data.task}'`;
  if (model.recurrence !== 'hidden') return "needs model.recurrence 'hidden'";
  return null;
}

/**
 * A tied head multiplies the top layer's output by the embedding matrix, so E = H, and predicts
 * the next token, so O = V (text); the problem is `model.tieWeights`'.
 */
export function tieWeightsProblem(data: { task: Task }, model: Pick<ModelConfig, 'embedding' | 'tieWeights' | 'hidden'>): string | null {
  if (!model.tieWeights) return null;
  if (model.embedding === undefined) return 'needs model.embedding';
  if (model.embedding !== model.hidden) return `needs model.embedding = model.hidden (the head reads the top layer's output), got ${model.embedding} and ${model.hidden}`;
  if (data.task !== 'text') return `needs task 'text' (the head predicts the next token over the vocabulary), got '${data.task}'`;
  return null;
}

function reportProblem(ctx: z.core.$RefinementCtx, path: PropertyKey[], problem: string | null): void {
  if (problem !== null) ctx.addIssue({ code: 'custom', path, message: problem });
}

// ---------------------------------------------------------------------------------------------
// The experiment

const modelSchema = is
  .section({
    cell: is.oneOf(CELLS),
    hidden: is.positiveInt(),
    layers: is.positiveInt().default(1),
    recurrence: is.oneOf(RECURRENCES).default('hidden'),
    outputs: is.oneOf(OUTPUT_MODES).optional(), // default depends on data.task
    forgetBias: is.finiteNumber().default(1),
    /** null = 1/√hidden. */
    initScale: is.positiveNumber().nullable().default(null),
    /** Inverted dropout on every layer's output (training only). */
    dropout: is.unitInterval().default(0),
    /** Width of every data.categorical column's embedding; absent = per column min(8, ⌈levels/2⌉). */
    categoricalEmbedding: is.positiveInt().optional(),
    /** Variational dropout on every layer's output: one mask per sequence for all steps (training only). */
    lockedDropout: is.unitInterval().default(0),
    /** DropConnect on every layer's weight_hh: one mask per step (training only). */
    weightDrop: is.unitInterval().default(0),
    /** Token models: x_t = Emb[token_t], a learned [V, embedding] matrix; absent: one-hot input. */
    embedding: is.positiveInt().optional(),
    /** The head's weight is the embedding matrix (needs embedding = hidden, text). */
    tieWeights: is.boolean().optional(),
    /** Embedding tables start uniform in ±this; absent: N(0, 1), as nn.Embedding. */
    embeddingInitScale: is.positiveNumber().optional(),
    /** Each layer also reads every sequence backward (SPEC §2); its output is 2H wide. */
    bidirectional: is.boolean().default(false),
  })
  .superRefine((model, ctx) => {
    reportProblem(ctx, ['layers'], outputRecurrenceProblem(model));
    const regulariser = regulariserProblem(model);
    if (regulariser) reportProblem(ctx, [regulariser.key], regulariser.problem);
  });

const scheduleSchema = is.section({
  name: is.oneOf(SCHEDULE_NAMES).default('constant'),
  warmup: is.nonNegativeInt().default(0),
  // Which of these a schedule takes, and their defaults, are SCHEDULE_KEYS'.
  minLr: is.nonNegativeNumber().optional(),
  every: is.positiveInt().optional(),
  gamma: is.decayFactor().optional(),
  factor: is.greaterThanOne().optional(),
  patience: is.positiveInt().optional(),
  minDelta: is.nonNegativeNumber().optional(),
});

const fileSchema = is.section({
  name: is.nonEmptyString().optional(), // default: the file's name
  seed: is.nonNegativeInt().default(1),
  data: dataSchema,
  /** Absent only when train.init is set: the checkpoint supplies the model. */
  model: modelSchema.optional(),
  train: is
    .section({
      batch: is.positiveInt().default(32),
      steps: is.positiveInt().default(1000),
      /** null = the machine's available parallelism, decided by the caller. */
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
      /** null = no clipping. */
      clip: is.positiveNumber().nullable().default(5),
      shuffle: is.boolean().default(true),
      evalEvery: is.positiveInt().default(200),
      checkpointEvery: is.positiveInt().default(500),
      logEvery: is.positiveInt().default(10),
      /** null = the whole validation set. */
      evalBatches: is.positiveInt().nullable().default(null),
      teacherForcing: is.boolean().default(false),
      loss: is.oneOf(LOSS_CHOICES).default('auto'),
      /** loss 'quantile' only; null = DEFAULT_QUANTILES there. */
      quantiles: is.quantiles().nullable().default(null),
      /** What was asked for; the kernels a run chose are in config.json's `kernels` and the checkpoint. */
      kernels: is.oneOf(KERNEL_CHOICES).default(DEFAULT_KERNELS),
      /** A checkpoint to start from (resolved against the file's folder). */
      init: is.nonEmptyString().nullable().default(null),
      schedule: scheduleSchema.prefault({}),
      /** Stop when the validation loss has not improved for `patience` evaluations; null = off. */
      earlyStopping: is
        .section({ patience: is.positiveInt(), minDelta: is.nonNegativeNumber().default(0) })
        .nullable()
        .default(null),
    })
    .prefault({}),
  output: is.section({ dir: is.nonEmptyString().optional() }).prefault({}), // default: runs/<name>
});

/** The named schedule with exactly its own keys, defaults filled; a key of another schedule is an error. */
function resolveSchedule(given: z.output<typeof scheduleSchema>, ctx: z.core.ParsePayload): ScheduleSpec {
  const own = SCHEDULE_KEYS[given.name];
  const resolved: Record<string, unknown> = { name: given.name, warmup: given.warmup };
  const fail = (key: string, message: string) => ctx.issues.push({ code: 'custom', path: ['train', 'schedule', key], message, input: given });
  for (const [key, value] of Object.entries(given)) {
    if (key === 'name' || key === 'warmup' || value === undefined) continue;
    if (!(key in own)) fail(key, `not a key of schedule '${given.name}' (it takes ${['warmup', ...Object.keys(own)].join(', ')})`);
  }
  for (const [key, fallback] of Object.entries(own)) {
    const value = given[key as keyof typeof given] ?? fallback;
    if (value === undefined) fail(key, `required by schedule '${given.name}'`);
    resolved[key] = value;
  }
  return resolved as ScheduleSpec;
}

/**
 * Every key checked and defaulted; what follows from the file (the name, paths) is left to the
 * caller. Keys are written in schema order so config.json reads the same for every run.
 */
export const experimentSchema = fileSchema
  .transform(({ name, seed, data, model, train, output }, ctx) => {
    const { optimizer } = train;
    return {
      name,
      seed,
      data: resolveData(data),
      model: model && {
        cell: model.cell,
        hidden: model.hidden,
        layers: model.layers,
        recurrence: model.recurrence,
        outputs: model.outputs ?? (PREDICT_AFTER_LAST_STEP.includes(data.task) ? 'last' : 'all'),
        // Written only when set, so the experiments of unidirectional runs read as before.
        ...(model.bidirectional ? { bidirectional: true } : {}),
        forgetBias: model.forgetBias,
        initScale: model.initScale,
        dropout: model.dropout,
        // Only when given, so the experiments of models without categories read as before.
        ...(model.categoricalEmbedding === undefined ? {} : { categoricalEmbedding: model.categoricalEmbedding }),
        lockedDropout: model.lockedDropout,
        weightDrop: model.weightDrop,
        // Only when given, so experiments without them (and their checkpoints) read as before.
        ...(model.embedding === undefined ? {} : { embedding: model.embedding }),
        ...(model.tieWeights === undefined ? {} : { tieWeights: model.tieWeights }),
        ...(model.embeddingInitScale === undefined ? {} : { embeddingInitScale: model.embeddingInitScale }),
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
        schedule: resolveSchedule(train.schedule, ctx),
        quantiles: train.loss === 'quantile' ? (train.quantiles ?? [...DEFAULT_QUANTILES]) : train.quantiles,
      },
      output,
    };
  })
  .superRefine(({ data, model, train }, ctx) => {
    if (data.task === 'series') {
      const categorical = categoricalColumnProblem(data);
      if (categorical !== null) reportProblem(ctx, ['data', 'categorical', categorical.index], categorical.problem);
    }
    if (model?.categoricalEmbedding !== undefined) reportProblem(ctx, ['model', 'categoricalEmbedding'], categoricalEmbeddingProblem(data as { categorical?: string[] | null }));
    if (data.task === 'text') reportProblem(ctx, ['data', 'randomOffset'], randomOffsetProblem(data));
    const wordKeys = wordKeysProblem(data);
    if (wordKeys) reportProblem(ctx, ['data', wordKeys.key], wordKeys.problem);
    if (train.loss === 'quantile') reportProblem(ctx, ['train', 'loss'], quantileLossProblem(data, model));
    else if (train.quantiles !== null) reportProblem(ctx, ['train', 'quantiles'], "needs train.loss 'quantile'");
    if (!model) {
      if (train.init === null) reportProblem(ctx, ['model'], 'required unless train.init is set');
      return; // the checkpoint's model meets the model rules when the run resolves it
    }
    if (train.teacherForcing) reportProblem(ctx, ['train', 'teacherForcing'], teacherForcingProblem(model));
    if (data.stateful && model.recurrence === 'output') reportProblem(ctx, ['data', 'stateful'], "needs model.recurrence 'hidden'");
    reportProblem(ctx, ['model', 'embedding'], embeddingProblem(data, model));
    reportProblem(ctx, ['model', 'tieWeights'], tieWeightsProblem(data, model));
    if (model.embeddingInitScale !== undefined) reportProblem(ctx, ['model', 'embeddingInitScale'], embeddingInitScaleProblem(data as { categorical?: string[] | null }, model));
    reportProblem(ctx, ['model', 'bidirectional'], bidirectionalProblem(data, model));
  });
