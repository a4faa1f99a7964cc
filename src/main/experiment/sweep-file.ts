/**
 * Sweep files (SPEC §7, the conventions of W&B sweeps): a base experiment, a search method and
 * the parameters to vary, each named by its dotted experiment key path.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import * as z from 'zod';
import { Rng } from '../../shared/model/rng.js';
import { inputError } from '../errors.js';
import { EXPERIMENT_KEYS, notAnExperimentKey } from './keys.js';
import { expecting, firstIssueError, schemas as is } from './schema-blocks.js';
import { readMappingFile } from './file.js';

export interface SweepParam {
  values?: (number | string | boolean | null)[];
  min?: number;
  max?: number;
  distribution?: 'uniform' | 'log_uniform' | 'int_uniform';
}

export interface SweepSpec {
  /** The sweep file as given, for messages. */
  file: string;
  /** Absolute path of the base experiment file. */
  base: string;
  name: string;
  method: 'grid' | 'random';
  /** Random only; null for grid, which runs every combination. */
  trials: number | null;
  seed: number;
  metric: { name: string; goal: 'minimize' | 'maximize' };
  /** In the order the file lists them; every range parameter has its distribution filled in. */
  parameters: Record<string, SweepParam>;
  /** ASHA early termination; maxSteps null = each trial's train.steps. Null when the sweep has none. */
  earlyTerminate: { type: 'asha'; minSteps: number; eta: number; maxSteps: number | null } | null;
  output: { dir: string };
}

/** The metrics.jsonl fields a sweep can rank trials by (SPEC §6). */
export const SWEEP_METRICS = ['valLoss', 'valAccuracy', 'valMse', 'valMae', 'loss', 'tokensPerSec'] as const;

/** The RNG stream of random sweeps, apart from the streams the experiments use. */
const SWEEP_STREAM = 77;

const parameterSchema = is.section({
  values: z
    .array(z.union([z.number(), z.string(), z.boolean(), z.null()], expecting('a number, string, true, false or null')), expecting('a non-empty list'))
    .min(1, expecting('a non-empty list'))
    .optional(),
  min: is.finiteNumber().optional(),
  max: is.finiteNumber().optional(),
  distribution: is.oneOf(['uniform', 'log_uniform', 'int_uniform']).optional(),
});

const sweepSchema = is.section({
  base: is.nonEmptyString(),
  name: is.nonEmptyString().optional(),
  method: is.oneOf(['grid', 'random']),
  trials: is.positiveInt().optional(),
  seed: is.nonNegativeInt().default(1),
  metric: is
    .section({
      name: is.oneOf(SWEEP_METRICS).default('valLoss'),
      goal: is.oneOf(['minimize', 'maximize']).default('minimize'),
    })
    .prefault({}),
  parameters: z.record(z.string(), parameterSchema, expecting('a mapping of experiment key paths to {values} or {min, max}')),
  earlyTerminate: is
    .section({
      type: is.oneOf(['asha']),
      minSteps: is.positiveInt(),
      eta: is.positiveInt().refine((n) => n >= 2, expecting('an integer ≥ 2')).default(3),
      maxSteps: is.positiveInt().optional(),
    })
    .nullable()
    .optional(),
  output: is.section({ dir: is.nonEmptyString().optional() }).prefault({}),
});

