/**
 * Experiment files (SPEC §6): read YAML or JSON, apply `--set` overrides, validate, fill every
 * default and resolve paths, so the rest of the program sees one fully specified Experiment.
 * Every bad input becomes a single-line InputError `<file>: <key.path>: <problem>`.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import YAML from 'yaml';
import * as z from 'zod';
import { InputError, inputError } from './errors.js';
import type { OptimizerSpec } from '../shared/optim.js';

export interface Experiment {
  name: string;
  seed: number;
  data: {
    task: 'text' | 'adding' | 'copy' | 'sine';
    path?: string;
    seqLen: number;
    valFraction: number;
    trainSize: number;
    valSize: number;
    symbols: number;
    copyLength: number;
  };
  /** Absent only when train.init is set: the checkpoint supplies the model. */
  model?: {
    cell: 'lstm' | 'rnn';
    hidden: number;
    layers: number;
    recurrence: 'hidden' | 'output';
    outputs: 'all' | 'last';
    forgetBias: number;
    /** null = 1/√hidden. */
    initScale: number | null;
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
    kernels: 'ts' | 'wasm';
    /** Absolute path of a checkpoint to start from. */
    init: string | null;
  };
  output: { dir: string };
}

/** What `--resume` lets differ from the checkpointed experiment (SPEC §5). */
export const RESUME_MUTABLE_KEYS: string[] = ['train.steps', 'train.evalEvery', 'train.checkpointEvery', 'train.logEvery'];

// ---------------------------------------------------------------------------------------------
// Schema building blocks whose errors read `expected <what>, got <value>`.

type ErrorOption = { error: (issue: { input?: unknown }) => string };

