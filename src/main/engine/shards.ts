/** How a global batch is split over the workers (SPEC §4, Shards). */

/**
 * Contiguous shard of a batch of B sequences for worker k of N: sizes differ by at most one, the
 * first B % N shards get the extra one.
 */
export function shardRange(B: number, N: number, k: number): { start: number; count: number } {
  const base = Math.floor(B / N);
  const extra = B % N;
  return { start: k * base + Math.min(k, extra), count: base + (k < extra ? 1 : 0) };
}
