/**
 * The two kinds of failure the CLI reports (SPEC §5): bad input exits 2, a failure while
 * running exits 1. Both print exactly one line, `error: <message>`, with no stack trace.
 */

/** Bad input: a bad flag, experiment, sweep, data file or checkpoint. Exit code 2. */
export class InputError extends Error {
  override name = 'InputError';
}

/** A failure while running (divergence, a dead worker). Exit code 1. */
export class RunError extends Error {
  override name = 'RunError';
}

/** `<file>: <key.path>: <problem>`, the one-line form every input error takes. */
export function inputError(file: string, key: string | null, problem: string): InputError {
  return new InputError(key ? `${file}: ${key}: ${problem}` : `${file}: ${problem}`);
}

/** The first line of an error's message: what a one-line report shows of any thrown value. */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0];
}
