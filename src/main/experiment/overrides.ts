/** `--set key.path=value` overrides, applied to the raw experiment before validation. */
import YAML from 'yaml';
import * as z from 'zod';
import { inputError } from '../errors.js';
import { yamlReason } from './file.js';
import { EXPERIMENT_KEYS, notAnExperimentKey } from './keys.js';
import { experimentSchema } from './schema.js';
import { describeValue } from './schema-blocks.js';
import { schemaAt } from './zod-paths.js';

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
