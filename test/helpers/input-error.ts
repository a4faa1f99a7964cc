/** Assertions on bad-input errors: one InputError, one line, naming what it must name. */
import type { Test } from 'tap';
import { InputError } from '../../src/main/errors.js';

type Asserts = Pick<Test, 'ok' | 'match' | 'notMatch'>;

/** What `fn` throws (undefined if it returns). */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Runs `fn`, which must throw one single-line InputError whose message matches `pattern`. */
export function expectInputError(t: Asserts, fn: () => unknown, pattern: RegExp): void {
  const thrown = thrownBy(fn);
  t.ok(thrown instanceof InputError, `throws an InputError (got ${String(thrown)})`);
  const message = thrown instanceof Error ? thrown.message : '';
  t.notMatch(message, /\n/, 'the message is one line');
  t.match(message, pattern);
}

/** As expectInputError, for messages of the form `<file>: <key>: <problem>`. */
export function expectKeyedInputError(t: Asserts, fn: () => unknown, file: string, key: string, problem: RegExp): void {
  const thrown = thrownBy(fn);
  expectInputError(t, () => { throw thrown; }, problem);
  const message = thrown instanceof Error ? thrown.message : '';
  t.ok(message.startsWith(`${file}: ${key}: `), `names the file and key: ${message}`);
}
