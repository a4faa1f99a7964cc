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
  /** Token models: x_t = Emb[token_t], a learned [inputSize, embedding] matrix (SPEC §2); absent: one-hot input. */
  embedding?: number;
  /** The head's weight is the embedding matrix (Press & Wolf): needs embedding = the layers' output width (outputWidth) and outputSize = inputSize. */
  tieWeights?: boolean;
  /** Series categories (data.categorical): a learned [levels, width] embedding per column, appended to every step's input. */
  categorical?: StaticEmbedding[];
  /**
   * Each layer also runs a reverse direction with its own weights (PyTorch's `_reverse` tensors);
   * the layer's output is [h_fwd ; h_rev], 2H wide. Absent = false.
   */
  bidirectional?: boolean;
}

/** One categorical column's embedding: `levels` rows (row 0 is `<unk>`), `width` columns. */
export interface StaticEmbedding {
  column: string;
  levels: number;
  width: number;
}

/**
 * Layer 0's input width: the embedding width for token models; otherwise the features plus every
 * categorical column's embedding (In_0, SPEC §3).
 */
export function firstLayerInputSize(cfg: ModelConfig): number {
  if (cfg.embedding) return cfg.embedding;
  return cfg.inputSize + (cfg.categorical ?? []).reduce((sum, c) => sum + c.width, 0);
}

/** Whether layer 0 reads an input assembled from embedding rows (and features) rather than the shard's own input. */
export function assemblesInput(cfg: ModelConfig): boolean {
  return (cfg.embedding ?? 0) > 0 || (cfg.categorical?.length ?? 0) > 0;
}

/** Width of every layer's output (the next layer's input and the head's): H, or 2H bidirectional. */
export function outputWidth(cfg: ModelConfig): number {
  return cfg.bidirectional ? 2 * cfg.hidden : cfg.hidden;
}

/** The directions of a layer: `''` (forward) and, bidirectional, `'_reverse'` (PyTorch's name suffixes). */
export function directionSuffixes(cfg: ModelConfig): readonly string[] {
  return cfg.bidirectional ? ['', '_reverse'] : [''];
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

/** Whether layer 0 multiplies one-hot token rows (a column gather of weight_ih_l0) — token input without an embedding. */
export function projectsOneHot(cfg: ModelConfig, input: 'onehot' | 'dense'): boolean {
  return input === 'onehot' && !assemblesInput(cfg);
}