export function loadSweep(file: string): SweepSpec {
  const parsed = sweepSchema.safeParse(readMappingFile(file));
  if (!parsed.success) throw firstIssueError(parsed.error, file);
  const { method, trials } = parsed.data;
  const folder = dirname(resolve(file));

  const base = resolve(folder, parsed.data.base);
  if (!existsSync(base) || !statSync(base).isFile()) throw inputError(file, 'base', `experiment file not found: ${base}`);
  if (method === 'random' && trials === undefined) throw inputError(file, 'trials', "required for method 'random'");
  if (method === 'grid' && trials !== undefined) {
    throw inputError(file, 'trials', "only for method 'random'; grid runs every combination");
  }

  const entries = Object.entries(parsed.data.parameters);
  if (entries.length === 0) throw inputError(file, 'parameters', 'expected at least one parameter');
  const parameters: Record<string, SweepParam> = {};
  for (const [key, param] of entries) parameters[key] = checkedParameter(key, param, method, file);

  const early = parsed.data.earlyTerminate ?? null;
  if (early && early.maxSteps !== undefined && early.maxSteps <= early.minSteps) {
    throw inputError(file, 'earlyTerminate.maxSteps', `must be greater than minSteps (${early.minSteps}), got ${early.maxSteps}`);
  }
  const name = parsed.data.name ?? basename(file, extname(file));
  return {
    file,
    base,
    name,
    method,
    trials: trials ?? null,
    seed: parsed.data.seed,
    metric: parsed.data.metric,
    parameters,
    earlyTerminate: early && { type: early.type, minSteps: early.minSteps, eta: early.eta, maxSteps: early.maxSteps ?? null },
    output: { dir: resolve(folder, parsed.data.output.dir ?? `runs/${name}`) },
  };
}

/** Checks what the schema cannot: the key, and that the parameter is a list or a range that suits the method. */
function checkedParameter(key: string, param: SweepParam, method: SweepSpec['method'], file: string): SweepParam {
  const at = `parameters.${key}`;
  if (!EXPERIMENT_KEYS.includes(key)) throw inputError(file, at, notAnExperimentKey(key));
  const isRange = param.min !== undefined || param.max !== undefined;

  if (param.values !== undefined) {
    if (isRange) throw inputError(file, at, 'give either values or min and max, not both');
    if (param.distribution !== undefined) throw inputError(file, `${at}.distribution`, 'applies only to min and max');
    return { values: param.values };
  }
  if (!isRange) throw inputError(file, at, 'expected values or min and max');
  if (method === 'grid') throw inputError(file, at, "method 'grid' needs a list of values; min and max are for method 'random'");
  if (param.min === undefined) throw inputError(file, `${at}.min`, 'missing (expected a number)');
  if (param.max === undefined) throw inputError(file, `${at}.max`, 'missing (expected a number)');
  const { min, max } = param;
  if (!(min < max)) throw inputError(file, at, `min must be less than max, got min ${min} and max ${max}`);

  // As in W&B: integer bounds without a distribution mean integers.
  const distribution = param.distribution ?? (Number.isInteger(min) && Number.isInteger(max) ? 'int_uniform' : 'uniform');
  if (distribution === 'log_uniform' && min <= 0) throw inputError(file, `${at}.min`, `log_uniform needs min > 0, got ${min}`);
  if (distribution === 'int_uniform' && !(Number.isInteger(min) && Number.isInteger(max))) {
    throw inputError(file, at, `int_uniform needs integer min and max, got ${min} and ${max}`);
  }
  return { min, max, distribution };
}

/**
 * The trials, each a map key path → value. Grid: the cartesian product in the order the
 * parameters are listed, the last one varying fastest. Random: `trials` draws from
 * Rng(seed, 77), the parameters drawn in listed order within each trial.
 */
export function expandTrials(spec: SweepSpec): Record<string, unknown>[] {
  const parameters = Object.entries(spec.parameters);
  if (spec.method === 'grid') {
    let trials: Record<string, unknown>[] = [{}];
    for (const [key, param] of parameters) {
      trials = trials.flatMap((trial) => param.values!.map((value) => ({ ...trial, [key]: value })));
    }
    return trials;
  }
  const rng = new Rng(spec.seed, SWEEP_STREAM);
  return Array.from({ length: spec.trials ?? 0 }, () =>
    Object.fromEntries(parameters.map(([key, param]) => [key, draw(param, rng)])),
  );
}

function draw(param: SweepParam, rng: Rng): unknown {
  if (param.values) return param.values[rng.int(param.values.length)];
  const min = param.min!;
  const max = param.max!;
  switch (param.distribution) {
    case 'int_uniform':
      return min + rng.int(max - min + 1);
    case 'log_uniform': {
      const value = Math.exp(Math.log(min) + (Math.log(max) - Math.log(min)) * rng.uniform());
      return Math.min(max, Math.max(min, value)); // exp∘log may round just past a bound
    }
    default:
      return min + (max - min) * rng.uniform();
  }
}
