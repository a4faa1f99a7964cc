/** The experiment keys as dotted paths, and the most useful hint for a path that is not one. */
import { closest } from './did-you-mean.js';
import { experimentSchema } from './schema.js';
import { dottedPaths } from './zod-paths.js';

export const EXPERIMENT_KEYS: string[] = dottedPaths(experimentSchema, '', false);
const EXPERIMENT_SECTIONS: string[] = dottedPaths(experimentSchema, '', true);

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
