/** Checks every dataset kind shares: `data` keys that must be positive integers, and batch bounds. */
import { inputError } from '../errors.js';
import type { BatchArrays, Dataset, Split } from './dataset.js';

export function positiveInteger(value: unknown, key: string, file: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw inputError(file, `data.${key}`, `must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Guards against caller bugs that typed arrays would otherwise hide: out-of-range indices read
 * as undefined and out-of-range writes are silently dropped.
 */
export function checkBatch(dataset: Dataset, split: Split, indices: ArrayLike<number>, start: number, count: number, outputs: 'all' | 'last'): void {
  if (!dataset.outputsAllowed.includes(outputs)) throw new RangeError(`task ${dataset.task} does not support outputs '${outputs}'`);
  if (start < 0 || count < 0 || start + count > indices.length) {
    throw new RangeError(`sequences [${start}, ${start + count}) are outside the ${indices.length} indices`);
  }
  const size = dataset.size(split);
  for (let j = start; j < start + count; j++) {
    const index = indices[j]!;
    if (!(index >= 0 && index < size)) throw new RangeError(`sequence ${index} is outside the ${split} split of ${size}`);
  }
}

export function checkCapacity(array: ArrayLike<number>, name: keyof BatchArrays, needed: number): void {
  if (array.length < needed) throw new RangeError(`out.${name} holds ${array.length} elements, the batch needs ${needed}`);
}
