/** How many workers a batch gets, and how it is split over them (SPEC §4, Shards). */
import { availableParallelism } from 'node:os';

/** Every core, but no more workers than sequences in the batch. */
export function defaultWorkers(batch: number): number {
  return Math.max(1, Math.min(availableParallelism(), batch));
}

/**
 * Contiguous shard of a batch of B sequences for worker k of N: sizes differ by at most one, the
 * first B % N shards get the extra one.
 */
export function shardRange(B: number, N: number, k: number): { start: number; count: number } {
  const base = Math.floor(B / N);
  const extra = B % N;
  return { start: k * base + Math.min(k, extra), count: base + (k < extra ? 1 : 0) };
}
