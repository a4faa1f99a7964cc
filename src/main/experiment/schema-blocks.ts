/**
 * Schema building blocks shared by experiment and sweep files, whose errors read
 * `expected <what>, got <value>`, and zod's verdict turned into one InputError line.
 */
import * as z from 'zod';
import { InputError, inputError } from '../errors.js';
import { didYouMean } from './did-you-mean.js';
import { childKeys } from './zod-paths.js';

type ErrorOption = { error: (issue: { input?: unknown }) => string };

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

/** Leaf and section schemas with readable errors. */
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

/** The first issue as one InputError; an unknown key goes first, since a misspelt key usually also leaves its correct spelling missing. */
export function firstIssueError(schema: z.ZodType, error: z.ZodError, file: string): InputError {
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const unknown = issue.keys[0]!;
    const key = [...issue.path, unknown].map(String).join('.');
    return inputError(file, key, `unknown key${didYouMean(unknown, childKeys(schema, issue.path))}`);
  }
  return inputError(file, issue.path.map(String).join('.') || null, issue.message);
}
