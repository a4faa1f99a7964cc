/**
 * Experiment files (SPEC §6): read YAML or JSON, apply `--set` overrides, validate, fill every
 * default and resolve paths, so the rest of the program sees one fully specified Experiment.
 * Every bad input becomes a single-line InputError `<file>: <key.path>: <problem>`.
 */
import { basename, dirname, extname, resolve } from 'node:path';
import type * as z from 'zod';
import { inputError } from '../errors.js';
import { readMappingFile } from './file.js';
import { applyOverride } from './overrides.js';
import { experimentSchema } from './schema.js';
import { describeValue, firstIssueError } from './schema-blocks.js';

/** A fully specified experiment: the schema's output, with the name and the paths that follow from the file. */
export type Experiment = Omit<z.output<typeof experimentSchema>, 'name' | 'output'> & { name: string; output: { dir: string } };

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
  if (!parsed.success) throw firstIssueError(parsed.error, file);
  const { data, train, output } = parsed.data;
  const name = parsed.data.name ?? basename(file, extname(file));
  return {
    ...parsed.data,
    name,
    data: {
      ...data,
      ...(data.path === undefined ? {} : { path: resolve(baseDir, data.path) }),
      ...(data.task === 'sequences' && data.valPath !== undefined ? { valPath: resolve(baseDir, data.valPath) } : {}),
    },
    train: { ...train, init: train.init === null ? null : resolve(baseDir, train.init) },
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
