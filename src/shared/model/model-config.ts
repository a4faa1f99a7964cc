/** The choices of a network's shape, for the experiment schema and the checkpoint's `config` metadata. */
export const CELLS = ['lstm', 'gru', 'rnn'] as const;
export const RECURRENCES = ['hidden', 'output'] as const;
export const OUTPUT_MODES = ['all', 'last'] as const;

/** The shape of a network: what a checkpoint's `config` metadata records (SPEC §3). */
export interface ModelConfig {
  cell: (typeof CELLS)[number];
  /** In_0: for one-hot (text, copy) input, the number of symbols. */
  inputSize: number;
  hidden: number;
  layers: number;
  outputSize: number;
  /** `hidden`: h_{t-1} feeds the cell; `output`: ŷ_{t-1} feeds it (one layer only). */
  recurrence: (typeof RECURRENCES)[number];
  /** `all`: a prediction at every step; `last`: only after the last step. */
  outputs: (typeof OUTPUT_MODES)[number];
}

/** `quantile`: pinball loss over the quantiles the shape names (NetworkShape.quantiles). */
export type LossKind = 'ce' | 'mse' | 'quantile';

/** Gates per hidden unit: PyTorch packs LSTM gates as [i, f, g, o], GRU gates as [r, z, n]. */
export function gateCount(cell: ModelConfig['cell']): number {
  return cell === 'lstm' ? 4 : cell === 'gru' ? 3 : 1;
}

/**
 * Whether the cell keeps PyTorch's second bias as its own trained tensor: a GRU's b_hn sits
 * inside r ⊙ (U_n h + b_hn), so it is not a sum with b_in (SPEC §2). LSTM and RNN fold it in.
 */
export function hasHiddenBias(cell: ModelConfig['cell']): boolean {
  return cell === 'gru';
}
