/**
 * Dropout masks as a pure function of (seed, step, global sequence index, layer, time, unit):
 * no generator state, so a worker draws exactly the mask entries of its own sequences and N
 * workers, one worker and a resumed run all see the same masks (SPEC §2).
 */
import type { FloatArray } from './layout.js';

/** Where a pass's masks come from; p is the model's. */
export interface DropoutStream {
  seed: number;
  /** The optimizer step (1-based) the pass trains. */
  step: number;
  /** Global index, in the batch, of the shard's first sequence. */
  firstSequence: number;
}

/** murmur3's 32-bit finaliser: every input bit flips about half of the output bits. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A hash of the key's parts, each mixed in turn (order matters). */
export function dropoutKey(seed: number, step: number, sequence: number, layer: number, time: number): number {
  let h = fmix32(seed ^ 0x2545f491);
  for (const part of [step, sequence, layer, time]) h = fmix32((h ^ Math.imul(part | 0, 0x9e3779b1)) + 0x7f4a7c15);
  return h;
}

/**
 * The time part of a locked (variational) dropout mask's key: fixed, so a sequence keeps the same
 * units at every step (SPEC §2, lockedDropout). Real steps are ≥ 0, so no step's key collides.
 */
export const LOCKED_TIME = -1;

/**
 * The sequence part of a weightDrop mask's key: one mask for the whole batch, whatever shard a
 * worker holds (real sequences are ≥ 0).
 */
const WHOLE_BATCH = -1;

/**
 * Fills mask[0 .. n) with layer `layer`'s DropConnect mask of its recurrent matrix for this step:
 * a function of (seed, step, layer) only, never of the shard, so every worker draws the same.
 */
export function fillWeightDropMask(mask: FloatArray, p: number, stream: DropoutStream, layer: number, n: number): void {
  fillDropoutMask(mask, 0, p, { seed: stream.seed, step: stream.step, firstSequence: WHOLE_BATCH }, layer, 0, 1, n);
}

/**
 * Fills mask[off ..] for B sequences × H units of one layer at one time step: 0 with probability
 * p, else 1/(1−p) (inverted dropout: the expected output is unchanged, evaluation needs no scale).
 * Unit j of a sequence keeps iff fmix32(key + j·φ) / 2³² ≥ p.
 */
export function fillDropoutMask(
  mask: FloatArray, off: number, p: number, stream: DropoutStream, layer: number, time: number, B: number, H: number,
): void {
  const keep = 1 / (1 - p), threshold = p * 4294967296;
  for (let b = 0; b < B; b++) {
    const key = dropoutKey(stream.seed, stream.step, stream.firstSequence + b, layer, time);
    const row = off + b * H;
    for (let j = 0; j < H; j++) mask[row + j] = fmix32((key + Math.imul(j, 0x9e3779b9)) | 0) >= threshold ? keep : 0;
  }
}
