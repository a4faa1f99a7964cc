/**
 * The benchmark workloads (SPEC §8): a char-level LM over V = 65 one-hot symbols, one layer, a
 * head at every step; W0–W3 grow the hidden size, sequence length and batch.
 */
import { gateCount } from '../../shared/model/model-config.js';

export interface Workload {
  hidden: number;
  seqLen: number;
  batch: number;
}

export const WORKLOADS: Readonly<Record<string, Workload>> = {
  W0: { hidden: 32, seqLen: 32, batch: 16 },
  W1: { hidden: 128, seqLen: 64, batch: 32 },
  W2: { hidden: 256, seqLen: 64, batch: 64 },
  W3: { hidden: 512, seqLen: 64, batch: 64 },
};

/** One-hot vocabulary of the benchmark LM (tiny Shakespeare's size). */
export const VOCAB = 65;
/** FLOPs of one training step per token: forward ×2, backward ×4 over the gates and the head. */
export function flopsPerToken(cell: 'lstm' | 'gru' | 'rnn', hidden: number, vocab = VOCAB): number {
  const H = hidden;
  return 6 * (gateCount(cell) * H * (vocab + H) + vocab * H);
}

