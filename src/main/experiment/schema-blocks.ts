/**
 * Schema building blocks: those of experiment and sweep files, whose errors read
 * `expected <what>, got <value>`; those of checkpoint metadata, whose errors read
 * `must be <what>, got <JSON>`; and zod's verdict turned into one InputError line.
 */
import * as z from 'zod';
import { InputError, inputError } from '../errors.js';
import { didYouMean } from './did-you-mean.js';

type ErrorOption = { error: (issue: z.core.$ZodRawIssue) => string };

/** The error option every leaf and section schema carries. */
export function expecting(what: string, hint: (input: unknown) => string = () => ''): ErrorOption {
  return {
    error: (issue) =>
      issue.input === undefined
        ? `missing (expected ${what})`
        : `expected ${what}, got ${describeValue(issue.input)}${hint(issue.input)}`,
  };
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

/** A mapping's errors: a misspelt key gets the closest of `keys`; anything else is not a mapping. */
export function mappingErrors(unknownKey: (key: string) => string): ErrorOption {
  const notAMapping = expecting('a mapping');
  return {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? unknownKey(issue.keys[0]!) : notAMapping.error(issue),
  };
}

/** Leaf and section schemas with readable errors. */
export const schemas = {
  section<Shape extends z.ZodRawShape>(shape: Shape) {
    return z.strictObject(shape, mappingErrors((key) => `unknown key${didYouMean(key, Object.keys(shape))}`));
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
  /** In (0, 1]: a multiplicative decay. */
  decayFactor() {
    const e = expecting('a number in (0, 1]');
    return z.number(e).gt(0, e).max(1, e);
  },
  /** Above 1: what a rate is divided by. */
  greaterThanOne() {
    const e = expecting('a number > 1 (the learning rate is divided by it)');
    return z.number(e).gt(1, e);
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
  /** A non-empty list of column names. */
  names() {
    const e = expecting('a non-empty list of column names');
    return z.array(schemas.nonEmptyString(), e).min(1, e);
  },
  /** Quantile levels: a non-empty list of numbers in (0, 1), strictly ascending. */
  quantiles() {
    const e = expecting('a non-empty list of numbers in (0, 1)'), inUnit = expecting('a quantile level in (0, 1)');
    const level = z.number(inUnit).gt(0, inUnit).lt(1, inUnit);
    return z
      .array(level, e)
      .min(1, e)
      .refine((list) => list.every((q, i) => i === 0 || q > list[i - 1]!), { error: (issue) => `expected strictly ascending quantiles, got ${JSON.stringify(issue.input)}` });
  },
  oneCharacter() {
    const e = expecting('one character');
    return z.string(e).length(1, e);
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

/** Blocks of checkpoint metadata (JSON written by a program, so no did-you-mean: the keys are listed). */
export const metadataSchemas = {
  section<Shape extends z.ZodRawShape>(shape: Shape) {
    return z.strictObject(shape, {
      error: (issue) =>
        issue.code === 'unrecognized_keys' ? `unknown key (expected ${Object.keys(shape).join(', ')})` : 'must be a JSON object',
    });
  },
  nonEmptyString() {
    const e = mustBeError('a non-empty string');
    return z.string(e).min(1, e);
  },
  positiveInt() {
    const e = mustBeError('a positive integer');
    return z.number(e).int(e).min(1, e);
  },
  finiteNumber() {
    return z.number(mustBeError('a finite number'));
  },
  positiveNumber() {
    const e = mustBeError('a positive number');
    return z.number(e).gt(0, e);
  },
  boolean() {
    return z.boolean(mustBeError('true or false'));
  },
  oneOf<const Values extends readonly [string, ...string[]]>(values: Values) {
    return z.enum(values, mustBeError(`one of ${values.join(', ')}`));
  },
  /** A non-empty list of distinct non-empty names. */
  names() {
    const e = mustBeError('a non-empty list of names');
    return z.array(metadataSchemas.nonEmptyString(), e).min(1, e).refine(distinct, 'names a column twice');
  },
};

/** `must be <what>, got <the JSON given>`. */
export function mustBe(what: string, input: unknown): string {
  return `must be ${what}, got ${input === undefined ? 'nothing' : JSON.stringify(input)}`;
}

export function mustBeError(what: string): ErrorOption {
  return { error: (issue) => mustBe(what, issue.input) };
}

export const distinct = (list: readonly unknown[]): boolean => new Set(list).size === list.length;

/**
 * The first issue as one InputError, its key prefixed by `prefix` (a checkpoint's
 * `__metadata__.<entry>`); an unknown key goes first, since a misspelt key usually also leaves
 * its correct spelling missing. Each schema words its own problems, unknown keys included.
 */
export function firstIssueError(error: z.ZodError, file: string, prefix = ''): InputError {
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0]!;
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
  const key = [prefix, ...path.map(String)].filter(Boolean).join('.');
  return inputError(file, key || null, issue.message);
}