/** Shared with sweep-file.ts: the error option every leaf and section schema carries. */
export function expecting(what: string, hint: (input: unknown) => string = () => ''): ErrorOption {
  return {
    error: (issue) =>
      issue.input === undefined
        ? `missing (expected ${what})`
        : `expected ${what}, got ${describeValue(issue.input)}${hint(issue.input)}`,
  };
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

/** Shared with sweep-file.ts: leaf and section schemas with readable errors. */
export const schemas = {
  section<Shape extends z.ZodRawShape>(shape: Shape) {
    return z.strictObject(shape, expecting('a mapping'));
  },
  nonEmptyString() {
    const e = expecting('a non-empty string');
    return z.string(e).min(1, e);
  },
  positiveInt() {
    const e = expecting('a positive integer');
    return z.number(e).int(e).min(1, e);
  },
  nonNegativeInt() {
    const e = expecting('a non-negative integer');
    return z.number(e).int(e).min(0, e);
  },
  positiveNumber() {
    const e = expecting('a positive number');
    return z.number(e).gt(0, e);
  },
  nonNegativeNumber() {
    const e = expecting('a number ≥ 0');
    return z.number(e).min(0, e);
  },
  finiteNumber() {
    return z.number(expecting('a number'));
  },
  /** In [0, 1): a fraction, a momentum or an Adam beta. */
  unitInterval() {
    const e = expecting('a number in [0, 1)');
    return z.number(e).min(0, e).lt(1, e);
  },
  boolean() {
    return z.boolean(expecting('true or false'));
  },
  oneOf<const Values extends readonly [string, ...string[]]>(values: Values) {
    const hint = (input: unknown) => (typeof input === 'string' ? didYouMean(input, values) : '');
    return z.enum(values, expecting(quotedList(values), hint));
  },
};

function quotedList(values: readonly string[]): string {
  const quoted = values.map((v) => `'${v}'`);
  return quoted.length === 1 ? quoted[0]! : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}

const is = schemas;
const TASKS = ['text', 'adding', 'copy', 'sine'] as const;

const experimentSchema = z.strictObject(
  {
    name: is.nonEmptyString().optional(),
    seed: is.nonNegativeInt().default(1),
    data: is.section({
      task: is.oneOf(TASKS),
      path: is.nonEmptyString().optional(),
      seqLen: is.positiveInt(),
      valFraction: is.unitInterval().default(0.05),
      trainSize: is.positiveInt().default(10000),
      valSize: is.positiveInt().default(1000),
      symbols: is.positiveInt().default(8),
      copyLength: is.positiveInt().default(10),
    }),
    model: is
      .section({
        cell: is.oneOf(['lstm', 'rnn']),
        hidden: is.positiveInt(),
        layers: is.positiveInt().default(1),
        recurrence: is.oneOf(['hidden', 'output']).default('hidden'),
        outputs: is.oneOf(['all', 'last']).optional(), // default depends on data.task
        forgetBias: is.finiteNumber().default(1),
        initScale: is.positiveNumber().nullable().default(null),
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
        kernels: is.oneOf(['ts', 'wasm']).default('wasm'),
        init: is.nonEmptyString().nullable().default(null),
      })
      .prefault({}),
    output: is.section({ dir: is.nonEmptyString().optional() }).prefault({}),
  },
  expecting('a mapping'),
);

// ---------------------------------------------------------------------------------------------
// Schema introspection: key lists for did-you-mean, sweeps and `--set`.

function unwrapped(schema: z.ZodType): z.ZodType {
  let inner = schema;
  while (
    inner instanceof z.ZodOptional ||
    inner instanceof z.ZodNullable ||
    inner instanceof z.ZodDefault ||
    inner instanceof z.ZodPrefault
  ) {
    inner = inner.unwrap() as z.ZodType;
  }
  return inner;
}

/** The schema reached by following `path` (record values included), or undefined. */
function schemaAt(schema: z.ZodType, path: readonly PropertyKey[]): z.ZodType | undefined {
  let node: z.ZodType | undefined = unwrapped(schema);
  for (const segment of path) {
    if (node instanceof z.ZodObject) node = (node.shape as Record<PropertyKey, z.ZodType>)[segment];
    else if (node instanceof z.ZodRecord) node = node.valueType as z.ZodType;
    else return undefined;
    if (node === undefined) return undefined;
    node = unwrapped(node);
  }
  return node;
}

function childKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const node = schemaAt(schema, path);
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

function dottedPaths(schema: z.ZodType, prefix: string, wantSections: boolean): string[] {
  const node = unwrapped(schema);
  if (!(node instanceof z.ZodObject)) return wantSections ? [] : [prefix];
  const here = wantSections && prefix ? [prefix] : [];
  return here.concat(
    Object.entries(node.shape as Record<string, z.ZodType>).flatMap(([key, child]) =>
      dottedPaths(child, prefix ? `${prefix}.${key}` : key, wantSections),
    ),
  );
}

export const EXPERIMENT_KEYS: string[] = dottedPaths(experimentSchema, '', false);
const EXPERIMENT_SECTIONS: string[] = dottedPaths(experimentSchema, '', true);

// ---------------------------------------------------------------------------------------------
// Did you mean …?

/** Edit distance with adjacent transpositions (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate: a case-insensitive match, else one within edit distance 2 (1 for short words). */
function closest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const sameIgnoringCase = candidates.find((c) => c.toLowerCase() === lower);
  if (sameIgnoringCase !== undefined) return sameIgnoringCase;
  const limit = word.length <= 3 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

/** ` (did you mean 'x'?)`, or '' when nothing is close. */
function didYouMean(word: string, candidates: readonly string[]): string {
  const match = closest(word, candidates);
  return match === undefined ? '' : ` (did you mean '${match}'?)`;
}

/** The problem with a dotted path that is not an experiment key, with the most useful hint. */
export function notAnExperimentKey(path: string): string {
  if (EXPERIMENT_SECTIONS.includes(path)) {
    const example = EXPERIMENT_KEYS.find((key) => key.startsWith(`${path}.`));
    return `not an experiment key: '${path}' is a section; name a key inside it, such as '${example}'`;
  }
  // A misspelt full path, else a right leaf name under the wrong (or no) section: `lr`.
  const lastSegment = path.slice(path.lastIndexOf('.') + 1);
  const suggestion =
    closest(path, EXPERIMENT_KEYS) ??
    EXPERIMENT_KEYS.find((key) => closest(lastSegment, [key.slice(key.lastIndexOf('.') + 1)]) !== undefined);
  return `not an experiment key${suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`}`;
}

// ---------------------------------------------------------------------------------------------
// Reading files and turning zod's verdict into one line.

/** The parser's reason on one line, without the code frame some parsers append. */
function oneLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

/** The yaml package's reason without its trailing ` at line L, column C:`. */
function yamlReason(error: Error): string {
  return oneLine(error.message).replace(/ at line \d+, column \d+:?$/, '');
}

/** Shared with sweep-file.ts: read a `.yaml`/`.yml`/`.json` file whose top level is a mapping. */
export function readMappingFile(file: string): Record<string, unknown> {
  const extension = extname(file).toLowerCase();
  if (!['.yaml', '.yml', '.json'].includes(extension)) {
    throw inputError(file, null, 'expected a .yaml, .yml or .json file');
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a folder, not a file' : oneLine((err as Error).message);
    throw inputError(file, null, problem);
  }
  const content = extension === '.json' ? parseJson(text, file) : parseYaml(text, file);
  if (content === null || typeof content !== 'object' || Array.isArray(content)) {
    throw inputError(file, null, `expected a mapping of keys at the top level, got ${content == null ? 'nothing' : describeValue(content)}`);
  }
  return content as Record<string, unknown>;
}

function parseYaml(text: string, file: string): unknown {
  const document = YAML.parseDocument(text);
  const [error] = document.errors;
  if (error) {
    const where = error.linePos ? `line ${error.linePos[0].line}, column ${error.linePos[0].col}` : '(yaml)';
    throw inputError(file, where, yamlReason(error));
  }
  try {
    return document.toJS();
  } catch (err) {
    throw inputError(file, '(yaml)', yamlReason(err as Error)); // e.g. an unresolved alias
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // V8 says either "… at position N" or quotes the whole source, which may span lines.
    const message = (err as Error).message.replace(/, ".*" is not valid JSON$/s, '');
    const position = /at position (\d+)/.exec(message);
    if (!position) throw inputError(file, '(json)', oneLine(message));
    const before = text.slice(0, Number(position[1])).split('\n');
    const where = `line ${before.length}, column ${before.at(-1)!.length + 1}`;
    throw inputError(file, where, message.replace(/ in JSON at position \d+.*$/, ''));
  }
}

/** Shared with sweep-file.ts: the first issue as one InputError; an unknown key goes first, since a misspelt key usually also leaves its correct spelling missing. */
export function firstIssueError(schema: z.ZodType, error: z.ZodError, file: string): InputError {
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const unknown = issue.keys[0]!;
    const key = [...issue.path, unknown].map(String).join('.');
    return inputError(file, key, `unknown key${didYouMean(unknown, childKeys(schema, issue.path))}`);
  }
  return inputError(file, issue.path.map(String).join('.') || null, issue.message);
}

// ---------------------------------------------------------------------------------------------
// The public entry points.

export function loadExperiment(file: string, overrides: string[] = []): Experiment {
  const raw = readMappingFile(file);
  for (const assignment of overrides) applyOverride(raw, assignment, file);
  return parseExperiment(raw, file, dirname(resolve(file)));
}

/** Applies one `--set key.path=value`; the value is read as YAML, so `0.01`, `true`, `null`, `[1,2]` keep their types. */
export function applyOverride(raw: Record<string, unknown>, assignment: string, file: string): void {
  const equals = assignment.indexOf('=');
  if (equals <= 0) throw inputError('--set', assignment, 'expected key.path=value');
  const key = assignment.slice(0, equals).trim();
  const text = assignment.slice(equals + 1);
  if (!EXPERIMENT_KEYS.includes(key)) throw inputError('--set', key, notAnExperimentKey(key));

  let value: unknown;
  try {
    value = YAML.parse(text);
  } catch (err) {
    throw inputError('--set', key, `cannot read the value ${JSON.stringify(text)}: ${yamlReason(err as Error)}`);
  }
  // `--set name=2024` means the string, not the number.
  if (schemaAt(experimentSchema, key.split('.')) instanceof z.ZodString && (typeof value === 'number' || typeof value === 'boolean')) {
    value = text.trim();
  }

  const segments = key.split('.');
  let node = raw;
  segments.slice(0, -1).forEach((segment, i) => {
    if (node[segment] === undefined || node[segment] === null) node[segment] = {};
    const next = node[segment];
    if (typeof next !== 'object' || Array.isArray(next)) {
      throw inputError(file, segments.slice(0, i + 1).join('.'), `expected a mapping, got ${describeValue(next)}`);
    }
    node = next as Record<string, unknown>;
  });
  node[segments.at(-1)!] = value;
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
  if (data.task === 'text' && data.path === undefined) throw inputError(file, 'data.path', "required for task 'text'");
  if (model?.recurrence === 'output' && model.layers !== 1) {
    throw inputError(file, 'model.layers', `recurrence 'output' needs exactly 1 layer, got ${model.layers}`);
  }
  if (train.teacherForcing && model && model.recurrence !== 'output') {
    throw inputError(file, 'train.teacherForcing', "needs model.recurrence 'output'");
  }

  // Keys are written in schema order so config.json reads the same for every run.
  const name = parsed.data.name ?? basename(file, extname(file));
  const { optimizer } = train;
  return {
    name,
    seed: parsed.data.seed,
    data: { ...data, path: data.path === undefined ? undefined : resolve(baseDir, data.path) },
    model: model && {
      cell: model.cell,
      hidden: model.hidden,
      layers: model.layers,
      recurrence: model.recurrence,
      outputs: model.outputs ?? (data.task === 'adding' ? 'last' : 'all'),
      forgetBias: model.forgetBias,
      initScale: model.initScale,
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
    },
    output: { dir: resolve(baseDir, output.dir ?? `runs/${name}`) },
  };
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
